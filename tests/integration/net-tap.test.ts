// `-netdev tap` with the guest's TAP interface moved into a network
// namespace the test creates: the namespace pings the guest and talks to
// its UDP echo. Needs root (CAP_NET_ADMIN), iproute2 and /dev/net/tun.
import { describe, expect, test } from 'vitest';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { tapAvailability } from '../../src/net/tap.js';
import type { TapNetdev } from '../../src/net/tap.js';
import { accelerators, bootNetGuest, haveFirmware } from './net-helpers.js';

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (tap and ip netns need CAP_NET_ADMIN)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  const t = tapAvailability();
  return t.ok ? undefined : t.reason;
}
const skipReason = why();
if (skipReason) console.warn(`net-tap tests skipped: ${skipReason}`);

/** A three-request ping with a raw ICMP socket (RFC 792); prints "N received". */
const PING_PY = `
import socket, struct, sys, time
dst, n = sys.argv[1], int(sys.argv[2])
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
got = 0
for seq in range(1, n + 1):
    body = struct.pack('!HH', 0x7a7a, seq) + b'microvm-ts tap ping'
    msg = struct.pack('!BBH', 8, 0, 0) + body
    msg = struct.pack('!BBH', 8, 0, csum(msg)) + body
    for attempt in range(5):
        s.sendto(msg, (dst, 0))
        try:
            end = time.time() + 2
            while time.time() < end:
                data, addr = s.recvfrom(2048)
                icmp = data[(data[0] & 15) * 4:]
                if icmp[0] == 0 and icmp[4:8] == body[:4] and csum(icmp) == 0:
                    got += 1
                    raise StopIteration
        except (socket.timeout, StopIteration):
            pass
        if got == seq: break
print('%d received' % got)
`;

/** Async: the VM's devices run on this event loop, so nothing here may block it while the guest must answer. */
async function run(args: string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  try {
    return await promisify(execFile)(args[0]!, args.slice(1), { encoding: 'utf8', timeout });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    return { stdout: x.stdout ?? '', stderr: `${x.stderr ?? ''} ${x.message}` };
  }
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

describe.skipIf(!haveFirmware || skipReason !== undefined)('virtio-net guest on a tap device in a network namespace', () => {
  for (const { accel, skip } of accelerators()) {
    test.skipIf(skip !== undefined)(`${accel}: ping and UDP echo from the namespace`, async () => {
      const ns = `mvts-${process.pid}-${accel}`;
      const ifname = `mvt${process.pid % 10000}${accel[0]}`;
      ip('netns', 'add', ns);
      const g = await bootNetGuest({
        accel, append: 'virtio=irq ip=10.99.0.2',
        netdevs: [{ kind: 'tap', id: 'net0', ifname, script: 'no', downscript: 'no' }],
        devices: [{ driver: 'virtio-net-device', netdev: 'net0' }],
        globals: [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'false' }],
      });
      try {
        expect((g.virtio.netdevs.get('net0') as TapNetdev).ifname).toBe(ifname);
        await g.waitFor('virtio-net ready ip=10.99.0.2');
        ip('link', 'set', ifname, 'netns', ns);
        ip('-n', ns, 'addr', 'add', '10.99.0.1/24', 'dev', ifname);
        ip('-n', ns, 'link', 'set', ifname, 'up');
        // ICMP echo from the namespace's kernel stack through a raw socket (no dependency on iputils-ping).
        const ping = await run(['ip', 'netns', 'exec', ns, 'python3', '-c', PING_PY, '10.99.0.2', '3'], 60_000);
        expect(ping.stdout, ping.stderr).toMatch(/3 received/);
        // UDP echo from inside the namespace (node is on PATH: it runs this test).
        const script = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log('echo:'+m);process.exit(0)});` +
          `const send=()=>s.send('tap-echo',7,'10.99.0.2');send();setInterval(send,1000);setTimeout(()=>process.exit(2),20000);`;
        const udp = await run(['ip', 'netns', 'exec', ns, process.execPath, '-e', script], 30_000);
        expect(udp.stdout, udp.stderr).toContain('echo:tap-echo');
        await g.waitFor('udp: echo 8 bytes to 10.99.0.1');
      } finally {
        await g.stop();
        spawnSync('ip', ['netns', 'del', ns]);
      }
    });
  }
});
