/**
 * Character backends: where a serial port's bytes go on the host (QEMU's
 * `-serial` / chardev). A backend only moves bytes; the UART state machine
 * lives in devices/, and `SerialPort` (serial-port.ts) joins the two with flow
 * control so host input is never dropped when the guest's FIFO is full.
 */

export interface CharBackend {
  /** Guest output. Never throws; a slow or absent sink buffers or discards (per backend). */
  write(bytes: Uint8Array): void;
  /** Set the consumer of host input (one consumer; a later call replaces it). */
  onInput(cb: (bytes: Uint8Array) => void): void;
  /** Set the consumer of a host-side break (stdio `C-a b`). Backends without breaks never call it. */
  onBreak(cb: () => void): void;
  /** Stop delivering input: the source is paused and bytes wait there (flow control). */
  pauseInput(): void;
  /** Resume delivering input after `pauseInput`. */
  resumeInput(): void;
  /**
   * Settles when the guest may start: at once for most backends; for a
   * `tcp:...,server` with wait (QEMU's default) when the first client has
   * connected; rejects if a tcp client cannot connect.
   */
  readonly ready: Promise<void>;
  /** Release host resources (terminal mode, sockets, files). Idempotent. */
  close(): Promise<void>;
}

export type CharBackendErrorCode = 'FILE_OPEN' | 'TCP_CONNECT' | 'TCP_LISTEN' | 'BAD_CONFIG';

export class CharBackendError extends Error {
  override readonly name = 'CharBackendError';
  constructor(readonly code: CharBackendErrorCode, msg: string, options?: { cause?: unknown }) {
    super(msg, options);
  }
}

/** Shared plumbing: the input/break consumers and the pause state. */
export abstract class BackendBase {
  protected inputCb: ((bytes: Uint8Array) => void) | undefined;
  protected breakCb: (() => void) | undefined;
  protected paused = false;

  /** Input that arrived before a consumer was set: handed over on `onInput`. */
  private early: Uint8Array[] = [];

  onInput(cb: (bytes: Uint8Array) => void): void {
    this.inputCb = cb;
    const early = this.early;
    this.early = [];
    for (const b of early) cb(b);
  }

  onBreak(cb: () => void): void {
    this.breakCb = cb;
  }

  protected deliver(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.inputCb) this.inputCb(bytes);
    else this.early.push(Uint8Array.from(bytes));
  }
}
