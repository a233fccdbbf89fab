/**
 * The firmware images are what a PVH loader (QEMU's, microvm-ts's) expects:
 * ELF64 x86-64 executables whose PT_NOTE holds the Xen PHYS32_ENTRY note
 * pointing at 32-bit entry code inside a loaded, executable segment, with
 * debug info for the GDB tests.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ENTRY_SYMBOL, GUESTS, LOAD_ADDRESS, buildFirmware, guestPath, type GuestName,
} from './expectations.js';
import {
  PT_LOAD, PT_NOTE, XEN_ELFNOTE_PHYS32_ENTRY, elfNotes, parseElf, readVirtual, symbolAddress, type ElfImage,
} from './elf.js';

const EM_X86_64 = 62;
const ET_EXEC = 2;
const PF_X = 1;

const images = new Map<GuestName, ElfImage>();

beforeAll(() => {
  buildFirmware();
  for (const g of GUESTS) images.set(g, parseElf(readFileSync(guestPath(g))));
});

function image(g: GuestName): ElfImage {
  const img = images.get(g);
  if (!img) throw new Error(`${g} not loaded`);
  return img;
}

describe.each(GUESTS.map((g) => [g] as const))('%s.elf', (g) => {
  test('is an ELF64 x86-64 executable', () => {
    const img = image(g);
    expect(img.class).toBe(2);
    expect(img.machine).toBe(EM_X86_64);
    expect(img.type).toBe(ET_EXEC);
  });

  test('has exactly one Xen PHYS32_ENTRY note, pointing at the 32-bit entry symbol', () => {
    const img = image(g);
    expect(img.phdrs.filter((p) => p.type === PT_NOTE)).toHaveLength(1);
    const notes = elfNotes(img).filter((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
    expect(notes).toHaveLength(1);
    const desc = notes[0]!.desc;
    expect(desc.length).toBe(4);
    const entry = new DataView(desc.buffer, desc.byteOffset, 4).getUint32(0, true);
    expect(entry).toBe(symbolAddress(img, ENTRY_SYMBOL[g]));
    // The ELF entry is the same place (for loaders that ignore the note).
    expect(img.entry).toBe(entry);
  });

  test('loads at its documented address, entry inside an executable PT_LOAD', () => {
    const img = image(g);
    const loads = img.phdrs.filter((p) => p.type === PT_LOAD);
    expect(loads.length).toBeGreaterThanOrEqual(1);
    const lowest = Math.min(...loads.map((p) => p.paddr));
    expect(lowest).toBe(LOAD_ADDRESS[g]);
    for (const p of loads) {
      expect(p.paddr).toBe(p.vaddr); // identity: PVH loads at physical addresses
      expect(p.memsz).toBeGreaterThanOrEqual(p.filesz);
      expect(p.paddr + p.memsz).toBeLessThan(0xc0000000); // below the microvm MMIO hole
    }
    const entry = img.entry;
    const text = loads.find((p) => entry >= p.vaddr && entry < p.vaddr + p.filesz);
    expect(text).toBeDefined();
    expect(text!.flags & PF_X).toBe(PF_X);
    // The entry starts with CLI (0xfa), as both entry paths do.
    expect(readVirtual(img, entry, 1)[0]).toBe(0xfa);
  });

  test('carries DWARF debug info and the symbols the GDB tests break on', () => {
    const img = image(g);
    const names = new Set(img.sections.map((s) => s.name));
    expect(names.has('.debug_info')).toBe(true);
    expect(names.has('.debug_line')).toBe(true);
    const main = g.startsWith('tamago-seq') ? 'tamago_main' : 'guest_main';
    expect(img.symbols.has(main)).toBe(true);
    expect(img.symbols.has('trap_exception')).toBe(true);
  });
});

describe('tamago-seq images', () => {
  test('the AP trampoline fits below the AP data page and ends with TamaGo\'s far-return bytes', () => {
    for (const g of ['tamago-seq', 'tamago-seq-1g'] as const) {
      const img = image(g);
      const start = symbolAddress(img, 'apinit_start');
      const done = symbolAddress(img, 'apinit_done');
      const end = symbolAddress(img, 'apinit_end');
      // Copied to 0x4000; 0x5000 holds the apstart pointer.
      expect(end - start).toBeLessThanOrEqual(0x1000);
      // PUSHQ $0x08; PUSHQ AX; RETFQ as Go assembles them: 6a 08 50 48 cb.
      expect([...readVirtual(img, done - 5, 5)]).toEqual([0x6a, 0x08, 0x50, 0x48, 0xcb]);
      // The trampoline starts with CLI.
      expect(readVirtual(img, start, 1)[0]).toBe(0xfa);
    }
  });

  test('the 32-bit entry reaches 64-bit code through the same RETF bytes', () => {
    const img = image('tamago-seq');
    const getPc = symbolAddress(img, 'get_pc');
    expect([...readVirtual(img, getPc - 5, 5)]).toEqual([0x6a, 0x08, 0x50, 0x48, 0xcb]);
    // get_pc: POP EAX; CALL EAX (TamaGo's ·getPC).
    expect([...readVirtual(img, getPc, 3)]).toEqual([0x58, 0xff, 0xd0]);
  });

  test('only the 1 GiB variant writes 1 GiB page entries', () => {
    // PS|RW|P with a 1 GiB-aligned frame: the immediates TamaGo's init.s stores.
    const pdpe = (gib: number, pcd: boolean): number => (gib * 2 ** 30 + 0x80 + (pcd ? 0x10 : 0) + 3) >>> 0;
    const containsImm32 = (img: ElfImage, v: number): boolean => {
      const b = Buffer.from(img.bytes);
      const needle = Buffer.alloc(4);
      needle.writeUInt32LE(v);
      return b.indexOf(needle) >= 0;
    };
    const one = image('tamago-seq-1g');
    const two = image('tamago-seq');
    for (const [gib, pcd] of [[1, false], [2, false], [3, true]] as const) {
      expect(containsImm32(one, pdpe(gib, pcd))).toBe(true);
      expect(containsImm32(two, pdpe(gib, pcd))).toBe(false);
    }
  });
});
