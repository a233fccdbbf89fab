/**
 * I/O APIC: Intel 82093AA (datasheet 290566-001), as QEMU's hw/intc/ioapic.c
 * presents it to microvm guests: version 0x20, 24 pins, with the explicit EOI
 * register at +0x40 that version 0x20 parts have.
 *
 * microvm has two: IOAPIC 0 at 0xfec00000 for GSI 0-23 and IOAPIC 1 at
 * 0xfec10000 for GSI 24-47. `GsiRouter` maps a GSI to the right chip and pin.
 *
 * Inputs come from devices as levels (`setIrq(pin, level)` or `line(pin)`);
 * outputs leave as `InterruptMessage`s through the `InterruptSink` the machine
 * gives us (the JIT's LAPIC model, or an MSI route under KVM's split irqchip).
 */
import type { AccessSize, BusDevice } from '../memory/bus.js';
import type { InterruptMessage, InterruptSink, IrqLine } from './irq.js';

// Memory-mapped registers (82093AA §3.0 Table 1; EOI from version 0x20 parts).
export const IOAPIC_IOREGSEL = 0x00;
export const IOAPIC_IOWIN = 0x10;
export const IOAPIC_EOI = 0x40;

// Indirect registers selected by IOREGSEL (82093AA §3.2).
export const IOAPIC_REG_ID = 0x00;
export const IOAPIC_REG_VER = 0x01;
export const IOAPIC_REG_ARB = 0x02;
export const IOAPIC_REG_REDTBL_BASE = 0x10;

export const IOAPIC_NUM_PINS = 24;
export const IOAPIC_VERSION = 0x20;
/** IOAPICID bits 24-27 (82093AA §3.2.1). */
export const IOAPIC_ID_SHIFT = 24;
export const IOAPIC_ID_MASK = 0x0f;
/** IOAPICVER bits 16-23: maximum redirection entry (82093AA §3.2.2). */
export const IOAPIC_VER_MRE_SHIFT = 16;

// Redirection table entry, low dword (82093AA §3.2.4).
export const RTE_VECTOR_MASK = 0xff;
export const RTE_DELIVERY_MODE_SHIFT = 8;
export const RTE_DELIVERY_MODE_MASK = 0x7;
export const RTE_DEST_MODE_LOGICAL = 1 << 11;
export const RTE_DELIVERY_STATUS = 1 << 12;
export const RTE_POLARITY_LOW = 1 << 13;
export const RTE_REMOTE_IRR = 1 << 14;
export const RTE_TRIGGER_LEVEL = 1 << 15;
export const RTE_MASKED = 1 << 16;
/** Read-only bits of the low dword. */
export const RTE_RO_BITS = RTE_DELIVERY_STATUS | RTE_REMOTE_IRR;
/** High dword: destination field, bits 56-63 of the entry. */
export const RTE_DEST_SHIFT = 24;

export const DELIVERY_FIXED = 0;
export const DELIVERY_LOWEST_PRIORITY = 1;
export const DELIVERY_SMI = 2;
export const DELIVERY_NMI = 4;
export const DELIVERY_INIT = 5;
export const DELIVERY_EXTINT = 7;

/** A redirection table entry, decoded (pure; see `parseRedirectionEntry`). */
export interface RedirectionEntry {
  vector: number;
  deliveryMode: number;
  logicalDestination: boolean;
  deliveryStatus: boolean;
  polarityLow: boolean;
  remoteIrr: boolean;
  triggerLevel: boolean;
  masked: boolean;
  destination: number;
}

export function parseRedirectionEntry(lo: number, hi: number): RedirectionEntry {
  return {
    vector: lo & RTE_VECTOR_MASK,
    deliveryMode: (lo >>> RTE_DELIVERY_MODE_SHIFT) & RTE_DELIVERY_MODE_MASK,
    logicalDestination: (lo & RTE_DEST_MODE_LOGICAL) !== 0,
    deliveryStatus: (lo & RTE_DELIVERY_STATUS) !== 0,
    polarityLow: (lo & RTE_POLARITY_LOW) !== 0,
    remoteIrr: (lo & RTE_REMOTE_IRR) !== 0,
    triggerLevel: (lo & RTE_TRIGGER_LEVEL) !== 0,
    masked: (lo & RTE_MASKED) !== 0,
    destination: (hi >>> RTE_DEST_SHIFT) & 0xff,
  };
}

export interface IoapicState {
  version: 1;
  id: number;
  ioregsel: number;
  /** Bit n: input pin n is at its asserted (active) level, after polarity. */
  irr: number;
  /** Raw input pin levels as the devices drive them. */
  pinLevels: number;
  redirLo: number[];
  redirHi: number[];
}

export function ioapicReset(id = 0): IoapicState {
  // 82093AA §3.2.4: every entry resets masked; QEMU ioapic_reset_common.
  return {
    version: 1,
    id: id & IOAPIC_ID_MASK,
    ioregsel: 0,
    irr: 0,
    pinLevels: 0,
    redirLo: new Array<number>(IOAPIC_NUM_PINS).fill(RTE_MASKED),
    redirHi: new Array<number>(IOAPIC_NUM_PINS).fill(0),
  };
}

export class IoapicStateError extends Error {
  override readonly name = 'IoapicStateError';
}

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

export function parseIoapicState(raw: unknown): IoapicState {
  if (typeof raw !== 'object' || raw === null) throw new IoapicStateError('state is not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) throw new IoapicStateError(`unsupported state version ${String(o.version)}`);
  const u32 = (k: string, max = 0xffffffff): number => {
    const v = o[k];
    if (!isU32(v) || v > max) throw new IoapicStateError(`${k} is out of range`);
    return v;
  };
  const table = (k: string): number[] => {
    const v = o[k];
    if (!Array.isArray(v) || v.length !== IOAPIC_NUM_PINS || !v.every(isU32)) {
      throw new IoapicStateError(`${k} is not ${IOAPIC_NUM_PINS} u32 values`);
    }
    return [...v];
  };
  const pinMask = 2 ** IOAPIC_NUM_PINS - 1;
  return {
    version: 1,
    id: u32('id', IOAPIC_ID_MASK),
    ioregsel: u32('ioregsel', 0xff),
    irr: u32('irr', pinMask),
    pinLevels: u32('pinLevels', pinMask),
    redirLo: table('redirLo'),
    redirHi: table('redirHi'),
  };
}

export interface IoapicOptions {
  /** First GSI served by pin 0 (microvm: 0 for IOAPIC 0, 24 for IOAPIC 1). */
  gsiBase?: number;
  /** IOAPICID after reset (QEMU resets it to 0; the ACPI MADT names the IDs the guest should program). */
  id?: number;
  /**
   * 'ignore' (default): the input is taken as already active-high, whatever
   * the polarity bit says. This is what QEMU's IOAPIC does, and QEMU microvm
   * uses it for TCG and for KVM (split irqchip), so guests that program the
   * wrong polarity still work there and must here.
   * 'honor': polarity low inverts the pin (82093AA §3.2.4 bit 13; KVM's
   * in-kernel IOAPIC does this).
   */
  polarity?: 'ignore' | 'honor';
  initialState?: IoapicState;
}

export interface IoapicCounters {
  /** IOWIN/EOI accesses that were not 32 bits wide (ignored, as in QEMU). */
  badSizeAccesses: number;
  /** Out-of-range pins passed to setIrq. */
  badPins: number;
  /** Messages delivered. */
  delivered: number;
  /** Level interrupts re-delivered by an EOI while the line stayed asserted. */
  eoiRedeliveries: number;
}

export class Ioapic implements BusDevice {
  readonly gsiBase: number;
  private s: IoapicState;
  private readonly resetId: number;
  private readonly honorPolarity: boolean;
  readonly counters: IoapicCounters = { badSizeAccesses: 0, badPins: 0, delivered: 0, eoiRedeliveries: 0 };

  constructor(private readonly sink: InterruptSink, opts: IoapicOptions = {}) {
    this.gsiBase = opts.gsiBase ?? 0;
    this.resetId = opts.id ?? 0;
    this.honorPolarity = opts.polarity === 'honor';
    this.s = opts.initialState ? parseIoapicState(opts.initialState) : ioapicReset(this.resetId);
  }

  // ---- Bus interface --------------------------------------------------

  read(offset: number, size: AccessSize): number {
    // QEMU decodes the low 8 bits of the offset; IOREGSEL reads at any width.
    // An 8-byte access is split by QEMU's memory core into two 4-byte ones, and
    // the upper half (offset + 4) never hits a register: treat it as 4 bytes.
    if (size === 8) size = 4;
    switch (offset & 0xff) {
      case IOAPIC_IOREGSEL:
        return this.s.ioregsel;
      case IOAPIC_IOWIN:
        if (size !== 4) {
          this.counters.badSizeAccesses++;
          return 0;
        }
        return this.readRegister(this.s.ioregsel);
      default:
        return 0;
    }
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (size === 8) size = 4; // see read()
    switch (offset & 0xff) {
      case IOAPIC_IOREGSEL:
        this.s.ioregsel = value & 0xff;
        return;
      case IOAPIC_IOWIN:
        if (size !== 4) {
          this.counters.badSizeAccesses++;
          return;
        }
        this.writeRegister(this.s.ioregsel, value >>> 0);
        return;
      case IOAPIC_EOI:
        if (size !== 4) {
          this.counters.badSizeAccesses++;
          return;
        }
        this.eoi(value & 0xff);
        return;
      default:
        return;
    }
  }

  // ---- Inputs ---------------------------------------------------------

  /** Drive input `pin` (0-23) to `level` (true = asserted by the device). */
  setIrq(pin: number, level: boolean): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= IOAPIC_NUM_PINS) {
      this.counters.badPins++;
      return;
    }
    const bit = 1 << pin;
    this.s.pinLevels = level ? (this.s.pinLevels | bit) >>> 0 : (this.s.pinLevels & ~bit) >>> 0;
    this.sample(pin);
  }

  /** An IrqLine for one pin, to hand to a device. */
  line(pin: number): IrqLine {
    return { set: (level: boolean) => this.setIrq(pin, level) };
  }

  /**
   * End of interrupt for `vector` (from the EOI register, or broadcast by a
   * LAPIC EOI of a level-triggered vector): clear Remote IRR of every
   * level-triggered entry with that vector and deliver again if its input is
   * still asserted (QEMU ioapic_eoi_broadcast).
   */
  eoi(vector: number): void {
    const s = this.s;
    for (let pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
      const lo = s.redirLo[pin] ?? 0;
      if ((lo & RTE_VECTOR_MASK) !== vector || !(lo & RTE_TRIGGER_LEVEL) || !(lo & RTE_REMOTE_IRR)) continue;
      s.redirLo[pin] = (lo & ~RTE_REMOTE_IRR) >>> 0;
      if (!(lo & RTE_MASKED) && s.irr & (1 << pin)) {
        this.counters.eoiRedeliveries++;
        this.service(pin);
      }
    }
  }

  /** The decoded redirection entry of `pin` (for tests, the monitor and KVM routes). */
  entry(pin: number): RedirectionEntry {
    return parseRedirectionEntry(this.s.redirLo[pin] ?? 0, this.s.redirHi[pin] ?? 0);
  }

  reset(): void {
    const levels = this.s.pinLevels;
    this.s = ioapicReset(this.resetId);
    // Devices keep driving their lines through a reset.
    this.s.pinLevels = levels;
    for (let pin = 0; pin < IOAPIC_NUM_PINS; pin++) this.recomputeIrr(pin);
  }

  saveState(): IoapicState {
    return structuredClone(this.s);
  }

  restoreState(raw: unknown): void {
    this.s = parseIoapicState(raw);
    for (let pin = 0; pin < IOAPIC_NUM_PINS; pin++) this.service(pin, true);
  }

  // ---- Internals ---------------------------------------------------------

  private readRegister(sel: number): number {
    const s = this.s;
    switch (sel) {
      case IOAPIC_REG_ID:
      case IOAPIC_REG_ARB:
        // QEMU returns the ID for the arbitration register too.
        return (s.id << IOAPIC_ID_SHIFT) >>> 0;
      case IOAPIC_REG_VER:
        return (IOAPIC_VERSION | ((IOAPIC_NUM_PINS - 1) << IOAPIC_VER_MRE_SHIFT)) >>> 0;
      default: {
        const index = (sel - IOAPIC_REG_REDTBL_BASE) >> 1;
        if (index < 0 || index >= IOAPIC_NUM_PINS) return 0;
        return (sel & 1 ? s.redirHi[index] : s.redirLo[index]) ?? 0;
      }
    }
  }

  private writeRegister(sel: number, value: number): void {
    const s = this.s;
    switch (sel) {
      case IOAPIC_REG_ID:
        s.id = (value >>> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
        return;
      case IOAPIC_REG_VER:
      case IOAPIC_REG_ARB:
        return; // read-only
      default: {
        const index = (sel - IOAPIC_REG_REDTBL_BASE) >> 1;
        if (index < 0 || index >= IOAPIC_NUM_PINS) return;
        if (sel & 1) {
          s.redirHi[index] = value;
          return; // the destination alone never changes whether an interrupt is due
        }
        const old = s.redirLo[index] ?? 0;
        let lo = ((value & ~RTE_RO_BITS) | (old & RTE_RO_BITS)) >>> 0;
        // An edge-triggered entry has no Remote IRR (QEMU ioapic_fix_edge_remote_irr;
        // Linux clears a stuck Remote IRR by toggling the trigger mode).
        if (!(lo & RTE_TRIGGER_LEVEL)) lo = (lo & ~RTE_REMOTE_IRR) >>> 0;
        s.redirLo[index] = lo;
        this.recomputeIrr(index);
        // Unmasking (or switching to level) with the input asserted delivers now.
        if (lo & RTE_TRIGGER_LEVEL) this.service(index);
      }
    }
  }

  private activeLevel(pin: number): boolean {
    const raw = (this.s.pinLevels & (1 << pin)) !== 0;
    const low = this.honorPolarity && ((this.s.redirLo[pin] ?? 0) & RTE_POLARITY_LOW) !== 0;
    return raw !== low;
  }

  private recomputeIrr(pin: number): void {
    const bit = 1 << pin;
    this.s.irr = this.activeLevel(pin) ? (this.s.irr | bit) >>> 0 : (this.s.irr & ~bit) >>> 0;
  }

  private sample(pin: number): void {
    const bit = 1 << pin;
    const was = (this.s.irr & bit) !== 0;
    this.recomputeIrr(pin);
    const now = (this.s.irr & bit) !== 0;
    const lo = this.s.redirLo[pin] ?? 0;
    if (lo & RTE_TRIGGER_LEVEL) {
      if (now) this.service(pin);
    } else if (now && !was) {
      // Edge: only a rising edge on an unmasked pin counts; a masked edge is
      // lost, not latched (82093AA §3.2.4 bit 16; QEMU ioapic_set_irq).
      this.service(pin);
    }
  }

  /** Deliver `pin` if it is due. `restoring`: level entries already in service stay so. */
  private service(pin: number, restoring = false): void {
    const s = this.s;
    const lo = s.redirLo[pin] ?? 0;
    if (lo & RTE_MASKED) return;
    if (lo & RTE_TRIGGER_LEVEL) {
      if (!(s.irr & (1 << pin)) || lo & RTE_REMOTE_IRR) return;
      s.redirLo[pin] = (lo | RTE_REMOTE_IRR) >>> 0;
    } else if (restoring) {
      return;
    }
    const e = parseRedirectionEntry(lo, s.redirHi[pin] ?? 0);
    const msg: InterruptMessage = {
      vector: e.vector,
      deliveryMode: e.deliveryMode,
      destination: e.destination,
      logicalDestination: e.logicalDestination,
      level: true,
      triggerLevel: e.triggerLevel,
    };
    this.counters.delivered++;
    this.sink.deliver(msg);
  }
}

/** ISA IRQ to GSI on microvm/PC: identity except IRQ 0, which the MADT overrides to GSI 2. */
export function isaIrqToGsi(irq: number): number {
  return irq === 0 ? 2 : irq;
}

/**
 * Routes GSIs to IOAPIC pins across several IOAPICs (microvm: GSI 0-23 on the
 * first, 24-47 on the second) and broadcasts EOIs to all of them.
 */
export class GsiRouter {
  constructor(private readonly ioapics: readonly Ioapic[]) {}

  /** The IOAPIC and pin serving `gsi`, or undefined if none does. */
  resolve(gsi: number): { ioapic: Ioapic; pin: number } | undefined {
    for (const ioapic of this.ioapics) {
      const pin = gsi - ioapic.gsiBase;
      if (Number.isInteger(pin) && pin >= 0 && pin < IOAPIC_NUM_PINS) return { ioapic, pin };
    }
    return undefined;
  }

  setGsi(gsi: number, level: boolean): void {
    const r = this.resolve(gsi);
    r?.ioapic.setIrq(r.pin, level);
  }

  /** An IrqLine for `gsi`; throws if no IOAPIC serves it (a wiring error, caught at machine build). */
  line(gsi: number): IrqLine {
    const r = this.resolve(gsi);
    if (!r) throw new RangeError(`no IOAPIC serves GSI ${gsi}`);
    return r.ioapic.line(r.pin);
  }

  /** Broadcast a level-triggered EOI (LAPIC EOI, or KVM_EXIT_IOAPIC_EOI under split irqchip). */
  eoi(vector: number): void {
    for (const ioapic of this.ioapics) ioapic.eoi(vector);
  }
}
