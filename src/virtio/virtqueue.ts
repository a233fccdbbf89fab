/**
 * The split virtqueue (virtio 1.2 §2.7), device side.
 *
 * Layout: a descriptor table (16 bytes per entry), the driver ("available")
 * ring and the device ("used") ring, at guest physical addresses the driver
 * chose. Every guest-supplied value (ring addresses, queue size, ring
 * indices, descriptor addresses and lengths, chain links) is checked before
 * it is used; a violation is a `QueueError` and the transport marks the
 * device DEVICE_NEEDS_RESET. Nothing here throws on guest input.
 */
import type { GuestMemory } from '../memory/guest-memory.js';

// virtio 1.2 §2.7.5: struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; }
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
// §2.7.6: driver ring flags; §2.7.8: device ring flags.
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

const DESC_SIZE = 16;
/** Largest queue size the split ring allows (§2.7: "Queue Size ... maximum 32768"). */
export const VIRTQ_MAX_SIZE = 32768;
/** §2.7.5.2: the total length of a chain must fit in 32 bits; we also cap the number of segments. */
const MAX_CHAIN_BYTES = 0xffffffff;

/** One guest buffer of a descriptor chain, already checked to lie wholly in RAM. */
export interface Segment {
  readonly gpa: number;
  readonly len: number;
}

/** A descriptor chain popped from the driver ring. */
export interface DescriptorChain {
  /** Head descriptor index: what goes back in the used ring. */
  readonly head: number;
  /** Device-readable buffers, in order. */
  readonly readable: readonly Segment[];
  /** Device-writable buffers, in order (all after the readable ones, §2.7.4.2). */
  readonly writable: readonly Segment[];
  readonly readableBytes: number;
  readonly writableBytes: number;
}

export type QueueErrorCode =
  | 'BAD_SIZE' | 'BAD_ALIGNMENT' | 'RING_NOT_RAM' | 'AVAIL_IDX_AHEAD' | 'BAD_HEAD' | 'BAD_NEXT'
  | 'CHAIN_LOOP' | 'BUFFER_NOT_RAM' | 'BAD_INDIRECT' | 'WRITE_BEFORE_READ' | 'CHAIN_TOO_LONG' | 'BAD_LEN';

export interface QueueError {
  readonly kind: 'error';
  readonly code: QueueErrorCode;
  readonly message: string;
}

function qerr(code: QueueErrorCode, message: string): QueueError {
  return { kind: 'error', code, message };
}

export function isQueueError(x: unknown): x is QueueError {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'error';
}

/** Guest-programmable state of one queue (what the transport registers set). */
export interface VirtqueueState {
  version: 1;
  size: number;
  ready: boolean;
  descAddr: number;
  availAddr: number;
  usedAddr: number;
  lastAvailIdx: number;
  usedIdx: number;
  /** Used index at the last interrupt decision (EVENT_IDX, §2.7.7.2). */
  signalledUsed: number;
  signalledUsedValid: boolean;
}

export function virtqueueReset(maxSize: number): VirtqueueState {
  return {
    version: 1, size: maxSize, ready: false, descAddr: 0, availAddr: 0, usedAddr: 0,
    lastAvailIdx: 0, usedIdx: 0, signalledUsed: 0, signalledUsedValid: false,
  };
}

/** Negotiated features that change how the ring is walked. */
export interface RingFeatures {
  indirect: boolean;
  eventIdx: boolean;
}

/** Converts a guest u64 (as two u32 halves) to a number, or undefined if it is not a safe integer. */
export function u64ToNumber(lo: number, hi: number): number | undefined {
  const v = (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);
  return Number.isSafeInteger(v) ? v : undefined;
}

export class Virtqueue {
  s: VirtqueueState;
  features: RingFeatures = { indirect: false, eventIdx: false };
  /**
   * avail.idx and used.idx as 16-bit views of guest RAM, accessed with
   * Atomics: under KVM the driver runs on other threads, and a
   * sequentially consistent store of used.idx orders the used elements
   * before it (virtio 1.2 §2.7.13: the device writes the ring entries, then
   * the index, with a memory barrier between).
   */
  private availIdxView: Uint16Array | undefined;
  private usedIdxView: Uint16Array | undefined;

  constructor(private readonly mem: GuestMemory, readonly maxSize: number, state?: VirtqueueState) {
    this.s = state ?? virtqueueReset(maxSize);
  }

  reset(): void {
    this.s = virtqueueReset(this.maxSize);
    this.availIdxView = this.usedIdxView = undefined;
  }

  private idxView(gpa: number): Uint16Array | undefined {
    const v = this.mem.view(gpa, 2);
    return v.byteOffset % 2 === 0 ? new Uint16Array(v.buffer, v.byteOffset, 1) : undefined;
  }

  /**
   * Check the ring geometry before the queue goes live (§2.7: size a power of
   * two no larger than QueueNumMax; alignment desc 16, avail 2, used 4;
   * every ring inside RAM). Called when the driver sets QueueReady (or
   * QueuePFN in legacy mode). Leaves the queue not ready on error.
   */
  activate(): QueueError | undefined {
    const { size, descAddr, availAddr, usedAddr } = this.s;
    this.s.ready = false;
    if (size === 0 || size > this.maxSize || (size & (size - 1)) !== 0) {
      return qerr('BAD_SIZE', `queue size ${size} is not a power of two <= ${this.maxSize}`);
    }
    if (descAddr % 16 !== 0 || availAddr % 2 !== 0 || usedAddr % 4 !== 0) {
      return qerr('BAD_ALIGNMENT', `ring alignment: desc 0x${descAddr.toString(16)} avail 0x${availAddr.toString(16)} used 0x${usedAddr.toString(16)}`);
    }
    const ev = 2; // used_event / avail_event trailers, present whether or not EVENT_IDX is negotiated
    if (!this.mem.isRangeRam(descAddr, DESC_SIZE * size)
      || !this.mem.isRangeRam(availAddr, 4 + 2 * size + ev)
      || !this.mem.isRangeRam(usedAddr, 4 + 8 * size + ev)) {
      return qerr('RING_NOT_RAM', 'a ring of the queue lies outside guest RAM');
    }
    this.availIdxView = this.idxView(availAddr + 2);
    this.usedIdxView = this.idxView(usedAddr + 2);
    this.s.ready = true;
    return undefined;
  }

  get ready(): boolean { return this.s.ready; }

  private availIdx(): number {
    // An acquire: ring entries read after this see what the driver wrote before the index.
    return this.availIdxView ? Atomics.load(this.availIdxView, 0) : this.mem.readU16(this.s.availAddr + 2);
  }
  private availFlags(): number { return this.mem.readU16(this.s.availAddr); }

  /** Number of chains the driver has made available and we have not taken, or an error. */
  pending(): number | QueueError {
    if (!this.s.ready) return 0;
    const n = (this.availIdx() - this.s.lastAvailIdx) & 0xffff;
    // §2.7.13.3: the driver may not get more than `size` ahead of the device.
    if (n > this.s.size) return qerr('AVAIL_IDX_AHEAD', `avail idx is ${n} entries ahead of a ${this.s.size}-entry queue`);
    return n;
  }

  /** Take the next chain, or undefined if none is available. */
  pop(): DescriptorChain | QueueError | undefined {
    const n = this.pending();
    if (typeof n !== 'number') return n;
    if (n === 0) return undefined;
    const size = this.s.size;
    const slot = this.s.lastAvailIdx % size;
    const head = this.mem.readU16(this.s.availAddr + 4 + 2 * slot);
    if (head >= size) return qerr('BAD_HEAD', `avail ring entry ${slot} names descriptor ${head} of ${size}`);
    const chain = this.walk(head);
    if (isQueueError(chain)) return chain;
    this.s.lastAvailIdx = (this.s.lastAvailIdx + 1) & 0xffff;
    if (this.features.eventIdx) this.writeAvailEvent();
    return chain;
  }

  /** Give back the last `count` popped chains unused (they will be popped again). */
  unpop(count: number): void {
    this.s.lastAvailIdx = (this.s.lastAvailIdx - count) & 0xffff;
  }

  private walk(head: number): DescriptorChain | QueueError {
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let readableBytes = 0;
    let writableBytes = 0;
    let table = this.s.descAddr;
    let tableSize = this.s.size;
    let index = head;
    let inIndirect = false;
    // §2.7.5.2 / §2.7.5.3.1: a chain visits each descriptor at most once; bound the walk.
    let budget = tableSize;
    for (;;) {
      if (budget-- <= 0) return qerr('CHAIN_LOOP', `descriptor chain from ${head} is longer than its table (a loop)`);
      const d = table + DESC_SIZE * index;
      const lo = this.mem.readU32(d);
      const hi = this.mem.readU32(d + 4);
      const len = this.mem.readU32(d + 8);
      const flags = this.mem.readU16(d + 12);
      const next = this.mem.readU16(d + 14);
      const addr = u64ToNumber(lo, hi);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        // §2.7.5.3.1: only with VIRTIO_F_INDIRECT_DESC; not inside an indirect
        // table; not with NEXT; len a multiple of 16.
        if (!this.features.indirect || inIndirect || (flags & VIRTQ_DESC_F_NEXT)) {
          return qerr('BAD_INDIRECT', `descriptor ${index}: INDIRECT not allowed here (flags 0x${flags.toString(16)})`);
        }
        if (len === 0 || len % DESC_SIZE !== 0 || len / DESC_SIZE > VIRTQ_MAX_SIZE) {
          return qerr('BAD_INDIRECT', `indirect table length ${len}`);
        }
        if (addr === undefined || !this.mem.isRangeRam(addr, len)) {
          return qerr('BUFFER_NOT_RAM', `indirect table at 0x${(addr ?? -1).toString(16)}+${len} is not RAM`);
        }
        table = addr;
        tableSize = len / DESC_SIZE;
        budget = tableSize;
        index = 0;
        inIndirect = true;
        continue;
      }
      if (addr === undefined || !this.mem.isRangeRam(addr, len)) {
        return qerr('BUFFER_NOT_RAM', `descriptor ${index}: buffer 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}+${len} is not RAM`);
      }
      if (flags & VIRTQ_DESC_F_WRITE) {
        writable.push({ gpa: addr, len });
        writableBytes += len;
      } else {
        // §2.7.4.2: device-readable descriptors come before device-writable ones.
        if (writable.length > 0) return qerr('WRITE_BEFORE_READ', `descriptor ${index}: readable after writable`);
        readable.push({ gpa: addr, len });
        readableBytes += len;
      }
      if (readableBytes + writableBytes > MAX_CHAIN_BYTES) return qerr('CHAIN_TOO_LONG', 'chain longer than 2^32 bytes (virtio 1.2 §2.7.5.2)');
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= tableSize) return qerr('BAD_NEXT', `descriptor ${index}: next ${next} outside a ${tableSize}-entry table`);
      index = next;
    }
    return { head, readable, writable, readableBytes, writableBytes };
  }

  /** Put a used element (§2.7.8) and publish it. */
  push(head: number, len: number): void {
    this.pushMany([{ head, len }]);
  }

  /** Several used elements published with one index update (MRG_RXBUF). */
  pushMany(elems: ReadonlyArray<{ head: number; len: number }>): void {
    const size = this.s.size;
    let idx = this.s.usedIdx;
    for (const e of elems) {
      const slot = idx % size;
      const at = this.s.usedAddr + 4 + 8 * slot;
      this.mem.writeU32(at, e.head);
      this.mem.writeU32(at + 4, e.len);
      idx = (idx + 1) & 0xffff;
    }
    // The index is written after the elements: a driver that sees the new idx sees the elements.
    this.s.usedIdx = idx;
    if (this.usedIdxView) Atomics.store(this.usedIdxView, 0, idx);
    else this.mem.writeU16(this.s.usedAddr + 2, idx);
  }

  /**
   * Whether the driver wants an interrupt for what was published since the
   * last call (§2.7.7.2): avail.flags NO_INTERRUPT, or with EVENT_IDX the
   * used_event index crossed.
   */
  needsInterrupt(): boolean {
    if (!this.s.ready) return false;
    const newIdx = this.s.usedIdx;
    if (!this.features.eventIdx) {
      this.s.signalledUsed = newIdx;
      return (this.availFlags() & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    const old = this.s.signalledUsed;
    const valid = this.s.signalledUsedValid;
    this.s.signalledUsed = newIdx;
    this.s.signalledUsedValid = true;
    if (!valid) return true;
    const usedEvent = this.mem.readU16(this.s.availAddr + 4 + 2 * this.s.size);
    return vringNeedEvent(usedEvent, newIdx, old);
  }

  /**
   * Ask the driver to notify (or not) when it adds buffers (§2.7.10):
   * used.flags NO_NOTIFY, or with EVENT_IDX avail_event = next index we read.
   */
  setNotification(enable: boolean): void {
    if (!this.s.ready) return;
    if (this.features.eventIdx) {
      if (enable) this.writeAvailEvent();
      return;
    }
    this.mem.writeU16(this.s.usedAddr, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
  }

  private writeAvailEvent(): void {
    this.mem.writeU16(this.s.usedAddr + 4 + 8 * this.s.size, this.s.lastAvailIdx);
  }

  // Segment helpers: copy between host bytes and a chain's buffers.

  /** Copy the chain's readable bytes (at most `max`) into one array. */
  readChain(chain: DescriptorChain, max = chain.readableBytes): Uint8Array {
    const total = Math.min(max, chain.readableBytes);
    const out = new Uint8Array(total);
    let done = 0;
    for (const seg of chain.readable) {
      if (done >= total) break;
      const n = Math.min(seg.len, total - done);
      this.mem.copyOut(seg.gpa, out.subarray(done, done + n));
      done += n;
    }
    return out;
  }

  /** Write `data` into writable segments starting `offset` bytes into them; returns bytes written. */
  writeChain(chain: DescriptorChain, data: Uint8Array, offset = 0): number {
    let skip = offset;
    let done = 0;
    for (const seg of chain.writable) {
      if (done >= data.length) break;
      if (skip >= seg.len) {
        skip -= seg.len;
        continue;
      }
      const n = Math.min(seg.len - skip, data.length - done);
      this.mem.writeBytes(seg.gpa + skip, data.subarray(done, done + n));
      done += n;
      skip = 0;
    }
    return done;
  }
}

/** vring_need_event (virtio 1.2 §2.7.7.2): did new_idx step past event_idx since old? */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

/** Legacy (virtio 0.9.5 / 1.2 §2.7.2 "Legacy Interfaces") ring layout from one page frame. */
export function legacyRingLayout(base: number, size: number, align: number): { desc: number; avail: number; used: number } {
  const desc = base;
  const avail = base + DESC_SIZE * size;
  const availEnd = avail + 4 + 2 * size + 2;
  const used = Math.ceil(availEnd / align) * align;
  return { desc, avail, used };
}
