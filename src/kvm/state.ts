/**
 * Conversions between the accelerator-neutral VcpuState (src/accel/types.ts)
 * and KVM's kvm_regs / kvm_sregs, plus the architectural power-on state used
 * by reset (Intel SDM Vol. 3A 10.1.1 "Processor State After Reset", Table 10-1;
 * 11.4.7.1 "Local APIC State After Power-Up or Reset").
 */
import type { SegmentState, VcpuState, GeneralRegisters, SystemRegisters } from '../accel/types.js';
import type { KvmRegs, KvmSegment, KvmSregs } from './abi.js';

export function segmentToKvm(s: SegmentState): KvmSegment {
  return {
    base: s.base, limit: s.limit >>> 0, selector: s.selector & 0xffff, type: s.type & 0xf,
    present: s.present ? 1 : 0, dpl: s.dpl & 3, db: s.db ? 1 : 0, s: s.s ? 1 : 0, l: s.l ? 1 : 0,
    g: s.g ? 1 : 0, avl: s.avl ? 1 : 0, unusable: s.unusable ? 1 : 0,
  };
}

export function segmentFromKvm(k: KvmSegment): SegmentState {
  return {
    selector: k.selector, base: k.base, limit: k.limit, type: k.type, present: k.present !== 0, dpl: k.dpl,
    db: k.db !== 0, s: k.s !== 0, l: k.l !== 0, g: k.g !== 0, avl: k.avl !== 0, unusable: k.unusable !== 0,
  };
}

export function regsToKvm(r: GeneralRegisters): KvmRegs {
  if (r.gpr.length !== 16) throw new RangeError(`VcpuState.regs.gpr must have 16 entries, has ${r.gpr.length}`);
  return { gpr: [...r.gpr], rip: r.rip, rflags: r.rflags };
}

export function regsFromKvm(k: KvmRegs): GeneralRegisters {
  return { gpr: [...k.gpr], rip: k.rip, rflags: k.rflags };
}

/**
 * VcpuState.sregs -> kvm_sregs. `current` supplies what VcpuState does not
 * carry (the pending-interrupt bitmap) and the APIC base when the state says
 * 0 (a boot state that leaves the LAPIC as KVM created it: enabled at
 * 0xfee00000, BSP flag on vCPU 0).
 */
export function sregsToKvm(s: SystemRegisters, current?: KvmSregs): KvmSregs {
  return {
    cs: segmentToKvm(s.cs), ds: segmentToKvm(s.ds), es: segmentToKvm(s.es), fs: segmentToKvm(s.fs),
    gs: segmentToKvm(s.gs), ss: segmentToKvm(s.ss), tr: segmentToKvm(s.tr), ldt: segmentToKvm(s.ldt),
    gdt: { base: s.gdt.base, limit: s.gdt.limit & 0xffff },
    idt: { base: s.idt.base, limit: s.idt.limit & 0xffff },
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4, cr8: s.cr8, efer: s.efer,
    apic_base: s.apicBase !== 0n ? s.apicBase : (current?.apic_base ?? 0n),
    interrupt_bitmap: current ? [...current.interrupt_bitmap] : [0n, 0n, 0n, 0n],
  };
}

export function sregsFromKvm(k: KvmSregs): SystemRegisters {
  return {
    cs: segmentFromKvm(k.cs), ds: segmentFromKvm(k.ds), es: segmentFromKvm(k.es), fs: segmentFromKvm(k.fs),
    gs: segmentFromKvm(k.gs), ss: segmentFromKvm(k.ss), tr: segmentFromKvm(k.tr), ldt: segmentFromKvm(k.ldt),
    gdt: { base: k.gdt.base, limit: k.gdt.limit }, idt: { base: k.idt.base, limit: k.idt.limit },
    cr0: k.cr0, cr2: k.cr2, cr3: k.cr3, cr4: k.cr4, cr8: k.cr8, efer: k.efer, apicBase: k.apic_base,
  };
}

export const MSR_IA32_APICBASE_BSP = 1n << 8n;
export const MSR_IA32_APICBASE_ENABLE = 1n << 11n;
export const APIC_DEFAULT_PHYS_BASE = 0xfee00000n;

/** MSRs saved by getState and cleared by reset (Intel SDM Vol. 4; Documentation/virt/kvm/x86/msr.rst). */
export const MSR = {
  IA32_TSC: 0x10,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  IA32_MISC_ENABLE: 0x1a0,
  IA32_PAT: 0x277,
  IA32_TSC_DEADLINE: 0x6e0,
  STAR: 0xc0000081,
  LSTAR: 0xc0000082,
  CSTAR: 0xc0000083,
  SFMASK: 0xc0000084,
  KERNEL_GS_BASE: 0xc0000102,
  KVM_WALL_CLOCK_NEW: 0x4b564d00,
  KVM_SYSTEM_TIME_NEW: 0x4b564d01,
  KVM_SYSTEM_TIME: 0x12,
} as const;

/**
 * MSRs getState reports. Not IA32_TSC: a getState/setState round trip (a
 * debugger writing registers) would set the TSC back by the time spent
 * stopped, and the guest's clocks with it.
 */
export const SAVED_MSRS: readonly number[] = [
  MSR.IA32_SYSENTER_CS, MSR.IA32_SYSENTER_ESP, MSR.IA32_SYSENTER_EIP, MSR.IA32_PAT, MSR.IA32_TSC_DEADLINE,
  MSR.STAR, MSR.LSTAR, MSR.CSTAR, MSR.SFMASK, MSR.KERNEL_GS_BASE, MSR.KVM_SYSTEM_TIME_NEW,
];

/** MSR values at reset (kvmclock off, no deadline armed, PAT power-on value). */
export const RESET_MSRS: ReadonlyArray<{ index: number; data: bigint }> = [
  { index: MSR.IA32_SYSENTER_CS, data: 0n }, { index: MSR.IA32_SYSENTER_ESP, data: 0n },
  { index: MSR.IA32_SYSENTER_EIP, data: 0n }, { index: MSR.IA32_PAT, data: 0x0007040600070406n },
  { index: MSR.IA32_TSC_DEADLINE, data: 0n }, { index: MSR.STAR, data: 0n }, { index: MSR.LSTAR, data: 0n },
  { index: MSR.CSTAR, data: 0n }, { index: MSR.SFMASK, data: 0n }, { index: MSR.KERNEL_GS_BASE, data: 0n },
  { index: MSR.KVM_SYSTEM_TIME_NEW, data: 0n }, { index: MSR.KVM_SYSTEM_TIME, data: 0n },
];

function resetSegment(selector: number, base: bigint, type: number, s = true): SegmentState {
  return { selector, base, limit: 0xffff, type, present: true, dpl: 0, db: false, s, l: false, g: false, avl: false, unusable: false };
}

/**
 * Power-on / INIT state (SDM Table 10-1): real mode, CS.selector 0xf000 with
 * base 0xffff0000, IP 0xfff0, EFLAGS 2, CR0 0x60000010, EDX = 0x600 (family
 * signature, simplified), LAPIC at 0xfee00000 enabled, BSP flag on vCPU 0.
 */
export function powerOnState(cpu: number): VcpuState {
  const gpr = new Array<bigint>(16).fill(0n);
  gpr[2] = 0x600n;
  const data = (): SegmentState => resetSegment(0, 0n, 3);
  return {
    regs: { gpr, rip: 0xfff0n, rflags: 2n },
    sregs: {
      cs: resetSegment(0xf000, 0xffff0000n, 0xb), ds: data(), es: data(), fs: data(), gs: data(), ss: data(),
      tr: resetSegment(0, 0n, 0xb, false), ldt: resetSegment(0, 0n, 2, false),
      gdt: { base: 0n, limit: 0xffff }, idt: { base: 0n, limit: 0xffff },
      cr0: 0x60000010n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n,
      apicBase: APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE | (cpu === 0 ? MSR_IA32_APICBASE_BSP : 0n),
    },
  };
}

// Local APIC register offsets (SDM Vol. 3A Table 11-1), as laid out in kvm_lapic_state.regs.
export const APIC = {
  ID: 0x20, LVR: 0x30, TPR: 0x80, LDR: 0xd0, DFR: 0xe0, SVR: 0xf0, ISR: 0x100, TMR: 0x180, IRR: 0x200,
  ESR: 0x280, LVT_CMCI: 0x2f0, ICR_LO: 0x300, ICR_HI: 0x310, LVT_TIMER: 0x320, LVT_THERMAL: 0x330,
  LVT_PERF: 0x340, LVT_LINT0: 0x350, LVT_LINT1: 0x360, LVT_ERROR: 0x370, TMICT: 0x380, TMCCT: 0x390, TDCR: 0x3e0,
} as const;
const APIC_LVT_MASKED = 1 << 16;

/**
 * The local APIC register page after reset (SDM 11.4.7.1): IRR/ISR/TMR, ICR,
 * LDR, TPR, timer counts and divide clear; DFR all ones; LVTs masked; SVR
 * 0xff (software disabled). The version register is kept from `current`.
 */
export function resetLapicRegs(current: Uint8Array, apicId: number): Uint8Array {
  const out = new Uint8Array(1024);
  const dv = new DataView(out.buffer);
  const cur = new DataView(current.buffer, current.byteOffset, current.byteLength);
  dv.setUint32(APIC.ID, (apicId & 0xff) << 24, true);
  dv.setUint32(APIC.LVR, cur.getUint32(APIC.LVR, true), true);
  dv.setUint32(APIC.DFR, 0xffffffff, true);
  dv.setUint32(APIC.SVR, 0xff, true);
  for (const r of [APIC.LVT_CMCI, APIC.LVT_TIMER, APIC.LVT_THERMAL, APIC.LVT_PERF, APIC.LVT_LINT0, APIC.LVT_LINT1, APIC.LVT_ERROR]) {
    dv.setUint32(r, APIC_LVT_MASKED, true);
  }
  return out;
}
