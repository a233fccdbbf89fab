import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  setupBoot, loadKernel, configureMultiboot, LoaderError, type LoaderErrorCode,
} from '../../../src/loader/index.js';
import { buildElf, pattern, pvhNote } from './elf-builder.js';

const MiB = 1024 * 1024;
const MAGIC = 0x1badb002;

function code(fn: () => unknown): LoaderErrorCode | undefined {
  try { fn(); } catch (e) { if (e instanceof LoaderError) return e.code; throw e; }
  return undefined;
}

interface AoutFields { flags: number; header_addr: number; load_addr: number; load_end_addr: number; bss_end_addr: number; entry_addr: number }

/** An a.out-kludge kernel: `len` bytes of text with the multiboot header at `at`. */
function aoutImage(len: number, at: number, f: Partial<AoutFields> = {}): Uint8Array {
  const img = pattern(len, 11);
  const v: AoutFields = {
    flags: (1 << 16) | (1 << 1), header_addr: 0x100000 + at, load_addr: 0x100000,
    load_end_addr: 0x100000 + len, bss_end_addr: 0x100000 + len + 0x1000, entry_addr: 0x100080, ...f,
  };
  const dv = new DataView(img.buffer);
  dv.setUint32(at, MAGIC, true);
  dv.setUint32(at + 4, v.flags, true);
  dv.setUint32(at + 8, (-(MAGIC + v.flags)) >>> 0, true);
  dv.setUint32(at + 12, v.header_addr, true);
  dv.setUint32(at + 16, v.load_addr, true);
  dv.setUint32(at + 20, v.load_end_addr, true);
  dv.setUint32(at + 24, v.bss_end_addr, true);
  dv.setUint32(at + 28, v.entry_addr, true);
  return img;
}

function mbHeader(flags: number): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, flags, true);
  dv.setUint32(8, (-(MAGIC + flags)) >>> 0, true);
  return b;
}

const cstr = (mem: GuestMemory, gpa: number): string => {
  let s = '';
  for (let c = mem.readU8(gpa); c !== 0; c = mem.readU8(++gpa)) s += String.fromCharCode(c);
  return s;
};

describe('multiboot a.out kludge (flag 16)', () => {
  test('loads text, zeroes bss, builds multiboot_info like QEMU', () => {
    const mem = new GuestMemory(16 * MiB);
    mem.fill(0x100000, 0x10000, 0xaa);
    const img = aoutImage(0x200, 0x40);
    const mod0 = pattern(0x1800, 1);
    const mod1 = pattern(0x10, 2);
    const s = setupBoot(img, mem, {
      kernelName: 'kern', cmdline: 'console=ttyS0',
      multibootModules: [{ data: mod0, cmdline: 'mod1 arg' }, { data: mod1, cmdline: 'm2' }],
    });
    expect(s.kernel.protocol).toBe('multiboot');
    expect(s.kernel.format).toBe('multiboot-aout');
    expect(s.kernel.entry).toBe(0x100080);
    expect(mem.readBytes(0x100000, 0x200)).toEqual(img);
    expect(mem.readBytes(0x100200, 0x1000).every((b) => b === 0)).toBe(true);

    // Entry state: EAX magic, EBX = 0x9500 (QEMU's ADDR_MBI).
    expect(s.state.regs.gpr[0]).toBe(0x2badb002n);
    expect(s.state.regs.gpr[3]).toBe(0x9500n);
    expect(s.state.regs.rip).toBe(0x100080n);

    const mbi = 0x9500;
    expect(mem.readU32(mbi + 0)).toBe(0x24f); // MEMORY|BOOTDEV|CMDLINE|MODS|MEM_MAP|BOOT_LOADER_NAME
    expect(mem.readU32(mbi + 4)).toBe(639);
    expect(mem.readU32(mbi + 8)).toBe((16 * MiB - MiB) / 1024);
    expect(mem.readU32(mbi + 12)).toBe(0x8000ffff);
    expect(cstr(mem, mem.readU32(mbi + 16))).toBe('kern console=ttyS0');
    expect(mem.readU32(mbi + 20)).toBe(2);
    // Kernel occupies 0x1200 bytes -> info area at 0x100000 + 0x2000.
    expect(mem.readU32(mbi + 24)).toBe(0x102000);
    expect(mem.readU32(mbi + 44)).toBe(5 * 24);
    expect(mem.readU32(mbi + 48)).toBe(0x9000);
    expect(cstr(mem, mem.readU32(mbi + 64))).toBe('qemu');

    // Modules: first after the page-aligned info area, each page aligned.
    const mods = 0x102000;
    expect([mem.readU32(mods), mem.readU32(mods + 4)]).toEqual([0x103000, 0x104800]);
    expect(cstr(mem, mem.readU32(mods + 8))).toBe('mod1 arg');
    expect([mem.readU32(mods + 16), mem.readU32(mods + 20)]).toEqual([0x105000, 0x105010]);
    expect(cstr(mem, mem.readU32(mods + 24))).toBe('m2');
    expect(mem.readBytes(0x103000, 0x1800)).toEqual(mod0);
    expect(mem.readBytes(0x105000, 0x10)).toEqual(mod1);

    // mmap at 0x9000: {u32 size = 20, u64 base, u64 length, u32 type}
    const want: Array<[number, number, number]> = [
      [0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xd0000, 0x20000, 4], [0xf0000, 0x10000, 2], [0x100000, 15 * MiB, 1],
    ];
    want.forEach(([base, len, type], i) => {
      const o = 0x9000 + i * 24;
      expect(mem.readU32(o)).toBe(20);
      expect(mem.readU64(o + 4)).toBe(BigInt(base));
      expect(mem.readU64(o + 12)).toBe(BigInt(len));
      expect(mem.readU32(o + 20)).toBe(type);
    });
  });

  test('load_end_addr 0 loads to the end of the file; bss_end_addr 0 means no bss', () => {
    const img = aoutImage(0x300, 0x8, { header_addr: 0x100008, load_end_addr: 0, bss_end_addr: 0 });
    const r = loadKernel(img, new GuestMemory(16 * MiB));
    expect(r.segments[0]).toEqual({ gpa: 0x100000, fileOffset: 0, fileSize: 0x300, memSize: 0x300 });
  });

  test('text offset from header_addr - load_addr', () => {
    // Header at file offset 0x1000 describes itself at load_addr + 0x800: text starts at file offset 0x800.
    const img = aoutImage(0x2000, 0x1000, { header_addr: 0x100800, load_end_addr: 0x101000, bss_end_addr: 0, entry_addr: 0x100000 });
    const mem = new GuestMemory(16 * MiB);
    const r = loadKernel(img, mem);
    expect(r.segments[0]).toEqual({ gpa: 0x100000, fileOffset: 0x800, fileSize: 0x1000, memSize: 0x1000 });
    expect(mem.readBytes(0x100000, 0x1000)).toEqual(img.subarray(0x800, 0x1800));
  });

  const bad: Array<{ name: string; img: () => Uint8Array; code: LoaderErrorCode }> = [
    { name: 'header_addr below load_addr', img: () => aoutImage(0x200, 0x40, { header_addr: 0xff000 }), code: 'MULTIBOOT_BAD_HEADER' },
    { name: 'header_addr - load_addr beyond the header offset', img: () => aoutImage(0x200, 0x40, { header_addr: 0x100080 }), code: 'MULTIBOOT_BAD_HEADER' },
    { name: 'load_end_addr below load_addr', img: () => aoutImage(0x200, 0x40, { load_end_addr: 0xfff00 }), code: 'MULTIBOOT_BAD_HEADER' },
    { name: 'bss_end_addr inside the text', img: () => aoutImage(0x200, 0x40, { bss_end_addr: 0x100100 }), code: 'MULTIBOOT_BAD_HEADER' },
    { name: 'load_end_addr past the end of the file', img: () => aoutImage(0x200, 0x40, { load_end_addr: 0x100400, bss_end_addr: 0 }), code: 'MULTIBOOT_TRUNCATED' },
    { name: 'address fields cut off by the end of file', img: () => aoutImage(0x200, 0x40).slice(0, 0x40 + 20), code: 'MULTIBOOT_TRUNCATED' },
    { name: 'entry outside the image', img: () => aoutImage(0x200, 0x40, { entry_addr: 0x200000 }), code: 'ENTRY_OUTSIDE_IMAGE' },
    { name: 'load_addr above RAM', img: () => aoutImage(0x200, 0x40, { load_addr: 0xe0000000, header_addr: 0xe0000040, load_end_addr: 0xe0000200, bss_end_addr: 0, entry_addr: 0xe0000000 }), code: 'SEGMENT_OUTSIDE_RAM' },
    { name: 'bad checksum: not multiboot, not ELF', img: () => { const i = aoutImage(0x200, 0x40); i[0x48] ^= 1; return i; }, code: 'ELF_BAD_MAGIC' },
    { name: 'valid header without flag 16 in a non-ELF file', img: () => { const i = pattern(0x200); i.set(mbHeader(0), 0x40); return i; }, code: 'ELF_BAD_MAGIC' },
  ];
  for (const c of bad) {
    test(`${c.name} -> ${c.code}`, () => {
      const mem = new GuestMemory(16 * MiB);
      expect(code(() => setupBoot(c.img(), mem, {}))).toBe(c.code);
      expect(mem.readBytes(0, 2 * MiB).every((b) => b === 0)).toBe(true);
    });
  }

  test('header search covers file offsets below 8192 - 48, as QEMU does', () => {
    const at = (off: number): Uint8Array => {
      const img = aoutImage(0x3000, off, { header_addr: 0x100000 + off, load_end_addr: 0x103000, bss_end_addr: 0, entry_addr: 0x100000 });
      return img;
    };
    expect(loadKernel(at(8140), new GuestMemory(16 * MiB)).protocol).toBe('multiboot');
    expect(code(() => loadKernel(at(8144), new GuestMemory(16 * MiB)))).toBe('ELF_BAD_MAGIC');
  });

  test('a kernel over QEMU\'s multiboot info area (0x9000) -> BOOT_DATA_OVERLAP', () => {
    const img = aoutImage(0x200, 0x40, { load_addr: 0x8000, header_addr: 0x8040, load_end_addr: 0x8200, bss_end_addr: 0xa000, entry_addr: 0x8000 });
    expect(code(() => setupBoot(img, new GuestMemory(16 * MiB), {}))).toBe('BOOT_DATA_OVERLAP');
  });

  test('a module that does not fit in RAM -> INITRD_TOO_LARGE', () => {
    expect(code(() => setupBoot(aoutImage(0x200, 0x40), new GuestMemory(4 * MiB), { initrd: new Uint8Array(3 * MiB) }))).toBe('INITRD_TOO_LARGE');
  });

  test('video mode request is reported as a warning, as QEMU does', () => {
    const img = aoutImage(0x200, 0x40, { flags: (1 << 16) | (1 << 2) });
    expect(loadKernel(img, new GuestMemory(16 * MiB)).warnings.join()).toMatch(/video/);
  });
});

describe('multiboot ELF (flag 16 clear)', () => {
  const headerSeg = (): Uint8Array => { const d = pattern(0x100); d.set(mbHeader(0x3), 0); return d; };

  test('ELF32: segments at p_paddr, entry = e_entry translated to physical', () => {
    const { image } = buildElf({
      cls: 32, entry: 0xc0100010,
      segments: [{ paddr: 0x100000, vaddr: 0xc0100000, data: headerSeg(), memsz: 0x2000 }],
    });
    const mem = new GuestMemory(16 * MiB);
    const s = setupBoot(image, mem, { initrd: pattern(100), initrdName: 'rd.img' });
    expect(s.kernel.protocol).toBe('multiboot');
    expect(s.kernel.entry).toBe(0x100010);
    expect(s.state.regs.rip).toBe(0x100010n);
    const mods = mem.readU32(0x9500 + 24);
    expect(mods).toBe(0x102000);
    expect(mem.readU32(mods)).toBe(0x103000);
    expect(cstr(mem, mem.readU32(mods + 8))).toBe('rd.img');
    expect(cstr(mem, mem.readU32(0x9500 + 16))).toBe('kernel '); // QEMU: "%s %s" with an empty -append
  });

  test('ELF64 multiboot image -> MULTIBOOT_ELF64 (QEMU refuses it too)', () => {
    const { image } = buildElf({ cls: 64, entry: 0x100000, segments: [{ paddr: 0x100000, data: headerSeg() }] });
    expect(code(() => loadKernel(image, new GuestMemory(16 * MiB)))).toBe('MULTIBOOT_ELF64');
  });

  test('ELF64 with both a multiboot header and a PVH note boots through PVH', () => {
    const { image } = buildElf({ cls: 64, entry: 0x100000, segments: [{ paddr: 0x100000, data: headerSeg() }], notes: [pvhNote(0x100020)] });
    const r = loadKernel(image, new GuestMemory(16 * MiB));
    expect([r.protocol, r.entry]).toEqual(['pvh', 0x100020]);
  });

  test('ELF32 with both: multiboot wins, as in QEMU', () => {
    const { image } = buildElf({ cls: 32, entry: 0x100000, segments: [{ paddr: 0x100000, data: headerSeg() }], notes: [pvhNote(0x100020)] });
    expect(loadKernel(image, new GuestMemory(16 * MiB)).protocol).toBe('multiboot');
  });

  test('configureMultiboot refuses a PVH kernel', () => {
    const mem = new GuestMemory(16 * MiB);
    const { image } = buildElf({ cls: 64, segments: [{ paddr: 0x100000, data: pattern(0x40) }], notes: [pvhNote(0x100000)] });
    const kernel = loadKernel(image, mem);
    expect(code(() => configureMultiboot(mem, { kernel }))).toBe('WRONG_PROTOCOL');
  });
});
