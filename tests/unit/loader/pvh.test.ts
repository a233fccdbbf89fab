import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  configurePvh, loadKernel, microvmE820, initrdAddress, LoaderError, setupBoot, type LoaderErrorCode,
} from '../../../src/loader/index.js';
import { buildElf, pattern, pvhNote } from './elf-builder.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function code(fn: () => unknown): LoaderErrorCode | undefined {
  try { fn(); } catch (e) { if (e instanceof LoaderError) return e.code; throw e; }
  return undefined;
}

// xen/include/public/arch-x86/hvm/start_info.h offsets, written out by hand.
const SI = { magic: 0, version: 4, flags: 8, nr_modules: 12, modlist_paddr: 16, cmdline_paddr: 24, rsdp_paddr: 32, memmap_paddr: 40, memmap_entries: 48, reserved: 52 };

describe('hvm_start_info', () => {
  test('layout byte by byte', () => {
    const mem = new GuestMemory(512 * MiB);
    const initrd = pattern(0x1234, 5);
    const r = configurePvh(mem, { cmdline: 'console=ttyS0 quiet', initrd, rsdpGpa: 0xe0000 });
    const si = mem.readBytes(r.startInfoGpa, 56);
    const dv = new DataView(si.buffer);
    expect(r.startInfoGpa % 8).toBe(0);
    // magic 0x336ec578 little-endian
    expect([...si.subarray(0, 4)]).toEqual([0x78, 0xc5, 0x6e, 0x33]);
    expect(dv.getUint32(SI.version, true)).toBe(1);
    expect(dv.getUint32(SI.flags, true)).toBe(0);
    expect(dv.getUint32(SI.nr_modules, true)).toBe(1);
    const modlist = Number(dv.getBigUint64(SI.modlist_paddr, true));
    const cmdline = Number(dv.getBigUint64(SI.cmdline_paddr, true));
    expect(dv.getBigUint64(SI.rsdp_paddr, true)).toBe(0xe0000n);
    const memmap = Number(dv.getBigUint64(SI.memmap_paddr, true));
    const entries = dv.getUint32(SI.memmap_entries, true);
    expect(dv.getUint32(SI.reserved, true)).toBe(0);

    // Command line: NUL-terminated at cmdline_paddr.
    expect(new TextDecoder().decode(mem.readBytes(cmdline, 19))).toBe('console=ttyS0 quiet');
    expect(mem.readU8(cmdline + 19)).toBe(0);

    // Module 0 = initrd: QEMU's placement, initrd_max = 0x1fffffff, (max - 0x1234) & ~4095.
    expect(modlist % 8).toBe(0);
    expect(mem.readU64(modlist)).toBe(0x1fffe000n);
    expect(mem.readU64(modlist + 8)).toBe(0x1234n);
    expect(mem.readU64(modlist + 16)).toBe(0n);
    expect(mem.readU64(modlist + 24)).toBe(0n);
    expect(mem.readBytes(0x1fffe000, 0x1234)).toEqual(initrd);
    expect(r.initrd).toEqual({ gpa: 0x1fffe000, size: 0x1234 });

    // Memory map, as QEMU microvm + qboot report it for 512 MiB.
    const expected: Array<[number, number, number]> = [
      [0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xd0000, 0x20000, 4], [0xf0000, 0x10000, 2], [0x100000, 512 * MiB - 0x100000, 1],
    ];
    expect(entries).toBe(expected.length);
    expected.forEach(([addr, size, type], i) => {
      const o = memmap + i * 24;
      expect(mem.readU64(o)).toBe(BigInt(addr));
      expect(mem.readU64(o + 8)).toBe(BigInt(size));
      expect(mem.readU32(o + 16)).toBe(type);
      expect(mem.readU32(o + 20)).toBe(0);
    });
  });

  test('no initrd: nr_modules 0, modlist_paddr 0; empty cmdline is still a valid pointer', () => {
    const mem = new GuestMemory(16 * MiB);
    const r = configurePvh(mem, {});
    expect(mem.readU32(r.startInfoGpa + SI.nr_modules)).toBe(0);
    expect(mem.readU64(r.startInfoGpa + SI.modlist_paddr)).toBe(0n);
    expect(mem.readU64(r.startInfoGpa + SI.rsdp_paddr)).toBe(0n);
    const cmd = Number(mem.readU64(r.startInfoGpa + SI.cmdline_paddr));
    expect(cmd).not.toBe(0);
    expect(mem.readU8(cmd)).toBe(0);
  });

  test('boot structures lie in the e820 hole 0xa0000-0xd0000 (never reported as RAM)', () => {
    const mem = new GuestMemory(16 * MiB);
    const r = configurePvh(mem, { cmdline: 'x'.repeat(5000) });
    for (const gpa of [r.startInfoGpa, r.cmdlineGpa, r.memmapGpa, r.cmdlineGpa + 5000]) {
      expect(gpa).toBeGreaterThanOrEqual(0xa0000);
      expect(gpa).toBeLessThan(0xd0000);
      expect(r.memmap.some((e) => gpa >= e.addr && gpa < e.addr + e.size)).toBe(false);
    }
  });
});

describe('memory map', () => {
  test('above 3 GiB, RAM continues at 4 GiB (microvm)', () => {
    const map = microvmE820(4 * GiB);
    expect(map.at(-2)).toEqual({ addr: 0x100000, size: 3 * GiB - 0x100000, type: 1 });
    expect(map.at(-1)).toEqual({ addr: 4 * GiB, size: 1 * GiB, type: 1 });
  });
  test('exactly 1 MiB: no RAM entry above 1 MiB', () => {
    expect(microvmE820(MiB).length).toBe(4);
  });
  test('less than 1 MiB -> RAM_TOO_SMALL', () => {
    expect(code(() => microvmE820(512 * 1024))).toBe('RAM_TOO_SMALL');
  });
});

describe('initrd placement (QEMU x86_load_linux, PVH branch)', () => {
  const cases: Array<{ ram: number; size: number; gpa: number }> = [
    { ram: 512 * MiB, size: 0x1234, gpa: 0x1fffe000 },
    { ram: 512 * MiB, size: 0x1000, gpa: 0x1fffe000 }, // (0x1fffffff - 0x1000) & ~0xfff
    { ram: 512 * MiB, size: 0xfff, gpa: 0x1ffff000 },
    { ram: 4 * GiB, size: 10 * MiB, gpa: 0xbf5ff000 }, // below_4g = 3 GiB
  ];
  for (const c of cases) {
    test(`ram ${c.ram / MiB} MiB, initrd ${c.size} bytes -> 0x${c.gpa.toString(16)}`, () => {
      expect(initrdAddress(c.ram, c.size)).toBe(c.gpa);
    });
  }
  test('initrd as large as low RAM -> INITRD_TOO_LARGE', () => {
    expect(code(() => initrdAddress(16 * MiB, 16 * MiB))).toBe('INITRD_TOO_LARGE');
  });
  test('initrd that would reach below 1 MiB -> INITRD_TOO_LARGE', () => {
    expect(code(() => initrdAddress(16 * MiB, 15 * MiB + 0x10))).toBe('INITRD_TOO_LARGE');
  });
  test('initrd over the kernel -> INITRD_OVERLAPS_KERNEL, nothing written', () => {
    const mem = new GuestMemory(16 * MiB);
    const { image } = buildElf({ cls: 64, segments: [{ paddr: 15 * MiB, data: pattern(0x100), memsz: 0x80000 }], notes: [pvhNote(15 * MiB)] });
    const kernel = loadKernel(image, mem);
    const before = mem.readBytes(0xc0000, 0x2000);
    expect(code(() => configurePvh(mem, { kernel, initrd: pattern(2 * MiB) }))).toBe('INITRD_OVERLAPS_KERNEL');
    expect(mem.readBytes(0xc0000, 0x2000)).toEqual(before);
  });
});

describe('command line', () => {
  test('NUL inside -> CMDLINE_INVALID', () => {
    expect(code(() => configurePvh(new GuestMemory(16 * MiB), { cmdline: 'a\0b' }))).toBe('CMDLINE_INVALID');
  });
  test('longer than the area -> CMDLINE_TOO_LONG', () => {
    expect(code(() => configurePvh(new GuestMemory(16 * MiB), { cmdline: 'x'.repeat(0x10000) }))).toBe('CMDLINE_TOO_LONG');
  });
  test('UTF-8 is passed through byte for byte', () => {
    const mem = new GuestMemory(16 * MiB);
    const r = configurePvh(mem, { cmdline: 'é' });
    expect([...mem.readBytes(r.cmdlineGpa, 3)]).toEqual([0xc3, 0xa9, 0]);
  });
});

describe('setupBoot (PVH)', () => {
  test('EBX points at hvm_start_info and RIP at the note entry; ACPI rsdp is passed', () => {
    const mem = new GuestMemory(32 * MiB);
    const { image } = buildElf({ cls: 64, segments: [{ paddr: 0x200000, data: pattern(0x100) }], notes: [pvhNote(0x200040)] });
    const s = setupBoot(image, mem, {
      cmdline: 'hello',
      acpi: { cpus: 2, ioapics: [{ id: 0, gpa: 0xfec00000, gsiBase: 0 }], virtioDevices: [] },
    });
    expect(s.kernel.protocol).toBe('pvh');
    expect(s.state.regs.rip).toBe(0x200040n);
    expect(s.state.regs.gpr[3]).toBe(BigInt(s.pvh!.startInfoGpa));
    expect(mem.readU64(s.pvh!.startInfoGpa + SI.rsdp_paddr)).toBe(BigInt(s.acpi!.rsdpGpa));
    expect(String.fromCharCode(...mem.readBytes(s.acpi!.rsdpGpa, 8))).toBe('RSD PTR ');
  });

  test('an initrd too large fails before the kernel is written', () => {
    const mem = new GuestMemory(8 * MiB);
    const { image } = buildElf({ cls: 64, segments: [{ paddr: 0x200000, data: pattern(0x100) }], notes: [pvhNote(0x200000)] });
    expect(code(() => setupBoot(image, mem, { initrd: new Uint8Array(8 * MiB) }))).toBe('INITRD_TOO_LARGE');
    expect(mem.readBytes(0x200000, 0x100).every((b) => b === 0)).toBe(true);
  });
});

describe('microvm kernel command line (hw/i386/microvm.c microvm_fix_kernel_cmdline)', () => {
  test('acpi=off appends virtio_mmio.device=512@base:gsi, highest transport first', async () => {
    const { microvmKernelCmdline, microvmVirtioGsi } = await import('../../../src/loader/index.js');
    const t = [0, 7].map((index) => ({ index, gsi: microvmVirtioGsi(index, false, false) }));
    expect(microvmKernelCmdline('console=ttyS0', false, t))
      .toBe('console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00000:5');
    expect(microvmKernelCmdline('console=ttyS0', true, t)).toBe('console=ttyS0');
    expect(microvmVirtioGsi(23, true, true)).toBe(47);
    expect(microvmVirtioGsi(3, true, false)).toBe(19);
  });
});
