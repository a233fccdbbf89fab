/**
 * JitAccelerator: the WebAssembly JIT behind the Accelerator interface.
 *
 * Threading: every vCPU runs on the main thread, round-robin, in slices of
 * about SLICE_MS of guest work; between slices `setImmediate` yields to the
 * Node event loop so devices, sockets and timers stay responsive. This keeps
 * runs deterministic for a given interleaving of host events; SMP over worker
 * threads can come later (the state already lives in shared memory).
 * When every vCPU is halted the loop sleeps on a timer until the earliest
 * LAPIC deadline or an interrupt delivery (no busy spin).
 */
import { AccelError, type Accelerator, type AcceleratorDebug, type AcceleratorHost, type AcceleratorSnapshot, type DeterministicConfig, type FpuState, type VcpuState } from '../accel/types.js';
import type { InterruptMessage } from '../devices/irq.js';
import { deliverInterruptMessage, deliverIpi, type Lapic } from '../devices/lapic.js';
import { Engine } from './runtime/engine.js';
import { jitDecoderFeatures } from './runtime/guest-features.js';
import { Vcpu } from './runtime/vcpu.js';
import { CODE_MAP_BASE, JIT_RESERVED_BYTES, MAX_VCPUS, S, VCPU_AREA_BASE, VCPU_STRIDE, readVcpuState, writeVcpuState } from './state.js';
import { Exit } from './translate/core.js';
import { restoreJitState, saveJitState } from './snapshot.js';
import { DeterministicScheduler } from './deterministic.js';
import { enableJitLogging } from './log.js';
import { Watchpoints, type WatchKind } from './runtime/watch.js';
import { readFpuState, writeFpuState } from './runtime/fpu-state.js';

const SLICE_MS = 4;
/**
 * Instructions a vCPU runs per turn (one trip into translated code, unless it
 * exits earlier): the scheduler adapts each vCPU's quantum so that a turn
 * lasts QUANTUM_MIN_MS..QUANTUM_MAX_MS of host time. Timers and interrupts are
 * looked at between turns, so this is their latency; fast code gets larger
 * quanta (fewer exits to JS: at 20 000 instructions, 1 G instructions/s made
 * 50 000 exits a second), the executor smaller ones.
 */
const QUANTUM_MIN_INSNS = 2_000, QUANTUM_MAX_INSNS = 1_000_000;
const QUANTUM_MIN_MS = 0.05, QUANTUM_MAX_MS = 0.2;

export { JIT_RESERVED_BYTES };

export interface JitStats {
  instructions: bigint; blocks: number; translatedInsns: number; inlinedInsns: number; translateMs: number;
  tlbFills: number; slowAccesses: number; invalidations: number;
  /** Inline accesses (only counted with `profile`), and those that missed the TLB. */
  inlineAccesses: bigint; tlbMisses: number;
  /** Returns from wasm to the run loop (exits of the dispatcher). */
  exits: number;
}

export class JitAccelerator implements Accelerator {
  readonly name = 'jit' as const;
  private host!: AcceleratorHost;
  engine!: Engine<Vcpu>;
  vcpus: Vcpu[] = [];
  private running = false;
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private pauseWaiters: Array<() => void> = [];
  private stopped = false;
  /** Disable inline translation (every instruction through the executor): differential tests. */
  noInline = false;
  /** Count inline memory accesses (bench/: TLB hit rate); slows the guest slightly. */
  profile = false;
  /**
   * Interpret each block the first time it runs, translate it the second time
   * (engine.ts interpretFirst). Tests that run straight-line snippets once and
   * must exercise the translated code turn it off.
   */
  interpretFirst = true;

  async init(host: AcceleratorHost): Promise<void> {
    this.host = host;
    if (host.memory.reservedBytes < JIT_RESERVED_BYTES) {
      throw new AccelError('JIT_UNSUPPORTED', `GuestMemory must reserve ${JIT_RESERVED_BYTES} bytes for the JIT (got ${host.memory.reservedBytes})`);
    }
    if (host.cpuCount < 1 || host.cpuCount > MAX_VCPUS) throw new AccelError('JIT_UNSUPPORTED', `the JIT supports 1..${MAX_VCPUS} vCPUs`);
    const engine = new Engine<Vcpu>(host.memory, jitDecoderFeatures(host.cpuid));
    engine.noInline = this.noInline;
    engine.profile = this.profile;
    engine.interpretFirst = this.interpretFirst;
    this.engine = engine;
    const u8 = new Uint8Array(host.memory.wasmMemory.buffer as ArrayBuffer);
    u8.fill(0, CODE_MAP_BASE, VCPU_AREA_BASE);
    const epoch = host.nowNs();
    const lapics: Lapic[] = [];
    const ipiBus = { send: (from: number, msg: Parameters<typeof deliverIpi>[2]) => { deliverIpi(lapics, from, msg); this.wake(); } };
    for (let i = 0; i < host.cpuCount; i++) {
      const v = new Vcpu(i, engine, host, ipiBus, epoch);
      this.vcpus.push(v);
      lapics.push(v.lapic);
    }
    const cpuOf = (base: number): Vcpu => this.vcpus[(base - VCPU_AREA_BASE) / VCPU_STRIDE]!;
    const guard = (base: number, f: () => number): number => {
      try { return f(); } catch (e) {
        const v = cpuOf(base);
        v.lastError = (e as Error).stack ?? String(e);
        return v.raise(6);
      }
    };
    engine.jsImports = {
      interp: (base: number, id: number) => guard(base, () => cpuOf(base).runHelper(id)),
    };
    engine.onFlushJumpCaches = () => { for (const v of this.vcpus) Engine.flushJumpCache(u8, v.base); };
    engine.onCodePage = (p) => { for (const v of this.vcpus) v.mmu.revokeWrite(p); };
  }

  setState(cpu: number, state: VcpuState): void {
    const v = this.vcpu(cpu);
    writeVcpuState(v.st, state, (_st, fl) => v.setRflags(fl));
    v.msr.efer = state.sregs.efer;
    if (state.sregs.apicBase) v.lapic.writeMsr(0x1b, state.sregs.apicBase);
    if (state.msrs) for (const [k, val] of state.msrs) v.msr.write(k, val);
    v.flushTranslations();
    // APs keep waiting for INIT/SIPI; a stopped vCPU (after a triple fault) becomes runnable again.
    if (v.runState === 'stopped') v.runState = cpu === 0 ? 'running' : 'wait-sipi';
  }

  getState(cpu: number): VcpuState {
    const v = this.vcpu(cpu);
    return readVcpuState(v.st, v.rflags(), v.lapic.apicBase);
  }

  private vcpu(cpu: number): Vcpu {
    const v = this.vcpus[cpu];
    if (!v) throw new RangeError(`no vCPU ${cpu}`);
    return v;
  }

  resume(): void {
    if (this.stopped) return;
    this.running = true;
    this.schedule(0);
  }

  async pause(): Promise<void> {
    this.running = false;
    if (this.scheduled) { clearTimeout(this.scheduled as NodeJS.Timeout); clearImmediate(this.scheduled as NodeJS.Immediate); this.scheduled = undefined; }
    for (const w of this.pauseWaiters.splice(0)) w();
  }

  deliverInterrupt(msg: InterruptMessage): void {
    deliverInterruptMessage(this.vcpus.map((v) => v.lapic), msg);
    this.wake();
  }

  reset(): void {
    for (const v of this.vcpus) {
      v.resetArch();
      // A machine reset is a power cycle for the LAPIC and kvmclock too (INIT, which also
      // calls resetArch, keeps them): stale in-service vectors or an old pvclock page would
      // leave the next boot without timer interrupts.
      v.lapic.reset();
      v.kvmclock.setSystemTimeMsr(0n, 0n);
      v.runState = v.index === 0 ? 'running' : 'wait-sipi';
    }
    this.engine.flushAll();
  }

  async destroy(): Promise<void> {
    this.stopped = true;
    await this.pause();
  }

  /**
   * Debug capabilities for the GDB stub: software/hardware breakpoints are
   * both implemented as translation-level stops (the block ends before the
   * address, arriving there stops the vCPU); single-step translates one
   * instruction per block and stops after each. Data watchpoints: see
   * src/cpu/runtime/watch.ts (their pages bypass the inline TLB).
   */
  readonly debug: AcceleratorDebug = {
    setSingleStep: (_cpu: number, on: boolean): void => {
      if (this.engine.stepping === on) return;
      this.engine.stepping = on;
      this.engine.flushAll();
    },
    addBreakpoint: (_kind: 'sw' | 'hw', gva: bigint): boolean => {
      const a = BigInt.asUintN(64, gva);
      if (!this.engine.breakpoints.has(a)) { this.engine.breakpoints.add(a); this.engine.flushAll(); }
      return true;
    },
    removeBreakpoint: (_kind: 'sw' | 'hw', gva: bigint): boolean => {
      const had = this.engine.breakpoints.delete(BigInt.asUintN(64, gva));
      if (had) this.engine.flushAll();
      return had;
    },
    translate: (cpu: number, gva: bigint): bigint | undefined => {
      const v = this.vcpus[cpu];
      if (!v) return undefined;
      const r = v.mmu.walk(BigInt.asUintN(64, gva), 0, 0);
      return typeof r === 'number' ? undefined : BigInt(r.gpa);
    },
    addWatchpoint: (kind: WatchKind, gva: bigint, len: number): boolean => {
      if (!this.watchpoints.add(kind, gva, len)) return false;
      this.syncWatchpoints();
      return true;
    },
    removeWatchpoint: (kind: WatchKind, gva: bigint, len: number): boolean => {
      if (!this.watchpoints.remove(kind, gva, len)) return false;
      this.syncWatchpoints();
      return true;
    },
    getFpu: (cpu: number): FpuState => readFpuState(this.vcpu(cpu).st),
    setFpu: (cpu: number, state: FpuState): void => writeFpuState(this.vcpu(cpu).st, state),
    memoryWritten: (gpa: number, len: number): void => {
      if (!this.engine || !Number.isFinite(gpa) || !Number.isFinite(len) || len <= 0 || gpa < 0) return;
      const mmu = this.vcpus[0]?.mmu;
      if (!mmu) return;
      // Drop the translations of every written page that holds code (the same path as a guest write).
      const u8 = this.engine.u8;
      for (let page = Math.floor(gpa / 4096) * 4096; page < gpa + len; page += 4096) {
        const wa = mmu.wasmAddr(page, 1);
        if (wa >= 0 && u8[CODE_MAP_BASE + (wa >>> 12)] !== 0) this.engine.invalidatePage(wa >>> 12);
      }
    },
  };

  private readonly watchpoints = new Watchpoints();
  /** Publish the watch set to every vCPU (only while non-empty) and drop TLB entries so watched pages miss. */
  private syncWatchpoints(): void {
    const w = this.watchpoints.size > 0 ? this.watchpoints : undefined;
    for (const v of this.vcpus) { v.mmu.watch = w; v.mmu.flushTlb(); }
  }

  /** Snapshots: src/cpu/snapshot.ts. */
  saveState(): AcceleratorSnapshot { return saveJitState(this); }
  restoreState(snapshot: AcceleratorSnapshot): void { restoreJitState(this, snapshot); }

  /** Deterministic mode: src/cpu/deterministic.ts runs the vCPUs instead of slice()'s host-timed loop. */
  private det: DeterministicScheduler | undefined;
  setDeterministic(config: DeterministicConfig): void {
    this.det = new DeterministicScheduler({
      vcpus: this.vcpus,
      isRunning: () => this.running,
      stop: (reason) => { this.running = false; this.host.onStop(reason); },
    }, config);
  }
  instructionCount(): bigint { return this.vcpus.reduce((a, v) => a + v.instructions, 0n); }

  /** `-d` items: src/cpu/log.ts. */
  setLogging(items: ReadonlySet<string>, write: (line: string) => void): string[] { return enableJitLogging(this, items, write); }

  /** Statistics for bench/ and diagnostics. */
  stats(): JitStats {
    const s = this.engine.stats;
    return {
      instructions: this.vcpus.reduce((a, v) => a + v.instructions, 0n), blocks: s.blocks, translatedInsns: s.insns,
      inlinedInsns: s.inlined, translateMs: Number(s.translateNs) / 1e6,
      tlbFills: this.vcpus.reduce((a, v) => a + v.mmu.tlbFills, 0), slowAccesses: this.vcpus.reduce((a, v) => a + v.mmu.slowAccesses, 0),
      invalidations: s.invalidations,
      inlineAccesses: this.vcpus.reduce((a, v) => a + v.st.u64(S.MEM_ACCESSES), 0n),
      tlbMisses: this.vcpus.reduce((a, v) => a + v.tlbMisses, 0),
      exits: this.vcpus.reduce((a, v) => a + v.exits, 0),
    };
  }

  private wake(): void {
    if (!this.running) return;
    if (this.scheduled) { clearTimeout(this.scheduled as NodeJS.Timeout); clearImmediate(this.scheduled as NodeJS.Immediate); }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    const f = (): void => { this.scheduled = undefined; this.slice(); };
    this.scheduled = delayMs <= 0 ? setImmediate(f) : setTimeout(f, delayMs);
  }

  /** Run one slice of every vCPU; the core of the scheduler. Also usable synchronously by tests. */
  private yieldedAt: bigint | undefined;

  /** Per vCPU: instructions per scheduling turn (see QUANTUM_MIN_MS). */
  private readonly quantum: number[] = [];
  slice(): void {
    if (!this.running) return;
    if (this.det) {
      // A device timer fired inside the slice may have called wake(): wake() replaces that schedule.
      if (this.det.slice() === 'yield' && this.running) this.wake();
      return;
    }
    if (this.yieldedAt !== undefined) { this.engine.pausedNs += this.host.nowNs() - this.yieldedAt; this.yieldedAt = undefined; }
    const t0 = performance.now();
    let allIdle = true;
    for (;;) {
      allIdle = true;
      for (const v of this.vcpus) {
        if (v.runState === 'stopped') continue;
        const q = this.quantum[v.index] ?? 20_000;
        const t = performance.now();
        const r = v.run(q);
        if (r === 'budget') {
          const ms = performance.now() - t;
          if (ms < QUANTUM_MIN_MS) this.quantum[v.index] = Math.min(q * 2, QUANTUM_MAX_INSNS);
          else if (ms > QUANTUM_MAX_MS) this.quantum[v.index] = Math.max(q >> 1, QUANTUM_MIN_INSNS);
        }
        switch (r) {
          case 'triple':
            v.runState = 'stopped';
            this.running = false;
            this.host.onStop({ kind: 'triple-fault', cpu: v.index });
            return;
          case 'error':
            v.runState = 'stopped';
            this.running = false;
            this.host.onStop({ kind: 'internal-error', cpu: v.index, message: v.lastError ?? 'unknown' });
            return;
          case 'debug': {
            this.running = false;
            const d = v.debugStop!;
            this.host.onStop({ kind: 'debug', cpu: v.index, reason: d.reason, address: d.address, ...(d.dataAddress !== undefined ? { dataAddress: d.dataAddress } : {}) });
            return;
          }
          case 'budget': allIdle = false; break;
          default: break;
        }
        if (!this.running) return;
      }
      if (allIdle || performance.now() - t0 >= SLICE_MS) break;
    }
    if (!this.running) return;
    if (allIdle) {
      // Sleep until the earliest LAPIC deadline (or a wake from deliverInterrupt / an IPI).
      const now = this.vcpus[0]!.liveNow();
      let next: bigint | undefined;
      for (const v of this.vcpus) {
        const d = v.lapic.nextDeadlineNs();
        if (d !== undefined && (next === undefined || d < next)) next = d;
        if (v.runState === 'halted' && v.lapic.hasWakeEvent()) next = now;
      }
      if (next === undefined) { this.scheduled = undefined; return; } // wait for deliverInterrupt
      this.schedule(Math.max(0, Number((next - now) / 1_000_000n)));
      return;
    }
    this.yieldedAt = this.host.nowNs();
    this.schedule(0);
  }
}

void S; void Exit;
