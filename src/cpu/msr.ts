/**
 * Model-specific registers of one vCPU (RDMSR/WRMSR for the JIT).
 *
 * Every access returns a result; `{ ok: false }` means the instruction raises
 * #GP(0) (SDM vol. 2B RDMSR/WRMSR: "If the value in ECX specifies a reserved
 * or unimplemented MSR address" / "If the value in EDX:EAX sets bits that are
 * reserved in the MSR"). Nothing here throws on guest input.
 *
 * Ownership: this file holds MSR-only state (EFER, SYSCALL MSRs, PAT, MTRRs,
 * kvmclock addresses...). The TSC, the local APIC (APIC_BASE, TSC_DEADLINE and
 * the x2APIC range 0x800-0x8ff) and optionally FS/GS bases are reached through
 * `MsrHooks`, so the JIT keeps one copy of each value.
 */
import type { FeatureName } from './features.js';

// Intel SDM vol. 4 (MSR index) and Linux arch/x86/include/asm/msr-index.h spellings.
export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_PLATFORM_ID = 0x17;
export const MSR_IA32_APIC_BASE = 0x1b;
export const MSR_IA32_FEATURE_CONTROL = 0x3a;
export const MSR_IA32_TSC_ADJUST = 0x3b;
export const MSR_IA32_SPEC_CTRL = 0x48;
export const MSR_IA32_PRED_CMD = 0x49;
export const MSR_IA32_BIOS_UPDT_TRIG = 0x79;
export const MSR_IA32_UCODE_REV = 0x8b; // AMD: MSR_AMD64_PATCH_LEVEL, same index
export const MSR_MTRRcap = 0xfe;
export const MSR_IA32_SYSENTER_CS = 0x174;
export const MSR_IA32_SYSENTER_ESP = 0x175;
export const MSR_IA32_SYSENTER_EIP = 0x176;
export const MSR_IA32_MCG_CAP = 0x179;
export const MSR_IA32_MCG_STATUS = 0x17a;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_MTRRphysBase0 = 0x200; // base n = 0x200 + 2n, mask n = 0x201 + 2n
export const MSR_MTRRfix64K_00000 = 0x250;
export const MSR_MTRRfix16K_80000 = 0x258;
export const MSR_MTRRfix16K_A0000 = 0x259;
export const MSR_MTRRfix4K_C0000 = 0x268; // .. 0x26f
export const MSR_IA32_CR_PAT = 0x277;
export const MSR_MTRRdefType = 0x2ff;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
export const MSR_X2APIC_FIRST = 0x800;
export const MSR_X2APIC_LAST = 0x8ff;
export const MSR_EFER = 0xc0000080;
export const MSR_STAR = 0xc0000081;
export const MSR_LSTAR = 0xc0000082;
export const MSR_CSTAR = 0xc0000083;
export const MSR_SYSCALL_MASK = 0xc0000084; // "FMASK"
export const MSR_FS_BASE = 0xc0000100;
export const MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102;
export const MSR_TSC_AUX = 0xc0000103;
export const MSR_K8_SYSCFG = 0xc0010010;
export const MSR_K7_HWCR = 0xc0010015;
// Linux Documentation/virt/kvm/x86/msr.rst
export const MSR_KVM_WALL_CLOCK = 0x11;
export const MSR_KVM_SYSTEM_TIME = 0x12;
export const MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00;
export const MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;

// EFER bits (SDM vol. 3A 2.2.1, AMD APM vol. 2 3.1.7)
export const EFER_SCE = 1n << 0n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;
export const EFER_NXE = 1n << 11n;
export const EFER_SVME = 1n << 12n;
export const EFER_FFXSR = 1n << 14n;

export const PAT_RESET = 0x0007040600070406n;
/** MTRRcap: VCNT = 8 variable ranges, FIX (bit 8), WC (bit 10). */
export const MTRR_CAP_VALUE = 0x508n;
export const MTRR_VARIABLE_COUNT = 8;
/** MISC_ENABLE reset: fast-strings enable (bit 0), QEMU's MSR_IA32_MISC_ENABLE_DEFAULT. */
export const MISC_ENABLE_RESET = 1n;
/** Microcode revision reported in EDX of MSR 0x8b (QEMU's default for Intel models). */
export const UCODE_REV = 0x1_0000_0000n;

/**
 * MSRs KVM reads as 0 and whose writes it ignores (arch/x86/kvm/x86.c
 * kvm_get_msr_common / kvm_set_msr_common): guests probe them, mostly AMD
 * northbridge/config registers and Intel power registers. Same behaviour here
 * so a Linux guest sees what it sees under KVM.
 */
export const RAZ_WI_MSRS: ReadonlySet<number> = new Set([
  0x2a,        // MSR_IA32_EBL_CR_POWERON
  0x199,       // MSR_IA32_PERF_CTL
  0x1d9,       // MSR_IA32_DEBUGCTLMSR (no LBR/BTF)
  0x1fc,       // MSR_IA32_POWER_CTL
  0xc001001f,  // MSR_AMD64_NB_CFG
  0xc0010055,  // MSR_K8_INT_PENDING_MSG (Linux's AMD E400 idle check reads it with plain RDMSR)
  0xc0010058,  // MSR_FAM10H_MMIO_CONF_BASE
  0xc0010112,  // MSR_K8_TSEG_ADDR
  0xc0010113,  // MSR_K8_TSEG_MASK
  0xc0011022,  // MSR_AMD64_DC_CFG
  0xc0011023,  // MSR_AMD64_TW_CFG
  0xc0011029,  // MSR_AMD64_DE_CFG
  0xc001102a,  // MSR_AMD64_BU_CFG2
]);

export type MsrReadResult = { ok: true; value: bigint } | { ok: false };
export type MsrWriteResult = { ok: true } | { ok: false };

const OK: MsrWriteResult = { ok: true };
const GP: { ok: false } = { ok: false };
const val = (value: bigint): MsrReadResult => ({ ok: true, value: BigInt.asUintN(64, value) });

/** The local APIC's MSR side (src/devices/lapic.ts implements it). */
export interface LapicMsrPort {
  readMsr(index: number): MsrReadResult;
  writeMsr(index: number, value: bigint): MsrWriteResult;
}

export interface MsrHooks {
  /** Guest TSC now (IA32_TSC read, RDTSC). */
  readTsc(): bigint;
  /** IA32_TSC write: the guest sets its TSC to `value` now. */
  writeTsc(value: bigint): void;
  /** Current CR0 (EFER.LME may not change while CR0.PG = 1). */
  cr0(): bigint;
  /** APIC_BASE, TSC_DEADLINE and the x2APIC range; absent -> those MSRs #GP. */
  lapic?: LapicMsrPort;
  /** EFER changed (the JIT re-derives its mode; LMA is set by the JIT via `setLongModeActive`). */
  onEferWrite?(oldValue: bigint, newValue: bigint): void;
  /** MSR_KVM_SYSTEM_TIME(_NEW) written: raw value, bit 0 = enable, bits 63:1 = GPA (4-byte aligned). */
  onKvmSystemTime?(value: bigint): void;
  /** MSR_KVM_WALL_CLOCK(_NEW) written with the GPA of the wall clock struct: fill it now. */
  onKvmWallClock?(gpa: bigint): void;
  /** FS/GS base live in the JIT's segment state when given. */
  segmentBase?: { get(reg: 'fs' | 'gs'): bigint; set(reg: 'fs' | 'gs', value: bigint): void };
}

/** Minimal view of the CPUID policy the MSR file needs. */
export interface MsrFeatureView {
  has(name: FeatureName): boolean;
  readonly physAddrBits: number;
  readonly vendor: string;
}

/** Plain, serialisable MSR state. */
export interface MsrState {
  version: 1;
  efer: string; star: string; lstar: string; cstar: string; fmask: string;
  fsBase: string; gsBase: string; kernelGsBase: string; tscAux: string;
  sysenterCs: string; sysenterEsp: string; sysenterEip: string;
  pat: string; mtrrDefType: string; mtrrFixed: string[]; mtrrVar: string[];
  miscEnable: string; specCtrl: string; hwcr: string; mcgStatus: string;
  kvmSystemTime: string; kvmWallClock: string;
}

/** Canonical for 48-bit linear addresses (SDM vol. 1 3.3.7.1). */
export function isCanonical48(v: bigint): boolean {
  const top = BigInt.asUintN(64, v) >> 47n;
  return top === 0n || top === 0x1ffffn;
}

/** Memory types valid in PAT entries (SDM vol. 3A 12.12.2): UC, WC, WT, WP, WB, UC-. */
function isPatType(t: number): boolean { return t === 0 || t === 1 || t === 4 || t === 5 || t === 6 || t === 7; }
/** Memory types valid in MTRRs (SDM vol. 3A 12.11.2): UC, WC, WT, WP, WB. */
function isMtrrType(t: number): boolean { return t === 0 || t === 1 || t === 4 || t === 5 || t === 6; }

function everyByte(v: bigint, ok: (t: number) => boolean): boolean {
  for (let i = 0n; i < 64n; i += 8n) if (!ok(Number((v >> i) & 0xffn))) return false;
  return true;
}

const FIXED_MTRRS = [
  MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
  0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
];

export class MsrFile {
  efer = 0n;
  star = 0n;
  lstar = 0n;
  cstar = 0n;
  fmask = 0n;
  kernelGsBase = 0n;
  tscAux = 0n;
  sysenterCs = 0n;
  sysenterEsp = 0n;
  sysenterEip = 0n;
  pat = PAT_RESET;
  mtrrDefType = 0n;
  readonly mtrrFixed: bigint[] = FIXED_MTRRS.map(() => 0n);
  /** base0, mask0, base1, mask1, ... */
  readonly mtrrVar: bigint[] = new Array<bigint>(2 * MTRR_VARIABLE_COUNT).fill(0n);
  miscEnable = MISC_ENABLE_RESET;
  specCtrl = 0n;
  hwcr = 0n;
  mcgStatus = 0n;
  /** Last value written to MSR_KVM_SYSTEM_TIME(_NEW) (GPA | enable). */
  kvmSystemTime = 0n;
  kvmWallClock = 0n;
  private fsBaseLocal = 0n;
  private gsBaseLocal = 0n;
  /** Counts accesses to unknown MSRs (they #GP), for diagnostics. */
  unknownAccesses = 0;

  constructor(private readonly features: MsrFeatureView, private readonly hooks: MsrHooks) {}

  /** Architectural reset (SDM vol. 3A Table 10-1): EFER 0, PAT reset value, MTRRs disabled. */
  reset(): void {
    this.efer = 0n; this.star = 0n; this.lstar = 0n; this.cstar = 0n; this.fmask = 0n;
    this.kernelGsBase = 0n; this.tscAux = 0n; this.sysenterCs = 0n; this.sysenterEsp = 0n; this.sysenterEip = 0n;
    this.pat = PAT_RESET; this.mtrrDefType = 0n; this.mtrrFixed.fill(0n); this.mtrrVar.fill(0n);
    this.miscEnable = MISC_ENABLE_RESET; this.specCtrl = 0n; this.hwcr = 0n; this.mcgStatus = 0n;
    this.kvmSystemTime = 0n; this.kvmWallClock = 0n; this.fsBaseLocal = 0n; this.gsBaseLocal = 0n;
  }

  /** EFER bits this CPU accepts (a write of any other bit #GPs). */
  get eferValidMask(): bigint {
    let m = 0n;
    if (this.features.has('syscall')) m |= EFER_SCE;
    if (this.features.has('lm')) m |= EFER_LME | EFER_LMA;
    if (this.features.has('nx')) m |= EFER_NXE;
    if (this.features.has('svm')) m |= EFER_SVME;
    if (this.features.has('fxsr-opt')) m |= EFER_FFXSR;
    return m;
  }

  /** The JIT sets EFER.LMA when CR0.PG becomes 1 with EFER.LME = 1 (and clears it with PG = 0). */
  setLongModeActive(on: boolean): void {
    this.efer = on ? this.efer | EFER_LMA : this.efer & ~EFER_LMA;
  }

  /** Physical-address mask bits above MAXPHYADDR (reserved in MTRR bases/masks). */
  private get physReserved(): bigint {
    return BigInt.asUintN(64, ~((1n << BigInt(this.features.physAddrBits)) - 1n));
  }

  read(index: number): MsrReadResult {
    index >>>= 0;
    const f = this.features;
    if (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST) return this.hooks.lapic?.readMsr(index) ?? GP;
    if (index >= MSR_MTRRphysBase0 && index < MSR_MTRRphysBase0 + 2 * MTRR_VARIABLE_COUNT) {
      return f.has('mtrr') ? val(this.mtrrVar[index - MSR_MTRRphysBase0]!) : GP;
    }
    const fixed = FIXED_MTRRS.indexOf(index);
    if (fixed >= 0) return f.has('mtrr') ? val(this.mtrrFixed[fixed]!) : GP;
    if (RAZ_WI_MSRS.has(index)) return val(0n);
    switch (index) {
      case MSR_IA32_TSC: return val(this.hooks.readTsc());
      case MSR_IA32_APIC_BASE:
      case MSR_IA32_TSC_DEADLINE:
        if (index === MSR_IA32_TSC_DEADLINE && !f.has('tsc-deadline')) return GP;
        return this.hooks.lapic?.readMsr(index) ?? GP;
      case MSR_IA32_PLATFORM_ID: return val(0n);
      case MSR_IA32_FEATURE_CONTROL: return val(1n); // locked, VMX off (Linux reads it on Intel)
      case MSR_IA32_SPEC_CTRL: return val(this.specCtrl);
      case MSR_IA32_UCODE_REV: return val(UCODE_REV);
      case MSR_MTRRcap: return f.has('mtrr') ? val(MTRR_CAP_VALUE) : GP;
      case MSR_MTRRdefType: return f.has('mtrr') ? val(this.mtrrDefType) : GP;
      case MSR_IA32_SYSENTER_CS: return val(this.sysenterCs);
      case MSR_IA32_SYSENTER_ESP: return val(this.sysenterEsp);
      case MSR_IA32_SYSENTER_EIP: return val(this.sysenterEip);
      case MSR_IA32_MCG_CAP: return val(0n); // no banks
      case MSR_IA32_MCG_STATUS: return val(this.mcgStatus);
      case MSR_IA32_MISC_ENABLE: return val(this.miscEnable);
      case MSR_IA32_CR_PAT: return f.has('pat') ? val(this.pat) : GP;
      case MSR_EFER: return val(this.efer);
      case MSR_STAR: return val(this.star);
      case MSR_LSTAR: return f.has('lm') ? val(this.lstar) : GP;
      case MSR_CSTAR: return f.has('lm') ? val(this.cstar) : GP;
      case MSR_SYSCALL_MASK: return f.has('lm') ? val(this.fmask) : GP;
      case MSR_FS_BASE: return f.has('lm') ? val(this.hooks.segmentBase?.get('fs') ?? this.fsBaseLocal) : GP;
      case MSR_GS_BASE: return f.has('lm') ? val(this.hooks.segmentBase?.get('gs') ?? this.gsBaseLocal) : GP;
      case MSR_KERNEL_GS_BASE: return f.has('lm') ? val(this.kernelGsBase) : GP;
      case MSR_TSC_AUX: return f.has('rdtscp') || f.has('rdpid') ? val(this.tscAux) : GP;
      case MSR_K8_SYSCFG: return f.vendor === 'AuthenticAMD' ? val(0n) : GP;
      case MSR_K7_HWCR: return f.vendor === 'AuthenticAMD' ? val(this.hwcr) : GP;
      case MSR_KVM_WALL_CLOCK: case MSR_KVM_SYSTEM_TIME:
      case MSR_KVM_WALL_CLOCK_NEW: case MSR_KVM_SYSTEM_TIME_NEW:
        if (!this.kvmClockMsrAvailable(index)) return GP;
        return val(index === MSR_KVM_WALL_CLOCK || index === MSR_KVM_WALL_CLOCK_NEW ? this.kvmWallClock : this.kvmSystemTime);
      default:
        this.unknownAccesses++;
        return GP;
    }
  }

  /**
   * Linux msr.rst: the old MSRs 0x11/0x12 exist with KVM_FEATURE_CLOCKSOURCE (bit 0),
   * the new ones with KVM_FEATURE_CLOCKSOURCE2 (bit 3); QEMU's `kvmclock` sets both.
   */
  private kvmClockMsrAvailable(_index: number): boolean {
    return this.features.has('kvmclock');
  }

  write(index: number, value: bigint): MsrWriteResult {
    index >>>= 0;
    value = BigInt.asUintN(64, value);
    const f = this.features;
    if (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST) return this.hooks.lapic?.writeMsr(index, value) ?? GP;
    if (index >= MSR_MTRRphysBase0 && index < MSR_MTRRphysBase0 + 2 * MTRR_VARIABLE_COUNT) {
      if (!f.has('mtrr')) return GP;
      const i = index - MSR_MTRRphysBase0;
      if (i % 2 === 0) {
        // IA32_MTRR_PHYSBASEn: type [7:0], bits 11:8 reserved, PhysBase [MAXPHYADDR-1:12].
        if (value & (0xf00n | this.physReserved) || !isMtrrType(Number(value & 0xffn))) return GP;
      } else {
        // IA32_MTRR_PHYSMASKn: bits 10:0 reserved, V [11], PhysMask [MAXPHYADDR-1:12].
        if (value & (0x7ffn | this.physReserved)) return GP;
      }
      this.mtrrVar[i] = value;
      return OK;
    }
    if (RAZ_WI_MSRS.has(index)) return OK;
    const fixed = FIXED_MTRRS.indexOf(index);
    if (fixed >= 0) {
      if (!f.has('mtrr') || !everyByte(value, isMtrrType)) return GP;
      this.mtrrFixed[fixed] = value;
      return OK;
    }
    switch (index) {
      case MSR_IA32_TSC:
        this.hooks.writeTsc(value);
        return OK;
      case MSR_IA32_APIC_BASE:
        return this.hooks.lapic?.writeMsr(index, value) ?? GP;
      case MSR_IA32_TSC_DEADLINE:
        if (!f.has('tsc-deadline')) return GP;
        return this.hooks.lapic?.writeMsr(index, value) ?? GP;
      case MSR_IA32_SPEC_CTRL:
        // IBRS (0), STIBP (1), SSBD (2): accepted and ignored (no speculation to control).
        if (value & ~0x7n) return GP;
        this.specCtrl = value;
        return OK;
      case MSR_IA32_PRED_CMD:
        // IBPB (bit 0) is write-only and has no effect here.
        return value & ~1n ? GP : OK;
      case MSR_IA32_BIOS_UPDT_TRIG:
      case MSR_IA32_UCODE_REV:
        return OK; // microcode loads are ignored (KVM does the same)
      case MSR_MTRRdefType:
        // Type [7:0], FE [10], E [11]; everything else reserved.
        if (!f.has('mtrr') || value & ~0xcffn || !isMtrrType(Number(value & 0xffn))) return GP;
        this.mtrrDefType = value;
        return OK;
      case MSR_IA32_SYSENTER_CS:
        this.sysenterCs = value & 0xffffffffn; // SDM vol. 3A 5.8.7: CS selector in [15:0]; KVM keeps 32 bits
        return OK;
      case MSR_IA32_SYSENTER_ESP:
      case MSR_IA32_SYSENTER_EIP:
        if (f.has('lm') && !isCanonical48(value)) return GP;
        if (index === MSR_IA32_SYSENTER_ESP) this.sysenterEsp = value; else this.sysenterEip = value;
        return OK;
      case MSR_IA32_MCG_STATUS:
        // No machine-check banks: only clearing is meaningful; anything else is reserved.
        if (value !== 0n) return GP;
        this.mcgStatus = 0n;
        return OK;
      case MSR_IA32_MISC_ENABLE:
        this.miscEnable = value;
        return OK;
      case MSR_IA32_CR_PAT:
        if (!f.has('pat') || !everyByte(value, isPatType)) return GP;
        this.pat = value;
        return OK;
      case MSR_EFER:
        return this.writeEfer(value);
      case MSR_STAR:
        this.star = value;
        return OK;
      case MSR_LSTAR: case MSR_CSTAR: case MSR_KERNEL_GS_BASE: case MSR_FS_BASE: case MSR_GS_BASE: {
        if (!f.has('lm')) return GP;
        // SDM vol. 2B WRMSR: #GP if a non-canonical address is written to these.
        if (!isCanonical48(value)) return GP;
        if (index === MSR_LSTAR) this.lstar = value;
        else if (index === MSR_CSTAR) this.cstar = value;
        else if (index === MSR_KERNEL_GS_BASE) this.kernelGsBase = value;
        else {
          const reg = index === MSR_FS_BASE ? 'fs' : 'gs';
          if (this.hooks.segmentBase) this.hooks.segmentBase.set(reg, value);
          else if (reg === 'fs') this.fsBaseLocal = value;
          else this.gsBaseLocal = value;
        }
        return OK;
      }
      case MSR_SYSCALL_MASK:
        if (!f.has('lm')) return GP;
        this.fmask = value & 0xffffffffn; // AMD APM: the upper 32 bits are RAZ
        return OK;
      case MSR_TSC_AUX:
        if (!(f.has('rdtscp') || f.has('rdpid')) || value >> 32n) return GP;
        this.tscAux = value;
        return OK;
      case MSR_K8_SYSCFG:
        return f.vendor === 'AuthenticAMD' ? OK : GP;
      case MSR_K7_HWCR:
        if (f.vendor !== 'AuthenticAMD') return GP;
        this.hwcr = value;
        return OK;
      case MSR_KVM_WALL_CLOCK: case MSR_KVM_WALL_CLOCK_NEW:
        if (!this.kvmClockMsrAvailable(index)) return GP;
        this.kvmWallClock = value;
        this.hooks.onKvmWallClock?.(value);
        return OK;
      case MSR_KVM_SYSTEM_TIME: case MSR_KVM_SYSTEM_TIME_NEW:
        if (!this.kvmClockMsrAvailable(index)) return GP;
        this.kvmSystemTime = value;
        this.hooks.onKvmSystemTime?.(value);
        return OK;
      default:
        this.unknownAccesses++;
        return GP;
    }
  }

  /**
   * EFER (SDM vol. 3A 2.2.1; KVM set_efer): reserved bits #GP; LMA is read-only
   * (the written LMA is ignored, the current one kept); changing LME while
   * CR0.PG = 1 #GPs.
   */
  private writeEfer(value: bigint): MsrWriteResult {
    if (value & ~this.eferValidMask) return GP;
    const pg = (this.hooks.cr0() & (1n << 31n)) !== 0n;
    if (pg && (value & EFER_LME) !== (this.efer & EFER_LME)) return GP;
    const old = this.efer;
    this.efer = (value & ~EFER_LMA) | (old & EFER_LMA);
    if (this.efer !== old) this.hooks.onEferWrite?.(old, this.efer);
    return OK;
  }

  saveState(): MsrState {
    const h = (v: bigint): string => '0x' + v.toString(16);
    return {
      version: 1,
      efer: h(this.efer), star: h(this.star), lstar: h(this.lstar), cstar: h(this.cstar), fmask: h(this.fmask),
      fsBase: h(this.hooks.segmentBase?.get('fs') ?? this.fsBaseLocal), gsBase: h(this.hooks.segmentBase?.get('gs') ?? this.gsBaseLocal),
      kernelGsBase: h(this.kernelGsBase), tscAux: h(this.tscAux),
      sysenterCs: h(this.sysenterCs), sysenterEsp: h(this.sysenterEsp), sysenterEip: h(this.sysenterEip),
      pat: h(this.pat), mtrrDefType: h(this.mtrrDefType), mtrrFixed: this.mtrrFixed.map(h), mtrrVar: this.mtrrVar.map(h),
      miscEnable: h(this.miscEnable), specCtrl: h(this.specCtrl), hwcr: h(this.hwcr), mcgStatus: h(this.mcgStatus),
      kvmSystemTime: h(this.kvmSystemTime), kvmWallClock: h(this.kvmWallClock),
    };
  }

  /**
   * Restore from untrusted data. Values go through `write` semantics where they
   * have rules (EFER is restored raw, including LMA). Returns false (state
   * unchanged for the failing field onward) when the input is malformed.
   */
  loadState(input: unknown): boolean {
    if (typeof input !== 'object' || input === null) return false;
    const o = input as Record<string, unknown>;
    if (o['version'] !== 1) return false;
    const big = (k: string): bigint | undefined => {
      const v = o[k];
      if (typeof v !== 'string' || !/^0x[0-9a-f]{1,16}$/i.test(v)) return undefined;
      return BigInt(v);
    };
    const bigs = (k: string, n: number): bigint[] | undefined => {
      const v = o[k];
      if (!Array.isArray(v) || v.length !== n) return undefined;
      const out: bigint[] = [];
      for (const x of v) {
        if (typeof x !== 'string' || !/^0x[0-9a-f]{1,16}$/i.test(x)) return undefined;
        out.push(BigInt(x));
      }
      return out;
    };
    const keys = ['efer', 'star', 'lstar', 'cstar', 'fmask', 'fsBase', 'gsBase', 'kernelGsBase', 'tscAux',
      'sysenterCs', 'sysenterEsp', 'sysenterEip', 'pat', 'mtrrDefType', 'miscEnable', 'specCtrl', 'hwcr',
      'mcgStatus', 'kvmSystemTime', 'kvmWallClock'] as const;
    const v: Partial<Record<(typeof keys)[number], bigint>> = {};
    for (const k of keys) {
      const x = big(k);
      if (x === undefined) return false;
      v[k] = x;
    }
    const fixed = bigs('mtrrFixed', FIXED_MTRRS.length);
    const vars = bigs('mtrrVar', 2 * MTRR_VARIABLE_COUNT);
    if (!fixed || !vars) return false;
    if ((v.efer! & ~this.eferValidMask) !== 0n) return false;
    this.efer = v.efer!; this.star = v.star!; this.lstar = v.lstar!; this.cstar = v.cstar!; this.fmask = v.fmask!;
    if (this.hooks.segmentBase) { this.hooks.segmentBase.set('fs', v.fsBase!); this.hooks.segmentBase.set('gs', v.gsBase!); }
    this.fsBaseLocal = v.fsBase!; this.gsBaseLocal = v.gsBase!;
    this.kernelGsBase = v.kernelGsBase!; this.tscAux = v.tscAux!;
    this.sysenterCs = v.sysenterCs!; this.sysenterEsp = v.sysenterEsp!; this.sysenterEip = v.sysenterEip!;
    this.pat = v.pat!; this.mtrrDefType = v.mtrrDefType!; this.miscEnable = v.miscEnable!; this.specCtrl = v.specCtrl!;
    this.hwcr = v.hwcr!; this.mcgStatus = v.mcgStatus!; this.kvmSystemTime = v.kvmSystemTime!; this.kvmWallClock = v.kvmWallClock!;
    fixed.forEach((x, i) => { this.mtrrFixed[i] = x; });
    vars.forEach((x, i) => { this.mtrrVar[i] = x; });
    return true;
  }
}
