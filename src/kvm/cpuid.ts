/**
 * CPUID under KVM: the table a vCPU gets through KVM_SET_CPUID2, built from
 * KVM_GET_SUPPORTED_CPUID plus the microvm contract (MICROVM-CONTRACT.md,
 * "CPU features the guest checks"):
 *  - leaf 1: hypervisor bit, TSC-deadline when the in-kernel LAPIC has it,
 *    HTT and the APIC ID / logical count in EBX;
 *  - topology for `-smp N` (one package, N cores, one thread per core):
 *    Intel leaf 4 EAX[31:26] and leaf 0xB, AMD 0x80000008 ECX and 0x8000001E;
 *  - KVM leaves: 0x40000000 signature with EAX = 0x40000010, 0x40000001
 *    features (kvmclock), 0x40000010 TSC and LAPIC bus frequencies in kHz
 *    (the VMware/KVM "timing information" leaf, as QEMU fills it);
 *  - invariant TSC (0x80000007 EDX bit 8) when asked for and supported.
 *
 * `host.cpuid` (the machine's CpuidPolicy) is not the source here: under KVM
 * the table must be a subset of what KVM supports, so we start from that (the
 * `-cpu host` model) and may only remove features. A policy can be passed as
 * `featureMask` to clear every feature bit it does not report (for a named
 * `-cpu` model); the KVM, topology and frequency leaves are ours regardless.
 */
import type { CpuidResult } from '../cpu/cpuid.js';
import { KVM_CPUID_FLAG_SIGNIFCANT_INDEX, type CpuidEntry2 } from './abi.js';

// Intel SDM Vol. 2A, CPUID; AMD APM Vol. 3, Appendix E.
export const CPUID_1_ECX_TSC_DEADLINE = 1 << 24;
export const CPUID_1_ECX_OSXSAVE = 1 << 27;
export const CPUID_1_ECX_HYPERVISOR = 1 << 31;
export const CPUID_1_EDX_HTT = 1 << 28;
export const CPUID_7_0_ECX_OSPKE = 1 << 4;
export const CPUID_80000001_ECX_CMP_LEGACY = 1 << 1;
export const CPUID_80000007_EDX_INVTSC = 1 << 8;

// Documentation/virt/kvm/x86/cpuid.rst
export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;
/** The timing leaf (TSC kHz in EAX, LAPIC bus kHz in EBX). */
export const KVM_CPUID_TIMING = 0x40000010;
export const KVM_FEATURE_CLOCKSOURCE = 1 << 0;
export const KVM_FEATURE_NOP_IO_DELAY = 1 << 1;
export const KVM_FEATURE_CLOCKSOURCE2 = 1 << 3;
export const KVM_FEATURE_CLOCKSOURCE_STABLE_BIT = 1 << 24;

/** KVM's LAPIC timer counts at 1 GHz (arch/x86/kvm/lapic.h APIC_BUS_CYCLE_NS = 1). */
export const KVM_APIC_BUS_KHZ = 1_000_000;

export interface KvmCpuidOptions {
  /** vCPU index; also its APIC ID. */
  cpu: number;
  cpuCount: number;
  /** TSC frequency (KVM_GET_TSC_KHZ), reported in 0x40000010 and 0x15/0x16. */
  tscKhz: number;
  /** Report kvmclock (KVM_FEATURE_CLOCKSOURCE/2/STABLE). QEMU's default: on. */
  kvmclock: boolean;
  /** Report invariant TSC (QEMU `invtsc=on`); dropped with a warning if KVM lacks it. */
  invtsc: boolean;
  /** KVM_CAP_TSC_DEADLINE_TIMER with an in-kernel LAPIC. */
  tscDeadline: boolean;
  /** Optional model mask: feature bits the model does not report are cleared. */
  featureMask?: (leaf: number, subleaf: number) => CpuidResult;
}

export interface KvmCpuidResult {
  entries: CpuidEntry2[];
  /** Requested features KVM cannot provide (QEMU prints these as warnings). */
  warnings: string[];
}

export type CpuVendor = 'intel' | 'amd' | 'other';

export function cpuVendor(entries: readonly CpuidEntry2[]): CpuVendor {
  const l0 = entries.find((e) => e.function === 0);
  if (!l0) return 'other';
  const b = Buffer.alloc(12);
  b.writeUInt32LE(l0.ebx, 0);
  b.writeUInt32LE(l0.edx, 4);
  b.writeUInt32LE(l0.ecx, 8);
  const v = b.toString('latin1');
  if (v === 'GenuineIntel') return 'intel';
  if (v === 'AuthenticAMD' || v === 'HygonGenuine') return 'amd';
  return 'other';
}

/** Bits needed to number `n` things (ceil(log2 n)), as APIC ID fields are sized. */
export function idWidth(n: number): number {
  let w = 0;
  while ((1 << w) < n) w++;
  return w;
}

/** The kvm_cpuid_entry2 table for one vCPU. Does not modify `supported`. */
export function buildKvmCpuid(supported: readonly CpuidEntry2[], o: KvmCpuidOptions): KvmCpuidResult {
  if (!Number.isInteger(o.cpuCount) || o.cpuCount < 1 || o.cpuCount > 255) {
    throw new RangeError(`cpuCount must be 1..255 (xAPIC IDs), got ${o.cpuCount}`);
  }
  if (!Number.isInteger(o.cpu) || o.cpu < 0 || o.cpu >= o.cpuCount) throw new RangeError(`bad vCPU index ${o.cpu}`);
  const warnings: string[] = [];
  const vendor = cpuVendor(supported);
  const apicId = o.cpu;
  const n = o.cpuCount;
  const coreBits = idWidth(n);
  const maxBasic = supported.find((e) => e.function === 0)?.eax ?? 0;

  // Leaves we rebuild from scratch are dropped from the copy.
  const rebuilt = new Set([0xb, 0x1f, KVM_CPUID_TIMING]);
  const entries: CpuidEntry2[] = supported
    .filter((e) => !rebuilt.has(e.function))
    .map((e) => ({ ...e }));
  const find = (fn: number, index = 0): CpuidEntry2 | undefined =>
    entries.find((e) => e.function === fn && ((e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) === 0 || e.index === index));

  if (o.featureMask) applyFeatureMask(entries, o.featureMask);

  const l1 = find(1);
  if (l1) {
    // EBX[31:24] initial APIC ID, [23:16] addressable logical processor IDs.
    l1.ebx = ((l1.ebx & 0x0000ffff) | ((n > 1 ? n : 0) << 16) | (apicId << 24)) >>> 0;
    l1.ecx = (l1.ecx | CPUID_1_ECX_HYPERVISOR) >>> 0;
    if (o.tscDeadline) l1.ecx = (l1.ecx | CPUID_1_ECX_TSC_DEADLINE) >>> 0;
    else l1.ecx = (l1.ecx & ~CPUID_1_ECX_TSC_DEADLINE) >>> 0;
    // OSXSAVE mirrors CR4.OSXSAVE; KVM computes it at run time.
    l1.ecx = (l1.ecx & ~CPUID_1_ECX_OSXSAVE) >>> 0;
    l1.edx = n > 1 ? (l1.edx | CPUID_1_EDX_HTT) >>> 0 : (l1.edx & ~CPUID_1_EDX_HTT) >>> 0;
  }
  const l7 = find(7, 0);
  if (l7) l7.ecx = (l7.ecx & ~CPUID_7_0_ECX_OSPKE) >>> 0;

  if (vendor === 'intel' || vendor === 'other') {
    // Leaf 4: EAX[31:26] = addressable core IDs - 1, [25:14] = logical
    // processors sharing this cache - 1 (L1/L2 per core, L3 per package).
    for (const e of entries) {
      if (e.function !== 4 || (e.eax & 0x1f) === 0) continue;
      const level = (e.eax >>> 5) & 7;
      const sharing = level >= 3 ? (1 << coreBits) - 1 : 0;
      e.eax = ((e.eax & 0x3fff) | (sharing << 14) | (((1 << coreBits) - 1) << 26)) >>> 0;
    }
    // Leaves 0x15/0x16: crystal = TSC (ratio 1/1) and base frequency in MHz,
    // a fallback source for guests that do not read 0x40000010.
    const l15 = find(0x15);
    if (l15 && o.tscKhz > 0 && o.tscKhz * 1000 <= 0xffffffff) {
      l15.eax = 1; l15.ebx = 1; l15.ecx = (o.tscKhz * 1000) >>> 0; l15.edx = 0;
    }
    const l16 = find(0x16);
    if (l16 && o.tscKhz > 0) {
      const mhz = Math.floor(o.tscKhz / 1000) & 0xffff;
      l16.eax = mhz; l16.ebx = mhz; l16.ecx = 100; l16.edx = 0;
    }
  }
  if (maxBasic >= 0xb && (vendor !== 'amd' || supported.some((x) => x.function === 0xb))) {
    // Leaf 0xB (SDM "Extended Topology Enumeration"): level 0 SMT (1 thread
    // per core, shift 0), level 1 Core (n logical processors, shift
    // coreBits), then an invalid level. EDX = x2APIC ID at every level.
    const f = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    entries.push(
      { function: 0xb, index: 0, flags: f, eax: 0, ebx: 1, ecx: (1 << 8) | 0, edx: apicId },
      { function: 0xb, index: 1, flags: f, eax: coreBits, ebx: n, ecx: (2 << 8) | 1, edx: apicId },
      { function: 0xb, index: 2, flags: f, eax: 0, ebx: 0, ecx: 2, edx: apicId },
    );
  }
  if (vendor === 'amd') {
    const e81 = find(0x80000001);
    if (e81) e81.ecx = n > 1 ? (e81.ecx | CPUID_80000001_ECX_CMP_LEGACY) >>> 0 : (e81.ecx & ~CPUID_80000001_ECX_CMP_LEGACY) >>> 0;
    // 0x80000008 ECX[7:0] NC = cores - 1, [15:12] ApicIdCoreIdSize.
    const e88 = find(0x80000008);
    if (e88) e88.ecx = ((e88.ecx & ~0xf0ff) | ((coreBits & 0xf) << 12) | ((n - 1) & 0xff)) >>> 0;
    const e8e = find(0x8000001e);
    if (e8e) {
      e8e.eax = apicId; e8e.ebx = apicId & 0xff; e8e.ecx = 0; e8e.edx = 0;
    }
  }

  // Invariant TSC: QEMU reports it only with invtsc=on.
  const e87 = find(0x80000007);
  const invtscSupported = e87 !== undefined && (e87.edx & CPUID_80000007_EDX_INVTSC) !== 0;
  if (e87) e87.edx = (e87.edx & ~CPUID_80000007_EDX_INVTSC) >>> 0;
  if (o.invtsc) {
    if (invtscSupported && e87) e87.edx = (e87.edx | CPUID_80000007_EDX_INVTSC) >>> 0;
    else warnings.push('host KVM does not support invariant TSC (invtsc): not reported to the guest');
  }

  // KVM paravirtual leaves.
  const sig = find(KVM_CPUID_SIGNATURE);
  const feat = find(KVM_CPUID_FEATURES);
  if (!sig || !feat) {
    warnings.push('KVM_GET_SUPPORTED_CPUID has no KVM leaves: paravirtual features not reported');
  } else {
    sig.eax = KVM_CPUID_TIMING;
    const wanted = KVM_FEATURE_NOP_IO_DELAY
      | (o.kvmclock ? KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_CLOCKSOURCE2 | KVM_FEATURE_CLOCKSOURCE_STABLE_BIT : 0);
    if (o.kvmclock && (feat.eax & KVM_FEATURE_CLOCKSOURCE2) === 0) {
      warnings.push('host KVM does not support kvmclock: not reported to the guest');
    }
    feat.eax = (feat.eax & wanted) >>> 0;
    feat.ebx = 0; feat.ecx = 0; feat.edx = 0;
    entries.push({ function: KVM_CPUID_TIMING, index: 0, flags: 0, eax: o.tscKhz >>> 0, ebx: KVM_APIC_BUS_KHZ, ecx: 0, edx: 0 });
  }
  return { entries, warnings };
}

/** Registers holding feature flags (not counts, sizes or IDs), per leaf/subleaf. */
const FEATURE_REGS: ReadonlyArray<{ leaf: number; subleaf: number; regs: ReadonlyArray<keyof CpuidResult> }> = [
  { leaf: 1, subleaf: 0, regs: ['ecx', 'edx'] },
  { leaf: 7, subleaf: 0, regs: ['ebx', 'ecx', 'edx'] },
  { leaf: 7, subleaf: 1, regs: ['eax'] },
  { leaf: 0xd, subleaf: 1, regs: ['eax'] },
  { leaf: 0x80000001, subleaf: 0, regs: ['ecx', 'edx'] },
];

function applyFeatureMask(entries: CpuidEntry2[], mask: (leaf: number, subleaf: number) => CpuidResult): void {
  for (const fr of FEATURE_REGS) {
    const e = entries.find((x) => x.function === fr.leaf && x.index === fr.subleaf);
    if (!e) continue;
    const m = mask(fr.leaf, fr.subleaf);
    for (const r of fr.regs) e[r] = (e[r] & m[r]) >>> 0;
  }
}
