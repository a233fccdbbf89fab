/**
 * Programmatic debugging for the library: breakpoints, single-step and
 * guest-virtual memory, through the GDB stub's machine adapter
 * (src/gdbstub/machine-target.ts) rather than a second implementation. The
 * adapter reports stops to a session; here the "session" is a GdbSession
 * whose stop replies go to promises instead of a socket.
 *
 * All-stop, as with gdb: when one vCPU hits a breakpoint every vCPU stops
 * and the machine is paused until `resume()`.
 */
import type { Microvm, ExitReason } from './microvm.js';
import { MicrovmGdbTarget } from '../gdbstub/machine-target.js';
import { GdbSession, type StopEvent, type ThreadAction } from '../gdbstub/protocol/index.js';

/** Where and why a vCPU stopped. The machine is paused when the promise resolves. */
export interface DebugStop {
  cpu: number;
  /** The vCPU's instruction pointer (linear address). */
  rip: bigint;
  reason: 'breakpoint' | 'single-step' | 'watchpoint' | 'interrupt';
}

/** The accelerator lacks the optional member a library feature needs. */
export class NotSupportedError extends Error {
  override readonly name = 'NotSupportedError';
  /** `member`: the Accelerator member that is missing (e.g. 'debug', 'saveState'). */
  constructor(readonly accel: string, readonly member: string, what: string) {
    super(`${what} is not supported by this accelerator (${accel}: Accelerator.${member} is missing)`);
  }
}

/** Inspection or debugging was asked at the wrong time or of an unmapped address. */
export class DebugError extends Error {
  override readonly name = 'DebugError';
  constructor(readonly code: 'BAD_STATE' | 'NO_BREAKPOINT' | 'EXITED' | 'UNMAPPED', msg: string) {
    super(msg);
  }
}

/** A GdbSession that hands stop events to the library instead of gdb. */
class StopSink extends GdbSession {
  constructor(target: MicrovmGdbTarget, private readonly onStop: (ev: StopEvent) => void) {
    super(target, () => {});
  }

  override reportStop(ev: StopEvent): void {
    this.onStop(ev);
  }
}

interface Waiter {
  /** Resolve on a stop at this address (undefined: any stop). */
  address: bigint | undefined;
  resolve: (s: DebugStop) => void;
  reject: (e: Error) => void;
}

/** The library's debugger for one machine (created on first use by `Vm`). */
export class MachineDebugger {
  readonly target: MicrovmGdbTarget;
  private readonly breakpoints = new Set<bigint>();
  private waiters: Waiter[] = [];
  private exitReason: ExitReason | undefined;

  constructor(readonly machine: Microvm) {
    this.target = new MicrovmGdbTarget(machine);
    this.target.setSession(new StopSink(this.target, (ev) => this.stopped(ev)));
    machine.once('exit', (r: ExitReason) => {
      this.exitReason = r;
      for (const w of this.waiters.splice(0)) w.reject(new DebugError('EXITED', `the guest exited (${r.kind}) before the vCPU stopped`));
    });
  }

  /**
   * Arm a breakpoint at `address` (linear) and resolve when a vCPU reaches it
   * (it is removed then: one-shot). The machine stays paused after the hit.
   * On a paused machine the breakpoint is armed before this returns (so a
   * `resume()` right after cannot miss it); on a running one the vCPUs stop
   * briefly to arm it and run on.
   */
  breakpoint(address: bigint): Promise<DebugStop> {
    try {
      this.requireDebug('breakpoints');
      if (this.machine.state === 'paused') {
        this.arm(address);
        return this.wait(address).finally(() => this.removeBreakpoint(address));
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return (async () => {
      await this.target.stopForDebugger();
      this.arm(address);
      const hit = this.wait(address).finally(() => this.removeBreakpoint(address));
      this.resume();
      return hit;
    })();
  }

  private arm(address: bigint): void {
    if (this.breakpoints.has(address)) return;
    const ok = this.target.swBreakpoints!.add(address, 1);
    if (ok !== true) throw new DebugError('NO_BREAKPOINT', `could not place a breakpoint at 0x${address.toString(16)}`);
    this.breakpoints.add(address);
  }

  /** Remove a breakpoint (its pending promise never resolves then). */
  removeBreakpoint(address: bigint): void {
    if (!this.breakpoints.delete(address)) return;
    if (this.machine.state === 'exited') return;
    void this.target.swBreakpoints?.remove(address, 1);
  }

  /** Execute one instruction on `cpu` (the others stay stopped); resolves with the new stop. */
  async step(cpu: number): Promise<DebugStop> {
    this.requireDebug('single-step');
    if (this.machine.state !== 'paused') throw new DebugError('BAD_STATE', `step() needs a paused machine (it is ${this.machine.state})`);
    await this.target.stopForDebugger();
    const actions = new Map<number, ThreadAction>();
    for (const t of this.target.threads()) actions.set(t, t === cpu + 1 ? { kind: 'step' } : { kind: 'stop' });
    const stop = this.wait(undefined);
    this.target.resume(actions);
    return stop;
  }

  /** Continue every vCPU (through the adapter, so the next stop is reported). */
  resume(): void {
    if (this.machine.state !== 'paused') return;
    const actions = new Map<number, ThreadAction>();
    for (const t of this.target.threads()) actions.set(t, { kind: 'continue' });
    this.target.resume(actions);
  }

  readVirtual(cpu: number, gva: bigint, len: number): Uint8Array {
    this.requirePaused('reading virtual memory');
    const out = this.target.readMemory(cpu + 1, gva, len);
    if (out.length !== len) {
      throw new DebugError('UNMAPPED', `0x${(gva + BigInt(out.length)).toString(16)} is not mapped to RAM by vCPU ${cpu}'s page tables`);
    }
    return out;
  }

  writeVirtual(cpu: number, gva: bigint, data: Uint8Array): void {
    this.requirePaused('writing virtual memory');
    if (!this.target.writeMemory(cpu + 1, gva, data)) {
      throw new DebugError('UNMAPPED', `[0x${gva.toString(16)}, +${data.length}) is not all mapped to RAM by vCPU ${cpu}'s page tables`);
    }
  }

  /** Translate with vCPU `cpu`'s page tables (undefined: not mapped). */
  translate(cpu: number, gva: bigint): number | undefined {
    this.requirePaused('address translation');
    return this.target.translate(cpu + 1, gva);
  }

  /** vCPU state changed behind the adapter's back (Vm.setRegisters). */
  invalidate(): void {
    this.target.invalidateState();
  }

  dispose(): void {
    for (const a of [...this.breakpoints]) this.removeBreakpoint(a);
    this.target.dispose();
  }

  private wait(address: bigint | undefined): Promise<DebugStop> {
    if (this.exitReason) return Promise.reject(new DebugError('EXITED', `the guest has exited (${this.exitReason.kind})`));
    return new Promise((resolve, reject) => this.waiters.push({ address, resolve, reject }));
  }

  private stopped(ev: StopEvent): void {
    if (ev.kind !== 'signal') return;
    const cpu = ev.thread - 1;
    let rip = 0n;
    try {
      rip = this.target.vcpuState(cpu).regs.rip;
    } catch {
      // The state is unavailable (the machine is going away): report rip 0.
    }
    const reason: DebugStop['reason'] = ev.signal === 2 ? 'interrupt'
      : ev.reason?.kind === 'swbreak' || ev.reason?.kind === 'hwbreak' ? 'breakpoint'
        : ev.reason ? 'watchpoint' : 'single-step';
    const stop: DebugStop = { cpu, rip, reason };
    const matching = this.waiters.filter((w) => w.address === undefined || (reason === 'breakpoint' && w.address === rip));
    this.waiters = this.waiters.filter((w) => !matching.includes(w));
    for (const w of matching) w.resolve(stop);
    // A breakpoint nobody waits for any more (removed, or hit again): carry on.
    if (matching.length === 0 && reason === 'breakpoint' && !this.breakpoints.has(rip)) this.resume();
  }

  private requireDebug(what: string): void {
    const accel = this.machine.accelerator;
    if (!accel) throw new DebugError('BAD_STATE', `${what}: the machine is ${this.machine.state}`);
    if (!accel.debug) throw new NotSupportedError(accel.name, 'debug', what);
  }

  private requirePaused(what: string): void {
    if (this.machine.state !== 'paused') throw new DebugError('BAD_STATE', `${what} needs a paused machine (it is ${this.machine.state}): await vm.pause() first`);
  }
}
