// TamaGo's QEMU command line (MICROVM-CONTRACT.md) verbatim through the
// CLI's main(), with our virtio-net guest as the kernel: `-device
// virtio-net-device,netdev=net0 -netdev tap,id=net0,ifname=...,script=no,
// downscript=no` and `-global virtio-mmio.force-legacy=false`. The tap is
// moved into a network namespace the test creates, which talks to the guest
// (UDP echo) and ends it with a UDP "quit". Also `-object filter-dump` captures it.
// Needs root and iproute2 (skipped with the reason otherwise).
import { describe, expect, test } from 'vitest';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { main } from '../../src/cli/main.js';
import { tapAvailability } from '../../src/net/tap.js';
import { readPcap } from '../../src/net/pcap.js';
import { accelerators, FIRMWARE, haveFirmware } from './net-helpers.js';

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (tap and ip netns need CAP_NET_ADMIN)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  const t = tapAvailability();
  return t.ok ? undefined : t.reason;
}
const skipReason = why();
if (skipReason) console.warn(`net-cli tests skipped: ${skipReason}`);

async function run(args: string[], timeout: number): Promise<string> {
  try {
    return (await promisify(execFile)(args[0]!, args.slice(1), { encoding: 'utf8', timeout })).stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    return `${x.stdout ?? ''}${x.stderr ?? ''}${x.message}`;
  }
}

async function waitForFile(file: string, text: string, ms: number): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = existsSync(file) ? readFileSync(file, 'latin1') : '';
    if (s.includes(text)) return s;
    if (Date.now() > end) throw new Error(`timeout waiting for '${text}' in the serial output:\n${s}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!haveFirmware || skipReason !== undefined)('the TamaGo command line with -netdev tap', () => {
  for (const { accel, skip } of accelerators()) {
    test.skipIf(skip !== undefined)(`${accel}: UDP echo from a namespace, pcap of the traffic, UDP quit ends the VM`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'net-cli-'));
      const serial = join(dir, 'serial.txt');
      const pcap = join(dir, 'net0.pcap');
      const ns = `mvcli-${process.pid}-${accel}`;
      const tap = `mvc${process.pid % 10000}${accel[0]}`;
      ip('netns', 'add', ns);
      const out = new PassThrough();
      let log = '';
      out.on('data', (d: Buffer) => { log += d.toString(); });
      const status = main([
        '-machine', 'microvm,x-option-roms=on,pit=off,pic=off,rtc=on',
        '-global', 'virtio-mmio.force-legacy=false',
        ...(accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host,invtsc=on,kvmclock=on'] : []),
        '-no-reboot', '-m', '256M', '-nographic', '-monitor', 'none', '-serial', `file:${serial}`,
        '-device', 'virtio-net-device,netdev=net0', '-netdev', `tap,id=net0,ifname=${tap},script=no,downscript=no`,
        '-object', `filter-dump,id=f0,netdev=net0,file=${pcap}`,
        '-kernel', FIRMWARE, '-append', 'ip=10.98.0.2',
      ], out, out);
      try {
        await waitForFile(serial, 'virtio-net ready ip=10.98.0.2', 60_000);
        expect(readFileSync(serial, 'latin1')).toContain('transport 0xfeb02e00 version 2 gsi 47');
        ip('link', 'set', tap, 'netns', ns);
        ip('-n', ns, 'addr', 'add', '10.98.0.1/24', 'dev', tap);
        ip('-n', ns, 'link', 'set', tap, 'up');
        const script = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log('echo:'+m);s.send('quit',7,'10.98.0.2',()=>process.exit(0))});` +
          `const send=()=>s.send('via-cli',7,'10.98.0.2');send();setInterval(send,1000);setTimeout(()=>process.exit(2),30000);`;
        expect(await run(['ip', 'netns', 'exec', ns, process.execPath, '-e', script], 40_000)).toContain('echo:via-cli');
        // the guest ends with a triple fault (no isa-debug-exit on this line): status 0 under -no-reboot
        expect(await status).toBe(0);
        expect(readFileSync(serial, 'latin1')).toMatch(/virtio-net: quit \(rx \d+ frames\)/);
        const frames = readPcap(readFileSync(pcap));
        const udp = frames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 17);
        expect(udp.length).toBeGreaterThanOrEqual(2); // the datagram in, the echo out
        expect(Buffer.from(udp[1]!).includes(Buffer.from('via-cli'))).toBe(true);
      } finally {
        out.end();
        spawnSync('ip', ['netns', 'del', ns]);
      }
      void log;
    });
  }
});

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}
