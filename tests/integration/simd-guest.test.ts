// The simd guest (firmware/simd: SHA-256, AES-128-GCM, CRC-32C, popcount,
// each with a portable path and an accelerated one chosen from CPUID) on
// the JIT: with `-cpu max` it takes the SHA-NI / AES-NI+PCLMULQDQ / SSE4.2 /
// POPCNT paths, with the baseline model qemu64 the portable ones. The
// result lines ("simd ...") must be identical, and identical to the guest's
// own portable run (impl=baseline) and to the same code run natively on the
// host (firmware/out/simd-native), so an executor bug in any accelerated
// instruction shows up as a MISMATCH line or a different digest.
import { describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startVm } from '../../src/index.js';
import { guestPath, SIMD, SIMD_NATIVE_PATH } from '../unit/firmware/expectations.js';
import { debugExit, MiB } from './library-helpers.js';

// 16 KiB per run in CI; FULL=1 runs 256 KiB.
const BYTES = process.env['FULL'] ? 262144 : 16384;
const haveGuest = existsSync(guestPath('simd'));

async function runGuest(model: string, impl: 'auto' | 'baseline'): Promise<string> {
  await using vm = await startVm({
    kernel: guestPath('simd'), accel: 'jit', cpu: { model }, memory: 128 * MiB,
    append: `n=${BYTES} impl=${impl}`, devices: [debugExit],
  });
  const exit = await vm.exited;
  const out = vm.output();
  expect(out, out).toContain(SIMD.ok);
  expect(exit).toEqual({ kind: 'debug-exit', code: 1, status: 1 });
  return out;
}

const featuresLine = (out: string): string => out.split(/\r?\n/).find((l) => l.startsWith('time features')) ?? '';

describe.skipIf(!haveGuest)('simd guest on the JIT: accelerated paths agree with the portable ones', () => {
  test(`-cpu max (SHA-NI, AES-NI, PCLMULQDQ, SSE4.2, POPCNT, AVX2) vs qemu64 vs impl=baseline, n=${BYTES}`, async () => {
    const max = await runGuest('max', 'auto');
    const f = featuresLine(max);
    // The accelerated paths were really taken: CPUID reported what they need.
    for (const k of ['ssse3=1', 'sse4.1=1', 'sse4.2=1', 'popcnt=1', 'aes=1', 'pclmul=1', 'avx=1', 'avx2=1', 'sha=1', 'xsave=1']) expect(f).toContain(k);
    expect(max).toContain('time sha256 sha-ni');
    expect(max).toContain('time aes-128-gcm aesni+pclmul');
    expect(max).toContain('time crc32c sse4.2');
    expect(max).toContain('time popcount popcnt');
    expect(max).toContain('time mix32 avx2'); // VEX: CR4.OSXSAVE + XSETBV, then AVX2 (runtime/avx.ts)
    expect(max).not.toContain('MISMATCH');

    const base = await runGuest('qemu64', 'auto');
    const fb = featuresLine(base);
    for (const k of ['ssse3=0', 'sse4.2=0', 'popcnt=0', 'aes=0', 'pclmul=0', 'avx2=0', 'sha=0']) expect(fb).toContain(k);
    expect(base).not.toContain('sha-ni');

    const portable = await runGuest('max', 'baseline');
    expect(SIMD.resultLines(max)).toEqual(SIMD.resultLines(base));
    expect(SIMD.resultLines(max)).toEqual(SIMD.resultLines(portable));
    expect(SIMD.resultLines(max)).toContain(SIMD.selftestOk);

    // The same workloads natively on the host CPU (its own hardware SHA/AES paths).
    if (existsSync(SIMD_NATIVE_PATH)) {
      const native = execFileSync(SIMD_NATIVE_PATH, [`n=${BYTES}`]).toString();
      expect(SIMD.resultLines(max)).toEqual(SIMD.resultLines(native));
    }
  }, 600_000);
});
