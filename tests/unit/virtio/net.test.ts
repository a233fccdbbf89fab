// virtio-net (virtio 1.2 §5.1) through the mmio transport with a mock
// driver: transmit (header stripped, checksum completion), receive (header
// per negotiated features, MRG_RXBUF), backpressure and drops.
import { describe, expect, test } from 'vitest';
import { VirtioNet, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, internetChecksum } from '../../../src/virtio/net.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit } from '../../../src/virtio/device.js';
import { StreamNetdev } from '../../../src/net/stream.js';
import { NetdevBase } from '../../../src/net/netdev.js';
import { MockDriver } from './mock-driver.js';
import { buildEth, buildUdp, ETHERTYPE_IPV4, parseEth, parseIpv4, parseUdp } from '../../../src/net/packet.js';

const MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

function frame(n: number, fill = 0xab): Uint8Array {
  const f = new Uint8Array(n).fill(fill);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
  f.set(MAC, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

function up(modern: boolean, features: bigint, qsize = 16) {
  const nd = new StreamNetdev('n0');
  const nic = new VirtioNet(nd, { mac: MAC });
  const d = MockDriver.create(nic, modern);
  const got: Uint8Array[] = [];
  nd.port.on('frame', (f) => got.push(f));
  d.negotiate(features | (modern ? bit(VIRTIO_F_VERSION_1) : 0n));
  d.setupQueue(0, qsize);
  d.setupQueue(1, qsize);
  d.driverOk();
  return { nd, nic, d, got };
}

const headerCases = [
  { name: 'legacy without MRG_RXBUF: 10-byte header', modern: false, features: 0n, hlen: 10 },
  { name: 'legacy with MRG_RXBUF: 12-byte header', modern: false, features: bit(VIRTIO_NET_F_MRG_RXBUF), hlen: 12 },
  { name: 'modern: 12-byte header', modern: true, features: 0n, hlen: 12 },
];

describe('transmit', () => {
  for (const c of headerCases) {
    test(c.name, () => {
      const { d, got, nic } = up(c.modern, c.features);
      const f = frame(60);
      const buf = d.alloc(c.hlen + 60);
      d.mem.writeBytes(buf + c.hlen, f);
      // header and frame split across two descriptors, as Linux does without ANY_LAYOUT
      d.addChain(1, [{ addr: buf, len: c.hlen, write: false }, { addr: buf + c.hlen, len: 60, write: false }]);
      expect(got).toHaveLength(1);
      expect(got[0]).toEqual(f);
      expect(d.takeUsed(1)).toEqual([{ id: 0, len: 0 }]);
      expect(d.irq.level).toBe(true);
      expect(nic.counters.txFrames).toBe(1);
    });
  }
  test('NEEDS_CSUM: the device completes the UDP checksum (csum_start/csum_offset)', () => {
    const { d, got } = up(true, bit(VIRTIO_NET_F_CSUM));
    const ip = buildUdp(0x0a00020f, 0x0a000202, 1234, 7, new TextEncoder().encode('hello'));
    const f = buildEth(MAC, MAC, ETHERTYPE_IPV4, ip);
    const good = f.slice();
    // the driver leaves the pseudo-header sum in the field (Linux's CHECKSUM_PARTIAL)
    const udpAt = 14 + 20;
    const pseudo = new Uint8Array([10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0, 13]);
    const partial = (~internetChecksum(pseudo, 0, 12)) & 0xffff;
    f[udpAt + 6] = partial >> 8;
    f[udpAt + 7] = partial & 0xff;
    const hdr = new Uint8Array(12);
    hdr[0] = 1; // NEEDS_CSUM
    new DataView(hdr.buffer).setUint16(6, udpAt, true);
    new DataView(hdr.buffer).setUint16(8, 6, true);
    const buf = d.alloc(12 + f.length);
    d.mem.writeBytes(buf, hdr);
    d.mem.writeBytes(buf + 12, f);
    d.addChain(1, [{ addr: buf, len: 12 + f.length, write: false }]);
    expect(got[0]).toEqual(good);
    const u = parseUdp(parseIpv4(parseEth(got[0]!)!.payload)!);
    expect(u?.dport).toBe(7);
  });
  test('a runt chain (shorter than header + Ethernet header) is returned and counted, not sent', () => {
    const { d, got, nic } = up(true, 0n);
    const buf = d.alloc(20);
    d.addChain(1, [{ addr: buf, len: 20, write: false }]);
    expect(got).toHaveLength(0);
    expect(nic.counters.txErrors).toBe(1);
    expect(d.takeUsed(1)).toHaveLength(1);
  });
  test('indirect descriptors carry a frame', () => {
    const { d, got } = up(true, bit(VIRTIO_F_INDIRECT_DESC));
    const f = frame(100, 0x11);
    const buf = d.alloc(112);
    d.mem.writeBytes(buf + 12, f);
    const table = d.alloc(32);
    d.writeDesc(table, 0, buf, 12, 1, 1);
    d.writeDesc(table, 1, buf + 12, 100, 0, 0);
    d.writeDesc(d.queues[1]!, 0, table, 32, 4, 0);
    d.publish(1, 0);
    expect(got[0]).toEqual(f);
  });
  test('a hostile chain marks DEVICE_NEEDS_RESET and stops the device (no host exception)', () => {
    const { d, got } = up(true, 0n);
    d.writeDesc(d.queues[1]!, 0, 0x7fff_ffff_0000, 64, 0, 0);
    d.publish(1, 0);
    expect(got).toHaveLength(0);
    expect(d.r(0x70) & 0x40).toBe(0x40);
    expect(d.r(0x60) & 2).toBe(2); // config change notification (virtio 1.2 §2.1.2)
  });
});

describe('receive', () => {
  for (const c of headerCases) {
    test(c.name, () => {
      const { d, nd } = up(c.modern, c.features);
      const buf = d.alloc(2048);
      d.mem.fill(buf, 2048, 0xee);
      d.addChain(0, [{ addr: buf, len: 2048, write: true }]);
      const f = frame(200, 0x42);
      expect(nd.port.send(f)).toBe(true);
      const used = d.takeUsed(0);
      expect(used).toEqual([{ id: 0, len: c.hlen + 200 }]);
      const hdr = d.mem.readBytes(buf, c.hlen);
      const expectHdr = new Uint8Array(c.hlen);
      // §5.1.6.4: num_buffers is 1 for a one-chain frame, and MUST be 1 without MRG_RXBUF.
      if (c.hlen === 12) expectHdr[10] = 1;
      expect(hdr).toEqual(expectHdr);
      expect(d.mem.readBytes(buf + c.hlen, 200)).toEqual(f);
      expect(d.irq.level).toBe(true);
    });
  }
  test('MRG_RXBUF: a frame spans several chains and num_buffers says how many', () => {
    const { d, nd } = up(true, bit(VIRTIO_NET_F_MRG_RXBUF));
    const bufs = [d.alloc(512), d.alloc(512), d.alloc(512)];
    for (const b of bufs) d.addChain(0, [{ addr: b, len: 512, write: true }]);
    const f = frame(1000, 0x5a);
    nd.port.send(f);
    const used = d.takeUsed(0);
    expect(used.map((u) => u.len)).toEqual([512, 500]);
    expect(new DataView(d.mem.readBytes(bufs[0]!, 12).buffer).getUint16(10, true)).toBe(2);
    const got = new Uint8Array([...d.mem.readBytes(bufs[0]! + 12, 500), ...d.mem.readBytes(bufs[1]!, 500)]);
    expect(got).toEqual(f);
  });
  test('no buffers: the frame waits in the backend, nothing is lost, and goes in when the guest adds buffers', () => {
    const { d, nd, nic } = up(true, 0n);
    const f1 = frame(64, 1);
    const f2 = frame(64, 2);
    nd.port.send(f1);
    nd.port.send(f2);
    expect(nd.queued).toBe(2);
    expect(nic.counters.rxNoBuffers).toBeGreaterThan(0);
    const a = d.alloc(1600);
    d.addChain(0, [{ addr: a, len: 1600, write: true }]);
    expect(nd.queued).toBe(1);
    expect(d.mem.readBytes(a + 12, 64)).toEqual(f1);
    const b = d.alloc(1600);
    d.addChain(0, [{ addr: b, len: 1600, write: true }]);
    expect(nd.queued).toBe(0);
    expect(d.mem.readBytes(b + 12, 64)).toEqual(f2);
    expect(nd.stats.rxDropped).toBe(0);
    expect(nd.stats.rxFrames).toBe(2);
  });
  test('MRG_RXBUF with too little buffer space: nothing is consumed until enough arrives', () => {
    const { d, nd } = up(true, bit(VIRTIO_NET_F_MRG_RXBUF));
    d.addChain(0, [{ addr: d.alloc(256), len: 256, write: true }]);
    nd.port.send(frame(1000));
    expect(d.takeUsed(0)).toHaveLength(0);
    expect(nd.queued).toBe(1);
    for (let i = 0; i < 4; i++) d.addChain(0, [{ addr: d.alloc(256), len: 256, write: true }]);
    expect(d.takeUsed(0).map((u) => u.len)).toEqual([256, 256, 256, 244]);
    expect(nd.queued).toBe(0);
  });
  test('without MRG_RXBUF a too-small chain drops the frame (counted), as QEMU does', () => {
    const { d, nd, nic } = up(true, 0n);
    d.addChain(0, [{ addr: d.alloc(100), len: 100, write: true }]);
    nd.port.send(frame(200));
    expect(nic.counters.rxTooSmall).toBe(1);
    expect(d.takeUsed(0)).toEqual([{ id: 0, len: 0 }]);
  });
  test('a full backend queue drops and counts', () => {
    class Tiny extends NetdevBase {
      constructor() { super('t', 4); }
      protected transmit(): void {}
      push(f: Uint8Array): boolean { return this.deliver(f); }
    }
    const nd = new Tiny();
    const nic = new VirtioNet(nd, { mac: MAC });
    MockDriver.create(nic, true);
    for (let i = 0; i < 6; i++) nd.push(frame(64));
    expect(nd.queued).toBe(4);
    expect(nd.stats.rxDropped).toBe(2);
  });
  test('EVENT_IDX: no interrupt until used_event is crossed', () => {
    const { d, nd } = up(true, bit(VIRTIO_F_EVENT_IDX));
    const q = d.queues[0]!;
    for (let i = 0; i < 4; i++) d.addChain(0, [{ addr: d.alloc(1600), len: 1600, write: true }]);
    d.mem.writeU16(q.avail + 4 + 2 * q.size, 2); // used_event = 2
    nd.port.send(frame(64));
    expect(d.irq.level).toBe(true); // the first decision always interrupts
    d.ackInterrupt();
    nd.port.send(frame(64)); // used idx 2
    expect(d.irq.level).toBe(false);
    nd.port.send(frame(64)); // used idx 3: crossed 2
    expect(d.irq.level).toBe(true);
  });
  test('MAC feature: config holds the mac', () => {
    const { d } = up(true, bit(VIRTIO_NET_F_MAC));
    expect([0, 1, 2, 3, 4, 5].map((i) => d.t.read(0x100 + i, 1))).toEqual([...MAC]);
  });
});
