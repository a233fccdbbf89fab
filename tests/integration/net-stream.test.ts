// The virtio-net guest (firmware/virtio-net, our own driver) through the
// `stream` netdev: the test is the other end of the wire. ARP, ICMP echo
// and UDP echo, on both transport versions, interrupt-driven and polling,
// on KVM and on the JIT.
import { describe, expect, test } from 'vitest';
import { FramePort } from '../../src/net/stream.js';
import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, IPPROTO_ICMP, IPPROTO_UDP, buildArp, buildEth, buildIcmp, buildUdp,
  parseArp, parseEth, parseIcmp, parseIpv4, parseUdp,
} from '../../src/net/packet.js';
import { accelerators, bootNetGuest, haveFirmware } from './net-helpers.js';

const HOST_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x99]);
const HOST_IP = 0x0a000202; // 10.0.2.2
const GUEST_IP = 0x0a00020f; // 10.0.2.15
const GUEST_MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const BCAST = new Uint8Array(6).fill(0xff);

const isArpReply = (f: Uint8Array): boolean => {
  const e = parseEth(f);
  return e?.type === ETHERTYPE_ARP && parseArp(e.payload)?.op === 2;
};
const ipOf = (f: Uint8Array, proto: number) => {
  const e = parseEth(f);
  if (e?.type !== ETHERTYPE_IPV4) return undefined;
  const ip = parseIpv4(e.payload);
  return ip?.proto === proto ? ip : undefined;
};

/** ARP, ping and UDP echo through `port` against a guest at 10.0.2.15. */
export async function exerciseGuest(port: FramePort, timeoutMs = 30_000): Promise<void> {
  port.send(buildEth(BCAST, HOST_MAC, ETHERTYPE_ARP, buildArp(1, HOST_MAC, HOST_IP, new Uint8Array(6), GUEST_IP)));
  const arp = parseArp(parseEth(await port.nextFrame(isArpReply, timeoutMs))!.payload)!;
  expect(arp.spa).toBe(GUEST_IP);
  expect([...arp.sha]).toEqual([...GUEST_MAC]);
  expect(arp.tpa).toBe(HOST_IP);

  const payload = new Uint8Array(56).map((_, i) => i * 3);
  const echo = new Uint8Array(4 + payload.length);
  echo.set([0x12, 0x34, 0x00, 0x07], 0); // identifier 0x1234, sequence 7
  echo.set(payload, 4);
  port.send(buildEth(GUEST_MAC, HOST_MAC, ETHERTYPE_IPV4, buildIcmp(HOST_IP, GUEST_IP, 8, 0, echo)));
  const reply = await port.nextFrame((f) => ipOf(f, IPPROTO_ICMP) !== undefined, timeoutMs);
  const rip = ipOf(reply, IPPROTO_ICMP)!;
  expect([rip.src, rip.dst]).toEqual([GUEST_IP, HOST_IP]);
  const icmp = parseIcmp(rip)!; // parseIcmp verifies the checksum
  expect(icmp.type).toBe(0);
  expect([...icmp.rest]).toEqual([...echo]);
  expect([...parseEth(reply)!.dst]).toEqual([...HOST_MAC]);

  for (const size of [1, 200, 1400]) {
    const data = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
    port.send(buildEth(GUEST_MAC, HOST_MAC, ETHERTYPE_IPV4, buildUdp(HOST_IP, GUEST_IP, 40000 + size, 7, data)));
    const u = await port.nextFrame((f) => {
      const ip = ipOf(f, IPPROTO_UDP);
      return ip !== undefined && parseUdp(ip)?.dport === 40000 + size;
    }, timeoutMs);
    const d = parseUdp(ipOf(u, IPPROTO_UDP)!)!; // verifies the UDP checksum
    expect(d.sport).toBe(7);
    expect([...d.payload]).toEqual([...data]);
  }
}

const MODERN = [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'false' }];

describe.skipIf(!haveFirmware)('virtio-net guest through the stream netdev', () => {
  for (const { accel, skip } of accelerators()) {
    for (const version of [2, 1]) {
      for (const mode of ['irq', 'poll']) {
        test.skipIf(skip !== undefined)(`${accel}: transport v${version}, ${mode}: ARP, ping, UDP echo`, async () => {
          const port = new FramePort();
          const g = await bootNetGuest({
            accel, append: `virtio=${mode}`,
            netdevs: [{ kind: 'stream', id: 'n0', port }], devices: [{ driver: 'virtio-net-device', netdev: 'n0' }],
            globals: version === 2 ? MODERN : [],
          });
          try {
            await g.waitFor(`virtio-net ready ip=10.0.2.15 udp=7 mode=${mode}`);
            expect(g.output()).toContain(`transport 0xfeb02e00 version ${version} gsi 47`);
            await exerciseGuest(port, 15_000);
            expect(g.virtio.nics[0]!.counters.rxFrames).toBeGreaterThanOrEqual(5);
            expect(g.virtio.mmioTransports.get(23)!.counters.needsReset).toBe(0);
          } finally {
            await g.stop();
          }
        });
      }
    }
  }
  for (const { accel, skip } of accelerators()) {
    test.skipIf(skip !== undefined)(`${accel}: transport v2 with a driver that negotiates no features (TamaGo's kvm/virtio): 10-byte header`, async () => {
      const port = new FramePort();
      const g = await bootNetGuest({
        accel, append: 'virtio=poll nofeatures',
        netdevs: [{ kind: 'stream', id: 'n0', port }], devices: [{ driver: 'virtio-net-device', netdev: 'n0' }],
        globals: MODERN,
      });
      try {
        await g.waitFor('virtio-net ready');
        expect(g.output()).toContain('version 2 gsi 47');
        await exerciseGuest(port);
        expect(g.virtio.mmioTransports.get(23)!.driverFeatures).toBe(0n);
      } finally {
        await g.stop();
      }
    });
  }
  if (accelerators().some((a) => a.skip)) console.warn(`net-stream: ${accelerators().filter((a) => a.skip).map((a) => `${a.accel} skipped (${a.skip})`).join('; ')}`);
});
