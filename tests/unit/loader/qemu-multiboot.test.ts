/**
 * Differential test against QEMU's -kernel for multiboot images on microvm
 * (hw/i386/multiboot.c + qboot): fixtures/multiboot-dump.S prints what it was
 * handed; our setupBoot must hand over the same: EAX, EBX, every
 * multiboot_info field, command lines, module placement, memory map, boot
 * loader name. Skips with a reason when QEMU or binutils is missing.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { setupBoot } from '../../../src/loader/index.js';
import { pattern } from './elf-builder.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const ok = (cmd: string): boolean => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const haveQemu = ok('qemu-system-x86_64') && ok('as') && ok('ld');

function parse(text: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_0-9]+):([0-9a-f]*)\r?$/.exec(line);
    if (m) out.set(m[1]!, Uint8Array.from((m[2]!.match(/../g) ?? []).map((h) => parseInt(h, 16))));
  }
  return out;
}

function cstring(mem: GuestMemory, gpa: number): Uint8Array {
  let n = 0;
  while (mem.readU8(gpa + n) !== 0) n++;
  return mem.readBytes(gpa, n);
}

const u32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
/** {size, base, length, type} entries with a non-zero length (qboot leaves one all-zero slot). */
function mmap(b: Uint8Array): Array<[number, bigint, bigint, number]> {
  const dv = new DataView(b.buffer, b.byteOffset);
  const out: Array<[number, bigint, bigint, number]> = [];
  for (let o = 0; o + 24 <= b.length; o += 24) {
    if (dv.getBigUint64(o + 12, true) !== 0n) out.push([dv.getUint32(o, true), dv.getBigUint64(o + 4, true), dv.getBigUint64(o + 12, true), dv.getUint32(o + 20, true)]);
  }
  return out;
}

describe.skipIf(!haveQemu)('multiboot info vs QEMU -kernel on microvm (skipped without qemu-system-x86 and binutils)', () => {
  test('same registers, multiboot_info, command lines, module, mmap and loader name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qemu-mb-'));
    try {
      const sh = (cmd: string, args: string[]): void => {
        const p = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`${cmd} failed: ${p.stderr}`);
      };
      sh('as', ['--32', '-o', 'g.o', join(fixtures, 'multiboot-dump.S')]);
      sh('ld', ['-m', 'elf_i386', '-T', join(fixtures, 'multiboot-dump.lds'), '-o', 'mbk', 'g.o']);
      const module = pattern(5000, 31);
      writeFileSync(join(dir, 'rd.img'), module);
      const q = spawnSync('qemu-system-x86_64', [
        '-M', 'microvm', '-m', '512M', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
        '-kernel', 'mbk', '-initrd', 'rd.img arg1 arg2', '-append', 'console=ttyS0',
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
      ], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(q.status, `qemu: ${q.stderr}`).toBe(1);
      const theirs = parse(q.stdout);

      const mem = new GuestMemory(512 * 1024 * 1024);
      const boot = setupBoot(new Uint8Array(readFileSync(join(dir, 'mbk'))), mem, {
        kernelName: 'mbk', cmdline: 'console=ttyS0', multibootModules: [{ data: module, cmdline: 'rd.img arg1 arg2' }],
      });
      const mbiGpa = Number(boot.state.regs.gpr[3]);
      const mbi = mem.readBytes(mbiGpa, 88);
      const get = (k: string): Uint8Array => { const v = theirs.get(k); if (!v) throw new Error(`no ${k} line in:\n${q.stdout}`); return v; };

      expect(u32(get('MAGIC'), 0)).toBe(Number(boot.state.regs.gpr[0]));
      expect(u32(get('MBI_ADDR'), 0)).toBe(mbiGpa);
      // Every field but mmap_length (44), which counts qboot's extra empty slot.
      expect([...mbi].filter((_, i) => i < 44 || i >= 48)).toEqual([...get('MBI')].filter((_, i) => i < 44 || i >= 48));
      expect(cstring(mem, u32(mbi, 16))).toEqual(get('CMDLINE'));
      const mods = mem.readBytes(u32(mbi, 24), u32(mbi, 20) * 16);
      expect(mods).toEqual(get('MODS'));
      expect(mem.readBytes(u32(mods, 0), 64)).toEqual(get('MODULE0'));
      expect(cstring(mem, u32(mods, 8))).toEqual(get('MODULE0_CMDLINE'));
      expect(mmap(mem.readBytes(u32(mbi, 48), u32(mbi, 44)))).toEqual(mmap(get('MMAP')));
      expect(cstring(mem, u32(mbi, 64))).toEqual(get('LOADER'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('QEMU presence is reported (multiboot)', () => {
  if (!haveQemu) console.warn('qemu-system-x86_64 or binutils missing: QEMU multiboot differential test skipped');
  expect(typeof haveQemu).toBe('boolean');
});
