/**
 * The library facade for test harnesses: boot a guest, talk to its serial
 * console, wait for output, stop it.
 *
 * ```ts
 * await using vm = await startVm({ kernel: 'guest.elf', memory: 256 * MiB });
 * await vm.waitFor(/login:/, { timeout: 10_000 });
 * vm.send('root\n');
 * ```
 */
import type { Duplex } from 'node:stream';
import type { MachineConfig } from './config.js';
import { Microvm, type ExitReason, type MachineOptions } from './microvm.js';
import { SerialPort, StreamBackend } from '../chardev/index.js';
import { resolveConfig, type VmConfigInput } from './defaults.js';

export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';
  constructor(readonly pattern: string | RegExp, readonly timeoutMs: number, readonly consoleTail: string) {
    super(`timed out after ${timeoutMs} ms waiting for ${String(pattern)} on the serial console; last output:\n${consoleTail}`);
  }
}

export class VmExitedError extends Error {
  override readonly name = 'VmExitedError';
  constructor(readonly pattern: string | RegExp, readonly reason: ExitReason, readonly consoleTail: string) {
    super(`the guest exited (${reason.kind}) before ${String(pattern)} appeared on the serial console; last output:\n${consoleTail}`);
  }
}

export interface WaitForOptions {
  /** Milliseconds; default 30 s. */
  timeout?: number;
  /** Only match output that arrives after this call (default: search all output so far). */
  fromNow?: boolean;
}

const TAIL_CHARS = 2000;

export class Vm {
  /** The guest's serial console: read guest output, write guest input. */
  readonly console: Duplex;
  readonly exited: Promise<ExitReason>;
  private out = '';
  private listeners = new Set<() => void>();

  private constructor(readonly machine: Microvm, private readonly backend: StreamBackend, private readonly port: SerialPort) {
    this.console = backend.stream;
    this.exited = machine.exited;
    machine.on('exit', () => this.notify());
  }

  /** Create the machine from `input` (CLI defaults fill the gaps) and start it. */
  static async start(input: VmConfigInput, opts: MachineOptions = {}): Promise<Vm> {
    const config: MachineConfig = resolveConfig({ ...input, serial: { kind: 'stream' } });
    const backend = new StreamBackend();
    const port = new SerialPort(backend);
    const machine = new Microvm(config, { ...opts, onSerialOutput: port.tx });
    if (machine.uart) port.attach(machine.uart);
    const vm = new Vm(machine, backend, port);
    // Collect output as text for waitFor; the Duplex remains readable for users too.
    backend.stream.on('data', (chunk: Buffer) => {
      vm.out += chunk.toString('latin1');
      vm.notify();
    });
    try {
      await machine.start();
    } catch (e) {
      await vm.stop();
      throw e;
    }
    return vm;
  }

  /** Everything the guest has written to its console so far (latin1-decoded). */
  output(): string {
    this.port.flush();
    return this.out;
  }

  /** Send text (UTF-8) or bytes to the guest's console. */
  send(data: string | Uint8Array): void {
    this.console.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /**
   * Resolve with the first match of `pattern` in the console output; reject
   * with the console tail on timeout or if the guest exits first.
   */
  waitFor(pattern: string | RegExp, opts: WaitForOptions = {}): Promise<RegExpMatchArray> {
    const timeoutMs = opts.timeout ?? 30_000;
    const start = opts.fromNow ? this.out.length : 0;
    const re = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;
    return new Promise((resolve, reject) => {
      let exitReason: ExitReason | undefined;
      const check = (): void => {
        this.port.flush();
        const m = this.out.slice(start).match(re);
        if (m) {
          done();
          resolve(m);
        } else if (exitReason) {
          done();
          reject(new VmExitedError(pattern, exitReason, this.tail()));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new WaitForTimeoutError(pattern, timeoutMs, this.tail()));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      void this.machine.exited.then((r) => { exitReason = r; setImmediate(check); });
      this.listeners.add(check);
      check();
    });
  }

  pause(): Promise<void> { return this.machine.pause(); }
  resume(): void { this.machine.resume(); }
  reset(): Promise<void> { return this.machine.reset(); }

  /** Stop the guest and release everything; resolves with the exit reason. */
  async stop(): Promise<ExitReason> {
    const r = await this.machine.stop();
    await this.port.close();
    return r;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private tail(): string {
    return this.out.slice(-TAIL_CHARS);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** Boot a guest for a test; see `Vm`. */
export function startVm(input: VmConfigInput, opts: MachineOptions = {}): Promise<Vm> {
  return Vm.start(input, opts);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
