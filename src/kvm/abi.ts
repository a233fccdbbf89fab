/**
 * The /dev/kvm ABI for x86-64: ioctl numbers, capability and exit codes, and
 * the byte layouts of the structures we pass (include/uapi/linux/kvm.h,
 * arch/x86/include/uapi/asm/kvm.h; Documentation/virt/kvm/api.rst).
 *
 * Pure data and codecs: nothing here touches a file descriptor, so every
 * layout is unit-tested (tests/unit/kvm/abi.test.ts compares the numbers with
 * the ones the addon compiled from the kernel headers).
 */
import type { FpuState } from '../accel/types.js';

// ---- ioctl numbers (include/uapi/asm-generic/ioctl.h) ----
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;
const KVMIO = 0xae;

function ioc(dir: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;
}
const io = (nr: number): number => ioc(IOC_NONE, nr, 0);
const ior = (nr: number, size: number): number => ioc(IOC_READ, nr, size);
const iow = (nr: number, size: number): number => ioc(IOC_WRITE, nr, size);
const iowr = (nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, nr, size);

export const SIZEOF = {
  kvm_regs: 144,
  kvm_segment: 24,
  kvm_dtable: 16,
  kvm_sregs: 312,
  kvm_fpu: 416,
  kvm_cpuid2: 8,
  kvm_cpuid_entry2: 40,
  kvm_msrs: 8,
  kvm_msr_entry: 16,
  kvm_msr_list: 4,
  kvm_userspace_memory_region: 32,
  kvm_enable_cap: 104,
  kvm_irq_routing: 8,
  kvm_irq_routing_entry: 48,
  kvm_msi: 32,
  kvm_irq_level: 8,
  kvm_mp_state: 4,
  kvm_guest_debug: 72,
  kvm_lapic_state: 1024,
  kvm_translation: 24,
  kvm_vcpu_events: 64,
  /** struct kvm_clock_data: u64 clock; u32 flags; u32 pad0; u64 realtime; u64 host_tsc; u32 pad[4]. */
  kvm_clock_data: 48,
  /** struct kvm_xsave: u32 region[1024] (the XSAVE area, uncompacted). */
  kvm_xsave: 4096,
  /** struct kvm_xcrs: u32 nr_xcrs; u32 flags; struct kvm_xcr xcrs[16] (16 bytes each); u64 padding[16]. */
  kvm_xcrs: 392,
  kvm_run: 2352,
} as const;

export const KVM = {
  GET_API_VERSION: io(0x00),
  CREATE_VM: io(0x01),
  GET_MSR_INDEX_LIST: iowr(0x02, SIZEOF.kvm_msr_list),
  CHECK_EXTENSION: io(0x03),
  GET_VCPU_MMAP_SIZE: io(0x04),
  GET_SUPPORTED_CPUID: iowr(0x05, SIZEOF.kvm_cpuid2),
  CREATE_VCPU: io(0x41),
  SET_USER_MEMORY_REGION: iow(0x46, SIZEOF.kvm_userspace_memory_region),
  SET_TSS_ADDR: io(0x47),
  SET_IDENTITY_MAP_ADDR: iow(0x48, 8),
  IRQ_LINE: iow(0x61, SIZEOF.kvm_irq_level),
  SET_GSI_ROUTING: iow(0x6a, SIZEOF.kvm_irq_routing),
  RUN: io(0x80),
  GET_REGS: ior(0x81, SIZEOF.kvm_regs),
  SET_REGS: iow(0x82, SIZEOF.kvm_regs),
  GET_SREGS: ior(0x83, SIZEOF.kvm_sregs),
  SET_SREGS: iow(0x84, SIZEOF.kvm_sregs),
  TRANSLATE: iowr(0x85, SIZEOF.kvm_translation),
  GET_MSRS: iowr(0x88, SIZEOF.kvm_msrs),
  SET_MSRS: iow(0x89, SIZEOF.kvm_msrs),
  GET_FPU: ior(0x8c, SIZEOF.kvm_fpu),
  SET_FPU: iow(0x8d, SIZEOF.kvm_fpu),
  GET_LAPIC: ior(0x8e, SIZEOF.kvm_lapic_state),
  SET_LAPIC: iow(0x8f, SIZEOF.kvm_lapic_state),
  SET_CPUID2: iow(0x90, SIZEOF.kvm_cpuid2),
  GET_CPUID2: iowr(0x91, SIZEOF.kvm_cpuid2),
  GET_MP_STATE: ior(0x98, SIZEOF.kvm_mp_state),
  SET_MP_STATE: iow(0x99, SIZEOF.kvm_mp_state),
  SET_GUEST_DEBUG: iow(0x9b, SIZEOF.kvm_guest_debug),
  GET_VCPU_EVENTS: ior(0x9f, SIZEOF.kvm_vcpu_events),
  SET_VCPU_EVENTS: iow(0xa0, SIZEOF.kvm_vcpu_events),
  SET_TSC_KHZ: io(0xa2),
  GET_TSC_KHZ: io(0xa3),
  ENABLE_CAP: iow(0xa3, SIZEOF.kvm_enable_cap),
  SIGNAL_MSI: iow(0xa5, SIZEOF.kvm_msi),
  KVMCLOCK_CTRL: io(0xad),
  /** api.rst 4.54/4.55: the VM's kvmclock (snapshots keep guest time monotonic across a restore). */
  SET_CLOCK: iow(0x7b, SIZEOF.kvm_clock_data),
  GET_CLOCK: ior(0x7c, SIZEOF.kvm_clock_data),
  /** api.rst 4.42-4.45: the full XSAVE state (AVX and beyond) and XCR0, for snapshots. */
  GET_XSAVE: ior(0xa4, SIZEOF.kvm_xsave),
  SET_XSAVE: iow(0xa5, SIZEOF.kvm_xsave),
  GET_XCRS: ior(0xa6, SIZEOF.kvm_xcrs),
  SET_XCRS: iow(0xa7, SIZEOF.kvm_xcrs),
} as const;

/** KVM_GET_API_VERSION must return this (api.rst 4.1). */
export const KVM_API_VERSION = 12;

export const KVM_CAP = {
  USER_MEMORY: 3,
  EXT_CPUID: 7,
  NR_VCPUS: 9,
  MP_STATE: 14,
  SET_GUEST_DEBUG: 23,
  IRQ_ROUTING: 25,
  ADJUST_CLOCK: 39,
  GET_TSC_KHZ: 61,
  MAX_VCPUS: 66,
  TSC_DEADLINE_TIMER: 72,
  KVMCLOCK_CTRL: 76,
  SIGNAL_MSI: 77,
  SPLIT_IRQCHIP: 121,
  X2APIC_API: 129,
  IMMEDIATE_EXIT: 136,
} as const;

export const KVM_EXIT = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
  IOAPIC_EOI: 26,
} as const;

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

/** kvm_run.system_event.type */
export const KVM_SYSTEM_EVENT = { SHUTDOWN: 1, RESET: 2, CRASH: 3 } as const;

/** kvm_run.internal.suberror */
export const KVM_INTERNAL_ERROR = { EMULATION: 1, SIMUL_EX: 2, DELIVERY_EV: 3, UNEXPECTED_EXIT_REASON: 4 } as const;

export const KVM_MP_STATE = { RUNNABLE: 0, UNINITIALIZED: 1, INIT_RECEIVED: 2, HALTED: 3, SIPI_RECEIVED: 4 } as const;

export const KVM_GUESTDBG = { ENABLE: 0x1, SINGLESTEP: 0x2, USE_SW_BP: 0x10000, USE_HW_BP: 0x20000 } as const;

export const KVM_IRQ_ROUTING_MSI = 2;
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

// ---- kvm_run (include/uapi/linux/kvm.h, struct kvm_run) ----
export const RUN = {
  immediate_exit: 1,
  exit_reason: 8,
  /** The exit union starts here. */
  u: 32,
  // io
  io_direction: 32, io_size: 33, io_port: 34, io_count: 36, io_data_offset: 40,
  // mmio
  mmio_phys_addr: 32, mmio_data: 40, mmio_len: 48, mmio_is_write: 52,
  // debug (kvm_debug_exit_arch)
  debug_exception: 32, debug_pc: 40, debug_dr6: 48, debug_dr7: 56,
  // fail_entry
  fail_entry_reason: 32, fail_entry_cpu: 40,
  // internal
  internal_suberror: 32, internal_ndata: 36, internal_data: 40,
  // system_event
  system_event_type: 32, system_event_ndata: 36, system_event_data: 40,
  // eoi
  eoi_vector: 32,
} as const;

/** An exit decoded from kvm_run, as the accelerator handles it. */
export type KvmExit =
  | { kind: 'io'; port: number; size: 1 | 2 | 4; write: boolean; count: number; dataOffset: number }
  | { kind: 'mmio'; gpa: bigint; len: number; write: boolean }
  | { kind: 'hlt' }
  | { kind: 'shutdown' }
  | { kind: 'debug'; exception: number; pc: bigint; dr6: bigint; dr7: bigint }
  | { kind: 'fail-entry'; reason: bigint; cpu: number }
  | { kind: 'internal-error'; suberror: number; data: bigint[] }
  | { kind: 'system-event'; type: number; data: bigint[] }
  | { kind: 'ioapic-eoi'; vector: number }
  | { kind: 'intr' }
  | { kind: 'unknown'; reason: number };

/**
 * Decode kvm_run's exit. Values come from the kernel, but sizes and counts are
 * still checked so that a bad value cannot make us read outside the mapping.
 */
export function decodeExit(run: DataView): KvmExit {
  const reason = run.getUint32(RUN.exit_reason, true);
  switch (reason) {
    case KVM_EXIT.IO: {
      const size = run.getUint8(RUN.io_size);
      const count = run.getUint32(RUN.io_count, true);
      const dataOffset = Number(run.getBigUint64(RUN.io_data_offset, true));
      if ((size !== 1 && size !== 2 && size !== 4) || count === 0 || dataOffset + size * count > run.byteLength) {
        return { kind: 'unknown', reason };
      }
      return {
        kind: 'io', port: run.getUint16(RUN.io_port, true), size,
        write: run.getUint8(RUN.io_direction) === KVM_EXIT_IO_OUT, count, dataOffset,
      };
    }
    case KVM_EXIT.MMIO: {
      const len = run.getUint32(RUN.mmio_len, true);
      if (len < 1 || len > 8) return { kind: 'unknown', reason };
      return { kind: 'mmio', gpa: run.getBigUint64(RUN.mmio_phys_addr, true), len, write: run.getUint8(RUN.mmio_is_write) !== 0 };
    }
    case KVM_EXIT.HLT: return { kind: 'hlt' };
    case KVM_EXIT.SHUTDOWN: return { kind: 'shutdown' };
    case KVM_EXIT.DEBUG:
      return {
        kind: 'debug', exception: run.getUint32(RUN.debug_exception, true), pc: run.getBigUint64(RUN.debug_pc, true),
        dr6: run.getBigUint64(RUN.debug_dr6, true), dr7: run.getBigUint64(RUN.debug_dr7, true),
      };
    case KVM_EXIT.FAIL_ENTRY:
      return { kind: 'fail-entry', reason: run.getBigUint64(RUN.fail_entry_reason, true), cpu: run.getUint32(RUN.fail_entry_cpu, true) };
    case KVM_EXIT.INTERNAL_ERROR: {
      const n = Math.min(run.getUint32(RUN.internal_ndata, true), 16);
      const data: bigint[] = [];
      for (let i = 0; i < n; i++) data.push(run.getBigUint64(RUN.internal_data + 8 * i, true));
      return { kind: 'internal-error', suberror: run.getUint32(RUN.internal_suberror, true), data };
    }
    case KVM_EXIT.SYSTEM_EVENT: {
      const n = Math.min(run.getUint32(RUN.system_event_ndata, true), 16);
      const data: bigint[] = [];
      for (let i = 0; i < n; i++) data.push(run.getBigUint64(RUN.system_event_data + 8 * i, true));
      return { kind: 'system-event', type: run.getUint32(RUN.system_event_type, true), data };
    }
    case KVM_EXIT.IOAPIC_EOI: return { kind: 'ioapic-eoi', vector: run.getUint8(RUN.eoi_vector) };
    case KVM_EXIT.INTR: return { kind: 'intr' };
    default: return { kind: 'unknown', reason };
  }
}

// ---- kvm_regs: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags ----
/** kvm_regs slot of each GPR in encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15). */
const REGS_SLOT_OF_GPR = [0, 2, 3, 1, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15] as const;

export interface KvmRegs { gpr: bigint[]; rip: bigint; rflags: bigint }

export function encodeRegs(r: KvmRegs): Uint8Array {
  if (r.gpr.length !== 16) throw new RangeError('need 16 general registers');
  const b = new Uint8Array(SIZEOF.kvm_regs);
  const dv = new DataView(b.buffer);
  r.gpr.forEach((v, i) => dv.setBigUint64(REGS_SLOT_OF_GPR[i]! * 8, BigInt.asUintN(64, v), true));
  dv.setBigUint64(16 * 8, BigInt.asUintN(64, r.rip), true);
  dv.setBigUint64(17 * 8, BigInt.asUintN(64, r.rflags), true);
  return b;
}

export function decodeRegs(b: Uint8Array): KvmRegs {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const gpr = REGS_SLOT_OF_GPR.map((slot) => dv.getBigUint64(slot * 8, true));
  return { gpr, rip: dv.getBigUint64(128, true), rflags: dv.getBigUint64(136, true) };
}

// ---- kvm_sregs ----
export interface KvmSegment {
  base: bigint; limit: number; selector: number; type: number;
  present: number; dpl: number; db: number; s: number; l: number; g: number; avl: number; unusable: number;
}
export interface KvmDtable { base: bigint; limit: number }
export interface KvmSregs {
  cs: KvmSegment; ds: KvmSegment; es: KvmSegment; fs: KvmSegment; gs: KvmSegment; ss: KvmSegment;
  tr: KvmSegment; ldt: KvmSegment; gdt: KvmDtable; idt: KvmDtable;
  cr0: bigint; cr2: bigint; cr3: bigint; cr4: bigint; cr8: bigint; efer: bigint; apic_base: bigint;
  /** Pending external interrupt bitmap (256 bits); kept as read so a set/get round trip is exact. */
  interrupt_bitmap: bigint[];
}

export const SREGS_SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;

function writeSegment(dv: DataView, o: number, s: KvmSegment): void {
  dv.setBigUint64(o, BigInt.asUintN(64, s.base), true);
  dv.setUint32(o + 8, s.limit >>> 0, true);
  dv.setUint16(o + 12, s.selector & 0xffff, true);
  dv.setUint8(o + 14, s.type & 0xf);
  dv.setUint8(o + 15, s.present & 1);
  dv.setUint8(o + 16, s.dpl & 3);
  dv.setUint8(o + 17, s.db & 1);
  dv.setUint8(o + 18, s.s & 1);
  dv.setUint8(o + 19, s.l & 1);
  dv.setUint8(o + 20, s.g & 1);
  dv.setUint8(o + 21, s.avl & 1);
  dv.setUint8(o + 22, s.unusable & 1);
}

function readSegment(dv: DataView, o: number): KvmSegment {
  return {
    base: dv.getBigUint64(o, true), limit: dv.getUint32(o + 8, true), selector: dv.getUint16(o + 12, true),
    type: dv.getUint8(o + 14), present: dv.getUint8(o + 15), dpl: dv.getUint8(o + 16), db: dv.getUint8(o + 17),
    s: dv.getUint8(o + 18), l: dv.getUint8(o + 19), g: dv.getUint8(o + 20), avl: dv.getUint8(o + 21),
    unusable: dv.getUint8(o + 22),
  };
}

export function encodeSregs(s: KvmSregs): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_sregs);
  const dv = new DataView(b.buffer);
  SREGS_SEGMENTS.forEach((name, i) => writeSegment(dv, i * SIZEOF.kvm_segment, s[name]));
  dv.setBigUint64(192, BigInt.asUintN(64, s.gdt.base), true);
  dv.setUint16(200, s.gdt.limit & 0xffff, true);
  dv.setBigUint64(208, BigInt.asUintN(64, s.idt.base), true);
  dv.setUint16(216, s.idt.limit & 0xffff, true);
  const crs = [s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apic_base];
  crs.forEach((v, i) => dv.setBigUint64(224 + 8 * i, BigInt.asUintN(64, v), true));
  for (let i = 0; i < 4; i++) dv.setBigUint64(280 + 8 * i, BigInt.asUintN(64, s.interrupt_bitmap[i] ?? 0n), true);
  return b;
}

export function decodeSregs(b: Uint8Array): KvmSregs {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const seg = (i: number): KvmSegment => readSegment(dv, i * SIZEOF.kvm_segment);
  const q = (o: number): bigint => dv.getBigUint64(o, true);
  return {
    cs: seg(0), ds: seg(1), es: seg(2), fs: seg(3), gs: seg(4), ss: seg(5), tr: seg(6), ldt: seg(7),
    gdt: { base: q(192), limit: dv.getUint16(200, true) },
    idt: { base: q(208), limit: dv.getUint16(216, true) },
    cr0: q(224), cr2: q(232), cr3: q(240), cr4: q(248), cr8: q(256), efer: q(264), apic_base: q(272),
    interrupt_bitmap: [q(280), q(288), q(296), q(304)],
  };
}

// ---- kvm_fpu: the x87/SSE reset state the PVH entry expects ----
/**
 * kvm_fpu at power-on as QEMU and Firecracker set it for a direct kernel
 * boot: FCW 0x37f (all x87 exceptions masked, 64-bit precision), MXCSR 0x1f80
 * (all SSE exceptions masked). Intel SDM Vol. 1 8.1.5, 10.2.3.1.
 */
export function encodeResetFpu(): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_fpu);
  const dv = new DataView(b.buffer);
  dv.setUint16(128, 0x37f, true); // fcw
  dv.setUint32(408, 0x1f80, true); // mxcsr
  return b;
}

/**
 * kvm_fpu <-> FpuState (arch/x86/include/uapi/asm/kvm.h): fpr[8][16] (the
 * 80-bit registers in the low 10 bytes), fcw, fsw, ftwx, pad, last_opcode,
 * last_ip, last_dp, xmm[16][16], mxcsr, pad.
 */
export function decodeFpu(b: Uint8Array): FpuState {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fpr = new Uint8Array(80);
  for (let i = 0; i < 8; i++) fpr.set(b.subarray(i * 16, i * 16 + 10), i * 10);
  return {
    fpr, fcw: dv.getUint16(128, true), fsw: dv.getUint16(130, true), ftwx: dv.getUint8(132),
    lastOpcode: dv.getUint16(134, true), lastIp: dv.getBigUint64(136, true), lastDp: dv.getBigUint64(144, true),
    xmm: b.slice(152, 408), mxcsr: dv.getUint32(408, true),
  };
}

export function encodeFpu(s: FpuState): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_fpu);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < 8; i++) b.set(s.fpr.subarray(i * 10, i * 10 + 10), i * 16);
  dv.setUint16(128, s.fcw & 0xffff, true);
  dv.setUint16(130, s.fsw & 0xffff, true);
  dv.setUint8(132, s.ftwx & 0xff);
  dv.setUint16(134, s.lastOpcode & 0x7ff, true);
  dv.setBigUint64(136, BigInt.asUintN(64, s.lastIp), true);
  dv.setBigUint64(144, BigInt.asUintN(64, s.lastDp), true);
  b.set(s.xmm.subarray(0, 256), 152);
  dv.setUint32(408, s.mxcsr >>> 0, true);
  return b;
}

// ---- kvm_msrs ----
export function encodeMsrs(entries: ReadonlyArray<{ index: number; data: bigint }>): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_msrs + SIZEOF.kvm_msr_entry * entries.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, entries.length, true);
  entries.forEach((e, i) => {
    const o = SIZEOF.kvm_msrs + i * SIZEOF.kvm_msr_entry;
    dv.setUint32(o, e.index >>> 0, true);
    dv.setBigUint64(o + 8, BigInt.asUintN(64, e.data), true);
  });
  return b;
}

export function decodeMsrs(b: Uint8Array, count: number): Array<{ index: number; data: bigint }> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Array<{ index: number; data: bigint }> = [];
  const n = Math.min(count, dv.getUint32(0, true));
  for (let i = 0; i < n; i++) {
    const o = SIZEOF.kvm_msrs + i * SIZEOF.kvm_msr_entry;
    out.push({ index: dv.getUint32(o, true), data: dv.getBigUint64(o + 8, true) });
  }
  return out;
}

// ---- kvm_cpuid2 ----
export interface CpuidEntry2 {
  function: number; index: number; flags: number;
  eax: number; ebx: number; ecx: number; edx: number;
}

export function encodeCpuid2(entries: readonly CpuidEntry2[], capacity = entries.length): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_cpuid2 + SIZEOF.kvm_cpuid_entry2 * capacity);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, capacity, true);
  entries.forEach((e, i) => {
    const o = SIZEOF.kvm_cpuid2 + i * SIZEOF.kvm_cpuid_entry2;
    const w = [e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx];
    w.forEach((v, j) => dv.setUint32(o + 4 * j, v >>> 0, true));
  });
  return b;
}

export function decodeCpuid2(b: Uint8Array): CpuidEntry2[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = Math.min(dv.getUint32(0, true), Math.floor((b.byteLength - SIZEOF.kvm_cpuid2) / SIZEOF.kvm_cpuid_entry2));
  const out: CpuidEntry2[] = [];
  for (let i = 0; i < n; i++) {
    const o = SIZEOF.kvm_cpuid2 + i * SIZEOF.kvm_cpuid_entry2;
    const u = (j: number): number => dv.getUint32(o + 4 * j, true);
    out.push({ function: u(0), index: u(1), flags: u(2), eax: u(3), ebx: u(4), ecx: u(5), edx: u(6) });
  }
  return out;
}

// ---- small structures ----
export function encodeEnableCap(cap: number, args: readonly bigint[] = []): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_enable_cap);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, cap, true);
  args.slice(0, 4).forEach((a, i) => dv.setBigUint64(8 + 8 * i, a, true));
  return b;
}

export interface MsiAddressData { addressLo: number; addressHi: number; data: number }

export function encodeMsi(m: MsiAddressData): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_msi);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, m.addressLo >>> 0, true);
  dv.setUint32(4, m.addressHi >>> 0, true);
  dv.setUint32(8, m.data >>> 0, true);
  return b;
}

export function encodeMsiRouting(routes: ReadonlyArray<{ gsi: number } & MsiAddressData>): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_irq_routing + SIZEOF.kvm_irq_routing_entry * routes.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, routes.length, true);
  routes.forEach((r, i) => {
    const o = SIZEOF.kvm_irq_routing + i * SIZEOF.kvm_irq_routing_entry;
    dv.setUint32(o, r.gsi >>> 0, true);
    dv.setUint32(o + 4, KVM_IRQ_ROUTING_MSI, true);
    dv.setUint32(o + 16, r.addressLo >>> 0, true);
    dv.setUint32(o + 20, r.addressHi >>> 0, true);
    dv.setUint32(o + 24, r.data >>> 0, true);
  });
  return b;
}

export function encodeMpState(state: number): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_mp_state);
  new DataView(b.buffer).setUint32(0, state, true);
  return b;
}

/** kvm_guest_debug: control flags and DR0-3, DR7 (debugreg[7]). */
export function encodeGuestDebug(control: number, debugreg: readonly bigint[] = []): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_guest_debug);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, control >>> 0, true);
  for (let i = 0; i < 8; i++) dv.setBigUint64(8 + 8 * i, BigInt.asUintN(64, debugreg[i] ?? 0n), true);
  return b;
}

export function encodeTranslation(gva: bigint): Uint8Array {
  const b = new Uint8Array(SIZEOF.kvm_translation);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, gva), true);
  return b;
}

export function decodeTranslation(b: Uint8Array): { gpa: bigint; valid: boolean } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { gpa: dv.getBigUint64(8, true), valid: dv.getUint8(16) !== 0 };
}
