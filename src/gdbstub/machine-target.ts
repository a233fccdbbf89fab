/**
 * The adapter between a Microvm (and its accelerator's debug interface) and
 * the protocol's GdbTarget: threads are vCPUs (thread id = vCPU index + 1),
 * registers follow the fixed amd64 layout (amd64.ts), memory is read through
 * the current vCPU's page tables (or physically, `monitor phys on`), and all
 * vCPUs stop when one stops (all-stop mode).
 *
 * Breakpoints: Z0 on KVM goes to a free debug register first (guest memory
 * stays untouched, and KVMs that run CPL-0 code in their instruction
 * emulator, such as PVM, cannot execute INT3 outside real mode), then to
 * INT3 in memory; on the JIT the accelerator stops at the address itself.
 * Z1 uses the debug registers, Z2-Z4 too, split into aligned 1/2/4/8-byte
 * pieces (SDM Vol. 3B 19.2.5: a watched range must be aligned to its length).
 */
import type { Accelerator, AcceleratorDebug, FpuState, StopReason as AccelStop, VcpuState } from '../accel/types.js';
import type { ExitReason, Microvm } from '../machine/microvm.js';
import { pagingMemoryOf, walk, type PagingMemory } from '../cpu/system/paging.js';
import { amd64TargetXml, encodeRegisters, registerSlice, writeRegister } from './amd64.js';
import {
  GdbTargetError, SIGINT, SIGTRAP,
  type BreakpointOps, type GdbSession, type GdbTarget, type RegisterBytes, type StopEvent, type StopReason,
  type ThreadAction, type WatchKind, type WatchpointOps,
} from './protocol/index.js';
import { runMonitorCommand } from './monitor.js';

const PAGE = 0x1000n;
const INT3 = 0xcc;

interface SwBreakpoint {
  /** Where the INT3 went (undefined: a debug register or the accelerator holds it). */
  gpa?: number;
  original?: number;
  viaHw: boolean;
}

interface Watch { kind: WatchKind; addr: bigint; len: number; pieces: Array<{ addr: bigint; len: number }>; lastValue?: bigint }

export interface MicrovmTargetOptions {
  log?: (message: string) => void;
}

export class MicrovmGdbTarget implements GdbTarget {
  /** `monitor phys on`: addresses are guest physical, not virtual. */
  physicalMode = false;
  readonly features = (annex: string): string | undefined => (annex === 'target.xml' ? this.targetXml : undefined);
  readonly swBreakpoints?: BreakpointOps;
  readonly hwBreakpoints?: BreakpointOps;
  readonly watchpoints?: WatchpointOps;
  readonly monitor = (command: string, out: (text: string) => void): Promise<void> => runMonitorCommand(this, command, out);
  readonly threadExtraInfo = (thread: number): string => this.describeThread(thread);

  private readonly targetXml = amd64TargetXml();
  private session: GdbSession | undefined;
  private readonly states = new Map<number, VcpuState>();
  private readonly fpus = new Map<number, FpuState>();
  private readonly sw = new Map<bigint, SwBreakpoint>();
  private readonly hw = new Set<bigint>();
  private watches: Watch[] = [];
  private stepping = new Set<number>();
  /** Set by resume(); the first stop (debug exit or Ctrl-C) to clear it reports. */
  private running = false;
  private lastThread = 1;
  private readonly paging: PagingMemory;
  private readonly onDebugStop = (r: AccelStop): void => { void this.debugStopped(r); };
  private readonly onExit = (r: ExitReason): void => this.exited(r);
  private readonly onReset = (): void => this.forget();

  constructor(readonly machine: Microvm, private readonly opts: MicrovmTargetOptions = {}) {
    this.paging = pagingMemoryOf(machine.memory);
    const dbg = this.debug();
    if (!dbg) {
      // Without a debug interface, refuse (Exx) rather than leave Z0 unsupported:
      // gdb would then write INT3 itself and the guest would take the #BP.
      const refuse = (): boolean => {
        this.opts.log?.(`gdb: the ${machine.accelerator?.name ?? ''} accelerator has no debug interface: no breakpoints`);
        return false;
      };
      this.swBreakpoints = { add: refuse, remove: () => false };
    } else {
      this.swBreakpoints = { add: (addr) => this.addSw(addr), remove: (addr) => this.removeSw(addr) };
      this.hwBreakpoints = {
        add: (addr) => { const ok = dbg.addBreakpoint('hw', addr); if (ok) this.hw.add(addr); return ok; },
        remove: (addr) => { this.hw.delete(addr); return dbg.removeBreakpoint('hw', addr); },
      };
      if (dbg.addWatchpoint && dbg.removeWatchpoint) {
        this.watchpoints = { add: (k, a, l) => this.addWatch(k, a, l), remove: (k, a, l) => this.removeWatch(k, a, l) };
      }
    }
    machine.on('debug-stop', this.onDebugStop);
    machine.on('exit', this.onExit);
    machine.on('reset', this.onReset);
  }

  /** Stop the machine for gdb (QEMU stops the VM when gdb connects). */
  async stopForDebugger(): Promise<void> {
    await this.pauseAll();
  }

  /** The session that receives this target's stops. */
  setSession(session: GdbSession): void {
    this.session = session;
  }

  /** The session ended without a detach (the socket closed): behave as a detach. */
  async sessionEnded(): Promise<void> {
    if (!this.session) return;
    await this.detach();
  }

  dispose(): void {
    this.machine.off('debug-stop', this.onDebugStop);
    this.machine.off('exit', this.onExit);
    this.machine.off('reset', this.onReset);
    this.session = undefined;
  }

  get accel(): Accelerator {
    const a = this.machine.accelerator;
    if (!a || this.machine.state === 'exited') throw new GdbTargetError(0x01, 'the machine is not running');
    return a;
  }

  // ---- GdbTarget ----

  threads(): number[] {
    return Array.from({ length: this.machine.config.cpus }, (_, i) => i + 1);
  }

  readRegisters(thread: number): RegisterBytes {
    return encodeRegisters(this.state(thread), this.fpu(thread));
  }

  writeRegisters(thread: number, data: Uint8Array): void {
    const regs = this.readRegisters(thread).bytes;
    // gdb sends the whole block; apply each register that changed.
    for (let n = 0; ; n++) {
      const slice = registerSlice(n);
      if (!slice || slice[1] > data.length) break;
      const [a, b] = slice;
      const piece = data.subarray(a, b);
      if (piece.every((x, i) => x === regs[a + i])) continue;
      this.writeRegister(thread, n, piece);
    }
  }

  readRegister(thread: number, regno: number): RegisterBytes | undefined {
    const slice = registerSlice(regno);
    if (!slice) return undefined;
    const all = this.readRegisters(thread);
    const [a, b] = slice;
    return all.unavailable ? { bytes: all.bytes.subarray(a, b), unavailable: all.unavailable.subarray(a, b) } : { bytes: all.bytes.subarray(a, b) };
  }

  writeRegister(thread: number, regno: number, data: Uint8Array): boolean {
    const cpu = this.cpu(thread);
    const state = structuredClone(this.state(thread));
    const fpu = this.fpu(thread);
    const fpuCopy = fpu ? structuredClone(fpu) : undefined;
    const w = writeRegister(state, fpuCopy, regno, data);
    if (!w) return false;
    if (w.state) {
      this.accel.setState(cpu, state);
      this.states.set(cpu, state);
    }
    if (w.fpu && fpuCopy) {
      this.debug()?.setFpu?.(cpu, fpuCopy);
      this.fpus.set(cpu, fpuCopy);
    }
    return true;
  }

  readMemory(thread: number, addr: bigint, len: number): Uint8Array {
    const out: number[] = [];
    for (const piece of this.pieces(thread, addr, len)) {
      if (piece.gpa === undefined) break;
      const bytes = this.machine.memory.readBytes(piece.gpa, piece.len);
      // Show gdb the original bytes under our INT3s (gdb never sees its own breakpoints).
      for (const bp of this.sw.values()) {
        if (bp.gpa !== undefined && bp.original !== undefined && bp.gpa >= piece.gpa && bp.gpa < piece.gpa + piece.len) {
          bytes[bp.gpa - piece.gpa] = bp.original;
        }
      }
      out.push(...bytes);
    }
    return Uint8Array.from(out);
  }

  writeMemory(thread: number, addr: bigint, data: Uint8Array): boolean {
    const pieces = this.pieces(thread, addr, data.length);
    if (pieces.some((p) => p.gpa === undefined)) return false;
    let done = 0;
    for (const p of pieces) {
      const gpa = p.gpa!;
      const bytes = data.slice(done, done + p.len);
      for (const bp of this.sw.values()) {
        if (bp.gpa !== undefined && bp.gpa >= gpa && bp.gpa < gpa + p.len) {
          bp.original = bytes[bp.gpa - gpa]!;
          bytes[bp.gpa - gpa] = INT3;
        }
      }
      this.machine.memory.writeBytes(gpa, bytes);
      this.debug()?.memoryWritten?.(gpa, p.len);
      done += p.len;
    }
    return true;
  }

  resume(actions: ReadonlyMap<number, ThreadAction>): void {
    const dbg = this.debug();
    const steps = [...actions].filter(([, a]) => a.kind === 'step').map(([t]) => this.cpu(t));
    if (steps.length > 0 && !dbg) throw new GdbTargetError(0x01, 'this accelerator cannot single-step');
    // Threads gdb wants held ('t', or not named) keep running: an accelerator
    // runs all vCPUs or none. All stop again when the first one stops.
    for (const cpu of this.stepping) dbg?.setSingleStep(cpu, false);
    this.stepping = new Set(steps);
    for (const cpu of steps) dbg!.setSingleStep(cpu, true);
    for (const w of this.watches) w.lastValue = this.watchValue(w);
    this.forget();
    this.running = true;
    if (this.machine.state === 'exited') throw new GdbTargetError(0x01, 'the machine has exited');
    this.machine.resume();
  }

  async interrupt(): Promise<void> {
    await this.pauseAll();
    this.reportOnce({ kind: 'signal', signal: SIGINT, thread: this.lastThread });
  }

  async detach(): Promise<void> {
    const dbg = this.debug();
    for (const addr of [...this.sw.keys()]) this.removeSw(addr);
    for (const addr of this.hw) dbg?.removeBreakpoint('hw', addr);
    this.hw.clear();
    for (const w of [...this.watches]) this.removeWatch(w.kind, w.addr, w.len);
    for (const cpu of this.stepping) dbg?.setSingleStep(cpu, false);
    this.stepping.clear();
    this.physicalMode = false;
    this.session = undefined;
    this.running = false;
    this.forget();
    if (this.machine.state === 'paused') this.machine.resume();
  }

  async kill(): Promise<void> {
    this.session = undefined;
    await this.machine.stop();
  }

  // ---- for the monitor ----

  /** `monitor quit`: once the reply is out, close the session and stop the machine. */
  quitAfterReply(): void {
    setImmediate(() => {
      const session = this.session;
      this.session = undefined;
      this.running = false;
      session?.close('closed');
      void this.machine.stop();
    });
  }

  /** The vCPU gdb has selected (for `monitor info registers`). */
  get currentCpu(): number { return this.lastThread - 1; }

  vcpuState(cpu: number): VcpuState { return this.state(cpu + 1); }

  /** Someone else (the library) changed vCPU state: drop what this target cached. */
  invalidateState(): void { this.forget(); }

  // ---- internals ----

  private debug(): AcceleratorDebug | undefined {
    return this.machine.accelerator?.debug;
  }

  private cpu(thread: number): number {
    const cpu = thread - 1;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.machine.config.cpus) throw new GdbTargetError(0x02, `no thread ${thread}`);
    return cpu;
  }

  private state(thread: number): VcpuState {
    const cpu = this.cpu(thread);
    let s = this.states.get(cpu);
    if (!s) {
      s = this.accel.getState(cpu);
      this.states.set(cpu, s);
    }
    return s;
  }

  private fpu(thread: number): FpuState | undefined {
    const cpu = this.cpu(thread);
    const get = this.debug()?.getFpu;
    if (!get) return undefined;
    let f = this.fpus.get(cpu);
    if (!f) {
      f = get.call(this.debug(), cpu);
      this.fpus.set(cpu, f);
    }
    return f;
  }

  /** Drop cached vCPU state (it changes when the guest runs or resets). */
  private forget(): void {
    this.states.clear();
    this.fpus.clear();
  }

  /** Guest physical address of `gva` for `thread`, or undefined (not mapped, not RAM). */
  translate(thread: number, gva: bigint): number | undefined {
    let gpa: bigint;
    if (this.physicalMode) {
      gpa = gva;
    } else {
      const s = this.state(thread);
      const r = walk(this.paging, { cr0: s.sregs.cr0, cr3: s.sregs.cr3, cr4: s.sregs.cr4, efer: s.sregs.efer }, gva,
        { write: false, fetch: false, user: false }, { maxPhysAddr: 52, pdpe1gb: true, noUpdate: true });
      if (!r.ok) return undefined;
      gpa = r.gpa;
    }
    if (gpa > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return Number(gpa);
  }

  /** Split [addr, addr+len) at page boundaries and translate each piece; stops at the first hole. */
  private pieces(thread: number, addr: bigint, len: number): Array<{ gpa: number | undefined; len: number }> {
    const out: Array<{ gpa: number | undefined; len: number }> = [];
    let a = addr;
    let left = len;
    while (left > 0) {
      const n = Math.min(left, Number(PAGE - (a % PAGE)));
      const gpa = a < 1n << 64n ? this.translate(thread, a) : undefined;
      const ok = gpa !== undefined && this.machine.memory.isRangeRam(gpa, n);
      out.push({ gpa: ok ? gpa : undefined, len: n });
      if (!ok) break;
      a += BigInt(n);
      left -= n;
    }
    return out;
  }

  private usesInt3(): boolean {
    const dbg = this.debug();
    return dbg?.swBreakpointsInMemory ?? this.machine.accelerator?.name === 'kvm';
  }

  private addSw(addr: bigint): boolean {
    const dbg = this.debug();
    if (!dbg) return false;
    if (this.sw.has(addr)) return true;
    if (!this.usesInt3()) {
      if (!dbg.addBreakpoint('sw', addr)) return false;
      this.sw.set(addr, { viaHw: false });
      return true;
    }
    // KVM: a debug register when one is free (see the file comment), else INT3.
    if (dbg.addBreakpoint('hw', addr)) {
      this.sw.set(addr, { viaHw: true });
      return true;
    }
    const gpa = this.translate(this.lastThread, addr);
    if (gpa === undefined || !this.machine.memory.isRam(gpa, 1)) return false;
    if (!dbg.addBreakpoint('sw', addr)) return false;
    const original = this.machine.memory.readU8(gpa);
    this.machine.memory.writeU8(gpa, INT3);
    dbg.memoryWritten?.(gpa, 1);
    this.sw.set(addr, { gpa, original, viaHw: false });
    return true;
  }

  private removeSw(addr: bigint): boolean {
    const dbg = this.debug();
    const bp = this.sw.get(addr);
    if (!bp || !dbg) return false;
    this.sw.delete(addr);
    if (bp.viaHw) return dbg.removeBreakpoint('hw', addr);
    if (bp.gpa !== undefined && bp.original !== undefined) {
      // Restore only our own INT3: the guest may have rewritten its code since.
      if (this.machine.memory.readU8(bp.gpa) === INT3) this.machine.memory.writeU8(bp.gpa, bp.original);
      dbg.memoryWritten?.(bp.gpa, 1);
    }
    return dbg.removeBreakpoint('sw', addr);
  }

  private addWatch(kind: WatchKind, addr: bigint, len: number): boolean {
    const dbg = this.debug();
    if (!dbg?.addWatchpoint || !dbg.removeWatchpoint || len <= 0 || len > 32) return false;
    const pieces = alignedPieces(addr, len);
    const done: Array<{ addr: bigint; len: number }> = [];
    for (const p of pieces) {
      if (!dbg.addWatchpoint(kind, p.addr, p.len)) {
        for (const d of done) dbg.removeWatchpoint(kind, d.addr, d.len);
        return false;
      }
      done.push(p);
    }
    this.watches.push({ kind, addr, len, pieces });
    return true;
  }

  private removeWatch(kind: WatchKind, addr: bigint, len: number): boolean {
    const dbg = this.debug();
    const i = this.watches.findIndex((w) => w.kind === kind && w.addr === addr && w.len === len);
    if (i < 0 || !dbg?.removeWatchpoint) return false;
    const [w] = this.watches.splice(i, 1);
    for (const p of w!.pieces) dbg.removeWatchpoint(kind, p.addr, p.len);
    return true;
  }

  private watchValue(w: Watch): bigint | undefined {
    try {
      const bytes = this.readMemory(this.lastThread, w.addr, w.len);
      if (bytes.length !== w.len) return undefined;
      return bytes.reduceRight((v, b) => (v << 8n) | BigInt(b), 0n);
    } catch {
      return undefined;
    }
  }

  /** Stop every vCPU (the machine may already be 'paused' after a debug exit while others still run). */
  private async pauseAll(): Promise<void> {
    const accel = this.machine.accelerator;
    if (this.machine.state === 'running') await this.machine.pause();
    else if (accel && this.machine.state === 'paused') await accel.pause();
    this.forget();
  }

  private async debugStopped(r: AccelStop): Promise<void> {
    if (r.kind !== 'debug' && r.kind !== 'paused') return;
    if (!this.session) {
      // Nobody is debugging (a stray #BP after a detach): carry on.
      if (this.machine.state === 'paused') this.machine.resume();
      return;
    }
    if (!this.running) return;
    // All-stop: the other vCPUs are still running.
    await this.pauseAll();
    for (const cpu of this.stepping) this.debug()?.setSingleStep(cpu, false);
    this.stepping.clear();
    if (r.kind === 'paused') {
      this.reportOnce({ kind: 'signal', signal: SIGINT, thread: this.lastThread });
      return;
    }
    const thread = r.cpu + 1;
    const ev: StopEvent = { kind: 'signal', signal: SIGTRAP, thread };
    const reason = this.stopReason(r, thread);
    this.reportOnce(reason ? { ...ev, reason } : ev);
  }

  private stopReason(r: Extract<AccelStop, { kind: 'debug' }>, thread: number): StopReason | undefined {
    switch (r.reason) {
      case 'single-step': return undefined;
      case 'breakpoint': {
        const pc = r.address ?? this.state(thread).regs.rip;
        if (this.sw.has(pc)) return { kind: 'swbreak' };
        if (this.hw.has(pc)) return { kind: 'hwbreak' };
        return undefined;
      }
      case 'watchpoint': {
        const w = this.triggeredWatch(r.dataAddress);
        if (!w) return undefined;
        const kind = w.kind === 'write' ? 'watch' : w.kind === 'read' ? 'rwatch' : 'awatch';
        return { kind, address: r.dataAddress ?? w.addr };
      }
      default: {
        const never: never = r.reason;
        return never;
      }
    }
  }

  /** Which watchpoint fired: the accelerator's data address, else the only one, else one whose value changed. */
  private triggeredWatch(dataAddress: bigint | undefined): Watch | undefined {
    if (dataAddress !== undefined) {
      return this.watches.find((w) => dataAddress >= w.addr && dataAddress < w.addr + BigInt(w.len));
    }
    if (this.watches.length === 1) return this.watches[0];
    return this.watches.find((w) => w.lastValue !== undefined && this.watchValue(w) !== w.lastValue) ?? this.watches[0];
  }

  private reportOnce(ev: StopEvent): void {
    if (!this.running) return;
    this.running = false;
    if (ev.kind === 'signal') this.lastThread = ev.thread;
    this.session?.reportStop(ev);
  }

  private exited(r: ExitReason): void {
    this.running = false;
    const session = this.session;
    this.session = undefined;
    session?.reportStop({ kind: 'exited', status: r.status });
  }

  private describeThread(thread: number): string {
    const cpu = this.cpu(thread);
    let mode = '';
    try {
      const s = this.state(thread);
      const lma = (s.sregs.efer & (1n << 10n)) !== 0n;
      const pe = (s.sregs.cr0 & 1n) !== 0n;
      mode = lma ? (s.sregs.cs.l ? '64-bit' : 'compatibility mode') : pe ? (s.sregs.cs.db ? '32-bit protected' : '16-bit protected') : 'real mode';
    } catch {
      mode = 'state unavailable';
    }
    return `vCPU ${cpu} [${mode}]`;
  }
}

/** [addr, addr+len) as naturally aligned 1/2/4/8-byte pieces (what DR0-DR3 can watch). */
export function alignedPieces(addr: bigint, len: number): Array<{ addr: bigint; len: number }> {
  const out: Array<{ addr: bigint; len: number }> = [];
  let a = addr;
  let left = len;
  while (left > 0) {
    let size = 8;
    while (size > 1 && (a % BigInt(size) !== 0n || size > left)) size >>= 1;
    out.push({ addr: a, len: size });
    a += BigInt(size);
    left -= size;
  }
  return out;
}

export { type Watch as WatchRecord };
