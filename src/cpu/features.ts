/**
 * CPU feature flags: one named bit per CPUID feature, named as QEMU's `-cpu`
 * option spells them (target/i386/cpu.c feature_word_info), so
 * `-cpu model,+feat,-feat,feat=on|off` means here what it means in QEMU.
 *
 * Bit positions: Intel SDM vol. 2A, CPUID (Tables 3-8 .. 3-11), AMD APM vol. 3
 * appendix E, and Linux Documentation/virt/kvm/x86/cpuid.rst for the KVM leaf.
 */

/** A 32-bit CPUID output register. */
export type CpuidReg = 'eax' | 'ebx' | 'ecx' | 'edx';

/** Where a feature bit lives. `subleaf` is only meaningful for subleaf-indexed leaves (7, 0xD). */
export interface FeatureBit {
  readonly leaf: number;
  readonly subleaf: number;
  readonly reg: CpuidReg;
  readonly bit: number;
}

const f = (leaf: number, subleaf: number, reg: CpuidReg, bit: number): FeatureBit => ({ leaf, subleaf, reg, bit });

/**
 * Every feature name this model knows, with its CPUID location. Some names
 * occupy more than one bit (QEMU's `kvmclock` sets both KVM_FEATURE_CLOCKSOURCE
 * and KVM_FEATURE_CLOCKSOURCE2).
 */
export const FEATURE_BITS = {
  // CPUID.01H:EDX (SDM Table 3-11)
  'fpu': [f(1, 0, 'edx', 0)], 'vme': [f(1, 0, 'edx', 1)], 'de': [f(1, 0, 'edx', 2)], 'pse': [f(1, 0, 'edx', 3)],
  'tsc': [f(1, 0, 'edx', 4)], 'msr': [f(1, 0, 'edx', 5)], 'pae': [f(1, 0, 'edx', 6)], 'mce': [f(1, 0, 'edx', 7)],
  'cx8': [f(1, 0, 'edx', 8)], 'apic': [f(1, 0, 'edx', 9)], 'sep': [f(1, 0, 'edx', 11)], 'mtrr': [f(1, 0, 'edx', 12)],
  'pge': [f(1, 0, 'edx', 13)], 'mca': [f(1, 0, 'edx', 14)], 'cmov': [f(1, 0, 'edx', 15)], 'pat': [f(1, 0, 'edx', 16)],
  'pse36': [f(1, 0, 'edx', 17)], 'pn': [f(1, 0, 'edx', 18)], 'clflush': [f(1, 0, 'edx', 19)], 'ds': [f(1, 0, 'edx', 21)],
  'acpi': [f(1, 0, 'edx', 22)], 'mmx': [f(1, 0, 'edx', 23)], 'fxsr': [f(1, 0, 'edx', 24)], 'sse': [f(1, 0, 'edx', 25)],
  'sse2': [f(1, 0, 'edx', 26)], 'ss': [f(1, 0, 'edx', 27)], 'ht': [f(1, 0, 'edx', 28)], 'tm': [f(1, 0, 'edx', 29)],
  'ia64': [f(1, 0, 'edx', 30)], 'pbe': [f(1, 0, 'edx', 31)],
  // CPUID.01H:ECX (SDM Table 3-10). 'osxsave' is dynamic (CR4.OSXSAVE) and not settable.
  'pni': [f(1, 0, 'ecx', 0)], 'pclmulqdq': [f(1, 0, 'ecx', 1)], 'dtes64': [f(1, 0, 'ecx', 2)], 'monitor': [f(1, 0, 'ecx', 3)],
  'ds-cpl': [f(1, 0, 'ecx', 4)], 'vmx': [f(1, 0, 'ecx', 5)], 'smx': [f(1, 0, 'ecx', 6)], 'est': [f(1, 0, 'ecx', 7)],
  'tm2': [f(1, 0, 'ecx', 8)], 'ssse3': [f(1, 0, 'ecx', 9)], 'cid': [f(1, 0, 'ecx', 10)], 'fma': [f(1, 0, 'ecx', 12)],
  'cx16': [f(1, 0, 'ecx', 13)], 'xtpr': [f(1, 0, 'ecx', 14)], 'pdcm': [f(1, 0, 'ecx', 15)], 'pcid': [f(1, 0, 'ecx', 17)],
  'dca': [f(1, 0, 'ecx', 18)], 'sse4.1': [f(1, 0, 'ecx', 19)], 'sse4.2': [f(1, 0, 'ecx', 20)], 'x2apic': [f(1, 0, 'ecx', 21)],
  'movbe': [f(1, 0, 'ecx', 22)], 'popcnt': [f(1, 0, 'ecx', 23)], 'tsc-deadline': [f(1, 0, 'ecx', 24)], 'aes': [f(1, 0, 'ecx', 25)],
  'xsave': [f(1, 0, 'ecx', 26)], 'avx': [f(1, 0, 'ecx', 28)], 'f16c': [f(1, 0, 'ecx', 29)], 'rdrand': [f(1, 0, 'ecx', 30)],
  'hypervisor': [f(1, 0, 'ecx', 31)],
  // CPUID.06H:EAX
  'arat': [f(6, 0, 'eax', 2)],
  // CPUID.(EAX=07H,ECX=0):EBX (SDM Table 3-8)
  'fsgsbase': [f(7, 0, 'ebx', 0)], 'tsc-adjust': [f(7, 0, 'ebx', 1)], 'sgx': [f(7, 0, 'ebx', 2)], 'bmi1': [f(7, 0, 'ebx', 3)],
  'hle': [f(7, 0, 'ebx', 4)], 'avx2': [f(7, 0, 'ebx', 5)], 'smep': [f(7, 0, 'ebx', 7)], 'bmi2': [f(7, 0, 'ebx', 8)],
  'erms': [f(7, 0, 'ebx', 9)], 'invpcid': [f(7, 0, 'ebx', 10)], 'rtm': [f(7, 0, 'ebx', 11)], 'mpx': [f(7, 0, 'ebx', 14)],
  'avx512f': [f(7, 0, 'ebx', 16)], 'avx512dq': [f(7, 0, 'ebx', 17)], 'rdseed': [f(7, 0, 'ebx', 18)], 'adx': [f(7, 0, 'ebx', 19)],
  'smap': [f(7, 0, 'ebx', 20)], 'avx512ifma': [f(7, 0, 'ebx', 21)], 'clflushopt': [f(7, 0, 'ebx', 23)], 'clwb': [f(7, 0, 'ebx', 24)],
  'intel-pt': [f(7, 0, 'ebx', 25)], 'avx512pf': [f(7, 0, 'ebx', 26)], 'avx512er': [f(7, 0, 'ebx', 27)], 'avx512cd': [f(7, 0, 'ebx', 28)],
  'sha-ni': [f(7, 0, 'ebx', 29)], 'avx512bw': [f(7, 0, 'ebx', 30)], 'avx512vl': [f(7, 0, 'ebx', 31)],
  // CPUID.(EAX=07H,ECX=0):ECX. 'ospke' is dynamic (CR4.PKE).
  'avx512vbmi': [f(7, 0, 'ecx', 1)], 'umip': [f(7, 0, 'ecx', 2)], 'pku': [f(7, 0, 'ecx', 3)], 'waitpkg': [f(7, 0, 'ecx', 5)],
  'avx512vbmi2': [f(7, 0, 'ecx', 6)], 'gfni': [f(7, 0, 'ecx', 8)], 'vaes': [f(7, 0, 'ecx', 9)], 'vpclmulqdq': [f(7, 0, 'ecx', 10)],
  'avx512vnni': [f(7, 0, 'ecx', 11)], 'avx512bitalg': [f(7, 0, 'ecx', 12)], 'avx512-vpopcntdq': [f(7, 0, 'ecx', 14)],
  'la57': [f(7, 0, 'ecx', 16)], 'rdpid': [f(7, 0, 'ecx', 22)], 'cldemote': [f(7, 0, 'ecx', 25)], 'movdiri': [f(7, 0, 'ecx', 27)],
  'movdir64b': [f(7, 0, 'ecx', 28)],
  // CPUID.(EAX=07H,ECX=0):EDX
  'fsrm': [f(7, 0, 'edx', 4)], 'md-clear': [f(7, 0, 'edx', 10)], 'spec-ctrl': [f(7, 0, 'edx', 26)], 'stibp': [f(7, 0, 'edx', 27)],
  'arch-capabilities': [f(7, 0, 'edx', 29)], 'ssbd': [f(7, 0, 'edx', 31)],
  // CPUID.(EAX=0DH,ECX=1):EAX
  'xsaveopt': [f(0xd, 1, 'eax', 0)], 'xsavec': [f(0xd, 1, 'eax', 1)], 'xgetbv1': [f(0xd, 1, 'eax', 2)], 'xsaves': [f(0xd, 1, 'eax', 3)],
  // CPUID.80000001H:EDX (AMD APM vol. 3 E.4.2; the AMD aliases of leaf 1 EDX are derived, not named)
  'syscall': [f(0x80000001, 0, 'edx', 11)], 'nx': [f(0x80000001, 0, 'edx', 20)], 'mmxext': [f(0x80000001, 0, 'edx', 22)],
  'fxsr-opt': [f(0x80000001, 0, 'edx', 25)], 'pdpe1gb': [f(0x80000001, 0, 'edx', 26)], 'rdtscp': [f(0x80000001, 0, 'edx', 27)],
  'lm': [f(0x80000001, 0, 'edx', 29)], '3dnowext': [f(0x80000001, 0, 'edx', 30)], '3dnow': [f(0x80000001, 0, 'edx', 31)],
  // CPUID.80000001H:ECX
  'lahf-lm': [f(0x80000001, 0, 'ecx', 0)], 'cmp-legacy': [f(0x80000001, 0, 'ecx', 1)], 'svm': [f(0x80000001, 0, 'ecx', 2)],
  'extapic': [f(0x80000001, 0, 'ecx', 3)], 'cr8legacy': [f(0x80000001, 0, 'ecx', 4)], 'abm': [f(0x80000001, 0, 'ecx', 5)],
  'sse4a': [f(0x80000001, 0, 'ecx', 6)], 'misalignsse': [f(0x80000001, 0, 'ecx', 7)], '3dnowprefetch': [f(0x80000001, 0, 'ecx', 8)],
  'osvw': [f(0x80000001, 0, 'ecx', 9)], 'ibs': [f(0x80000001, 0, 'ecx', 10)], 'xop': [f(0x80000001, 0, 'ecx', 11)],
  'skinit': [f(0x80000001, 0, 'ecx', 12)], 'wdt': [f(0x80000001, 0, 'ecx', 13)], 'lwp': [f(0x80000001, 0, 'ecx', 15)],
  'fma4': [f(0x80000001, 0, 'ecx', 16)], 'tce': [f(0x80000001, 0, 'ecx', 17)], 'nodeid-msr': [f(0x80000001, 0, 'ecx', 19)],
  'tbm': [f(0x80000001, 0, 'ecx', 21)], 'topoext': [f(0x80000001, 0, 'ecx', 22)], 'perfctr-core': [f(0x80000001, 0, 'ecx', 23)],
  'perfctr-nb': [f(0x80000001, 0, 'ecx', 24)],
  // CPUID.80000007H:EDX bit 8: invariant TSC (SDM Table 3-8 "Invariant TSC available")
  'invtsc': [f(0x80000007, 0, 'edx', 8)],
  // CPUID.40000001H:EAX (Linux Documentation/virt/kvm/x86/cpuid.rst). QEMU's 'kvmclock' covers bits 0 and 3.
  'kvmclock': [f(0x40000001, 0, 'eax', 0), f(0x40000001, 0, 'eax', 3)],
  'kvm-nopiodelay': [f(0x40000001, 0, 'eax', 1)], 'kvm-mmu': [f(0x40000001, 0, 'eax', 2)],
  'kvm-asyncpf': [f(0x40000001, 0, 'eax', 4)], 'kvm-steal-time': [f(0x40000001, 0, 'eax', 5)],
  'kvm-pv-eoi': [f(0x40000001, 0, 'eax', 6)], 'kvm-pv-unhalt': [f(0x40000001, 0, 'eax', 7)],
  'kvm-pv-tlb-flush': [f(0x40000001, 0, 'eax', 9)], 'kvm-asyncpf-vmexit': [f(0x40000001, 0, 'eax', 10)],
  'kvm-pv-ipi': [f(0x40000001, 0, 'eax', 11)], 'kvm-poll-control': [f(0x40000001, 0, 'eax', 12)],
  'kvm-pv-sched-yield': [f(0x40000001, 0, 'eax', 13)], 'kvm-asyncpf-int': [f(0x40000001, 0, 'eax', 14)],
  'kvm-msi-ext-dest-id': [f(0x40000001, 0, 'eax', 15)], 'kvmclock-stable-bit': [f(0x40000001, 0, 'eax', 24)],
} as const satisfies Record<string, readonly FeatureBit[]>;

export type FeatureName = keyof typeof FEATURE_BITS;

export const ALL_FEATURES = Object.keys(FEATURE_BITS) as FeatureName[];

export function isFeatureName(name: string): name is FeatureName {
  return Object.prototype.hasOwnProperty.call(FEATURE_BITS, name);
}

/** QEMU's spelling aliases (target/i386/cpu.c x86_cpu_feature_name / feat2prop). */
const FEATURE_ALIASES: Readonly<Record<string, FeatureName>> = {
  'sse3': 'pni', 'sse4-1': 'sse4.1', 'sse4-2': 'sse4.2', 'i64': 'lm', 'em64t': 'lm',
  'fxsr-sse': 'fxsr-opt', 'tsc-deadline-timer': 'tsc-deadline', 'lzcnt': 'abm', 'sha': 'sha-ni',
  'kvmclock2': 'kvmclock',
};

/**
 * Canonical feature name for a user-supplied one (`sse4_1`, `lahf_lm`, `sse3`...),
 * or undefined when unknown. QEMU treats `_` and `-` alike in property names.
 */
export function canonicalFeatureName(name: string): FeatureName | undefined {
  const n = name.trim().toLowerCase().replace(/_/g, '-');
  if (isFeatureName(n)) return n;
  const alias = FEATURE_ALIASES[n];
  if (alias) return alias;
  // 'sse4.1' written as 'sse4-1' is handled above; 'sse4.1' itself is a key.
  return undefined;
}

/**
 * The features the JIT implements: the ONE list that decides what CPUID may
 * report under `accel: 'jit'`. A guest uses every reported feature (Go picks
 * POPCNT/ERMS/AVX2 paths from CPUID), so a name goes here only when the JIT
 * executes it correctly or the device/MSR behind it exists. Issue 5 (SIMD)
 * grows this list (pni, ssse3, sse4.1, sse4.2, popcnt, aes, pclmulqdq, avx,
 * avx2, bmi1, bmi2, adx, xsave, ...).
 */
export const JIT_IMPLEMENTED_FEATURES: readonly FeatureName[] = [
  // x86-64 baseline (psABI x86-64-v1): the integer ISA, x87 enough for FXSAVE, MMX/SSE/SSE2.
  'fpu', 'pse', 'tsc', 'msr', 'pae', 'cx8', 'apic', 'mtrr', 'pge', 'cmov', 'pat', 'pse36',
  'clflush', 'mmx', 'fxsr', 'sse', 'sse2',
  'syscall', 'nx', 'lm', 'lahf-lm',
  // Beyond the baseline, required by the microvm contract (MICROVM-CONTRACT.md).
  'cx16', 'rdrand', 'rdseed', 'hypervisor', 'tsc-deadline', 'x2apic', 'pdpe1gb', 'rdtscp',
  'invtsc', 'arat',
  // REP MOVSB/STOSB are part of the base ISA; ERMS only says they are fast (they are, as helpers).
  'erms',
  // SIMD beyond SSE2 (src/cpu/runtime/simd.ts; tests/differential/simd-sse.test.ts): SSE3, SSSE3, SSE4.1,
  // SSE4.2, POPCNT, AES-NI, PCLMULQDQ, SHA.
  'pni', 'ssse3', 'sse4.1', 'sse4.2', 'popcnt', 'aes', 'pclmulqdq', 'sha-ni',
  // Bit manipulation (src/cpu/runtime/bitmanip.ts; tests/differential/bitmanip.test.ts): BMI1, BMI2, ADX,
  // MOVBE, LZCNT ('abm'); RDPID reads IA32_TSC_AUX (interp.ts).
  'bmi1', 'bmi2', 'adx', 'movbe', 'abm', 'rdpid',
  // XSAVE feature set (src/cpu/runtime/xsave.ts): XGETBV/XSETBV, XSAVE, XSAVEOPT, XSAVEC, XRSTOR (both forms),
  // XGETBV ECX=1; components x87, SSE and, once 'avx' is listed, AVX (cpuid.ts xsaveLeaf). Not XSAVES.
  'xsave', 'xsaveopt', 'xsavec', 'xgetbv1',
  // VEX-encoded SIMD (src/cpu/runtime/avx.ts, avx-fp.ts, avx2.ts, fma.ts, f16c.ts; tests/differential/simd-avx*.test.ts):
  // AVX, AVX2, FMA, F16C. Usable by a guest once it sets CR4.OSXSAVE and XCR0.SSE|AVX.
  'avx', 'avx2', 'fma', 'f16c',
  // Paravirtual clock (src/cpu/pvclock.ts, MSRs in src/cpu/msr.ts). NOP_IO_DELAY needs nothing.
  'kvmclock', 'kvm-nopiodelay', 'kvmclock-stable-bit',
];

/** Features whose bits are owned by the runtime state rather than the model. */
export const DYNAMIC_BITS = {
  /** CPUID.01H:ECX[27] OSXSAVE mirrors CR4.OSXSAVE (bit 18). */
  osxsave: f(1, 0, 'ecx', 27),
  /** CPUID.07H.0:ECX[4] OSPKE mirrors CR4.PKE (bit 22). */
  ospke: f(7, 0, 'ecx', 4),
} as const;
