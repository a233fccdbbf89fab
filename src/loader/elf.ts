/**
 * ELF32/ELF64 parsing for boot: the header, program headers (PT_LOAD,
 * PT_NOTE), section headers (SHT_NOTE only) and note records. Only what a
 * loader needs, every offset and size checked against the file.
 *
 * References: System V ABI gABI ("ELF Header", "Program Header", "Note
 * Section"), and xen/include/public/elfnote.h for XEN_ELFNOTE_PHYS32_ENTRY.
 */
import { LoaderError, hex } from './errors.js';
import { ImageReader, checkedAdd, u64ToSafe, alignUp } from './bytes.js';

export const ELFMAG = 0x464c457f; // "\x7fELF" read as a little-endian u32
const EI_CLASS = 4;
const EI_DATA = 5;
const EI_VERSION = 6;
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
export const ET_EXEC = 2;
export const EM_386 = 3;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_NOTE = 7;
const PN_XNUM = 0xffff;
/** xen/include/public/elfnote.h: the 32-bit physical PVH entry point. */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

export interface ProgramHeader {
  readonly index: number;
  readonly type: number;
  readonly flags: number;
  readonly offset: bigint;
  readonly vaddr: bigint;
  readonly paddr: bigint;
  readonly filesz: bigint;
  readonly memsz: bigint;
  readonly align: bigint;
}

/** A PT_LOAD segment whose numbers were all checked (file range, sizes, safe integers). */
export interface LoadSegment {
  readonly index: number;
  /** Guest physical load address (p_paddr). */
  readonly gpa: number;
  readonly vaddr: bigint;
  readonly fileOffset: number;
  readonly fileSize: number;
  readonly memSize: number;
}

export interface ElfFile {
  readonly elfClass: 32 | 64;
  readonly machine: number;
  readonly type: number;
  readonly flags: number;
  readonly entry: bigint;
  readonly phdrs: readonly ProgramHeader[];
  /** PT_LOAD segments with memsz > 0, validated against the file. */
  readonly loads: readonly LoadSegment[];
  readonly shoff: bigint;
  readonly shentsize: number;
  readonly shnum: number;
}

export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly descOffset: number;
  readonly descSize: number;
}

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

/**
 * Parse and validate the ELF header and program headers. PT_LOAD segments are
 * checked against the file (offset + filesz <= file size, filesz <= memsz);
 * their placement in RAM is checked by the boot plan.
 */
export function parseElf(image: Uint8Array): ElfFile {
  const r = new ImageReader(image, 'ELF_TRUNCATED', 'ELF image');
  if (image.length < 4 || !isElf(image)) {
    throw new LoaderError('ELF_BAD_MAGIC', 'not an ELF file: the first four bytes are not 7f 45 4c 46 ("\\x7fELF")');
  }
  const cls = r.u8(EI_CLASS, 'e_ident[EI_CLASS]');
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) {
    throw new LoaderError('ELF_BAD_CLASS', `ELF e_ident[EI_CLASS] is ${cls}; expected 1 (ELFCLASS32) or 2 (ELFCLASS64)`);
  }
  const is64 = cls === ELFCLASS64;
  const data = r.u8(EI_DATA, 'e_ident[EI_DATA]');
  if (data !== ELFDATA2LSB) {
    throw new LoaderError('ELF_BAD_ENDIAN', `ELF e_ident[EI_DATA] is ${data}; x86 images are little-endian (1, ELFDATA2LSB)`);
  }
  const ver = r.u8(EI_VERSION, 'e_ident[EI_VERSION]');
  if (ver !== EV_CURRENT) {
    throw new LoaderError('ELF_BAD_VERSION', `ELF e_ident[EI_VERSION] is ${ver}; expected 1 (EV_CURRENT)`);
  }
  const ehsize = is64 ? 64 : 52;
  r.need(0, ehsize, `the ${ehsize}-byte ELF${is64 ? 64 : 32} header`);

  const type = r.u16(16, 'e_type');
  const machine = r.u16(18, 'e_machine');
  const version = r.u32(20, 'e_version');
  if (version !== EV_CURRENT) {
    throw new LoaderError('ELF_BAD_VERSION', `ELF e_version is ${version}; expected 1 (EV_CURRENT)`);
  }
  if (type !== ET_EXEC) {
    throw new LoaderError('ELF_BAD_TYPE', `ELF e_type is ${type}; a kernel must be an executable (2, ET_EXEC)`);
  }
  if (machine !== EM_386 && machine !== EM_X86_64) {
    throw new LoaderError('ELF_BAD_MACHINE', `ELF e_machine is ${machine}; expected 3 (EM_386) or 62 (EM_X86_64)`);
  }
  const entry = is64 ? r.u64(24, 'e_entry') : BigInt(r.u32(24, 'e_entry'));
  const phoff = is64 ? r.u64(32, 'e_phoff') : BigInt(r.u32(28, 'e_phoff'));
  const shoff = is64 ? r.u64(40, 'e_shoff') : BigInt(r.u32(32, 'e_shoff'));
  const h = is64 ? 48 : 36; // e_flags
  const flags = r.u32(h, 'e_flags');
  const phentsize = r.u16(h + 6, 'e_phentsize');
  const phnum = r.u16(h + 8, 'e_phnum');
  const shentsize = r.u16(h + 10, 'e_shentsize');
  const shnum = r.u16(h + 12, 'e_shnum');

  const wantPhent = is64 ? 56 : 32;
  if (phnum === PN_XNUM) {
    throw new LoaderError('ELF_BAD_PHDR', 'ELF e_phnum is PN_XNUM (0xffff, extended numbering): more program headers than a kernel needs');
  }
  if (phnum > 0 && phentsize !== wantPhent) {
    throw new LoaderError('ELF_BAD_PHDR', `ELF e_phentsize is ${phentsize}; ELF${is64 ? 64 : 32} program headers are ${wantPhent} bytes`);
  }
  const phoffN = u64ToSafe(phoff);
  if (phnum > 0 && (phoffN === undefined || checkedAdd(phoffN, phnum * wantPhent) === undefined || phoffN + phnum * wantPhent > image.length)) {
    throw new LoaderError('ELF_TRUNCATED',
      `ELF program header table at e_phoff ${hex(phoff)} (${phnum} x ${wantPhent} bytes) extends beyond the ${image.length}-byte file`);
  }

  const phdrs: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoffN! + i * wantPhent;
    phdrs.push(is64
      ? {
        index: i, type: r.u32(o, 'p_type'), flags: r.u32(o + 4, 'p_flags'),
        offset: r.u64(o + 8, 'p_offset'), vaddr: r.u64(o + 16, 'p_vaddr'), paddr: r.u64(o + 24, 'p_paddr'),
        filesz: r.u64(o + 32, 'p_filesz'), memsz: r.u64(o + 40, 'p_memsz'), align: r.u64(o + 48, 'p_align'),
      }
      : {
        index: i, type: r.u32(o, 'p_type'), offset: BigInt(r.u32(o + 4, 'p_offset')),
        vaddr: BigInt(r.u32(o + 8, 'p_vaddr')), paddr: BigInt(r.u32(o + 12, 'p_paddr')),
        filesz: BigInt(r.u32(o + 16, 'p_filesz')), memsz: BigInt(r.u32(o + 20, 'p_memsz')),
        flags: r.u32(o + 24, 'p_flags'), align: BigInt(r.u32(o + 28, 'p_align')),
      });
  }

  const loads: LoadSegment[] = [];
  for (const p of phdrs) {
    if (p.type !== PT_LOAD) continue;
    const what = `PT_LOAD segment (program header ${p.index})`;
    if (p.filesz > p.memsz) {
      throw new LoaderError('ELF_BAD_SEGMENT', `${what}: p_filesz ${hex(p.filesz)} is larger than p_memsz ${hex(p.memsz)}`);
    }
    if (p.memsz === 0n) continue;
    const fileRange = fileRangeOf(image, p.offset, p.filesz, what);
    const memSize = u64ToSafe(p.memsz);
    const gpa = u64ToSafe(p.paddr);
    if (memSize === undefined || gpa === undefined || checkedAdd(gpa, memSize) === undefined) {
      throw new LoaderError('SEGMENT_OUTSIDE_RAM',
        `${what} at p_paddr ${hex(p.paddr)} with p_memsz ${hex(p.memsz)} lies beyond any guest RAM`);
    }
    loads.push({ index: p.index, gpa, vaddr: p.vaddr, fileOffset: fileRange.offset, fileSize: fileRange.size, memSize });
  }

  return { elfClass: is64 ? 64 : 32, machine, type, flags, entry, phdrs, loads, shoff, shentsize, shnum };
}

function fileRangeOf(image: Uint8Array, offset: bigint, size: bigint, what: string): { offset: number; size: number } {
  const o = u64ToSafe(offset);
  const s = u64ToSafe(size);
  if (o === undefined || s === undefined || checkedAdd(o, s) === undefined || o + s > image.length) {
    throw new LoaderError('ELF_TRUNCATED',
      `${what}: file bytes [${hex(offset)}, ${hex(offset + size)}) extend beyond the ${image.length}-byte file`);
  }
  return { offset: o, size: s };
}

/**
 * Walk the note records in [offset, offset+size). Each record is
 * {namesz, descsz, type, name, desc} with name and desc padded to `align`
 * (4, or 8 for 8-aligned ELF64 note segments, as readelf does).
 */
export function readNotes(image: Uint8Array, offset: number, size: number, align: number, where: string): ElfNote[] {
  const r = new ImageReader(image, 'ELF_TRUNCATED', 'ELF image');
  const notes: ElfNote[] = [];
  const end = offset + size;
  let pos = offset;
  while (pos < end) {
    if (end - pos < 12) {
      throw new LoaderError('ELF_BAD_NOTE', `${where}: ${end - pos} stray bytes at file offset ${hex(pos)} are too few for a note header (12 bytes)`);
    }
    const namesz = r.u32(pos, 'n_namesz');
    const descsz = r.u32(pos + 4, 'n_descsz');
    const type = r.u32(pos + 8, 'n_type');
    const nameOff = pos + 12;
    const descOff = nameOff + alignUp(namesz, align);
    const descEnd = descOff + descsz;
    if (nameOff + namesz > end || descEnd > end) {
      throw new LoaderError('ELF_BAD_NOTE',
        `${where}: note at file offset ${hex(pos)} (namesz ${namesz}, descsz ${descsz}) runs past the end of its ${size}-byte note area`);
    }
    let name = '';
    for (let i = 0; i < namesz; i++) {
      const c = image[nameOff + i]!;
      if (c === 0) break;
      name += String.fromCharCode(c);
    }
    notes.push({ name, type, descOffset: descOff, descSize: descsz });
    pos = descOff + alignUp(descsz, align);
  }
  return notes;
}

/** All note records of the file: from PT_NOTE segments, then (if none hold notes) SHT_NOTE sections. */
export function elfNotes(image: Uint8Array, elf: ElfFile): ElfNote[] {
  const out: ElfNote[] = [];
  for (const p of elf.phdrs) {
    if (p.type !== PT_NOTE) continue;
    const what = `PT_NOTE segment (program header ${p.index})`;
    const fr = fileRangeOf(image, p.offset, p.filesz, what);
    out.push(...readNotes(image, fr.offset, fr.size, p.align === 8n ? 8 : 4, what));
  }
  if (out.length > 0) return out;
  for (const s of sectionNoteRanges(image, elf)) {
    out.push(...readNotes(image, s.offset, s.size, s.align, s.what));
  }
  return out;
}

function sectionNoteRanges(image: Uint8Array, elf: ElfFile): Array<{ offset: number; size: number; align: number; what: string }> {
  if (elf.shoff === 0n) return [];
  const is64 = elf.elfClass === 64;
  const want = is64 ? 64 : 40;
  const r = new ImageReader(image, 'ELF_TRUNCATED', 'ELF image');
  const shoff = u64ToSafe(elf.shoff);
  if (elf.shentsize !== want) {
    throw new LoaderError('ELF_BAD_SHDR', `ELF e_shentsize is ${elf.shentsize}; ELF${elf.elfClass} section headers are ${want} bytes`);
  }
  if (shoff === undefined || shoff + want > image.length) {
    throw new LoaderError('ELF_TRUNCATED', `ELF section header table at e_shoff ${hex(elf.shoff)} is beyond the ${image.length}-byte file`);
  }
  let shnum = elf.shnum;
  // gABI extended section numbering: e_shnum 0 means the count is in sh_size of section 0.
  if (shnum === 0) {
    const n = is64 ? r.u64(shoff + 32, 'sh_size') : BigInt(r.u32(shoff + 20, 'sh_size'));
    if (n > 65536n * 16n) throw new LoaderError('ELF_BAD_SHDR', `ELF section count ${n} (extended numbering) is implausible`);
    shnum = Number(n);
  }
  if (shoff + shnum * want > image.length) {
    throw new LoaderError('ELF_TRUNCATED',
      `ELF section header table at e_shoff ${hex(elf.shoff)} (${shnum} x ${want} bytes) extends beyond the ${image.length}-byte file`);
  }
  const out: Array<{ offset: number; size: number; align: number; what: string }> = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * want;
    const type = r.u32(o + 4, 'sh_type');
    if (type !== SHT_NOTE) continue;
    const off = is64 ? r.u64(o + 24, 'sh_offset') : BigInt(r.u32(o + 16, 'sh_offset'));
    const size = is64 ? r.u64(o + 32, 'sh_size') : BigInt(r.u32(o + 20, 'sh_size'));
    const align = is64 ? r.u64(o + 48, 'sh_addralign') : BigInt(r.u32(o + 32, 'sh_addralign'));
    const what = `SHT_NOTE section ${i}`;
    const fr = fileRangeOf(image, off, size, what);
    out.push({ offset: fr.offset, size: fr.size, align: align === 8n ? 8 : 4, what });
  }
  return out;
}

/**
 * The PVH entry point from the Xen note "Xen"/XEN_ELFNOTE_PHYS32_ENTRY, or
 * undefined when the file has none. The descriptor is a 32-bit physical
 * address; Linux emits it as a pointer-sized value (8 bytes in ELF64), which
 * is accepted when it fits in 32 bits.
 */
export function findPvhEntry(image: Uint8Array, elf: ElfFile): number | undefined {
  for (const n of elfNotes(image, elf)) {
    if (n.name !== 'Xen' || n.type !== XEN_ELFNOTE_PHYS32_ENTRY) continue;
    const dv = new DataView(image.buffer, image.byteOffset + n.descOffset, n.descSize);
    if (n.descSize === 4) return dv.getUint32(0, true);
    if (n.descSize === 8) {
      const v = dv.getBigUint64(0, true);
      if (v > 0xffffffffn) {
        throw new LoaderError('PVH_NOTE_INVALID',
          `PVH note (Xen, XEN_ELFNOTE_PHYS32_ENTRY) entry ${hex(v)} is not a 32-bit physical address`);
      }
      return Number(v);
    }
    throw new LoaderError('PVH_NOTE_INVALID',
      `PVH note (Xen, XEN_ELFNOTE_PHYS32_ENTRY) has a ${n.descSize}-byte descriptor; expected 4 (or 8) bytes holding the entry address`);
  }
  return undefined;
}
