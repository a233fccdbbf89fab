/**
 * `-serial stdio`: the guest console on the process's terminal.
 *
 * When stdin is a TTY it is put in raw mode (every key goes to the guest, no
 * echo or line editing, as QEMU's stdio chardev does) and restored on close,
 * on process exit (including a crash: Node emits `exit` after an uncaught
 * exception) and on SIGTERM/SIGHUP/SIGINT/SIGQUIT; if no other listener
 * handles that signal, its default action is then taken again.
 *
 * QEMU's console escapes work (escape.ts): C-a x quits, C-a h prints help,
 * C-a b sends a break, C-a C-a sends C-a, C-a t toggles timestamps; C-a c
 * would open the monitor, which we do not have. Ctrl-C quits like QEMU's
 * stdio `signal=on` default, unless `signal: false` passes it to the guest.
 */
import type { Readable, Writable } from 'node:stream';
import { BackendBase, type CharBackend } from './backend.js';
import { EscapeDecoder, escapeHelpText } from './escape.js';

export type QuitReason = 'escape' | 'interrupt';

/** The parts of a TTY read stream we use (process.stdin, or a fake in tests). */
export interface StdioInput extends Readable {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  isRaw?: boolean;
}

export interface StdioBackendOptions {
  input?: StdioInput;
  output?: Writable;
  /** Interpret C-a escapes (default true). */
  escapes?: boolean;
  /** Ctrl-C quits instead of reaching the guest (default true, QEMU's stdio default). */
  signal?: boolean;
  /** Put a TTY input in raw mode (default true). */
  rawMode?: boolean;
  /**
   * Called for C-a x and Ctrl-C. Default: restore the terminal and exit the
   * process with status 0 (QEMU exits 0 after "C-a x").
   */
  onQuit?: (reason: QuitReason) => void;
  /** Wall clock for C-a t timestamps (tests pin it). */
  nowMs?: () => number;
  /** Install process exit/signal hooks that restore the terminal (default true). */
  processHooks?: boolean;
}

const RESTORE_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const;

export class StdioBackend extends BackendBase implements CharBackend {
  readonly ready: Promise<void> = Promise.resolve();
  private readonly input: StdioInput;
  private readonly output: Writable;
  private readonly decoder: EscapeDecoder | undefined;
  private readonly signalQuits: boolean;
  private readonly nowMs: () => number;
  private rawModeSet = false;
  private closed = false;
  private timestamps = false;
  private timestampsStart = 0;
  private lineStart = false;
  private readonly onData = (chunk: Buffer | string) => this.handleInput(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  private readonly exitHook = () => this.restoreTerminal();
  private readonly signalHooks = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly opts: StdioBackendOptions = {}) {
    super();
    this.input = opts.input ?? process.stdin;
    this.output = opts.output ?? process.stdout;
    this.signalQuits = opts.signal ?? true;
    this.decoder = (opts.escapes ?? true) ? new EscapeDecoder({ signal: this.signalQuits }) : undefined;
    this.nowMs = opts.nowMs ?? Date.now;

    if ((opts.rawMode ?? true) && this.input.isTTY && typeof this.input.setRawMode === 'function') {
      this.input.setRawMode(true);
      this.rawModeSet = true;
    }
    if (opts.processHooks ?? true) {
      process.on('exit', this.exitHook);
      for (const sig of RESTORE_SIGNALS) {
        const hook = () => {
          this.restoreTerminal();
          this.removeProcessHooks();
          // If nobody else handles the signal (the machine's run loop usually
          // does), take its default action now that the terminal is sane.
          if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        };
        this.signalHooks.set(sig, hook);
        process.once(sig, hook);
      }
    }
    this.input.on('data', this.onData);
    this.input.resume();
  }

  write(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    if (!this.timestamps) {
      this.output.write(bytes);
      return;
    }
    // C-a t: "[hh:mm:ss.mmm] " at each line start (QEMU mux_chr_write).
    let start = 0;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (this.lineStart) {
        if (i > start) parts.push(bytes.subarray(start, i));
        parts.push(Buffer.from(this.timestampPrefix()));
        start = i;
        this.lineStart = false;
      }
      if (bytes[i] === 0x0a) this.lineStart = true;
    }
    parts.push(bytes.subarray(start));
    this.output.write(Buffer.concat(parts));
  }

  pauseInput(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.input.pause();
  }

  resumeInput(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.input.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.pause();
    this.restoreTerminal();
    this.removeProcessHooks();
  }

  private handleInput(chunk: Uint8Array): void {
    if (this.closed) return;
    if (!this.decoder) {
      this.deliver(chunk);
      return;
    }
    for (const ev of this.decoder.feed(chunk)) {
      switch (ev.kind) {
        case 'data':
          this.deliver(ev.bytes);
          break;
        case 'help':
          this.output.write(escapeHelpText());
          break;
        case 'quit':
          this.output.write('microvm-ts: Terminated\n\r');
          this.quit('escape');
          return;
        case 'interrupt':
          this.output.write('\n\rmicrovm-ts: terminating on Ctrl-C\n\r');
          this.quit('interrupt');
          return;
        case 'break':
          this.breakCb?.();
          break;
        case 'monitor':
          this.output.write('\n\rmicrovm-ts: monitor not supported\n\r');
          break;
        case 'timestamps':
          this.timestamps = !this.timestamps;
          this.timestampsStart = this.nowMs();
          this.lineStart = false;
          break;
        case 'save':
          break; // no disks to commit
        default: {
          const never: never = ev;
          void never;
        }
      }
    }
  }

  private quit(reason: QuitReason): void {
    if (this.opts.onQuit) {
      this.opts.onQuit(reason);
      return;
    }
    this.restoreTerminal();
    process.exit(0);
  }

  private timestampPrefix(): string {
    const ti = Math.max(0, this.nowMs() - this.timestampsStart);
    const secs = Math.floor(ti / 1000);
    const two = (n: number) => String(n).padStart(2, '0');
    return `[${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}.${String(ti % 1000).padStart(3, '0')}] `;
  }

  private restoreTerminal(): void {
    if (!this.rawModeSet) return;
    this.rawModeSet = false;
    try {
      this.input.setRawMode?.(false);
    } catch {
      // The terminal may already be gone (SIGHUP); nothing left to restore.
    }
  }

  private removeProcessHooks(): void {
    process.off('exit', this.exitHook);
    for (const [sig, hook] of this.signalHooks) process.off(sig, hook);
    this.signalHooks.clear();
  }
}
