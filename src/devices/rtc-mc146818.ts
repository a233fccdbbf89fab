/**
 * MC146818 real-time clock and CMOS RAM (microvm `rtc=on`: ports 0x70/0x71, IRQ 8).
 *
 * Registers follow the Motorola MC146818A datasheet (also the DS12887's, which
 * is register compatible); where QEMU (hw/rtc/mc146818rtc.c) fixes a detail the
 * datasheet leaves open, we do the same and say so.
 *
 * Time: the RTC runs from the injected `TimeSource`. At power-on it reads the
 * host wall clock as UTC (QEMU's default `-rtc base=utc`); afterwards it
 * advances with the monotonic `nowNs()`, so a guest that sets the clock only
 * shifts its own offset. A `ManualTimeSource` with a pinned wall base makes
 * the RTC fully deterministic.
 *
 * Interrupts are timer driven through the same TimeSource (`createTimer`, in
 * the shape of QEMU's timer_mod/timer_del): one timer at every update (second
 * boundary) and one for the periodic interrupt while PIE is set. The machine
 * only has to provide the TimeSource; nothing needs polling.
 */
import type { AccessSize, BusDevice } from '../memory/bus.js';
import type { IrqLine } from './irq.js';
import type { DeviceTimer, TimeSource } from './clock.js';
import { NS_PER_MS, NS_PER_SEC } from './clock.js';

// Port offsets from 0x70.
export const RTC_INDEX_PORT = 0;
export const RTC_DATA_PORT = 1;
/** Index port bit 7 disables NMI on a PC; QEMU stores and ignores it. */
export const RTC_NMI_DISABLE = 0x80;

// Register map (MC146818A Figure 3).
export const RTC_SECONDS = 0x00;
export const RTC_SECONDS_ALARM = 0x01;
export const RTC_MINUTES = 0x02;
export const RTC_MINUTES_ALARM = 0x03;
export const RTC_HOURS = 0x04;
export const RTC_HOURS_ALARM = 0x05;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
/** Century byte used by microvm/PC firmware (ACPI FADT century field). */
export const RTC_CENTURY = 0x32;
/** IBM PS/2 century byte location; QEMU aliases it to 0x32. */
export const RTC_IBM_PS2_CENTURY_BYTE = 0x37;
export const CMOS_SIZE = 128;

// Register A
export const REG_A_UIP = 0x80;
export const REG_A_DV_MASK = 0x70;
export const REG_A_RS_MASK = 0x0f;
// Register B
export const REG_B_SET = 0x80;
export const REG_B_PIE = 0x40;
export const REG_B_AIE = 0x20;
export const REG_B_UIE = 0x10;
export const REG_B_SQWE = 0x08;
export const REG_B_DM = 0x04; // 1 = binary, 0 = BCD
export const REG_B_24H = 0x02;
export const REG_B_DSE = 0x01;
// Register C
export const REG_C_IRQF = 0x80;
export const REG_C_PF = 0x40;
export const REG_C_AF = 0x20;
export const REG_C_UF = 0x10;
export const REG_C_MASK = 0x70;
// Register D
export const REG_D_VRT = 0x80;

/** An alarm byte with bits 7-6 set matches any value (MC146818A "don't care"). */
export const ALARM_DONT_CARE = 0xc0;

/** The 32.768 kHz time base. */
export const RTC_CLOCK_RATE = 32768n;
/** UIP is set this long before each update: 8 cycles of 32.768 kHz = 244 us (QEMU UIP_HOLD_LENGTH). */
export const UIP_HOLD_NS = (8n * NS_PER_SEC) / RTC_CLOCK_RATE;

const NS_PER_DAY_SEC = 86400n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function floorMod(a: bigint, b: bigint): bigint {
  const m = a % b;
  return m < 0n ? m + b : m;
}

/** Periodic interrupt period in 32.768 kHz cycles for rate select RS (MC146818A Table 4); 0 = off. */
export function periodicPeriodCycles(rs: number): number {
  const code = rs & REG_A_RS_MASK;
  if (code === 0) return 0;
  // RS 1 and 2 repeat the 256 Hz and 128 Hz rates of RS 8 and 9 for the 32.768 kHz base.
  return 1 << ((code <= 2 ? code + 7 : code) - 1);
}

export interface RtcTime {
  year: number;
  month: number; // 1-12
  day: number; // 1-31
  hour: number; // 0-23
  minute: number;
  second: number;
  weekday: number; // 1 = Sunday .. 7 = Saturday
}

function timeFromEpochSeconds(sec: bigint): RtcTime {
  const d = new Date(Number(sec) * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay() + 1,
  };
}

function epochSecondsFromTime(t: Omit<RtcTime, 'weekday'>): bigint {
  // Not Date.UTC: it maps years 0-99 to 1900-1999. Out-of-range fields roll
  // over (a guest writing 0x75 seconds gets the next minute), never throw.
  const d = new Date(0);
  d.setUTCFullYear(t.year, t.month - 1, t.day);
  d.setUTCHours(t.hour, t.minute, t.second, 0);
  const ms = d.getTime();
  return Number.isFinite(ms) ? BigInt(Math.floor(ms / 1000)) : 0n;
}

export interface Mc146818State {
  version: 1;
  cmos: number[];
  index: number;
  nmiDisabled: boolean;
  /** Guest RTC time at save, ns since the Unix epoch, as a decimal string. */
  rtcNs: string;
}

export class Mc146818StateError extends Error {
  override readonly name = 'Mc146818StateError';
}

export function parseMc146818State(raw: unknown): Mc146818State {
  if (typeof raw !== 'object' || raw === null) throw new Mc146818StateError('state is not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) throw new Mc146818StateError(`unsupported state version ${String(o.version)}`);
  const cmos = o.cmos;
  if (!Array.isArray(cmos) || cmos.length !== CMOS_SIZE || !cmos.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xff)) {
    throw new Mc146818StateError(`cmos is not ${CMOS_SIZE} bytes`);
  }
  const index = o.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= CMOS_SIZE) {
    throw new Mc146818StateError('index out of range');
  }
  if (typeof o.nmiDisabled !== 'boolean') throw new Mc146818StateError('nmiDisabled is not a boolean');
  if (typeof o.rtcNs !== 'string' || !/^-?\d{1,25}$/.test(o.rtcNs)) throw new Mc146818StateError('rtcNs is not an integer string');
  return { version: 1, cmos: [...(cmos as number[])], index, nmiDisabled: o.nmiDisabled, rtcNs: o.rtcNs };
}

export interface Mc146818Options {
  /** Start from a saved state instead of power-on (validated). */
  initialState?: Mc146818State;
}

export class Mc146818Rtc implements BusDevice {
  private cmos = new Uint8Array(CMOS_SIZE);
  private index = 0;
  private nmiDisabledBit = false;
  private irqLevel = false;
  /** Guest RTC time (ns since epoch) at monotonic time `baseMonoNs`. */
  private baseRtcNs = 0n;
  private baseMonoNs = 0n;
  /** The last guest second whose update cycle has been processed. */
  private lastUpdateSec = 0n;
  /** Index of the last periodic edge accounted for (for PF while PIE is off). */
  private lastPeriodicIndex = 0n;
  private readonly updateTimer: DeviceTimer;
  private readonly periodicTimer: DeviceTimer;

  constructor(private readonly irq: IrqLine, private readonly time: TimeSource, opts: Mc146818Options = {}) {
    this.updateTimer = time.createTimer(() => this.onUpdateTimer());
    this.periodicTimer = time.createTimer(() => this.onPeriodicTimer());
    if (opts.initialState) {
      this.restoreState(opts.initialState);
      return;
    }
    // QEMU rtc_realizefn: A=0x26 (32.768 kHz divider, RS 1024 Hz), B=0x02 (24h, BCD), D=VRT.
    this.cmos[RTC_REG_A] = 0x26;
    this.cmos[RTC_REG_B] = REG_B_24H;
    this.cmos[RTC_REG_C] = 0;
    this.cmos[RTC_REG_D] = REG_D_VRT;
    this.setGuestNs(BigInt(Math.floor(time.wallClockMs())) * NS_PER_MS);
    this.refreshTimeRegisters();
  }

  // ---- Bus interface --------------------------------------------------

  read(offset: number, size: AccessSize): number {
    // QEMU implements 1-byte accesses; wider ones are split at consecutive ports.
    let v = 0;
    for (let i = 0; i < size; i++) v += this.readPort(offset + i) * 2 ** (8 * i);
    return v;
  }

  write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writePort(offset + i, Math.floor(value / 2 ** (8 * i)) & 0xff);
  }

  // ---- Machine side ------------------------------------------------------

  /** NMI mask written through bit 7 of the index port (no NMI source on microvm). */
  get nmiDisabled(): boolean {
    return this.nmiDisabledBit;
  }

  /** CMOS byte for firmware tables (QEMU mc146818rtc_set_cmos_data). */
  setCmos(addr: number, value: number): void {
    if (Number.isInteger(addr) && addr >= 0 && addr < CMOS_SIZE) this.cmos[addr] = value & 0xff;
  }

  getCmos(addr: number): number {
    return Number.isInteger(addr) && addr >= 0 && addr < CMOS_SIZE ? (this.cmos[addr] ?? 0) : 0;
  }

  /** The guest's current RTC date and time (as the registers would show when running). */
  now(): RtcTime {
    return timeFromEpochSeconds(floorDiv(this.guestNs(), NS_PER_SEC));
  }

  /** Machine reset (QEMU rtc_reset_enter): interrupt enables and flags clear, time keeps running. */
  reset(): void {
    if (this.cmos[0x0f] !== 0xfe) this.cmos[0x0f] = 0;
    this.cmos[RTC_REG_B] = (this.cmos[RTC_REG_B] ?? 0) & ~(REG_B_PIE | REG_B_AIE | REG_B_SQWE);
    this.cmos[RTC_REG_C] = (this.cmos[RTC_REG_C] ?? 0) & ~(REG_C_UF | REG_C_IRQF | REG_C_PF | REG_C_AF);
    this.setLine(false);
    this.armTimers();
  }

  saveState(): Mc146818State {
    if (this.running()) this.refreshTimeRegisters();
    return {
      version: 1,
      cmos: Array.from(this.cmos),
      index: this.index,
      nmiDisabled: this.nmiDisabledBit,
      rtcNs: this.guestNs().toString(),
    };
  }

  /** Restore from untrusted data (validated; on error throws Mc146818StateError and keeps the old state). */
  restoreState(raw: unknown): void {
    const s = parseMc146818State(raw);
    this.cmos = Uint8Array.from(s.cmos);
    this.index = s.index;
    this.nmiDisabledBit = s.nmiDisabled;
    this.setGuestNs(BigInt(s.rtcNs));
    this.irqLevel = ((this.cmos[RTC_REG_C] ?? 0) & REG_C_IRQF) !== 0;
    this.irq.set(this.irqLevel);
  }

  // ---- Ports ------------------------------------------------------------

  private readPort(port: number): number {
    // The index port is write-only; QEMU returns 0xff.
    if ((port & 1) === RTC_INDEX_PORT) return 0xff;
    return this.readRegister();
  }

  private writePort(port: number, v: number): void {
    if ((port & 1) === RTC_INDEX_PORT) {
      this.index = v & 0x7f;
      this.nmiDisabledBit = (v & RTC_NMI_DISABLE) !== 0;
      return;
    }
    this.writeRegister(v);
  }

  private readRegister(): number {
    if (this.index === RTC_IBM_PS2_CENTURY_BYTE) this.index = RTC_CENTURY; // as QEMU
    const idx = this.index;
    switch (idx) {
      case RTC_SECONDS:
      case RTC_MINUTES:
      case RTC_HOURS:
      case RTC_DAY_OF_WEEK:
      case RTC_DAY_OF_MONTH:
      case RTC_MONTH:
      case RTC_YEAR:
      case RTC_CENTURY:
        if (this.running()) this.refreshTimeRegisters();
        return this.cmos[idx] ?? 0;
      case RTC_REG_A:
        return ((this.cmos[RTC_REG_A] ?? 0) & ~REG_A_UIP) | (this.updateInProgress() ? REG_A_UIP : 0);
      case RTC_REG_C: {
        this.accountPeriodicFlag();
        const v = this.cmos[RTC_REG_C] ?? 0;
        // Reading C clears every flag and releases IRQ (MC146818A, register C).
        this.cmos[RTC_REG_C] = 0;
        this.setLine(false);
        return v;
      }
      default:
        return this.cmos[idx] ?? 0;
    }
  }

  private writeRegister(v: number): void {
    if (this.index === RTC_IBM_PS2_CENTURY_BYTE) this.index = RTC_CENTURY;
    const idx = this.index;
    switch (idx) {
      case RTC_SECONDS:
      case RTC_MINUTES:
      case RTC_HOURS:
      case RTC_DAY_OF_WEEK:
      case RTC_DAY_OF_MONTH:
      case RTC_MONTH:
      case RTC_YEAR:
      case RTC_CENTURY:
        if (this.running()) {
          // Set the clock now, keeping the divider chain's phase within the second.
          this.refreshTimeRegisters();
          this.cmos[idx] = v;
          this.setTimeFromRegisters(this.subSecondPhase());
        } else {
          this.cmos[idx] = v;
        }
        return;
      case RTC_REG_A:
        this.writeRegA(v);
        return;
      case RTC_REG_B:
        this.writeRegB(v);
        return;
      case RTC_REG_C:
      case RTC_REG_D:
        return; // read-only
      default:
        this.cmos[idx] = v; // alarms and CMOS RAM
    }
  }

  private writeRegA(v: number): void {
    const oldA = this.cmos[RTC_REG_A] ?? 0;
    const wasRunning = this.running();
    const wasReset = (oldA & 0x60) === 0x60;
    if (wasRunning) this.refreshTimeRegisters();
    // UIP is read-only.
    this.cmos[RTC_REG_A] = v & ~REG_A_UIP;
    const isReset = (v & 0x60) === 0x60;
    if (!wasRunning && this.running()) {
      // MC146818A: when the divider reset is removed the first update comes
      // 500 ms later (QEMU sets the phase to 0.5 s).
      this.setTimeFromRegisters(wasReset && !isReset ? NS_PER_SEC / 2n : this.subSecondPhase());
    }
    if ((oldA ^ v) & REG_A_RS_MASK) this.lastPeriodicIndex = this.periodicIndex();
    this.armTimers();
  }

  private writeRegB(value: number): void {
    let v = value;
    const oldB = this.cmos[RTC_REG_B] ?? 0;
    if (v & REG_B_SET) {
      // Freeze the registers at the moment SET goes high; SET clears UIE (QEMU, DS12887 register B).
      if (this.running()) this.refreshTimeRegisters();
      v &= ~REG_B_UIE;
      this.cmos[RTC_REG_B] = v;
    } else {
      this.cmos[RTC_REG_B] = v;
      if (oldB & REG_B_SET && this.running()) this.setTimeFromRegisters(this.subSecondPhase());
    }
    if ((oldB ^ v) & REG_B_PIE) this.lastPeriodicIndex = this.periodicIndex();
    // A flag already set whose interrupt becomes enabled interrupts at once;
    // otherwise IRQF follows the enables (QEMU cmos_ioport_write, REG_B).
    const c = this.cmos[RTC_REG_C] ?? 0;
    if (v & c & REG_C_MASK) {
      this.cmos[RTC_REG_C] = c | REG_C_IRQF;
      this.setLine(true);
    } else {
      this.cmos[RTC_REG_C] = c & ~REG_C_IRQF;
      this.setLine(false);
    }
    this.armTimers();
  }

  // ---- Time keeping -----------------------------------------------------

  private guestNs(now = this.time.nowNs()): bigint {
    return this.baseRtcNs + (now - this.baseMonoNs);
  }

  private setGuestNs(ns: bigint): void {
    this.baseRtcNs = ns;
    this.baseMonoNs = this.time.nowNs();
    this.lastUpdateSec = floorDiv(ns, NS_PER_SEC);
    this.lastPeriodicIndex = this.periodicIndex();
    this.armTimers();
  }

  private subSecondPhase(): bigint {
    return floorMod(this.guestNs(), NS_PER_SEC);
  }

  private dividerInReset(): boolean {
    return ((this.cmos[RTC_REG_A] ?? 0) & 0x60) === 0x60;
  }

  /** Registers follow the clock: SET clear and the divider in a counting mode (QEMU rtc_running). */
  private running(): boolean {
    return !((this.cmos[RTC_REG_B] ?? 0) & REG_B_SET) && ((this.cmos[RTC_REG_A] ?? 0) & REG_A_DV_MASK) <= 0x20;
  }

  private updateInProgress(): boolean {
    if (!this.running()) return false;
    return this.subSecondPhase() >= NS_PER_SEC - UIP_HOLD_NS;
  }

  private binaryMode(): boolean {
    return ((this.cmos[RTC_REG_B] ?? 0) & REG_B_DM) !== 0;
  }

  private toReg(n: number): number {
    const v = ((n % 100) + 100) % 100;
    return this.binaryMode() ? v : ((Math.floor(v / 10) << 4) | (v % 10));
  }

  private fromReg(r: number): number {
    return this.binaryMode() ? r : (r >> 4) * 10 + (r & 0x0f);
  }

  private encodeHour(hour: number): number {
    if ((this.cmos[RTC_REG_B] ?? 0) & REG_B_24H) return this.toReg(hour);
    // 12-hour mode: 1-12 with bit 7 = PM (MC146818A Table 3).
    const h12 = hour % 12 === 0 ? 12 : hour % 12;
    return this.toReg(h12) | (hour >= 12 ? 0x80 : 0);
  }

  private decodeHour(r: number): number {
    let hour = this.fromReg(r & 0x7f);
    if (!((this.cmos[RTC_REG_B] ?? 0) & REG_B_24H)) {
      hour %= 12;
      if (r & 0x80) hour += 12;
    }
    return hour;
  }

  private refreshTimeRegisters(): void {
    const t = timeFromEpochSeconds(floorDiv(this.guestNs(), NS_PER_SEC));
    const c = this.cmos;
    c[RTC_SECONDS] = this.toReg(t.second);
    c[RTC_MINUTES] = this.toReg(t.minute);
    c[RTC_HOURS] = this.encodeHour(t.hour);
    c[RTC_DAY_OF_WEEK] = this.toReg(t.weekday);
    c[RTC_DAY_OF_MONTH] = this.toReg(t.day);
    c[RTC_MONTH] = this.toReg(t.month);
    c[RTC_YEAR] = this.toReg(t.year % 100);
    c[RTC_CENTURY] = this.toReg(Math.floor(t.year / 100));
  }

  private setTimeFromRegisters(phaseNs: bigint): void {
    const c = this.cmos;
    const year = this.fromReg(c[RTC_CENTURY] ?? 0) * 100 + this.fromReg(c[RTC_YEAR] ?? 0);
    const sec = epochSecondsFromTime({
      year,
      month: this.fromReg(c[RTC_MONTH] ?? 1),
      day: this.fromReg(c[RTC_DAY_OF_MONTH] ?? 1),
      hour: this.decodeHour(c[RTC_HOURS] ?? 0),
      minute: this.fromReg(c[RTC_MINUTES] ?? 0),
      second: this.fromReg(c[RTC_SECONDS] ?? 0),
    });
    this.setGuestNs(sec * NS_PER_SEC + phaseNs);
  }

  // ---- Update cycle and alarm ---------------------------------------------

  private alarmMatches(sec: number, min: number, hour: number): boolean {
    // The alarm compares register bytes in the current format (MC146818A "Alarm").
    const match = (alarmReg: number, value: number) =>
      (alarmReg & ALARM_DONT_CARE) === ALARM_DONT_CARE || alarmReg === value;
    const c = this.cmos;
    return (
      match(c[RTC_SECONDS_ALARM] ?? 0, this.toReg(sec)) &&
      match(c[RTC_MINUTES_ALARM] ?? 0, this.toReg(min)) &&
      match(c[RTC_HOURS_ALARM] ?? 0, this.encodeHour(hour))
    );
  }

  private onUpdateTimer(): void {
    if (this.dividerInReset()) return;
    const sec = floorDiv(this.guestNs(), NS_PER_SEC);
    if (sec > this.lastUpdateSec) {
      let flags = REG_C_UF;
      if (this.running()) {
        // Every missed second is an update; a day covers every alarm pattern.
        const first = sec - this.lastUpdateSec > NS_PER_DAY_SEC ? sec - NS_PER_DAY_SEC + 1n : this.lastUpdateSec + 1n;
        for (let s = first; s <= sec; s++) {
          const sod = Number(floorMod(s, NS_PER_DAY_SEC));
          if (this.alarmMatches(sod % 60, Math.floor(sod / 60) % 60, Math.floor(sod / 3600))) {
            flags |= REG_C_AF;
            break;
          }
        }
      } else {
        // SET: updates (and their interrupts) continue but the time does not
        // advance (QEMU: "setting the SET bit allows them to occur").
        const c = this.cmos;
        if (this.alarmMatches(this.fromReg(c[RTC_SECONDS] ?? 0), this.fromReg(c[RTC_MINUTES] ?? 0), this.decodeHour(c[RTC_HOURS] ?? 0))) {
          flags |= REG_C_AF;
        }
      }
      this.lastUpdateSec = sec;
      this.raiseFlags(flags);
    }
    this.armUpdateTimer();
  }

  // ---- Periodic interrupt ---------------------------------------------------

  private periodCycles(): bigint {
    return BigInt(periodicPeriodCycles(this.cmos[RTC_REG_A] ?? 0));
  }

  /** How many periodic edges of the divider chain lie before the current guest time. */
  private periodicIndex(): bigint {
    const period = this.periodCycles();
    if (period === 0n) return 0n;
    return floorDiv(floorDiv(this.guestNs() * RTC_CLOCK_RATE, NS_PER_SEC), period);
  }

  /** PF is set at the periodic rate even with PIE off (MC146818A register C); account for it lazily. */
  private accountPeriodicFlag(): void {
    if (this.periodCycles() === 0n || this.dividerInReset()) return;
    const idx = this.periodicIndex();
    if (idx > this.lastPeriodicIndex) this.cmos[RTC_REG_C] = (this.cmos[RTC_REG_C] ?? 0) | REG_C_PF;
    this.lastPeriodicIndex = idx;
  }

  private onPeriodicTimer(): void {
    this.lastPeriodicIndex = this.periodicIndex();
    this.raiseFlags(REG_C_PF);
    this.armPeriodicTimer();
  }

  // ---- Timers and the line -------------------------------------------------

  private armTimers(): void {
    this.armUpdateTimer();
    this.armPeriodicTimer();
  }

  private armUpdateTimer(): void {
    // "Holding the dividers in reset prevents interrupts from operating" (MC146818A).
    if (this.dividerInReset()) {
      this.updateTimer.del();
      return;
    }
    const now = this.time.nowNs();
    this.updateTimer.mod(now + (NS_PER_SEC - floorMod(this.guestNs(now), NS_PER_SEC)));
  }

  private armPeriodicTimer(): void {
    const period = this.periodCycles();
    if (period === 0n || this.dividerInReset() || !((this.cmos[RTC_REG_B] ?? 0) & REG_B_PIE)) {
      this.periodicTimer.del();
      return;
    }
    const now = this.time.nowNs();
    const g = this.guestNs(now);
    const nextEdge = (floorDiv(floorDiv(g * RTC_CLOCK_RATE, NS_PER_SEC), period) + 1n) * period;
    const edgeNs = -floorDiv(-nextEdge * NS_PER_SEC, RTC_CLOCK_RATE); // ceil
    this.periodicTimer.mod(now + (edgeNs - g));
  }

  private raiseFlags(flags: number): void {
    const c = this.cmos[RTC_REG_C] ?? 0;
    const fresh = flags & ~c;
    let next = c | flags;
    if (fresh & (this.cmos[RTC_REG_B] ?? 0) & REG_C_MASK) {
      next |= REG_C_IRQF;
      this.setLine(true);
    }
    this.cmos[RTC_REG_C] = next;
  }

  private setLine(level: boolean): void {
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq.set(level);
  }
}

/**
 * The memory-size bytes microvm writes into CMOS (QEMU hw/i386/microvm.c,
 * microvm_set_rtc): base memory in KiB, extended memory above 1 MiB in KiB,
 * memory above 16 MiB in 64 KiB units, memory above 4 GiB in 64 KiB units.
 */
export function setMicrovmCmosMemory(rtc: Mc146818Rtc, below4gBytes: number, above4gBytes: number): void {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  let val = Math.min(Math.floor(below4gBytes / KiB), 640);
  rtc.setCmos(0x15, val);
  rtc.setCmos(0x16, val >> 8);
  val = below4gBytes > MiB ? Math.min(Math.floor((below4gBytes - MiB) / KiB), 65535) : 0;
  rtc.setCmos(0x17, val);
  rtc.setCmos(0x18, val >> 8);
  rtc.setCmos(0x30, val);
  rtc.setCmos(0x31, val >> 8);
  val = below4gBytes > 16 * MiB ? Math.min(Math.floor((below4gBytes - 16 * MiB) / (64 * KiB)), 65535) : 0;
  rtc.setCmos(0x34, val);
  rtc.setCmos(0x35, val >> 8);
  val = Math.floor(above4gBytes / 65536);
  rtc.setCmos(0x5b, val);
  rtc.setCmos(0x5c, val >> 8);
  rtc.setCmos(0x5d, val >> 16);
}
