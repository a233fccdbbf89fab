/**
 * The simd workloads (firmware/simd) checked against Node's crypto
 * (OpenSSL) and independent TypeScript for CRC-32C, popcount and the
 * integer mix; the portable and accelerated paths must print the same
 * result lines (the host CPU here has SHA-NI, AES-NI, PCLMULQDQ, AVX2).
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, test } from 'vitest';
import { SIMD, SIMD_NATIVE_PATH, buildFirmware } from './expectations.js';
import { expectedSimdLines } from './simd-oracle.js';

function run(args: string[]): string {
  return execFileSync(SIMD_NATIVE_PATH, args, { encoding: 'utf8' });
}

beforeAll(() => buildFirmware());

describe('simd-native', () => {
  test.each([1024, 4160, 65536])('results equal OpenSSL and the TypeScript oracles (n=%i)', (n) => {
    const out = run([`n=${n}`]);
    expect(SIMD.resultLines(out)).toEqual(expectedSimdLines(n));
    expect(out).toContain(SIMD.ok);
  });

  test('the portable path alone prints the same results and no accelerated timings', () => {
    const auto = run(['n=8192']);
    const base = run(['n=8192', 'impl=baseline']);
    expect(SIMD.resultLines(base)).toEqual(SIMD.resultLines(auto));
    expect(base).not.toMatch(/sha-ni|aesni|sse4\.2 tsc|avx2 tsc/);
    // accelerated timings appear exactly for the extensions the host reports
    const has = (f: string): boolean => new RegExp(`time features .*\\b${f}=1`).test(auto);
    expect(/time sha256 sha-ni/.test(auto)).toBe(has('sha') && has('sse4\\.1') && has('ssse3'));
    expect(/time aes-128-gcm aesni\+pclmul/.test(auto)).toBe(has('aes') && has('pclmul'));
    expect(/time mix32 avx2/.test(auto)).toBe(has('avx2'));
  });
});
