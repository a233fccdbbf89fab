/**
 * Multiboot v1 boot configuration: multiboot_info, the memory map, command
 * lines, the boot loader name and modules, laid out the way QEMU's -kernel
 * does it (hw/i386/multiboot.c load_multiboot) with the memory fields its
 * microvm firmware fills in (qboot fw_cfg.c boot_multiboot_from_fw_cfg):
 *
 *   0x9000            memory map (mmap_addr), {u32 size=20, u64 base, u64 len, u32 type}
 *   0x9500            multiboot_info (88 bytes)
 *   kernel_low + page_align(kernel size):
 *                     module list (16 bytes each), module command lines,
 *                     "<kernel name> <cmdline>", "qemu"
 *   then each module, page aligned.
 *
 * multiboot_info (Multiboot Specification 0.6.96 §3.3):
 *   0 flags  4 mem_lower  8 mem_upper  12 boot_device  16 cmdline
 *   20 mods_count  24 mods_addr  28..43 syms  44 mmap_length  48 mmap_addr
 *   52 drives_length  56 drives_addr  60 config_table  64 boot_loader_name ...
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { ramRanges } from '../memory/layout.js';
import { LoaderError, hex } from './errors.js';
import { StructWriter, alignUp } from './bytes.js';
import { BootPlan } from './plan.js';
import { microvmE820, type E820Entry } from './e820.js';
import { claimKernel, type KernelLoadResult } from './kernel.js';
import { planBootGdt } from './entry-state.js';
import { encodeCmdline } from './pvh.js';
import { MULTIBOOT_INFO_GPA, MULTIBOOT_MMAP_GPA, MULTIBOOT_MMAP_MAX, MiB } from './boot-layout.js';

export const MBI_FLAGS = 0;
export const MBI_MEM_LOWER = 4;
export const MBI_MEM_UPPER = 8;
export const MBI_BOOT_DEVICE = 12;
export const MBI_CMDLINE = 16;
export const MBI_MODS_COUNT = 20;
export const MBI_MODS_ADDR = 24;
export const MBI_MMAP_LENGTH = 44;
export const MBI_MMAP_ADDR = 48;
export const MBI_BOOT_LOADER_NAME = 64;
export const MBI_SIZE = 88;
export const MB_MOD_SIZE = 16;
export const MB_MMAP_ENTRY_SIZE = 24;

export const MULTIBOOT_INFO_MEMORY = 1 << 0;
export const MULTIBOOT_INFO_BOOTDEV = 1 << 1;
export const MULTIBOOT_INFO_CMDLINE = 1 << 2;
export const MULTIBOOT_INFO_MODS = 1 << 3;
export const MULTIBOOT_INFO_MEM_MAP = 1 << 6;
export const MULTIBOOT_INFO_BOOT_LOADER_NAME = 1 << 9;

const PAGE = 4096;
const BOOT_LOADER_NAME = 'qemu'; // what QEMU reports; guests that print it expect this
const CMDLINE_MAX = 1 << 20;

export interface MultibootModule {
  readonly data: Uint8Array;
  /** The module's command line (QEMU passes "<file name> <args>"). */
  readonly cmdline?: string;
}

export interface MultibootOptions {
  /** The multiboot kernel as loaded by loadKernel. */
  readonly kernel: KernelLoadResult;
  /** -append. The kernel sees "<kernelName> <cmdline>", as under QEMU. */
  readonly cmdline?: string;
  /** The -kernel argument as given (QEMU puts the file name first on the command line). Default "kernel". */
  readonly kernelName?: string;
  /** -initrd modules, in order. */
  readonly modules?: readonly MultibootModule[];
  readonly ramSize?: number;
}

export interface MultibootConfigResult {
  readonly mbiGpa: number;
  readonly mmap: readonly E820Entry[];
  readonly cmdlineGpa: number;
  readonly modules: ReadonlyArray<{ readonly gpa: number; readonly size: number; readonly cmdlineGpa: number }>;
}

export function planMultibootInfo(plan: BootPlan, opts: MultibootOptions): MultibootConfigResult {
  const k = opts.kernel;
  if (k.protocol !== 'multiboot') {
    throw new LoaderError('WRONG_PROTOCOL', 'configureMultiboot needs a multiboot kernel; this one boots through PVH');
  }
  const ramSize = opts.ramSize ?? plan.mem.ramSize;
  const lowmem = ramRanges(ramSize)[0]!.size;
  const mmap = microvmE820(ramSize);
  const modules = opts.modules ?? [];

  const kernelCmdline = encodeCmdline(`${opts.kernelName ?? 'kernel'} ${opts.cmdline ?? ''}`, CMDLINE_MAX);
  const modCmdlines = modules.map((m, i) => encodeCmdline(m.cmdline ?? '', CMDLINE_MAX, `multiboot module ${i} command line`));
  const loaderName = encodeCmdline(BOOT_LOADER_NAME, 64);

  // QEMU: mb_buf_phys = load address; mb-info structures start after the page-aligned kernel.
  const base = k.low;
  const infoOffset = alignUp(k.high - k.low, PAGE);
  const cmdlinesOffset = infoOffset + modules.length * MB_MOD_SIZE;
  const cmdlineLen = modCmdlines.reduce((n, c) => n + c.length, 0) + kernelCmdline.length;
  const loaderOffset = cmdlinesOffset + cmdlineLen;
  const infoEnd = loaderOffset + loaderName.length;
  let bufSize = alignUp(infoEnd, PAGE);

  const fits32 = (gpa: number, size: number, what: string): void => {
    if (gpa + size > 0x100000000) {
      throw new LoaderError('INITRD_TOO_LARGE', `${what} at ${hex(gpa)}+${hex(size)} would end above 4 GiB; multiboot addresses are 32-bit`);
    }
  };

  planBootGdt(plan);
  plan.claim('boot-data', 'multiboot memory map', MULTIBOOT_MMAP_GPA, mmap.length * MB_MMAP_ENTRY_SIZE);
  if (mmap.length * MB_MMAP_ENTRY_SIZE > MULTIBOOT_MMAP_MAX) throw new Error('multiboot mmap area too small');
  plan.claim('boot-data', 'multiboot_info', MULTIBOOT_INFO_GPA, MBI_SIZE);
  fits32(base + infoOffset, infoEnd - infoOffset, 'multiboot module list and command lines');
  plan.claim('boot-data', 'multiboot module list and command lines', base + infoOffset, infoEnd - infoOffset);

  const area = new StructWriter(infoEnd - infoOffset);
  let cmdPos = cmdlinesOffset;
  const placed: Array<{ gpa: number; size: number; cmdlineGpa: number }> = [];
  modules.forEach((m, i) => {
    const gpa = base + bufSize;
    fits32(gpa, m.data.length, `multiboot module ${i}`);
    plan.claim('module', `multiboot module ${i}`, gpa, m.data.length);
    plan.write(gpa, m.data);
    const c = modCmdlines[i]!;
    area.set(cmdPos - infoOffset, c);
    const entry = { gpa, size: m.data.length, cmdlineGpa: base + cmdPos };
    placed.push(entry);
    const o = i * MB_MOD_SIZE;
    area.u32(o, gpa).u32(o + 4, gpa + m.data.length).u32(o + 8, entry.cmdlineGpa).u32(o + 12, 0);
    cmdPos += c.length;
    bufSize = alignUp(bufSize + m.data.length, PAGE);
  });
  const cmdlineGpa = base + cmdPos;
  area.set(cmdPos - infoOffset, kernelCmdline);
  area.set(loaderOffset - infoOffset, loaderName);
  plan.write(base + infoOffset, area.bytes);

  const mm = new StructWriter(mmap.length * MB_MMAP_ENTRY_SIZE);
  mmap.forEach((e, i) => {
    const o = i * MB_MMAP_ENTRY_SIZE;
    mm.u32(o, 20).u64(o + 4, e.addr).u64(o + 12, e.size).u32(o + 20, e.type);
  });
  plan.write(MULTIBOOT_MMAP_GPA, mm.bytes);

  const mbi = new StructWriter(MBI_SIZE);
  mbi.u32(MBI_FLAGS, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV | MULTIBOOT_INFO_CMDLINE |
      MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME)
    .u32(MBI_MEM_LOWER, 639)
    .u32(MBI_MEM_UPPER, Math.floor((lowmem - MiB) / 1024))
    .u32(MBI_BOOT_DEVICE, 0x8000ffff)
    .u32(MBI_CMDLINE, cmdlineGpa)
    .u32(MBI_MODS_COUNT, modules.length)
    .u32(MBI_MODS_ADDR, base + infoOffset)
    .u32(MBI_MMAP_LENGTH, mmap.length * MB_MMAP_ENTRY_SIZE)
    .u32(MBI_MMAP_ADDR, MULTIBOOT_MMAP_GPA)
    .u32(MBI_BOOT_LOADER_NAME, base + loaderOffset);
  plan.write(MULTIBOOT_INFO_GPA, mbi.bytes);

  return { mbiGpa: MULTIBOOT_INFO_GPA, mmap, cmdlineGpa, modules: placed };
}

/** Write multiboot_info and friends for a loaded multiboot kernel; validates everything first. */
export function configureMultiboot(mem: GuestMemory, opts: MultibootOptions): MultibootConfigResult {
  const plan = new BootPlan(mem);
  claimKernel(plan, opts.kernel);
  const result = planMultibootInfo(plan, opts);
  plan.commit();
  return result;
}
