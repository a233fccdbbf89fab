/**
 * Differential test against QEMU's own microvm (Debian qemu-system-x86, TCG):
 * the same PVH guest (fixtures/pvh-dump.S) prints what its boot loader gave
 * it, once under QEMU and once as our setupBoot wrote it, and the two must
 * agree: hvm_start_info fields, the memory map, the command line, the initrd
 * module, and the ACPI tables (FADT and MADT byte for byte, the DSDT device
 * AML byte for byte inside QEMU's DSDT), and the MP table in the EBDA.
 * Addresses of the structures
 * themselves may differ (QEMU's firmware keeps them elsewhere).
 * Skips with a reason when QEMU or binutils is missing (.ci/run installs both).
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  setupBoot, microvmAcpiOptions, acpiChecksum, microvmKernelCmdline, microvmVirtioGsi, type AcpiOptions,
} from '../../../src/loader/index.js';
import { dsdtDevices, dsdtSleepStates } from '../../../src/loader/acpi/tables.js';
import { pattern } from './elf-builder.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const ok = (cmd: string, arg = '--version'): boolean => spawnSync(cmd, [arg], { encoding: 'utf8' }).status === 0;
const haveQemu = ok('qemu-system-x86_64') && ok('as') && ok('ld');

type Dump = { single: Map<string, Uint8Array>; tables: Uint8Array[] };

function parseDump(text: string): Dump {
  const single = new Map<string, Uint8Array>();
  const tables: Uint8Array[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Z_0-9]+):([0-9a-f]*)\r?$/.exec(line);
    if (!m) continue;
    const bytes = Uint8Array.from((m[2]!.match(/../g) ?? []).map((h) => parseInt(h, 16)));
    if (m[1] === 'TABLE') tables.push(bytes); else single.set(m[1]!, bytes);
  }
  return { single, tables };
}

/** What pvh-dump.S would print when started with our boot state. */
function dumpOurs(mem: GuestMemory, startInfo: number): Dump {
  const single = new Map<string, Uint8Array>();
  const tables: Uint8Array[] = [];
  const u32 = (a: number): number => mem.readU32(a);
  single.set('START_INFO', mem.readBytes(startInfo, 56));
  single.set('MEMMAP', mem.readBytes(u32(startInfo + 40), u32(startInfo + 48) * 24));
  const cmd = u32(startInfo + 24);
  let n = 0;
  while (mem.readU8(cmd + n) !== 0) n++;
  single.set('CMDLINE', mem.readBytes(cmd, n));
  const nr = u32(startInfo + 12);
  single.set('MODLIST', mem.readBytes(u32(startInfo + 16), nr * 32));
  if (nr > 0) single.set('MODULE0', mem.readBytes(u32(u32(startInfo + 16)), 64));
  const rsdp = u32(startInfo + 32);
  if (rsdp !== 0) {
    single.set('RSDP', mem.readBytes(rsdp, 36));
    const xsdt = u32(rsdp + 24);
    single.set('XSDT', mem.readBytes(xsdt, u32(xsdt + 4)));
    let dsdt = 0;
    for (let i = 0; i < (u32(xsdt + 4) - 36) / 8; i++) {
      const t = u32(xsdt + 36 + 8 * i);
      if (u32(t) === 0x50434146) dsdt = u32(t + 40);
      tables.push(mem.readBytes(t, u32(t + 4)));
    }
    if (dsdt) single.set('DSDT', mem.readBytes(dsdt, u32(dsdt + 4)));
  }
  single.set('EBDA', mem.readBytes(0x9fc00, 0x400));
  return { single, tables };
}

const le32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const le64 = (b: Uint8Array, o: number): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(o, true);
const sigOf = (b: Uint8Array): string => String.fromCharCode(...b.subarray(0, 4));
function contains(hay: Uint8Array, needle: number[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
/** Memory map entries with a non-zero size (qboot leaves an all-zero slot at the end). */
function memmapEntries(b: Uint8Array): Array<[bigint, bigint, number]> {
  const out: Array<[bigint, bigint, number]> = [];
  for (let o = 0; o + 24 <= b.length; o += 24) {
    if (le64(b, o + 8) !== 0n) out.push([le64(b, o), le64(b, o + 8), le32(b, o + 16)]);
  }
  return out;
}

describe.skipIf(!haveQemu)('PVH boot data vs QEMU microvm (skipped without qemu-system-x86 and binutils)', () => {
  test('same start_info, memmap, cmdline, initrd module and ACPI tables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qemu-pvh-'));
    try {
      const sh = (cmd: string, args: string[]): void => {
        const p = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`${cmd} failed: ${p.stderr}`);
      };
      sh('as', ['--32', '-o', 'g.o', join(fixtures, 'pvh-dump.S')]);
      sh('ld', ['-m', 'elf_i386', '-T', join(fixtures, 'pvh-dump.lds'), '-o', 'guest', 'g.o']);
      const initrd = pattern(5000, 77);
      writeFileSync(join(dir, 'initrd'), initrd);
      const cmdline = 'console=ttyS0 foo=bar';
      const q = spawnSync('qemu-system-x86_64', [
        '-M', 'microvm', '-m', '512M', '-smp', '2', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
        '-kernel', 'guest', '-initrd', 'initrd', '-append', cmdline,
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-device', 'virtio-rng-device',
      ], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(q.status, `qemu: ${q.stderr}`).toBe(1); // isa-debug-exit: (0 << 1) | 1
      const theirs = parseDump(q.stdout);

      const image = new Uint8Array(readFileSync(join(dir, 'guest')));
      const mem = new GuestMemory(512 * 1024 * 1024);
      const acpi: AcpiOptions = {
        ...microvmAcpiOptions({ cpus: 2, ioapic2: true, rtc: true, isaSerial: true, pic: true, virtioTransports: [23] }),
        // QEMU's microvm has a GED at 0xfea00000 whose registers the FADT names.
        ged: { sleepCtlGpa: 0xfea00200, sleepStsGpa: 0xfea00201, resetGpa: 0xfea00202, resetValue: 0x42 },
      };
      // The MP table's processor entries carry CPUID.1 EAX/EDX of QEMU's CPU model: take them from its table.
      const qebda = theirs.single.get('EBDA')!;
      const mptable = { cpus: 2, cpuSignature: le32(qebda, 16 + 44 + 4), cpuFeatures: le32(qebda, 16 + 44 + 8) };
      const boot = setupBoot(image, mem, { cmdline, initrd, acpi, mptable });
      const ours = dumpOurs(mem, Number(boot.state.regs.gpr[3]));

      const t = (d: Dump, k: string): Uint8Array => {
        const v = d.single.get(k);
        if (!v) throw new Error(`no ${k} line`);
        return v;
      };
      // hvm_start_info: magic, version, flags, nr_modules
      for (const o of [0, 4, 8, 12]) expect(le32(t(ours, 'START_INFO'), o)).toBe(le32(t(theirs, 'START_INFO'), o));
      expect(memmapEntries(t(ours, 'MEMMAP'))).toEqual(memmapEntries(t(theirs, 'MEMMAP')));
      expect(t(ours, 'CMDLINE')).toEqual(t(theirs, 'CMDLINE'));
      // module 0: same address, size, cmdline_paddr (the reserved field is not initialised by QEMU)
      expect(t(ours, 'MODLIST').subarray(0, 24)).toEqual(t(theirs, 'MODLIST').subarray(0, 24));
      expect(t(ours, 'MODULE0')).toEqual(t(theirs, 'MODULE0'));

      // RSDP: all but the checksums and the XSDT address.
      const rsdpMask = (b: Uint8Array): number[] => [...b].filter((_, i) => i !== 8 && !(i >= 24 && i < 33));
      expect(rsdpMask(t(ours, 'RSDP'))).toEqual(rsdpMask(t(theirs, 'RSDP')));
      expect(ours.tables.map(sigOf)).toEqual(theirs.tables.map(sigOf));
      for (const [a, b] of ours.tables.map((x, i) => [x, theirs.tables[i]!] as const)) {
        expect(acpiChecksum(b)).toBe(0);
        // FACP differs only in its DSDT pointers (40..43, 140..147) and so its checksum.
        const skip = sigOf(a) === 'FACP' ? (i: number): boolean => i === 9 || (i >= 40 && i < 44) || (i >= 140 && i < 148) : (): boolean => false;
        expect([...a].filter((_, i) => !skip(i))).toEqual([...b].filter((_, i) => !skip(i)));
      }
      // DSDT: QEMU also describes its fw_cfg, GED and power button, which this machine lacks;
      // every device we describe must appear in QEMU's AML byte for byte.
      const qdsdt = t(theirs, 'DSDT');
      for (const dev of dsdtDevices(acpi)) expect(contains(qdsdt, dev)).toBe(true);
      expect(contains(qdsdt, dsdtSleepStates())).toBe(true);
      expect(dsdtDevices(acpi).length).toBe(3); // COM1, RTC, VR23

      // MP table: floating pointer identical; configuration table identical except its
      // entry count (34..35: qboot leaves 0) and therefore its checksum (7).
      const oe = t(ours, 'EBDA');
      expect(oe.subarray(0, 16)).toEqual(qebda.subarray(0, 16));
      const len = oe[16 + 4]! | (oe[16 + 5]! << 8);
      const mask = (b: Uint8Array): number[] => [...b.subarray(16, 16 + len)].filter((_, i) => i !== 7 && i !== 34 && i !== 35);
      expect(mask(oe)).toEqual(mask(qebda));
      expect(acpiChecksum(oe.subarray(16, 16 + len))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('acpi=off: no RSDP, virtio_mmio.device= appended to the command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qemu-pvh-'));
    try {
      const sh = (cmd: string, args: string[]): void => {
        const p = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`${cmd} failed: ${p.stderr}`);
      };
      sh('as', ['--32', '-o', 'g.o', join(fixtures, 'pvh-dump.S')]);
      sh('ld', ['-m', 'elf_i386', '-T', join(fixtures, 'pvh-dump.lds'), '-o', 'guest', 'g.o']);
      const q = spawnSync('qemu-system-x86_64', [
        '-M', 'microvm,acpi=off', '-m', '256M', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
        '-kernel', 'guest', '-append', 'console=ttyS0',
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-device', 'virtio-rng-device',
      ], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(q.status, `qemu: ${q.stderr}`).toBe(1);
      const theirs = parseDump(q.stdout);
      // Without ACPI, microvm has 8 transports on GSI 5..12 and the first device takes the last one.
      const cmdline = microvmKernelCmdline('console=ttyS0', false, [{ index: 7, gsi: microvmVirtioGsi(7, false, false) }]);
      const mem = new GuestMemory(256 * 1024 * 1024);
      const boot = setupBoot(new Uint8Array(readFileSync(join(dir, 'guest'))), mem, { cmdline, mptable: { cpus: 1 } });
      const ours = dumpOurs(mem, Number(boot.state.regs.gpr[3]));
      expect(new TextDecoder().decode(ours.single.get('CMDLINE'))).toBe(new TextDecoder().decode(theirs.single.get('CMDLINE')));
      expect(le64(theirs.single.get('START_INFO')!, 32)).toBe(0n);
      expect(le64(ours.single.get('START_INFO')!, 32)).toBe(0n);
      expect(memmapEntries(ours.single.get('MEMMAP')!)).toEqual(memmapEntries(theirs.single.get('MEMMAP')!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('QEMU presence is reported', () => {
  if (!haveQemu) console.warn('qemu-system-x86_64 or binutils missing: QEMU differential loader test skipped (Debian: qemu-system-x86, binutils)');
  expect(typeof haveQemu).toBe('boolean');
});
