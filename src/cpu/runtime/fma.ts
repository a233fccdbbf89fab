/**
 * FMA (CPUID.01H:ECX[12]): VFMADD/VFMSUB/VFNMADD/VFNMSUB 132/213/231
 * PS/PD/SS/SD and VFMADDSUB/VFMSUBADD 132/213/231 PS/PD (SDM Vol. 2
 * "VFMADD132PS..."). The product and the sum are exact and rounded once
 * (per MXCSR.RC): the operands are taken as integers times powers of two
 * (BigInt) and mxcsr.ts `roundExact` rounds the exact result into the target
 * format, which also serves the integer-to-float conversions and F16C.
 *
 * Operand roles: src1 = the destination register, src2 = VEX.vvvv, src3 =
 * ModRM.rm. 132: src1*src3 + src2; 213: src2*src1 + src3; 231: src2*src3 +
 * src1. A NaN operand is returned quietened, the first NaN in the order
 * multiplicand, multiplier, addend as written above (measured on the host:
 * not the operand order); inf*0 and inf - inf give the default NaN (SDM Vol. 1
 * §4.8.3.5, Table 4-7, and the FMA pages' "SIMD Floating-Point Exceptions").
 * Exceptions of the fused operation (mxcsr.ts `fpx`): IE (SNaN, inf*0 with
 * no NaN operand, inf - inf), DE, and OE/UE/PE of the one rounding; DAZ
 * and FTZ.
 */
import { Mn, MN_NAMES, type Instruction } from '../decoder/types.js';
import { S } from '../state.js';
import { Exit } from '../translate/core.js';
import {
  DE, F32, F64, f32FromBits, f64Bits, f64FromBits, fpBegin, fpCommit, fpx, IE, mxcsrRc, PE, RC_DOWN, RC_NEAREST, roundExact,
} from './mxcsr.js';
import { readVecOp, vecBytes, writeYmm } from './avx.js';
import type { SimdCtx } from './simd.js';

/** A binary floating-point format: precision p (with the hidden bit), exponent range, exponent field width. */
export interface FpFormat { readonly p: number; readonly emin: number; readonly emax: number; readonly ebits: number }
export const FMT16: FpFormat = { p: 11, emin: -14, emax: 15, ebits: 5 };
export const FMT32: FpFormat = { p: 24, emin: -126, emax: 127, ebits: 8 };
export const FMT64: FpFormat = { p: 53, emin: -1022, emax: 1023, ebits: 11 };


/** The encoding of a zero of sign `neg` in `fmt`. */
function signedZero(neg: boolean, fmt: FpFormat): bigint {
  return neg ? 1n << BigInt(fmt.ebits + fmt.p - 1) : 0n;
}

/** A finite double as sign, magnitude m and exponent e (value = (-1)^neg * m * 2^e). */
export function dyadicOf(x: number): { neg: boolean; m: bigint; e: number } {
  const b = f64Bits(x);
  const exp = Number((b >> 52n) & 0x7ffn), frac = b & 0xfffffffffffffn;
  return { neg: (b >> 63n) !== 0n, m: exp === 0 ? frac : frac | (1n << 52n), e: (exp === 0 ? 1 : exp) - 1075 };
}

const QUIET32 = 0x400000n, QUIET64 = 0x8000000000000n;
const isNanBits = (b: bigint, d: boolean): boolean => d
  ? (b & 0x7ff0000000000000n) === 0x7ff0000000000000n && (b & 0xfffffffffffffn) !== 0n
  : (b & 0x7f800000n) === 0x7f800000n && (b & 0x7fffffn) !== 0n;

/**
 * One fused operation on element bits: (negProduct ? -(a*b) : a*b) + (negAddend ? -c : c),
 * rounded once. `nanOrder` is the operands in NaN-precedence order (a, b, c).
 */
export function fusedBits(a: bigint, b: bigint, c: bigint, negProduct: boolean, negAddend: boolean, d: boolean, rc: number,
  nanOrder: readonly bigint[]): bigint {
  const quiet = d ? QUIET64 : QUIET32;
  if (isNanBits(a, d) || isNanBits(b, d) || isNanBits(c, d)) {
    // Only an SNaN is invalid here: inf * 0 + QNaN reports nothing on the host (the SDM leaves it open).
    if (isSnanBits(a, d) || isSnanBits(b, d) || isSnanBits(c, d)) fpx.pre |= IE;
    for (const x of nanOrder) if (isNanBits(x, d)) return x | quiet;
  }
  const val = (x: bigint): number => {
    if (isDenormalBits(x, d) && fpx.daz) return (x >> (d ? 63n : 31n)) !== 0n ? -0 : 0;
    return d ? f64FromBits(x) : f32FromBits(Number(x));
  };
  const x = val(a), y = val(b);
  let z = val(c);
  const fmt = d ? FMT64 : FMT32;
  const indefinite = d ? 0xfff8000000000000n : 0xffc00000n;
  if ((x === 0 && !Number.isFinite(y)) || (y === 0 && !Number.isFinite(x))) { fpx.pre |= IE; return indefinite; }
  let pNeg = (x < 0 || Object.is(x, -0)) !== (y < 0 || Object.is(y, -0));
  if (negProduct) pNeg = !pNeg;
  if (negAddend) z = -z;
  const zNeg = z < 0 || Object.is(z, -0);
  const inf = (neg: boolean): bigint => (neg ? 1n << BigInt(fmt.ebits + fmt.p - 1) : 0n) | (BigInt(2 ** fmt.ebits - 1) << BigInt(fmt.p - 1));
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    if (!Number.isFinite(z) && zNeg !== pNeg) { fpx.pre |= IE; return indefinite; }
    if (!fpx.daz && (isDenormalBits(a, d) || isDenormalBits(b, d) || isDenormalBits(c, d))) fpx.pre |= DE;
    return inf(pNeg);
  }
  if (!fpx.daz && (isDenormalBits(a, d) || isDenormalBits(b, d) || isDenormalBits(c, d))) fpx.pre |= DE;
  if (!Number.isFinite(z)) return inf(zNeg);
  if (!d && rc === RC_NEAREST) {
    const r = fused32Nearest(pNeg ? -Math.abs(x * y) : Math.abs(x * y), z);
    if (r >= 0) return BigInt(r);
  }
  return exactFused(x, y, z, pNeg, zNeg, fmt, rc);
}

const isSnanBits = (b: bigint, d: boolean): boolean => isNanBits(b, d) && (b & (d ? QUIET64 : QUIET32)) === 0n;
const isDenormalBits = (b: bigint, d: boolean): boolean => d
  ? (b & 0x7ff0000000000000n) === 0n && (b & 0xfffffffffffffn) !== 0n
  : (b & 0x7f800000n) === 0n && (b & 0x7fffffn) !== 0n;

const f64Scratch = new Float64Array(1), f64Words = new Uint32Array(f64Scratch.buffer);

/**
 * Single precision, round to nearest, without BigInt: p = a*b is exact in a
 * double (48 significant bits), s = p + c rounded to double, e its exact
 * error (TwoSum). If e = 0, s is exact and rounding it to single is the one
 * rounding. Otherwise rounding s to single equals rounding p + c unless s is
 * exactly halfway between two singles (a double-rounding tie; the exact sum
 * is then just off the tie). Returns the bits, or -1 where this does not
 * apply (ties, zeros, results outside the normal single range).
 */
function fused32Nearest(p: number, c: number): number {
  const s = p + c;
  const as = Math.abs(s);
  if (!(as > 1.1754943508222875e-38 && as < 3.4028234663852886e38)) return -1; // not tiny, no overflow
  const bb = s - p, e = (p - (s - bb)) + (c - bb);
  if (e !== 0) {
    f64Scratch[0] = s;
    if ((f64Words[0]! & 0x1fffffff) === 0x10000000) return -1; // s is a single-precision midpoint
    fpx.post |= PE;
  } else if (Math.fround(s) !== s) fpx.post |= PE;
  return f32BitsOf(s);
}

const f32Scratch = new Float32Array(1), f32Word = new Uint32Array(f32Scratch.buffer);
function f32BitsOf(v: number): number { f32Scratch[0] = v; return f32Word[0]!; }

/** The exact fused result by BigInt arithmetic (all formats, all rounding modes). */
export function exactFused(x: number, y: number, z: number, pNeg: boolean, zNeg: boolean, fmt: FpFormat, rc: number): bigint {
  const A = dyadicOf(x), B = dyadicOf(y), C = dyadicOf(z);
  const pm = A.m * B.m, pe = A.e + B.e;
  if (pm === 0n && C.m === 0n) { // exact zero: the sign of equal-signed zeros, else +0 (-0 rounding down)
    return signedZero(pNeg === zNeg ? pNeg : rc === RC_DOWN, fmt);
  }
  const f = fmt === FMT64 ? F64 : F32;
  const e = Math.min(pe, C.e);
  const sum = (pNeg ? -pm : pm) * (1n << BigInt(pe - e)) + (zNeg ? -C.m : C.m) * (1n << BigInt(C.e - e));
  if (sum === 0n) return signedZero(rc === RC_DOWN, fmt);
  return roundExact(sum < 0n, sum < 0n ? -sum : sum, e, f, rc, true); // with OE/UE/PE and FTZ; tininess after rounding
}

interface FmaForm { kind: 'madd' | 'msub' | 'nmadd' | 'nmsub' | 'maddsub' | 'msubadd'; order: '132' | '213' | '231'; scalar: boolean; d: boolean }
const FORMS_BY_MN = new Map<Mn, FmaForm>();
{
  const byName = Mn as unknown as Record<string, Mn>;
  for (const [name, v] of Object.entries(byName)) {
    const m = /^VF(MADDSUB|MSUBADD|N?MADD|N?MSUB)(132|213|231)(P|S)(S|D)$/.exec(name);
    if (!m) continue;
    FORMS_BY_MN.set(v, { kind: m[1]!.toLowerCase() as FmaForm['kind'], order: m[2] as FmaForm['order'], scalar: m[3] === 'S', d: m[4] === 'D' });
  }
  void MN_NAMES;
}

export function execFma(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const form = FORMS_BY_MN.get(insn.mn);
  if (!form) return undefined;
  const st = ctx.st, dst = insn.ops[0]!;
  const s1 = readVecOp(ctx, insn, dst, rip), s2 = s1 && readVecOp(ctx, insn, insn.ops[1]!, rip);
  const s3 = s2 && readVecOp(ctx, insn, insn.ops[2]!, rip);
  if (!s1 || !s2 || !s3) return Exit.EXCEPTION;
  const mxcsr = st.u32(S.MXCSR), rc = mxcsrRc(mxcsr);
  fpBegin(mxcsr);
  const esz = form.d ? 8 : 4, bytes = form.scalar ? 16 : vecBytes(dst), n = form.scalar ? 1 : bytes / esz;
  const out = new Uint8Array(32);
  out.set(s1.subarray(0, 16)); // scalar forms keep src1's bits 127:esz*8
  const v1 = new DataView(s1.buffer), v2 = new DataView(s2.buffer), v3 = new DataView(s3.buffer), ov = new DataView(out.buffer);
  const get = (v: DataView, i: number): bigint => (form.d ? v.getBigUint64(i * 8, true) : BigInt(v.getUint32(i * 4, true)));
  for (let i = 0; i < n; i++) {
    const x = get(v1, i), y = get(v2, i), z = get(v3, i);
    const [a, b, c] = form.order === '132' ? [x, z, y] : form.order === '213' ? [y, x, z] : [y, z, x];
    const sub = form.kind === 'msub' || form.kind === 'nmsub' || (form.kind === 'maddsub' && i % 2 === 0) ||
      (form.kind === 'msubadd' && i % 2 === 1);
    const neg = form.kind === 'nmadd' || form.kind === 'nmsub';
    const r = fusedBits(a, b, c, neg, sub, form.d, rc, [a, b, c]);
    if (form.d) ov.setBigUint64(i * 8, r, true); else ov.setUint32(i * 4, Number(r), true);
  }
  if (!fpCommit(st)) return Exit.EXCEPTION;
  writeYmm(st, dst.reg, out, bytes);
  return Exit.CONTINUE;
}
