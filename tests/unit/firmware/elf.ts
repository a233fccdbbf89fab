/**
 * A minimal ELF64 reader for checking our firmware images (System V ABI,
 * "ELF-64 Object File Format" 1.5): program headers, section headers,
 * symbols and notes. Test-only: it trusts nothing and throws on anything
 * out of bounds.
 */

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

export interface SectionHeader {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  info: number;
  shndx: number;
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

export interface ElfImage {
  bytes: Uint8Array;
  class: number;
  machine: number;
  type: number;
  entry: number;
  phdrs: ProgramHeader[];
  sections: SectionHeader[];
  symbols: Map<string, ElfSymbol>;
}

function u64(view: DataView, off: number): number {
  const v = view.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`u64 at ${off} too large`);
  return Number(v);
}

function cstring(bytes: Uint8Array, off: number): string {
  let end = off;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.subarray(off, end)).toString('latin1');
}

function checkRange(bytes: Uint8Array, off: number, len: number, what: string): void {
  if (off < 0 || len < 0 || off + len > bytes.length) throw new Error(`${what} out of file bounds`);
}

export function parseElf(bytes: Uint8Array): ElfImage {
  checkRange(bytes, 0, 64, 'ELF header');
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new Error('not ELF');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cls = bytes[4]!;
  if (cls !== 2) throw new Error('not ELF64');
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  const entry = u64(view, 24);
  const phoff = u64(view, 32);
  const shoff = u64(view, 40);
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  const shentsize = view.getUint16(58, true);
  const shnum = view.getUint16(60, true);
  const shstrndx = view.getUint16(62, true);

  const phdrs: ProgramHeader[] = [];
  checkRange(bytes, phoff, phentsize * phnum, 'program headers');
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    phdrs.push({
      type: view.getUint32(o, true),
      flags: view.getUint32(o + 4, true),
      offset: u64(view, o + 8),
      vaddr: u64(view, o + 16),
      paddr: u64(view, o + 24),
      filesz: u64(view, o + 32),
      memsz: u64(view, o + 40),
    });
  }

  const raw: Array<Omit<SectionHeader, 'name'> & { nameOff: number; link: number; entsize: number }> = [];
  checkRange(bytes, shoff, shentsize * shnum, 'section headers');
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push({
      nameOff: view.getUint32(o, true),
      type: view.getUint32(o + 4, true),
      flags: u64(view, o + 8),
      addr: u64(view, o + 16),
      offset: u64(view, o + 24),
      size: u64(view, o + 32),
      link: view.getUint32(o + 40, true),
      entsize: u64(view, o + 56),
    });
  }
  const shstr = raw[shstrndx];
  if (!shstr) throw new Error('no section name table');
  const sections = raw.map((s) => ({
    name: cstring(bytes, shstr.offset + s.nameOff),
    type: s.type,
    flags: s.flags,
    addr: s.addr,
    offset: s.offset,
    size: s.size,
  }));

  const symbols = new Map<string, ElfSymbol>();
  for (const s of raw) {
    if (s.type !== SHT_SYMTAB) continue;
    const strtab = raw[s.link];
    if (!strtab) throw new Error('symtab without strtab');
    checkRange(bytes, s.offset, s.size, 'symtab');
    for (let o = s.offset; o + 24 <= s.offset + s.size; o += 24) {
      const name = cstring(bytes, strtab.offset + view.getUint32(o, true));
      if (!name) continue;
      symbols.set(name, {
        name,
        info: bytes[o + 4]!,
        shndx: view.getUint16(o + 6, true),
        value: u64(view, o + 8),
        size: u64(view, o + 16),
      });
    }
  }
  return { bytes, class: cls, machine, type, entry, phdrs, sections, symbols };
}

/** Notes in the PT_NOTE segments (ELF-64 format, 4-byte aligned fields). */
export function elfNotes(img: ElfImage): ElfNote[] {
  const notes: ElfNote[] = [];
  const view = new DataView(img.bytes.buffer, img.bytes.byteOffset, img.bytes.byteLength);
  const align4 = (n: number): number => (n + 3) & ~3;
  for (const ph of img.phdrs) {
    if (ph.type !== PT_NOTE) continue;
    checkRange(img.bytes, ph.offset, ph.filesz, 'note segment');
    let o = ph.offset;
    const end = ph.offset + ph.filesz;
    while (o + 12 <= end) {
      const namesz = view.getUint32(o, true);
      const descsz = view.getUint32(o + 4, true);
      const type = view.getUint32(o + 8, true);
      const nameOff = o + 12;
      const descOff = nameOff + align4(namesz);
      checkRange(img.bytes, descOff, descsz, 'note');
      notes.push({
        name: cstring(img.bytes, nameOff).slice(0, Math.max(0, namesz - 1)),
        type,
        desc: img.bytes.slice(descOff, descOff + descsz),
      });
      o = descOff + align4(descsz);
    }
  }
  return notes;
}

/** The bytes at virtual address [addr, addr+len) from the PT_LOAD segment holding them. */
export function readVirtual(img: ElfImage, addr: number, len: number): Uint8Array {
  for (const ph of img.phdrs) {
    if (ph.type !== PT_LOAD || addr < ph.vaddr || addr + len > ph.vaddr + ph.filesz) continue;
    const off = ph.offset + (addr - ph.vaddr);
    checkRange(img.bytes, off, len, 'segment bytes');
    return img.bytes.subarray(off, off + len);
  }
  throw new Error(`0x${addr.toString(16)}+${len} is not in a loaded file range`);
}

export function symbolAddress(img: ElfImage, name: string): number {
  const s = img.symbols.get(name);
  if (!s) throw new Error(`no symbol ${name}`);
  return s.value;
}
