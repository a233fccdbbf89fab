/**
 * Local APIC (one per vCPU) for the JIT accelerator: xAPIC MMIO and x2APIC
 * MSRs, interrupt acceptance and priority, EOI, the timer (one-shot, periodic,
 * TSC-deadline) and IPIs. Under KVM the in-kernel LAPIC is used instead.
 *
 * Spec: Intel SDM vol. 3A chapter 11 (APIC; "chapter 10" in older editions),
 * with KVM's behaviour (arch/x86/kvm/lapic.c facts) where the SDM leaves room.
 *
 * Time: the LAPIC is polled, not event driven. The run loop calls
 * `tick(nowNs)` at its interrupt checks; `nextDeadlineNs()` tells HLT how long
 * it may sleep. Register reads that depend on time (current count) read the
 * injected clock. Nothing fires between calls to `tick`.
 *
 * Routing: the MMIO page at 0xfee00000 is per vCPU, so the JIT dispatches
 * accesses there to the current vCPU's Lapic (`read`/`write` below) instead of
 * the shared MMIO bus. Relocating the APIC base is not supported: writes to
 * IA32_APIC_BASE keep the base at 0xfee00000 (counted in `relocationAttempts`).
 * While the APIC is globally disabled or in x2APIC mode, MMIO reads return 0
 * and writes are ignored.
 */
import type { InterruptMessage } from './irq.js';
import type { MsrReadResult, MsrWriteResult } from '../cpu/msr.js';

// Register offsets in the xAPIC page (SDM Table 11-1)
export const APIC_ID = 0x20;
export const APIC_VER = 0x30;
export const APIC_TPR = 0x80;
export const APIC_APR = 0x90;
export const APIC_PPR = 0xa0;
export const APIC_EOI = 0xb0;
export const APIC_RRD = 0xc0;
export const APIC_LDR = 0xd0;
export const APIC_DFR = 0xe0;
export const APIC_SVR = 0xf0;
export const APIC_ISR = 0x100;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_LVT_CMCI = 0x2f0;
export const APIC_ICR_LOW = 0x300;
export const APIC_ICR_HIGH = 0x310;
export const APIC_LVT_TIMER = 0x320;
export const APIC_LVT_THERMAL = 0x330;
export const APIC_LVT_PERF = 0x340;
export const APIC_LVT_LINT0 = 0x350;
export const APIC_LVT_LINT1 = 0x360;
export const APIC_LVT_ERROR = 0x370;
export const APIC_TIMER_ICR = 0x380;
export const APIC_TIMER_CCR = 0x390;
export const APIC_TIMER_DCR = 0x3e0;
export const APIC_SELF_IPI = 0x3f0; // x2APIC only

export const MSR_IA32_APIC_BASE = 0x1b;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
export const MSR_X2APIC_BASE = 0x800;
export const MSR_X2APIC_ICR = 0x830;
export const MSR_X2APIC_SELF_IPI = 0x83f;

export const APIC_DEFAULT_BASE = 0xfee00000n;
export const APIC_BASE_BSP = 1n << 8n;
export const APIC_BASE_EXTD = 1n << 10n;
export const APIC_BASE_EN = 1n << 11n;

/** Version 0x14 (integrated APIC, as KVM/QEMU), Max LVT Entry 5 (6 LVTs; no CMCI: MCG_CAP reports no banks). */
export const APIC_VERSION_VALUE = 0x00050014;

export const SVR_APIC_ENABLED = 1 << 8;
export const LVT_MASKED = 1 << 16;
export const LVT_TRIGGER_LEVEL = 1 << 15;
export const LVT_REMOTE_IRR = 1 << 14;
export const LVT_DELIVERY_MODE_SHIFT = 8;
export const LVT_TIMER_MODE_SHIFT = 17;
export const TIMER_MODE_ONESHOT = 0;
export const TIMER_MODE_PERIODIC = 1;
export const TIMER_MODE_TSC_DEADLINE = 2;

// ICR (SDM Figure 11-12)
export const ICR_DEST_LOGICAL = 1 << 11;
export const ICR_DELIVERY_STATUS = 1 << 12;
export const ICR_LEVEL_ASSERT = 1 << 14;
export const ICR_TRIGGER_LEVEL = 1 << 15;
export const ICR_SHORTHAND_SHIFT = 18;

export const DM_FIXED = 0;
export const DM_LOWEST = 1;
export const DM_SMI = 2;
export const DM_NMI = 4;
export const DM_INIT = 5;
export const DM_STARTUP = 6;
export const DM_EXTINT = 7;

export const SHORTHAND_NONE = 0;
export const SHORTHAND_SELF = 1;
export const SHORTHAND_ALL_INCLUDING_SELF = 2;
export const SHORTHAND_ALL_EXCLUDING_SELF = 3;

// ESR bits (SDM Figure 11-9)
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
export const ESR_ILLEGAL_REGISTER = 1 << 7;

/** LVT index order used in `lvt[]`. */
const LVT_OFFSETS = [APIC_LVT_CMCI, APIC_LVT_TIMER, APIC_LVT_THERMAL, APIC_LVT_PERF, APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_LVT_ERROR] as const;
const LVT_TIMER = 1, LVT_ERROR = 6;

// Writable bits per LVT (KVM apic_lvt_mask; delivery status and remote IRR are read-only).
const LVT_VECTOR_MASK = 0xff;
const LVT_MODE_MASK = 0x700;
const LVT_WRITE_MASK = [
  LVT_MASKED | LVT_MODE_MASK | LVT_VECTOR_MASK,          // CMCI
  LVT_MASKED | LVT_VECTOR_MASK,                          // timer (+ mode bits, added when supported)
  LVT_MASKED | LVT_MODE_MASK | LVT_VECTOR_MASK,          // thermal
  LVT_MASKED | LVT_MODE_MASK | LVT_VECTOR_MASK,          // perf
  LVT_MASKED | LVT_MODE_MASK | LVT_VECTOR_MASK | (1 << 13) | LVT_TRIGGER_LEVEL, // LINT0
  LVT_MASKED | LVT_MODE_MASK | LVT_VECTOR_MASK | (1 << 13) | LVT_TRIGGER_LEVEL, // LINT1
  LVT_MASKED | LVT_VECTOR_MASK,                          // error
];

/** An IPI as the ICR describes it (what `IpiBus.send` receives). */
export interface IpiMessage {
  vector: number;
  /** DM_FIXED, DM_LOWEST, DM_SMI, DM_NMI, DM_INIT, DM_STARTUP */
  deliveryMode: number;
  logical: boolean;
  /** ICR bit 14 (level: 1 assert, 0 de-assert; only INIT de-assert uses 0). */
  level: boolean;
  triggerLevel: boolean;
  shorthand: number;
  /** 8-bit xAPIC destination or 32-bit x2APIC destination (see `x2apic`). */
  destination: number;
  /** Destination format: true when sent from an x2APIC-mode LAPIC. */
  x2apic: boolean;
}

/** Implemented by the accelerator: routes an IPI to the target vCPUs' LAPICs (see `deliverIpi`). */
export interface IpiBus {
  send(from: number, msg: IpiMessage): void;
}

export interface LapicOptions {
  /** vCPU index; also the initial APIC ID (xAPIC ID and x2APIC ID). */
  cpu: number;
  /** Bootstrap processor (IA32_APIC_BASE[8]). */
  bsp: boolean;
  clock: { nowNs(): bigint };
  /** The vCPU's TSC (TSC-deadline mode); `TscClock` from src/cpu/pvclock.ts. */
  tsc: { tscAt(nowNs: bigint): bigint; nsAtTsc(tsc: bigint): bigint };
  ipiBus: IpiBus;
  /** A level-triggered vector was EOI'd (IOAPIC remote-IRR; AcceleratorHost.onEoi). */
  onEoi?: (vector: number) => void;
  /** Something became pending (interrupt, NMI, INIT, SIPI): wake a halted vCPU. */
  onWake?: () => void;
  /** CPUID x2apic reported (EXTD may be set). Default true. */
  x2apic?: boolean;
  /** CPUID tsc-deadline reported (timer mode 2). Default true. */
  tscDeadline?: boolean;
  /** APIC timer input clock in Hz; default 1 GHz (CPUID 0x40000010 EBX = 1000000 kHz). */
  busHz?: number;
  /** MAXPHYADDR, for reserved bits of IA32_APIC_BASE. Default 40. */
  physAddrBits?: number;
}

/** Plain serialisable state. */
export interface LapicState {
  version: 1;
  apicBase: string;
  id: number; tpr: number; ldr: number; dfr: number; svr: number;
  esr: number; esrPending: number; icrLow: number; icrHigh: number;
  lvt: number[]; timerInitial: number; timerDivide: number;
  irr: number[]; isr: number[]; tmr: number[];
  timerStartNs: string | null; timerDeadlineNs: string | null; tscDeadline: string;
  nmiPending: boolean; initPending: boolean; sipiVector: number | null;
}

const GP: { ok: false } = { ok: false };
const OK: MsrWriteResult = { ok: true };

/** Highest set bit index in a 256-bit vector stored as 8 u32, or -1. */
function highestBit(v: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = v[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}
const testBit = (v: Uint32Array, n: number): boolean => ((v[n >>> 5]! >>> (n & 31)) & 1) === 1;
const setBit = (v: Uint32Array, n: number): void => { v[n >>> 5] = (v[n >>> 5]! | (1 << (n & 31))) >>> 0; };
const clearBit = (v: Uint32Array, n: number): void => { v[n >>> 5] = (v[n >>> 5]! & ~(1 << (n & 31))) >>> 0; };

/** Divide Configuration Register -> divisor (SDM Figure 11-10): bits 3,1:0. */
export function timerDivisor(dcr: number): number {
  const code = ((dcr >>> 1) & 0x4) | (dcr & 0x3);
  return code === 7 ? 1 : 2 << code;
}

export class Lapic {
  readonly cpu: number;
  apicBase: bigint;
  /** xAPIC ID register value (ID in bits 31:24); x2APIC ID is always `cpu`. */
  private id: number;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt: number[] = LVT_OFFSETS.map(() => LVT_MASKED);
  private timerInitial = 0;
  private timerDivide = 0;
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  private timerStartNs: bigint | undefined;
  private timerDeadlineNs: bigint | undefined;
  private tscDeadline = 0n;
  /** An NMI is waiting to be taken (`takeNmi`). */
  nmiPending = false;
  /** An INIT arrived (`takeInit`): the accelerator resets the vCPU to wait-for-SIPI and calls `initReset`. */
  initPending = false;
  /** The last SIPI vector (`takeSipi`): the vCPU starts at CS = vector << 8, IP = 0. */
  sipiVector: number | undefined;
  /** Diagnostics. */
  relocationAttempts = 0;
  droppedInterrupts = 0;
  private readonly busHz: bigint;
  private readonly physAddrBits: number;
  private readonly x2apicSupported: boolean;
  private readonly tscDeadlineSupported: boolean;

  constructor(private readonly opts: LapicOptions) {
    if (!Number.isInteger(opts.cpu) || opts.cpu < 0 || opts.cpu > 254) throw new RangeError(`LAPIC cpu index ${opts.cpu} out of range`);
    this.cpu = opts.cpu;
    this.busHz = BigInt(opts.busHz ?? 1_000_000_000);
    this.physAddrBits = opts.physAddrBits ?? 40;
    this.x2apicSupported = opts.x2apic ?? true;
    this.tscDeadlineSupported = opts.tscDeadline ?? true;
    this.id = (opts.cpu << 24) >>> 0;
    this.apicBase = APIC_DEFAULT_BASE | APIC_BASE_EN | (opts.bsp ? APIC_BASE_BSP : 0n);
  }

  // ---- state queries ----------------------------------------------------

  /** IA32_APIC_BASE[11]: globally enabled. */
  get hardwareEnabled(): boolean { return (this.apicBase & APIC_BASE_EN) !== 0n; }
  get x2apicMode(): boolean { return (this.apicBase & APIC_BASE_EXTD) !== 0n && this.hardwareEnabled; }
  /** SVR[8]: software enabled. */
  get softwareEnabled(): boolean { return (this.svr & SVR_APIC_ENABLED) !== 0; }
  private get enabled(): boolean { return this.hardwareEnabled && this.softwareEnabled; }

  /** The APIC ID used for physical destinations (8-bit in xAPIC mode, 32-bit in x2APIC mode). */
  get apicId(): number { return this.x2apicMode ? this.cpu : this.id >>> 24; }

  /** Logical destination register as currently defined (x2APIC: derived, SDM 11.12.10.2). */
  get logicalId(): number {
    if (this.x2apicMode) return (((this.cpu >>> 4) << 16) | (1 << (this.cpu & 0xf))) >>> 0;
    return this.ldr >>> 0;
  }

  get taskPriority(): number { return this.tpr; }

  /** PPR (SDM 11.8.3.1): TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4. */
  get processorPriority(): number {
    const isrv = Math.max(highestBit(this.isr), 0);
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr & 0xff : isrv & 0xf0;
  }

  /** MOV from CR8: TPR[7:4] (SDM 11.8.6). */
  getCr8(): number { return (this.tpr >>> 4) & 0xf; }
  /** MOV to CR8: TPR = value[3:0] << 4. */
  setCr8(value: number): void { this.tpr = (value & 0xf) << 4; }

  // ---- interrupt acceptance and the CPU's interrupt window ----------------

  /**
   * The highest pending vector the CPU may take now (IRR class above PPR),
   * or -1. The CPU additionally checks RFLAGS.IF and the interrupt shadow.
   */
  getPendingVector(): number {
    if (!this.enabled) return -1;
    const v = highestBit(this.irr);
    if (v < 0) return -1;
    return (v & 0xf0) > (this.processorPriority & 0xf0) ? v : -1;
  }

  /**
   * INTA: move the highest deliverable vector from IRR to ISR and return it.
   * With nothing deliverable (it was masked by a TPR raise in between), the
   * spurious vector from SVR is returned and nothing changes (SDM 11.9).
   */
  acknowledge(): number {
    const v = this.getPendingVector();
    if (v < 0) return this.svr & 0xff;
    clearBit(this.irr, v);
    setBit(this.isr, v);
    return v;
  }

  /** Take a pending NMI (the CPU delivers vector 2 when NMIs are not blocked). */
  takeNmi(): boolean { const p = this.nmiPending; this.nmiPending = false; return p; }
  takeInit(): boolean { const p = this.initPending; this.initPending = false; return p; }
  takeSipi(): number | undefined { const v = this.sipiVector; this.sipiVector = undefined; return v; }

  /** Anything that should wake a halted vCPU (a deliverable interrupt, NMI, INIT or SIPI). */
  hasWakeEvent(): boolean {
    return this.getPendingVector() >= 0 || this.nmiPending || this.initPending || this.sipiVector !== undefined;
  }

  /** Accept a fixed interrupt into IRR (SDM 11.8.3): dropped when the APIC is disabled; vectors 0-15 are illegal. */
  acceptInterrupt(vector: number, triggerLevel: boolean): void {
    vector &= 0xff;
    if (!this.enabled) { this.droppedInterrupts++; return; }
    if (vector < 16) { this.signalError(ESR_RECEIVE_ILLEGAL_VECTOR); return; }
    setBit(this.irr, vector);
    if (triggerLevel) setBit(this.tmr, vector); else clearBit(this.tmr, vector);
    this.opts.onWake?.();
  }

  raiseNmi(): void {
    if (!this.hardwareEnabled) return;
    this.nmiPending = true;
    this.opts.onWake?.();
  }

  raiseInit(): void {
    if (!this.hardwareEnabled) return;
    this.initPending = true;
    this.opts.onWake?.();
  }

  raiseSipi(vector: number): void {
    if (!this.hardwareEnabled) return;
    this.sipiVector = vector & 0xff;
    this.opts.onWake?.();
  }

  /** A message from an IOAPIC or MSI already routed to this LAPIC (see `deliverInterruptMessage`). */
  acceptMessage(msg: Pick<InterruptMessage, 'vector' | 'deliveryMode' | 'triggerLevel' | 'level'>): void {
    switch (msg.deliveryMode) {
      case DM_FIXED:
      case DM_LOWEST:
        this.acceptInterrupt(msg.vector, msg.triggerLevel);
        return;
      case DM_NMI:
        this.raiseNmi();
        return;
      case DM_INIT:
        // INIT level de-assert (level 0, trigger level) is a no-op on xAPIC-era CPUs (SDM 11.6.1).
        if (msg.triggerLevel && !msg.level) return;
        this.raiseInit();
        return;
      case DM_STARTUP:
        this.raiseSipi(msg.vector);
        return;
      default:
        // SMI and ExtINT: no SMM and no 8259 on microvm.
        this.droppedInterrupts++;
        return;
    }
  }

  /** EOI (SDM 11.8.5): retire the highest ISR vector; broadcast it for level-triggered interrupts. */
  eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    clearBit(this.isr, v);
    if (testBit(this.tmr, v)) {
      clearBit(this.tmr, v);
      this.opts.onEoi?.(v);
    }
  }

  /** Destination match (SDM 11.6.2.1-2, 11.12.9-10). `x2apicFormat`: the message carries a 32-bit destination. */
  matchesDestination(destination: number, logical: boolean, x2apicFormat: boolean): boolean {
    if (!this.hardwareEnabled) return false;
    const broadcast = x2apicFormat && this.x2apicMode ? 0xffffffff : 0xff;
    destination = x2apicFormat ? destination >>> 0 : destination & 0xff;
    if (destination === broadcast) return true;
    if (!logical) return destination === this.apicId;
    if (this.x2apicMode) {
      const ldr = this.logicalId;
      if (!x2apicFormat) return false;
      return (destination >>> 16) === (ldr >>> 16) && (destination & ldr & 0xffff) !== 0;
    }
    const ldr = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (ldr & destination) !== 0; // flat model
    // cluster model: [7:4] cluster id must match, [3:0] a bitmap
    return (destination >>> 4) === (ldr >>> 4) && (destination & ldr & 0xf) !== 0;
  }

  // ---- timer ---------------------------------------------------------------

  private get timerMode(): number {
    const m = (this.lvt[LVT_TIMER]! >>> LVT_TIMER_MODE_SHIFT) & 3;
    return m;
  }

  /** Next host time at which `tick` has something to do, or undefined. */
  nextDeadlineNs(): bigint | undefined {
    return this.timerDeadlineNs;
  }

  /** Fire the timer if its deadline has passed. Call at interrupt checks and after HLT sleeps. */
  tick(nowNs: bigint): void {
    const d = this.timerDeadlineNs;
    if (d === undefined || nowNs < d) return;
    const mode = this.timerMode;
    if (mode === TIMER_MODE_PERIODIC && this.timerInitial !== 0) {
      const period = this.periodNs(this.timerInitial);
      // Missed periods are coalesced into one interrupt (as an IRR bit would).
      const k = (nowNs - d) / period + 1n;
      this.timerDeadlineNs = d + k * period;
      this.timerStartNs = this.timerDeadlineNs - period;
    } else {
      this.timerDeadlineNs = undefined;
      if (mode === TIMER_MODE_TSC_DEADLINE) this.tscDeadline = 0n; // SDM 11.5.4.1: the MSR reads 0 after it fires
    }
    this.fireLvt(LVT_TIMER);
  }

  private periodNs(count: number): bigint {
    return (BigInt(count) * BigInt(timerDivisor(this.timerDivide)) * 1_000_000_000n) / this.busHz;
  }

  private startCounter(count: number, nowNs: bigint): void {
    this.timerInitial = count >>> 0;
    if (this.timerInitial === 0) { this.timerDeadlineNs = undefined; this.timerStartNs = undefined; return; }
    this.timerStartNs = nowNs;
    this.timerDeadlineNs = nowNs + this.periodNs(this.timerInitial);
  }

  /** Current Count (SDM 11.5.4): counts down at bus/divisor; 0 when stopped or in TSC-deadline mode. */
  private currentCount(nowNs: bigint): number {
    if (this.timerMode === TIMER_MODE_TSC_DEADLINE || this.timerStartNs === undefined || this.timerInitial === 0) return 0;
    const tickNs = (BigInt(timerDivisor(this.timerDivide)) * 1_000_000_000n) / this.busHz;
    const elapsed = nowNs > this.timerStartNs ? (tickNs > 0n ? (nowNs - this.timerStartNs) / tickNs : 0n) : 0n;
    const init = BigInt(this.timerInitial);
    if (this.timerMode === TIMER_MODE_PERIODIC) return Number(init - (elapsed % init));
    if (this.timerDeadlineNs === undefined || elapsed >= init) return 0;
    return Number(init - elapsed);
  }

  private writeTscDeadline(value: bigint): void {
    if (this.timerMode !== TIMER_MODE_TSC_DEADLINE) return; // SDM 11.5.4.1: ignored in other modes
    this.tscDeadline = BigInt.asUintN(64, value);
    this.timerDeadlineNs = this.tscDeadline === 0n ? undefined : this.opts.tsc.nsAtTsc(this.tscDeadline);
  }

  /**
   * The vCPU's TSC was written (IA32_TSC): an armed TSC-deadline keeps its TSC
   * value, so its host-time deadline moves (SDM 11.5.4.1 compares against the TSC).
   */
  retimeTscDeadline(): void {
    if (this.timerMode !== TIMER_MODE_TSC_DEADLINE || this.tscDeadline === 0n || this.timerDeadlineNs === undefined) return;
    this.timerDeadlineNs = this.opts.tsc.nsAtTsc(this.tscDeadline);
  }

  private fireLvt(index: number): void {
    const lvt = this.lvt[index]!;
    if (lvt & LVT_MASKED || !this.enabled) return;
    const mode = (lvt >>> LVT_DELIVERY_MODE_SHIFT) & 7;
    if (index === LVT_TIMER || index === LVT_ERROR || mode === DM_FIXED) {
      this.acceptInterrupt(lvt & 0xff, index >= 4 && (lvt & LVT_TRIGGER_LEVEL) !== 0);
    } else if (mode === DM_NMI) {
      this.raiseNmi();
    }
  }

  /** LINT0/LINT1 pin input (no 8259 on microvm; LINT1 is normally NMI). Edge on assert. */
  setLint(pin: 0 | 1, level: boolean): void {
    if (level) this.fireLvt(4 + pin);
  }

  private signalError(bit: number): void {
    this.esrPending |= bit;
    if ((this.lvt[LVT_ERROR]! & LVT_MASKED) === 0 && this.enabled) {
      const v = this.lvt[LVT_ERROR]! & 0xff;
      if (v >= 16) {
        setBit(this.irr, v);
        clearBit(this.tmr, v);
        this.opts.onWake?.();
      }
    }
  }

  // ---- IPIs ----------------------------------------------------------------

  private sendIpi(low: number, dest: number, x2apic: boolean): void {
    const msg: IpiMessage = {
      vector: low & 0xff,
      deliveryMode: (low >>> 8) & 7,
      logical: (low & ICR_DEST_LOGICAL) !== 0,
      level: (low & ICR_LEVEL_ASSERT) !== 0,
      triggerLevel: (low & ICR_TRIGGER_LEVEL) !== 0,
      shorthand: (low >>> ICR_SHORTHAND_SHIFT) & 3,
      destination: dest >>> 0,
      x2apic,
    };
    if ((msg.deliveryMode === DM_FIXED || msg.deliveryMode === DM_LOWEST) && msg.vector < 16) {
      this.signalError(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    if (msg.shorthand === SHORTHAND_SELF) {
      // Self IPIs never leave the APIC (fixed only is architecturally meaningful).
      if (msg.deliveryMode === DM_FIXED) this.acceptInterrupt(msg.vector, msg.triggerLevel);
      else this.acceptMessage(msg);
      return;
    }
    this.opts.ipiBus.send(this.cpu, msg);
  }

  // ---- xAPIC MMIO ----------------------------------------------------------

  /** xAPIC MMIO read at `offset` in the 4 KiB page (any size; registers are 32-bit at 16-byte strides). */
  read(offset: number, size: 1 | 2 | 4 | 8): number {
    if (!this.hardwareEnabled || this.x2apicMode) return 0;
    const reg = offset & 0xff0;
    const within = offset & 0xf;
    if (within + size > 4) return 0;
    const v = this.readRegister(reg);
    if (v === undefined) { this.signalError(ESR_ILLEGAL_REGISTER); return 0; }
    const shifted = v >>> (within * 8);
    return size >= 4 ? shifted >>> 0 : shifted & ((1 << (size * 8)) - 1);
  }

  /** xAPIC MMIO write: only aligned 32-bit writes act (others are ignored, as KVM does). */
  write(offset: number, size: 1 | 2 | 4 | 8, value: number): void {
    if (!this.hardwareEnabled || this.x2apicMode) return;
    if (size !== 4 || (offset & 0xf) !== 0) return;
    if (!this.writeRegister(offset & 0xff0, value >>> 0, false)) this.signalError(ESR_ILLEGAL_REGISTER);
  }

  /** Register value by xAPIC offset, or undefined when the offset is reserved. */
  private readRegister(reg: number): number | undefined {
    const now = (): bigint => this.opts.clock.nowNs();
    if (reg >= APIC_ISR && reg < APIC_ISR + 0x80) return this.isr[(reg - APIC_ISR) >> 4]!;
    if (reg >= APIC_TMR && reg < APIC_TMR + 0x80) return this.tmr[(reg - APIC_TMR) >> 4]!;
    if (reg >= APIC_IRR && reg < APIC_IRR + 0x80) return this.irr[(reg - APIC_IRR) >> 4]!;
    const lvtIndex = (LVT_OFFSETS as readonly number[]).indexOf(reg);
    if (lvtIndex >= 0) return this.lvt[lvtIndex]!;
    switch (reg) {
      case APIC_ID: return this.x2apicMode ? this.cpu : this.id;
      case APIC_VER: return APIC_VERSION_VALUE;
      case APIC_TPR: return this.tpr;
      case APIC_APR: return 0; // KVM returns 0 (APR is a P6-era register)
      case APIC_PPR: return this.processorPriority;
      case APIC_EOI: return 0;
      case APIC_RRD: return 0;
      case APIC_LDR: return this.logicalId;
      case APIC_DFR: return this.dfr;
      case APIC_SVR: return this.svr;
      case APIC_ESR: return this.esr;
      case APIC_ICR_LOW: return this.icrLow & ~ICR_DELIVERY_STATUS; // delivery is instantaneous: always idle
      case APIC_ICR_HIGH: return this.icrHigh;
      case APIC_TIMER_ICR: return this.timerMode === TIMER_MODE_TSC_DEADLINE ? 0 : this.timerInitial;
      case APIC_TIMER_CCR: return this.currentCount(now());
      case APIC_TIMER_DCR: return this.timerDivide;
      default: return undefined;
    }
  }

  /** Write a register by xAPIC offset. Returns false for read-only/reserved registers. */
  private writeRegister(reg: number, value: number, x2apic: boolean): boolean {
    const lvtIndex = (LVT_OFFSETS as readonly number[]).indexOf(reg);
    if (lvtIndex >= 0) { this.writeLvt(lvtIndex, value); return true; }
    switch (reg) {
      case APIC_ID:
        if (x2apic) return false;
        this.id = value & 0xff000000;
        return true;
      case APIC_TPR: this.tpr = value & 0xff; return true;
      case APIC_EOI: this.eoi(); return true;
      case APIC_LDR:
        if (x2apic) return false;
        this.ldr = value & 0xff000000;
        return true;
      case APIC_DFR:
        if (x2apic) return false;
        this.dfr = (value | 0x0fffffff) >>> 0;
        return true;
      case APIC_SVR: this.writeSvr(value); return true;
      case APIC_ESR:
        // A write latches the errors since the last write (SDM 11.5.3).
        this.esr = this.esrPending;
        this.esrPending = 0;
        return true;
      case APIC_ICR_LOW:
        this.icrLow = value & ~ICR_DELIVERY_STATUS;
        this.sendIpi(this.icrLow, this.icrHigh >>> 24, false);
        return true;
      case APIC_ICR_HIGH:
        if (x2apic) return false;
        this.icrHigh = value & 0xff000000;
        return true;
      case APIC_TIMER_ICR:
        if (this.timerMode === TIMER_MODE_TSC_DEADLINE) return true; // ignored in TSC-deadline mode
        this.startCounter(value, this.opts.clock.nowNs());
        return true;
      case APIC_TIMER_DCR: {
        const now = this.opts.clock.nowNs();
        const running = this.timerDeadlineNs !== undefined && this.timerMode !== TIMER_MODE_TSC_DEADLINE;
        const remaining = running ? this.currentCount(now) : 0;
        this.timerDivide = value & 0xb;
        if (running && remaining > 0) {
          // Keep the remaining count, now counted at the new rate.
          this.timerDeadlineNs = now + this.periodNs(remaining);
          this.timerStartNs = this.timerDeadlineNs - this.periodNs(this.timerInitial);
        }
        return true;
      }
      case APIC_SELF_IPI:
        if (!x2apic) return false;
        this.acceptInterrupt(value & 0xff, false);
        return true;
      default:
        return false;
    }
  }

  private writeSvr(value: number): void {
    this.svr = value & 0x3ff;
    if (!this.softwareEnabled) {
      // SDM 11.4.7.2: software disable masks every LVT.
      for (let i = 0; i < this.lvt.length; i++) this.lvt[i] = (this.lvt[i]! | LVT_MASKED) >>> 0;
    }
  }

  private writeLvt(index: number, value: number): void {
    let mask = LVT_WRITE_MASK[index]!;
    if (index === LVT_TIMER) mask |= (this.tscDeadlineSupported ? 3 : 1) << LVT_TIMER_MODE_SHIFT;
    let v = (value & mask) >>> 0;
    if (!this.softwareEnabled) v = (v | LVT_MASKED) >>> 0;
    if (index === LVT_TIMER) {
      if (((v >>> LVT_TIMER_MODE_SHIFT) & 3) === 3) v &= ~(3 << LVT_TIMER_MODE_SHIFT); // mode 3 reserved
      const oldMode = this.timerMode;
      // Preserve read-only remote IRR on LINTs; timer has none.
      this.lvt[index] = v >>> 0;
      if (this.timerMode !== oldMode) {
        // Mode change disarms the timer and clears the counts (KVM; SDM 11.5.4.1).
        this.timerDeadlineNs = undefined;
        this.timerStartNs = undefined;
        this.timerInitial = 0;
        this.tscDeadline = 0n;
      }
      return;
    }
    if (index === 4 || index === 5) v |= this.lvt[index]! & LVT_REMOTE_IRR;
    this.lvt[index] = v >>> 0;
  }

  // ---- MSRs (IA32_APIC_BASE, TSC_DEADLINE, x2APIC 0x800-0x8ff) --------------

  readMsr(index: number): MsrReadResult {
    if (index === MSR_IA32_APIC_BASE) return { ok: true, value: this.apicBase };
    if (index === MSR_IA32_TSC_DEADLINE) {
      if (!this.tscDeadlineSupported) return GP;
      return { ok: true, value: this.timerMode === TIMER_MODE_TSC_DEADLINE ? this.tscDeadline : 0n };
    }
    if (index < MSR_X2APIC_BASE || index > 0x8ff || !this.x2apicMode) return GP;
    const reg = (index - MSR_X2APIC_BASE) << 4;
    switch (reg) {
      // Not readable in x2APIC mode (SDM Table 11-6): EOI, SELF IPI, APR, RRD, DFR, ICR high.
      case APIC_EOI: case APIC_SELF_IPI: case APIC_APR: case APIC_RRD: case APIC_DFR: case APIC_ICR_HIGH:
        return GP;
      case APIC_ICR_LOW:
        return { ok: true, value: (BigInt(this.icrHigh >>> 0) << 32n) | BigInt(this.icrLow >>> 0) };
      default: {
        const v = this.readRegister(reg);
        return v === undefined ? GP : { ok: true, value: BigInt(v >>> 0) };
      }
    }
  }

  writeMsr(index: number, value: bigint): MsrWriteResult {
    value = BigInt.asUintN(64, value);
    if (index === MSR_IA32_APIC_BASE) return this.writeApicBase(value);
    if (index === MSR_IA32_TSC_DEADLINE) {
      if (!this.tscDeadlineSupported) return GP;
      this.writeTscDeadline(value);
      return OK;
    }
    if (index < MSR_X2APIC_BASE || index > 0x8ff || !this.x2apicMode) return GP;
    const reg = (index - MSR_X2APIC_BASE) << 4;
    if (reg === APIC_ICR_LOW) {
      // x2APIC ICR: one 64-bit MSR; reserved bits 13, 17:16, 31:20 (KVM X2APIC_ICR_RESERVED_BITS).
      if (value & 0xfff32000n) return GP;
      this.icrLow = Number(value & 0xffffffffn);
      this.icrHigh = Number(value >> 32n);
      this.sendIpi(this.icrLow, this.icrHigh, true);
      return OK;
    }
    if (value >> 32n) return GP;
    const v = Number(value);
    switch (reg) {
      case APIC_EOI: case APIC_ESR:
        if (v !== 0) return GP; // SDM 11.12.1.2: non-zero writes to EOI/ESR #GP in x2APIC mode
        break;
      case APIC_SELF_IPI:
        if (v & ~0xff) return GP;
        break;
      case APIC_TPR:
        if (v & ~0xff) return GP;
        break;
      case APIC_ID: case APIC_VER: case APIC_PPR: case APIC_LDR: case APIC_TIMER_CCR:
      case APIC_APR: case APIC_RRD: case APIC_DFR: case APIC_ICR_HIGH:
        return GP;
      default:
        if ((reg >= APIC_ISR && reg < APIC_IRR + 0x80)) return GP;
    }
    return this.writeRegister(reg, v, true) ? OK : GP;
  }

  /**
   * IA32_APIC_BASE (SDM 11.4.4, 11.12.5): BSP is read-only; EN/EXTD follow the
   * x2APIC state machine (disabled -> xAPIC -> x2APIC -> disabled; x2APIC ->
   * xAPIC and EN=0/EXTD=1 #GP). The base stays at 0xfee00000.
   */
  private writeApicBase(value: bigint): MsrWriteResult {
    const reservedHigh = BigInt.asUintN(64, ~((1n << BigInt(this.physAddrBits)) - 1n));
    const baseBits = ((1n << BigInt(this.physAddrBits)) - 1n) & ~0xfffn;
    const validLow = APIC_BASE_BSP | APIC_BASE_EN | (this.x2apicSupported ? APIC_BASE_EXTD : 0n) | baseBits;
    if (value & reservedHigh || value & ~(validLow | reservedHigh)) return GP;
    const en = (value & APIC_BASE_EN) !== 0n;
    const extd = (value & APIC_BASE_EXTD) !== 0n;
    const curEn = this.hardwareEnabled;
    const curX2 = this.x2apicMode;
    if (!en && extd) return GP;                 // invalid state
    if (curX2 && en && !extd) return GP;        // x2APIC -> xAPIC
    if (!curEn && en && extd) return GP;        // disabled -> x2APIC
    if ((value & baseBits) !== APIC_DEFAULT_BASE) this.relocationAttempts++;
    const bsp = this.apicBase & APIC_BASE_BSP;
    this.apicBase = APIC_DEFAULT_BASE | bsp | (en ? APIC_BASE_EN : 0n) | (extd ? APIC_BASE_EXTD : 0n);
    if (curEn && !en) {
      // Global disable: the APIC returns to its power-up state when re-enabled (SDM 11.4.3).
      this.resetRegisters();
    }
    if (!curX2 && this.x2apicMode) {
      this.dfr = 0xffffffff; // no DFR in x2APIC mode; LDR is derived
    }
    return OK;
  }

  // ---- reset and state ------------------------------------------------------

  private resetRegisters(): void {
    this.id = (this.cpu << 24) >>> 0;
    this.tpr = 0; this.ldr = 0; this.dfr = 0xffffffff; this.svr = 0xff;
    this.esr = 0; this.esrPending = 0; this.icrLow = 0; this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    this.timerInitial = 0; this.timerDivide = 0;
    this.irr.fill(0); this.isr.fill(0); this.tmr.fill(0);
    this.timerStartNs = undefined; this.timerDeadlineNs = undefined; this.tscDeadline = 0n;
  }

  /** INIT (SDM 11.4.7.3): registers to their power-up values; APIC ID and IA32_APIC_BASE are kept. */
  initReset(): void {
    const id = this.id;
    this.resetRegisters();
    this.id = id;
    this.nmiPending = false;
  }

  /** Power-on / system reset: also IA32_APIC_BASE back to xAPIC at 0xfee00000. */
  reset(): void {
    this.resetRegisters();
    this.apicBase = APIC_DEFAULT_BASE | APIC_BASE_EN | (this.opts.bsp ? APIC_BASE_BSP : 0n);
    this.nmiPending = false; this.initPending = false; this.sipiVector = undefined;
  }

  saveState(): LapicState {
    return {
      version: 1,
      apicBase: '0x' + this.apicBase.toString(16),
      id: this.id, tpr: this.tpr, ldr: this.ldr, dfr: this.dfr, svr: this.svr,
      esr: this.esr, esrPending: this.esrPending, icrLow: this.icrLow, icrHigh: this.icrHigh,
      lvt: [...this.lvt], timerInitial: this.timerInitial, timerDivide: this.timerDivide,
      irr: [...this.irr], isr: [...this.isr], tmr: [...this.tmr],
      timerStartNs: this.timerStartNs === undefined ? null : this.timerStartNs.toString(),
      timerDeadlineNs: this.timerDeadlineNs === undefined ? null : this.timerDeadlineNs.toString(),
      tscDeadline: this.tscDeadline.toString(),
      nmiPending: this.nmiPending, initPending: this.initPending, sipiVector: this.sipiVector ?? null,
    };
  }

  /** Restore from untrusted input; returns false and leaves the state unchanged when malformed. */
  loadState(input: unknown): boolean {
    if (typeof input !== 'object' || input === null) return false;
    const o = input as Record<string, unknown>;
    const u32 = (k: string): number | undefined => {
      const v = o[k];
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : undefined;
    };
    const arr = (k: string, n: number): number[] | undefined => {
      const v = o[k];
      if (!Array.isArray(v) || v.length !== n) return undefined;
      return v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff) ? (v as number[]) : undefined;
    };
    const big = (k: string, nullable: boolean): bigint | null | undefined => {
      const v = o[k];
      if (v === null && nullable) return null;
      if (typeof v !== 'string' || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) return undefined;
      return BigInt(v);
    };
    if (o['version'] !== 1) return false;
    const fields = ['id', 'tpr', 'ldr', 'dfr', 'svr', 'esr', 'esrPending', 'icrLow', 'icrHigh', 'timerInitial', 'timerDivide'] as const;
    const n: Partial<Record<(typeof fields)[number], number>> = {};
    for (const k of fields) { const v = u32(k); if (v === undefined) return false; n[k] = v; }
    const lvt = arr('lvt', LVT_OFFSETS.length), irr = arr('irr', 8), isr = arr('isr', 8), tmr = arr('tmr', 8);
    const apicBase = big('apicBase', false), start = big('timerStartNs', true), dl = big('timerDeadlineNs', true), tscd = big('tscDeadline', false);
    const sipi = o['sipiVector'];
    if (!lvt || !irr || !isr || !tmr || apicBase == null || start === undefined || dl === undefined || tscd == null) return false;
    if (typeof o['nmiPending'] !== 'boolean' || typeof o['initPending'] !== 'boolean') return false;
    if (sipi !== null && !(typeof sipi === 'number' && Number.isInteger(sipi) && sipi >= 0 && sipi <= 0xff)) return false;
    if ((apicBase & 0xfffff000n) !== APIC_DEFAULT_BASE) return false;
    this.apicBase = apicBase & (APIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_EN | APIC_BASE_EXTD);
    this.id = n.id! & 0xff000000; this.tpr = n.tpr! & 0xff; this.ldr = n.ldr! & 0xff000000; this.dfr = (n.dfr! | 0x0fffffff) >>> 0;
    this.svr = n.svr! & 0x3ff; this.esr = n.esr!; this.esrPending = n.esrPending!; this.icrLow = n.icrLow!; this.icrHigh = n.icrHigh!;
    lvt.forEach((v, i) => { this.lvt[i] = v; });
    this.timerInitial = n.timerInitial!; this.timerDivide = n.timerDivide! & 0xb;
    this.irr.set(irr); this.isr.set(isr); this.tmr.set(tmr);
    this.timerStartNs = start ?? undefined; this.timerDeadlineNs = dl ?? undefined; this.tscDeadline = tscd;
    this.nmiPending = o['nmiPending'] as boolean; this.initPending = o['initPending'] as boolean;
    this.sipiVector = typeof sipi === 'number' ? sipi : undefined;
    return true;
  }
}

/**
 * The LAPICs an IPI or interrupt message reaches (SDM 11.6.1 shorthands,
 * 11.6.2 destinations). `from` is the sender's index (IPIs) or undefined (IOAPIC/MSI).
 *
 * Lowest-priority delivery picks ONE target: the matching software-enabled
 * LAPIC with the lowest TPR, ties broken by the lowest vCPU index (the SDM
 * leaves arbitration model specific; KVM also picks a single vCPU).
 */
export function ipiTargets(lapics: readonly Lapic[], from: number | undefined, msg: {
  deliveryMode: number; logical: boolean; shorthand?: number; destination: number; x2apic?: boolean;
}): Lapic[] {
  const shorthand = msg.shorthand ?? SHORTHAND_NONE;
  let targets: Lapic[];
  switch (shorthand) {
    case SHORTHAND_SELF: targets = lapics.filter((l) => l.cpu === from); break;
    case SHORTHAND_ALL_INCLUDING_SELF: targets = lapics.filter((l) => l.hardwareEnabled); break;
    case SHORTHAND_ALL_EXCLUDING_SELF: targets = lapics.filter((l) => l.hardwareEnabled && l.cpu !== from); break;
    default: targets = lapics.filter((l) => l.matchesDestination(msg.destination, msg.logical, msg.x2apic ?? false));
  }
  if (msg.deliveryMode === DM_LOWEST && targets.length > 1) {
    const enabled = targets.filter((l) => l.softwareEnabled);
    const pool = enabled.length > 0 ? enabled : targets;
    let best = pool[0]!;
    for (const l of pool) if (l.taskPriority < best.taskPriority) best = l;
    targets = [best];
  }
  return targets;
}

/**
 * Deliver an IPI to the LAPICs it targets: what a single-thread `IpiBus.send`
 * does. INIT/SIPI only set `initPending`/`sipiVector` on the target; the
 * accelerator changes the vCPU's run state when it sees them.
 */
export function deliverIpi(lapics: readonly Lapic[], from: number, msg: IpiMessage): void {
  for (const l of ipiTargets(lapics, from, msg)) l.acceptMessage(msg);
}

/** Deliver an IOAPIC/MSI message (8-bit xAPIC destination format). */
export function deliverInterruptMessage(lapics: readonly Lapic[], msg: InterruptMessage): void {
  const targets = ipiTargets(lapics, undefined, {
    deliveryMode: msg.deliveryMode, logical: msg.logicalDestination, destination: msg.destination, x2apic: false,
  });
  for (const l of targets) l.acceptMessage(msg);
}
