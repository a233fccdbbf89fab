/**
 * In-process console for library users (`serial: { kind: 'stream' }`): a Node
 * Duplex whose readable side is the guest's output and whose writable side is
 * the guest's input.
 *
 * Writes apply backpressure: while the UART has no room (the SerialPort has
 * paused the backend), a write's callback is held, so `stream.write()` returns
 * false and 'drain' comes when the guest has read. Guest output is pushed as
 * it comes; a reader that never reads lets it accumulate in memory.
 */
import { Duplex } from 'node:stream';
import { BackendBase, type CharBackend } from './backend.js';

export class StreamBackend extends BackendBase implements CharBackend {
  readonly ready: Promise<void> = Promise.resolve();
  readonly stream: Duplex;
  private held: { chunk: Uint8Array; cb: (err?: Error | null) => void } | undefined;
  private closed = false;

  constructor() {
    super();
    this.stream = new Duplex({
      read: () => {},
      write: (chunk: Buffer | string, _enc, cb) => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (this.closed) {
          cb();
          return;
        }
        if (this.paused) {
          this.held = { chunk: bytes, cb };
          return;
        }
        this.deliver(bytes);
        cb();
      },
      final: (cb) => cb(),
    });
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.stream.push(Buffer.from(bytes));
  }

  pauseInput(): void {
    this.paused = true;
  }

  resumeInput(): void {
    this.paused = false;
    const h = this.held;
    this.held = undefined;
    if (h) {
      this.deliver(h.chunk);
      h.cb();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const h = this.held;
    this.held = undefined;
    h?.cb();
    this.stream.push(null);
  }
}
