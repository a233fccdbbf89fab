/**
 * The library facade for test harnesses: boot a guest, talk to its serial
 * console, wait for output, inspect and debug it, snapshot and fork it,
 * stop it. See docs/library.md.
 *
 * ```ts
 * await using vm = await startVm({ kernel: 'guest.elf', memory: 256 * MiB });
 * await vm.waitFor(/login:/, { timeout: 10_000 });
 * vm.send('root\n');
 * ```
 */
import type { Duplex } from 'node:stream';
import type { MachineConfig } from './config.js';
import type { VcpuState } from '../accel/types.js';
import { Microvm, type ExitReason, type MachineOptions, type MachineState } from './microvm.js';
import { SerialPort, StreamBackend } from '../chardev/index.js';
import { resolveConfig, type VmConfigInput } from './defaults.js';
import { FramePort, StreamNetdev, UserNetdev } from '../net/index.js';
import { MachineDebugger, DebugError, type DebugStop } from './inspect.js';
import { parseElfSymbols, type SymbolTable } from './symbols.js';
import { parseSnapshot, readSnapshotFile, restoreMachine, saveMachine, writeSnapshotFile, type MachineSnapshot } from './snapshot.js';
import { deterministicTime, enableDeterminism, type DeterministicOptions } from './deterministic.js';
import type { ManualTimeSource } from '../devices/clock.js';

/** `waitFor` gave up: `consoleTail` is the end of what the guest printed. */
export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';
  constructor(readonly pattern: string | RegExp, readonly timeoutMs: number, readonly consoleTail: string) {
    super(`timed out after ${timeoutMs} ms waiting for ${String(pattern)} on the serial console; last output:\n${consoleTail}`);
  }
}

/** The guest ended before `waitFor`'s pattern appeared. */
export class VmExitedError extends Error {
  override readonly name = 'VmExitedError';
  constructor(readonly pattern: string | RegExp, readonly reason: ExitReason, readonly consoleTail: string) {
    super(`the guest exited (${reason.kind}) before ${String(pattern)} appeared on the serial console; last output:\n${consoleTail}`);
  }
}

/** Options for `Vm.waitFor`. */
export interface WaitForOptions {
  /** Milliseconds; default 30 s. */
  timeout?: number;
  /** Only match output that arrives after this call (default: search all output so far). */
  fromNow?: boolean;
}

/** What `startVm` takes: a MachineConfig with defaults (`kernel` is the only required field) plus library options. */
export type VmOptions = VmConfigInput & {
  /**
   * Run deterministically (needs an accelerator with `setDeterministic`, the
   * JIT; `accel: 'auto'` then picks the JIT): devices on virtual time from a
   * fixed epoch, instruction-count time, seeded RDRAND.
   */
  deterministic?: DeterministicOptions;
};

/** Options for `Vm.restore`. */
export interface RestoreOptions {
  /** Leave the restored machine paused (default: it runs at once). */
  paused?: boolean;
  /** FramePorts for the snapshot's `stream` netdevs, by id (default: new ones, see `vm.net(id)`). */
  streamPorts?: Record<string, FramePort>;
  /** Machine options (time source, accelerator instance). */
  machine?: MachineOptions;
}

const TAIL_CHARS = 2000;

/** A running guest for a test. Create with `startVm` (or `Vm.restore` from a snapshot). */
export class Vm {
  /** The guest's serial console: read guest output, write guest input. */
  readonly console: Duplex;
  /** Resolves once with why the machine ended (debug-exit code, triple fault, stopped, error). */
  readonly exited: Promise<ExitReason>;
  private out = '';
  private readonly listeners = new Set<() => void>();
  private dbg: MachineDebugger | undefined;
  private symtab: SymbolTable | undefined;

  private constructor(
    readonly machine: Microvm, private readonly backend: StreamBackend, private readonly port: SerialPort,
    private readonly firstByte: { at: number | undefined },
  ) {
    this.console = backend.stream;
    this.exited = machine.exited;
    machine.on('exit', () => this.notify());
    backend.stream.on('data', (chunk: Buffer) => {
      this.out += chunk.toString('latin1');
      this.notify();
    });
  }

  /** Create the machine from `input` (CLI defaults fill the gaps) and start it. */
  static async start(input: VmOptions, opts: MachineOptions = {}): Promise<Vm> {
    const { deterministic, ...cfg } = input;
    let time: ManualTimeSource | undefined;
    if (deterministic) {
      time = deterministicTime(deterministic);
      // KVM cannot run deterministically: `auto` means the JIT here.
      if (cfg.accel === 'auto' || cfg.accel === undefined) cfg.accel = 'jit';
    }
    const config: MachineConfig = resolveConfig({ ...cfg, serial: { kind: 'stream' } });
    const vm = Vm.create(config, time ? { ...opts, time } : opts);
    await vm.boot({
      ...(deterministic && time ? { beforeRun: (a) => enableDeterminism(a, deterministic, time) } : {}),
    });
    return vm;
  }

  /**
   * Start a new machine from a snapshot (`vm.snapshot()` bytes, a parsed
   * snapshot, or a file path). Only the pages the snapshot holds are written
   * into the new machine's lazily committed RAM.
   */
  static async restore(snapshot: Uint8Array | MachineSnapshot | string, opts: RestoreOptions = {}): Promise<Vm> {
    const snap = typeof snapshot === 'string' ? parseSnapshot(await readSnapshotFile(snapshot))
      : snapshot instanceof Uint8Array ? parseSnapshot(snapshot) : snapshot;
    const netdevs = snap.config.netdevs.map((n) => (n.kind === 'stream' && opts.streamPorts?.[n.id] ? { ...n, port: opts.streamPorts[n.id]! } : n));
    const config: MachineConfig = {
      ...snap.config, netdevs, serial: { kind: 'stream' }, accel: snap.accel.accel, startPaused: opts.paused ?? false,
    };
    const vm = Vm.create(config, opts.machine ?? {});
    await vm.boot({ restore: () => restoreMachine(vm.machine, snap) });
    return vm;
  }

  private static create(config: MachineConfig, opts: MachineOptions): Vm {
    const backend = new StreamBackend();
    const port = new SerialPort(backend);
    const firstByte: { at: number | undefined } = { at: undefined };
    const machine = new Microvm(config, {
      ...opts,
      onSerialOutput: (b) => {
        firstByte.at ??= performance.now();
        port.tx(b);
      },
    });
    if (machine.uart) port.attach(machine.uart);
    return new Vm(machine, backend, port, firstByte);
  }

  private async boot(opts: Parameters<Microvm['start']>[0]): Promise<void> {
    try {
      await this.machine.start(opts);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  // ---- console ----

  /** Everything the guest has written to its console so far (latin1-decoded). */
  output(): string {
    this.port.flush();
    return this.out;
  }

  /** `performance.now()` when the guest wrote its first byte to the UART (benchmarks: time to first output). */
  get firstOutputAt(): number | undefined { return this.firstByte.at; }

  /** Send text (UTF-8) or bytes to the guest's console. */
  send(data: string | Uint8Array): void {
    this.console.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /**
   * Resolve with the first match of `pattern` in the console output; reject
   * with WaitForTimeoutError (carrying the console tail) on timeout, or with
   * VmExitedError if the guest exits first.
   */
  waitFor(pattern: string | RegExp, opts: WaitForOptions = {}): Promise<RegExpMatchArray> {
    const timeoutMs = opts.timeout ?? 30_000;
    const start = opts.fromNow ? this.output().length : 0;
    const re = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;
    return new Promise((resolve, reject) => {
      let exitReason: ExitReason | undefined;
      let finished = false;
      const check = (): void => {
        if (finished) return;
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
        finished = true;
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      // On exit: check once more after the last output has been flushed.
      void this.machine.exited.then((r) => { exitReason = r; check(); });
      this.listeners.add(check);
      check();
    });
  }

  // ---- lifecycle ----

  /** 'created' | 'running' | 'paused' | 'exited'. */
  get state(): MachineState { return this.machine.state; }

  /** Stop every vCPU at an instruction boundary (devices keep their state). */
  async pause(): Promise<void> {
    if (this.machine.state !== 'running') return;
    if (this.dbg) await this.dbg.target.stopForDebugger();
    else await this.machine.pause();
  }

  /** Continue after `pause()`, a breakpoint or a step. */
  resume(): void {
    if (this.dbg) this.dbg.resume();
    else this.machine.resume();
  }

  /** A full machine reset (QEMU's system_reset): devices, vCPUs, the kernel reloaded. */
  reset(): Promise<void> { return this.machine.reset(); }

  /** Stop the guest and release everything (threads, sockets, timers); resolves with the exit reason. */
  async stop(): Promise<ExitReason> {
    const r = await this.machine.stop();
    this.dbg?.dispose();
    this.dbg = undefined;
    await this.port.close();
    return r;
  }

  /** `await using vm = await startVm(...)` stops the machine at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---- memory and registers ----

  /** Read guest physical memory (RAM only; throws GuestMemoryError elsewhere). */
  readPhysical(gpa: number, length: number): Uint8Array {
    return this.machine.memory.readBytes(gpa, length);
  }

  /** Write guest physical memory (RAM only). */
  writePhysical(gpa: number, data: Uint8Array): void {
    this.machine.memory.writeBytes(gpa, data);
    this.machine.accelerator?.debug?.memoryWritten?.(gpa, data.length);
  }

  /** Read guest virtual memory through vCPU `cpu`'s page tables (machine paused). */
  readVirtual(gva: bigint, length: number, cpu = 0): Uint8Array {
    return this.debugger().readVirtual(cpu, gva, length);
  }

  /** Write guest virtual memory through vCPU `cpu`'s page tables (machine paused). */
  writeVirtual(gva: bigint, data: Uint8Array, cpu = 0): void {
    this.debugger().writeVirtual(cpu, gva, data);
  }

  /** Guest physical address of `gva` for vCPU `cpu` (machine paused), or undefined if unmapped. */
  translate(gva: bigint, cpu = 0): number | undefined {
    return this.debugger().translate(cpu, gva);
  }

  /** vCPU `cpu`'s registers (machine paused). */
  registers(cpu = 0): VcpuState {
    return this.accel('reading registers').getState(cpu);
  }

  /** Set vCPU `cpu`'s registers (machine paused); start from `registers(cpu)` and change what you need. */
  setRegisters(state: VcpuState, cpu = 0): void {
    this.accel('writing registers').setState(cpu, state);
    this.dbg?.invalidate();
  }

  // ---- symbols and debugging ----

  /** The kernel ELF's `.symtab` (parsed on first use; throws SymbolError for a stripped image). */
  get symbols(): SymbolTable {
    this.symtab ??= parseElfSymbols(this.machine.kernelBytes);
    return this.symtab;
  }

  /** Address of the kernel symbol `name` (throws SymbolError if there is none). */
  symbol(name: string): bigint {
    return this.symbols.address(name);
  }

  /**
   * Break when a vCPU reaches `where` (an address or a kernel symbol). The
   * promise resolves when it is hit, with every vCPU stopped and the machine
   * paused (inspect, then `resume()` or `step()`). One-shot. Throws
   * NotSupportedError on an accelerator without the debug interface.
   */
  breakpoint(where: bigint | string): Promise<DebugStop> {
    const address = typeof where === 'string' ? this.symbol(where) : where;
    return this.debugger().breakpoint(address);
  }

  /** Execute one instruction on vCPU `cpu` (machine paused); resolves with where it stopped. */
  step(cpu = 0): Promise<DebugStop> {
    return this.debugger().step(cpu);
  }

  // ---- network ----

  /**
   * The FramePort of the `stream` netdev `id`: frames the guest sends
   * ('frame' events, `nextFrame()`), and `send(frame)` towards the guest.
   */
  net(id: string): FramePort {
    const n = this.machine.virtio.netdevs.get(id);
    if (!(n instanceof StreamNetdev)) throw new Error(`no stream netdev '${id}' (netdevs: ${[...this.machine.virtio.netdevs.keys()].join(', ') || 'none'})`);
    return n.port;
  }

  /** Host ports bound by the `user` netdev `id`'s hostfwd rules, in order (hostPort 0 picks a free one). */
  forwardedPorts(id: string): number[] {
    const n = this.machine.virtio.netdevs.get(id);
    if (!(n instanceof UserNetdev)) throw new Error(`no user netdev '${id}'`);
    return [...n.boundPorts];
  }

  // ---- snapshots and determinism ----

  /**
   * Save the whole machine (vCPUs, devices, non-zero RAM) as bytes for
   * `Vm.restore`. Pauses the machine for the copy and resumes it after if it
   * was running.
   */
  async snapshot(): Promise<Uint8Array> {
    const wasRunning = this.machine.state === 'running';
    await this.pause();
    try {
      return saveMachine(this.machine);
    } finally {
      if (wasRunning) this.resume();
    }
  }

  /** `snapshot()` written to a file. */
  async saveSnapshot(path: string): Promise<void> {
    await writeSnapshotFile(path, await this.snapshot());
  }

  /** Guest instructions retired so far, or undefined when the accelerator does not count them. */
  instructionCount(): bigint | undefined {
    const accel = this.machine.accelerator;
    return accel ? accel.instructionCount?.() : this.machine.finalInstructionCount;
  }

  // ---- internals ----

  private debugger(): MachineDebugger {
    if (this.machine.state === 'exited' || this.machine.state === 'created') {
      throw new DebugError('BAD_STATE', `the machine is ${this.machine.state}`);
    }
    this.dbg ??= new MachineDebugger(this.machine);
    return this.dbg;
  }

  private accel(what: string): NonNullable<Microvm['accelerator']> {
    const a = this.machine.accelerator;
    if (!a || this.machine.state !== 'paused') {
      throw new DebugError('BAD_STATE', `${what} needs a paused machine (it is ${this.machine.state}): await vm.pause() first`);
    }
    return a;
  }

  private tail(): string {
    return this.out.slice(-TAIL_CHARS);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** Boot a guest for a test; see `Vm`. */
export function startVm(input: VmOptions, opts: MachineOptions = {}): Promise<Vm> {
  return Vm.start(input, opts);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
