// virtio-mmio transport registers, negotiation, queues and reset, against
// virtio 1.2 §4.2 (modern) and §4.2.4 (legacy) with a mock driver.
import { describe, expect, test } from 'vitest';
import * as R from '../../../src/virtio/mmio.js';
import { VirtioNet, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_STATUS } from '../../../src/virtio/net.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1, bit } from '../../../src/virtio/device.js';
import { StreamNetdev } from '../../../src/net/stream.js';
import { MockDriver, STATUS } from './mock-driver.js';

const MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
function netDriver(modern: boolean): { d: MockDriver; nic: VirtioNet; nd: StreamNetdev } {
  const nd = new StreamNetdev('n0');
  const nic = new VirtioNet(nd, { mac: MAC });
  return { d: MockDriver.create(nic, modern), nic, nd };
}

describe('identification registers', () => {
  for (const modern of [false, true]) {
    test(`version ${modern ? 2 : 1}: magic, version, device and vendor id`, () => {
      const { d } = netDriver(modern);
      expect(d.r(R.VIRTIO_MMIO_MAGIC_VALUE)).toBe(0x74726976);
      expect(d.r(R.VIRTIO_MMIO_VERSION)).toBe(modern ? 2 : 1);
      expect(d.r(R.VIRTIO_MMIO_DEVICE_ID)).toBe(1);
      expect(d.r(R.VIRTIO_MMIO_VENDOR_ID)).toBe(0x554d4551);
      expect(d.r(R.VIRTIO_MMIO_QUEUE_NUM_MAX)).toBe(256);
    });
  }
  test('an empty transport reads device id 0 (the driver must stop there)', () => {
    const d = MockDriver.create(undefined, true);
    expect(d.r(R.VIRTIO_MMIO_MAGIC_VALUE)).toBe(0x74726976);
    expect(d.r(R.VIRTIO_MMIO_DEVICE_ID)).toBe(0);
    d.w(R.VIRTIO_MMIO_STATUS, 1);
    expect(d.r(R.VIRTIO_MMIO_STATUS)).toBe(0);
  });
  test('non-32-bit register accesses read 0 and are counted', () => {
    const { d } = netDriver(true);
    expect(d.t.read(R.VIRTIO_MMIO_MAGIC_VALUE, 2)).toBe(0);
    expect(d.t.read(R.VIRTIO_MMIO_MAGIC_VALUE + 1, 4)).toBe(0);
    d.t.write(R.VIRTIO_MMIO_STATUS, 1, 1);
    expect(d.r(R.VIRTIO_MMIO_STATUS)).toBe(0);
    expect(d.t.counters.badAccesses).toBe(3);
  });
});

describe('features', () => {
  test('modern offers VERSION_1, RING_RESET, EVENT_IDX, INDIRECT_DESC and the net bits', () => {
    const { d } = netDriver(true);
    const f = d.offered();
    for (const b of [VIRTIO_F_VERSION_1, VIRTIO_F_RING_RESET, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MRG_RXBUF]) {
      expect(f & bit(b), `bit ${b}`).not.toBe(0n);
    }
  });
  test('legacy offers nothing above bit 31', () => {
    const { d } = netDriver(false);
    const f = d.offered();
    expect(f >> 32n).toBe(0n);
    expect(f & bit(VIRTIO_NET_F_MAC)).not.toBe(0n);
  });
  test('modern accepts FEATURES_OK without VERSION_1, as QEMU does (TamaGo negotiates no bits): legacy 10-byte header', async () => {
    const { d, nd } = netDriver(true);
    const s = d.negotiate(0n);
    expect(s & STATUS.FEATURES_OK).toBe(STATUS.FEATURES_OK);
    expect(d.t.modern).toBe(false);
    d.setupQueue(0, 8);
    d.setupQueue(1, 8);
    d.driverOk();
    const buf = d.alloc(2048);
    d.addChain(0, [{ addr: buf, len: 2048, write: true }]);
    nd.port.send(new Uint8Array(60).fill(7));
    expect(d.takeUsed(0)).toEqual([{ id: 0, len: 70 }]);
    expect(d.mem.readU8(buf + 10)).toBe(7);
  });
  test('bits the device did not offer are dropped at FEATURES_OK (QEMU virtio_set_features_nocheck)', () => {
    const { d } = netDriver(true);
    const s = d.negotiate(bit(VIRTIO_F_VERSION_1) | bit(41));
    expect(s & STATUS.FEATURES_OK).toBe(STATUS.FEATURES_OK);
    expect(d.t.driverFeatures).toBe(bit(VIRTIO_F_VERSION_1));
    expect(d.t.counters.featuresDropped).toBe(1);
  });
  test('modern accepts a subset with VERSION_1', () => {
    const { d } = netDriver(true);
    const s = d.negotiate(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_MAC));
    expect(s).toBe(STATUS.ACK | STATUS.DRIVER | STATUS.FEATURES_OK);
    expect(d.t.modern).toBe(true);
  });
  test('driver features are frozen after FEATURES_OK', () => {
    const { d } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1));
    d.w(R.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    d.w(R.VIRTIO_MMIO_DRIVER_FEATURES, 1 << VIRTIO_NET_F_MAC);
    expect(d.t.driverFeatures).toBe(bit(VIRTIO_F_VERSION_1));
  });
});

describe('config space', () => {
  test('mac, status (LINK_UP) and mtu at the spec offsets; reads past the end are all ones', () => {
    const { d } = netDriver(true);
    const mac = [0, 1, 2, 3, 4, 5].map((i) => d.t.read(R.VIRTIO_MMIO_CONFIG + i, 1));
    expect(mac).toEqual([...MAC]);
    expect(d.t.read(R.VIRTIO_MMIO_CONFIG + 6, 2)).toBe(1);
    expect(d.t.read(R.VIRTIO_MMIO_CONFIG + 10, 2)).toBe(1500);
    expect(d.t.read(R.VIRTIO_MMIO_CONFIG, 4)).toBe(0x12005452);
    expect(d.t.read(R.VIRTIO_MMIO_CONFIG + 12, 4)).toBe(0xffffffff);
    expect(d.t.read(R.VIRTIO_MMIO_CONFIG + 11, 2)).toBe(0xffff);
  });
  test('a link change bumps ConfigGeneration and raises the config interrupt', () => {
    const { d, nic } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_STATUS));
    d.setupQueue(0, 8);
    d.setupQueue(1, 8);
    d.driverOk();
    const gen = d.r(R.VIRTIO_MMIO_CONFIG_GENERATION);
    nic.setLinkUp(false);
    expect(d.r(R.VIRTIO_MMIO_CONFIG_GENERATION)).toBe(gen + 1);
    expect(d.r(R.VIRTIO_MMIO_INTERRUPT_STATUS)).toBe(R.VIRTIO_MMIO_INT_CONFIG);
    expect(d.irq.level).toBe(true);
    expect(d.t.read(R.VIRTIO_MMIO_CONFIG + 6, 2)).toBe(0);
    d.w(R.VIRTIO_MMIO_INTERRUPT_ACK, R.VIRTIO_MMIO_INT_CONFIG);
    expect(d.irq.level).toBe(false);
    expect(d.irq.log).toEqual([true, false]);
  });
  test('a legacy driver may write the mac; a modern one may not', () => {
    for (const modern of [false, true]) {
      const { d } = netDriver(modern);
      d.negotiate(modern ? bit(VIRTIO_F_VERSION_1) : 0n);
      d.t.write(R.VIRTIO_MMIO_CONFIG, 1, 0xaa);
      expect(d.t.read(R.VIRTIO_MMIO_CONFIG, 1)).toBe(modern ? 0x52 : 0xaa);
    }
  });
});

describe('queues', () => {
  test('modern: QueueReady refuses a ring outside RAM and marks DEVICE_NEEDS_RESET', () => {
    const { d } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1));
    d.w(R.VIRTIO_MMIO_QUEUE_SEL, 0);
    d.w(R.VIRTIO_MMIO_QUEUE_NUM, 8);
    d.w(R.VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfff00000);
    d.w(R.VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x1000);
    d.w(R.VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x2000);
    d.w(R.VIRTIO_MMIO_QUEUE_READY, 1);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_READY)).toBe(0);
    expect(d.r(R.VIRTIO_MMIO_STATUS) & STATUS.NEEDS_RESET).toBe(STATUS.NEEDS_RESET);
  });
  test('modern: a queue size that is not a power of two is refused', () => {
    const { d } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1));
    d.setupQueue(0, 6);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_READY)).toBe(0);
    expect(d.t.counters.lastError).toMatch(/power of two/);
  });
  test('modern: a high address half above 2^53 cannot become RAM', () => {
    const { d } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1));
    d.w(R.VIRTIO_MMIO_QUEUE_SEL, 0);
    d.w(R.VIRTIO_MMIO_QUEUE_NUM, 8);
    d.w(R.VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
    d.w(R.VIRTIO_MMIO_QUEUE_DESC_HIGH, 0xffffffff);
    d.w(R.VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x2000);
    d.w(R.VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x3000);
    d.w(R.VIRTIO_MMIO_QUEUE_READY, 1);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_READY)).toBe(0);
  });
  test('legacy: QueuePFN places the rings (used ring aligned to QueueAlign) and 0 resets the queue', () => {
    const { d } = netDriver(false);
    d.negotiate(0n);
    const q = d.setupQueue(0, 16);
    expect(d.t.queues[0]!.ready).toBe(true);
    expect(d.t.queues[0]!.s.availAddr).toBe(q.desc + 256);
    expect(d.t.queues[0]!.s.usedAddr % 4096).toBe(0);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_PFN)).toBe(q.desc / 4096);
    d.w(R.VIRTIO_MMIO_QUEUE_PFN, 0);
    expect(d.t.queues[0]!.ready).toBe(false);
  });
  test('QueueReset (RING_RESET): the queue is reset, reads 1 until re-enabled', () => {
    const { d } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_RING_RESET));
    d.setupQueue(0, 8);
    d.setupQueue(1, 8);
    d.driverOk();
    d.w(R.VIRTIO_MMIO_QUEUE_SEL, 1);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_RESET)).toBe(0);
    d.w(R.VIRTIO_MMIO_QUEUE_RESET, 1);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_RESET)).toBe(1);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_READY)).toBe(0);
    d.setupQueue(1, 4);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_RESET)).toBe(0);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_READY)).toBe(1);
    expect(d.t.queues[1]!.s.size).toBe(4);
  });
  test('QueueReset is ignored without RING_RESET negotiated', () => {
    const { d } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1));
    d.setupQueue(0, 8);
    d.w(R.VIRTIO_MMIO_QUEUE_RESET, 1);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_READY)).toBe(1);
  });
});

describe('device reset', () => {
  test('status 0 clears status, features, queues and the interrupt', () => {
    const { d, nic } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_STATUS));
    d.setupQueue(0, 8);
    d.setupQueue(1, 8);
    d.driverOk();
    nic.setLinkUp(false);
    expect(d.irq.level).toBe(true);
    d.w(R.VIRTIO_MMIO_STATUS, 0);
    expect(d.r(R.VIRTIO_MMIO_STATUS)).toBe(0);
    expect(d.r(R.VIRTIO_MMIO_INTERRUPT_STATUS)).toBe(0);
    expect(d.irq.level).toBe(false);
    expect(d.t.driverFeatures).toBe(0n);
    d.w(R.VIRTIO_MMIO_QUEUE_SEL, 0);
    expect(d.r(R.VIRTIO_MMIO_QUEUE_READY)).toBe(0);
  });
  test('DRIVER_OK without FEATURES_OK on a modern transport needs reset', () => {
    const { d } = netDriver(true);
    d.w(R.VIRTIO_MMIO_STATUS, STATUS.ACK | STATUS.DRIVER | STATUS.DRIVER_OK);
    expect(d.r(R.VIRTIO_MMIO_STATUS) & STATUS.NEEDS_RESET).toBe(STATUS.NEEDS_RESET);
    d.w(R.VIRTIO_MMIO_STATUS, 0);
    expect(d.r(R.VIRTIO_MMIO_STATUS)).toBe(0);
  });
});

describe('state', () => {
  test('save, restore into a fresh transport, and traffic continues where it left off', () => {
    const { d, nd } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_MAC));
    d.setupQueue(0, 8);
    d.setupQueue(1, 8);
    d.driverOk();
    const bufs = [d.alloc(1600), d.alloc(1600)];
    for (const b of bufs) d.addChain(0, [{ addr: b, len: 1600, write: true }]);
    nd.port.send(new Uint8Array(60).fill(1));
    const saved = JSON.parse(JSON.stringify(d.t.saveState())) as unknown;
    const netSaved = JSON.parse(JSON.stringify((d.t.device as VirtioNet).saveState())) as unknown;
    // a second machine over the same RAM contents
    const nd2 = new StreamNetdev('n1');
    const nic2 = new VirtioNet(nd2, { mac: new Uint8Array(6) });
    const irq2 = { log: [] as boolean[], set(l: boolean) { this.log.push(l); } };
    const t2 = new R.VirtioMmioTransport(d.mem, nic2, irq2, { modern: true });
    expect(nic2.restoreState(netSaved)).toBe(true);
    expect(t2.restoreState(saved)).toBe(true);
    expect(irq2.log).toEqual([true]); // InterruptStatus was pending: the line is raised again
    expect(t2.read(R.VIRTIO_MMIO_CONFIG, 1)).toBe(0x52);
    nd2.port.send(new Uint8Array(60).fill(2));
    // the second frame lands in the second buffer, used idx 2
    expect(d.mem.readU16(d.queues[0]!.used + 2)).toBe(2);
    expect(d.mem.readU8(bufs[1]! + 12)).toBe(2);
  });
  test('a hostile state (ring outside RAM, bad types) is refused and changes nothing', () => {
    const { d } = netDriver(true);
    d.negotiate(bit(VIRTIO_F_VERSION_1));
    d.setupQueue(0, 8);
    const good = d.t.saveState();
    const bad = { ...good, queues: good.queues.map((q) => ({ ...q, ready: true, usedAddr: 0xffff_0000 })) };
    expect(d.t.restoreState(bad)).toBe(false);
    expect(d.t.restoreState({ ...good, status: 'x' })).toBe(false);
    expect(d.t.restoreState(null)).toBe(false);
    expect(d.t.saveState()).toEqual(good);
  });
});
