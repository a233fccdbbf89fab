/**
 * Kernel image detection and loading (the "load" half; boot structures are
 * written by the configurators in pvh.ts and multiboot.ts).
 *
 * Detection follows QEMU's x86_load_linux (hw/i386/x86-common.c):
 *   1. "HdrS" at 0x202: a Linux bzImage (not supported yet: a clear error);
 *   2. a valid multiboot header in the first 8 KiB: multiboot (a.out kludge
 *      addresses when flag 16 is set, else the ELF program headers);
 *   3. an ELF with the Xen PVH note: PVH.
 * One deliberate difference: QEMU refuses an ELF64 multiboot image outright
 * ("Cannot load x86-64 image, give a 32bit one."); when such an image also
 * carries a PVH note we boot it through PVH instead.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { LoaderError, hex } from './errors.js';
import { BootPlan } from './plan.js';
import { isElf, parseElf, findPvhEntry, type ElfFile, type LoadSegment } from './elf.js';
import { findMultibootHeader, aoutLayout, MULTIBOOT_VIDEO_MODE, type MultibootHeader } from './multiboot-header.js';

export type BootProtocol = 'pvh' | 'multiboot';

export interface LoadedSegment {
  /** Guest physical address. */
  readonly gpa: number;
  /** Bytes copied from the file. */
  readonly fileSize: number;
  /** Bytes occupied in memory (fileSize + zeroed bss). */
  readonly memSize: number;
  readonly fileOffset: number;
}

export interface KernelLoadResult {
  readonly protocol: BootProtocol;
  readonly format: 'elf32' | 'elf64' | 'multiboot-aout';
  /** Physical entry address (PVH: the Xen note; multiboot: entry_addr or e_entry). */
  readonly entry: number;
  readonly segments: readonly LoadedSegment[];
  /** Lowest and one-past-highest guest physical address the kernel occupies. */
  readonly low: number;
  readonly high: number;
  /** Multiboot header facts the configurator needs. */
  readonly multiboot?: { readonly headerOffset: number; readonly flags: number };
  /** Things the user should know that do not stop the boot (e.g. ignored multiboot video request). */
  readonly warnings: readonly string[];
}

const LINUX_HDRS_MAGIC = 0x53726448; // "HdrS" at 0x202, Documentation/arch/x86/boot.rst

/**
 * Validate `image` and queue its segments in `plan` (checked against RAM and
 * each other). Nothing is written until the plan is committed.
 */
export function planKernel(plan: BootPlan, image: Uint8Array): KernelLoadResult {
  if (image.length >= 0x206) {
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    if (dv.getUint32(0x202, true) === LINUX_HDRS_MAGIC) {
      throw new LoaderError('BZIMAGE_UNSUPPORTED',
        'this is a Linux bzImage (boot protocol "HdrS" header at 0x202); bzImage boot is out of scope for now: ' +
        'boot the uncompressed vmlinux ELF, which carries the PVH note, instead');
    }
  }

  const mb = findMultibootHeader(image);
  if (mb) return planMultiboot(plan, image, mb);

  if (!isElf(image)) {
    throw new LoaderError('ELF_BAD_MAGIC',
      'unrecognised kernel image: not an ELF file (no "\\x7fELF" magic), no multiboot header in the first 8 KiB, and not a Linux bzImage');
  }
  const elf = parseElf(image);
  const entry = findPvhEntry(image, elf);
  if (entry === undefined) {
    throw new LoaderError('PVH_NOTE_MISSING',
      `ELF${elf.elfClass} kernel has no PVH entry note (ELF note name "Xen", type 18 XEN_ELFNOTE_PHYS32_ENTRY) ` +
      'and no multiboot header, so it cannot be booted: QEMU\'s microvm would try the Linux boot protocol here, ' +
      'but bzImage/Linux-protocol boot is out of scope for now. Add the PVH note (or a multiboot header) to the image');
  }
  return planElfSegments(plan, image, elf, 'pvh', entry, [], undefined);
}

function planMultiboot(plan: BootPlan, image: Uint8Array, mb: MultibootHeader): KernelLoadResult {
  const warnings: string[] = [];
  if (mb.flags & MULTIBOOT_VIDEO_MODE) {
    // QEMU prints "multiboot knows VBE. we don't." and boots without video info.
    warnings.push('multiboot header requests a video mode (flag 2); no video information is provided');
  }
  const info = { headerOffset: mb.offset, flags: mb.flags };
  if (mb.aout) {
    const a = aoutLayout(image, mb);
    const seg: LoadedSegment = { gpa: a.loadAddr, fileOffset: a.fileOffset, fileSize: a.loadSize, memSize: a.memSize };
    plan.claim('kernel', 'multiboot kernel image (load_addr..bss_end_addr)', seg.gpa, seg.memSize);
    plan.write(seg.gpa, image.subarray(seg.fileOffset, seg.fileOffset + seg.fileSize));
    plan.zero(seg.gpa + seg.fileSize, seg.memSize - seg.fileSize);
    if (!(a.entry >= seg.gpa && a.entry < seg.gpa + seg.fileSize)) {
      throw new LoaderError('ENTRY_OUTSIDE_IMAGE',
        `multiboot entry_addr ${hex(a.entry)} is outside the loaded image [${hex(seg.gpa)}, ${hex(seg.gpa + seg.fileSize)})`);
    }
    return {
      protocol: 'multiboot', format: 'multiboot-aout', entry: a.entry, segments: [seg],
      low: seg.gpa, high: seg.gpa + seg.memSize, multiboot: info, warnings,
    };
  }
  if (!isElf(image)) {
    throw new LoaderError('ELF_BAD_MAGIC',
      `multiboot header at file offset ${hex(mb.offset)} has no address fields (flag 16 clear), so the image must be an ELF file, but it is not`);
  }
  const elf = parseElf(image);
  if (elf.elfClass === 64) {
    const pvh = findPvhEntry(image, elf);
    if (pvh !== undefined) return planElfSegments(plan, image, elf, 'pvh', pvh, warnings, undefined);
    throw new LoaderError('MULTIBOOT_ELF64',
      'multiboot kernel is an ELF64 file: multiboot v1 loads 32-bit ELF images only (QEMU: "Cannot load x86-64 image, give a 32bit one."); ' +
      'link it as ELF32, or add a PVH note');
  }
  return planElfSegments(plan, image, elf, 'multiboot', multibootElfEntry(elf), warnings, info);
}

/** e_entry is a virtual address; translate it through the segment that maps it (equal when vaddr == paddr). */
function multibootElfEntry(elf: ElfFile): number {
  for (const s of elf.loads) {
    if (elf.entry >= s.vaddr && elf.entry < s.vaddr + BigInt(s.memSize)) return s.gpa + Number(elf.entry - s.vaddr);
  }
  return elf.entry <= 0xffffffffn ? Number(elf.entry) : -1;
}

function planElfSegments(
  plan: BootPlan, image: Uint8Array, elf: ElfFile, protocol: BootProtocol, entry: number,
  warnings: string[], multiboot: KernelLoadResult['multiboot'],
): KernelLoadResult {
  if (elf.loads.length === 0) {
    throw new LoaderError('ELF_NO_SEGMENTS', 'ELF kernel has no PT_LOAD segment with p_memsz > 0: nothing to load');
  }
  const segments: LoadedSegment[] = [];
  for (const s of elf.loads) {
    plan.claim('kernel', `PT_LOAD segment (program header ${s.index})`, s.gpa, s.memSize);
    segments.push({ gpa: s.gpa, fileOffset: s.fileOffset, fileSize: s.fileSize, memSize: s.memSize });
  }
  const inImage = (seg: LoadSegment): boolean => entry >= seg.gpa && entry < seg.gpa + seg.fileSize;
  if (!elf.loads.some(inImage)) {
    const what = protocol === 'pvh' ? 'PVH entry (XEN_ELFNOTE_PHYS32_ENTRY)' : 'multiboot ELF entry (e_entry)';
    throw new LoaderError('ENTRY_OUTSIDE_IMAGE',
      `${what} ${entry < 0 ? hex(elf.entry) : hex(entry)} is not inside the file bytes of any PT_LOAD segment`);
  }
  for (const s of elf.loads) {
    plan.write(s.gpa, image.subarray(s.fileOffset, s.fileOffset + s.fileSize));
    plan.zero(s.gpa + s.fileSize, s.memSize - s.fileSize);
  }
  const low = Math.min(...segments.map((s) => s.gpa));
  const high = Math.max(...segments.map((s) => s.gpa + s.memSize));
  return {
    protocol, format: elf.elfClass === 64 ? 'elf64' : 'elf32', entry, segments, low, high,
    ...(multiboot ? { multiboot } : {}), warnings,
  };
}

export interface LoadKernelOptions {
  /** Reserved for future formats; no options yet. */
  readonly _reserved?: never;
}

/**
 * Detect the format of `image`, validate it completely, then copy its
 * segments into guest memory (zeroing bss). Throws LoaderError before writing
 * anything if the image is malformed or does not fit.
 */
export function loadKernel(image: Uint8Array, mem: GuestMemory, _opts: LoadKernelOptions = {}): KernelLoadResult {
  const plan = new BootPlan(mem);
  const result = planKernel(plan, image);
  plan.commit();
  return result;
}

/** Kernel ranges to claim again in a fresh plan (configurators check their placements against them). */
export function claimKernel(plan: BootPlan, kernel: KernelLoadResult): void {
  kernel.segments.forEach((s, i) => plan.claim('kernel', `kernel segment ${i}`, s.gpa, s.memSize));
}
