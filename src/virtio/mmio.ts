/**
 * The virtio-mmio transport (virtio 1.2 §4.2), version 2 (modern) and
 * version 1 (legacy, QEMU's default for virtio-mmio: §4.2.4 "Legacy
 * interface"). One instance per 0x200-byte slot at 0xfeb00000 + n*0x200.
 *
 * Registers are 32-bit and 32-bit aligned; other accesses below the config
 * space read 0 and are ignored (as QEMU does), counted in `badAccesses`.
 * The interrupt line is level-triggered and follows InterruptStatus != 0.
 */
import type { AccessSize, BusDevice } from '../memory/bus.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { IrqLine } from '../devices/irq.js';
import {
  VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET, VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FAILED, VIRTIO_STATUS_FEATURES_OK,
  bit, hasFeature, type VirtioDevice, type VirtioTransportContext,
} from './device.js';
import { Virtqueue, legacyRingLayout, u64ToNumber, VIRTQ_MAX_SIZE, type VirtqueueState } from './virtqueue.js';

// virtio 1.2 §4.2.2, Table "MMIO Device Register Layout".
export const VIRTIO_MMIO_MAGIC_VALUE = 0x000;
export const VIRTIO_MMIO_VERSION = 0x004;
export const VIRTIO_MMIO_DEVICE_ID = 0x008;
export const VIRTIO_MMIO_VENDOR_ID = 0x00c;
export const VIRTIO_MMIO_DEVICE_FEATURES = 0x010;
export const VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014;
export const VIRTIO_MMIO_DRIVER_FEATURES = 0x020;
export const VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024;
export const VIRTIO_MMIO_GUEST_PAGE_SIZE = 0x028; // legacy
export const VIRTIO_MMIO_QUEUE_SEL = 0x030;
export const VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034;
export const VIRTIO_MMIO_QUEUE_NUM = 0x038;
export const VIRTIO_MMIO_QUEUE_ALIGN = 0x03c; // legacy
export const VIRTIO_MMIO_QUEUE_PFN = 0x040; // legacy
export const VIRTIO_MMIO_QUEUE_READY = 0x044;
export const VIRTIO_MMIO_QUEUE_NOTIFY = 0x050;
export const VIRTIO_MMIO_INTERRUPT_STATUS = 0x060;
export const VIRTIO_MMIO_INTERRUPT_ACK = 0x064;
export const VIRTIO_MMIO_STATUS = 0x070;
export const VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080;
export const VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084;
export const VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090;
export const VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094;
export const VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0;
export const VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4;
export const VIRTIO_MMIO_SHM_SEL = 0x0ac;
export const VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0;
export const VIRTIO_MMIO_SHM_LEN_HIGH = 0x0b4;
export const VIRTIO_MMIO_SHM_BASE_LOW = 0x0b8;
export const VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc;
export const VIRTIO_MMIO_QUEUE_RESET = 0x0c0;
export const VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc;
export const VIRTIO_MMIO_CONFIG = 0x100;

/** "virt" little-endian. */
export const VIRT_MAGIC = 0x74726976;
/** QEMU's vendor ID ("QEMU" little-endian): guests do not check it, but QEMU reports it. */
export const VIRT_VENDOR = 0x554d4551;
export const VIRTIO_MMIO_INT_VRING = 1;
export const VIRTIO_MMIO_INT_CONFIG = 2;
/** Size of one transport's register window. */
export const VIRTIO_MMIO_SIZE = 0x200;

export interface VirtioMmioOptions {
  /** Version 2 (modern) when true; version 1 (legacy) otherwise. */
  modern: boolean;
  /** Called when the device is marked DEVICE_NEEDS_RESET (diagnostics). */
  onNeedsReset?: (reason: string) => void;
}

/** Legacy per-queue registers. */
interface LegacyQueueRegs { align: number; pfn: number }

export interface VirtioMmioCounters {
  badAccesses: number;
  notifies: number;
  interrupts: number;
  needsReset: number;
  /** FEATURES_OK writes whose feature set had bits the device did not offer (they were dropped). */
  featuresDropped: number;
  lastError: string | undefined;
}

export class VirtioMmioTransport implements BusDevice, VirtioTransportContext {
  readonly queues: Virtqueue[];
  private legacyQueues: LegacyQueueRegs[];
  /** Per-queue QueueReset (virtio 1.2 §4.2.2): 1 after a reset until QueueReady is written 1. */
  private queueResetDone: boolean[];
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeaturesValue = 0n;
  private queueSel = 0;
  private guestPageSize = 4096;
  private interruptStatus = 0;
  private configGeneration = 0;
  private shmSel = 0;
  private lineLevel = false;
  private broken = false;
  readonly counters: VirtioMmioCounters = { badAccesses: 0, notifies: 0, interrupts: 0, needsReset: 0, featuresDropped: 0, lastError: undefined };

  constructor(
    private readonly mem: GuestMemory,
    readonly device: VirtioDevice | undefined,
    private readonly irq: IrqLine,
    private readonly opts: VirtioMmioOptions,
  ) {
    const sizes = device?.queueMaxSizes ?? [];
    this.queues = sizes.map((max) => new Virtqueue(mem, max));
    this.legacyQueues = sizes.map(() => ({ align: 4096, pfn: 0 }));
    this.queueResetDone = sizes.map(() => false);
    device?.bind(this);
  }

  get version(): 1 | 2 { return this.opts.modern ? 2 : 1; }

  // --- VirtioTransportContext (the device's view) ---

  get driverFeatures(): bigint { return this.driverFeaturesValue; }
  get modern(): boolean { return hasFeature(this.driverFeaturesValue, VIRTIO_F_VERSION_1); }
  get live(): boolean { return !this.broken && (this.status & VIRTIO_STATUS_DRIVER_OK) !== 0; }
  get deviceStatus(): number { return this.status; }

  queue(index: number): Virtqueue | undefined { return this.queues[index]; }

  usedBuffers(queue: number): void {
    const q = this.queues[queue];
    if (!q || this.broken) return;
    if (q.needsInterrupt()) this.raise(VIRTIO_MMIO_INT_VRING);
  }

  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & VIRTIO_STATUS_DRIVER_OK) this.raise(VIRTIO_MMIO_INT_CONFIG);
  }

  needsReset(reason: string): void {
    this.counters.needsReset++;
    this.counters.lastError = reason;
    if (this.broken) return;
    this.broken = true;
    // virtio 1.2 §2.1.2: set DEVICE_NEEDS_RESET; if DRIVER_OK, send a configuration change notification.
    this.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (this.status & VIRTIO_STATUS_DRIVER_OK) this.raise(VIRTIO_MMIO_INT_CONFIG);
    this.opts.onNeedsReset?.(reason);
  }

  // --- Bus access ---

  read(offset: number, size: AccessSize): number {
    if (offset >= VIRTIO_MMIO_CONFIG) return this.readConfig(offset - VIRTIO_MMIO_CONFIG, size);
    if (size !== 4 || offset % 4 !== 0) {
      this.counters.badAccesses++;
      return 0;
    }
    const modern = this.opts.modern;
    if (!this.device) {
      // An empty slot: magic, version and device ID 0 (virtio 1.2 §4.2.3.1.1: the driver stops there).
      if (offset === VIRTIO_MMIO_MAGIC_VALUE) return VIRT_MAGIC;
      if (offset === VIRTIO_MMIO_VERSION) return this.version;
      if (offset === VIRTIO_MMIO_VENDOR_ID) return VIRT_VENDOR;
      return 0;
    }
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VIRTIO_MMIO_MAGIC_VALUE: return VIRT_MAGIC;
      case VIRTIO_MMIO_VERSION: return this.version;
      case VIRTIO_MMIO_DEVICE_ID: return this.device.deviceId;
      case VIRTIO_MMIO_VENDOR_ID: return VIRT_VENDOR;
      case VIRTIO_MMIO_DEVICE_FEATURES: {
        const f = this.device.deviceFeatures(modern);
        const sel = this.deviceFeaturesSel;
        // Legacy: only the first 32 bits exist (§4.2.4).
        if (sel > 1 || (!modern && sel !== 0)) return 0;
        return Number((f >> BigInt(32 * sel)) & 0xffffffffn) >>> 0;
      }
      case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? q.maxSize : 0;
      case VIRTIO_MMIO_QUEUE_PFN: return !modern && q ? this.legacyQueues[this.queueSel]!.pfn : 0;
      case VIRTIO_MMIO_QUEUE_READY: return modern && q ? (q.ready ? 1 : 0) : 0;
      case VIRTIO_MMIO_INTERRUPT_STATUS: return this.interruptStatus;
      case VIRTIO_MMIO_STATUS: return this.status;
      case VIRTIO_MMIO_CONFIG_GENERATION: return modern ? this.configGeneration : 0;
      case VIRTIO_MMIO_SHM_LEN_LOW:
      case VIRTIO_MMIO_SHM_LEN_HIGH:
      case VIRTIO_MMIO_SHM_BASE_LOW:
      case VIRTIO_MMIO_SHM_BASE_HIGH:
        // §4.2.2: a non-existent shared memory region has length (and base) -1.
        return modern ? 0xffffffff : 0;
      case VIRTIO_MMIO_QUEUE_RESET: return modern && q ? (this.queueResetDone[this.queueSel] ? 1 : 0) : 0;
      default:
        // Write-only registers and holes read 0.
        return 0;
    }
  }

  write(offset: number, size: AccessSize, value: number): void {
    try {
      this.writeInner(offset, size, value >>> 0);
    } catch (e) {
      // Last line of defence: nothing a guest does may throw out of a device.
      this.needsReset(`internal error handling a write to 0x${offset.toString(16)}: ${(e as Error).message}`);
    }
  }

  private writeInner(offset: number, size: AccessSize, value: number): void {
    if (offset >= VIRTIO_MMIO_CONFIG) {
      this.writeConfig(offset - VIRTIO_MMIO_CONFIG, size, value);
      return;
    }
    if (size !== 4 || offset % 4 !== 0) {
      this.counters.badAccesses++;
      return;
    }
    if (!this.device) return;
    const modern = this.opts.modern;
    const sel = this.queueSel;
    const q = this.queues[sel];
    switch (offset) {
      case VIRTIO_MMIO_DEVICE_FEATURES_SEL: this.deviceFeaturesSel = value; return;
      case VIRTIO_MMIO_DRIVER_FEATURES: {
        // §3.1.1: features are written before FEATURES_OK and frozen after it.
        if (this.status & VIRTIO_STATUS_FEATURES_OK) return;
        const s = this.driverFeaturesSel;
        if (s > 1 || (!modern && s !== 0)) return;
        const shift = BigInt(32 * s);
        this.driverFeaturesValue = (this.driverFeaturesValue & ~(0xffffffffn << shift)) | (BigInt(value) << shift);
        return;
      }
      case VIRTIO_MMIO_DRIVER_FEATURES_SEL: this.driverFeaturesSel = value; return;
      case VIRTIO_MMIO_GUEST_PAGE_SIZE:
        if (!modern) this.guestPageSize = value;
        return;
      case VIRTIO_MMIO_QUEUE_SEL: this.queueSel = value; return;
      case VIRTIO_MMIO_QUEUE_NUM:
        if (q && !q.ready) q.s.size = value;
        return;
      case VIRTIO_MMIO_QUEUE_ALIGN:
        if (!modern && q) this.legacyQueues[sel]!.align = value;
        return;
      case VIRTIO_MMIO_QUEUE_PFN:
        if (!modern && q) this.legacyQueuePfn(sel, q, value);
        return;
      case VIRTIO_MMIO_QUEUE_READY:
        if (!modern || !q) return;
        if (value & 1) {
          if (q.ready) return;
          this.queueResetDone[sel] = false;
          this.applyRingFeatures(q);
          const err = q.activate();
          if (err) this.needsReset(`queue ${sel}: ${err.message}`);
        } else {
          q.s.ready = false;
        }
        return;
      case VIRTIO_MMIO_QUEUE_NOTIFY: {
        this.counters.notifies++;
        if (!this.live) return;
        // §4.2.2: without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
        const index = value & 0xffff;
        if (index < this.queues.length) this.device.queueNotify(index);
        return;
      }
      case VIRTIO_MMIO_INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        this.updateLine();
        return;
      case VIRTIO_MMIO_STATUS: this.writeStatus(value & 0xff); return;
      case VIRTIO_MMIO_QUEUE_DESC_LOW: this.setQueueAddr(q, 'descAddr', value, false); return;
      case VIRTIO_MMIO_QUEUE_DESC_HIGH: this.setQueueAddr(q, 'descAddr', value, true); return;
      case VIRTIO_MMIO_QUEUE_DRIVER_LOW: this.setQueueAddr(q, 'availAddr', value, false); return;
      case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: this.setQueueAddr(q, 'availAddr', value, true); return;
      case VIRTIO_MMIO_QUEUE_DEVICE_LOW: this.setQueueAddr(q, 'usedAddr', value, false); return;
      case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: this.setQueueAddr(q, 'usedAddr', value, true); return;
      case VIRTIO_MMIO_SHM_SEL: this.shmSel = value; return;
      case VIRTIO_MMIO_QUEUE_RESET:
        // virtio 1.2 §2.6.1: only once VIRTIO_F_RING_RESET was negotiated.
        if (!modern || !q || !(value & 1) || !hasFeature(this.driverFeaturesValue, VIRTIO_F_RING_RESET)) return;
        q.reset();
        this.queueResetDone[sel] = true;
        this.device.queueReset?.(sel);
        return;
      default:
        // Read-only registers and holes: writes are ignored.
        return;
    }
  }

  private setQueueAddr(q: Virtqueue | undefined, field: 'descAddr' | 'availAddr' | 'usedAddr', value: number, high: boolean): void {
    if (!this.opts.modern || !q || q.ready) return;
    const cur = q.s[field];
    const lo = high ? cur % 0x1_0000_0000 : value;
    const hi = high ? value : Math.floor(cur / 0x1_0000_0000);
    // An address above 2^53 cannot be RAM; keep an impossible value so activate() refuses it.
    q.s[field] = u64ToNumber(lo, hi) ?? Number.MAX_SAFE_INTEGER;
  }

  private legacyQueuePfn(sel: number, q: Virtqueue, pfn: number): void {
    const regs = this.legacyQueues[sel]!;
    regs.pfn = pfn;
    if (pfn === 0) {
      // Legacy: writing 0 to QueuePFN resets the queue.
      q.reset();
      return;
    }
    const page = this.guestPageSize;
    const align = regs.align;
    if (page === 0 || (page & (page - 1)) !== 0 || align === 0 || (align & (align - 1)) !== 0) {
      this.needsReset(`queue ${sel}: guest page size ${page} / queue align ${align} not a power of two`);
      return;
    }
    const base = pfn * page;
    const layout = legacyRingLayout(base, q.s.size, align);
    q.s.descAddr = layout.desc;
    q.s.availAddr = layout.avail;
    q.s.usedAddr = layout.used;
    this.applyRingFeatures(q);
    const err = q.activate();
    if (err) this.needsReset(`queue ${sel}: ${err.message}`);
  }

  private applyRingFeatures(q: Virtqueue): void {
    const f = this.driverFeaturesValue;
    q.features = { indirect: hasFeature(f, VIRTIO_F_INDIRECT_DESC), eventIdx: hasFeature(f, VIRTIO_F_EVENT_IDX) };
  }

  private writeStatus(value: number): void {
    const device = this.device!;
    if (value === 0) {
      this.resetDevice();
      return;
    }
    const old = this.status;
    let next = value | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    const offered = device.deviceFeatures(this.opts.modern);
    if ((next & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
      // §3.1.1 step 5 lets a device refuse FEATURES_OK. QEMU's virtio-mmio
      // does not: it keeps the offered subset of what the driver wrote
      // (virtio_set_features_nocheck) and accepts a driver without
      // VERSION_1 on a version 2 transport, which then runs with legacy
      // device semantics (10-byte net header). TamaGo's driver relies on
      // that: its negotiation ends with no feature bits at all. We do the same.
      this.counters.featuresDropped += this.driverFeaturesValue & ~offered ? 1 : 0;
      this.driverFeaturesValue &= offered;
    }
    if (!this.opts.modern) {
      // A legacy driver has no FEATURES_OK step: keep only what was offered.
      this.driverFeaturesValue &= offered & 0xffffffffn;
    }
    this.status = next;
    if ((next & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && !(next & VIRTIO_STATUS_FAILED)) {
      if (this.opts.modern && !(next & VIRTIO_STATUS_FEATURES_OK)) {
        this.needsReset('DRIVER_OK without FEATURES_OK');
        return;
      }
      for (const q of this.queues) this.applyRingFeatures(q);
      if (!this.broken) device.activate();
    }
  }

  /** Device reset (§2.4): status 0, queues and interrupts cleared. Also the machine reset. */
  resetDevice(): void {
    this.device?.reset();
    this.status = 0;
    this.broken = false;
    this.driverFeaturesValue = 0n;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.queueSel = 0;
    this.guestPageSize = 4096;
    this.shmSel = 0;
    for (const q of this.queues) q.reset();
    this.legacyQueues = this.legacyQueues.map(() => ({ align: 4096, pfn: 0 }));
    this.queueResetDone = this.queueResetDone.map(() => false);
    this.interruptStatus = 0;
    this.updateLine();
  }

  /** Plain JSON state for snapshots (the device's own state is saved by the device). */
  saveState(): VirtioMmioState {
    return {
      version: 1,
      status: this.status, deviceFeaturesSel: this.deviceFeaturesSel, driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: this.driverFeaturesValue.toString(16), queueSel: this.queueSel, guestPageSize: this.guestPageSize,
      interruptStatus: this.interruptStatus, configGeneration: this.configGeneration, shmSel: this.shmSel, broken: this.broken,
      queues: this.queues.map((q, i) => ({ ...q.s, align: this.legacyQueues[i]!.align, pfn: this.legacyQueues[i]!.pfn, resetDone: this.queueResetDone[i]! })),
    };
  }

  /**
   * Restore from untrusted JSON: every field is checked and every ready
   * queue re-validated against guest RAM; returns false (state unchanged)
   * on any error. Re-raises the interrupt line from InterruptStatus.
   */
  restoreState(x: unknown): boolean {
    const st = parseMmioState(x, this.queues.length);
    if (!st) return false;
    const queues = this.queues.map((q) => new Virtqueue(this.mem, q.maxSize));
    for (const [i, qs] of st.queues.entries()) {
      const q = queues[i]!;
      const { align: _a, pfn: _p, resetDone: _r, ...vq } = qs;
      q.s = { ...vq, ready: false };
      if (qs.ready) {
        q.features = { indirect: hasFeature(st.driverFeatures, VIRTIO_F_INDIRECT_DESC), eventIdx: hasFeature(st.driverFeatures, VIRTIO_F_EVENT_IDX) };
        if (q.activate()) return false;
      }
    }
    this.queues.splice(0, this.queues.length, ...queues);
    this.legacyQueues = st.queues.map((q) => ({ align: q.align, pfn: q.pfn }));
    this.queueResetDone = st.queues.map((q) => q.resetDone);
    this.status = st.status;
    this.deviceFeaturesSel = st.deviceFeaturesSel;
    this.driverFeaturesSel = st.driverFeaturesSel;
    this.driverFeaturesValue = st.driverFeatures;
    this.queueSel = st.queueSel;
    this.guestPageSize = st.guestPageSize;
    this.interruptStatus = st.interruptStatus;
    this.configGeneration = st.configGeneration;
    this.shmSel = st.shmSel;
    this.broken = st.broken;
    this.lineLevel = !(this.interruptStatus !== 0);
    this.updateLine();
    return true;
  }

  private readConfig(offset: number, size: AccessSize): number {
    const dev = this.device;
    const ones = size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    if (!dev || size === 8 || offset + size > dev.configSize) return ones;
    return dev.readConfig(offset, size);
  }

  private writeConfig(offset: number, size: AccessSize, value: number): void {
    const dev = this.device;
    if (!dev || size === 8 || offset + size > dev.configSize) return;
    dev.writeConfig(offset, size, value);
  }

  private raise(bits: number): void {
    this.counters.interrupts++;
    this.interruptStatus |= bits;
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.interruptStatus !== 0;
    if (level !== this.lineLevel) {
      this.lineLevel = level;
      this.irq.set(level);
    }
  }
}

export interface VirtioMmioQueueState extends VirtqueueState { align: number; pfn: number; resetDone: boolean }

export interface VirtioMmioState {
  version: 1;
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  /** Hex string (a u64). */
  driverFeatures: string;
  queueSel: number;
  guestPageSize: number;
  interruptStatus: number;
  configGeneration: number;
  shmSel: number;
  broken: boolean;
  queues: VirtioMmioQueueState[];
}

function parseMmioState(x: unknown, nQueues: number): (Omit<VirtioMmioState, 'driverFeatures'> & { driverFeatures: bigint }) | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const o = x as Record<string, unknown>;
  const u32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  const u16 = (v: unknown): v is number => u32(v) && v <= 0xffff;
  const addr = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (o.version !== 1 || typeof o.broken !== 'boolean' || typeof o.driverFeatures !== 'string' || !/^[0-9a-f]{1,16}$/.test(o.driverFeatures)) return undefined;
  for (const k of ['status', 'deviceFeaturesSel', 'driverFeaturesSel', 'queueSel', 'guestPageSize', 'interruptStatus', 'configGeneration', 'shmSel']) {
    if (!u32(o[k])) return undefined;
  }
  if (!Array.isArray(o.queues) || o.queues.length !== nQueues) return undefined;
  const queues: VirtioMmioQueueState[] = [];
  for (const q of o.queues as unknown[]) {
    if (typeof q !== 'object' || q === null) return undefined;
    const r = q as Record<string, unknown>;
    if (r.version !== 1 || !u16(r.size) || r.size > VIRTQ_MAX_SIZE || typeof r.ready !== 'boolean' || typeof r.signalledUsedValid !== 'boolean' || typeof r.resetDone !== 'boolean') return undefined;
    if (!addr(r.descAddr) || !addr(r.availAddr) || !addr(r.usedAddr) || !u16(r.lastAvailIdx) || !u16(r.usedIdx) || !u16(r.signalledUsed) || !u32(r.align) || !u32(r.pfn)) return undefined;
    queues.push({
      version: 1, size: r.size, ready: r.ready, descAddr: r.descAddr, availAddr: r.availAddr, usedAddr: r.usedAddr,
      lastAvailIdx: r.lastAvailIdx, usedIdx: r.usedIdx, signalledUsed: r.signalledUsed, signalledUsedValid: r.signalledUsedValid,
      align: r.align, pfn: r.pfn, resetDone: r.resetDone,
    });
  }
  return {
    version: 1, status: (o.status as number) & 0xff, deviceFeaturesSel: o.deviceFeaturesSel as number, driverFeaturesSel: o.driverFeaturesSel as number,
    driverFeatures: BigInt(`0x${o.driverFeatures}`), queueSel: o.queueSel as number, guestPageSize: o.guestPageSize as number,
    interruptStatus: (o.interruptStatus as number) & 3, configGeneration: o.configGeneration as number, shmSel: o.shmSel as number,
    broken: o.broken, queues,
  };
}

/** Features every transport offers on top of the device's (ring layout features). */
export function transportFeatures(modern: boolean): bigint {
  let f = bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_F_EVENT_IDX);
  if (modern) f |= bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_RING_RESET);
  return f;
}
