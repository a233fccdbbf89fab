import { describe, expect, test } from 'vitest';
import {
  createCpuidPolicy, hasFeature, featuresFromCpuid, parseCpuOption, CpuidError, type CpuidResult,
} from '../../../src/cpu/cpuid.js';
import { JIT_IMPLEMENTED_FEATURES, canonicalFeatureName } from '../../../src/cpu/features.js';

const str = (...regs: number[]): string =>
  regs.map((r) => String.fromCharCode(r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, r >>> 24)).join('');
const bit = (v: number, b: number): number => (v >>> b) & 1;

describe('microvm-default (no -cpu): the JIT presents an Intel CPU, like the hosts its oracle runs on', () => {
  const p = createCpuidPolicy({ cpus: 4, tscKhz: 2_500_000 });
  test('vendor GenuineIntel, family 6 model 0x55 stepping 4', () => {
    const l0 = p.lookup(0, 0, 0);
    expect(str(l0.ebx, l0.edx, l0.ecx)).toBe('GenuineIntel');
    expect(p.lookup(0, 1, 0).eax).toBe(0x00050654);
  });
  test('no AMD aliases in 0x80000001 EDX on Intel', () => {
    expect(p.lookup(0, 0x80000001, 0).edx & 0x0183f3ff).toBe(0);
  });
});

describe('microvm-default with vendor AuthenticAMD: the contract features', () => {
  const p = createCpuidPolicy({ cpus: 4, tscKhz: 2_500_000, vendor: 'AuthenticAMD' });
  const cases: Array<{ name: string; leaf: number; sub?: number; reg: keyof CpuidResult; bit: number; want: 0 | 1 }> = [
    { name: 'hypervisor', leaf: 1, reg: 'ecx', bit: 31, want: 1 },
    { name: 'TSC-deadline', leaf: 1, reg: 'ecx', bit: 24, want: 1 },
    { name: 'RDRAND', leaf: 1, reg: 'ecx', bit: 30, want: 1 },
    { name: 'CX16', leaf: 1, reg: 'ecx', bit: 13, want: 1 },
    { name: 'x2APIC', leaf: 1, reg: 'ecx', bit: 21, want: 1 },
    { name: 'SSE2', leaf: 1, reg: 'edx', bit: 26, want: 1 },
    { name: 'SSE', leaf: 1, reg: 'edx', bit: 25, want: 1 },
    { name: 'FXSR', leaf: 1, reg: 'edx', bit: 24, want: 1 },
    { name: 'APIC', leaf: 1, reg: 'edx', bit: 9, want: 1 },
    { name: 'HTT with -smp 4', leaf: 1, reg: 'edx', bit: 28, want: 1 },
    { name: 'no AVX by default (executor speed; -cpu max has it)', leaf: 1, reg: 'ecx', bit: 28, want: 0 },
    { name: 'XSAVE (src/cpu/runtime/xsave.ts)', leaf: 1, reg: 'ecx', bit: 26, want: 1 },
    { name: 'no OSXSAVE by default', leaf: 1, reg: 'ecx', bit: 27, want: 0 },
    { name: 'no MONITOR', leaf: 1, reg: 'ecx', bit: 3, want: 0 },
    { name: 'no VMX', leaf: 1, reg: 'ecx', bit: 5, want: 0 },
    { name: 'RDSEED', leaf: 7, reg: 'ebx', bit: 18, want: 1 },
    { name: 'ERMS', leaf: 7, reg: 'ebx', bit: 9, want: 1 },
    { name: 'no AVX2 by default', leaf: 7, reg: 'ebx', bit: 5, want: 0 },
    { name: 'no SMEP', leaf: 7, reg: 'ebx', bit: 7, want: 0 },
    { name: 'ARAT', leaf: 6, reg: 'eax', bit: 2, want: 1 },
    { name: 'PDPE1GB', leaf: 0x80000001, reg: 'edx', bit: 26, want: 1 },
    { name: 'NX', leaf: 0x80000001, reg: 'edx', bit: 20, want: 1 },
    { name: 'LM', leaf: 0x80000001, reg: 'edx', bit: 29, want: 1 },
    { name: 'SYSCALL', leaf: 0x80000001, reg: 'edx', bit: 11, want: 1 },
    { name: 'RDTSCP', leaf: 0x80000001, reg: 'edx', bit: 27, want: 1 },
    { name: 'AMD alias of leaf 1 SSE... no: FXSR alias bit 24', leaf: 0x80000001, reg: 'edx', bit: 24, want: 1 },
    { name: 'LAHF-LM', leaf: 0x80000001, reg: 'ecx', bit: 0, want: 1 },
    { name: 'no SVM', leaf: 0x80000001, reg: 'ecx', bit: 2, want: 0 },
    { name: 'CmpLegacy with -smp 4 on AMD', leaf: 0x80000001, reg: 'ecx', bit: 1, want: 1 },
    { name: 'invariant TSC', leaf: 0x80000007, reg: 'edx', bit: 8, want: 1 },
    { name: 'KVM CLOCKSOURCE', leaf: 0x40000001, reg: 'eax', bit: 0, want: 1 },
    { name: 'KVM NOP_IO_DELAY', leaf: 0x40000001, reg: 'eax', bit: 1, want: 1 },
    { name: 'KVM CLOCKSOURCE2', leaf: 0x40000001, reg: 'eax', bit: 3, want: 1 },
    { name: 'KVM CLOCKSOURCE_STABLE', leaf: 0x40000001, reg: 'eax', bit: 24, want: 1 },
    { name: 'no KVM ASYNC_PF', leaf: 0x40000001, reg: 'eax', bit: 4, want: 0 },
  ];
  for (const c of cases) {
    test(c.name, () => expect(bit(p.lookup(0, c.leaf, c.sub ?? 0)[c.reg], c.bit)).toBe(c.want));
  }

  test('vendor string AuthenticAMD in leaf 0 (EBX,EDX,ECX) and 0x80000000', () => {
    const l0 = p.lookup(0, 0, 0);
    expect(str(l0.ebx, l0.edx, l0.ecx)).toBe('AuthenticAMD');
    expect(l0.eax).toBe(0x1f);
    const e0 = p.lookup(0, 0x80000000, 0);
    expect(e0.eax).toBe(0x80000008);
    expect(str(e0.ebx, e0.edx, e0.ecx)).toBe('AuthenticAMD');
  });
  test('KVM signature leaf: exact registers', () => {
    expect(p.lookup(0, 0x40000000, 0)).toEqual({ eax: 0x40000010, ebx: 0x4b4d564b, ecx: 0x564b4d56, edx: 0x4d });
    const s = p.lookup(0, 0x40000000, 0);
    expect(str(s.ebx, s.ecx, s.edx)).toBe('KVMKVMKVM\0\0\0');
  });
  test('0x40000010: TSC kHz and APIC bus kHz', () => {
    expect(p.lookup(2, 0x40000010, 0)).toEqual({ eax: 2_500_000, ebx: 1_000_000, ecx: 0, edx: 0 });
  });
  test('0x15: TSC Hz = ECX*EBX/EAX equals tscKhz*1000; 0x16 base MHz', () => {
    const l = p.lookup(0, 0x15, 0);
    expect((l.ecx * l.ebx) / l.eax).toBe(2_500_000_000);
    expect(p.lookup(0, 0x16, 0).eax).toBe(2500);
  });
  test('leaf 1 EAX: family 6 model 0x55 stepping 4 = 0x00050654, also in 0x80000001 on AMD', () => {
    expect(p.lookup(0, 1, 0).eax).toBe(0x00050654);
    expect(p.lookup(0, 0x80000001, 0).eax).toBe(0x00050654);
  });
  test('leaf 1 EBX per vCPU: APIC ID, logical count 4, CLFLUSH 8', () => {
    expect(p.lookup(0, 1, 0).ebx).toBe(0x00040800);
    expect(p.lookup(3, 1, 0).ebx).toBe(0x03040800);
  });
  test('AMD 0x80000008 ECX: NC = 3, ApicIdCoreIdSize = 2; EAX 48 virt / 40 phys', () => {
    expect(p.lookup(0, 0x80000008, 0)).toEqual({ eax: 0x3028, ebx: 0, ecx: 0x2003, edx: 0 });
  });
  test('leaf 0xB / 0x1F: SMT and core levels with x2APIC IDs', () => {
    for (const leaf of [0xb, 0x1f]) {
      expect(p.lookup(2, leaf, 0)).toEqual({ eax: 0, ebx: 1, ecx: 0x100, edx: 2 });
      expect(p.lookup(2, leaf, 1)).toEqual({ eax: 2, ebx: 4, ecx: 0x201, edx: 2 });
      expect(p.lookup(2, leaf, 2)).toEqual({ eax: 0, ebx: 0, ecx: 2, edx: 2 });
    }
  });
  test('brand string', () => {
    const b = [2, 3, 4].map((i) => p.lookup(0, 0x80000000 + i, 0));
    const s = str(...b.flatMap((r) => [r.eax, r.ebx, r.ecx, r.edx]));
    expect(s.replace(/\0+$/, '')).toBe('microvm-ts JIT CPU');
    expect(s.length).toBe(48);
  });
  test('AMD: leaf above the range returns zeros; leaf 4 reserved', () => {
    expect(p.lookup(0, 0x20, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(p.lookup(0, 0x80000009, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(p.lookup(0, 4, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
  });
  test('OSXSAVE and the APIC bit follow the dynamic state', () => {
    expect(bit(p.lookup(0, 1, 0, { cr4: 1n << 18n }).ecx, 27)).toBe(1);
    expect(bit(p.lookup(0, 1, 0, { apicGlobalEnable: false }).edx, 9)).toBe(0);
  });
  test('single CPU: no HTT, logical count 0, NC 0', () => {
    const one = createCpuidPolicy({});
    expect(bit(one.lookup(0, 1, 0).edx, 28)).toBe(0);
    expect(one.lookup(0, 1, 0).ebx).toBe(0x00000800);
    expect(one.lookup(0, 0x80000008, 0).ecx).toBe(0);
    expect(bit(one.lookup(0, 0x80000001, 0).ecx, 1)).toBe(0);
    expect(one.lookup(0, 0xb, 1)).toEqual({ eax: 0, ebx: 1, ecx: 0x201, edx: 0 });
    expect(one.tscKhz).toBe(2_000_000);
  });
  test('-smp 3: ApicIdCoreIdSize rounds up to 2 bits', () => {
    expect(createCpuidPolicy({ cpus: 3, vendor: 'AuthenticAMD' }).lookup(0, 0x80000008, 0).ecx).toBe(0x2002);
  });
});

describe('models and overrides', () => {
  test('qemu64 under the JIT: no KVM leaves, no invtsc/rdrand, SSE3 reported (runtime/simd.ts implements it)', () => {
    const q = createCpuidPolicy({ model: 'qemu64' });
    expect(q.lookup(0, 0x40000000, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(bit(q.lookup(0, 0x80000007, 0).edx, 8)).toBe(0);
    expect(bit(q.lookup(0, 1, 0).ecx, 30)).toBe(0);
    expect(bit(q.lookup(0, 1, 0).ecx, 0)).toBe(1); // SSE3, as QEMU's qemu64
    expect(bit(q.lookup(0, 1, 0).ecx, 9)).toBe(0); // no SSSE3 in qemu64
    expect(q.lookup(0, 0, 0).eax).toBe(0xd);
    expect(q.warnings).toEqual([]);
  });
  test('qemu64 under KVM keeps its model bits and adds the KVM defaults', () => {
    const q = createCpuidPolicy({ model: 'qemu64', accel: 'kvm' });
    expect(bit(q.lookup(0, 1, 0).ecx, 0)).toBe(1); // SSE3
    expect(q.lookup(0, 0x40000001, 0).eax & 0x01000009).toBe(0x01000009);
  });
  test('qemu64,+invtsc,kvmclock=on,+rdrand adds them', () => {
    const q = createCpuidPolicy({ model: 'qemu64', features: { invtsc: true, kvmclock: true, rdrand: true } });
    expect(bit(q.lookup(0, 0x80000007, 0).edx, 8)).toBe(1);
    expect(q.lookup(0, 0x40000001, 0).eax).toBe(0x9);
    expect(q.lookup(0, 0x40000000, 0).eax).toBe(0x40000010);
    expect(hasFeature(q, 'rdrand')).toBe(true);
  });
  test('-rdrand removes RDRAND; hasFeature agrees', () => {
    const p = createCpuidPolicy({ features: { rdrand: false } });
    expect(bit(p.lookup(0, 1, 0).ecx, 30)).toBe(0);
    expect(hasFeature(p, 'rdrand')).toBe(false);
  });
  test('host under the JIT = max', () => {
    const h = createCpuidPolicy({ model: 'host', features: { invtsc: true, kvmclock: true } });
    const m = createCpuidPolicy({ model: 'max' });
    for (const leaf of [1, 7, 0x80000001, 0x80000007, 0x40000001]) expect(h.lookup(0, leaf, 0)).toEqual(m.lookup(0, leaf, 0));
  });
  test('requesting an unimplemented feature warns and drops it', () => {
    const p = createCpuidPolicy({ features: { avx512f: true } });
    expect(bit(p.lookup(0, 7, 0).ebx, 16)).toBe(0);
    expect(p.warnings).toEqual(["JIT doesn't support requested feature: CPUID.7H:EBX.avx512f [bit 16]"]);
  });
  test('unknown feature -> error naming it; unknown model -> error', () => {
    expect(() => createCpuidPolicy({ features: { frobnicate: true } })).toThrow(/frobnicate/);
    try { createCpuidPolicy({ model: 'pentium9' }); } catch (e) { expect((e as CpuidError).code).toBe('UNKNOWN_MODEL'); }
    expect(() => createCpuidPolicy({ model: 'pentium9' })).toThrow(CpuidError);
  });
  test('QEMU spellings: sse4_1, sse3, lahf_lm, tsc_deadline', () => {
    expect(canonicalFeatureName('sse4_1')).toBe('sse4.1');
    expect(canonicalFeatureName('sse4.2')).toBe('sse4.2');
    expect(canonicalFeatureName('sse3')).toBe('pni');
    expect(canonicalFeatureName('lahf_lm')).toBe('lahf-lm');
    expect(canonicalFeatureName('tsc_deadline')).toBe('tsc-deadline');
    expect(canonicalFeatureName('nope')).toBeUndefined();
  });
  test('kvm64: GenuineIntel; leaf 4 caches; out-of-range leaf returns highest basic leaf', () => {
    const k = createCpuidPolicy({ model: 'kvm64', cpus: 2 });
    const l0 = k.lookup(0, 0, 0);
    expect(str(l0.ebx, l0.edx, l0.ecx)).toBe('GenuineIntel');
    expect(k.lookup(0, 0x80000000, 0)).toEqual({ eax: 0x80000008, ebx: 0, ecx: 0, edx: 0 });
    // L1d: type 1, level 1, self-init, 8 ways, 64 sets, 64 B lines = 32 KiB.
    const l1d = k.lookup(0, 4, 0);
    expect(l1d.eax & 0x1ff).toBe(0x121);
    expect(((l1d.ebx >>> 22) + 1) * ((l1d.ebx & 0xfff) + 1) * (l1d.ecx + 1)).toBe(32 * 1024);
    expect(k.lookup(0, 4, 4)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(k.lookup(0, 0x20, 0)).toEqual(k.lookup(0, 0xd, 0));
    expect(k.lookup(1, 0xb, 1).ebx).toBe(2);
    expect(k.lookup(0, 0x80000008, 0).ecx).toBe(0);
  });
  test('vendor override to GenuineIntel', () => {
    const p = createCpuidPolicy({ vendor: 'GenuineIntel' });
    const l0 = p.lookup(0, 0, 0);
    expect(str(l0.ebx, l0.edx, l0.ecx)).toBe('GenuineIntel');
    expect(p.lookup(0, 0x80000001, 0).edx & 0x0183f3ff).toBe(0); // no AMD aliases on Intel
  });
  test('bad options', () => {
    expect(() => createCpuidPolicy({ cpus: 0 })).toThrow(CpuidError);
    expect(() => createCpuidPolicy({ cpus: 256 })).toThrow(CpuidError);
    expect(() => createCpuidPolicy({ tscKhz: 1.5 })).toThrow(CpuidError);
  });
  test('KVM: supported set filters host/max and requested features', () => {
    const supported = new Set(['fpu', 'sse', 'sse2', 'lm', 'kvmclock'] as const);
    const p = createCpuidPolicy({ model: 'host', accel: 'kvm', supported });
    expect(p.lookup(0, 1, 0).edx).toBe((1 << 0) | (1 << 25) | (1 << 26));
    expect(p.lookup(0, 0x40000001, 0).eax).toBe(9);
  });
  test('featuresFromCpuid round-trips a policy', () => {
    const p = createCpuidPolicy({ model: 'max' });
    const got = featuresFromCpuid((l, s) => p.lookup(0, l, s));
    expect([...got].sort()).toEqual([...JIT_IMPLEMENTED_FEATURES].sort());
  });
  test('microvm-default is max without AVX/AVX2/FMA/F16C on the JIT; +avx2 turns AVX2 back on', () => {
    const d = featuresFromCpuid((l, s) => createCpuidPolicy({}).lookup(0, l, s));
    expect([...JIT_IMPLEMENTED_FEATURES].filter((f) => !d.has(f)).sort()).toEqual(['avx', 'avx2', 'f16c', 'fma']);
    const p = createCpuidPolicy({ features: { avx2: true, avx: true } });
    expect((p.lookup(0, 7, 0).ebx >>> 5) & 1).toBe(1);
    // Leaf 0DH follows: no AVX component in XCR0's supported mask without AVX.
    expect(createCpuidPolicy({}).lookup(0, 0xd, 0).eax & 4).toBe(0);
    expect(createCpuidPolicy({ model: 'max' }).lookup(0, 0xd, 0).eax & 4).toBe(4);
  });
  test('XSAVE leaf is all zero while XSAVE is not reported', () => {
    expect(createCpuidPolicy({ model: 'qemu64' }).lookup(0, 0xd, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(createCpuidPolicy({ features: { xsave: false } }).lookup(0, 0xd, 2)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
  });
});

describe('parseCpuOption', () => {
  test('the TamaGo README form', () => {
    expect(parseCpuOption('host,invtsc=on,kvmclock=on')).toEqual({ model: 'host', features: { invtsc: true, kvmclock: true }, props: {} });
  });
  test('+/- and properties', () => {
    const r = parseCpuOption('qemu64,+rdrand,-sse2,tsc-frequency=1000000000,x2apic');
    expect(r.features).toEqual({ rdrand: true, sse2: false, x2apic: true });
    expect(r.props).toEqual({ 'tsc-frequency': '1000000000' });
  });
  test('bad boolean', () => expect(() => parseCpuOption('max,avx=maybe')).toThrow(CpuidError));
});

describe('cpuPolicyOptionsFromString and help', () => {
  test('tsc-frequency (Hz) becomes tscKhz; vendor; enforce; hv-* ignored', async () => {
    const { cpuPolicyOptionsFromString, cpuHelpText } = await import('../../../src/cpu/cpuid.js');
    const r = cpuPolicyOptionsFromString('host,invtsc=on,tsc-frequency=2500000000,vendor=GenuineIntel,enforce=on,hv-relaxed=on');
    expect(r.options).toEqual({ model: 'host', features: { invtsc: true }, tscKhz: 2_500_000, vendor: 'GenuineIntel' });
    expect(r.enforce).toBe(true);
    expect(r.ignored).toEqual(['hv-relaxed']);
    expect(() => cpuPolicyOptionsFromString('max,bogus=1')).toThrow(/bogus/);
    expect(() => cpuPolicyOptionsFromString('max,tsc-frequency=12')).toThrow(CpuidError);
    expect(cpuHelpText()).toMatch(/microvm-default/);
  });
});
