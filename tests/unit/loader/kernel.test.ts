import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { loadKernel, LoaderError, type LoaderErrorCode, setupBoot } from '../../../src/loader/index.js';
import { buildElf, pattern, pvhNote, u32le, u64le, type ElfSpec } from './elf-builder.js';

const MiB = 1024 * 1024;
const RAM = 16 * MiB;

function freshMemory(): GuestMemory {
  const mem = new GuestMemory(RAM);
  // A sentinel everywhere we might load, to see that failed loads write nothing
  // and that bss is really zeroed.
  mem.fill(0, 2 * MiB, 0xaa);
  return mem;
}

function expectCode(fn: () => unknown, code: LoaderErrorCode): LoaderError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LoaderError);
    expect((e as LoaderError).code).toBe(code);
    expect((e as LoaderError).message.length).toBeGreaterThan(20);
    return e as LoaderError;
  }
  throw new Error(`expected LoaderError ${code}, nothing was thrown`);
}

function untouched(mem: GuestMemory): boolean {
  return mem.readBytes(0, 2 * MiB).every((b) => b === 0xaa);
}

const text = pattern(0x300, 3);
const data = pattern(0x80, 9);

function goodSpec(cls: 32 | 64): ElfSpec {
  return {
    cls,
    segments: [
      { paddr: 0x100000, data: text },
      { paddr: 0x101000, data, memsz: 0x1000 + 0x80 }, // bss follows
    ],
    notes: [{ name: 'GNU', type: 3, desc: pattern(20) }, pvhNote(0x100010)],
  };
}

describe('ELF + PVH note: good images', () => {
  for (const cls of [32, 64] as const) {
    test(`ELF${cls} loads segments at p_paddr and zeroes bss`, () => {
      const mem = freshMemory();
      const { image } = buildElf(goodSpec(cls));
      const r = loadKernel(image, mem);
      expect(r.protocol).toBe('pvh');
      expect(r.format).toBe(`elf${cls}`);
      expect(r.entry).toBe(0x100010);
      expect(r.segments.map((s) => [s.gpa, s.fileSize, s.memSize])).toEqual([[0x100000, 0x300, 0x300], [0x101000, 0x80, 0x1080]]);
      expect(r.low).toBe(0x100000);
      expect(r.high).toBe(0x102080);
      expect(mem.readBytes(0x100000, 0x300)).toEqual(text);
      expect(mem.readBytes(0x101000, 0x80)).toEqual(data);
      expect(mem.readBytes(0x101080, 0x1000).every((b) => b === 0)).toBe(true);
      // Nothing outside the segments is touched.
      expect(mem.readU8(0x100300)).toBe(0xaa);
      expect(mem.readU8(0x102080)).toBe(0xaa);
      expect(mem.readU8(0xfffff)).toBe(0xaa);
    });
  }

  test('PVH note with an 8-byte descriptor (Linux ELF64 emits _ASM_PTR)', () => {
    const spec = goodSpec(64);
    spec.notes = [{ name: 'Xen', type: 18, desc: u64le(0x100020n) }];
    expect(loadKernel(buildElf(spec).image, freshMemory()).entry).toBe(0x100020);
  });

  test('PVH note found in a SHT_NOTE section when there is no PT_NOTE', () => {
    const spec = goodSpec(64);
    spec.noteWhere = 'section';
    expect(loadKernel(buildElf(spec).image, freshMemory()).entry).toBe(0x100010);
  });

  test('8-aligned ELF64 note segment (p_align 8) is walked with 8-byte padding', () => {
    const spec = goodSpec(64);
    spec.noteAlign = 8;
    spec.notes = [{ name: 'GNU', type: 5, desc: pattern(12) }, pvhNote(0x100004)];
    expect(loadKernel(buildElf(spec).image, freshMemory()).entry).toBe(0x100004);
  });

  test('segments with p_memsz 0 are ignored; high vaddr (Linux style) is irrelevant for PVH', () => {
    const spec = goodSpec(64);
    spec.segments[0]!.vaddr = 0xffffffff81000000n;
    spec.segments.push({ paddr: 0, data: new Uint8Array(0), memsz: 0 });
    const r = loadKernel(buildElf(spec).image, freshMemory());
    expect(r.segments.length).toBe(2);
  });
});

describe('malformed images: one field flipped, one code, nothing written', () => {
  type Case = { name: string; cls?: 32 | 64; code: LoaderErrorCode; mutate: (img: Uint8Array, dv: DataView, b: ReturnType<typeof buildElf>) => Uint8Array | void; spec?: (s: ElfSpec) => void };
  const set64 = (dv: DataView, o: number, v: bigint): void => dv.setBigUint64(o, v, true);
  const cases: Case[] = [
    { name: 'magic', code: 'ELF_BAD_MAGIC', mutate: (img) => { img[1] = 0x46; } },
    { name: 'EI_CLASS 3', code: 'ELF_BAD_CLASS', mutate: (img) => { img[4] = 3; } },
    { name: 'EI_DATA big-endian', code: 'ELF_BAD_ENDIAN', mutate: (img) => { img[5] = 2; } },
    { name: 'EI_VERSION 0', code: 'ELF_BAD_VERSION', mutate: (img) => { img[6] = 0; } },
    { name: 'e_version 2', code: 'ELF_BAD_VERSION', mutate: (_i, dv) => { dv.setUint32(20, 2, true); } },
    { name: 'e_type ET_DYN', code: 'ELF_BAD_TYPE', mutate: (_i, dv) => { dv.setUint16(16, 3, true); } },
    { name: 'e_machine ARM', code: 'ELF_BAD_MACHINE', mutate: (_i, dv) => { dv.setUint16(18, 40, true); } },
    { name: 'e_phentsize', code: 'ELF_BAD_PHDR', mutate: (_i, dv) => { dv.setUint16(54, 55, true); } },
    { name: 'e_phnum PN_XNUM', code: 'ELF_BAD_PHDR', mutate: (_i, dv) => { dv.setUint16(56, 0xffff, true); } },
    { name: 'e_phoff beyond file', code: 'ELF_TRUNCATED', mutate: (_i, dv) => { set64(dv, 32, 0x100000n); } },
    { name: 'e_phoff overflowing', code: 'ELF_TRUNCATED', mutate: (_i, dv) => { set64(dv, 32, 0xfffffffffffffff0n); } },
    { name: 'file cut inside the ELF header', code: 'ELF_TRUNCATED', mutate: (img) => img.slice(0, 40) },
    { name: 'file cut inside segment data', code: 'ELF_TRUNCATED', mutate: (img, _dv, b) => img.slice(0, b.segOffsets[1]! + 0x10) },
    { name: 'p_filesz > p_memsz', code: 'ELF_BAD_SEGMENT', mutate: (_i, dv, b) => { set64(dv, b.phdr(0) + 40, 0x100n); } },
    { name: 'p_offset beyond file', code: 'ELF_TRUNCATED', mutate: (_i, dv, b) => { set64(dv, b.phdr(0) + 8, 0x10000000n); } },
    { name: 'p_offset + p_filesz overflows', code: 'ELF_TRUNCATED', mutate: (_i, dv, b) => { set64(dv, b.phdr(0) + 8, 0xfffffffffffffff0n); } },
    { name: 'p_paddr above RAM', code: 'SEGMENT_OUTSIDE_RAM', mutate: (_i, dv, b) => { set64(dv, b.phdr(1) + 24, BigInt(RAM - 0x40)); } },
    { name: 'p_paddr + p_memsz wraps 2^64', code: 'SEGMENT_OUTSIDE_RAM', mutate: (_i, dv, b) => { set64(dv, b.phdr(1) + 24, 0xfffffffffffff000n); } },
    { name: 'p_memsz huge', code: 'SEGMENT_OUTSIDE_RAM', mutate: (_i, dv, b) => { set64(dv, b.phdr(1) + 40, 0x7fffffffffffffffn); } },
    { name: 'segments overlap', code: 'SEGMENTS_OVERLAP', mutate: (_i, dv, b) => { set64(dv, b.phdr(1) + 24, 0x1002f0n); } },
    { name: 'note type 17 instead of 18', code: 'PVH_NOTE_MISSING', mutate: (_i, dv, b) => { dv.setUint32(b.noteOffset + 36 + 8, 17, true); } },
    { name: 'note name "Xem"', code: 'PVH_NOTE_MISSING', mutate: (img, _dv, b) => { img[b.noteOffset + 36 + 14] = 0x6d; } },
    { name: 'note descsz 2', code: 'PVH_NOTE_INVALID', mutate: (_i, dv, b) => { dv.setUint32(b.noteOffset + 36 + 4, 2, true); } },
    { name: 'note descsz overruns the segment', code: 'ELF_BAD_NOTE', mutate: (_i, dv, b) => { dv.setUint32(b.noteOffset + 36 + 4, 0x100, true); } },
    { name: 'first note namesz overruns', code: 'ELF_BAD_NOTE', mutate: (_i, dv, b) => { dv.setUint32(b.noteOffset, 0xfffffff0, true); } },
    { name: 'PT_NOTE beyond the file', code: 'ELF_TRUNCATED', mutate: (_i, dv, b) => { set64(dv, b.phdr(2) + 8, 0x7000000n); } },
    { name: 'PVH entry outside the image', code: 'ENTRY_OUTSIDE_IMAGE', mutate: (_i, dv, b) => { dv.setUint32(b.noteOffset + 36 + 16, 0x200000, true); } },
    { name: 'PVH entry in bss only', code: 'ENTRY_OUTSIDE_IMAGE', mutate: (_i, dv, b) => { dv.setUint32(b.noteOffset + 36 + 16, 0x101100, true); } },
    { name: 'no PT_LOAD', code: 'ELF_NO_SEGMENTS', mutate: (_i, dv, b) => { dv.setUint32(b.phdr(0), 6, true); dv.setUint32(b.phdr(1), 6, true); } },
    { name: 'Linux bzImage', code: 'BZIMAGE_UNSUPPORTED', mutate: (img) => { const z = new Uint8Array(0x1000); z.set(img.subarray(0, 0x200)); z.set([0x48, 0x64, 0x72, 0x53], 0x202); return z; } },
    { name: 'not a kernel at all', code: 'ELF_BAD_MAGIC', mutate: () => pattern(5000) },
    { name: 'empty file', code: 'ELF_BAD_MAGIC', mutate: () => new Uint8Array(0) },
    { name: 'ELF32: e_phentsize', cls: 32, code: 'ELF_BAD_PHDR', mutate: (_i, dv) => { dv.setUint16(42, 56, true); } },
    { name: 'ELF32: p_filesz beyond file', cls: 32, code: 'ELF_TRUNCATED', mutate: (_i, dv, b) => { dv.setUint32(b.phdr(0) + 16, 0xfffffff0, true); dv.setUint32(b.phdr(0) + 20, 0xfffffff0, true); } },
    { name: 'ELF32: p_paddr near 4 GiB', cls: 32, code: 'SEGMENT_OUTSIDE_RAM', mutate: (_i, dv, b) => { dv.setUint32(b.phdr(1) + 12, 0xfffff000, true); } },
  ];
  // The offsets above assume the Xen note starts 36 bytes in.
  test('fixture: Xen note starts 36 bytes into the note area', () => {
    const b = buildElf(goodSpec(64));
    const dv = new DataView(b.image.buffer);
    expect(dv.getUint32(b.noteOffset + 36 + 8, true)).toBe(18);
    expect(String.fromCharCode(...b.image.subarray(b.noteOffset + 48, b.noteOffset + 51))).toBe('Xen');
  });
  for (const c of cases) {
    test(`${c.name} -> ${c.code}`, () => {
      const b = buildElf(goodSpec(c.cls ?? 64));
      const dv = new DataView(b.image.buffer);
      const img = c.mutate(b.image, dv, b) ?? b.image;
      const mem = freshMemory();
      expectCode(() => loadKernel(img, mem), c.code);
      expect(untouched(mem)).toBe(true);
    });
  }

  test('8-byte PVH descriptor above 4 GiB -> PVH_NOTE_INVALID', () => {
    const spec = goodSpec(64);
    spec.notes = [{ name: 'Xen', type: 18, desc: u64le(0x100000010n) }];
    expectCode(() => loadKernel(buildElf(spec).image, freshMemory()), 'PVH_NOTE_INVALID');
  });

  test('a valid first segment is not written when the second one fails', () => {
    const b = buildElf(goodSpec(64));
    new DataView(b.image.buffer).setBigUint64(b.phdr(1) + 24, BigInt(RAM), true);
    const mem = freshMemory();
    expectCode(() => loadKernel(b.image, mem), 'SEGMENT_OUTSIDE_RAM');
    expect(mem.readU8(0x100000)).toBe(0xaa);
  });

  test('message names the segment and the addresses', () => {
    const b = buildElf(goodSpec(64));
    new DataView(b.image.buffer).setBigUint64(b.phdr(1) + 24, 0x1002f0n, true);
    const e = expectCode(() => loadKernel(b.image, freshMemory()), 'SEGMENTS_OVERLAP');
    expect(e.message).toContain('program header 1');
    expect(e.message).toContain('0x1002f0');
    expect(e.message).toContain('program header 0');
  });

  test('PVH_NOTE_MISSING explains that bzImage/Linux boot is out of scope', () => {
    const spec = goodSpec(64);
    spec.notes = [];
    const e = expectCode(() => loadKernel(buildElf(spec).image, freshMemory()), 'PVH_NOTE_MISSING');
    expect(e.message).toMatch(/XEN_ELFNOTE_PHYS32_ENTRY/);
    expect(e.message).toMatch(/out of scope/);
  });

  test('a kernel segment on the boot data area -> BOOT_DATA_OVERLAP, nothing written', () => {
    const spec = goodSpec(64);
    spec.segments = [{ paddr: 0xc0000, data: pattern(0x100) }];
    spec.notes = [pvhNote(0xc0000)];
    const mem = freshMemory();
    const e = expectCode(() => setupBoot(buildElf(spec).image, mem, {}), 'BOOT_DATA_OVERLAP');
    expect(e.message).toContain('boot GDT');
    expect(untouched(mem)).toBe(true);
  });

  test('u32le helper sanity', () => {
    expect([...u32le(0x01020304)]).toEqual([4, 3, 2, 1]);
  });
});
