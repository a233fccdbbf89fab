/**
 * A tiny ELF writer for loader tests: builds ELF32/ELF64 executables with
 * PT_LOAD segments and Xen notes (in a PT_NOTE segment or only in a SHT_NOTE
 * section), and reports where every field landed so a test can flip one.
 * Layout: ehdr | phdrs | notes | segment data... | shdrs (if any).
 */
export interface SegSpec {
  paddr: number | bigint;
  vaddr?: number | bigint;
  data: Uint8Array;
  memsz?: number | bigint;
  type?: number;
  align?: number;
}
export interface NoteSpec { name: string; type: number; desc: Uint8Array; namesz?: number }
export interface ElfSpec {
  cls: 32 | 64;
  machine?: number;
  entry?: number | bigint;
  segments: SegSpec[];
  /** Notes in a PT_NOTE segment (and a matching SHT_NOTE section when `noteSection`). */
  notes?: NoteSpec[];
  /** Where the notes are described: 'segment' (PT_NOTE, default) or 'section' (SHT_NOTE only). */
  noteWhere?: 'segment' | 'section';
  noteAlign?: 4 | 8;
}
export interface BuiltElf {
  image: Uint8Array;
  phoff: number;
  phentsize: number;
  /** Offset of program header i. */
  phdr(i: number): number;
  /** File offset of each segment's data. */
  segOffsets: number[];
  noteOffset: number;
  shoff: number;
}

export const PT_LOAD = 1;
export const PT_NOTE = 4;

const align = (v: number, a: number): number => Math.ceil(v / a) * a;

export function noteBytes(notes: NoteSpec[], a: 4 | 8): Uint8Array {
  const parts: number[] = [];
  for (const n of notes) {
    const name = [...n.name].map((c) => c.charCodeAt(0));
    name.push(0);
    const namesz = n.namesz ?? name.length;
    const hdr = new DataView(new ArrayBuffer(12));
    hdr.setUint32(0, namesz, true);
    hdr.setUint32(4, n.desc.length, true);
    hdr.setUint32(8, n.type, true);
    parts.push(...new Uint8Array(hdr.buffer));
    const namePadded = new Array(align(namesz, a)).fill(0);
    name.slice(0, namesz).forEach((b, i) => { namePadded[i] = b; });
    parts.push(...namePadded);
    const descPadded = new Array(align(n.desc.length, a)).fill(0);
    n.desc.forEach((b, i) => { descPadded[i] = b; });
    parts.push(...descPadded);
  }
  return Uint8Array.from(parts);
}

export function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
export function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

export function pvhNote(entry: number): NoteSpec {
  return { name: 'Xen', type: 18, desc: u32le(entry) };
}

export function buildElf(spec: ElfSpec): BuiltElf {
  const is64 = spec.cls === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const a = spec.noteAlign ?? 4;
  const notes = spec.notes ? noteBytes(spec.notes, a) : new Uint8Array(0);
  const noteInPhdr = spec.notes !== undefined && (spec.noteWhere ?? 'segment') === 'segment';
  const noteInShdr = spec.notes !== undefined && spec.noteWhere === 'section';
  const phnum = spec.segments.length + (noteInPhdr ? 1 : 0);
  const phoff = ehsize;
  let off = align(phoff + phnum * phentsize, 8);
  const noteOffset = off;
  off = align(off + notes.length, 16);
  const segOffsets: number[] = [];
  for (const s of spec.segments) {
    segOffsets.push(off);
    off = align(off + s.data.length, 16);
  }
  const shnum = noteInShdr ? 2 : 0;
  const shoff = shnum ? off : 0;
  const total = off + shnum * shentsize;
  const image = new Uint8Array(total);
  const dv = new DataView(image.buffer);
  image.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1, 0]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, spec.machine ?? (is64 ? 62 : 3), true);
  dv.setUint32(20, 1, true);
  const entry = BigInt(spec.entry ?? 0);
  if (is64) {
    dv.setBigUint64(24, entry, true);
    dv.setBigUint64(32, BigInt(phoff), true);
    dv.setBigUint64(40, BigInt(shoff), true);
  } else {
    dv.setUint32(24, Number(entry), true);
    dv.setUint32(28, phoff, true);
    dv.setUint32(32, shoff, true);
  }
  const h = is64 ? 48 : 36;
  dv.setUint32(h, 0, true);
  dv.setUint16(h + 4, ehsize, true);
  dv.setUint16(h + 6, phentsize, true);
  dv.setUint16(h + 8, phnum, true);
  dv.setUint16(h + 10, shentsize, true);
  dv.setUint16(h + 12, shnum, true);
  dv.setUint16(h + 14, 0, true);

  const writePhdr = (i: number, type: number, offset: number, vaddr: bigint, paddr: bigint, filesz: number, memsz: bigint, palign: number): void => {
    const o = phoff + i * phentsize;
    if (is64) {
      dv.setUint32(o, type, true); dv.setUint32(o + 4, 7, true);
      dv.setBigUint64(o + 8, BigInt(offset), true); dv.setBigUint64(o + 16, vaddr, true);
      dv.setBigUint64(o + 24, paddr, true); dv.setBigUint64(o + 32, BigInt(filesz), true);
      dv.setBigUint64(o + 40, memsz, true); dv.setBigUint64(o + 48, BigInt(palign), true);
    } else {
      dv.setUint32(o, type, true); dv.setUint32(o + 4, offset, true);
      dv.setUint32(o + 8, Number(vaddr), true); dv.setUint32(o + 12, Number(paddr), true);
      dv.setUint32(o + 16, filesz, true); dv.setUint32(o + 20, Number(memsz), true);
      dv.setUint32(o + 24, 7, true); dv.setUint32(o + 28, palign, true);
    }
  };
  spec.segments.forEach((s, i) => {
    image.set(s.data, segOffsets[i]!);
    const paddr = BigInt(s.paddr);
    writePhdr(i, s.type ?? PT_LOAD, segOffsets[i]!, BigInt(s.vaddr ?? s.paddr), paddr, s.data.length,
      BigInt(s.memsz ?? s.data.length), s.align ?? 0x1000);
  });
  image.set(notes, noteOffset);
  if (noteInPhdr) writePhdr(spec.segments.length, PT_NOTE, noteOffset, 0n, 0n, notes.length, BigInt(notes.length), a);
  if (noteInShdr) {
    const o = shoff + shentsize; // section 1; section 0 is SHN_UNDEF (all zero)
    if (is64) {
      dv.setUint32(o + 4, 7, true); // SHT_NOTE
      dv.setBigUint64(o + 24, BigInt(noteOffset), true);
      dv.setBigUint64(o + 32, BigInt(notes.length), true);
      dv.setBigUint64(o + 48, BigInt(a), true);
    } else {
      dv.setUint32(o + 4, 7, true);
      dv.setUint32(o + 16, noteOffset, true);
      dv.setUint32(o + 20, notes.length, true);
      dv.setUint32(o + 32, a, true);
    }
  }
  return { image, phoff, phentsize, phdr: (i) => phoff + i * phentsize, segOffsets, noteOffset, shoff };
}

/** A recognisable payload: byte i = (seed + i * 7) & 0xff. */
export function pattern(len: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (seed + i * 7) & 0xff);
}
