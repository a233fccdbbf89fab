/**
 * The vCPU state at a kernel's entry point, and the boot GDT it refers to.
 *
 * PVH (xen docs/misc/pvh.pandoc, "x86/HVM direct boot ABI"):
 *   CS: 32-bit read/execute code segment, base 0, limit 0xFFFFFFFF (selector unspecified)
 *   DS, ES, SS: 32-bit read/write data segment, base 0, limit 0xFFFFFFFF
 *   TR: a 32-bit TSS (active) with base 0 and limit 0x67
 *   CR0: PE set, PG clear; CR4: 0; EFLAGS: VM, IF, TF clear; EBX: hvm_start_info paddr
 * Multiboot v1 (spec 0.6.96 §3.2): same flat segments, EAX = 0x2BADB002,
 *   EBX = multiboot_info paddr, CR0.PE set and PG clear, EFLAGS.VM/IF clear.
 *
 * Choices where the specs say "unspecified" (documented so both accelerators
 * and tests agree):
 * - The segment registers hold selectors into a real GDT that we write at
 *   BOOT_GDT_GPA: 0x08 code, 0x10 data, 0x18 TSS, the layout Firecracker and
 *   qboot use. A guest that reloads a segment register before its own LGDT
 *   (or takes an IRET) therefore gets the same flat descriptors, and KVM's
 *   VM-entry checks (selector RPL, TR type 11, present bits) all hold.
 * - FS and GS are flat data like DS (the ABI only names DS/ES/SS).
 * - LDTR is unusable (selector 0), as the guest has no LDT.
 * - IDTR base 0, limit 0: the guest must LIDT before enabling interrupts;
 *   an exception before that escalates to a triple fault, as on QEMU.
 * - EFER = 0, CR3 = 0, CR0 = PE|ET (0x11: ET is hardwired to 1 on every CPU
 *   since the 486), EFLAGS = 0x2 (bit 1 is reserved-as-1).
 * - IA32_APIC_BASE = 0xfee00900: the reset value on the BSP (base 0xfee00000,
 *   bit 11 global enable, bit 8 BSP).
 * - All other GPRs (including ESP) are 0.
 */
import type { VcpuState, SegmentState } from '../accel/types.js';
import { StructWriter } from './bytes.js';
import { BOOT_GDT_GPA, BOOT_GDT_ENTRIES } from './boot-layout.js';
import type { BootPlan } from './plan.js';

export const BOOT_CS_SELECTOR = 0x08;
export const BOOT_DS_SELECTOR = 0x10;
export const BOOT_TR_SELECTOR = 0x18;

/** Intel SDM Vol. 3A §3.4.5 segment descriptor fields -> 8-byte descriptor. */
export function gdtEntry(flags: number, base: number, limit: number): bigint {
  const b = BigInt(base >>> 0);
  const l = BigInt(limit >>> 0);
  const f = BigInt(flags & 0xf0ff);
  return ((b & 0xff000000n) << 32n) | ((f & 0xf0ffn) << 40n) | ((l & 0xf0000n) << 32n) |
    ((b & 0x00ffffffn) << 16n) | (l & 0xffffn);
}

/** Descriptor flags: bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G. */
const CODE32_FLAGS = 0xc09b; // G, D, P, S, type 0xb (execute/read, accessed)
const DATA32_FLAGS = 0xc093; // G, B, P, S, type 0x3 (read/write, accessed)
const TSS32_FLAGS = 0x008b; //  P, type 0xb (32-bit TSS, busy)
const TSS_LIMIT = 0x67; // a 104-byte 32-bit TSS

/** The boot GDT: null, code (0x08), data (0x10), TSS (0x18). */
export function bootGdt(): bigint[] {
  return [
    0n,
    gdtEntry(CODE32_FLAGS, 0, 0xfffff),
    gdtEntry(DATA32_FLAGS, 0, 0xfffff),
    gdtEntry(TSS32_FLAGS, 0, TSS_LIMIT),
  ];
}

/** Queue the boot GDT at BOOT_GDT_GPA. */
export function planBootGdt(plan: BootPlan): void {
  const gdt = bootGdt();
  const w = new StructWriter(BOOT_GDT_ENTRIES * 8);
  gdt.forEach((d, i) => w.u64(i * 8, d));
  plan.claim('boot-data', 'boot GDT', BOOT_GDT_GPA, w.bytes.length);
  plan.write(BOOT_GDT_GPA, w.bytes);
}

function flatSegment(selector: number, type: number): SegmentState {
  return {
    selector, base: 0n, limit: 0xffffffff, type, present: true, dpl: 0,
    db: true, s: true, l: false, g: true, avl: false, unusable: false,
  };
}

/** Flat 32-bit protected mode, paging off: the common part of PVH and multiboot entry. */
export function protectedModeFlatState(entry: number): VcpuState {
  const data = (): SegmentState => flatSegment(BOOT_DS_SELECTOR, 0x3);
  return {
    regs: { gpr: new Array<bigint>(16).fill(0n), rip: BigInt(entry >>> 0), rflags: 0x2n },
    sregs: {
      cs: flatSegment(BOOT_CS_SELECTOR, 0xb),
      ds: data(), es: data(), fs: data(), gs: data(), ss: data(),
      tr: {
        selector: BOOT_TR_SELECTOR, base: 0n, limit: TSS_LIMIT, type: 0xb, present: true, dpl: 0,
        db: false, s: false, l: false, g: false, avl: false, unusable: false,
      },
      ldt: {
        selector: 0, base: 0n, limit: 0xffff, type: 0x2, present: false, dpl: 0,
        db: false, s: false, l: false, g: false, avl: false, unusable: true,
      },
      gdt: { base: BigInt(BOOT_GDT_GPA), limit: BOOT_GDT_ENTRIES * 8 - 1 },
      idt: { base: 0n, limit: 0 },
      cr0: 0x11n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n,
      apicBase: 0xfee00900n,
    },
  };
}

const RAX = 0;
const RBX = 3;

/** PVH entry: EBX = hvm_start_info, RIP = the XEN_ELFNOTE_PHYS32_ENTRY address. */
export function pvhEntryState(startInfoGpa: number, entry: number): VcpuState {
  const s = protectedModeFlatState(entry);
  s.regs.gpr[RBX] = BigInt(startInfoGpa >>> 0);
  return s;
}

/** Multiboot v1 §3.2: EAX = 0x2BADB002, EBX = multiboot_info. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
export function multibootEntryState(mbiGpa: number, entry: number): VcpuState {
  const s = protectedModeFlatState(entry);
  s.regs.gpr[RAX] = BigInt(MULTIBOOT_BOOTLOADER_MAGIC);
  s.regs.gpr[RBX] = BigInt(mbiGpa >>> 0);
  return s;
}
