// The virtio-net guest behind the `user` netdev (TypeScript slirp): UDP
// echo through hostfwd=udp from a host socket, and the guest pinging the
// virtual gateway 10.0.2.2.
import { describe, expect, test } from 'vitest';
import { createSocket } from 'node:dgram';
import type { UserNetdev } from '../../src/net/user.js';
import { accelerators, bootNetGuest, haveFirmware } from './net-helpers.js';

function udpRoundTrip(port: number, data: Buffer, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const retry = setInterval(() => s.send(data, port, '127.0.0.1'), 1000);
    const timer = setTimeout(() => { clearInterval(retry); s.close(); reject(new Error('no UDP echo')); }, timeoutMs);
    s.on('message', (msg) => { clearTimeout(timer); clearInterval(retry); s.close(); resolve(msg); });
    s.send(data, port, '127.0.0.1');
  });
}

describe.skipIf(!haveFirmware)('virtio-net guest through the user netdev', () => {
  for (const { accel, skip } of accelerators()) {
    test.skipIf(skip !== undefined)(`${accel}: hostfwd=udp echo and ping to the gateway`, async () => {
      const g = await bootNetGuest({
        accel, append: 'virtio=poll ping=10.0.2.2 count=2',
        netdevs: [{ kind: 'user', id: 'n0', hostfwd: [{ proto: 'udp', hostPort: 0, guestPort: 7 }] }],
        devices: [{ driver: 'virtio-net-device', netdev: 'n0' }],
        globals: [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'false' }],
      });
      try {
        await g.waitFor('ping: done 2/2');
        expect(g.output()).toMatch(/ping: reply from 10\.0\.2\.2 seq 1/);
        const user = g.virtio.netdevs.get('n0') as UserNetdev;
        expect(user.counters.icmpEchoReplies).toBeGreaterThanOrEqual(2);
        const port = user.boundPorts[0]!;
        for (const msg of ['hello through slirp', 'x'.repeat(1200)]) {
          const back = await udpRoundTrip(port, Buffer.from(msg));
          expect(back.toString()).toBe(msg);
        }
        await g.waitFor(/udp: echo 19 bytes to 10\.0\.2\.2:\d+/);
      } finally {
        await g.stop();
      }
    });
  }
});
