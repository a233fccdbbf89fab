// The network from a test through the library: `vm.net(id)` is the
// FramePort of a `stream` netdev (the test is the other end of the wire),
// and `vm.forwardedPorts(id)` the host ports of a `user` netdev's hostfwd.
// The guest is firmware/virtio-net (10.0.2.15, UDP echo on port 7).
import { describe, expect, test } from 'vitest';
import { createSocket } from 'node:dgram';
import { startVm } from '../../src/index.js';
import { ETHERTYPE_ARP, buildArp, buildEth, parseArp, parseEth } from '../../src/net/packet.js';
import { acceleratorsFor, cpuFor, fw, haveFirmware, MiB } from './library-helpers.js';

const HOST_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x99]);
const HOST_IP = 0x0a000202;
const GUEST_IP = 0x0a00020f;

describe.skipIf(!haveFirmware)('library network', () => {
  for (const { accel, skip } of acceleratorsFor()) {
    describe.skipIf(skip !== undefined)(`on ${accel}${skip ? ` (${skip})` : ''}`, () => {
      test('vm.net(id): an ARP request from the test is answered by the guest', async () => {
        await using vm = await startVm({
          kernel: fw('virtio-net.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB,
          netdevs: [{ kind: 'stream', id: 'wire' }], devices: [{ driver: 'virtio-net-device', netdev: 'wire', mac: '52:54:00:aa:bb:cc' }],
        });
        await vm.waitFor('virtio-net ready', { timeout: 60_000 });
        const port = vm.net('wire');
        port.send(buildEth(new Uint8Array(6).fill(0xff), HOST_MAC, ETHERTYPE_ARP, buildArp(1, HOST_MAC, HOST_IP, new Uint8Array(6), GUEST_IP)));
        const reply = await port.nextFrame((f) => parseEth(f)?.type === ETHERTYPE_ARP && parseArp(parseEth(f)!.payload)?.op === 2, 30_000);
        const arp = parseArp(parseEth(reply)!.payload)!;
        expect(arp.spa).toBe(GUEST_IP);
        expect(Buffer.from(arp.sha).toString('hex')).toBe('525400aabbcc');
        expect(() => vm.net('nope')).toThrow(/no stream netdev 'nope' \(netdevs: wire\)/);
      }, 90_000);

      test('vm.forwardedPorts(id): UDP to the host port reaches the guest and comes back', async () => {
        await using vm = await startVm({
          kernel: fw('virtio-net.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB, append: 'virtio=poll',
          netdevs: [{ kind: 'user', id: 'u0', hostfwd: [{ proto: 'udp', hostPort: 0, guestPort: 7 }] }],
          devices: [{ driver: 'virtio-net-device', netdev: 'u0' }],
        });
        await vm.waitFor('virtio-net ready', { timeout: 60_000 });
        const [hostPort] = vm.forwardedPorts('u0');
        expect(hostPort).toBeGreaterThan(0);
        const back = await new Promise<string>((resolve, reject) => {
          const s = createSocket('udp4');
          const retry = setInterval(() => s.send('through hostfwd', hostPort!, '127.0.0.1'), 1000);
          const timer = setTimeout(() => { clearInterval(retry); s.close(); reject(new Error('no UDP echo')); }, 30_000);
          s.on('message', (m) => { clearTimeout(timer); clearInterval(retry); s.close(); resolve(m.toString()); });
          s.send('through hostfwd', hostPort!, '127.0.0.1');
        });
        expect(back).toBe('through hostfwd');
      }, 90_000);
    });
  }
});
