/**
 * JIT snapshots (Accelerator.saveState / restoreState, src/accel/types.ts).
 *
 * Per vCPU: the whole state block of the reserved area (GPRs, RIP, the lazy
 * flags record, segment caches, CRs, descriptor tables, XMM/YMM, x87, the
 * MSRs translated code reads, debug registers: see state.ts `S`), the MSR
 * file (msr.ts), the local APIC (devices/lapic.ts), the TSC offset, the run
 * state, the interrupt shadow, NMI blocking and the retired-instruction count.
 * The jump cache and the TLBs are not saved: they are caches, flushed on restore,
 * and the restored machine starts with no translated code.
 *
 * Time base: what the guest sees of time is `guestNow() - epoch` (TSC, kvmclock
 * system time) plus absolute LAPIC deadlines in the guestNow() base. On restore
 * the engine's time offset is set so that guestNow() - epoch continues from the
 * saved value, and the LAPIC deadlines are moved by the difference of the two
 * bases; the TSC offset is kept, so RDTSC and kvmclock continue where they were.
 *
 * The snapshot is untrusted input: every field is checked before anything is
 * changed; the layout fingerprint in `format` refuses a snapshot taken by a
 * build whose state block differs.
 */
import type { AcceleratorSnapshot } from '../accel/types.js';
import { CR0_PE, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, S } from './state.js';
import type { Vcpu, VcpuRunState } from './runtime/vcpu.js';
import { Engine } from './runtime/engine.js';

/** The state layout, as a short fingerprint: a snapshot is only valid for the same layout. */
function layoutFingerprint(): string {
  let h = 0x811c9dc5;
  const text = JSON.stringify(Object.entries(S));
  for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h.toString(16).padStart(8, '0');
}

export const JIT_SNAPSHOT_FORMAT = `jit-1/${layoutFingerprint()}`;

/** What a JIT snapshot holds for one vCPU (plain data). */
export interface JitVcpuSnapshot {
  /** The state block, S.END bytes. */
  block: Uint8Array;
  msr: unknown;
  lapic: unknown;
  tscOffset: bigint;
  runState: VcpuRunState;
  shadow: boolean;
  nmiBlocked: boolean;
  dr: bigint[];
  instructions: bigint;
}

/** Machine-wide part: the guest clock at the save, and the time elapsed since the vCPUs' TSC epoch. */
export interface JitSnapshotExtra {
  guestNowNs: bigint;
  guestElapsedNs: bigint;
}

/** The accelerator internals snapshots need (JitAccelerator passes itself). */
export interface JitSnapshotTarget {
  readonly vcpus: readonly Vcpu[];
  readonly engine: Engine<Vcpu>;
}

export function saveJitState(t: JitSnapshotTarget): AcceleratorSnapshot {
  const v0 = t.vcpus[0]!;
  const vcpus: JitVcpuSnapshot[] = t.vcpus.map((v) => ({
    block: v.st.u8.slice(v.base, v.base + S.END),
    msr: v.msr.saveState(),
    lapic: v.lapic.saveState(),
    tscOffset: v.tsc.offset,
    runState: v.runState,
    shadow: v.shadow,
    nmiBlocked: v.nmiBlocked,
    dr: [...v.dr],
    instructions: v.instructions,
  }));
  const now = v0.guestNow();
  const extra: JitSnapshotExtra = { guestNowNs: now, guestElapsedNs: now - v0.tsc.epochNs };
  return { accel: 'jit', format: JIT_SNAPSHOT_FORMAT, vcpus, extra };
}

const RUN_STATES: readonly VcpuRunState[] = ['running', 'halted', 'wait-sipi', 'stopped'];
const U64_MAX = (1n << 64n) - 1n;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function isU64(x: unknown): x is bigint { return typeof x === 'bigint' && x >= 0n && x <= U64_MAX; }

/** Check one vCPU entry; returns the error or the typed entry. */
function checkVcpu(x: unknown, i: number): JitVcpuSnapshot | string {
  if (!isObject(x)) return `vCPU ${i}: not an object`;
  const { block, msr, lapic, tscOffset, runState, shadow, nmiBlocked, dr, instructions } = x;
  if (!(block instanceof Uint8Array) || block.length !== S.END) return `vCPU ${i}: state block must be ${S.END} bytes`;
  if (!isU64(tscOffset)) return `vCPU ${i}: bad tscOffset`;
  if (typeof runState !== 'string' || !(RUN_STATES as readonly string[]).includes(runState)) return `vCPU ${i}: bad runState`;
  if (typeof shadow !== 'boolean' || typeof nmiBlocked !== 'boolean') return `vCPU ${i}: bad shadow/nmiBlocked`;
  if (!Array.isArray(dr) || dr.length !== 8 || !dr.every(isU64)) return `vCPU ${i}: bad debug registers`;
  if (!isU64(instructions)) return `vCPU ${i}: bad instruction count`;
  // Control-register combinations no guest can reach (KVM's kvm_is_valid_sregs makes the same checks).
  const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const cr0 = dv.getBigUint64(S.CR0, true), cr4 = dv.getBigUint64(S.CR4, true), efer = dv.getBigUint64(S.EFER, true);
  if ((cr0 & CR0_PG) && !(cr0 & CR0_PE)) return `vCPU ${i}: CR0.PG without CR0.PE`;
  if ((efer & EFER_LMA) && !((cr0 & CR0_PG) && (cr4 & CR4_PAE) && (efer & EFER_LME))) return `vCPU ${i}: EFER.LMA without paging, PAE and LME`;
  if ((cr0 & CR0_PG) && (efer & EFER_LME) && !(efer & EFER_LMA)) return `vCPU ${i}: EFER.LME with paging on but LMA clear`;
  return { block, msr, lapic, tscOffset, runState: runState as VcpuRunState, shadow, nmiBlocked, dr: dr as bigint[], instructions };
}

/**
 * Shift the LAPIC's absolute timer times (guestNow() base) by `delta` ns, on
 * a copy of its plain state; other fields are left for Lapic.loadState to check.
 */
function shiftLapicTimes(state: unknown, delta: bigint): unknown {
  if (!isObject(state)) return state;
  const out: Record<string, unknown> = { ...state };
  for (const k of ['timerStartNs', 'timerDeadlineNs']) {
    const v = state[k];
    if (typeof v === 'string' && /^-?[0-9]{1,30}$/.test(v)) out[k] = (BigInt(v) + delta).toString();
  }
  return out;
}

/**
 * Load `snap` into the vCPUs of a freshly initialized JIT (after init(),
 * before resume(); RAM already restored). Throws Error with the reason when
 * the snapshot is unusable, having changed nothing in that case except when
 * the MSR or LAPIC state is refused (then the vCPUs are reset).
 */
export function restoreJitState(t: JitSnapshotTarget, snap: AcceleratorSnapshot): void {
  if (!isObject(snap)) throw new Error('JIT snapshot: not an object');
  if (snap.accel !== 'jit') throw new Error(`JIT snapshot: taken on ${String(snap.accel)}`);
  if (snap.format !== JIT_SNAPSHOT_FORMAT) {
    throw new Error(`JIT snapshot: format ${String(snap.format)} is not ${JIT_SNAPSHOT_FORMAT} (taken by a different build of the JIT)`);
  }
  if (!Array.isArray(snap.vcpus) || snap.vcpus.length !== t.vcpus.length) {
    throw new Error(`JIT snapshot: ${Array.isArray(snap.vcpus) ? snap.vcpus.length : 'no'} vCPUs saved, this machine has ${t.vcpus.length}`);
  }
  const extra = snap.extra;
  const elapsed = isObject(extra) ? extra['guestElapsedNs'] : undefined;
  const savedGuestNow = isObject(extra) ? extra['guestNowNs'] : undefined;
  if (typeof elapsed !== 'bigint' || elapsed < -U64_MAX || elapsed > U64_MAX || typeof savedGuestNow !== 'bigint') {
    throw new Error('JIT snapshot: bad time base');
  }
  const entries: JitVcpuSnapshot[] = [];
  snap.vcpus.forEach((x, i) => {
    const e = checkVcpu(x, i);
    if (typeof e === 'string') throw new Error(`JIT snapshot: ${e}`);
    entries.push(e);
  });

  // Translated code never survives a restore: the guest's RAM changed under it.
  t.engine.flushAll();
  // Time base: guestNow() - epoch must read `elapsed` now. The vCPUs share the engine and the epoch.
  const v0 = t.vcpus[0]!;
  t.engine.pausedNs += v0.guestNow() - (v0.tsc.epochNs + elapsed);
  // LAPIC times are absolute in the guestNow() base: the same distance from the save instant as before.
  const lapicDelta = v0.guestNow() - savedGuestNow;

  let failure: string | undefined;
  t.vcpus.forEach((v, i) => {
    const e = entries[i]!;
    v.st.u8.set(e.block, v.base);
    // Host-side scratch: nothing pending from the old run loop.
    v.st.setU32(S.BUDGET, 0);
    v.st.setU32(S.REQUEST, 0);
    // At an instruction boundary no exception is pending (the run loop delivers them before it returns).
    v.st.setU32(S.EXC_VECTOR, 0xffffffff);
    Engine.flushJumpCache(v.st.u8, v.base);
    v.mmu.flushTlb();
    if (!v.msr.loadState(e.msr)) failure ??= `vCPU ${i}: MSR state refused`;
    if (!v.lapic.loadState(shiftLapicTimes(e.lapic, lapicDelta))) {
      failure ??= `vCPU ${i}: LAPIC state refused`;
    }
    v.tsc.offset = e.tscOffset;
    v.runState = e.runState;
    v.shadow = e.shadow;
    v.nmiBlocked = e.nmiBlocked;
    e.dr.forEach((d, k) => { v.dr[k] = d; });
    v.instructions = e.instructions;
    // kvmclock keeps publishing to the registered area (its contents are in RAM already).
    const sys = v.msr.kvmSystemTime;
    v.kvmclock.gpa = (sys & 1n) !== 0n && (sys & ~1n) <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sys & ~1n) : undefined;
  });
  if (failure !== undefined) {
    for (const v of t.vcpus) { v.resetArch(); v.lapic.reset(); v.runState = v.index === 0 ? 'running' : 'wait-sipi'; }
    throw new Error(`JIT snapshot: ${failure}`);
  }
}
