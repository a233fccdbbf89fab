// Two microvm-ts VMs wired with the `socket` netdev (QEMU's framing): VM B
// pings VM A over a TCP stream (listen=/connect=) and over UDP datagrams
// (udp=/localaddr=).
import { describe, expect, test } from 'vitest';
import type { SocketNetdev } from '../../src/net/socket.js';
import { accelerators, bootNetGuest, haveFirmware } from './net-helpers.js';

const dev = [{ driver: 'virtio-net-device' as const, netdev: 'n0', mac: '52:54:00:00:00:0a' }];
/** The serving VM is interrupt driven (a polling guest on PVM's instruction emulator is slow). */
const serveMode = (_accel: string): string => 'irq';
const devB = [{ driver: 'virtio-net-device' as const, netdev: 'n0', mac: '52:54:00:00:00:0b' }];

describe.skipIf(!haveFirmware)('two VMs through the socket netdev', () => {
  for (const { accel, skip } of accelerators()) {
    test.skipIf(skip !== undefined)(`${accel}: stream (listen/connect): B pings A`, async () => {
      const a = await bootNetGuest({ accel, append: `virtio=${serveMode(accel)} ip=10.0.0.1`, netdevs: [{ kind: 'socket', id: 'n0', listen: '127.0.0.1:0' }], devices: dev });
      try {
        await a.waitFor('virtio-net ready ip=10.0.0.1');
        const port = (a.virtio.netdevs.get('n0') as SocketNetdev).listenPort!;
        const b = await bootNetGuest({ accel, append: 'virtio=poll ip=10.0.0.2 ping=10.0.0.1 count=3', netdevs: [{ kind: 'socket', id: 'n0', connect: `127.0.0.1:${port}` }], devices: devB });
        try {
          await b.waitFor('ping: done 3/3');
          expect(b.output()).toContain('ping: reply from 10.0.0.1 seq 3');
          await a.waitFor('icmp: echo request from 10.0.0.2 seq 1');
        } finally {
          await b.stop();
        }
      } finally {
        await a.stop();
      }
    });
    test.skipIf(skip !== undefined)(`${accel}: udp datagrams: B pings A`, async () => {
      const pa = 20000 + (process.pid % 20000);
      const pb = pa + 1;
      const a = await bootNetGuest({ accel, append: `virtio=${serveMode(accel)} ip=10.0.0.1`, netdevs: [{ kind: 'socket', id: 'n0', udp: `127.0.0.1:${pb}`, localaddr: `127.0.0.1:${pa}` }], devices: dev });
      const b = await bootNetGuest({ accel, append: 'virtio=poll ip=10.0.0.2 ping=10.0.0.1 count=2', netdevs: [{ kind: 'socket', id: 'n0', udp: `127.0.0.1:${pa}`, localaddr: `127.0.0.1:${pb}` }], devices: devB });
      try {
        await b.waitFor('ping: done 2/2');
      } finally {
        await b.stop();
        await a.stop();
      }
    });
  }
});
