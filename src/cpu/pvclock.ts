/**
 * Guest time for the JIT: the invariant TSC, the kvmclock (pvclock) structures
 * and the KVM_HC_CLOCK_PAIRING hypercall (MICROVM-CONTRACT.md, "Time").
 *
 * Sources: Linux Documentation/virt/kvm/x86/msr.rst (MSR_KVM_SYSTEM_TIME_NEW,
 * MSR_KVM_WALL_CLOCK_NEW, pvclock_vcpu_time_info), hypercalls.rst
 * (KVM_HC_CLOCK_PAIRING), and the facts of KVM's kvm_get_time_scale() and the
 * guest's pvclock_scale_delta().
 *
 * Model: the guest TSC is a pure linear function of host monotonic time,
 * `tsc = (ns - epochNs) * tscKhz / 10^6 + offset`, so it is invariant and the
 * same on every vCPU until a vCPU writes IA32_TSC (which changes only its own
 * offset). kvmclock's `system_time` is ns since `epochNs` (VM creation). Because
 * both are linear in host time, one pvclock update stays valid forever; the
 * JIT re-publishes it only when the guest re-registers or writes IA32_TSC.
 */

/** Nanoseconds per second. */
const NSEC_PER_SEC = 1_000_000_000n;

// pvclock_vcpu_time_info layout (32 bytes, msr.rst)
export const PVCLOCK_VERSION = 0;
export const PVCLOCK_TSC_TIMESTAMP = 8;
export const PVCLOCK_SYSTEM_TIME = 16;
export const PVCLOCK_TSC_TO_SYSTEM_MUL = 24;
export const PVCLOCK_TSC_SHIFT = 28;
export const PVCLOCK_FLAGS = 29;
export const PVCLOCK_TIME_INFO_SIZE = 32;
/** flags bit 0: the TSC is stable across vCPUs (guests may skip the monotonicity fixup). */
export const PVCLOCK_TSC_STABLE_BIT = 1 << 0;
/** flags bit 1: the guest was stopped (watchdogs should not fire). */
export const PVCLOCK_GUEST_STOPPED = 1 << 1;
/** pvclock_wall_clock {u32 version, u32 sec, u32 nsec} */
export const PVCLOCK_WALL_CLOCK_SIZE = 12;

// hypercalls.rst
export const KVM_HC_VAPIC_POLL_IRQ = 1;
export const KVM_HC_CLOCK_PAIRING = 9;
export const KVM_CLOCK_PAIRING_WALLCLOCK = 0;
/** struct kvm_clock_pairing {s64 sec; s64 nsec; u64 tsc; u32 flags; u32 pad[9]} */
export const KVM_CLOCK_PAIRING_SIZE = 64;
// include/uapi/linux/kvm_para.h error numbers (returned negated in RAX)
export const KVM_ENOSYS = 1000;
export const KVM_EFAULT = 14;
export const KVM_EPERM = 1;
export const KVM_EOPNOTSUPP = 95;

/** The guest-memory operations the pvclock writers need (GuestMemory satisfies it). */
export interface PvclockMemory {
  isRam(gpa: number, len?: number): boolean;
  readU32(gpa: number): number;
  writeU8(gpa: number, v: number): void;
  writeU32(gpa: number, v: number): void;
  writeU64(gpa: number, v: bigint): void;
}

export interface TimeScale {
  /** tsc_to_system_mul: a 32.32 fixed-point fraction. */
  mul: number;
  /** tsc_shift: applied to the delta before multiplying (negative = right shift). */
  shift: number;
}

/**
 * KVM's kvm_get_time_scale(scaled_hz, base_hz): find (mul, shift) such that
 * `scaled = ((base << shift) * mul) >> 32` converts a count at `base_hz` into
 * one at `scaled_hz`. kvmclock uses scaled = 10^9 (ns), base = TSC Hz.
 *
 * Steps (same facts as KVM): halve the base until it is at most twice the
 * scaled rate and fits 32 bits (shift--); then double the 32-bit base (or
 * halve the scaled rate when it does not fit / the base's top bit is set)
 * until base > scaled (shift++); mul = (scaled << 32) / base.
 */
export function kvmGetTimeScale(scaledHz: bigint, baseHz: bigint): TimeScale {
  if (scaledHz <= 0n || baseHz <= 0n) throw new RangeError('frequencies must be positive');
  let shift = 0;
  let tps64 = baseHz;
  let scaled64 = scaledHz;
  const HIGH = 0xffffffff00000000n;
  while (tps64 > scaled64 * 2n || (tps64 & HIGH) !== 0n) {
    tps64 >>= 1n;
    shift--;
  }
  let tps32 = tps64 & 0xffffffffn;
  while (tps32 <= scaled64 || (scaled64 & HIGH) !== 0n) {
    if ((scaled64 & HIGH) !== 0n || (tps32 & 0x80000000n) !== 0n) scaled64 >>= 1n;
    else tps32 = (tps32 << 1n) & 0xffffffffn;
    shift++;
  }
  // div_frac(dividend, divisor): the 32-bit quotient of (dividend << 32) / divisor.
  const mul = Number(((scaled64 << 32n) / tps32) & 0xffffffffn);
  return { mul, shift };
}

/** The guest side (pvclock_scale_delta): ((delta shifted) * mul) >> 32 with a 96-bit product. */
export function pvclockScaleDelta(delta: bigint, mul: number, shift: number): bigint {
  let d = BigInt.asUintN(64, delta);
  d = shift < 0 ? d >> BigInt(-shift) : BigInt.asUintN(64, d << BigInt(shift));
  return BigInt.asUintN(64, (d * BigInt(mul >>> 0)) >> 32n);
}

/**
 * One vCPU's TSC. `epochNs` is the host monotonic time at which every vCPU's
 * TSC read 0 (machine creation); `offset` changes only on IA32_TSC writes.
 */
export class TscClock {
  private readonly khz: bigint;
  offset = 0n;

  constructor(readonly tscKhz: number, readonly epochNs: bigint) {
    if (!Number.isInteger(tscKhz) || tscKhz <= 0) throw new RangeError(`bad TSC kHz ${tscKhz}`);
    this.khz = BigInt(tscKhz);
  }

  private ticksSinceEpoch(nowNs: bigint): bigint {
    const dt = nowNs > this.epochNs ? nowNs - this.epochNs : 0n;
    return (dt * this.khz) / 1_000_000n;
  }

  /** RDTSC at host time `nowNs` (monotonic, wraps at 2^64). */
  tscAt(nowNs: bigint): bigint {
    return BigInt.asUintN(64, this.ticksSinceEpoch(nowNs) + this.offset);
  }

  /**
   * The earliest host time at which `tscAt()` reaches `tsc` (for TSC-deadline
   * timers). A value already in the past returns a time <= now.
   */
  nsAtTsc(tsc: bigint): bigint {
    const ticks = BigInt.asUintN(64, tsc) - this.offset;
    if (ticks <= 0n) return this.epochNs;
    return this.epochNs + (ticks * 1_000_000n + this.khz - 1n) / this.khz;
  }

  /** IA32_TSC write (SDM vol. 3B 18.17): the TSC reads `value` at `nowNs`. */
  write(nowNs: bigint, value: bigint): void {
    this.offset = BigInt.asUintN(64, value) - this.ticksSinceEpoch(nowNs);
  }
}

export interface PvclockTimeInfo {
  tscTimestamp: bigint;
  systemTime: bigint;
  mul: number;
  shift: number;
  flags: number;
}

/** The pvclock values for a vCPU at host time `nowNs`. */
export function pvclockTimeInfo(tsc: TscClock, nowNs: bigint, stable: boolean): PvclockTimeInfo {
  const { mul, shift } = kvmGetTimeScale(NSEC_PER_SEC, BigInt(tsc.tscKhz) * 1000n);
  return {
    tscTimestamp: tsc.tscAt(nowNs),
    systemTime: nowNs > tsc.epochNs ? nowNs - tsc.epochNs : 0n,
    mul, shift,
    flags: stable ? PVCLOCK_TSC_STABLE_BIT : 0,
  };
}

/**
 * Publish pvclock_vcpu_time_info at `gpa` with the version protocol of
 * msr.rst: version becomes odd, the fields are written, version becomes even
 * (the next even number after the guest's current value). Returns false (and
 * writes nothing) when the 32 bytes are not all RAM.
 */
export function writePvclockTimeInfo(mem: PvclockMemory, gpa: number, info: PvclockTimeInfo): boolean {
  if (!Number.isSafeInteger(gpa) || gpa < 0 || !mem.isRam(gpa, PVCLOCK_TIME_INFO_SIZE)) return false;
  const odd = ((mem.readU32(gpa + PVCLOCK_VERSION) + 1) | 1) >>> 0;
  mem.writeU32(gpa + PVCLOCK_VERSION, odd);
  mem.writeU32(gpa + 4, 0);
  mem.writeU64(gpa + PVCLOCK_TSC_TIMESTAMP, info.tscTimestamp);
  mem.writeU64(gpa + PVCLOCK_SYSTEM_TIME, info.systemTime);
  mem.writeU32(gpa + PVCLOCK_TSC_TO_SYSTEM_MUL, info.mul >>> 0);
  mem.writeU8(gpa + PVCLOCK_TSC_SHIFT, info.shift & 0xff);
  mem.writeU8(gpa + PVCLOCK_FLAGS, info.flags & 0xff);
  mem.writeU8(gpa + 30, 0);
  mem.writeU8(gpa + 31, 0);
  mem.writeU32(gpa + PVCLOCK_VERSION, (odd + 1) >>> 0);
  return true;
}

/**
 * Publish pvclock_wall_clock {version, sec, nsec} at `gpa`: the wall-clock
 * time (UTC, ns since the Unix epoch) at which kvmclock read 0, i.e.
 * `wallNowNs - systemTimeNowNs`. Same odd/even version protocol.
 */
export function writePvclockWallClock(mem: PvclockMemory, gpa: number, bootWallNs: bigint): boolean {
  if (!Number.isSafeInteger(gpa) || gpa < 0 || !mem.isRam(gpa, PVCLOCK_WALL_CLOCK_SIZE)) return false;
  const odd = ((mem.readU32(gpa) + 1) | 1) >>> 0;
  const t = bootWallNs > 0n ? bootWallNs : 0n;
  mem.writeU32(gpa, odd);
  mem.writeU32(gpa + 4, Number(BigInt.asUintN(32, t / NSEC_PER_SEC)));
  mem.writeU32(gpa + 8, Number(t % NSEC_PER_SEC));
  mem.writeU32(gpa, (odd + 1) >>> 0);
  return true;
}

/**
 * kvmclock for one vCPU: the state behind MSR_KVM_SYSTEM_TIME(_NEW) and the
 * wall clock MSR. Wire `MsrHooks.onKvmSystemTime` to `setSystemTimeMsr` and
 * `onKvmWallClock` to `writeWallClock`; call `refresh` after an IA32_TSC write.
 */
export class KvmClock {
  /** Registered GPA of pvclock_vcpu_time_info, or undefined when disabled. */
  gpa: number | undefined;
  /** Failed publications (GPA not RAM), for diagnostics. */
  faults = 0;

  constructor(
    private readonly mem: PvclockMemory,
    private readonly tsc: TscClock,
    /** kvmclock-stable-bit reported (PVCLOCK_TSC_STABLE_BIT in flags). */
    private readonly stable: boolean,
  ) {}

  /** MSR value: bit 0 enable, bits 63:1 GPA (msr.rst: 4-byte aligned). */
  setSystemTimeMsr(value: bigint, nowNs: bigint): void {
    if ((value & 1n) === 0n) { this.gpa = undefined; return; }
    const gpa = value & ~1n;
    this.gpa = gpa <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(gpa) : undefined;
    this.refresh(nowNs);
  }

  /** Re-publish the time info (after registration or an IA32_TSC write). */
  refresh(nowNs: bigint): void {
    if (this.gpa === undefined) return;
    if (!writePvclockTimeInfo(this.mem, this.gpa, pvclockTimeInfo(this.tsc, nowNs, this.stable))) this.faults++;
  }

  /** MSR_KVM_WALL_CLOCK(_NEW) written with `gpa`: fill the struct now. */
  writeWallClock(gpa: bigint, nowNs: bigint, wallNowNs: bigint): void {
    const systemTime = nowNs > this.tsc.epochNs ? nowNs - this.tsc.epochNs : 0n;
    if (gpa > BigInt(Number.MAX_SAFE_INTEGER) || !writePvclockWallClock(this.mem, Number(gpa), wallNowNs - systemTime)) this.faults++;
  }
}

/**
 * KVM_HC_CLOCK_PAIRING (hypercalls.rst): write {sec, nsec, tsc, flags} for
 * one instant (the host wall clock and the guest TSC at the same `nowNs`).
 * Returns the value for RAX: 0, -KVM_EOPNOTSUPP for a clock type other than
 * KVM_CLOCK_PAIRING_WALLCLOCK, -KVM_EFAULT when the 64 bytes are not RAM.
 */
export function kvmClockPairing(
  mem: PvclockMemory, gpa: bigint, clockType: bigint, tscNow: bigint, wallNowNs: bigint,
): bigint {
  if (clockType !== BigInt(KVM_CLOCK_PAIRING_WALLCLOCK)) return -BigInt(KVM_EOPNOTSUPP);
  if (gpa > BigInt(Number.MAX_SAFE_INTEGER) || !mem.isRam(Number(gpa), KVM_CLOCK_PAIRING_SIZE)) return -BigInt(KVM_EFAULT);
  const g = Number(gpa);
  const wall = wallNowNs > 0n ? wallNowNs : 0n;
  mem.writeU64(g, wall / NSEC_PER_SEC);
  mem.writeU64(g + 8, wall % NSEC_PER_SEC);
  mem.writeU64(g + 16, tscNow);
  mem.writeU32(g + 24, 0);
  for (let o = 28; o < KVM_CLOCK_PAIRING_SIZE; o += 4) mem.writeU32(g + o, 0);
  return 0n;
}

export interface HypercallContext {
  mem: PvclockMemory;
  /** CPL of the caller: KVM refuses hypercalls from CPL > 0 with -KVM_EPERM. */
  cpl: number;
  tscNow(): bigint;
  wallNowNs(): bigint;
}

/**
 * VMCALL/VMMCALL with RAX = nr, RBX = a0, RCX = a1 (hypercalls.rst).
 * Returns the new RAX as an unsigned 64-bit value. Unknown: -KVM_ENOSYS.
 */
export function kvmHypercall(nr: bigint, a0: bigint, a1: bigint, ctx: HypercallContext): bigint {
  const u = (v: bigint): bigint => BigInt.asUintN(64, v);
  if (ctx.cpl !== 0) return u(-BigInt(KVM_EPERM));
  switch (nr) {
    case BigInt(KVM_HC_VAPIC_POLL_IRQ):
      return 0n;
    case BigInt(KVM_HC_CLOCK_PAIRING):
      return u(kvmClockPairing(ctx.mem, a0, a1, ctx.tscNow(), ctx.wallNowNs()));
    default:
      return u(-BigInt(KVM_ENOSYS));
  }
}
