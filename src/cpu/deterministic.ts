/**
 * Deterministic mode for the JIT (Accelerator.setDeterministic; contract in
 * `DeterministicConfig`, src/accel/types.ts, and src/machine/deterministic.ts).
 *
 * - Every vCPU runs on the Node thread, round-robin, QUANTUM instructions at a
 *   time (blocks are charged whole, so a quantum ends at the same instruction
 *   on every run); ROUNDS_PER_YIELD rounds between event-loop turns.
 * - Virtual time: after each quantum the machine clock moves to
 *   `instructions x nsPerInstruction` (+ the time skipped while idle), which
 *   fires the device timers due on the way. When every vCPU is halted (or waits
 *   for SIPI) time jumps to the next device or LAPIC deadline.
 * - The vCPUs read that clock for the TSC, kvmclock and the LAPIC timer, and
 *   the wall clock derived from it (kvmclock wall clock, clock pairing).
 * - RDRAND/RDSEED come from SplitMix64 seeded with `seed`.
 * Interrupts reach a vCPU only at the start of a quantum or at its own exits
 * (both fixed points in the instruction stream), never at a host-timed point.
 */
import type { DeterministicConfig, StopReason } from '../accel/types.js';
import type { Vcpu } from './runtime/vcpu.js';
import { S } from './state.js';

/** Instructions a vCPU runs before the next one gets its turn. */
export const QUANTUM = 10_000;
/** Rounds of every vCPU between yields to the event loop. */
export const ROUNDS_PER_YIELD = 64;

/** SplitMix64 (Steele, Lea, Flood 2014): small, fast, good enough for seeded RDRAND. */
export class SplitMix64 {
  private s: bigint;
  constructor(seed: bigint) { this.s = BigInt.asUintN(64, seed); }
  next(): bigint {
    this.s = BigInt.asUintN(64, this.s + 0x9e3779b97f4a7c15n);
    let z = this.s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
}

/**
 * A halted vCPU with an event it will take at once: an interrupt with
 * RFLAGS.IF set, an NMI, INIT or SIPI. (HLT with IF clear stays halted
 * whatever is pending in IRR, SDM Vol. 2 HLT: time must move on then.)
 */
function canWake(v: Vcpu): boolean {
  if (v.runState !== 'halted') return false;
  const l = v.lapic;
  if (l.nmiPending || l.initPending || l.sipiVector !== undefined) return true;
  return (v.st.u64(S.RFLAGS) & IF) !== 0n && l.getPendingVector() >= 0;
}

const IF = 1n << 9n;

/** What the scheduler needs from the accelerator. */
export interface DeterministicTarget {
  readonly vcpus: readonly Vcpu[];
  isRunning(): boolean;
  /** A vCPU stopped for a reason the machine must handle: stop running, tell the host. */
  stop(reason: StopReason): void;
}

/** What a slice ended with: run again soon, wait for an interrupt from outside, or stopped. */
export type SliceResult = 'yield' | 'idle' | 'stop';

export class DeterministicScheduler {
  private readonly time: DeterministicConfig['time'];
  private readonly nsPerInsn: bigint;
  /** Virtual time skipped while every vCPU was idle. */
  private idleNs = 0n;
  /** The clock's reading when deterministic mode began (time = base + insns x ns + idle). */
  private readonly baseNs: bigint;
  private readonly insnsAtStart: bigint;

  constructor(private readonly t: DeterministicTarget, config: DeterministicConfig) {
    this.time = config.time;
    this.nsPerInsn = config.nsPerInstruction > 0n ? config.nsPerInstruction : 1n;
    this.baseNs = this.time.nowNs();
    this.insnsAtStart = this.instructions();
    const rng = new SplitMix64(config.seed);
    const time = this.time;
    for (const v of t.vcpus) {
      // Instance overrides of the vCPU's clock, wall clock and entropy source.
      v.guestNow = (): bigint => time.nowNs();
      v.wallNowNs = (): bigint => BigInt(time.wallClockMs()) * 1_000_000n + time.nowNs() % 1_000_000n;
      v.random = (size: number): bigint => rng.next() & ((1n << BigInt(size * 8)) - 1n);
    }
  }

  instructions(): bigint {
    let n = 0n;
    for (const v of this.t.vcpus) n += v.instructions;
    return n;
  }

  private advance(): void {
    const target = this.baseNs + (this.instructions() - this.insnsAtStart) * this.nsPerInsn + this.idleNs;
    if (target > this.time.nowNs()) this.time.advanceTo(target);
  }

  /** One scheduling turn: ROUNDS_PER_YIELD rounds of QUANTUM instructions per vCPU. */
  slice(): SliceResult {
    for (let round = 0; round < ROUNDS_PER_YIELD; round++) {
      let allIdle = true;
      for (const v of this.t.vcpus) {
        if (v.runState === 'stopped') continue;
        const r = v.run(QUANTUM);
        this.advance();
        switch (r) {
          case 'triple': v.runState = 'stopped'; this.t.stop({ kind: 'triple-fault', cpu: v.index }); return 'stop';
          case 'error':
            v.runState = 'stopped';
            this.t.stop({ kind: 'internal-error', cpu: v.index, message: v.lastError ?? 'unknown' });
            return 'stop';
          case 'debug': {
            const d = v.debugStop!;
            this.t.stop({ kind: 'debug', cpu: v.index, reason: d.reason, address: d.address, ...(d.dataAddress !== undefined ? { dataAddress: d.dataAddress } : {}) });
            return 'stop';
          }
          case 'budget': allIdle = false; break;
          default: break;
        }
        if (!this.t.isRunning()) return 'stop';
      }
      if (!allIdle) continue;
      // Every vCPU is halted or waits for SIPI: a pending wake event runs them again at once,
      // otherwise time jumps to the next deadline (a device timer or a LAPIC timer).
      if (this.t.vcpus.some(canWake)) continue;
      const now = this.time.nowNs();
      let next = this.time.nextDeadlineNs();
      for (const v of this.t.vcpus) {
        const d = v.lapic.nextDeadlineNs();
        if (d !== undefined && (next === undefined || d < next)) next = d;
      }
      if (next === undefined) return 'idle'; // only an interrupt from outside (console input, network) can wake it
      if (next > now) this.idleNs += next - now;
      this.advance();
      if (!this.t.isRunning()) return 'stop';
    }
    return 'yield';
  }
}
