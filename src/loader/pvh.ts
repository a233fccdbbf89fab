/**
 * PVH boot configuration (the "configure" half): hvm_start_info, its memory
 * map, module list and command line, and the initrd as module 0.
 *
 * Layout per xen/include/public/arch-x86/hvm/start_info.h:
 *   hvm_start_info (56 bytes, version 1)
 *     0 u32 magic = 0x336ec578     4 u32 version = 1
 *     8 u32 flags                 12 u32 nr_modules
 *    16 u64 modlist_paddr         24 u64 cmdline_paddr
 *    32 u64 rsdp_paddr            40 u64 memmap_paddr
 *    48 u32 memmap_entries        52 u32 reserved
 *   hvm_modlist_entry (32 bytes): u64 paddr, u64 size, u64 cmdline_paddr, u64 reserved
 *   hvm_memmap_table_entry (24 bytes): u64 addr, u64 size, u32 type, u32 reserved
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { ramRanges } from '../memory/layout.js';
import { LoaderError, hex } from './errors.js';
import { StructWriter, alignDown } from './bytes.js';
import { BootPlan } from './plan.js';
import { microvmE820, type E820Entry } from './e820.js';
import { claimKernel, type KernelLoadResult } from './kernel.js';
import { planBootGdt } from './entry-state.js';
import {
  PVH_START_INFO_GPA, PVH_MODLIST_GPA, PVH_MAX_MODULES, PVH_MEMMAP_GPA, PVH_MEMMAP_MAX_ENTRIES,
  PVH_CMDLINE_GPA, PVH_CMDLINE_MAX, MiB,
} from './boot-layout.js';

export const XEN_HVM_START_MAGIC_VALUE = 0x336ec578;
export const HVM_START_INFO_SIZE = 56;
export const HVM_MODLIST_ENTRY_SIZE = 32;
export const HVM_MEMMAP_ENTRY_SIZE = 24;

export interface PvhOptions {
  /** Kernel command line (-append). Written NUL-terminated even when empty, as QEMU does. */
  readonly cmdline?: string;
  /** -initrd contents: placed at the top of low RAM and passed as module 0. */
  readonly initrd?: Uint8Array;
  /** Guest RAM size; defaults to mem.ramSize. Determines the memory map. */
  readonly ramSize?: number;
  /** RSDP address when ACPI tables were built (buildAcpiTables), else 0. */
  readonly rsdpGpa?: number;
  /** The loaded kernel: boot structures and the initrd are checked against its segments. */
  readonly kernel?: KernelLoadResult;
}

export interface PvhConfigResult {
  readonly startInfoGpa: number;
  readonly cmdlineGpa: number;
  readonly memmapGpa: number;
  readonly memmap: readonly E820Entry[];
  readonly initrd?: { readonly gpa: number; readonly size: number };
}

/** Encode a command line as UTF-8 + NUL, refusing embedded NULs. */
export function encodeCmdline(cmdline: string, max: number, what = 'kernel command line'): Uint8Array {
  if (cmdline.includes('\0')) {
    throw new LoaderError('CMDLINE_INVALID', `${what} contains a NUL character`);
  }
  const utf8 = new TextEncoder().encode(cmdline);
  if (utf8.length + 1 > max) {
    throw new LoaderError('CMDLINE_TOO_LONG', `${what} is ${utf8.length} bytes; at most ${max - 1} fit`);
  }
  const out = new Uint8Array(utf8.length + 1);
  out.set(utf8);
  return out;
}

/**
 * Where QEMU puts an initrd (hw/i386/x86-common.c, PVH branch of
 * x86_load_linux): initrd_max = below_4g_mem_size - acpi_data_size - 1
 * (acpi_data_size is 0 on microvm); initrd_addr = (initrd_max - size) & ~4095.
 */
export function initrdAddress(ramSize: number, size: number): number {
  const low = ramRanges(ramSize)[0]!.size;
  const initrdMax = low - 1;
  if (size >= initrdMax) {
    throw new LoaderError('INITRD_TOO_LARGE',
      `initrd of ${size} bytes is too large for ${low} bytes of RAM below 4 GiB (QEMU: "initrd is too large, cannot support.")`);
  }
  const gpa = alignDown(initrdMax - size, 4096);
  if (gpa < MiB) {
    throw new LoaderError('INITRD_TOO_LARGE',
      `initrd of ${size} bytes does not fit between 1 MiB and the top of low RAM (${hex(low)}); it would start at ${hex(gpa)}`);
  }
  return gpa;
}

/** Queue hvm_start_info and everything it points to in `plan`. */
export function planPvh(plan: BootPlan, opts: PvhOptions): PvhConfigResult {
  const ramSize = opts.ramSize ?? plan.mem.ramSize;
  const memmap = microvmE820(ramSize);
  if (memmap.length > PVH_MEMMAP_MAX_ENTRIES) throw new Error('PVH memmap area too small'); // cannot happen: at most 6 entries
  const cmdline = encodeCmdline(opts.cmdline ?? '', PVH_CMDLINE_MAX);

  planBootGdt(plan);
  plan.claim('boot-data', 'hvm_start_info', PVH_START_INFO_GPA, HVM_START_INFO_SIZE);
  plan.claim('boot-data', 'PVH memory map', PVH_MEMMAP_GPA, memmap.length * HVM_MEMMAP_ENTRY_SIZE);
  plan.claim('boot-data', 'kernel command line', PVH_CMDLINE_GPA, cmdline.length);

  const modules: Array<{ gpa: number; size: number }> = [];
  let initrd: PvhConfigResult['initrd'];
  if (opts.initrd) {
    const size = opts.initrd.length;
    const gpa = initrdAddress(ramSize, size);
    plan.claim('initrd', 'initrd', gpa, size);
    plan.write(gpa, opts.initrd);
    initrd = { gpa, size };
    modules.push(initrd);
  }
  if (modules.length > PVH_MAX_MODULES) {
    throw new LoaderError('TOO_MANY_MODULES', `${modules.length} PVH modules; at most ${PVH_MAX_MODULES} are supported`);
  }

  if (modules.length > 0) {
    const ml = new StructWriter(modules.length * HVM_MODLIST_ENTRY_SIZE);
    modules.forEach((m, i) => {
      const o = i * HVM_MODLIST_ENTRY_SIZE;
      ml.u64(o, m.gpa).u64(o + 8, m.size).u64(o + 16, 0).u64(o + 24, 0);
    });
    plan.claim('boot-data', 'PVH module list', PVH_MODLIST_GPA, ml.bytes.length);
    plan.write(PVH_MODLIST_GPA, ml.bytes);
  }

  const mm = new StructWriter(memmap.length * HVM_MEMMAP_ENTRY_SIZE);
  memmap.forEach((e, i) => {
    const o = i * HVM_MEMMAP_ENTRY_SIZE;
    mm.u64(o, e.addr).u64(o + 8, e.size).u32(o + 16, e.type).u32(o + 20, 0);
  });
  plan.write(PVH_MEMMAP_GPA, mm.bytes);
  plan.write(PVH_CMDLINE_GPA, cmdline);

  const si = new StructWriter(HVM_START_INFO_SIZE);
  si.u32(0, XEN_HVM_START_MAGIC_VALUE)
    .u32(4, 1)
    .u32(8, 0)
    .u32(12, modules.length)
    .u64(16, modules.length > 0 ? PVH_MODLIST_GPA : 0)
    .u64(24, PVH_CMDLINE_GPA)
    .u64(32, opts.rsdpGpa ?? 0)
    .u64(40, PVH_MEMMAP_GPA)
    .u32(48, memmap.length)
    .u32(52, 0);
  plan.write(PVH_START_INFO_GPA, si.bytes);

  return {
    startInfoGpa: PVH_START_INFO_GPA, cmdlineGpa: PVH_CMDLINE_GPA, memmapGpa: PVH_MEMMAP_GPA, memmap,
    ...(initrd ? { initrd } : {}),
  };
}

/**
 * Write hvm_start_info, the memory map, the command line, the initrd (module
 * 0) and the boot GDT. Validates every placement (against RAM and, when
 * `opts.kernel` is given, against the kernel's segments) before writing.
 */
export function configurePvh(mem: GuestMemory, opts: PvhOptions = {}): PvhConfigResult {
  const plan = new BootPlan(mem);
  if (opts.kernel) claimKernel(plan, opts.kernel);
  const result = planPvh(plan, opts);
  plan.commit();
  return result;
}
