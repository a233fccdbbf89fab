/**
 * SerialPort: the glue between a UART (the guest side) and a CharBackend (the
 * host side), in the way QEMU's chardev front end drives hw/char/serial.c:
 *
 * - input: the backend's bytes are offered to the UART only as far as
 *   `canReceive()` allows; the rest waits here and the backend is paused, and
 *   when the guest reads RBR the UART says there is room again and feeding
 *   resumes (QEMU's can_read / accept_input), so no byte is lost;
 * - output: bytes the guest transmits are batched and written to the backend
 *   once per event-loop turn (or at 4 KiB), not one write per byte.
 *
 * Call `flush()` before ending the process (e.g. on isa-debug-exit) so the
 * guest's last bytes are written; an `exit` hook does it as a last resort.
 */
import type { CharBackend } from './backend.js';

/** What SerialPort needs from a UART (Uart16550 implements it). */
export interface SerialFrontend {
  canReceive(): number;
  receive(bytes: Uint8Array): void;
  receiveBreak(): void;
  setRxSpaceListener(cb: (() => void) | undefined): void;
}

const OUTPUT_BATCH_LIMIT = 4096;

/** Ports with possibly unflushed output; one process 'exit' hook serves them all. */
const openPorts = new Set<SerialPort>();
let exitHookInstalled = false;

function trackPort(port: SerialPort): void {
  openPorts.add(port);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of openPorts) p.flush();
  });
}

export class SerialPort {
  private uart: SerialFrontend | undefined;
  private readonly pending: Uint8Array[] = [];
  private backendPaused = false;
  private draining = false;
  private out = new Uint8Array(256);
  private outLen = 0;
  private flushScheduled = false;
  private closed = false;

  /** Pass this as the UART's `tx` callback. */
  readonly tx = (byte: number): void => {
    if (this.closed) return;
    if (this.outLen === this.out.length) {
      const bigger = new Uint8Array(this.out.length * 2);
      bigger.set(this.out);
      this.out = bigger;
    }
    this.out[this.outLen++] = byte;
    if (this.outLen >= OUTPUT_BATCH_LIMIT) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  };

  constructor(readonly backend: CharBackend) {
    backend.onInput((bytes) => this.onHostInput(bytes));
    backend.onBreak(() => this.uart?.receiveBreak());
    trackPort(this);
  }

  /** Connect the UART; input that arrived before is delivered now. */
  attach(uart: SerialFrontend): void {
    this.uart?.setRxSpaceListener(undefined);
    this.uart = uart;
    uart.setRxSpaceListener(() => this.drain());
    this.drain();
  }

  /** Write any batched guest output to the backend now. */
  flush(): void {
    if (this.outLen === 0) return;
    const chunk = this.out.slice(0, this.outLen);
    this.outLen = 0;
    this.backend.write(chunk);
  }

  /** Bytes received from the host and not yet taken by the UART. */
  get pendingInputBytes(): number {
    let n = 0;
    for (const c of this.pending) n += c.length;
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.uart?.setRxSpaceListener(undefined);
    this.uart = undefined;
    openPorts.delete(this);
    await this.backend.close();
  }

  private onHostInput(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    // Copy: a backend may reuse its buffer.
    this.pending.push(Uint8Array.from(bytes));
    this.drain();
  }

  /** Remove up to `n` pending bytes, across chunks. */
  private take(n: number): Uint8Array {
    const head = this.pending[0];
    if (head && head.length >= n) {
      if (head.length === n) this.pending.shift();
      else this.pending[0] = head.subarray(n);
      return head.subarray(0, n);
    }
    const out = new Uint8Array(Math.min(n, this.pendingInputBytes));
    let len = 0;
    while (len < out.length) {
      const c = this.pending[0];
      if (!c) break;
      const k = Math.min(c.length, out.length - len);
      out.set(c.subarray(0, k), len);
      len += k;
      if (k === c.length) this.pending.shift();
      else this.pending[0] = c.subarray(k);
    }
    return out;
  }

  private drain(): void {
    // The UART calls back into drain() from receive paths; one loop at a time.
    if (this.draining) return;
    this.draining = true;
    try {
      // One canReceive() quantum per call, like one QEMU can_read/read round:
      // the UART advertises only up to its trigger level, so the guest sees
      // its trigger level honoured; more follows as it reads RBR.
      const uart = this.uart;
      const room = uart ? uart.canReceive() : 0;
      if (uart && room > 0 && this.pending.length > 0) uart.receive(this.take(room));
    } finally {
      this.draining = false;
    }
    if (this.pending.length > 0 && !this.backendPaused) {
      this.backendPaused = true;
      this.backend.pauseInput();
    } else if (this.pending.length === 0 && this.backendPaused) {
      this.backendPaused = false;
      this.backend.resumeInput();
    }
  }
}
