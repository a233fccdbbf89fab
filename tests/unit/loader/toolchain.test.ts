/**
 * Oracle test: PVH kernels linked by GNU binutils (as/ld, as the firmware/
 * guests are built), checked against readelf and nm. Skips with a reason when
 * binutils is missing (.ci/run installs it).
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { loadKernel, setupBoot } from '../../../src/loader/index.js';

const have = (cmd: string): boolean => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const haveBinutils = have('as') && have('ld') && have('readelf') && have('nm');

const ASM = `
  .section .note.Xen, "a", @note
  .balign 4
  .long 4, 4, 18        /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
  .asciz "Xen"
  .long pvh_start
  .text
  .code32
  .globl pvh_start
pvh_start:
  mov $0x3f8, %dx
  mov $0x41, %al
  out %al, %dx
  hlt
  .data
  .ascii "data!"
  .bss
  .space 0x3000
`;
const LDS = `
ENTRY(pvh_start)
SECTIONS {
  . = 0x200000;
  .text : { *(.text) }
  .note.Xen : { *(.note.Xen) }
  . = ALIGN(0x1000);
  .data : { *(.data) }
  .bss : { *(.bss) }
}
`;

function sh(dir: string, cmd: string, args: string[]): string {
  const p = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${p.stderr}`);
  return p.stdout;
}

describe.skipIf(!haveBinutils)('PVH kernels linked by binutils (skipped without as/ld/readelf)', () => {
  for (const bits of [64, 32] as const) {
    test(`ELF${bits}: segments match readelf -l, entry matches nm`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'pvh-'));
      try {
        writeFileSync(join(dir, 'k.S'), ASM);
        writeFileSync(join(dir, 'k.lds'), LDS);
        sh(dir, 'as', [bits === 64 ? '--64' : '--32', '-o', 'k.o', 'k.S']);
        sh(dir, 'ld', ['-m', bits === 64 ? 'elf_x86_64' : 'elf_i386', '-z', 'max-page-size=0x1000', '-T', 'k.lds', '-o', 'k', 'k.o']);
        const image = new Uint8Array(readFileSync(join(dir, 'k')));
        const loads = sh(dir, 'readelf', ['-lW', 'k']).split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f[0] === 'LOAD')
          .map((f) => ({ offset: parseInt(f[1]!, 16), paddr: parseInt(f[3]!, 16), filesz: parseInt(f[4]!, 16), memsz: parseInt(f[5]!, 16) }))
          .filter((s) => s.memsz > 0);
        expect(loads.length).toBeGreaterThanOrEqual(2);
        const sym = sh(dir, 'nm', ['k']).split('\n').find((l) => l.endsWith(' pvh_start'))!;
        const entry = parseInt(sym.split(' ')[0]!, 16);

        const mem = new GuestMemory(16 * 1024 * 1024);
        mem.fill(0x200000, 0x10000, 0xcc);
        const r = loadKernel(image, mem);
        expect(r.format).toBe(`elf${bits}`);
        expect(r.entry).toBe(entry);
        expect(r.segments.map((s) => ({ offset: s.fileOffset, paddr: s.gpa, filesz: s.fileSize, memsz: s.memSize }))).toEqual(loads);
        for (const s of loads) {
          expect(mem.readBytes(s.paddr, s.filesz)).toEqual(image.subarray(s.offset, s.offset + s.filesz));
          expect(mem.readBytes(s.paddr + s.filesz, s.memsz - s.filesz).every((b) => b === 0)).toBe(true);
        }
        // The entry's first instruction is "mov $0x3f8, %dx" (66 ba f8 03).
        expect([...mem.readBytes(entry, 4)]).toEqual([0x66, 0xba, 0xf8, 0x03]);

        const boot = setupBoot(image, new GuestMemory(16 * 1024 * 1024), { cmdline: 'x' });
        expect(boot.state.regs.rip).toBe(BigInt(entry));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

test('binutils presence is reported', () => {
  if (!haveBinutils) console.warn('as/ld/readelf/nm not found: toolchain oracle tests skipped (install binutils)');
  expect(typeof haveBinutils).toBe('boolean');
});
