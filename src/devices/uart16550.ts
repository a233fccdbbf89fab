/**
 * 16550A UART (COM1 on microvm: port 0x3f8, IRQ 4).
 *
 * Registers and bits follow the National Semiconductor PC16550D datasheet
 * ("PC16550D Universal Asynchronous Receiver/Transmitter with FIFOs", §8).
 * Where a guest-visible detail is not pinned down by the datasheet, or QEMU
 * differs from it, we do what QEMU's hw/char/serial.c does, because the guests
 * we run were tested against QEMU; each such place says so.
 *
 * Transmission is instantaneous (as in QEMU): a byte written to THR goes to the
 * `tx` callback at once, so THRE/TEMT are set again before the write returns.
 * Reception is paced by the backend through `canReceive()`, like QEMU's
 * `serial_can_receive`, so host input waits in the backend instead of being
 * lost to an overrun.
 */
import type { AccessSize, BusDevice } from '../memory/bus.js';
import type { IrqLine } from './irq.js';
import type { DeviceTimer, TimeSource } from './clock.js';

// Register offsets (PC16550D Table II). DLAB = LCR bit 7 selects DLL/DLM at 0/1.
export const UART_RBR = 0; // read, DLAB=0
export const UART_THR = 0; // write, DLAB=0
export const UART_DLL = 0; // DLAB=1
export const UART_IER = 1; // DLAB=0
export const UART_DLM = 1; // DLAB=1
export const UART_IIR = 2; // read
export const UART_FCR = 2; // write
export const UART_LCR = 3;
export const UART_MCR = 4;
export const UART_LSR = 5;
export const UART_MSR = 6;
export const UART_SCR = 7;
export const UART_REGISTER_COUNT = 8;

// IER (PC16550D §8.6.2)
export const IER_ERBFI = 0x01; // received data available
export const IER_ETBEI = 0x02; // transmitter holding register empty
export const IER_ELSI = 0x04; // receiver line status
export const IER_EDSSI = 0x08; // modem status

// IIR (PC16550D Table IV): bit 0 = 1 means "no interrupt pending".
export const IIR_NO_INT = 0x01;
export const IIR_ID_MASK = 0x0e;
export const IIR_MSI = 0x00; // modem status (priority 4)
export const IIR_THRI = 0x02; // THR empty (priority 3)
export const IIR_RDI = 0x04; // received data available (priority 2)
export const IIR_RLSI = 0x06; // receiver line status (priority 1)
export const IIR_CTI = 0x0c; // character timeout (priority 2)
export const IIR_FIFO_ENABLED = 0xc0; // bits 6-7 set when FCR bit 0 = 1

// FCR (PC16550D §8.5)
export const FCR_FIFO_ENABLE = 0x01;
export const FCR_RCVR_RESET = 0x02;
export const FCR_XMIT_RESET = 0x04;
export const FCR_DMA_MODE = 0x08;
export const FCR_TRIGGER_MASK = 0xc0;

// LCR (PC16550D §8.2)
export const LCR_WLS_MASK = 0x03;
export const LCR_STB = 0x04;
export const LCR_PEN = 0x08;
export const LCR_EPS = 0x10;
export const LCR_SBRK = 0x40;
export const LCR_DLAB = 0x80;

// MCR (PC16550D §8.8)
export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

// LSR (PC16550D §8.4)
export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_PE = 0x04;
export const LSR_FE = 0x08;
export const LSR_BI = 0x10;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
export const LSR_RCVR_FIFO_ERROR = 0x80;
/** The LSR bits that raise a receiver line status interrupt. */
export const LSR_INT_ANY = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

// MSR (PC16550D §8.9)
export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;
export const MSR_ANY_DELTA = 0x0f;

export const UART_FIFO_LENGTH = 16;
/** The 1.8432 MHz crystal divided by 16: divisor 1 = 115200 baud. */
export const UART_BAUD_BASE = 115200;

/**
 * The modem inputs of our virtual line when not in loopback: carrier, data
 * set ready and clear to send asserted, no ring (QEMU's reset MSR value).
 */
const MSR_EXTERNAL_INPUTS = MSR_DCD | MSR_DSR | MSR_CTS;

/** Receiver FIFO trigger levels for FCR bits 7:6 (PC16550D Table III). */
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

export interface Uart16550State {
  version: 1;
  divisor: number;
  ier: number;
  lcr: number;
  mcr: number;
  /** OE/PE/FE/BI and THRE/TEMT; DR is derived from `rx`. */
  lsr: number;
  msr: number;
  scr: number;
  fcr: number;
  /** THRE interrupt pending: set when THR empties, cleared by an IIR read that reports it or a THR write. */
  thrIpending: boolean;
  /** Character timeout indication pending. */
  timeoutIpending: boolean;
  /** Receiver FIFO (or the single RBR when FIFOs are off), oldest first. */
  rx: number[];
  /** The last character read from RBR: with FIFOs off, reading an empty RBR returns it again. */
  rbr: number;
}

export function uart16550Reset(): Uart16550State {
  // QEMU serial_reset_hold: 9600 baud (divisor 12), OUT2 set, THR/TSR empty.
  return {
    version: 1,
    divisor: 12,
    ier: 0,
    lcr: 0,
    mcr: MCR_OUT2,
    lsr: LSR_THRE | LSR_TEMT,
    msr: MSR_EXTERNAL_INPUTS,
    scr: 0,
    fcr: 0,
    thrIpending: false,
    timeoutIpending: false,
    rx: [],
    rbr: 0,
  };
}

export class Uart16550StateError extends Error {
  override readonly name = 'Uart16550StateError';
}

function isByte(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff;
}

/** Validate an untrusted saved state; throws Uart16550StateError naming the bad field. */
export function parseUart16550State(raw: unknown): Uart16550State {
  if (typeof raw !== 'object' || raw === null) throw new Uart16550StateError('state is not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) throw new Uart16550StateError(`unsupported state version ${String(o.version)}`);
  const byte = (k: string): number => {
    const v = o[k];
    if (!isByte(v)) throw new Uart16550StateError(`${k} is not a byte`);
    return v;
  };
  const bool = (k: string): boolean => {
    const v = o[k];
    if (typeof v !== 'boolean') throw new Uart16550StateError(`${k} is not a boolean`);
    return v;
  };
  const divisor = o.divisor;
  if (typeof divisor !== 'number' || !Number.isInteger(divisor) || divisor < 0 || divisor > 0xffff) {
    throw new Uart16550StateError('divisor is not a 16-bit value');
  }
  const rx = o.rx;
  if (!Array.isArray(rx) || rx.length > UART_FIFO_LENGTH || !rx.every(isByte)) {
    throw new Uart16550StateError(`rx is not an array of at most ${UART_FIFO_LENGTH} bytes`);
  }
  const s: Uart16550State = {
    version: 1,
    divisor,
    ier: byte('ier') & 0x0f,
    lcr: byte('lcr'),
    mcr: byte('mcr') & 0x1f,
    lsr: byte('lsr'),
    msr: byte('msr'),
    scr: byte('scr'),
    fcr: byte('fcr') & (FCR_FIFO_ENABLE | FCR_DMA_MODE | FCR_TRIGGER_MASK),
    thrIpending: bool('thrIpending'),
    timeoutIpending: bool('timeoutIpending'),
    rx: [...rx],
    rbr: o.rbr === undefined ? 0 : byte('rbr'),
  };
  if (!(s.fcr & FCR_FIFO_ENABLE) && s.rx.length > 1) throw new Uart16550StateError('rx holds more than one byte with FIFOs off');
  return s;
}

export interface Uart16550Options {
  /**
   * Clock and timers for the character timeout (PC16550D §8.6.4: 4 character
   * times without FIFO activity). Without one, the timeout is taken to elapse
   * at once, so input below the trigger level is still reported.
   */
  time?: TimeSource;
  initialState?: Uart16550State;
}

/** Named counters (firecracker style): things a guest did that we ignored. */
export interface Uart16550Counters {
  /** Bytes handed to `tx`. */
  txBytes: number;
  /** Bytes lost to a receiver overrun (LSR.OE). */
  rxOverruns: number;
  /** Host bytes dropped because the receiver was in loopback. */
  rxDroppedInLoopback: number;
  /** Accesses at an offset outside the 8 registers. */
  badOffsetAccesses: number;
}

export class Uart16550 implements BusDevice {
  private s: Uart16550State;
  private irqLevel = false;
  private readonly timeoutTimer: DeviceTimer | undefined;
  private rxSpaceListener: (() => void) | undefined;
  readonly counters: Uart16550Counters = { txBytes: 0, rxOverruns: 0, rxDroppedInLoopback: 0, badOffsetAccesses: 0 };

  constructor(
    private readonly irq: IrqLine,
    private readonly tx: (byte: number) => void,
    private readonly opts: Uart16550Options = {},
  ) {
    this.s = opts.initialState ? parseUart16550State(opts.initialState) : uart16550Reset();
    this.timeoutTimer = opts.time?.createTimer(() => this.characterTimeout());
    this.updateIrq();
  }

  // ---- Bus interface --------------------------------------------------

  read(offset: number, size: AccessSize): number {
    // QEMU implements the UART with 1-byte accesses only; a wider access is
    // split by the memory core into byte accesses at consecutive offsets.
    let value = 0;
    for (let i = 0; i < size; i++) value += this.readByte(offset + i) * 2 ** (8 * i);
    return value;
  }

  write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(offset + i, Math.floor(value / 2 ** (8 * i)) & 0xff);
  }

  // ---- Host side ------------------------------------------------------

  /**
   * How many bytes the receiver takes now without losing any (QEMU's
   * serial_can_receive): up to the trigger level, then one at a time until the
   * FIFO is full, so the guest sees its trigger level honoured. 0 in loopback
   * (PC16550D §8.8: the serial input is disconnected).
   */
  canReceive(): number {
    const s = this.s;
    if (s.mcr & MCR_LOOP) return 0;
    if (s.fcr & FCR_FIFO_ENABLE) {
      const itl = this.triggerLevel();
      if (s.rx.length < itl) return itl - s.rx.length;
      return s.rx.length < UART_FIFO_LENGTH ? 1 : 0;
    }
    return s.rx.length === 0 ? 1 : 0;
  }

  /** Bytes arriving on the serial input. Bytes beyond `canReceive()` overrun as on the wire. */
  receive(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.s.mcr & MCR_LOOP) {
      this.counters.rxDroppedInLoopback += bytes.length;
      return;
    }
    this.receiveLine(bytes);
  }

  /** A break condition on the serial input (e.g. Ctrl-A b): a 0 byte with LSR.BI (PC16550D §8.4, bit 4). */
  receiveBreak(): void {
    if (this.s.mcr & MCR_LOOP) return;
    this.rxPut(0);
    this.s.lsr |= LSR_BI;
    this.armCharacterTimeout();
    this.updateIrq();
  }

  /** Called whenever receiver space may have appeared (QEMU's qemu_chr_fe_accept_input). */
  setRxSpaceListener(cb: (() => void) | undefined): void {
    this.rxSpaceListener = cb;
  }

  /** True while the interrupt output is asserted. */
  get irqAsserted(): boolean {
    return this.irqLevel;
  }

  reset(): void {
    this.timeoutTimer?.del();
    this.s = uart16550Reset();
    this.updateIrq();
    this.notifyRxSpace();
  }

  saveState(): Uart16550State {
    return structuredClone(this.s);
  }

  /** Restore from untrusted data (validated; throws Uart16550StateError and keeps the old state on error). */
  restoreState(raw: unknown): void {
    const s = parseUart16550State(raw);
    this.timeoutTimer?.del();
    this.s = s;
    if (s.rx.length > 0 && (s.fcr & FCR_FIFO_ENABLE)) this.armCharacterTimeout();
    // Drive the line to the restored level even if it looks unchanged.
    this.irqLevel = this.pendingId() !== IIR_NO_INT;
    this.irq.set(this.irqLevel);
    this.notifyRxSpace();
  }

  // ---- Registers --------------------------------------------------------

  private readByte(offset: number): number {
    const s = this.s;
    switch (offset) {
      case UART_RBR:
        if (s.lcr & LCR_DLAB) return s.divisor & 0xff;
        return this.readRbr();
      case UART_IER:
        if (s.lcr & LCR_DLAB) return (s.divisor >> 8) & 0xff;
        return s.ier;
      case UART_IIR: {
        const iir = this.computeIir();
        // Reading IIR when it reports THRE clears that source (PC16550D Table IV).
        if ((iir & IIR_ID_MASK) === IIR_THRI && !(iir & IIR_NO_INT)) {
          s.thrIpending = false;
          this.updateIrq();
        }
        return iir;
      }
      case UART_LCR:
        return s.lcr;
      case UART_MCR:
        return s.mcr;
      case UART_LSR: {
        const v = this.lsrValue();
        // OE and BI clear on LSR read (PC16550D §8.4); BI also goes with its character.
        if (s.lsr & (LSR_OE | LSR_BI)) {
          s.lsr &= ~(LSR_OE | LSR_BI);
          this.updateIrq();
        }
        return v;
      }
      case UART_MSR: {
        const v = s.msr;
        if (s.msr & MSR_ANY_DELTA) {
          s.msr &= ~MSR_ANY_DELTA;
          this.updateIrq();
        }
        return v;
      }
      case UART_SCR:
        return s.scr;
      default:
        this.counters.badOffsetAccesses++;
        return 0;
    }
  }

  private writeByte(offset: number, v: number): void {
    const s = this.s;
    switch (offset) {
      case UART_THR:
        if (s.lcr & LCR_DLAB) {
          s.divisor = (s.divisor & 0xff00) | v;
          return;
        }
        this.writeThr(v);
        return;
      case UART_IER: {
        if (s.lcr & LCR_DLAB) {
          s.divisor = (s.divisor & 0x00ff) | (v << 8);
          return;
        }
        const changed = (s.ier ^ v) & 0x0f;
        s.ier = v & 0x0f;
        // Enabling ETBEI while THR is empty raises THRE again even if an IIR
        // read had cleared it. Not in the datasheet; QEMU (serial.c) does it
        // on the rising edge of IER.THRI because Windows relies on it.
        if (changed & IER_ETBEI) s.thrIpending = (s.ier & IER_ETBEI) !== 0 && (s.lsr & LSR_THRE) !== 0;
        this.updateIrq();
        return;
      }
      case UART_FCR:
        this.writeFcr(v);
        return;
      case UART_LCR:
        s.lcr = v;
        return;
      case UART_MCR:
        this.writeMcr(v);
        return;
      case UART_LSR:
      case UART_MSR:
        // Writing the status registers has no defined effect (QEMU ignores it).
        return;
      case UART_SCR:
        s.scr = v;
        return;
      default:
        this.counters.badOffsetAccesses++;
    }
  }

  private readRbr(): number {
    const s = this.s;
    // 16450 mode: RBR is a register that keeps its character; FIFO mode: an
    // empty FIFO reads 0 (QEMU serial_ioport_read).
    const next = s.rx.shift();
    const v = next ?? (s.fcr & FCR_FIFO_ENABLE ? 0 : s.rbr);
    s.rbr = v;
    if (s.rx.length === 0) {
      s.lsr &= ~LSR_BI;
      this.timeoutTimer?.del();
    } else if (s.fcr & FCR_FIFO_ENABLE) {
      this.armCharacterTimeout();
    }
    s.timeoutIpending = false;
    this.updateIrq();
    this.notifyRxSpace();
    return v;
  }

  private writeThr(v: number): void {
    const s = this.s;
    s.thrIpending = false;
    s.lsr &= ~(LSR_THRE | LSR_TEMT);
    this.updateIrq();
    // Instant transmission (as QEMU): the byte leaves the shift register now.
    s.lsr |= LSR_THRE;
    s.thrIpending = true;
    this.updateIrq();
    if (s.mcr & MCR_LOOP) {
      // PC16550D §8.8: in loopback the transmitter output is looped to the receiver input.
      this.receiveLine(Uint8Array.of(v));
    } else {
      this.counters.txBytes++;
      this.tx(v);
    }
    s.lsr |= LSR_TEMT;
  }

  private writeFcr(value: number): void {
    const s = this.s;
    let v = value;
    // Changing FIFO enable clears both FIFOs (PC16550D §8.5, bit 0).
    if ((v ^ s.fcr) & FCR_FIFO_ENABLE) v |= FCR_RCVR_RESET | FCR_XMIT_RESET;
    let freed = false;
    if (v & FCR_RCVR_RESET) {
      freed = s.rx.length > 0;
      s.rx = [];
      s.lsr &= ~LSR_BI;
      s.timeoutIpending = false;
      this.timeoutTimer?.del();
    }
    if (v & FCR_XMIT_RESET) {
      // The transmit FIFO is always empty here (instant transmission); a reset
      // re-signals THRE as QEMU does.
      s.lsr |= LSR_THRE | LSR_TEMT;
      s.thrIpending = true;
    }
    // Bits 1-2 are self-clearing; bits 4-5 reserved.
    s.fcr = v & (FCR_FIFO_ENABLE | FCR_DMA_MODE | FCR_TRIGGER_MASK);
    this.updateIrq();
    if (freed) this.notifyRxSpace();
  }

  private writeMcr(v: number): void {
    const s = this.s;
    const wasLoop = (s.mcr & MCR_LOOP) !== 0;
    s.mcr = v & 0x1f;
    const isLoop = (s.mcr & MCR_LOOP) !== 0;
    if (isLoop || wasLoop) this.setModemInputs(isLoop ? this.loopbackInputs() : MSR_EXTERNAL_INPUTS);
    this.updateIrq();
    if (wasLoop && !isLoop) this.notifyRxSpace();
  }

  /** PC16550D §8.8: in loopback DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
  private loopbackInputs(): number {
    const m = this.s.mcr;
    return (
      (m & MCR_DTR ? MSR_DSR : 0) |
      (m & MCR_RTS ? MSR_CTS : 0) |
      (m & MCR_OUT1 ? MSR_RI : 0) |
      (m & MCR_OUT2 ? MSR_DCD : 0)
    );
  }

  /** Set MSR bits 4-7 and the delta bits for every change (TERI only on RI 1 -> 0). */
  private setModemInputs(inputs: number): void {
    const s = this.s;
    const old = s.msr & 0xf0;
    const changed = (old ^ inputs) >> 4;
    let delta = changed & (MSR_DCTS | MSR_DDSR | MSR_DDCD);
    if (changed & MSR_TERI && old & MSR_RI) delta |= MSR_TERI;
    s.msr = inputs | (s.msr & MSR_ANY_DELTA) | delta;
  }

  // ---- Receiver ---------------------------------------------------------

  private receiveLine(bytes: Uint8Array): void {
    for (const b of bytes) this.rxPut(b);
    this.armCharacterTimeout();
    this.updateIrq();
  }

  private rxPut(b: number): void {
    const s = this.s;
    if (s.fcr & FCR_FIFO_ENABLE) {
      // FIFO mode overrun: the FIFO keeps its contents, the new character is lost (PC16550D §8.4 bit 1).
      if (s.rx.length >= UART_FIFO_LENGTH) {
        s.lsr |= LSR_OE;
        this.counters.rxOverruns++;
        return;
      }
      s.rx.push(b);
      return;
    }
    // 16450 mode: a character arriving while DR is set overwrites RBR and sets OE.
    if (s.rx.length > 0) {
      s.lsr |= LSR_OE;
      this.counters.rxOverruns++;
      s.rx[0] = b;
      return;
    }
    s.rx.push(b);
  }

  private triggerLevel(): number {
    return TRIGGER_LEVELS[(this.s.fcr >> 6) & 3] ?? 1;
  }

  /** Nanoseconds per character at the programmed divisor and frame format (QEMU serial_update_parameters). */
  characterTimeNs(): number {
    const s = this.s;
    const dataBits = (s.lcr & LCR_WLS_MASK) + 5;
    const frameBits = 1 + dataBits + (s.lcr & LCR_PEN ? 1 : 0) + (s.lcr & LCR_STB ? 2 : 1);
    // QEMU: "Zero divisor should give about 3500 baud".
    const baud = s.divisor === 0 ? 3500 : UART_BAUD_BASE / s.divisor;
    return Math.round((1e9 / baud) * frameBits);
  }

  private armCharacterTimeout(): void {
    const s = this.s;
    if (!(s.fcr & FCR_FIFO_ENABLE) || s.rx.length === 0) return;
    const time = this.opts.time;
    if (!time || !this.timeoutTimer) {
      s.timeoutIpending = true;
      return;
    }
    this.timeoutTimer.mod(time.nowNs() + BigInt(4 * this.characterTimeNs()));
  }

  private characterTimeout(): void {
    // PC16550D §8.6.4: no character in or out of the FIFO for 4 character times.
    if (this.s.rx.length > 0 && (this.s.fcr & FCR_FIFO_ENABLE)) {
      this.s.timeoutIpending = true;
      this.updateIrq();
    }
  }

  private notifyRxSpace(): void {
    if (this.rxSpaceListener && this.canReceive() > 0) this.rxSpaceListener();
  }

  // ---- Interrupts ---------------------------------------------------------

  private lsrValue(): number {
    const s = this.s;
    let v = s.lsr & ~(LSR_DR | LSR_RCVR_FIFO_ERROR);
    if (s.rx.length > 0) v |= LSR_DR;
    // Bit 7: an error (here only a break) is in the receiver FIFO (PC16550D §8.4).
    if (s.fcr & FCR_FIFO_ENABLE && s.lsr & LSR_BI) v |= LSR_RCVR_FIFO_ERROR;
    return v;
  }

  /** The interrupt identification in priority order (PC16550D Table IV). */
  private pendingId(): number {
    const s = this.s;
    if (s.ier & IER_ELSI && s.lsr & LSR_INT_ANY) return IIR_RLSI;
    // QEMU (and observed hardware): IER.ERBFI also masks the character timeout.
    if (s.ier & IER_ERBFI && s.timeoutIpending) return IIR_CTI;
    if (s.ier & IER_ERBFI && s.rx.length > 0 && (!(s.fcr & FCR_FIFO_ENABLE) || s.rx.length >= this.triggerLevel())) {
      return IIR_RDI;
    }
    if (s.ier & IER_ETBEI && s.thrIpending) return IIR_THRI;
    if (s.ier & IER_EDSSI && s.msr & MSR_ANY_DELTA) return IIR_MSI;
    return IIR_NO_INT;
  }

  private computeIir(): number {
    return this.pendingId() | (this.s.fcr & FCR_FIFO_ENABLE ? IIR_FIFO_ENABLED : 0);
  }

  private updateIrq(): void {
    // MCR.OUT2 gates the interrupt onto the ISA bus on a PC, but QEMU's 16550
    // does not model that gate and guests are tested against QEMU, so neither
    // do we: the line follows the pending interrupt alone.
    const level = this.pendingId() !== IIR_NO_INT;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq.set(level);
  }
}
