// Differential test for FMA and F16C against the host CPU (see
// simd-avx.test.ts for the harness): every FMA mnemonic at both vector
// lengths with register and memory operands and VEX.vvvv aliasing, every
// MXCSR rounding mode; F16C conversions with every rounding immediate.
// Random operands and FP specials (NaNs, infinities, denormals, zeros).
import { describe, expect, test } from 'vitest';
import { differential, R, Y } from './simd-avx-harness.js';

const FULL = !!process.env['FULL'];
const CASES = Number(process.env['AVX_CASES'] ?? (FULL ? 48 : 6));

function templates(): string[] {
  const t: string[] = [];
  const kinds = ['fmadd', 'fmsub', 'fnmadd', 'fnmsub'];
  for (const order of ['132', '213', '231']) {
    for (const k of kinds) {
      for (const p of ['ps', 'pd']) {
        const op = `v${k}${order}${p}`;
        t.push(Y(`${op} xmm0, xmm1, xmm2`), Y(`${op} ymm0, ymm1, [rsi+201]`), Y(`${op} ymm2, ymm2, ymm2`), Y(`${op} ymm3, ymm4, ymm3`));
        for (let rc = 1; rc < 4; rc++) t.push(R(rc, `${op} ymm0, ymm1, ymm2`));
      }
      for (const s of ['ss', 'sd']) {
        const op = `v${k}${order}${s}`;
        t.push(Y(`${op} xmm0, xmm1, xmm2`), Y(`${op} xmm0, xmm1, [rsi+201]`), Y(`${op} xmm1, xmm1, xmm1`));
        for (let rc = 1; rc < 4; rc++) t.push(R(rc, `${op} xmm0, xmm1, xmm2`));
      }
    }
    for (const k of ['fmaddsub', 'fmsubadd']) {
      for (const p of ['ps', 'pd']) {
        const op = `v${k}${order}${p}`;
        t.push(Y(`${op} xmm0, xmm1, xmm2`), Y(`${op} ymm0, ymm1, [rsi+201]`), Y(`${op} ymm2, ymm1, ymm2`), R(1, `${op} ymm0, ymm1, ymm2`), R(2, `${op} ymm0, ymm1, ymm2`));
      }
    }
  }
  // F16C
  t.push(Y('vcvtph2ps xmm0, xmm1'), Y('vcvtph2ps ymm0, xmm1'), Y('vcvtph2ps ymm0, [rsi+201]'), Y('vcvtph2ps xmm2, qword ptr [rsi+201]'));
  for (let imm = 0; imm < 8; imm++) t.push(Y(`vcvtps2ph xmm0, ymm1, ${imm}`), Y(`vcvtps2ph xmm0, xmm1, ${imm}`), Y(`vcvtps2ph [rsi+301], ymm1, ${imm}`), Y(`vcvtps2ph qword ptr [rsi+301], xmm2, ${imm}`));
  for (let rc = 0; rc < 4; rc++) t.push(R(rc, 'vcvtps2ph xmm0, ymm1, 4'));
  return t;
}

describe('FMA/F16C: JIT vs host CPU', () => {
  test('every form, random and special operands, every rounding mode', async () => {
    const snippets = templates();
    const failures = await differential(snippets, CASES, 0xf3a5eedn);
    if (failures.length) console.log(`${failures.length} failing templates of ${snippets.length}:\n` + failures.slice(0, 80).join('\n'));
    expect(failures.slice(0, 20)).toEqual([]);
  }, 120_000 * Math.max(1, CASES / 6));
});

describe('FMA single precision fast path', () => {
  test('agrees with the exact BigInt result on random and near-tie operands', async () => {
    const { fusedBits, exactFused, FMT32 } = await import('../../src/cpu/runtime/fma.js');
    const { rng } = await import('./cpu-native-helper.js');
    const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
    const val = (b: number): number => { u32[0] = b; return f32[0]!; };
    const rand = rng(0xfa57n);
    let checked = 0;
    for (let i = 0; i < 200_000; i++) {
      const r = rand();
      const a = Number(r & 0xffffffffn), b = Number((r >> 32n) & 0xffffffffn);
      // c: random, or chosen so that a*b + c lands near a single-precision tie (heavy cancellation, sticky bits).
      let c = Number(rand() & 0xffffffffn);
      if (i % 3 === 0) { f32[0] = -(val(a) * val(b)); c = (u32[0]! + (i % 7) - 3) >>> 0; }
      const x = val(a), y = val(b), z = val(c);
      if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
      const got = fusedBits(BigInt(a), BigInt(b), BigInt(c), false, false, false, 0, [BigInt(a), BigInt(b), BigInt(c)]);
      const pNeg = (x < 0 || Object.is(x, -0)) !== (y < 0 || Object.is(y, -0));
      const want = exactFused(x, y, z, pNeg, z < 0 || Object.is(z, -0), FMT32, 0);
      if (got !== want) throw new Error(`fma(${a.toString(16)}, ${b.toString(16)}, ${c.toString(16)}): ${got.toString(16)} != ${want.toString(16)}`);
      checked++;
    }
    // Double-rounding ties: (1 + 2^-23)(1 - 2^-23) = 1 - 2^-46 added to 2^24 + 2 rounds (in double) to the single
    // midpoint 2^24 + 3, while the exact sum is just below it. Scaled by powers of two, both signs, nearby addends.
    for (let k = -60; k <= 60; k++) {
      for (const sign of [1, -1]) {
        for (let d = -2; d <= 2; d++) {
          f32[0] = 1 + 2 ** -23; const a = u32[0]!;
          f32[0] = sign * (1 - 2 ** -23) * 2 ** k; const b = u32[0]!;
          f32[0] = sign * (2 ** 24 + 2) * 2 ** k; const c = (u32[0]! + d) >>> 0;
          const x = val(a), y = val(b), z = val(c);
          const got = fusedBits(BigInt(a), BigInt(b), BigInt(c), false, false, false, 0, [BigInt(a), BigInt(b), BigInt(c)]);
          const want = exactFused(x, y, z, y < 0, z < 0, FMT32, 0);
          if (got !== want) throw new Error(`tie case k=${k} sign=${sign} d=${d}: ${got.toString(16)} != ${want.toString(16)}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(150_000);
  });
});
