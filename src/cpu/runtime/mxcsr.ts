/**
 * SSE floating-point arithmetic on raw lane bits with x86 NaN rules (Intel
 * SDM Vol. 1 §4.8.3.5 Table 4-7 and §11.5.2.2): a NaN operand propagates
 * quietened, the first source operand's when both are NaNs; an invalid
 * operation with no NaN operand (inf - inf, 0 * inf, 0 / 0, inf / inf,
 * sqrt of a negative) returns the default "QNaN floating-point indefinite"
 * (0xFFC00000 / 0xFFF8000000000000). Working on bits keeps the host's
 * NaN canonicalisation (V8 may rewrite payloads) out of the result.
 *
 * Rounding: MXCSR.RC (SDM Vol. 1 §4.8.4, §10.2.3.1). The host rounds to
 * nearest; for the directed modes the exact result is compared with the
 * rounded one in exact (BigInt) arithmetic and stepped one ulp when needed.
 * Not applied yet: DAZ/FTZ and the exception flags (no #XM).
 */

export const F32_INDEFINITE = 0xffc00000;
export const F64_INDEFINITE = 0xfff8000000000000n;

const cvt = new DataView(new ArrayBuffer(8));

export function f32FromBits(b: number): number { cvt.setUint32(0, b >>> 0, true); return cvt.getFloat32(0, true); }
export function f32Bits(v: number): number { cvt.setFloat32(0, v, true); return cvt.getUint32(0, true); }
export function f64FromBits(b: bigint): number { cvt.setBigUint64(0, b, true); return cvt.getFloat64(0, true); }
export function f64Bits(v: number): bigint { cvt.setFloat64(0, v, true); return cvt.getBigUint64(0, true); }

const isNan32 = (b: number): boolean => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
const isNan64 = (b: bigint): boolean => (b & 0x7ff0000000000000n) === 0x7ff0000000000000n && (b & 0xfffffffffffffn) !== 0n;

export type Op2 = ((a: number, b: number) => number) & { readonly kind: 'add' | 'sub' | 'mul' | 'div' };
const op2 = (kind: Op2['kind'], f: (a: number, b: number) => number): Op2 => Object.assign(f, { kind });
export const ADD: Op2 = op2('add', (a, b) => a + b);
export const SUB: Op2 = op2('sub', (a, b) => a - b);
export const MUL: Op2 = op2('mul', (a, b) => a * b);
export const DIV: Op2 = op2('div', (a, b) => a / b);

/** MXCSR.RC: 0 nearest-even, 1 down, 2 up, 3 toward zero. */
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

/** A finite double as m * 2^e with m a (signed) integer. */
function dyadic(x: number): { m: bigint; e: number } {
  const b = f64Bits(x);
  const exp = Number((b >> 52n) & 0x7ffn), frac = b & 0xfffffffffffffn;
  const m = exp === 0 ? frac : frac | (1n << 52n);
  return { m: b >> 63n ? -m : m, e: (exp === 0 ? 1 : exp) - 1075 };
}

/** Sign of (a op b) - r, exactly, for finite a, b, r. */
function exactSign(a: number, b: number, op: Op2['kind'], r: number): number {
  const A = dyadic(a), B = dyadic(b), R = dyadic(r);
  let diff: bigint;
  switch (op) {
    case 'add': case 'sub': {
      const e = Math.min(A.e, B.e, R.e);
      const bm = op === 'sub' ? -B.m : B.m;
      diff = (A.m << BigInt(A.e - e)) + (bm << BigInt(B.e - e)) - (R.m << BigInt(R.e - e));
      break;
    }
    case 'mul': {
      const e = Math.min(A.e + B.e, R.e);
      diff = ((A.m * B.m) << BigInt(A.e + B.e - e)) - (R.m << BigInt(R.e - e));
      break;
    }
    default: { // a/b - r has the sign of (a - r*b) * sign(b)
      const e = Math.min(A.e, R.e + B.e);
      diff = (A.m << BigInt(A.e - e)) - ((R.m * B.m) << BigInt(R.e + B.e - e));
      if (B.m < 0n) diff = -diff;
      break;
    }
  }
  return diff > 0n ? 1 : diff < 0n ? -1 : 0;
}

function nextUp32(b: number): number {
  if ((b & 0x7fffffff) === 0) return 1; // +-0 -> smallest positive denormal
  return (b >>> 31 ? b - 1 : b + 1) >>> 0;
}
function nextDown32(b: number): number {
  if ((b & 0x7fffffff) === 0) return 0x80000001;
  return (b >>> 31 ? b + 1 : b - 1) >>> 0;
}
function nextUp64(b: bigint): bigint {
  if ((b & 0x7fffffffffffffffn) === 0n) return 1n;
  return b >> 63n ? b - 1n : b + 1n;
}
function nextDown64(b: bigint): bigint {
  if ((b & 0x7fffffffffffffffn) === 0n) return 0x8000000000000001n;
  return b >> 63n ? b + 1n : b - 1n;
}

/**
 * Adjust a round-to-nearest result `r` (given as bits) to rounding mode `rc`,
 * knowing s = sign(exact - r). Returns the bits of the directed result.
 */
function direct<T extends number | bigint>(rBits: T, rNeg: boolean, s: number, rc: number, up: (b: T) => T, down: (b: T) => T): T {
  if (s === 0) return rBits;
  switch (rc) {
    case RC_DOWN: return s < 0 ? down(rBits) : rBits;
    case RC_UP: return s > 0 ? up(rBits) : rBits;
    default: // toward zero: step toward zero when |exact| < |r|
      if (!rNeg && s < 0) return down(rBits);
      if (rNeg && s > 0) return up(rBits);
      return rBits;
  }
}

/** a op b on single-precision bit patterns, rounded per `rc` (MXCSR.RC). */
export function op32(a: number, b: number, op: Op2, rc = RC_NEAREST): number {
  if (isNan32(a)) return (a | 0x400000) >>> 0;
  if (isNan32(b)) return (b | 0x400000) >>> 0;
  const x = f32FromBits(a), y = f32FromBits(b);
  const r = Math.fround(op(x, y));
  if (Number.isNaN(r)) return F32_INDEFINITE;
  const bits = f32Bits(r);
  if (rc === RC_NEAREST || !Number.isFinite(x) || !Number.isFinite(y)) return bits;
  // An infinite r from finite operands is an overflow: compare with the largest finite value instead.
  const ref = Number.isFinite(r) ? r : Math.sign(r) * 3.4028234663852886e38;
  const s = exactSign(x, y, op.kind, ref);
  if (!Number.isFinite(r)) { // RN overflowed: directed modes may stop at the largest finite value
    const maxBits = (bits & 0x80000000) | 0x7f7fffff;
    const toInf = rc === RC_UP ? r > 0 : rc === RC_DOWN ? r < 0 : false;
    return s === 0 ? maxBits >>> 0 : toInf ? bits : maxBits >>> 0;
  }
  if (s === 0 && r === 0) return exactZero(x, y, op, rc) ? 0x80000000 : bits;
  return direct(bits, r < 0 || Object.is(r, -0), s, rc, nextUp32, nextDown32);
}

/**
 * An exact zero sum or difference of operands of opposite (effective) sign
 * is -0 when rounding down, +0 otherwise (IEEE 754-2008 §6.3; SDM Vol. 1
 * §4.8.3.1). True when the result must be -0 where round-to-nearest gave +0.
 */
function exactZero(x: number, y: number, op: Op2, rc: number): boolean {
  if (rc !== RC_DOWN || (op.kind !== 'add' && op.kind !== 'sub')) return false;
  const yNeg = op.kind === 'sub' ? !(y < 0 || Object.is(y, -0)) : y < 0 || Object.is(y, -0);
  const xNeg = x < 0 || Object.is(x, -0);
  return !(x === 0 && y === 0 && !xNeg && !yNeg);
}

/** a op b on double-precision bit patterns, rounded per `rc` (MXCSR.RC). */
export function op64(a: bigint, b: bigint, op: Op2, rc = RC_NEAREST): bigint {
  if (isNan64(a)) return a | 0x8000000000000n;
  if (isNan64(b)) return b | 0x8000000000000n;
  const x = f64FromBits(a), y = f64FromBits(b);
  const r = op(x, y);
  if (Number.isNaN(r)) return F64_INDEFINITE;
  const bits = f64Bits(r);
  if (rc === RC_NEAREST || !Number.isFinite(x) || !Number.isFinite(y)) return bits;
  if (!Number.isFinite(r)) {
    const maxBits = (bits & 0x8000000000000000n) | 0x7fefffffffffffffn;
    const toInf = rc === RC_UP ? r > 0 : rc === RC_DOWN ? r < 0 : false;
    return toInf ? bits : maxBits;
  }
  const s = exactSign(x, y, op.kind, r);
  if (s === 0 && r === 0) return exactZero(x, y, op, rc) ? 0x8000000000000000n : bits;
  return direct(bits, r < 0 || Object.is(r, -0), s, rc, nextUp64, nextDown64);
}

/** MXCSR.RC of the vCPU (bits 14:13). */
export function mxcsrRc(mxcsr: number): number { return (mxcsr >> 13) & 3; }
