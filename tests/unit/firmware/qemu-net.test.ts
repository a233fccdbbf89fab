/**
 * net-echo (our virtio-net driver) under QEMU microvm: both virtio-mmio
 * versions, interrupt and polling mode, through QEMU's user networking
 * (ping to the gateway, UDP echo via hostfwd) and through a socket netdev
 * where this test plays the peer with hand-built Ethernet frames (ARP and
 * ICMP echo answered, checksums valid).
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { accessSync, constants } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { NET_ECHO, buildFirmware, guestPath, serialLines } from './expectations.js';

const QEMU = 'qemu-system-x86_64';
const haveQemu = (() => {
  const r = spawnSync(QEMU, ['--version']);
  return !r.error && r.status === 0;
})();
const haveKvm = haveQemu && (() => {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();

interface Vm {
  /** Resolves when a serial line matching re appears. */
  waitFor(re: RegExp): Promise<string>;
  done: Promise<{ status: number | null; out: string }>;
}

function startVm(netdev: string, opts: { legacy: boolean; append?: string; kvm?: boolean }): Vm {
  const args = [
    '-machine', 'microvm,pit=off,pic=off,rtc=on', '-m', '128M', '-display', 'none', '-monitor', 'none',
    '-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
    ...(opts.kvm ? ['-enable-kvm', '-cpu', 'host'] : ['-cpu', 'max']),
    '-global', `virtio-mmio.force-legacy=${opts.legacy}`,
    '-netdev', netdev, '-device', 'virtio-net-device,netdev=n0',
    '-kernel', guestPath('net-echo'),
    ...(opts.append !== undefined ? ['-append', opts.append] : []),
  ];
  const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const check = (): void => {
    const complete = serialLines(out).slice(0, -1); // the last piece may be a partial line
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      const line = complete.find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(i, 1);
        w.resolve(line);
      }
    }
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    check();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<{ status: number | null; out: string }>((resolve) => {
    child.on('close', (status) => {
      clearTimeout(killer);
      resolve({ status, out });
    });
  });
  return {
    waitFor: (re) => Promise.race([
      new Promise<string>((resolve) => {
        waiters.push({ re, resolve });
        check();
      }),
      done.then(({ out: o }) => {
        throw new Error(`VM ended before ${re}:\n${o}`);
      }),
    ]),
    done,
  };
}

function udpSocket(port?: number): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(port ?? 0, '127.0.0.1', () => resolve(s));
  });
}

function nextMessage(s: dgram.Socket, accept: (m: Buffer) => boolean, ms = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.off('message', on);
      reject(new Error('no message'));
    }, ms);
    const on = (m: Buffer): void => {
      if (!accept(m)) return;
      clearTimeout(t);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
  });
}

async function freePort(): Promise<number> {
  const s = await udpSocket();
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** RFC 1071 checksum; 0 when verifying a block that includes its checksum. */
function inetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const PEER_MAC = Buffer.from([0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc]);
const PEER_IP = Buffer.from([10, 0, 2, 99]);
const GUEST_IP = Buffer.from([10, 0, 2, 15]);

function ethernet(dst: Buffer, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  dst.copy(h, 0);
  PEER_MAC.copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

function arpRequest(): Buffer {
  const a = Buffer.alloc(28);
  a.writeUInt16BE(1, 0); // Ethernet
  a.writeUInt16BE(0x0800, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(1, 6); // request
  PEER_MAC.copy(a, 8);
  PEER_IP.copy(a, 14);
  GUEST_IP.copy(a, 24);
  return ethernet(Buffer.alloc(6, 0xff), 0x0806, a);
}

function ipv4(proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = 64;
  h[9] = proto;
  PEER_IP.copy(h, 12);
  GUEST_IP.copy(h, 16);
  h.writeUInt16BE(inetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

beforeAll(() => buildFirmware());

describe.skipIf(!haveQemu)('net-echo under QEMU', () => {
  const combos = [
    { legacy: true, mode: 'irq' }, { legacy: true, mode: 'poll' },
    { legacy: false, mode: 'irq' }, { legacy: false, mode: 'poll' },
  ] as const;

  test.each(combos)('user networking, legacy=$legacy mode=$mode: pings the gateway, echoes UDP', async ({ legacy, mode }) => {
    const port = await freePort();
    const vm = startVm(`user,id=n0,hostfwd=udp:127.0.0.1:${port}-:7`, { legacy, append: `mode=${mode}` });
    expect(await vm.waitFor(/^net-echo: virtio-net at/)).toBe(NET_ECHO.foundLine(legacy ? 1 : 2, mode));
    expect(await vm.waitFor(/^net-echo: ping/)).toBe(NET_ECHO.pingOk);
    await vm.waitFor(/^net-echo: ready/);
    const s = await udpSocket();
    try {
      for (const text of ['hello guest', 'x'.repeat(1000)]) {
        const reply = nextMessage(s, () => true);
        s.send(Buffer.from(text), port, '127.0.0.1');
        expect((await reply).toString()).toBe(text);
      }
      s.send(Buffer.from('quit'), port, '127.0.0.1');
      const { status, out } = await vm.done;
      expect(out).toMatch(NET_ECHO.quitLine);
      expect(NET_ECHO.quitLine.exec(out)![5]).toBe('3'); // udp_echoes
      if (mode === 'poll') expect(NET_ECHO.quitLine.exec(out)![7]).toBe('0'); // no interrupts
      else expect(Number(NET_ECHO.quitLine.exec(out)![7])).toBeGreaterThan(0);
      expect(status).toBe(1);
    } finally {
      s.close();
    }
  });

  test('socket netdev: answers ARP and ICMP echo from a peer frame by frame', async () => {
    const peer = await udpSocket();
    const vmPort = await freePort();
    const vm = startVm(
      `socket,id=n0,udp=127.0.0.1:${peer.address().port},localaddr=127.0.0.1:${vmPort}`,
      { legacy: false, append: 'ping=off' },
    );
    try {
      await vm.waitFor(/^net-echo: ready/);
      const send = (f: Buffer): void => { peer.send(f, vmPort, '127.0.0.1'); };

      // ARP: who-has 10.0.2.15 -> is-at <guest MAC>, addressed to us
      const arpReply = nextMessage(peer, (m) => m.readUInt16BE(12) === 0x0806);
      send(arpRequest());
      const arp = await arpReply;
      expect(arp.subarray(0, 6)).toEqual(PEER_MAC);
      expect(arp.readUInt16BE(14 + 6)).toBe(2); // reply
      const guestMac = arp.subarray(14 + 8, 14 + 14);
      expect(guestMac).toEqual(Buffer.from(NET_ECHO.defaultMac));
      expect(arp.subarray(14 + 14, 14 + 18)).toEqual(GUEST_IP);
      expect(arp.subarray(14 + 18, 14 + 24)).toEqual(PEER_MAC);
      expect(arp.subarray(14 + 24, 14 + 28)).toEqual(PEER_IP);

      // ICMP echo request -> echo reply with the same id, seq and data
      const icmp = Buffer.alloc(8 + 56);
      icmp[0] = 8;
      icmp.writeUInt16BE(0x1234, 4);
      icmp.writeUInt16BE(7, 6);
      for (let i = 8; i < icmp.length; i++) icmp[i] = i * 3;
      icmp.writeUInt16BE(inetChecksum(icmp), 2);
      const echoReply = nextMessage(peer, (m) => m.readUInt16BE(12) === 0x0800 && m[14 + 9] === 1);
      send(ethernet(Buffer.from(guestMac), 0x0800, ipv4(1, icmp)));
      const r = await echoReply;
      const ip = r.subarray(14, 34);
      expect(inetChecksum(ip)).toBe(0);
      expect(ip.subarray(12, 16)).toEqual(GUEST_IP);
      expect(ip.subarray(16, 20)).toEqual(PEER_IP);
      const body = r.subarray(34, 34 + icmp.length);
      expect(body[0]).toBe(0); // echo reply
      expect(inetChecksum(body)).toBe(0);
      expect(body.subarray(4)).toEqual(icmp.subarray(4));

      // a frame for another MAC is dropped; UDP "quit" ends the guest
      send(ethernet(Buffer.from([2, 9, 9, 9, 9, 9]), 0x0800, ipv4(1, icmp)));
      const udp = Buffer.alloc(8 + 4);
      udp.writeUInt16BE(5555, 0);
      udp.writeUInt16BE(7, 2);
      udp.writeUInt16BE(12, 4);
      Buffer.from('quit').copy(udp, 8);
      send(ethernet(Buffer.from(guestMac), 0x0800, ipv4(17, udp)));
      const { status, out } = await vm.done;
      const q = NET_ECHO.quitLine.exec(out);
      expect(q).not.toBeNull();
      expect(q!.slice(3, 7)).toEqual(['1', '1', '1', '1']); // arp, icmp, udp, dropped
      expect(status).toBe(1);
    } finally {
      peer.close();
    }
  });

  test.skipIf(!haveKvm)('with -enable-kvm (modern, irq)', async () => {
    const port = await freePort();
    const vm = startVm(`user,id=n0,hostfwd=udp:127.0.0.1:${port}-:7`, { legacy: false, kvm: true });
    await vm.waitFor(/^net-echo: ready/);
    const s = await udpSocket();
    try {
      const reply = nextMessage(s, () => true);
      s.send(Buffer.from('kvm'), port, '127.0.0.1');
      expect((await reply).toString()).toBe('kvm');
      s.send(Buffer.from('quit'), port, '127.0.0.1');
      expect((await vm.done).status).toBe(1);
    } finally {
      s.close();
    }
  });
});
