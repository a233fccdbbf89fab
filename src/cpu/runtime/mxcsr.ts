/**
 * SSE floating-point arithmetic on raw lane bits with x86 NaN rules (Intel
 * SDM Vol. 1 §4.8.3.5 Table 4-7 and §11.5.2.2): a NaN operand propagates
 * quietened, the first source operand's when both are NaNs; an invalid
 * operation with no NaN operand (inf - inf, 0 * inf, 0 / 0, inf / inf,
 * sqrt of a negative) returns the default "QNaN floating-point indefinite"
 * (0xFFC00000 / 0xFFF8000000000000). Working on bits keeps the host's
 * NaN canonicalisation (V8 may rewrite payloads) out of the result.
 *
 * Rounding: MXCSR.RC (SDM Vol. 1 §4.8.4, §10.2.3.1).
 *
 * Exceptions (SDM Vol. 1 §11.5, §4.9; MXCSR layout §10.2.3): every operation
 * here records the exception conditions it detects in `fpx` (the state of
 * the instruction being executed): the pre-computation ones (IE, DE, ZE) in
 * `fpx.pre`, the post-computation ones (OE, UE, PE) in `fpx.post`. An
 * instruction calls `fpBegin(mxcsr)` first and `fpCommit(st)` before it
 * writes its destination: the flags are ORed into MXCSR (sticky), and an
 * unmasked one raises #XM (CR4.OSXMMEXCPT = 1) or #UD with the destination
 * unchanged. Priorities (§4.9.2): an SNaN operand (IE) or a QNaN operand
 * hides every other condition of that operation; other invalid operations
 * and divide-by-zero hide the denormal operand; a masked denormal lets the
 * operation go on to overflow/underflow/precision. Underflow: tininess is
 * detected before rounding; masked, UE is reported only with an inexact
 * result (then also PE); unmasked, any tiny result reports UE. DAZ
 * (MXCSR[6]) reads denormal operands as zeros of their sign without DE;
 * FTZ (MXCSR[15]) with UE masked returns a zero for a tiny result and
 * reports UE and PE.
 *
 * Speed: the common case (normal operands and result) decides exactness
 * with error-free transformations in doubles (TwoSum, Dekker's product,
 * Sterbenz-exact residuals); only results near the ends of the exponent
 * range, f64 operands at the extremes and denormal f64 work go through
 * exact BigInt arithmetic.
 */
import { CR4_OSXMMEXCPT, S, type CpuState } from '../state.js';
import { VEC_UD, VEC_XM } from './mmu.js';
export const F32_INDEFINITE = 0xffc00000;
export const F64_INDEFINITE = 0xfff8000000000000n;

// Reinterpretation through same-width typed arrays over one buffer (independent of the host's byte
// order, and cheaper than DataView calls on this hot path).
const cvtBuf = new ArrayBuffer(8);
const cvtF32 = new Float32Array(cvtBuf, 0, 1), cvtU32 = new Uint32Array(cvtBuf, 0, 1);
const cvtF64 = new Float64Array(cvtBuf), cvtU64 = new BigUint64Array(cvtBuf);

export function f32FromBits(b: number): number { cvtU32[0] = b; return cvtF32[0]!; }
export function f32Bits(v: number): number { cvtF32[0] = v; return cvtU32[0]!; }
export function f64FromBits(b: bigint): number { cvtU64[0] = b; return cvtF64[0]!; }
export function f64Bits(v: number): bigint { cvtF64[0] = v; return cvtU64[0]!; }

export const isNan32 = (b: number): boolean => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
export const isNan64 = (b: bigint): boolean => (b & 0x7ff0000000000000n) === 0x7ff0000000000000n && (b & 0xfffffffffffffn) !== 0n;
/** A signalling NaN: a NaN with the quiet bit (the top fraction bit) clear. */
export const isSnan32 = (b: number): boolean => isNan32(b) && (b & 0x400000) === 0;
export const isSnan64 = (b: bigint): boolean => isNan64(b) && (b & 0x8000000000000n) === 0n;
export const isDenormal32 = (b: number): boolean => (b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0;
export const isDenormal64 = (b: bigint): boolean => (b & 0x7ff0000000000000n) === 0n && (b & 0xfffffffffffffn) !== 0n;

// ---- MXCSR exception state (SDM Vol. 1 §10.2.3, §11.5) ----

/** MXCSR exception flags (bits 5:0); the masks are the same bits shifted left by 7. */
export const IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32;
export const MXCSR_DAZ = 0x40, MXCSR_FTZ = 0x8000;

/**
 * The exception state of the instruction being executed: conditions found
 * so far (pre: IE/DE/ZE, post: OE/UE/PE), DAZ, FTZ, the unmasked exceptions,
 * and `lanes` > 0 while a lifted VEX instruction runs its legacy handler per
 * 128-bit lane (the lanes accumulate; the VEX instruction commits once).
 */
export const fpx = { pre: 0, post: 0, done: 0, daz: false, ftz: false, unmasked: 0, lanes: 0 };

/** Start an FP instruction under `mxcsr`. */
export function fpBegin(mxcsr: number): void {
  if (fpx.lanes > 0) return;
  fpx.pre = 0; fpx.post = 0; fpx.done = 0;
  fpx.daz = (mxcsr & MXCSR_DAZ) !== 0; fpx.ftz = (mxcsr & MXCSR_FTZ) !== 0;
  fpx.unmasked = ~(mxcsr >> 7) & 0x3f;
}

/**
 * End an FP instruction before it writes its destination: OR the flags
 * into MXCSR; false (with #XM, or #UD when CR4.OSXMMEXCPT = 0, raised) when
 * one of them is unmasked: the destination must stay unchanged. An
 * unmasked pre-computation exception stops the instruction before any
 * computation, so only the pre-computation flags are reported then (SDM
 * Vol. 1 §11.5.1).
 */
export function fpCommit(st: CpuState): boolean {
  if (fpx.lanes > 0) return true;
  return fpApply(st);
}

/**
 * The end of one step of an instruction made of dependent operations
 * (DPPS/DPPD: the multiplies, then each level of adds): false when the step
 * raised an unmasked exception (the caller then commits, i.e. faults, at
 * once: later steps do not run); else its flags are kept for the commit.
 */
export function fpStep(): boolean {
  if (((fpx.pre | fpx.post) & fpx.unmasked) !== 0) return false;
  fpx.done |= fpx.pre | fpx.post; fpx.pre = 0; fpx.post = 0;
  return true;
}

function fpApply(st: CpuState): boolean {
  const pre = fpx.pre, post = fpx.post;
  if ((pre | post | fpx.done) === 0) return true;
  const flags = fpx.done | ((pre & fpx.unmasked) !== 0 ? pre : pre | post);
  st.setU32(S.MXCSR, st.u32(S.MXCSR) | flags);
  if ((flags & fpx.unmasked) === 0) return true;
  st.setU32(S.EXC_VECTOR, (st.cr4 & CR4_OSXMMEXCPT) !== 0n ? VEC_XM : VEC_UD);
  st.setU32(S.EXC_ERROR, -1);
  return false;
}

/** A VEX instruction that runs a legacy handler once per lane: begin (lanes accumulate) ... */
export function fpEnterLanes(mxcsr: number): void { fpx.lanes = 0; fpBegin(mxcsr); fpx.lanes = 1; }
/** ... and end: commit once when the lanes completed (`ok`), else just leave the lane mode. */
export function fpLeaveLanes(st: CpuState, ok: boolean): boolean { fpx.lanes = 0; return ok ? fpApply(st) : true; }

// ---- exact rounding (the rare cases) ----

/** A binary format: precision p (with the hidden bit), minimum normal exponent, exponent field width. */
export interface Fmt { readonly p: number; readonly emin: number; readonly ebits: number }
export const F32: Fmt = { p: 24, emin: -126, ebits: 8 };
export const F64: Fmt = { p: 53, emin: -1022, ebits: 11 };

function bitLength(m: bigint): number { return m.toString(2).length; }

/**
 * Round (-1)^neg * m * 2^e (m > 0; a division or square root passes a
 * sticky bit below its significant bits) to `fmt` with rounding mode `rc`,
 * gradual underflow, FTZ, and the directed modes' overflow to the largest
 * finite value; the OE/UE/PE conditions go to `fpx.post`. Returns the bits.
 */
export function roundExact(neg: boolean, m: bigint, e: number, fmt: Fmt, rc: number, tinyAfterRounding = false): bigint {
  const width = BigInt(fmt.ebits + fmt.p - 1);
  const sign = neg ? 1n << width : 0n;
  const len = bitLength(m);
  const lead = e + len - 1;
  // Before rounding (SDM Vol. 1 §4.9.1.5); the FMA forms decide after rounding to p bits with an
  // unbounded exponent (the host reports no UE when that rounding reaches 2^emin).
  let tiny = lead < fmt.emin;
  if (tiny && tinyAfterRounding && lead === fmt.emin - 1 && len > fmt.p) {
    const k = BigInt(len - fmt.p), top = m >> k, rem = m & ((1n << k) - 1n), half = 1n << (k - 1n);
    const up = rem !== 0n && (rc === RC_NEAREST ? rem > half || (rem === half && (top & 1n) === 1n) : rc === RC_DOWN ? neg : rc === RC_UP ? !neg : false);
    if (up && top + 1n === 1n << BigInt(fmt.p)) tiny = false;
  }
  const ueUnmasked = (fpx.unmasked & UE) !== 0;
  if (tiny && fpx.ftz && !ueUnmasked) { fpx.post |= UE | PE; return sign; }
  let q = Math.max(lead - (fmt.p - 1), fmt.emin - (fmt.p - 1)); // exponent of the last kept bit
  let mant: bigint, inexact = false;
  if (q <= e) mant = m << BigInt(e - q);
  else {
    const k = BigInt(q - e);
    mant = m >> k;
    const rem = m & ((1n << k) - 1n), half = 1n << (k - 1n);
    let up = false;
    if (rem !== 0n) {
      inexact = true;
      if (rc === RC_NEAREST) up = rem > half || (rem === half && (mant & 1n) === 1n);
      else if (rc === RC_DOWN) up = neg;
      else if (rc === RC_UP) up = !neg;
    }
    if (up) mant += 1n;
    if (mant === 1n << BigInt(fmt.p)) { mant >>= 1n; q += 1; }
  }
  const hidden = 1n << BigInt(fmt.p - 1);
  const expField = mant >= hidden ? q + fmt.p - 1 + (2 ** (fmt.ebits - 1) - 1) : 0;
  if (expField >= 2 ** fmt.ebits - 1) { // overflow (SDM Vol. 1 §4.9.1.4, Table 4-8)
    fpx.post |= (fpx.unmasked & OE) !== 0 ? OE | (inexact ? PE : 0) : OE | PE;
    const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
    const maxExp = BigInt(2 ** fmt.ebits - 1);
    return sign | (toInf ? maxExp << BigInt(fmt.p - 1) : ((maxExp - 1n) << BigInt(fmt.p - 1)) | (hidden - 1n));
  }
  if (tiny) {
    // Unmasked: any tiny result; PE as for the result rounded to full precision (the handler's re-biased value).
    if (ueUnmasked) fpx.post |= UE | (len > fmt.p && (m & ((1n << BigInt(len - fmt.p)) - 1n)) !== 0n ? PE : 0);
    else if (inexact) fpx.post |= UE | PE;
  } else if (inexact) fpx.post |= PE;
  return sign | (BigInt(expField) << BigInt(fmt.p - 1)) | (mant & (hidden - 1n));
}

/** A finite double as sign, magnitude m and exponent e (value = (-1)^neg * m * 2^e). */
export function dyad(x: number): { neg: boolean; m: bigint; e: number } {
  const b = f64Bits(x);
  const exp = Number((b >> 52n) & 0x7ffn), frac = b & 0xfffffffffffffn;
  return { neg: (b >> 63n) !== 0n, m: exp === 0 ? frac : frac | (1n << 52n), e: (exp === 0 ? 1 : exp) - 1075 };
}

const isNeg = (v: number): boolean => v < 0 || Object.is(v, -0);

/**
 * The sign of an exact zero sum (IEEE 754-2008 §6.3, SDM Vol. 1 §4.8.3.1):
 * the common sign of two zeros of equal (effective) sign, else -0 when
 * rounding down and +0 otherwise. True for -0.
 */
function zeroSumNeg(x: number, y: number, sub: boolean, rc: number): boolean {
  const yNeg = isNeg(y) !== sub;
  if (x === 0 && y === 0 && isNeg(x) === yNeg) return yNeg;
  return rc === RC_DOWN;
}

/** x op y (finite doubles holding values of `fmt`) exactly, rounded by roundExact (exported for the tests). */
export function exactArith(kind: Op2['kind'], x: number, y: number, fmt: Fmt, rc: number): bigint {
  const zero = (neg: boolean): bigint => (neg ? 1n << BigInt(fmt.ebits + fmt.p - 1) : 0n);
  const A = dyad(x), B = dyad(y);
  let neg: boolean, m: bigint, e: number;
  switch (kind) {
    case 'add': case 'sub': {
      const bNeg = kind === 'sub' ? !B.neg : B.neg;
      e = Math.min(A.e, B.e);
      const sum = (A.neg ? -A.m : A.m) * (1n << BigInt(A.e - e)) + (bNeg ? -B.m : B.m) * (1n << BigInt(B.e - e));
      if (sum === 0n) return zero(zeroSumNeg(x, y, kind === 'sub', rc));
      neg = sum < 0n; m = neg ? -sum : sum;
      break;
    }
    case 'mul':
      neg = A.neg !== B.neg; m = A.m * B.m; e = A.e + B.e;
      if (m === 0n) return zero(neg);
      break;
    default: {
      neg = A.neg !== B.neg;
      if (A.m === 0n) return zero(neg);
      const k = Math.max(0, fmt.p + 3 + bitLength(B.m) - bitLength(A.m));
      const num = A.m << BigInt(k);
      const q = num / B.m;
      m = (q << 1n) | (num % B.m !== 0n ? 1n : 0n);
      e = A.e - B.e - k - 1;
      break;
    }
  }
  return roundExact(neg, m, e, fmt, rc);
}

/** sqrt of a positive finite double holding a value of `fmt`, exactly rounded by roundExact. */
export function exactSqrt(x: number, fmt: Fmt, rc: number): bigint {
  let { m, e } = dyad(x);
  if (e & 1) { m <<= 1n; e -= 1; }
  const k = Math.max(0, Math.ceil((2 * (fmt.p + 3) - bitLength(m)) / 2));
  const M = m << BigInt(2 * k);
  let r = BigInt(Math.floor(Math.sqrt(Number(M))));
  while (r * r > M) r -= 1n;
  while ((r + 1n) * (r + 1n) <= M) r += 1n;
  return roundExact(false, (r << 1n) | (r * r !== M ? 1n : 0n), (e - 2 * k) / 2 - 1, fmt, rc);
}

// ---- the operations ----

export type Op2 = ((a: number, b: number) => number) & { readonly kind: 'add' | 'sub' | 'mul' | 'div' };
const op2 = (kind: Op2['kind'], f: (a: number, b: number) => number): Op2 => Object.assign(f, { kind });
export const ADD: Op2 = op2('add', (a, b) => a + b);
export const SUB: Op2 = op2('sub', (a, b) => a - b);
export const MUL: Op2 = op2('mul', (a, b) => a * b);
export const DIV: Op2 = op2('div', (a, b) => a / b);

/** MXCSR.RC: 0 nearest-even, 1 down, 2 up, 3 toward zero. */
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

export function nextUp32(b: number): number { return (b & 0x7fffffff) === 0 ? 1 : (b >>> 31 ? b - 1 : b + 1) >>> 0; }
export function nextDown32(b: number): number { return (b & 0x7fffffff) === 0 ? 0x80000001 : (b >>> 31 ? b + 1 : b - 1) >>> 0; }
export function nextUp64(b: bigint): bigint { return (b & 0x7fffffffffffffffn) === 0n ? 1n : b >> 63n ? b - 1n : b + 1n; }
export function nextDown64(b: bigint): bigint { return (b & 0x7fffffffffffffffn) === 0n ? 0x8000000000000001n : b >> 63n ? b + 1n : b - 1n; }

/**
 * Adjust a round-to-nearest result `rBits` to rounding mode `rc`, knowing
 * s = sign(exact - r) (SDM Vol. 1 §4.8.4). Returns the bits of the directed result.
 */
export function direct<T extends number | bigint>(rBits: T, rNeg: boolean, s: number, rc: number, up: (b: T) => T, down: (b: T) => T): T {
  if (s === 0 || rc === RC_NEAREST) return rBits;
  switch (rc) {
    case RC_DOWN: return s < 0 ? down(rBits) : rBits;
    case RC_UP: return s > 0 ? up(rBits) : rBits;
    default: // toward zero: step toward zero when |exact| < |r|
      if (!rNeg && s < 0) return down(rBits);
      if (rNeg && s > 0) return up(rBits);
      return rBits;
  }
}

const MIN_NORMAL32 = 1.1754943508222875e-38, MAX32 = 3.4028234663852886e38;
const MIN_NORMAL64 = 2.2250738585072014e-308;
/**
 * Dekker's product a*b is exact (no overflow in the split or in the halves'
 * products, no underflow in the error) when |a|, |b| and |a*b| are below
 * 2^995 and |a*b| is above 2^-968.
 */
const SPLIT_MAX = 2 ** 995, PRODUCT_MIN = 2 ** -968;

/** The exact error of the double product p = RN(a * b) (Dekker/Veltkamp; |a|, |b| < 2^995, |p| > 2^-968). */
function productError(a: number, b: number, p: number): number {
  const ca = 134217729 * a, ah = ca - (ca - a), al = a - ah;
  const cb = 134217729 * b, bh = cb - (cb - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

const sgn = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0);

/** a op b on single-precision bit patterns, rounded per `rc` (MXCSR.RC); exceptions to `fpx`. */
export function op32(a: number, b: number, op: Op2, rc = RC_NEAREST): number {
  const ea = a & 0x7f800000, eb = b & 0x7f800000;
  if (ea === 0 || eb === 0 || ea === 0x7f800000 || eb === 0x7f800000) return special32(a, b, op, rc);
  return finite32(f32FromBits(a), f32FromBits(b), op, rc);
}

/**
 * Finite x op y (single-precision values, not both zero for mul/div). A
 * double holds every sum (up to one rounding, whose error TwoSum gives),
 * product and r * y exactly, so exactness and the directed step need no
 * BigInt; tiny or overflowing results take the exact path.
 */
function finite32(x: number, y: number, op: Op2, rc: number): number {
  // (Identity tests rather than op.kind: a property of a function object is a slow read on this path.)
  const d = op === ADD ? x + y : op === SUB ? x - y : op === MUL ? x * y : x / y;
  if (d === 0) return zeroSumNeg(x, y, op === SUB, rc) ? 0x80000000 : 0; // an exact cancellation
  const r = Math.fround(d), ar = Math.abs(r);
  if (!(ar > MIN_NORMAL32 && ar <= MAX32)) return Number(exactArith(op.kind, x, y, F32, rc));
  let s: number;
  if (op === MUL) s = sgn(d - r);
  else if (op === DIV) s = y < 0 ? -sgn(x - r * y) : sgn(x - r * y); // r * y exact; x - r * y exact (Sterbenz)
  else if (d !== r) s = d > r ? 1 : -1;
  else { const yy = op === SUB ? -y : y, bb = d - x; s = sgn((x - (d - bb)) + (yy - bb)); }
  const bits = f32Bits(r);
  if (s === 0) return bits;
  fpx.post |= PE;
  if (rc === RC_NEAREST) return bits;
  const out = direct(bits, r < 0, s, rc, nextUp32, nextDown32);
  if ((out & 0x7f800000) === 0x7f800000) fpx.post |= OE; // stepped past the largest finite value
  return out;
}

/** NaN, infinite, zero or denormal operands. */
function special32(a: number, b: number, op: Op2, rc: number): number {
  const nanA = isNan32(a), nanB = isNan32(b);
  if (nanA || nanB) {
    if (isSnan32(a) || isSnan32(b)) fpx.pre |= IE;
    return ((nanA ? a : b) | 0x400000) >>> 0;
  }
  let x = f32FromBits(a), y = f32FromBits(b), den = false;
  if (isDenormal32(a)) { if (fpx.daz) x = a >>> 31 ? -0 : 0; else den = true; }
  if (isDenormal32(b)) { if (fpx.daz) y = b >>> 31 ? -0 : 0; else den = true; }
  const kind = op.kind;
  const d = op(x, y);
  if (Number.isNaN(d)) { fpx.pre |= IE; return F32_INDEFINITE; }
  if (kind === 'div' && y === 0 && x !== 0 && Number.isFinite(x)) { fpx.pre |= ZE; return f32Bits(d); }
  if (den) fpx.pre |= DE;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return f32Bits(d); // exact: an infinity, or x / inf = 0
  if (d === 0) return kind === 'add' || kind === 'sub' ? (zeroSumNeg(x, y, kind === 'sub', rc) ? 0x80000000 : 0) : f32Bits(d);
  return finite32(x, y, op, rc);
}

/** a op b on double-precision bit patterns, rounded per `rc` (MXCSR.RC); exceptions to `fpx`. */
export function op64(a: bigint, b: bigint, op: Op2, rc = RC_NEAREST): bigint {
  const x = f64FromBits(a), y = f64FromBits(b), ax = Math.abs(x), ay = Math.abs(y);
  // Classified on the values (no BigInt masks): false for NaNs, infinities, zeros and denormals.
  if (!(ax >= MIN_NORMAL64 && ax < Infinity && ay >= MIN_NORMAL64 && ay < Infinity)) return special64(a, b, op, rc);
  return finite64(x, y, op, rc);
}

/** Finite x op y in double precision: TwoSum / Dekker's product decide exactness; extremes go exact. */
function finite64(x: number, y: number, op: Op2, rc: number): bigint {
  const sum = op === ADD || op === SUB;
  const d = op === ADD ? x + y : op === SUB ? x - y : op === MUL ? x * y : x / y;
  if (d === 0 && sum) return zeroSumNeg(x, y, op === SUB, rc) ? 0x8000000000000000n : 0n;
  const ad = Math.abs(d);
  let s: number;
  if (sum) {
    if (!(ad > MIN_NORMAL64 && ad < Infinity)) return exactArith(op.kind, x, y, F64, rc);
    const yy = op === SUB ? -y : y, bb = d - x;
    const e = (x - (d - bb)) + (yy - bb);
    if (e !== e) return exactArith(op.kind, x, y, F64, rc); // TwoSum overflowed (d - x beyond the largest double)
    s = sgn(e);
  } else if (op === MUL) {
    // The product (and the split halves' product) must stay below 2^995 too, or ah*bh overflows.
    if (!(ad > PRODUCT_MIN && ad < SPLIT_MAX && Math.abs(x) < SPLIT_MAX && Math.abs(y) < SPLIT_MAX)) return exactArith(op.kind, x, y, F64, rc);
    s = sgn(productError(x, y, d));
  } else {
    const ax = Math.abs(x);
    if (!(ad > MIN_NORMAL64 && ad < SPLIT_MAX && Math.abs(y) < SPLIT_MAX && ax > PRODUCT_MIN && ax < SPLIT_MAX)) return exactArith(op.kind, x, y, F64, rc);
    const h = d * y, t = (x - h) - productError(d, y, h); // x - d*y exactly signed
    s = y < 0 ? -sgn(t) : sgn(t);
  }
  const bits = f64Bits(d);
  if (s === 0) return bits;
  fpx.post |= PE;
  if (rc === RC_NEAREST) return bits;
  const out = direct(bits, d < 0, s, rc, nextUp64, nextDown64);
  if ((out & 0x7ff0000000000000n) === 0x7ff0000000000000n) fpx.post |= OE;
  return out;
}

function special64(a: bigint, b: bigint, op: Op2, rc: number): bigint {
  const nanA = isNan64(a), nanB = isNan64(b);
  if (nanA || nanB) {
    if (isSnan64(a) || isSnan64(b)) fpx.pre |= IE;
    return (nanA ? a : b) | 0x8000000000000n;
  }
  let x = f64FromBits(a), y = f64FromBits(b), den = false;
  if (isDenormal64(a)) { if (fpx.daz) x = a >> 63n ? -0 : 0; else den = true; }
  if (isDenormal64(b)) { if (fpx.daz) y = b >> 63n ? -0 : 0; else den = true; }
  const kind = op.kind;
  const d = op(x, y);
  if (Number.isNaN(d)) { fpx.pre |= IE; return F64_INDEFINITE; }
  if (kind === 'div' && y === 0 && x !== 0 && Number.isFinite(x)) { fpx.pre |= ZE; return f64Bits(d); }
  if (den) fpx.pre |= DE;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return f64Bits(d);
  if (x === 0 || y === 0) {
    if (kind === 'add' || kind === 'sub') {
      if (d === 0) return zeroSumNeg(x, y, kind === 'sub', rc) ? 0x8000000000000000n : 0n;
      return exactArith(kind, x, y, F64, rc); // 0 +- a denormal: tiny (UE unmasked, FTZ)
    }
    return f64Bits(d);
  }
  return exactArith(kind, x, y, F64, rc); // a denormal operand
}

/** MXCSR.RC of the vCPU (bits 14:13). */
export function mxcsrRc(mxcsr: number): number { return (mxcsr >> 13) & 3; }
