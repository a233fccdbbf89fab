/**
 * bench-cpu-native runs the same workload as the bench-cpu guest. Its
 * checksums are checked against an independent TypeScript implementation
 * of three of the four phases (FNV-1a/CRC-32, sort, matrix product), and
 * all against the recorded values that the guest must reproduce.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, test } from 'vitest';
import { BENCH_CPU, BENCH_NATIVE_PATH, benchChecksums, buildFirmware, serialLines } from './expectations.js';

const M64 = (1n << 64n) - 1n;

function lcg(state: { s: number }): number {
  state.s = (Math.imul(state.s, 1664525) + 1013904223) >>> 0;
  return state.s;
}

function hex16(v: bigint): string {
  return (v & M64).toString(16).padStart(16, '0');
}

/** Phase "hash": FNV-1a 64 and CRC-32 (IEEE, reflected) over xorshift64 bytes, two rounds. */
function oracleHash(n: number): string {
  const len = n * 16;
  const buf = new Uint8Array(len);
  let seed = 0x9e3779b97f4a7c15n;
  for (let i = 0; i + 8 <= len; i += 8) {
    let x = seed;
    x ^= (x << 13n) & M64;
    x ^= x >> 7n;
    x ^= (x << 17n) & M64;
    seed = x;
    for (let k = 0; k < 8; k++) buf[i + k] = Number((x >> BigInt(8 * k)) & 0xffn);
  }
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
    table[i] = c >>> 0;
  }
  let h = 0xcbf29ce484222325n;
  let crc = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < len; i++) h = ((h ^ BigInt(buf[i]!)) * 0x100000001b3n) & M64;
    let c = ~crc >>> 0;
    for (let i = 0; i < len; i++) c = (table[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
    crc = ~c >>> 0;
    const at = (round * 977) % len;
    buf[at] = buf[at]! ^ Number(h & 0xffn);
  }
  return hex16(h ^ (BigInt(crc) << 32n) ^ BigInt(crc));
}

/** Phase "sort": n LCG keys, sorted; sum of key * (index + 1) mod 2^64. */
function oracleSort(n: number): string {
  const st = { s: 12345 };
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = lcg(st);
  a.sort();
  let sum = 0n;
  for (let i = 0; i < n; i++) sum = (sum + BigInt(a[i]!) * BigInt(i + 1)) & M64;
  return hex16(sum);
}

/** Phase "matmul": m x m uint32 matrices, m = floor(isqrt(n) * 3 / 4). */
function oracleMatmul(n: number): string {
  let m = Math.floor((Math.floor(Math.sqrt(n)) * 3) / 4);
  if (m < 8) m = 8;
  const st = { s: 777 };
  const a = new Uint32Array(m * m);
  const b = new Uint32Array(m * m);
  for (let i = 0; i < m * m; i++) {
    a[i] = lcg(st) >>> 22;
    b[i] = lcg(st) >>> 22;
  }
  const c = new Uint32Array(m * m);
  for (let i = 0; i < m; i++)
    for (let k = 0; k < m; k++)
      for (let j = 0; j < m; j++) c[i * m + j] = (c[i * m + j]! + Math.imul(a[i * m + k]!, b[k * m + j]!)) >>> 0;
  let sum = 0n;
  for (let i = 0; i < m * m; i++) sum = (sum * 31n + BigInt(c[i]!)) & M64;
  return hex16(sum ^ BigInt(m));
}

function runNative(n: number): string {
  return execFileSync(BENCH_NATIVE_PATH, [`n=${n}`], { encoding: 'utf8' });
}

beforeAll(() => buildFirmware());

describe('bench-cpu-native', () => {
  test('prints one line per phase and DONE', () => {
    const out = runNative(1000);
    const lines = serialLines(out).filter((l) => l.startsWith('bench '));
    expect(lines.map((l) => BENCH_CPU.line.exec(l)?.[1])).toEqual(['hash', 'sort', 'matmul', 'string', 'total']);
    expect(out).toContain(BENCH_CPU.done);
  });

  test.each([64, 1000, 5000])('hash, sort and matmul agree with an independent implementation (n=%i)', (n) => {
    const sums = benchChecksums(runNative(n));
    expect(sums.get('hash')).toBe(oracleHash(n));
    expect(sums.get('sort')).toBe(oracleSort(n));
    expect(sums.get('matmul')).toBe(oracleMatmul(n));
  });

  test('n=1000 gives the recorded checksums (the guest must print the same)', () => {
    expect(Object.fromEntries(benchChecksums(runNative(1000)))).toEqual(BENCH_CPU.checksumsN1000);
  });

  test('rejects a bad n', () => {
    expect(() => execFileSync(BENCH_NATIVE_PATH, ['n=1'], { stdio: 'pipe' })).toThrow();
    expect(() => execFileSync(BENCH_NATIVE_PATH, ['x=5'], { stdio: 'pipe' })).toThrow();
  });
});
