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
