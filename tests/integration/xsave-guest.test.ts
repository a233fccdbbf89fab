// The xsave guest (firmware/xsave: XSAVE feature set and BMI1/BMI2/ADX/MOVBE/
// LZCNT as a guest OS uses them, self-checked against the SDM's rules) on the
// JIT: with `-cpu max` every check runs and passes; with qemu64 (no XSAVE, no
// BMI) the guest checks that CR4.OSXSAVE cannot be set and XGETBV is #UD.
// Under Debian's QEMU TCG (an independent implementation) every check that
// QEMU passes must be one the JIT passes too (QEMU 7.2's TCG misses a few
// XSAVE rules, e.g. no #GP for reserved MXCSR bits in XRSTOR).
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startVm } from '../../src/index.js';
import { debugExit, fw, MiB } from './library-helpers.js';

const guest = fw('xsave.elf');
const haveGuest = existsSync(guest);
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

async function runJit(model: string): Promise<string> {
  await using vm = await startVm({ kernel: guest, accel: 'jit', cpu: { model }, memory: 64 * MiB, devices: [debugExit] });
  const exit = await vm.exited;
  const out = vm.output().replace(/\r/g, '');
  expect(exit, out).toEqual({ kind: 'debug-exit', code: 1, status: 1 });
  return out;
}

const results = (out: string): string[] => out.split('\n').filter((l) => / (ok|FAIL)$/.test(l));

describe.skipIf(!haveGuest)('xsave guest on the JIT', () => {
  test('-cpu max: XSAVE, XSAVEOPT, XSAVEC, XGETBV1, AVX state, BMI1/BMI2/ADX/MOVBE/LZCNT', async () => {
    const out = await runJit('max');
    expect(out).toContain('xsave cpuid xsave=1 avx=1 xsaveopt=1 xsavec=1 xgetbv1=1');
    expect(out).toContain('xsave cpuid 0dh.0 eax=7 ebx=832 ecx=832; 0dh.1 eax=7');
    expect(out).toContain('xsave xsavec compacted round trip ok');
    expect(out).toContain('xsave bitmanip bmi1=1 bmi2=1 adx=1 movbe=1 lzcnt=1');
    expect(results(out).filter((l) => l.endsWith('FAIL'))).toEqual([]);
    expect(results(out).length).toBeGreaterThanOrEqual(30);
    expect(out).toContain('XSAVE OK');

    if (haveQemu) {
      const q = spawnSync('qemu-system-x86_64', [
        '-machine', 'microvm,pit=off,pic=off,rtc=on', '-m', '128M', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
        '-no-reboot', '-cpu', 'max', '-kernel', guest, '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
      ], { encoding: 'utf8', timeout: 60_000 });
      const qemuOk = results(q.stdout.replace(/\r/g, '')).filter((l) => l.endsWith(' ok'));
      expect(qemuOk.length).toBeGreaterThan(20);
      const jitOk = new Set(results(out));
      expect(qemuOk.filter((l) => !jitOk.has(l))).toEqual([]);
    }
  }, 120_000);

  test('qemu64: no XSAVE (CR4.OSXSAVE #GP, XGETBV #UD), no BMI', async () => {
    const out = await runJit('qemu64');
    expect(out).toContain('xsave cpuid xsave=0 avx=0 xsaveopt=0 xsavec=0 xgetbv1=0');
    expect(out).toContain('xsave absent: mov cr4.osxsave #GP ok');
    expect(out).toContain('xsave absent: xgetbv #UD ok');
    expect(out).toContain('xsave bitmanip bmi1=0 bmi2=0 adx=0 movbe=0 lzcnt=0');
    expect(out).toContain('XSAVE OK');
  }, 60_000);
});
