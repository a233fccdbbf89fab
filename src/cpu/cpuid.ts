/**
 * The CPUID policy shared by both accelerators: named CPU models, QEMU-style
 * feature overrides, topology for `-smp N`, the KVM paravirtual leaves and the
 * TSC frequency leaves the microvm contract requires (MICROVM-CONTRACT.md,
 * "CPU features the guest checks").
 *
 * Models (`-cpu NAME`):
 * - `microvm-default` (no `-cpu` given): vendor AuthenticAMD, every feature the
 *   JIT implements (JIT_IMPLEMENTED_FEATURES) including invariant TSC, kvmclock
 *   leaves, TSC-deadline, RDRAND, PDPE1GB and the hypervisor bit, so TamaGo
 *   boots with no options (issue 9).
 * - `max`: every feature the accelerator implements. `host` under the JIT is
 *   the same as `max` (QEMU refuses `host` without KVM; we accept it so that the
 *   TamaGo README line works verbatim with `-enable-kvm` removed). Under KVM,
 *   `host` and `max` are what the KVM side passes as `supported`.
 * - `qemu64` (AMD) and `kvm64` (Intel): QEMU's definitions, filtered to what the
 *   accelerator implements (QEMU's TCG filters the same way).
 *
 * Everything a guest sees is computed from (model, overrides, cpus, tscKhz); the
 * same inputs give the same CPUID on every host.
 */
import {
  ALL_FEATURES, FEATURE_BITS, JIT_IMPLEMENTED_FEATURES, canonicalFeatureName,
  type CpuidReg, type FeatureName,
} from './features.js';

export interface CpuidResult { eax: number; ebx: number; ecx: number; edx: number }

/**
 * Architectural state some CPUID bits reflect (SDM vol. 2A CPUID: OSXSAVE,
 * OSPKE, the leaf-1 APIC bit, CPUID.0DH:EBX). Omitted fields read as reset values.
 */
export interface CpuidDynamicState {
  cr4?: bigint;
  /** XCR0 (XSAVE enabled features), reset value 1. */
  xcr0?: bigint;
  /** IA32_APIC_BASE[11] global enable; reset value true. */
  apicGlobalEnable?: boolean;
}

export interface CpuidPolicy {
  /** The CPUID result vCPU `cpu` sees for (leaf, subleaf). Unknown leaves follow Intel/AMD rules. */
  lookup(cpu: number, leaf: number, subleaf: number, state?: CpuidDynamicState): CpuidResult;
  /** TSC frequency advertised to the guest, in kHz (leaf 0x40000010). */
  readonly tscKhz: number;
}

export type CpuVendor = 'AuthenticAMD' | 'GenuineIntel';

export class CpuidError extends Error {
  override readonly name = 'CpuidError';
  constructor(readonly code: 'UNKNOWN_MODEL' | 'UNKNOWN_FEATURE' | 'BAD_OPTION', msg: string) {
    super(msg);
  }
}

export interface CpuidPolicyOptions {
  /** `-cpu` model name; default 'microvm-default'. */
  model?: string;
  /** Overrides in application order: name -> on/off (`+f`/`f=on` true, `-f`/`f=off` false). */
  features?: Record<string, boolean>;
  /** Number of vCPUs (`-smp N`), 1..255 (xAPIC IDs are 8 bits). Default 1. */
  cpus?: number;
  /** Advertised TSC frequency in kHz. Default DEFAULT_TSC_KHZ. */
  tscKhz?: number;
  /** Which accelerator runs the guest: decides which features may be reported. */
  accel?: 'jit' | 'kvm';
  /**
   * Under KVM: what KVM_GET_SUPPORTED_CPUID allows (see `featuresFromCpuid`);
   * `host`/`max` become exactly this set and every other model is filtered by it.
   * Ignored under the JIT (JIT_IMPLEMENTED_FEATURES decides).
   */
  supported?: ReadonlySet<FeatureName>;
  /** QEMU's `vendor=` property. Default: the model's vendor. */
  vendor?: CpuVendor;
  /** MAXPHYADDR reported in CPUID.80000008H:EAX[7:0]; default 40 (QEMU TCG's phys-bits). */
  physAddrBits?: number;
}

/** TSC frequency used when none is given (2 GHz). */
export const DEFAULT_TSC_KHZ = 2_000_000;
/** LAPIC bus (timer input) frequency, 1 GHz like KVM's APIC_BUS_CYCLE_NS = 1; reported in 0x40000010 EBX. */
export const APIC_BUS_KHZ = 1_000_000;
/** The default model: used when no `-cpu` is given. */
export const DEFAULT_CPU_MODEL = 'microvm-default';

export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;
/** VMware/QEMU "timing information" leaf: EAX = TSC kHz, EBX = APIC bus kHz. */
export const KVM_CPUID_TIMING = 0x40000010;

/**
 * The vendor the JIT presents (microvm-default, max, host under the JIT). The
 * JIT follows one vendor's behaviour for undefined flags (CPU-JIT.md) and its
 * differential tests take the host CPU as the oracle; the development and CI
 * hosts are GenuineIntel Xeons, so the JIT is an Intel CPU (family 6 model
 * 0x55, a Skylake-SP signature). TamaGo then counts CPUs from leaf 0xB.
 */
export const JIT_VENDOR: CpuVendor = 'GenuineIntel';

interface CpuModelDef {
  readonly vendor: CpuVendor;
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
  readonly brand: string;
  /** Highest basic leaf (CPUID.0:EAX). */
  readonly level: number;
  /** `all` = every feature the accelerator supports. */
  readonly features: readonly FeatureName[] | 'all';
  /** Features the model leaves out under the JIT (reported under KVM, and on the JIT with `-cpu max` or `+feat`). */
  readonly jitOmits?: readonly FeatureName[];
  /** Whether the model implies the KVM paravirtual leaves under the JIT. */
  readonly kvmLeaves: boolean;
}

// QEMU target/i386/cpu.c: PPRO_FEATURES and the qemu64 / kvm64 definitions (QEMU also sets the
// hypervisor bit on every model). Checked against QEMU TCG in tests/unit/cpu/cpuid-qemu-oracle.test.ts.
const PPRO_FEATURES: readonly FeatureName[] = [
  'fpu', 'de', 'pse', 'tsc', 'msr', 'mce', 'cx8', 'pge', 'cmov', 'pat', 'fxsr', 'mmx', 'sse', 'sse2', 'pae', 'sep', 'apic',
];

const MODELS: Readonly<Record<string, CpuModelDef>> = {
  'microvm-default': {
    vendor: JIT_VENDOR, family: 6, model: 0x55, stepping: 4, brand: 'microvm-ts JIT CPU',
    level: 0x1f, features: 'all', kvmLeaves: true,
    // AVX/AVX2/FMA/F16C run in the JIT's executor (no wasm v128 lowering yet): a guest that picks its
    // AVX2 paths from CPUID (glibc's string functions, for one) would run them slower than SSE2.
    jitOmits: ['avx', 'avx2', 'fma', 'f16c'],
  },
  'max': {
    vendor: JIT_VENDOR, family: 6, model: 0x55, stepping: 4, brand: 'microvm-ts JIT CPU (max)',
    level: 0x1f, features: 'all', kvmLeaves: true,
  },
  'qemu64': {
    vendor: 'AuthenticAMD', family: 15, model: 107, stepping: 1, brand: 'QEMU Virtual CPU version 2.5+',
    level: 0xd, kvmLeaves: false,
    features: [...PPRO_FEATURES, 'mtrr', 'clflush', 'mca', 'pse36', 'pni', 'cx16', 'hypervisor', 'lm', 'syscall', 'nx', 'lahf-lm', 'svm'],
  },
  'kvm64': {
    vendor: 'GenuineIntel', family: 15, model: 6, stepping: 1, brand: 'Common KVM processor',
    level: 0xd, kvmLeaves: false,
    features: [...PPRO_FEATURES, 'mtrr', 'clflush', 'mca', 'pse36', 'pni', 'cx16', 'hypervisor', 'lm', 'syscall', 'nx'],
  },
};

export const CPU_MODEL_NAMES: readonly string[] = [...Object.keys(MODELS), 'host'];

/** KVM features QEMU enables by default on every model under KVM (docs/system/i386/kvm-pv.rst). */
const KVM_DEFAULT_FEATURES: readonly FeatureName[] = [
  'kvmclock', 'kvm-nopiodelay', 'kvm-asyncpf', 'kvm-steal-time', 'kvm-pv-eoi', 'kvmclock-stable-bit',
];

function wordKey(leaf: number, subleaf: number, reg: CpuidReg): string {
  return `${leaf}.${subleaf}.${reg}`;
}

/** Four ASCII bytes little-endian in a register (vendor and brand strings). */
function ascii4(s: string, at: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v |= (s.charCodeAt(at + i) & 0xff) << (8 * i);
  return v >>> 0;
}

function ceilLog2(n: number): number {
  let s = 0;
  while ((1 << s) < n) s++;
  return s;
}

const ZERO: CpuidResult = { eax: 0, ebx: 0, ecx: 0, edx: 0 };

/** Leaves whose output depends on ECX (SDM: "ECX is an input" for these). */
const SUBLEAF_LEAVES = new Set([4, 7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1f, 0x8000001d]);

export class MicrovmCpuidPolicy implements CpuidPolicy {
  readonly tscKhz: number;
  readonly apicBusKhz = APIC_BUS_KHZ;
  readonly cpus: number;
  readonly vendor: CpuVendor;
  readonly modelName: string;
  readonly physAddrBits: number;
  readonly virtAddrBits = 48;
  /** The effective feature set. */
  readonly features: ReadonlySet<FeatureName>;
  /** Explicitly requested features the accelerator cannot provide (dropped, like QEMU's TCG warning). */
  readonly warnings: readonly string[];
  private readonly def: CpuModelDef;
  private readonly words = new Map<string, number>();

  constructor(opts: CpuidPolicyOptions = {}) {
    const requested = opts.model ?? DEFAULT_CPU_MODEL;
    const accel = opts.accel ?? 'jit';
    const name = requested === 'host' ? 'max' : requested;
    const def = MODELS[name];
    if (!def) {
      throw new CpuidError('UNKNOWN_MODEL', `unknown CPU model '${requested}' (known: ${CPU_MODEL_NAMES.join(', ')})`);
    }
    const cpus = opts.cpus ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 255) {
      throw new CpuidError('BAD_OPTION', `CPU count must be 1..255, got ${cpus}`);
    }
    const tscKhz = opts.tscKhz ?? DEFAULT_TSC_KHZ;
    if (!Number.isInteger(tscKhz) || tscKhz < 1000 || tscKhz > 0xffffffff) {
      throw new CpuidError('BAD_OPTION', `TSC frequency must be an integer number of kHz in 1000..2^32-1, got ${tscKhz}`);
    }
    const physAddrBits = opts.physAddrBits ?? 40;
    if (!Number.isInteger(physAddrBits) || physAddrBits < 36 || physAddrBits > 52) {
      throw new CpuidError('BAD_OPTION', `phys-bits must be 36..52, got ${physAddrBits}`);
    }
    this.def = def;
    this.modelName = requested;
    this.cpus = cpus;
    this.tscKhz = tscKhz;
    this.physAddrBits = physAddrBits;
    this.vendor = opts.vendor ?? def.vendor;

    const supported: ReadonlySet<FeatureName> = accel === 'jit'
      ? new Set(JIT_IMPLEMENTED_FEATURES)
      : (opts.supported ?? new Set(ALL_FEATURES));

    const set = new Set<FeatureName>(def.features === 'all' ? ALL_FEATURES : def.features);
    if (accel === 'kvm') for (const k of KVM_DEFAULT_FEATURES) set.add(k);
    else if (!def.kvmLeaves) for (const k of ALL_FEATURES) if (k.startsWith('kvm')) set.delete(k);
    if (accel === 'jit') for (const k of def.jitOmits ?? []) set.delete(k);
    // Model defaults the accelerator lacks are filtered silently.
    for (const k of [...set]) if (!supported.has(k)) set.delete(k);

    const warnings: string[] = [];
    for (const [raw, on] of Object.entries(opts.features ?? {})) {
      const canon = canonicalFeatureName(raw);
      if (!canon) throw new CpuidError('UNKNOWN_FEATURE', `unknown CPU feature '${raw}'`);
      if (!on) { set.delete(canon); continue; }
      if (!supported.has(canon)) {
        const where = FEATURE_BITS[canon][0]!;
        warnings.push(`${accel === 'jit' ? 'JIT' : 'KVM'} doesn't support requested feature: CPUID.${where.leaf.toString(16).toUpperCase()}H:${where.reg.toUpperCase()}.${canon} [bit ${where.bit}]`);
        continue;
      }
      set.add(canon);
    }
    this.features = set;
    this.warnings = warnings;
    this.kvmLeaves = [...set].some((k) => k.startsWith('kvm'));
    for (const name of set) {
      for (const b of FEATURE_BITS[name]) {
        const key = wordKey(b.leaf, b.subleaf, b.reg);
        this.words.set(key, ((this.words.get(key) ?? 0) | (1 << b.bit)) >>> 0);
      }
    }
  }

  has(name: FeatureName): boolean {
    return this.features.has(name);
  }

  /** Highest basic leaf (CPUID.0:EAX). */
  get maxBasicLeaf(): number { return this.def.level; }
  /** Highest extended leaf (CPUID.80000000H:EAX). */
  readonly maxExtendedLeaf = 0x80000008;
  /** Whether the KVM leaves 0x40000000.. are present (any kvm* feature reported). */
  get hasKvmLeaves(): boolean {
    return this.kvmLeaves;
  }
  private kvmLeaves = false;

  private word(leaf: number, subleaf: number, reg: CpuidReg): number {
    return this.words.get(wordKey(leaf, subleaf, reg)) ?? 0;
  }

  /** CPUID.01H:EAX (SDM Figure 3-6): stepping, model, family with the extended fields. */
  get signature(): number {
    const { family, model, stepping } = this.def;
    const baseFamily = family > 0xf ? 0xf : family;
    const extFamily = family > 0xf ? family - 0xf : 0;
    return ((extFamily << 20) | ((model >> 4) << 16) | (baseFamily << 8) | ((model & 0xf) << 4) | stepping) >>> 0;
  }

  lookup(cpu: number, leaf: number, subleaf: number, state?: CpuidDynamicState): CpuidResult {
    leaf >>>= 0;
    subleaf = SUBLEAF_LEAVES.has(leaf) ? subleaf >>> 0 : 0;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) cpu = 0;
    const r = this.inRange(leaf);
    if (r === 'out') {
      // SDM CPUID: on Intel, a leaf above the highest one of its range returns the
      // data of the highest basic leaf (KVM emulates this); AMD returns zeros.
      if (this.vendor === 'GenuineIntel') return this.leafValue(cpu, this.def.level, subleaf, state);
      return { ...ZERO };
    }
    return this.leafValue(cpu, leaf, subleaf, state);
  }

  private inRange(leaf: number): 'in' | 'out' {
    if (leaf >= 0x80000000) return leaf <= this.maxExtendedLeaf ? 'in' : 'out';
    if (leaf >= 0x40000000 && leaf <= 0x4fffffff) return this.hasKvmLeaves && leaf <= KVM_CPUID_TIMING ? 'in' : 'out';
    return leaf <= this.def.level ? 'in' : 'out';
  }

  private leafValue(cpu: number, leaf: number, subleaf: number, state: CpuidDynamicState | undefined): CpuidResult {
    const w = (reg: CpuidReg): number => this.word(leaf, subleaf, reg);
    const cr4 = state?.cr4 ?? 0n;
    const n = this.cpus;
    const intel = this.vendor === 'GenuineIntel';
    switch (leaf) {
      case 0: {
        const v = this.vendor;
        return { eax: this.def.level, ebx: ascii4(v, 0), edx: ascii4(v, 4), ecx: ascii4(v, 8) };
      }
      case 1: {
        // EBX: [31:24] initial APIC ID, [23:16] logical processors, [15:8] CLFLUSH size in 8-byte units.
        const ebx = ((cpu << 24) | ((n > 1 ? n : 0) << 16) | (8 << 8)) >>> 0;
        let ecx = w('ecx');
        if (cr4 & (1n << 18n)) ecx |= 1 << 27; // OSXSAVE mirrors CR4.OSXSAVE
        let edx = w('edx');
        if (n > 1) edx |= 1 << 28; // HTT: EBX[23:16] is valid
        if (state?.apicGlobalEnable === false) edx &= ~(1 << 9);
        return { eax: this.signature, ebx, ecx: ecx >>> 0, edx: edx >>> 0 };
      }
      case 2:
        // Intel: one iteration, descriptor 0xFF = "use leaf 4". Reserved on AMD.
        return intel ? { eax: 0x0000ff01, ebx: 0, ecx: 0, edx: 0 } : { ...ZERO };
      case 4:
        return intel ? this.cacheLeaf4(subleaf) : { ...ZERO };
      case 6:
        return { eax: w('eax'), ebx: 0, ecx: 0, edx: 0 };
      case 7: {
        if (subleaf !== 0) return { ...ZERO };
        let ecx = w('ecx');
        if (cr4 & (1n << 22n) && this.has('pku')) ecx |= 1 << 4; // OSPKE mirrors CR4.PKE
        return { eax: 0, ebx: w('ebx'), ecx: ecx >>> 0, edx: w('edx') };
      }
      case 0xb:
      case 0x1f:
        return this.topologyLeaf(cpu, subleaf);
      case 0xd:
        return this.xsaveLeaf(subleaf, state?.xcr0 ?? 1n);
      case 0x15:
        // TSC/crystal ratio: TSC Hz = ECX * EBX / EAX = 25 MHz * tscKhz / 25000, exact for every kHz value.
        return { eax: 25_000, ebx: this.tscKhz, ecx: 25_000_000, edx: 0 };
      case 0x16: {
        const mhz = Math.round(this.tscKhz / 1000) & 0xffff;
        return { eax: mhz, ebx: mhz, ecx: Math.round(this.apicBusKhz / 1000) & 0xffff, edx: 0 };
      }
      case KVM_CPUID_SIGNATURE:
        // "KVMKVMKVM\0\0\0" (Documentation/virt/kvm/x86/cpuid.rst), EAX = highest KVM leaf.
        return { eax: KVM_CPUID_TIMING, ebx: 0x4b4d564b, ecx: 0x564b4d56, edx: 0x0000004d };
      case KVM_CPUID_FEATURES:
        return { eax: w('eax'), ebx: 0, ecx: 0, edx: 0 };
      case KVM_CPUID_TIMING:
        return { eax: this.tscKhz, ebx: this.apicBusKhz, ecx: 0, edx: 0 };
      case 0x80000000: {
        const v = this.vendor;
        return intel
          ? { eax: this.maxExtendedLeaf, ebx: 0, ecx: 0, edx: 0 }
          : { eax: this.maxExtendedLeaf, ebx: ascii4(v, 0), edx: ascii4(v, 4), ecx: ascii4(v, 8) };
      }
      case 0x80000001: {
        let edx = w('edx');
        // AMD APM vol. 3 E.4.2: EDX repeats leaf 1 EDX bits 0-9, 12-17, 23, 24 (QEMU CPUID_EXT2_AMD_ALIASES).
        if (!intel) edx |= this.word(1, 0, 'edx') & 0x0183f3ff;
        let ecx = w('ecx');
        // CmpLegacy (ECX[1]): on AMD with several cores, HTT counts cores, not threads (QEMU sets it likewise).
        if (!intel && n > 1) ecx |= 1 << 1;
        return { eax: intel ? 0 : this.signature, ebx: 0, ecx: ecx >>> 0, edx: edx >>> 0 };
      }
      case 0x80000002: case 0x80000003: case 0x80000004: {
        const brand = this.def.brand.padEnd(48, '\0').slice(0, 47) + '\0';
        const o = (leaf - 0x80000002) * 16;
        return { eax: ascii4(brand, o), ebx: ascii4(brand, o + 4), ecx: ascii4(brand, o + 8), edx: ascii4(brand, o + 12) };
      }
      case 0x80000005:
        // AMD L1 TLB and cache (APM vol. 3 E.4.4): 255-entry fully... 1-way TLB descriptors as QEMU, 32 KiB 8-way 64 B caches.
        return intel ? { ...ZERO } : { eax: 0x01ff01ff, ebx: 0x01ff01ff, ecx: 0x20080140, edx: 0x20080140 };
      case 0x80000006:
        // L2: 512 KiB, 8-way (code 6), 64 B lines; L3 (AMD): 16 MiB in 512 KiB units, 16-way (code 8).
        return intel
          ? { eax: 0, ebx: 0, ecx: 0x02006140, edx: 0 }
          : { eax: 0, ebx: 0x42004200, ecx: 0x02006140, edx: 0x00808140 };
      case 0x80000007:
        return { eax: 0, ebx: 0, ecx: 0, edx: w('edx') };
      case 0x80000008: {
        // EAX: [7:0] physical, [15:8] linear address bits. AMD ECX: [7:0] NC = cores-1, [15:12] ApicIdCoreIdSize.
        const eax = (this.virtAddrBits << 8) | this.physAddrBits;
        const ecx = intel ? 0 : (((ceilLog2(n) & 0xf) << 12) | ((n - 1) & 0xff));
        return { eax, ebx: 0, ecx, edx: 0 };
      }
      default:
        return { ...ZERO };
    }
  }

  /**
   * Extended topology (SDM CPUID leaf 0BH / 1FH): one thread per core, `cpus`
   * cores in one package; x2APIC ID = vCPU index. Reported on both vendors
   * (TamaGo reads 0xB on Intel, 0x80000008 on AMD).
   */
  private topologyLeaf(cpu: number, subleaf: number): CpuidResult {
    const x2apicId = cpu;
    if (subleaf === 0) return { eax: 0, ebx: 1, ecx: (1 << 8) | 0, edx: x2apicId }; // SMT level
    if (subleaf === 1) return { eax: ceilLog2(this.cpus), ebx: this.cpus, ecx: (2 << 8) | 1, edx: x2apicId }; // core level
    return { eax: 0, ebx: 0, ecx: subleaf & 0xff, edx: x2apicId }; // invalid level
  }

  /** Intel deterministic cache parameters (SDM CPUID leaf 04H). */
  private cacheLeaf4(subleaf: number): CpuidResult {
    const caches = [
      // type, level, ways, sets, sharing threads
      { type: 1, level: 1, ways: 8, sets: 64, share: 1 },     // L1d 32 KiB
      { type: 2, level: 1, ways: 8, sets: 64, share: 1 },     // L1i 32 KiB
      { type: 3, level: 2, ways: 8, sets: 1024, share: 1 },   // L2 512 KiB
      { type: 3, level: 3, ways: 16, sets: 16384, share: this.cpus }, // L3 16 MiB
    ];
    const c = caches[subleaf];
    if (!c) return { ...ZERO };
    const coresM1 = Math.min(63, (1 << ceilLog2(this.cpus)) - 1);
    const shareM1 = Math.min(0xfff, (1 << ceilLog2(c.share)) - 1);
    const eax = ((coresM1 << 26) | (shareM1 << 14) | (1 << 8) | (c.level << 5) | c.type) >>> 0;
    const ebx = ((c.ways - 1) << 22) | (0 << 12) | 63;
    return { eax, ebx, ecx: c.sets - 1, edx: c.level === 3 ? 1 << 1 : 0 };
  }

  /** Processor extended state enumeration (SDM CPUID leaf 0DH). Zero unless XSAVE is reported. */
  private xsaveLeaf(subleaf: number, xcr0: bigint): CpuidResult {
    if (!this.has('xsave')) return { ...ZERO };
    const supportedMask = this.has('avx') ? 0b111 : 0b011; // x87 | SSE | AVX
    const sizeFor = (mask: bigint): number => 576 + ((mask & 4n) !== 0n ? 256 : 0);
    switch (subleaf) {
      case 0:
        return { eax: supportedMask, ebx: sizeFor(xcr0 & BigInt(supportedMask)), ecx: sizeFor(BigInt(supportedMask)), edx: 0 };
      case 1:
        return { eax: this.word(0xd, 1, 'eax'), ebx: this.has('xsaves') ? sizeFor(xcr0) : 0, ecx: 0, edx: 0 };
      case 2:
        return this.has('avx') ? { eax: 256, ebx: 576, ecx: 0, edx: 0 } : { ...ZERO };
      default:
        return { ...ZERO };
    }
  }
}

export function createCpuidPolicy(opts: CpuidPolicyOptions = {}): MicrovmCpuidPolicy {
  return new MicrovmCpuidPolicy(opts);
}

/** Whether the policy reports `name` (the JIT raises #UD for instructions of unreported features). */
export function hasFeature(policy: CpuidPolicy, name: FeatureName): boolean {
  if (policy instanceof MicrovmCpuidPolicy) return policy.has(name);
  return featuresFromCpuid((leaf, subleaf) => policy.lookup(0, leaf, subleaf)).has(name);
}

/**
 * The named features present in a raw CPUID source (e.g. KVM_GET_SUPPORTED_CPUID
 * entries): what the KVM side passes as `supported`.
 */
export function featuresFromCpuid(read: (leaf: number, subleaf: number) => CpuidResult): Set<FeatureName> {
  const out = new Set<FeatureName>();
  for (const name of ALL_FEATURES) {
    if (FEATURE_BITS[name].every((b) => ((read(b.leaf, b.subleaf)[b.reg] >>> b.bit) & 1) === 1)) out.add(name);
  }
  return out;
}

/**
 * Parse a QEMU `-cpu` string: `model[,+feat][,-feat][,feat=on|off][,key=value]`.
 * Boolean features go to `features` in order; other `key=value` properties
 * (e.g. `tsc-frequency=2000000000`, `vendor=GenuineIntel`) go to `props`.
 */
export function parseCpuOption(text: string): { model: string; features: Record<string, boolean>; props: Record<string, string> } {
  const parts = text.split(',');
  const model = (parts.shift() ?? '').trim();
  if (!model) throw new CpuidError('BAD_OPTION', `-cpu needs a model name`);
  const features: Record<string, boolean> = {};
  const props: Record<string, string> = {};
  const set = (k: string, v: boolean): void => { delete features[k]; features[k] = v; };
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    if (p.startsWith('+')) { set(p.slice(1), true); continue; }
    if (p.startsWith('-')) { set(p.slice(1), false); continue; }
    const eq = p.indexOf('=');
    if (eq < 0) { set(p, true); continue; }
    const k = p.slice(0, eq);
    const v = p.slice(eq + 1);
    const lv = v.toLowerCase();
    if (canonicalFeatureName(k) !== undefined) {
      if (lv === 'on' || lv === 'true' || lv === 'yes') set(k, true);
      else if (lv === 'off' || lv === 'false' || lv === 'no') set(k, false);
      else throw new CpuidError('BAD_OPTION', `feature '${k}' expects on|off, got '${v}'`);
    } else {
      props[k] = v;
    }
  }
  return { model, features, props };
}

/** `-cpu` properties accepted and ignored (they change nothing a guest of ours can observe here). */
const IGNORED_CPU_PROPS = new Set(['check', 'migratable', 'host-phys-bits', 'pmu', 'l3-cache', 'host-cache-info', 'kvm', 'x-force-features']);

/**
 * A whole QEMU `-cpu` string -> createCpuidPolicy options (model, features,
 * and the properties we model: `tsc-frequency` in Hz, `vendor`, `phys-bits`,
 * `enforce`). Unknown properties are an error naming them.
 */
export function cpuPolicyOptionsFromString(text: string): { options: CpuidPolicyOptions; enforce: boolean; ignored: string[] } {
  const parsed = parseCpuOption(text);
  const options: CpuidPolicyOptions = { model: parsed.model, features: parsed.features };
  let enforce = false;
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(parsed.props)) {
    const key = k.replace(/_/g, '-');
    switch (key) {
      case 'tsc-frequency': {
        const hz = Number(v);
        if (!Number.isInteger(hz) || hz < 1_000_000 || hz % 1000 !== 0) throw new CpuidError('BAD_OPTION', `tsc-frequency must be an integer number of Hz (multiple of 1000), got '${v}'`);
        options.tscKhz = hz / 1000;
        break;
      }
      case 'vendor':
        if (v !== 'AuthenticAMD' && v !== 'GenuineIntel') throw new CpuidError('BAD_OPTION', `vendor must be AuthenticAMD or GenuineIntel, got '${v}'`);
        options.vendor = v;
        break;
      case 'phys-bits':
        options.physAddrBits = Number(v);
        break;
      case 'enforce':
        enforce = v === 'on' || v === 'true' || v === 'yes';
        break;
      default:
        if (IGNORED_CPU_PROPS.has(key) || key.startsWith('hv-')) { ignored.push(key); break; }
        throw new CpuidError('BAD_OPTION', `unknown -cpu property '${k}'`);
    }
  }
  return { options, enforce, ignored };
}

/** Text for `-cpu help` and `--help`: models, the default, and what the JIT reports. */
export function cpuHelpText(): string {
  const lines = [
    'Available CPU models (-cpu NAME[,+feat|-feat|feat=on|off|tsc-frequency=HZ|vendor=...]):',
    `  microvm-default  used when no -cpu is given: every feature the JIT implements except AVX/AVX2/FMA/F16C`,
    `                   (executor speed; -cpu max or +avx2 turns them on),`,
    `                   incl. invtsc, kvmclock, tsc-deadline, rdrand, pdpe1gb, x2apic, hypervisor`,
    `                   (QEMU's default qemu64 lacks these; TamaGo needs them to boot)`,
    '  max              every feature the accelerator implements',
    '  host             under KVM: the host CPU as KVM exposes it; under the JIT: same as max',
    "  qemu64           QEMU's qemu64 (AuthenticAMD), filtered to what the accelerator implements",
    "  kvm64            QEMU's kvm64 (GenuineIntel), filtered likewise",
    '',
    `Features the JIT implements (reported by microvm-default/max/host): ${JIT_IMPLEMENTED_FEATURES.join(' ')}`,
    `Default TSC frequency: ${DEFAULT_TSC_KHZ / 1000} MHz (CPUID 0x40000010, 0x15, 0x16); APIC bus ${APIC_BUS_KHZ / 1000} MHz.`,
  ];
  return lines.join('\n');
}
