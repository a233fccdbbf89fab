// Differential test of the x87 FPU (src/cpu/runtime/x87.ts) against the host
// CPU: 80-bit operands (normals near 1.0 and at the range ends, zeros,
// infinities, quiet and signalling NaNs, denormals, unnormals), every
// precision control (24/53/64 bits) and rounding control, masked exceptions.
// Results are stored with FSTP m80 / FST m32/m64 / FIST(P)/FISTTP, and FSW
// (FNSTSW AX: exception flags, C0-C3, TOP) and RFLAGS (FCOMI) are compared.
import { describe, expect, test } from 'vitest';
import {
  assemble, buildNativeHelper, CODE_ADDR, DATA_ADDR, DATA_BYTES, makeJit, rng, runCaseOnJit, runNative,
} from './cpu-native-helper.js';

const FULL = !!process.env['FULL'];
const CASES_PER_TEMPLATE = Number(process.env['X87_CASES'] ?? (FULL ? 64 : 8));

/** Control words at [rsi+1100+2k]: all exceptions masked; PC 64/53/24 and RC nearest/down/up/zero. */
const CWS = [0x037f, 0x027f, 0x007f, 0x077f, 0x0b7f, 0x0f7f, 0x067f, 0x0a7f];

function templates(): string[] {
  const t: string[] = [];
  const F = (k: number, body: string): string => `fninit; fldcw [rsi+${1100 + 2 * k}]; ${body}; fnstsw ax; fninit`;
  for (let k = 0; k < CWS.length; k++) {
    for (const op of ['faddp', 'fsubp', 'fsubrp', 'fmulp', 'fdivp', 'fdivrp']) {
      t.push(F(k, `fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; ${op} st(1), st; fstp tbyte ptr [rsi+512]`));
    }
    for (const op of ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr']) {
      t.push(F(k, `fld tbyte ptr [rsi]; ${op} dword ptr [rsi+32]; fstp tbyte ptr [rsi+512]`));
      t.push(F(k, `fld tbyte ptr [rsi]; ${op} qword ptr [rsi+40]; fstp tbyte ptr [rsi+512]`));
      t.push(F(k, `fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; ${op} st, st(1); fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]`));
      t.push(F(k, `fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; ${op} st(1), st; fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]`));
    }
    for (const op of ['fiadd', 'fisub', 'fisubr', 'fimul', 'fidiv', 'fidivr']) {
      t.push(F(k, `fld tbyte ptr [rsi]; ${op} word ptr [rsi+48]; fstp tbyte ptr [rsi+512]`), F(k, `fld tbyte ptr [rsi]; ${op} dword ptr [rsi+52]; fstp tbyte ptr [rsi+512]`));
    }
    t.push(F(k, 'fld tbyte ptr [rsi]; fsqrt; fstp tbyte ptr [rsi+512]'), F(k, 'fld tbyte ptr [rsi]; frndint; fstp tbyte ptr [rsi+512]'));
    t.push(F(k, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; fscale; fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]'));
    t.push(F(k, 'fld tbyte ptr [rsi]; fst dword ptr [rsi+512]; fst qword ptr [rsi+520]; fstp tbyte ptr [rsi+528]'));
    t.push(F(k, 'fld tbyte ptr [rsi]; fist word ptr [rsi+512]; fist dword ptr [rsi+516]; fistp qword ptr [rsi+520]'));
    t.push(F(k, 'fld tbyte ptr [rsi]; fld st(0); fld st(0); fisttp word ptr [rsi+512]; fisttp dword ptr [rsi+516]; fisttp qword ptr [rsi+520]'));
    t.push(F(k, 'fld dword ptr [rsi+32]; fld qword ptr [rsi+40]; fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]'));
    t.push(F(k, 'fild word ptr [rsi+48]; fild dword ptr [rsi+52]; fild qword ptr [rsi+56]; fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]; fstp tbyte ptr [rsi+544]'));
    t.push(F(k, 'fldpi; fldl2e; fldl2t; fldlg2; fldln2; fld1; fldz; fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]; fstp tbyte ptr [rsi+544]; fstp tbyte ptr [rsi+560]; fstp tbyte ptr [rsi+576]; fstp tbyte ptr [rsi+592]; fstp tbyte ptr [rsi+608]'));
  }
  for (const op of ['fcom', 'fcomp', 'fucom', 'fucomp']) t.push(F(0, `fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; ${op} st(1)`));
  for (const op of ['fcom', 'fcomp']) t.push(F(0, `fld tbyte ptr [rsi]; ${op} dword ptr [rsi+32]`), F(0, `fld tbyte ptr [rsi]; ${op} qword ptr [rsi+40]`));
  t.push(F(0, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; fcompp'), F(0, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; fucompp'));
  t.push(F(0, 'fld tbyte ptr [rsi]; ficom word ptr [rsi+48]'), F(0, 'fld tbyte ptr [rsi]; ficomp dword ptr [rsi+52]'));
  for (const op of ['fcomi', 'fucomi', 'fcomip', 'fucomip']) t.push(F(0, `fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; ${op} st, st(1); setc cl; setz dl; setp bl`));
  for (const op of ['fprem', 'fprem1']) t.push(F(0, `fld tbyte ptr [rsi+16]; fld tbyte ptr [rsi]; ${op}; fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]`));
  t.push(F(0, 'fld tbyte ptr [rsi]; fxtract; fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]'));
  // Environment images: the instruction/data pointer fields (offsets 12..27) and the empty registers' stale
  // contents (ST(3)..ST(7) of the FNSAVE image) are cleared before the compare.
  t.push(F(0, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; fld1; fnstenv [rsi+512]; mov qword ptr [rsi+524], 0; mov qword ptr [rsi+532], 0; fstp tbyte ptr [rsi+560]'));
  t.push(F(2, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; fldz; fnsave [rsi+512]; mov qword ptr [rsi+524], 0; mov qword ptr [rsi+532], 0; mov qword ptr [rsi+570], 0; mov qword ptr [rsi+578], 0; mov qword ptr [rsi+586], 0; mov qword ptr [rsi+594], 0; mov qword ptr [rsi+602], 0; mov qword ptr [rsi+610], 0; mov word ptr [rsi+618], 0; fld1; frstor [rsi+512]; fstp tbyte ptr [rsi+640]; fstp tbyte ptr [rsi+656]; fnstcw [rsi+672]'));
  t.push(F(0, 'fld tbyte ptr [rsi]; fnstenv [rsi+512]; fld1; fld1; fldenv [rsi+512]; fstp tbyte ptr [rsi+560]; mov qword ptr [rsi+524], 0; mov qword ptr [rsi+532], 0'));
  for (let k = 0; k < 6; k++) t.push(F(k, 'fld tbyte ptr [rsi]; fbstp tbyte ptr [rsi+512]'));
  t.push(F(0, 'fbld tbyte ptr [rsi+64]; fstp tbyte ptr [rsi+512]'));
  t.push(F(0, 'fld tbyte ptr [rsi]; ftst'), F(0, 'fld tbyte ptr [rsi]; fxam'), F(0, 'fld tbyte ptr [rsi]; fchs; fstp tbyte ptr [rsi+512]'), F(0, 'fld tbyte ptr [rsi]; fabs; fstp tbyte ptr [rsi+512]'));
  t.push(F(0, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; fxch st(1); fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]'));
  t.push(F(0, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; fld st(1); fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]; fstp tbyte ptr [rsi+544]'));
  for (const cc of ['b', 'e', 'be', 'u', 'nb', 'ne', 'nbe', 'nu']) {
    t.push(F(0, `fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; cmp rax, rbx; fcmov${cc} st, st(1); fstp tbyte ptr [rsi+512]; fstp tbyte ptr [rsi+528]`));
  }
  t.push(F(0, 'fld tbyte ptr [rsi]; fld tbyte ptr [rsi+16]; ffree st(1); fincstp; fdecstp; fstp tbyte ptr [rsi+512]'));
  t.push(F(0, 'fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fstp tbyte ptr [rsi+512]'), F(0, 'fadd st, st(1)'), F(0, 'fstp tbyte ptr [rsi+512]'));
  return t;
}

/** An 80-bit operand: [significand, sign|exponent]. */
function ext80(rand: () => bigint, style: number): [bigint, number] {
  const x = rand(), pick = Number(x % 16n), sign = Number((x >> 8n) & 1n) << 15;
  const m = rand();
  if (style === 0 || pick < 6) { // normals near 1 (cancellation, rounding) or wide
    const e = style === 0 ? 16383 + Number((x >> 16n) % 200n) - 100 : 16383 + Number((x >> 16n) % 8n) - 4;
    return [m | (1n << 63n), sign | e];
  }
  switch (pick) {
    case 6: return [0n, sign];
    case 7: return [1n << 63n, sign | 0x7fff]; // infinity
    case 8: return [(m | (3n << 62n)), sign | 0x7fff]; // QNaN
    case 9: return [((m & ~(1n << 62n)) | (1n << 63n) | 1n), sign | 0x7fff]; // SNaN
    case 10: return [m >> 3n, sign]; // denormal
    case 11: return [m & ~(1n << 63n), sign | 16383]; // unnormal (unsupported)
    case 12: return [m | (1n << 63n), sign | 0x7ffe]; // largest exponent
    case 13: return [m | (1n << 63n), sign | 1]; // smallest normal exponent
    case 14: return [(m | (1n << 63n)) & ~0xffffffffffn, sign | (16383 + 40)]; // large integral-ish
    default: return [(1n << 63n) | ((m & 3n) << 61n), sign | (16383 + Number(m % 3n))]; // small exact values
  }
}

describe('x87 FPU: JIT vs host CPU', () => {
  const snippets = templates();
  const codes = assemble(snippets);
  const native = buildNativeHelper();
  test(`${snippets.length} templates x ${CASES_PER_TEMPLATE} inputs`, async () => {
    const { jit, mem } = await makeJit(true);
    const rand = rng(0x87f00d5n);
    const cases: Array<{ t: number; code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }> = [];
    for (let t = 0; t < codes.length; t++) {
      for (let k = 0; k < CASES_PER_TEMPLATE; k++) {
        const gpr: bigint[] = [];
        for (let r = 0; r < 16; r++) gpr.push(rand());
        gpr[4] = BigInt(DATA_ADDR + 3072);
        gpr[6] = BigInt(DATA_ADDR + 256);
        const data = new Uint8Array(DATA_BYTES), dv = new DataView(data.buffer);
        for (let i = 0; i < DATA_BYTES; i += 8) dv.setBigUint64(i, rand(), true);
        const style = k % 2;
        for (const off of [256, 272]) { const [m, se] = ext80(rand, style); dv.setBigUint64(off, m, true); dv.setUint16(off + 8, se, true); }
        if (k % 4 === 3) { // second operand equal to the first (exact cancellation, equal compares)
          dv.setBigUint64(272, dv.getBigUint64(256, true), true); dv.setUint16(280, dv.getUint16(264, true) ^ (k & 8 ? 0x8000 : 0), true);
        }
        if (k % 3 === 2) { dv.setUint16(256 + 48, Number(rand() % 7n), true); dv.setUint32(256 + 52, Number(rand() % 100n) - 50, true); }
        CWS.forEach((cw, i) => dv.setUint16(256 + 1100 + 2 * i, cw, true));
        for (let b = 0; b < 9; b++) data[256 + 64 + b] = Number(rand() % 100n) % 10 * 16 + Number(rand() % 10n); // valid BCD digits
        data[256 + 73] = Number(rand() & 0x80n);
        cases.push({ t, code: codes[t]!, gpr, rflags: 2n | (rand() & 0x8d5n), data });
      }
    }
    const expected = runNative(native, cases);
    expect(expected.length).toBe(cases.length);
    const failures: string[] = [];
    const v = jit.vcpus[0]!;
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!, e = expected[i]!;
      const r = runCaseOnJit(jit, mem, c);
      const ops = Buffer.from(c.data.subarray(256, 282)).toString('hex');
      const name = `#${i} ${snippets[c.t]} ops=${ops}`;
      if (e.fault !== undefined) { if (r !== 'triple') failures.push(`${name}: host faulted (signal ${e.fault}), JIT ${r}`); continue; }
      if (r !== 'halted') { failures.push(`${name}: JIT ${r} ${v.lastError ?? ''} rip=${v.st.rip.toString(16)}`); continue; }
      const s = jit.getState(0);
      const diffs: string[] = [];
      for (let g = 0; g < 16; g++) if (s.regs.gpr[g] !== e.gpr![g]) diffs.push(`r${g}: jit ${s.regs.gpr[g]!.toString(16)} host ${e.gpr![g]!.toString(16)}`);
      const mask = 0x8d5n;
      if ((s.regs.rflags & mask) !== (e.rflags! & mask)) diffs.push(`flags: jit ${s.regs.rflags.toString(16)} host ${e.rflags!.toString(16)}`);
      const d = mem.readBytes(DATA_ADDR, DATA_BYTES);
      for (let b = 0; b < DATA_BYTES; b++) {
        if (d[b] !== e.data![b]) {
          const at = b & ~15;
          diffs.push(`mem[+${b}]: jit ${Buffer.from(d.subarray(at, at + 16)).toString('hex')} host ${Buffer.from(e.data!.subarray(at, at + 16)).toString('hex')}`);
          break;
        }
      }
      if (diffs.length) failures.push(`${name}: ${diffs.join('; ')}`);
    }
    const seen = new Set<string>();
    const first = failures.filter((f) => { const k = f.replace(/^#\d+ /, '').split(' ops=')[0]!; if (seen.has(k)) return false; seen.add(k); return true; });
    if (failures.length) console.log(`${failures.length} failures in ${first.length} templates:\n` + first.slice(0, 50).join('\n'));
    expect(failures.slice(0, 20)).toEqual([]);
  }, 300_000);
});
