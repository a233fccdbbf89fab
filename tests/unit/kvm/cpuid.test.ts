/**
 * The KVM CPUID table: topology, KVM leaves and invariant TSC built from a
 * KVM_GET_SUPPORTED_CPUID list. The input below is what this workplace's KVM
 * (PVM) reported, trimmed; expected values follow the SDM / AMD APM field
 * definitions and Documentation/virt/kvm/x86/cpuid.rst.
 */
import { describe, expect, test } from 'vitest';
import type { CpuidEntry2 } from '../../../src/kvm/abi.js';
import { buildKvmCpuid, cpuVendor, idWidth, type KvmCpuidOptions } from '../../../src/kvm/cpuid.js';

const e = (fn: number, index: number, flags: number, eax: number, ebx: number, ecx: number, edx: number): CpuidEntry2 =>
  ({ function: fn, index, flags, eax, ebx, ecx, edx });

// "GenuineIntel": EBX 'Genu', EDX 'ineI', ECX 'ntel'.
const INTEL = [0x756e6547, 0x6c65746e, 0x49656e69] as const;
const AMD = [0x68747541, 0x444d4163, 0x69746e65] as const; // "AuthenticAMD"

function supported(vendor: readonly [number, number, number] = INTEL): CpuidEntry2[] {
  return [
    e(0, 0, 0, 0x1c, vendor[0], vendor[1], vendor[2]),
    e(1, 0, 0, 0x000c06f2, 0x01020800, 0x89202000, 0x0f8bfbff), // includes OSXSAVE (bit 27) to be cleared
    e(4, 0, 1, 0x04000121, 0x02c0003f, 0x3f, 0),
    e(4, 1, 1, 0x04000122, 0x01c0003f, 0x3f, 0),
    e(4, 2, 1, 0x04000143, 0x03c0003f, 0x7ff, 0),
    e(4, 3, 1, 0x04004163, 0x04c0003f, 0x33fff, 0),
    e(4, 4, 1, 0, 0, 0, 0),
    e(7, 0, 1, 0, 0x01802852, 0x00010104, 0x20000000),
    e(0xb, 0, 1, 0, 0, 0, 1),
    e(0x15, 0, 0, 0, 0, 0, 0),
    e(0x16, 0, 0, 0, 0, 0, 0),
    e(0x80000000, 0, 0, 0x80000021, 0, 0, 0),
    e(0x80000001, 0, 0, 0, 0, 0x101, 0x20100800),
    e(0x80000007, 0, 0, 0, 0, 0, 0x100),
    e(0x80000008, 0, 0, 0x3930, 0, 0, 0),
    e(0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
    e(0x40000001, 0, 0, 0x01007efb, 0, 0, 0),
  ];
}

const opts = (o: Partial<KvmCpuidOptions> = {}): KvmCpuidOptions => ({
  cpu: 0, cpuCount: 1, tscKhz: 2_100_000, kvmclock: true, invtsc: true, tscDeadline: true, ...o,
});

const find = (t: CpuidEntry2[], fn: number, index = 0): CpuidEntry2 | undefined =>
  t.find((x) => x.function === fn && x.index === index);

describe('buildKvmCpuid', () => {
  test('vendor detection', () => {
    expect(cpuVendor(supported())).toBe('intel');
    expect(cpuVendor(supported(AMD))).toBe('amd');
    expect(cpuVendor([])).toBe('other');
  });

  test('idWidth is ceil(log2 n)', () => {
    expect([1, 2, 3, 4, 5, 8, 9].map(idWidth)).toEqual([0, 1, 2, 2, 3, 3, 4]);
  });

  test('leaf 1: APIC ID and logical count in EBX, hypervisor + TSC-deadline, HTT for SMP, OSXSAVE left to KVM', () => {
    const t = buildKvmCpuid(supported(), opts({ cpu: 2, cpuCount: 3 })).entries;
    const l1 = find(t, 1)!;
    expect(l1.ebx >>> 24).toBe(2);
    expect((l1.ebx >>> 16) & 0xff).toBe(3);
    expect(l1.ebx & 0xffff).toBe(0x0800); // CLFLUSH line size kept
    expect(l1.ecx >>> 31).toBe(1);
    expect((l1.ecx >>> 24) & 1).toBe(1);
    expect((l1.ecx >>> 27) & 1).toBe(0);
    expect((l1.edx >>> 28) & 1).toBe(1);
    const uni = find(buildKvmCpuid(supported(), opts()).entries, 1)!;
    expect((uni.edx >>> 28) & 1).toBe(0);
    expect((uni.ebx >>> 16) & 0xff).toBe(0);
  });

  test('no TSC-deadline bit without the in-kernel timer capability', () => {
    const l1 = find(buildKvmCpuid(supported(), opts({ tscDeadline: false })).entries, 1)!;
    expect((l1.ecx >>> 24) & 1).toBe(0);
  });

  test('leaf 0xB: SMT level (1 thread), core level with -smp count, x2APIC ID in EDX', () => {
    const t = buildKvmCpuid(supported(), opts({ cpu: 2, cpuCount: 3 })).entries;
    expect(t.filter((x) => x.function === 0xb)).toEqual([
      e(0xb, 0, 1, 0, 1, 0x100, 2),
      e(0xb, 1, 1, 2, 3, 0x201, 2),
      e(0xb, 2, 1, 0, 0, 2, 2),
    ]);
  });

  test('leaf 4: EAX[31:26] = addressable cores - 1; L3 shared by the package', () => {
    const t = buildKvmCpuid(supported(), opts({ cpuCount: 4 })).entries;
    expect(find(t, 4, 0)!.eax >>> 26).toBe(3);
    expect((find(t, 4, 0)!.eax >>> 14) & 0xfff).toBe(0);
    expect((find(t, 4, 3)!.eax >>> 14) & 0xfff).toBe(3);
    expect(find(t, 4, 3)!.eax & 0x3fff).toBe(0x0163 & 0x3fff);
    expect(find(t, 4, 4)!.eax).toBe(0); // the terminating null entry stays null
  });

  test('KVM leaves: signature max 0x40000010, kvmclock features, timing leaf', () => {
    const t = buildKvmCpuid(supported(), opts()).entries;
    expect(find(t, 0x40000000)).toEqual(e(0x40000000, 0, 0, 0x40000010, 0x4b4d564b, 0x564b4d56, 0x4d));
    // CLOCKSOURCE | NOP_IO_DELAY | CLOCKSOURCE2 | CLOCKSOURCE_STABLE_BIT, nothing else.
    expect(find(t, 0x40000001)!.eax).toBe(0x0100000b);
    expect(find(t, 0x40000010)).toEqual(e(0x40000010, 0, 0, 2_100_000, 1_000_000, 0, 0));
    const off = buildKvmCpuid(supported(), opts({ kvmclock: false })).entries;
    expect(find(off, 0x40000001)!.eax).toBe(0x2);
  });

  test('invariant TSC only when asked for; a warning when KVM lacks it', () => {
    expect(find(buildKvmCpuid(supported(), opts()).entries, 0x80000007)!.edx).toBe(0x100);
    expect(find(buildKvmCpuid(supported(), opts({ invtsc: false })).entries, 0x80000007)!.edx).toBe(0);
    const noInv = supported().map((x) => (x.function === 0x80000007 ? { ...x, edx: 0 } : x));
    const r = buildKvmCpuid(noInv, opts());
    expect(find(r.entries, 0x80000007)!.edx).toBe(0);
    expect(r.warnings.join()).toMatch(/invariant TSC/);
  });

  test('leaves 0x15/0x16 report the TSC frequency', () => {
    const t = buildKvmCpuid(supported(), opts()).entries;
    expect(find(t, 0x15)).toEqual(e(0x15, 0, 0, 1, 1, 2_100_000_000, 0));
    expect(find(t, 0x16)).toEqual(e(0x16, 0, 0, 2100, 2100, 100, 0));
  });

  test('AMD topology: 0x80000008 ECX NC and ApicIdCoreIdSize, CmpLegacy', () => {
    const t = buildKvmCpuid(supported(AMD), opts({ cpu: 1, cpuCount: 4 })).entries;
    expect(find(t, 0x80000008)!.ecx).toBe((2 << 12) | 3);
    expect((find(t, 0x80000001)!.ecx >>> 1) & 1).toBe(1);
    expect(t.some((x) => x.function === 0xb)).toBe(true);
  });

  test('a feature mask clears bits, never adds them', () => {
    const t = buildKvmCpuid(supported(), opts({
      featureMask: (leaf) => (leaf === 7 ? { eax: 0, ebx: 0x8, ecx: 0xffffffff, edx: 0 } : { eax: ~0, ebx: ~0, ecx: ~0, edx: ~0 }),
    })).entries;
    expect(find(t, 7)!.ebx).toBe(0x01802852 & 0x8);
    expect(find(t, 7)!.edx).toBe(0);
    expect(find(t, 7)!.ecx).toBe(0x00010104 & ~(1 << 4));
  });

  test('the supported list is not modified', () => {
    const s = supported();
    const copy = structuredClone(s);
    buildKvmCpuid(s, opts({ cpuCount: 2, cpu: 1 }));
    expect(s).toEqual(copy);
  });

  test('bad topology is refused', () => {
    expect(() => buildKvmCpuid(supported(), opts({ cpuCount: 0 }))).toThrow(RangeError);
    expect(() => buildKvmCpuid(supported(), opts({ cpu: 2, cpuCount: 2 }))).toThrow(RangeError);
    expect(() => buildKvmCpuid(supported(), opts({ cpuCount: 256 }))).toThrow(RangeError);
  });
});
