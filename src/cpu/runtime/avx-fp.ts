/**
 * Element-wise AVX floating point on lane bits, for both vector lengths:
 * VADD/VSUB/VMUL/VDIV/VMIN/VMAX/VSQRT/VCMP (PS/PD/SS/SD), VRCP/VRSQRT
 * (PS/SS), and the conversions whose 256-bit forms cross lanes (VCVTPS2PD,
 * VCVTDQ2PD widen; VCVTPD2PS, VCVT(T)PD2DQ narrow) or that round with
 * MXCSR.RC (VCVTDQ2PS, VCVT(T)PS2DQ).
 *
 * NaN rules and directed rounding come from mxcsr.ts (SDM Vol. 1 §4.8.3.5,
 * §11.5.2.2, §4.8.4). Scalar forms take bits 127:(element size) from the
 * first source (VEX.vvvv) and zero bits 255:128 (SDM "VADDSS": DEST[127:32]
 * <- SRC1[127:32]). MXCSR exceptions, DAZ and FTZ as in mxcsr.ts; the
 * exception rules of comparisons (signalling and quiet predicates, COMIS vs
 * UCOMIS), MIN/MAX, SQRT and the conversions are here too and serve the
 * legacy SSE forms in sse.ts as well. VRCP/VRSQRT raise no exceptions (SDM).
 */
import { Mn, OpKind, type Instruction } from '../decoder/types.js';
import { S } from '../state.js';
import { Exit } from '../translate/core.js';
import {
  ADD, DE, DIV, direct, dyad, exactSqrt, F32, F32_INDEFINITE, F64, F64_INDEFINITE, f32Bits, f32FromBits, f64Bits, f64FromBits,
  fpBegin, fpCommit, fpx, IE, isDenormal32, isDenormal64, isNan32, isNan64, isSnan32, isSnan64, MUL, mxcsrRc, nextDown32,
  nextDown64, nextUp32, nextUp64, OE, op32, op64, PE, RC_DOWN, RC_NEAREST, RC_UP, roundExact, SUB, type Op2,
} from './mxcsr.js';
import { dpps, roundIntegral } from './sse41.js';
import { readVecOp, vecBytes, writeYmm } from './avx.js';
import type { SimdCtx } from './simd.js';
import { F_CF, F_PF, F_ZF } from '../translate/flags.js';

/** A finite double (exactly representable value, e.g. an integer) rounded to single precision per `rc`; bits; PE when inexact. */
export function toF32Bits(x: number, rc: number): number {
  const r = Math.fround(x);
  if (r === x || Number.isNaN(x)) return f32Bits(r);
  fpx.post |= PE;
  if (rc === RC_NEAREST) return f32Bits(r);
  const neg = x < 0;
  if (!Number.isFinite(r)) { // overflow: the directed modes may stop at the largest finite value
    const toInf = rc === RC_UP ? !neg : rc === RC_DOWN ? neg : false;
    return toInf ? f32Bits(r) : ((neg ? 0x80000000 : 0) | 0x7f7fffff) >>> 0;
  }
  return direct(f32Bits(r), r < 0 || Object.is(r, -0), x > r ? 1 : -1, rc, nextUp32, nextDown32);
}

/**
 * f32 bits -> f64 bits (exact; a NaN keeps its payload and is quietened, SDM
 * CVTPS2PD): IE for an SNaN, DE for a denormal (a zero under DAZ).
 */
export function f32ToF64Bits(b: number): bigint {
  if (isNan32(b)) {
    if (isSnan32(b)) fpx.pre |= IE;
    return (BigInt(b >>> 31) << 63n) | 0x7ff8000000000000n | (BigInt(b & 0x3fffff) << 29n);
  }
  if (isDenormal32(b)) {
    if (fpx.daz) return BigInt(b >>> 31) << 63n;
    fpx.pre |= DE;
  }
  return f64Bits(f32FromBits(b));
}

const MIN_NORMAL32 = 1.1754943508222875e-38, MAX32 = 3.4028234663852886e38;

/**
 * f64 bits -> f32 bits rounded per `rc` (a NaN keeps the top of its payload,
 * quietened; SDM CVTPD2PS): IE, DE, OE, UE, PE; DAZ and FTZ.
 */
export function f64ToF32Bits(b: bigint, rc: number): number {
  if (isNan64(b)) {
    if (isSnan64(b)) fpx.pre |= IE;
    return (Number(b >> 63n) << 31 | 0x7fc00000 | Number((b >> 29n) & 0x3fffffn)) >>> 0;
  }
  if (isDenormal64(b)) {
    if (fpx.daz) return Number(b >> 63n) << 31 >>> 0;
    fpx.pre |= DE;
  }
  const x = f64FromBits(b), r = Math.fround(x), ar = Math.abs(r);
  if (x === 0 || !Number.isFinite(x)) return f32Bits(r);
  if (!(ar > MIN_NORMAL32 && ar <= MAX32)) { const D = dyad(x); return Number(roundExact(D.neg, D.m, D.e, F32, rc)); }
  if (r === x) return f32Bits(r);
  fpx.post |= PE;
  const out = direct(f32Bits(r), r < 0, x > r ? 1 : -1, rc, nextUp32, nextDown32);
  if ((out & 0x7f800000) === 0x7f800000) fpx.post |= OE;
  return out;
}

/**
 * A single- or double-precision value to a signed integer of `bytes` bytes
 * with rounding `mode` (0..3; 3 truncates), SDM CVTSS2SI/CVTPS2DQ...: NaN,
 * infinity or out of range is invalid (IE) and gives the integer indefinite
 * (the most negative value); an inexact conversion reports PE. Under DAZ a
 * denormal converts as zero. Returns the two's complement bits.
 */
export function fpToInt(x: number, bytes: number, mode: number, double: boolean): bigint {
  const indefinite = bytes === 8 ? 1n << 63n : 0x80000000n;
  if (!Number.isFinite(x)) { fpx.pre |= IE; return indefinite; }
  if (fpx.daz && x !== 0 && Math.abs(x) < (double ? 2.2250738585072014e-308 : MIN_NORMAL32)) x = 0;
  const r = roundIntegral(x, mode);
  const lim = bytes === 8 ? 2 ** 63 : 2 ** 31;
  if (r >= lim || r < -lim) { fpx.pre |= IE; return indefinite; }
  if (r !== x) fpx.post |= PE;
  return BigInt.asUintN(bytes * 8, BigInt(r));
}

/** A double to int32 with rounding `mode` (0..3) or truncation; NaN and out of range -> 0x80000000 (SDM CVTPS2DQ). */
function toInt32(x: number, mode: number, double: boolean): number {
  return Number(fpToInt(x, 4, mode, double));
}

const MIN_SQRT64 = 2 ** -968, MAX_SQRT64 = 2 ** 995;

/** sqrt on single-precision bits (NaN quietened; negative non-zero -> indefinite; MXCSR.RC; IE, DE, PE; DAZ). */
export function sqrt32(a: number, rc: number): number {
  if (isNan32(a)) { if (isSnan32(a)) fpx.pre |= IE; return (a | 0x400000) >>> 0; }
  if (isDenormal32(a)) {
    if (fpx.daz) return (a & 0x80000000) >>> 0; // sqrt(+-0) = +-0
    if (a >>> 31) { fpx.pre |= IE; return F32_INDEFINITE; }
    fpx.pre |= DE;
  }
  const x = f32FromBits(a);
  if (x < 0) { fpx.pre |= IE; return F32_INDEFINITE; }
  if (x === 0 || x === Infinity) return a;
  const r = Math.fround(Math.sqrt(x)); // correctly rounded: 53 >= 2 * 24 + 2
  // r * r is exact in a double (48 significant bits), so the comparison is exact.
  const s = x > r * r ? 1 : x < r * r ? -1 : 0;
  if (s !== 0) fpx.post |= PE;
  return direct(f32Bits(r), false, s, rc, nextUp32, nextDown32);
}

/** sqrt on double-precision bits (as sqrt32; exactness by Dekker's product r*r, BigInt at the exponent extremes). */
export function sqrt64(a: bigint, rc: number): bigint {
  if (isNan64(a)) { if (isSnan64(a)) fpx.pre |= IE; return a | 0x8000000000000n; }
  if (isDenormal64(a)) {
    if (fpx.daz) return a & 0x8000000000000000n;
    if (a >> 63n) { fpx.pre |= IE; return F64_INDEFINITE; }
    fpx.pre |= DE;
  }
  const x = f64FromBits(a);
  if (x < 0) { fpx.pre |= IE; return F64_INDEFINITE; }
  if (x === 0 || x === Infinity) return a;
  if (!(x > MIN_SQRT64 && x < MAX_SQRT64)) return exactSqrt(x, F64, rc);
  const r = Math.sqrt(x), h = r * r;
  const ca = 134217729 * r, rh = ca - (ca - r), rl = r - rh;
  const t = (x - h) - (((rh * rh - h) + 2 * rh * rl) + rl * rl);
  const s = t > 0 ? 1 : t < 0 ? -1 : 0;
  if (s !== 0) fpx.post |= PE;
  return direct(f64Bits(r), false, s, rc, nextUp64, nextDown64);
}

/**
 * RCPPS/RSQRTPS approximations (SDM: relative error <= 1.5 * 2^-12). The
 * exact quotient rounded to single precision is within that bound; the
 * specials follow the SDM: denormal inputs count as zero (-> infinity of
 * the operand's sign), tiny results are flushed to zero, RSQRT of a negative
 * non-zero value is the QNaN indefinite.
 */
export function rcp32(a: number): number {
  if (isNan32(a)) return (a | 0x400000) >>> 0;
  const neg = (a >>> 31) !== 0;
  if ((a & 0x7f800000) === 0) return neg ? 0xff800000 : 0x7f800000;
  const r = f32Bits(Math.fround(1 / f32FromBits(a)));
  return (r & 0x7f800000) === 0 ? (neg ? 0x80000000 : 0) : r;
}

export function rsqrt32(a: number): number {
  if (isNan32(a)) return (a | 0x400000) >>> 0;
  const neg = (a >>> 31) !== 0;
  if ((a & 0x7f800000) === 0) return neg ? 0xff800000 : 0x7f800000;
  if (neg) return F32_INDEFINITE;
  return f32Bits(Math.fround(1 / Math.sqrt(f32FromBits(a))));
}

/**
 * MIN/MAX: the second source when either is a NaN (IE even for a QNaN: the
 * comparison is signalling) or both are zeros (SDM MINPS/MAXPS); DE for a
 * denormal operand, which DAZ reads as a zero of its sign.
 */
export function minMax32(a: number, b: number, max: boolean): number {
  // DAZ rewrites the operands first: a NaN next to a denormal returns the zero (as the host does).
  let den = false;
  if (isDenormal32(a)) { if (fpx.daz) a = (a & 0x80000000) >>> 0; else den = true; }
  if (isDenormal32(b)) { if (fpx.daz) b = (b & 0x80000000) >>> 0; else den = true; }
  if (isNan32(a) || isNan32(b)) { fpx.pre |= IE; return b; }
  if (den) fpx.pre |= DE;
  const x = f32FromBits(a), y = f32FromBits(b);
  return (max ? x > y : x < y) ? a : b;
}
export function minMax64(a: bigint, b: bigint, max: boolean): bigint {
  let den = false;
  if (isDenormal64(a)) { if (fpx.daz) a &= 0x8000000000000000n; else den = true; }
  if (isDenormal64(b)) { if (fpx.daz) b &= 0x8000000000000000n; else den = true; }
  if (isNan64(a) || isNan64(b)) { fpx.pre |= IE; return b; }
  if (den) fpx.pre |= DE;
  const x = f64FromBits(a), y = f64FromBits(b);
  return (max ? x > y : x < y) ? a : b;
}

/** The predicates 0-15 that signal on a QNaN (_S: LT, LE, NLT, NLE, NGE, NGT, GE, GT); imm8[4] inverts. */
const SIGNALLING = 0x6666;

/** Operand values for a comparison: IE for SNaNs (and QNaNs when `signalling`), DE / DAZ for denormals. */
function cmpValues32(a: number, b: number, signalling: boolean, out: number[]): void {
  if (isNan32(a) || isNan32(b)) {
    if (signalling || isSnan32(a) || isSnan32(b)) fpx.pre |= IE;
  } else {
    if (isDenormal32(a)) { if (fpx.daz) a &= 0x80000000; else fpx.pre |= DE; }
    if (isDenormal32(b)) { if (fpx.daz) b &= 0x80000000; else fpx.pre |= DE; }
  }
  out[0] = f32FromBits(a); out[1] = f32FromBits(b);
}
function cmpValues64(a: bigint, b: bigint, signalling: boolean, out: number[]): void {
  if (isNan64(a) || isNan64(b)) {
    if (signalling || isSnan64(a) || isSnan64(b)) fpx.pre |= IE;
  } else {
    if (isDenormal64(a)) { if (fpx.daz) a &= 0x8000000000000000n; else fpx.pre |= DE; }
    if (isDenormal64(b)) { if (fpx.daz) b &= 0x8000000000000000n; else fpx.pre |= DE; }
  }
  out[0] = f64FromBits(a); out[1] = f64FromBits(b);
}
const cmpScratch = [0, 0];

/** CMPPS/CMPSS (imm8[2:0], legacy) and VCMPPS/SS (imm8[4:0]) on single-precision bits, with the exceptions. */
export function cmp32(a: number, b: number, imm: number): boolean {
  cmpValues32(a, b, (((SIGNALLING >> (imm & 15)) ^ (imm >> 4)) & 1) !== 0, cmpScratch);
  return cmpPredicate(cmpScratch[0]!, cmpScratch[1]!, imm);
}
export function cmp64(a: bigint, b: bigint, imm: number): boolean {
  cmpValues64(a, b, (((SIGNALLING >> (imm & 15)) ^ (imm >> 4)) & 1) !== 0, cmpScratch);
  return cmpPredicate(cmpScratch[0]!, cmpScratch[1]!, imm);
}

/** COMISS/UCOMISS (`signalling` for COMIS: IE on QNaNs too): ZF, PF, CF (SDM COMISS). */
export function comis32(a: number, b: number, signalling: boolean): number {
  cmpValues32(a, b, signalling, cmpScratch);
  return comisFlags(cmpScratch[0]!, cmpScratch[1]!);
}
export function comis64(a: bigint, b: bigint, signalling: boolean): number {
  cmpValues64(a, b, signalling, cmpScratch);
  return comisFlags(cmpScratch[0]!, cmpScratch[1]!);
}
function comisFlags(x: number, y: number): number {
  return Number.isNaN(x) || Number.isNaN(y) ? F_ZF | F_PF | F_CF : x < y ? F_CF : x === y ? F_ZF : 0;
}

/**
 * VCMPPS/PD/SS/SD predicates imm8[4:0] (SDM "CMPPS" Table 3-1): bits 3:0
 * select the relation (bit 4 only chooses quiet vs signalling, which only
 * matters for the invalid flag).
 */
export function cmpPredicate(x: number, y: number, imm: number): boolean {
  const un = Number.isNaN(x) || Number.isNaN(y);
  switch (imm & 15) {
    case 0: return x === y; // EQ_OQ
    case 1: return x < y; // LT_OS
    case 2: return x <= y; // LE_OS
    case 3: return un; // UNORD_Q
    case 4: return !(x === y); // NEQ_UQ
    case 5: return !(x < y); // NLT_US
    case 6: return !(x <= y); // NLE_US
    case 7: return !un; // ORD_Q
    case 8: return un || x === y; // EQ_UQ
    case 9: return !(x >= y); // NGE_US
    case 10: return !(x > y); // NGT_US
    case 11: return false; // FALSE_OQ
    case 12: return !un && x !== y; // NEQ_OQ
    case 13: return x >= y; // GE_OS
    case 14: return x > y; // GT_OS
    default: return true; // TRUE_UQ
  }
}

const ARITH = new Map<Mn, [Op2 | 'min' | 'max' | 'sqrt' | 'cmp' | 'rcp' | 'rsqrt', 4 | 8, boolean]>([
  [Mn.VADDPS, [ADD, 4, false]], [Mn.VADDPD, [ADD, 8, false]], [Mn.VADDSS, [ADD, 4, true]], [Mn.VADDSD, [ADD, 8, true]],
  [Mn.VSUBPS, [SUB, 4, false]], [Mn.VSUBPD, [SUB, 8, false]], [Mn.VSUBSS, [SUB, 4, true]], [Mn.VSUBSD, [SUB, 8, true]],
  [Mn.VMULPS, [MUL, 4, false]], [Mn.VMULPD, [MUL, 8, false]], [Mn.VMULSS, [MUL, 4, true]], [Mn.VMULSD, [MUL, 8, true]],
  [Mn.VDIVPS, [DIV, 4, false]], [Mn.VDIVPD, [DIV, 8, false]], [Mn.VDIVSS, [DIV, 4, true]], [Mn.VDIVSD, [DIV, 8, true]],
  [Mn.VMINPS, ['min', 4, false]], [Mn.VMINPD, ['min', 8, false]], [Mn.VMINSS, ['min', 4, true]], [Mn.VMINSD, ['min', 8, true]],
  [Mn.VMAXPS, ['max', 4, false]], [Mn.VMAXPD, ['max', 8, false]], [Mn.VMAXSS, ['max', 4, true]], [Mn.VMAXSD, ['max', 8, true]],
  [Mn.VSQRTPS, ['sqrt', 4, false]], [Mn.VSQRTPD, ['sqrt', 8, false]], [Mn.VSQRTSS, ['sqrt', 4, true]], [Mn.VSQRTSD, ['sqrt', 8, true]],
  [Mn.VCMPPS, ['cmp', 4, false]], [Mn.VCMPPD, ['cmp', 8, false]], [Mn.VCMPSS, ['cmp', 4, true]], [Mn.VCMPSD, ['cmp', 8, true]],
  [Mn.VRCPPS, ['rcp', 4, false]], [Mn.VRCPSS, ['rcp', 4, true]], [Mn.VRSQRTPS, ['rsqrt', 4, false]], [Mn.VRSQRTSS, ['rsqrt', 4, true]],
]);

export function execAvxFp(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const arith = ARITH.get(insn.mn);
  if (arith) return elementwise(ctx, insn, rip, arith[0], arith[1], arith[2]);
  if (insn.mn === Mn.VDPPS) return vdpps(ctx, insn, rip);
  return convert(ctx, insn, rip);
}

function elementwise(ctx: SimdCtx, insn: Instruction, rip: bigint, op: Op2 | string, esz: 4 | 8, scalar: boolean): number {
  const st = ctx.st, ops = insn.ops;
  const dst = ops[0]!;
  // Packed unary forms (VSQRTPS, VRCPPS, VRSQRTPS) are "Vx,Wx"; every other form has VEX.vvvv as the first source.
  const unaryPacked = insn.opCount === 2;
  const a = unaryPacked ? new Uint8Array(32) : readVecOp(ctx, insn, ops[1]!, rip);
  const bOp = unaryPacked ? ops[1]! : ops[2]!;
  const b = a && readVecOp(ctx, insn, bOp, rip);
  if (!a || !b) return Exit.EXCEPTION;
  const bytes = scalar ? 16 : vecBytes(dst);
  const n = scalar ? 1 : bytes / esz;
  const mxcsr = st.u32(S.MXCSR), rc = mxcsrRc(mxcsr);
  fpBegin(mxcsr);
  const imm = insn.ops[3]?.kind === OpKind.IMM && insn.opCount === 4 ? insn.ops[3].imm : 0;
  const out = new Uint8Array(32);
  out.set(a.subarray(0, 16)); // scalar forms: bits 127:esz*8 from the first source
  const dv = new DataView(out.buffer), av = new DataView(a.buffer), bv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * esz;
    if (esz === 4) {
      const x = av.getUint32(o, true), y = bv.getUint32(o, true);
      let r: number;
      if (typeof op === 'function') r = op32(x, y, op, rc);
      else if (op === 'min' || op === 'max') r = minMax32(x, y, op === 'max');
      else if (op === 'sqrt') r = sqrt32(y, rc);
      else if (op === 'rcp') r = rcp32(y);
      else if (op === 'rsqrt') r = rsqrt32(y);
      else r = cmp32(x, y, imm) ? 0xffffffff : 0;
      dv.setUint32(o, r >>> 0, true);
    } else {
      const x = av.getBigUint64(o, true), y = bv.getBigUint64(o, true);
      let r: bigint;
      if (typeof op === 'function') r = op64(x, y, op, rc);
      else if (op === 'min' || op === 'max') r = minMax64(x, y, op === 'max');
      else if (op === 'sqrt') r = sqrt64(y, rc);
      else r = cmp64(x, y, imm) ? 0xffffffffffffffffn : 0n;
      dv.setBigUint64(o, r, true);
    }
  }
  if (!fpCommit(st)) return Exit.EXCEPTION;
  writeYmm(st, dst.reg, out, bytes);
  return Exit.CONTINUE;
}

/** VDPPS: DPPS per 128-bit lane, both lanes' steps together (one multiply step, then the adds; sse41.ts dpps). */
function vdpps(ctx: SimdCtx, insn: Instruction, rip: bigint): number {
  const st = ctx.st, dst = insn.ops[0]!;
  const a = readVecOp(ctx, insn, insn.ops[1]!, rip), b = a && readVecOp(ctx, insn, insn.ops[2]!, rip);
  if (!a || !b) return Exit.EXCEPTION;
  const bytes = vecBytes(dst), mxcsr = st.u32(S.MXCSR), out = new Uint8Array(32);
  fpBegin(mxcsr);
  dpps(new Uint32Array(a.buffer, a.byteOffset, 8), new Uint32Array(b.buffer, b.byteOffset, 8), new Uint32Array(out.buffer), insn.ops[3]!.imm & 0xff,
    mxcsrRc(mxcsr), bytes / 16);
  if (!fpCommit(st)) return Exit.EXCEPTION;
  writeYmm(st, dst.reg, out, bytes);
  return Exit.CONTINUE;
}

/** The conversions between packed formats (SDM "CVTPS2PD", "CVTPD2PS", "CVTDQ2PD", "CVTPD2DQ", ...). */
function convert(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const st = ctx.st, dst = insn.ops[0]!, src = insn.ops[1]!;
  const mn = insn.mn;
  if (mn === Mn.VCVTSD2SS || mn === Mn.VCVTSI2SS || mn === Mn.VCVTSI2SD) return scalarConvert(ctx, insn, rip);
  if (mn !== Mn.VCVTPS2PD && mn !== Mn.VCVTDQ2PD && mn !== Mn.VCVTPD2PS && mn !== Mn.VCVTPD2DQ && mn !== Mn.VCVTTPD2DQ &&
    mn !== Mn.VCVTDQ2PS && mn !== Mn.VCVTPS2DQ && mn !== Mn.VCVTTPS2DQ) return undefined;
  const s = readVecOp(ctx, insn, src, rip); if (!s) return Exit.EXCEPTION;
  const mxcsr = st.u32(S.MXCSR), rc = mxcsrRc(mxcsr);
  fpBegin(mxcsr);
  const sv = new DataView(s.buffer), out = new Uint8Array(32), dv = new DataView(out.buffer);
  switch (mn) {
    case Mn.VCVTPS2PD: case Mn.VCVTDQ2PD: { // widen: dst elements = dst bytes / 8
      const n = vecBytes(dst) / 8;
      for (let i = 0; i < n; i++) {
        const v = sv.getUint32(i * 4, true);
        dv.setBigUint64(i * 8, mn === Mn.VCVTPS2PD ? f32ToF64Bits(v) : f64Bits(v | 0), true);
      }
      if (!fpCommit(st)) return Exit.EXCEPTION;
      writeYmm(st, dst.reg, out, vecBytes(dst));
      return Exit.CONTINUE;
    }
    case Mn.VCVTPD2PS: case Mn.VCVTPD2DQ: case Mn.VCVTTPD2DQ: { // narrow: source elements = source bytes / 8
      const n = (src.kind === OpKind.MEM ? src.size : vecBytes(src)) / 8;
      for (let i = 0; i < n; i++) {
        const v = sv.getBigUint64(i * 8, true);
        const r = mn === Mn.VCVTPD2PS ? f64ToF32Bits(v, rc) : toInt32(f64FromBits(v), mn === Mn.VCVTTPD2DQ ? 3 : rc, true);
        dv.setUint32(i * 4, r >>> 0, true);
      }
      if (!fpCommit(st)) return Exit.EXCEPTION;
      writeYmm(st, dst.reg, out, 16);
      return Exit.CONTINUE;
    }
    default: { // same width: VCVTDQ2PS, VCVTPS2DQ, VCVTTPS2DQ
      const n = vecBytes(dst) / 4;
      for (let i = 0; i < n; i++) {
        const v = sv.getUint32(i * 4, true);
        const r = mn === Mn.VCVTDQ2PS ? toF32Bits(v | 0, rc)
          : toInt32(f32FromBits(v), mn === Mn.VCVTTPS2DQ ? 3 : rc, false);
        dv.setUint32(i * 4, r >>> 0, true);
      }
      if (!fpCommit(st)) return Exit.EXCEPTION;
      writeYmm(st, dst.reg, out, vecBytes(dst));
      return Exit.CONTINUE;
    }
  }
}

/**
 * VCVTSD2SS and VCVTSI2SS/SD (Vo,Ho,W): the low element converted with
 * MXCSR.RC (a 64-bit integer is rounded exactly, not through a double),
 * bits 127:32 or 127:64 from the first source, 255:128 zeroed.
 */
function scalarConvert(ctx: SimdCtx, insn: Instruction, rip: bigint): number {
  const st = ctx.st, dst = insn.ops[0]!, src = insn.ops[2]!;
  const a = readVecOp(ctx, insn, insn.ops[1]!, rip), b = a && readVecOp(ctx, insn, src, rip);
  if (!a || !b) return Exit.EXCEPTION;
  const mxcsr = st.u32(S.MXCSR), rc = mxcsrRc(mxcsr);
  fpBegin(mxcsr);
  const av = new DataView(a.buffer), bv = new DataView(b.buffer);
  if (insn.mn === Mn.VCVTSD2SS) av.setUint32(0, f64ToF32Bits(bv.getBigUint64(0, true), rc), true);
  else {
    const v = BigInt.asIntN(src.size * 8, bv.getBigUint64(0, true));
    const r = intToFloatBits(v, insn.mn === Mn.VCVTSI2SS ? F32 : F64, rc);
    if (insn.mn === Mn.VCVTSI2SS) av.setUint32(0, Number(r), true); else av.setBigUint64(0, r, true);
  }
  if (!fpCommit(st)) return Exit.EXCEPTION;
  a.fill(0, 16);
  writeYmm(st, dst.reg, a, 16);
  return Exit.CONTINUE;
}

/** A signed integer rounded to `fmt` per `rc` (CVTSI2SS/SD: PE when inexact); bits. */
export function intToFloatBits(v: bigint, fmt: typeof F32, rc: number): bigint {
  // Exact in the format (|v| < 2^p): no rounding, no BigInt rounding either (the common case).
  if (v > -(1n << 24n) && v < 1n << 24n) return fmt === F32 ? BigInt(f32Bits(Number(v))) : f64Bits(Number(v));
  if (fmt === F64 && v > -(1n << 53n) && v < 1n << 53n) return f64Bits(Number(v));
  return roundExact(v < 0n, v < 0n ? -v : v, 0, fmt, rc);
}
