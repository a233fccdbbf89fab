/**
 * Deterministic mode: two runs of the same guest with the same inputs give
 * byte-identical console output and the same instruction count, which is
 * what makes a flaky firmware test reproducible.
 *
 * The machine's share (here): devices run on a ManualTimeSource, so the RTC
 * starts at a fixed epoch and every device timer fires at a virtual time;
 * nothing reads the host clock. The accelerator's share (Accelerator.
 * setDeterministic, see DeterministicConfig in src/accel/types.ts):
 * single-thread execution, time advanced by retired instructions, seeded
 * RDRAND. Only an accelerator that implements it can run deterministically:
 * KVM cannot (the host CPU runs the guest), so `accel: 'auto'` picks the JIT.
 */
import type { Accelerator } from '../accel/types.js';
import { ManualTimeSource } from '../devices/clock.js';
import { NotSupportedError } from './inspect.js';

/** `startVm({ ..., deterministic: { seed: 1 } })`. */
export interface DeterministicOptions {
  /** Seeds RDRAND/RDSEED (and anything else random the accelerator models). */
  seed: number | bigint;
  /** The RTC's and kvmclock's wall-clock time at power-on, ms since the Unix epoch; default 2024-01-01T00:00:00Z. */
  epochMs?: number;
  /** Virtual nanoseconds per retired instruction; default 1. */
  nsPerInstruction?: number;
}

/** The default power-on wall-clock time of a deterministic machine: 2024-01-01T00:00:00Z. */
export const DEFAULT_EPOCH_MS = Date.UTC(2024, 0, 1);

/** The time source a deterministic machine's devices run on. */
export function deterministicTime(opts: DeterministicOptions): ManualTimeSource {
  return new ManualTimeSource(opts.epochMs ?? DEFAULT_EPOCH_MS, 0n);
}

/**
 * Put `accel` into deterministic mode (for `Microvm.start({ beforeRun })`).
 * Throws NotSupportedError when the accelerator lacks `setDeterministic`.
 */
export function enableDeterminism(accel: Accelerator, opts: DeterministicOptions, time: ManualTimeSource): void {
  if (!accel.setDeterministic) throw new NotSupportedError(accel.name, 'setDeterministic', 'deterministic mode');
  const ns = opts.nsPerInstruction ?? 1;
  if (!Number.isSafeInteger(ns) || ns < 1) throw new RangeError(`deterministic.nsPerInstruction must be a positive integer, not ${ns}`);
  accel.setDeterministic({ seed: BigInt(opts.seed), time, nsPerInstruction: BigInt(ns) });
}
