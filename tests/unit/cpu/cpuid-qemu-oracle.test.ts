/**
 * Oracle test: QEMU's own CPU models (TCG) against ours. A small multiboot
 * guest (guests/cpuid-dump.c) prints CPUID under qemu-system-x86_64; our
 * qemu64/kvm64 models must give the same registers for the leaves we model
 * after QEMU (signature, vendor, feature words with the AMD aliases, brand,
 * topology for -smp N, address sizes). Known, deliberate differences are
 * skipped and listed here:
 * - 0x80000000 EAX: QEMU reports 0x8000000A (SVM leaf); we stop at 0x80000008.
 * - 0x80000000 EBX..EDX, 0x80000001 EAX and 0x80000008 ECX on Intel models:
 *   QEMU fills them, real Intel CPUs return 0 there, as we do.
 * - cache leaves 0x80000005/6 and the hypervisor signature 0x40000000 (TCG's).
 */
import { describe, expect, test, beforeAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import { ALL_FEATURES } from '../../../src/cpu/features.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const QEMU = '/usr/bin/qemu-system-x86_64';
const haveQemu = existsSync(QEMU);
if (!haveQemu) console.warn('cpuid-qemu-oracle: skipped, qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');

type Regs = [number, number, number, number];

function runQemu(elf: string, cpuArgs: string[]): Map<string, Regs> {
  // Serial to a file: a pipe can be momentarily full and QEMU's UART would then drop characters.
  const log = join(mkdtempSync(join(tmpdir(), 'cpuid-dump-out-')), 'serial.txt');
  const r = spawnSync(QEMU, ['-M', 'pc', '-accel', 'tcg', ...cpuArgs, '-display', 'none', '-serial', `file:${log}`, '-monitor', 'none',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-no-reboot', '-kernel', elf], { encoding: 'utf8', timeout: 60_000 });
  const stdout = existsSync(log) ? readFileSync(log, 'utf8') : '';
  const out = new Map<string, Regs>();
  for (const line of stdout.split('\n')) {
    const m = /^CPUID ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8})/.exec(line);
    if (m) out.set(`${parseInt(m[1]!, 16)}.${parseInt(m[2]!, 16)}`, [m[3]!, m[4]!, m[5]!, m[6]!].map((h) => parseInt(h, 16)) as Regs);
  }
  if (!stdout.includes('END')) throw new Error(`guest did not finish: ${r.stderr}`);
  if (out.size !== 18) throw new Error(`expected 18 CPUID lines, got ${out.size}:\n${stdout}`);
  return out;
}

describe.runIf(haveQemu)('our QEMU models vs QEMU TCG', () => {
  let elf = '';
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'cpuid-dump-'));
    elf = join(dir, 'cpuid-dump.elf');
    execFileSync('gcc', ['-m32', '-ffreestanding', '-fno-pic', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-nostdlib',
      '-static', '-O1', '-Wl,-T,' + join(here, 'guests/cpuid-dump.ld'), '-Wl,--build-id=none', '-o', elf, join(here, 'guests/cpuid-dump.c')]);
  });

  // Our model with every feature "supported" except the KVM paravirtual ones (TCG has none).
  const supported = new Set(ALL_FEATURES.filter((f) => !f.startsWith('kvm')));
  const cases: Array<{ model: 'qemu64' | 'kvm64'; cpus: number; intel: boolean }> = [
    { model: 'qemu64', cpus: 1, intel: false },
    { model: 'qemu64', cpus: 4, intel: false },
    { model: 'kvm64', cpus: 2, intel: true },
  ];
  for (const c of cases) {
    test(`${c.model} -smp ${c.cpus}`, () => {
      const q = runQemu(elf, ['-cpu', c.model, '-smp', String(c.cpus)]);
      const p = createCpuidPolicy({ model: c.model, cpus: c.cpus, accel: 'kvm', supported });
      const ours = (leaf: number, sub = 0): Regs => { const r = p.lookup(0, leaf, sub); return [r.eax, r.ebx, r.ecx, r.edx]; };
      const theirs = (leaf: number, sub = 0): Regs => { const r = q.get(`${leaf}.${sub}`); if (!r) throw new Error(`no ${leaf}`); return r; };
      for (const [leaf, sub] of [[0, 0], [1, 0], [7, 0], [0xb, 0], [0xb, 1], [0x80000001, 0], [0x80000002, 0], [0x80000003, 0], [0x80000004, 0], [0x80000007, 0]] as const) {
        const want = theirs(leaf, sub);
        if (c.intel && leaf === 0x80000001) want[0] = 0;
        expect({ leaf: leaf.toString(16), sub, regs: ours(leaf, sub) }).toEqual({ leaf: leaf.toString(16), sub, regs: want });
      }
      expect(ours(0x80000008)[0]).toBe(theirs(0x80000008)[0]);
      if (!c.intel) {
        expect(ours(0x80000008)[2]).toBe(theirs(0x80000008)[2]);
        expect(ours(0x80000000).slice(1)).toEqual(theirs(0x80000000).slice(1));
      }
    });
  }
});
