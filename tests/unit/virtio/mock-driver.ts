// A virtio-mmio driver played by the test: it writes descriptor tables and
// rings into GuestMemory and pokes the transport's registers, as a guest
// driver does (virtio 1.2 §3.1 and §4.2.3; legacy §4.2.4).
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { RecordingIrqLine } from '../../../src/devices/irq.js';
import * as R from '../../../src/virtio/mmio.js';
import { VirtioMmioTransport } from '../../../src/virtio/mmio.js';
import type { VirtioDevice } from '../../../src/virtio/device.js';
import { legacyRingLayout } from '../../../src/virtio/virtqueue.js';

export const STATUS = { ACK: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, NEEDS_RESET: 0x40 } as const;

export interface QueueLayout { size: number; desc: number; avail: number; used: number }

export class MockDriver {
  readonly irq = new RecordingIrqLine();
  readonly t: VirtioMmioTransport;
  readonly queues: QueueLayout[] = [];
  /** Next free descriptor per queue; next avail index. */
  private nextDesc: number[] = [];
  private availIdx: number[] = [];
  lastUsed: number[] = [];
  private heap = 0x40000;

  constructor(readonly mem: GuestMemory, device: VirtioDevice | undefined, readonly modern: boolean) {
    this.t = new VirtioMmioTransport(mem, device, this.irq, { modern });
  }

  static create(device: VirtioDevice | undefined, modern: boolean, ram = 4 * 1024 * 1024): MockDriver {
    return new MockDriver(new GuestMemory(ram), device, modern);
  }

  r(off: number): number { return this.t.read(off, 4); }
  w(off: number, v: number): void { this.t.write(off, 4, v >>> 0); }

  alloc(len: number, align = 16): number {
    this.heap = Math.ceil(this.heap / align) * align;
    const at = this.heap;
    this.heap += len;
    return at;
  }

  /** Negotiate `features` (a subset of the offered ones); returns the status read back after FEATURES_OK. */
  negotiate(features: bigint): number {
    this.w(R.VIRTIO_MMIO_STATUS, 0);
    this.w(R.VIRTIO_MMIO_STATUS, STATUS.ACK);
    this.w(R.VIRTIO_MMIO_STATUS, STATUS.ACK | STATUS.DRIVER);
    this.w(R.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    this.w(R.VIRTIO_MMIO_DRIVER_FEATURES, Number(features & 0xffffffffn));
    if (this.modern) {
      this.w(R.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
      this.w(R.VIRTIO_MMIO_DRIVER_FEATURES, Number(features >> 32n));
      this.w(R.VIRTIO_MMIO_STATUS, STATUS.ACK | STATUS.DRIVER | STATUS.FEATURES_OK);
    } else {
      this.w(R.VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
    }
    return this.r(R.VIRTIO_MMIO_STATUS);
  }

  offered(): bigint {
    this.w(R.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    const lo = BigInt(this.r(R.VIRTIO_MMIO_DEVICE_FEATURES));
    this.w(R.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    const hi = BigInt(this.r(R.VIRTIO_MMIO_DEVICE_FEATURES));
    return lo | (hi << 32n);
  }

  setupQueue(index: number, size: number): QueueLayout {
    this.w(R.VIRTIO_MMIO_QUEUE_SEL, index);
    this.w(R.VIRTIO_MMIO_QUEUE_NUM, size);
    let q: QueueLayout;
    if (this.modern) {
      const desc = this.alloc(16 * size, 16);
      const avail = this.alloc(6 + 2 * size, 2);
      const used = this.alloc(6 + 8 * size, 4);
      q = { size, desc, avail, used };
      this.w(R.VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
      this.w(R.VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
      this.w(R.VIRTIO_MMIO_QUEUE_DRIVER_LOW, avail);
      this.w(R.VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
      this.w(R.VIRTIO_MMIO_QUEUE_DEVICE_LOW, used);
      this.w(R.VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
      this.w(R.VIRTIO_MMIO_QUEUE_READY, 1);
    } else {
      const base = this.alloc(2 * 4096 + 16 * size + 8 * size, 4096);
      const l = legacyRingLayout(base, size, 4096);
      q = { size, desc: l.desc, avail: l.avail, used: l.used };
      this.w(R.VIRTIO_MMIO_QUEUE_ALIGN, 4096);
      this.w(R.VIRTIO_MMIO_QUEUE_PFN, base / 4096);
    }
    this.queues[index] = q;
    this.nextDesc[index] = 0;
    this.availIdx[index] = 0;
    this.lastUsed[index] = 0;
    return q;
  }

  driverOk(): void {
    this.w(R.VIRTIO_MMIO_STATUS, this.r(R.VIRTIO_MMIO_STATUS) | STATUS.DRIVER_OK);
  }

  writeDesc(q: QueueLayout | number, i: number, addr: number, len: number, flags: number, next: number): void {
    const table = typeof q === 'number' ? q : q.desc;
    const d = table + 16 * i;
    this.mem.writeU64(d, BigInt(addr));
    this.mem.writeU32(d + 8, len);
    this.mem.writeU16(d + 12, flags);
    this.mem.writeU16(d + 14, next);
  }

  /** Make a chain of buffers available: [{addr,len,write}]; returns the head index. */
  addChain(index: number, bufs: Array<{ addr: number; len: number; write: boolean }>, notify = true): number {
    const q = this.queues[index]!;
    const head = this.nextDesc[index]!;
    bufs.forEach((b, k) => {
      const i = (head + k) % q.size;
      const last = k === bufs.length - 1;
      this.writeDesc(q, i, b.addr, b.len, (b.write ? 2 : 0) | (last ? 0 : 1), (i + 1) % q.size);
    });
    this.nextDesc[index] = (head + bufs.length) % q.size;
    this.publish(index, head, notify);
    return head;
  }

  /** Put `head` in the avail ring and bump idx. */
  publish(index: number, head: number, notify = true): void {
    const q = this.queues[index]!;
    const idx = this.availIdx[index]!;
    this.mem.writeU16(q.avail + 4 + 2 * (idx % q.size), head);
    this.availIdx[index] = (idx + 1) & 0xffff;
    this.mem.writeU16(q.avail + 2, this.availIdx[index]!);
    if (notify) this.w(R.VIRTIO_MMIO_QUEUE_NOTIFY, index);
  }

  usedIdx(index: number): number { return this.mem.readU16(this.queues[index]!.used + 2); }

  /** New used elements since the last call. */
  takeUsed(index: number): Array<{ id: number; len: number }> {
    const q = this.queues[index]!;
    const out: Array<{ id: number; len: number }> = [];
    const end = this.usedIdx(index);
    while (this.lastUsed[index] !== end) {
      const slot = this.lastUsed[index]! % q.size;
      out.push({ id: this.mem.readU32(q.used + 4 + 8 * slot), len: this.mem.readU32(q.used + 8 + 8 * slot) });
      this.lastUsed[index] = (this.lastUsed[index]! + 1) & 0xffff;
    }
    return out;
  }

  ackInterrupt(): number {
    const s = this.r(R.VIRTIO_MMIO_INTERRUPT_STATUS);
    this.w(R.VIRTIO_MMIO_INTERRUPT_ACK, s);
    return s;
  }
}
