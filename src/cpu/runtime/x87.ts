/**
 * The x87 FPU for the TypeScript executor: 80-bit extended precision as a
 * soft-float (64-bit significand in a BigInt, exact intermediate results,
 * one rounding per operation honouring FCW.PC and FCW.RC), the register
 * stack with TOP and the full tag word, FSW condition codes and exception
 * flags. Intel SDM Vol. 1 ch. 8 (x87 FPU), §4.8.3 (NaN rules, Table 4-7),
 * Vol. 2 per mnemonic.
 *
 * State: S.ST slot i holds ST(i) (the FXSAVE layout), S.FTW the full tag
 * word indexed by physical register, S.FSW TOP in bits 13:11.
 *
 * Exceptions: masked responses per SDM §8.5; an unmasked exception sets
 * ES/B and the next waiting x87 instruction raises #MF (CR0.NE = 1). For
 * unmasked IE/ZE/DE the destination is left unchanged; unmasked OE/UE
 * deliver the masked result (the SDM's exponent-bias adjustment is not
 * modelled). FPREM/FPREM1/FXTRACT are exact; the transcendentals
 * (F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS, FSINCOS) are computed
 * in double precision (about 53 correct bits, not the hardware's 64).
 * FNSTENV/FNSAVE store zero FPU instruction and data pointers.
 */
import { Mn, OpKind, RegClass, type Instruction, type Operand } from '../decoder/types.js';
import { CR0_EM, CR0_NE, CR0_TS, S } from '../state.js';
import { Exit } from '../translate/core.js';
import { arithFlags, F_CF, F_PF, F_ZF } from '../translate/flags.js';
import { VEC_NM } from './mmu.js';
import { linAddr } from './ops.js';
import { setStatusFlags, simdFault, type SimdCtx } from './simd.js';

const VEC_MF = 16;

// FSW bits (SDM Vol. 1 Figure 8-4) and FCW bits (Figure 8-6).
const IE = 1 << 0, DE = 1 << 1, ZE = 1 << 2, OE = 1 << 3, UE = 1 << 4, PE = 1 << 5, SF = 1 << 6, ES = 1 << 7;
const C0 = 1 << 8, C1 = 1 << 9, C2 = 1 << 10, C3 = 1 << 14, B = 1 << 15;
const TOP_SHIFT = 11;

/** An 80-bit extended value as stored: sign, 15-bit biased exponent, 64-bit significand with explicit integer bit. */
export interface Ext { sign: number; exp: number; mant: bigint }

const INT_BIT = 1n << 63n, QUIET_BIT = 1n << 62n, M64 = (1n << 64n) - 1n;
const BIAS = 16383;
export const INDEFINITE: Ext = { sign: 1, exp: 0x7fff, mant: 0xc000000000000000n };
const ZERO = (sign: number): Ext => ({ sign, exp: 0, mant: 0n });
const INF = (sign: number): Ext => ({ sign, exp: 0x7fff, mant: INT_BIT });

export const isNaN80 = (x: Ext): boolean => x.exp === 0x7fff && (x.mant & ~INT_BIT) !== 0n;
const isSNaN = (x: Ext): boolean => isNaN80(x) && (x.mant & QUIET_BIT) === 0n;
const isInf = (x: Ext): boolean => x.exp === 0x7fff && x.mant === INT_BIT;
const isZero = (x: Ext): boolean => x.exp === 0 && x.mant === 0n;
/** Unsupported encodings (pseudo-NaN/infinity, unnormals) are invalid operands (SDM §8.2.2). */
const isUnsupported = (x: Ext): boolean => x.exp !== 0 && (x.mant & INT_BIT) === 0n;
const isDenormal = (x: Ext): boolean => x.exp === 0 && x.mant !== 0n;

/** Exact value as (-1)^sign * n * 2^e. */
function exact(x: Ext): { n: bigint; e: number } {
  return { n: x.mant, e: (x.exp === 0 ? 1 : x.exp) - BIAS - 63 };
}

const bitLen = (n: bigint): number => n.toString(2).length;

interface Rounded { v: Ext; flags: number; up: boolean }

/**
 * Round (-1)^sign * n * 2^e (n > 0) to `p` significand bits with rounding
 * control `rc`, in the extended exponent range (gradual underflow with the
 * significand LSB at 2^-16445). `sticky` says bits below n were non-zero.
 */
function roundExt(sign: number, n: bigint, e: number, p: number, rc: number): Rounded {
  if (n === 0n) return { v: ZERO(sign), flags: 0, up: false };
  const len = bitLen(n);
  // Precision control is positional: in the denormal range the LSB stays where a p-bit significand with
  // the minimum exponent has it (2^(-16445 + 64 - p); observed on Intel hardware).
  const shift = Math.max(len - p, -16445 + (64 - p) - e);
  let q = n, lsbExp = e, inexact = false, up = false;
  if (shift > 0) {
    const sh = BigInt(shift);
    q = n >> sh;
    const rem = n & ((1n << sh) - 1n), half = 1n << (sh - 1n);
    inexact = rem !== 0n;
    const inc = rc === 0 ? rem > half || (rem === half && (q & 1n) === 1n)
      : rc === 1 ? sign === 1 && inexact : rc === 2 ? sign === 0 && inexact : false;
    if (inc) { q += 1n; up = true; }
    lsbExp = e + shift;
  }
  let flags = inexact ? PE : 0;
  if (q === 0n) return { v: ZERO(sign), flags: flags | UE, up };
  const ql = bitLen(q);
  const biased = lsbExp + ql - 1 + BIAS;
  if (biased >= 0x7fff) { // overflow: infinity or the largest finite value by rounding direction (SDM §4.9.1.4)
    flags |= OE | PE;
    const toInf = rc === 0 || (rc === 1 && sign === 1) || (rc === 2 && sign === 0);
    const maxMant = p >= 64 ? M64 : ((1n << BigInt(p)) - 1n) << BigInt(64 - p);
    return { v: toInf ? INF(sign) : { sign, exp: 0x7ffe, mant: maxMant }, flags, up: toInf };
  }
  if (biased < 1) { // denormal: significand LSB at 2^-16445, exponent field 0
    if (inexact) flags |= UE;
    return { v: { sign, exp: 0, mant: (q << BigInt(lsbExp + 16445)) & M64 }, flags, up };
  }
  return { v: { sign, exp: biased, mant: (q << BigInt(64 - ql)) & M64 }, flags, up };
}

const pcBits = (fcw: number): number => { const pc = (fcw >> 8) & 3; return pc === 0 ? 24 : pc === 2 ? 53 : 64; };
const rcOf = (fcw: number): number => (fcw >> 10) & 3;

/**
 * x87 NaN propagation (SDM Table 4-7, x87 column): a QNaN beats an SNaN;
 * two of a kind: the larger significand (then the positive one); quietened.
 */
function propagateNaN(a: Ext, b: Ext | undefined): Ext {
  const q = (x: Ext): Ext => ({ sign: x.sign, exp: x.exp, mant: x.mant | QUIET_BIT });
  if (!b || !isNaN80(b)) return q(a);
  if (!isNaN80(a)) return q(b);
  if (isSNaN(a) !== isSNaN(b)) return q(isSNaN(a) ? b : a);
  const ma = a.mant | QUIET_BIT, mb = b.mant | QUIET_BIT;
  if (ma !== mb) return q(ma > mb ? a : b);
  return q(a.sign === 0 ? a : b);
}

type Arith = 'add' | 'sub' | 'mul' | 'div';

/** a op b with the x87 special cases; returns the result and the exception flags raised. */
export function arith80(a: Ext, b: Ext, op: Arith, fcw: number): { v: Ext; flags: number; up: boolean } {
  let flags = 0;
  if (isUnsupported(a) || isUnsupported(b)) return { v: INDEFINITE, flags: IE, up: false };
  if (isNaN80(a) || isNaN80(b)) {
    if (isSNaN(a) || isSNaN(b)) flags |= IE;
    return { v: propagateNaN(a, b), flags, up: false };
  }
  if (isDenormal(a) || isDenormal(b)) flags |= DE;
  const p = pcBits(fcw), rc = rcOf(fcw);
  let bs = b.sign;
  if (op === 'sub') { bs ^= 1; op = 'add'; }
  switch (op) {
    case 'add': {
      if (isInf(a) || isInf(b)) {
        if (isInf(a) && isInf(b) && a.sign !== bs) return { v: INDEFINITE, flags: flags | IE, up: false };
        return { v: isInf(a) ? a : { ...b, sign: bs }, flags, up: false };
      }
      // Align exactly; an addend entirely below the result's rounding position only matters as a sticky bit.
      const A = exact(a), Bx = exact(b);
      const aBig = A.e >= Bx.e;
      const hi = aBig ? A : Bx, lo = aBig ? Bx : A;
      let eff: number, nHi: bigint, nLo: bigint;
      if (lo.n === 0n) { eff = hi.e; nHi = hi.n; nLo = 0n; }
      else if (lo.e + bitLen(lo.n) <= hi.e - 10) { eff = hi.e - 10; nHi = hi.n << 10n; nLo = 1n; }
      else { eff = lo.e; nHi = hi.n << BigInt(hi.e - lo.e); nLo = lo.n; }
      if (hi.n === 0n) { eff = lo.e; nHi = 0n; nLo = lo.n; }
      const na = aBig ? nHi : nLo, nb = aBig ? nLo : nHi;
      const sa = a.sign ? -na : na, sb = bs ? -nb : nb;
      const sum = sa + sb;
      if (sum === 0n) {
        // Exact zero: +0, or -0 rounding down; equal-signed zeros keep their sign (SDM §4.8.3.1 / IEEE 754).
        const sign = isZero(a) && isZero(b) && a.sign === bs ? a.sign : rc === 1 ? 1 : 0;
        return { v: ZERO(sign), flags, up: false };
      }
      const r = roundExt(sum < 0n ? 1 : 0, sum < 0n ? -sum : sum, eff, p, rc);
      return { v: r.v, flags: flags | r.flags, up: r.up };
    }
    case 'mul': {
      const sign = a.sign ^ b.sign;
      if (isInf(a) || isInf(b)) {
        if (isZero(a) || isZero(b)) return { v: INDEFINITE, flags: flags | IE, up: false };
        return { v: INF(sign), flags, up: false };
      }
      if (isZero(a) || isZero(b)) return { v: ZERO(sign), flags, up: false };
      const A = exact(a), Bx = exact(b);
      const r = roundExt(sign, A.n * Bx.n, A.e + Bx.e, p, rc);
      return { v: r.v, flags: flags | r.flags, up: r.up };
    }
    default: {
      const sign = a.sign ^ b.sign;
      if (isInf(a)) return isInf(b) ? { v: INDEFINITE, flags: flags | IE, up: false } : { v: INF(sign), flags, up: false };
      if (isInf(b)) return { v: ZERO(sign), flags, up: false };
      // x/0: #Z only (no #D for a denormal dividend, host behaviour); 0/0: #I.
      if (isZero(b)) return isZero(a) ? { v: INDEFINITE, flags: flags | IE, up: false } : { v: INF(sign), flags: ZE, up: false };
      if (isZero(a)) return { v: ZERO(sign), flags, up: false };
      const A = exact(a), Bx = exact(b);
      const k = 64 + 3 + Math.max(0, bitLen(Bx.n) - bitLen(A.n));
      const num = A.n << BigInt(k);
      const q = num / Bx.n, rem = num % Bx.n;
      const r = roundExt(sign, (q << 1n) | (rem !== 0n ? 1n : 0n), A.e - Bx.e - k - 1, p, rc);
      return { v: r.v, flags: flags | r.flags, up: r.up };
    }
  }
}

function sqrt80(a: Ext, fcw: number): { v: Ext; flags: number; up: boolean } {
  if (isUnsupported(a)) return { v: INDEFINITE, flags: IE, up: false };
  if (isNaN80(a)) return { v: propagateNaN(a, undefined), flags: isSNaN(a) ? IE : 0, up: false };
  if (isZero(a)) return { v: a, flags: 0, up: false };
  if (a.sign) return { v: INDEFINITE, flags: IE, up: false };
  if (isInf(a)) return { v: a, flags: 0, up: false };
  const flags = isDenormal(a) ? DE : 0;
  const A = exact(a);
  let n = A.n, e = A.e;
  // Make e even and n wide enough for 64 + guard bits of root.
  let shift = 140 - bitLen(n); if (shift < 0) shift = 0;
  if ((e - shift) & 1) shift++;
  n <<= BigInt(shift); e -= shift;
  let x = 1n << BigInt(Math.ceil(bitLen(n) / 2) + 1);
  for (;;) { const y = (x + n / x) >> 1n; if (y >= x) break; x = y; }
  const sticky = x * x !== n;
  const r = roundExt(0, (x << 1n) | (sticky ? 1n : 0n), e / 2 - 1, pcBits(fcw), rcOf(fcw));
  return { v: r.v, flags: flags | r.flags, up: r.up };
}

// ---- conversions

const dv = new DataView(new ArrayBuffer(16));

function fromFloatBits(bits: bigint, fracBits: number, expBits: number): { v: Ext; flags: number } {
  const total = 1 + expBits + fracBits;
  const sign = Number((bits >> BigInt(total - 1)) & 1n);
  const e = Number((bits >> BigInt(fracBits)) & ((1n << BigInt(expBits)) - 1n));
  const frac = bits & ((1n << BigInt(fracBits)) - 1n);
  const emax = (1 << expBits) - 1, bias = (1 << (expBits - 1)) - 1;
  if (e === emax) {
    if (frac === 0n) return { v: INF(sign), flags: 0 };
    // An SNaN stays signalling here (arithmetic applies the NaN rules); FLD quietens it with IE.
    const v: Ext = { sign, exp: 0x7fff, mant: INT_BIT | (frac << BigInt(63 - fracBits)) };
    return { v, flags: isSNaN(v) ? IE : 0 };
  }
  if (e === 0) {
    if (frac === 0n) return { v: ZERO(sign), flags: 0 };
    // Denormal source: exact in extended, normalised (DE raised, SDM FLD).
    const r = roundExt(sign, frac, 1 - bias - fracBits, 64, 0);
    return { v: r.v, flags: DE };
  }
  return { v: { sign, exp: e - bias + BIAS, mant: INT_BIT | (frac << BigInt(63 - fracBits)) }, flags: 0 };
}

/** Round an extended value to single/double and return its bits with flags (FST m32/m64, SDM FST). */
function toFloatBits(x: Ext, fracBits: number, expBits: number, fcw: number): { bits: bigint; flags: number; up: boolean } {
  const bias = (1 << (expBits - 1)) - 1, emax = (1 << expBits) - 1;
  const signBit = BigInt(x.sign) << BigInt(fracBits + expBits);
  if (isUnsupported(x)) return { bits: -1n, flags: IE, up: false };
  if (isNaN80(x)) {
    const q = (x.mant | QUIET_BIT) & ~INT_BIT;
    return { bits: signBit | (BigInt(emax) << BigInt(fracBits)) | (q >> BigInt(63 - fracBits)), flags: isSNaN(x) ? IE : 0, up: false };
  }
  if (isInf(x)) return { bits: signBit | (BigInt(emax) << BigInt(fracBits)), flags: 0, up: false };
  if (isZero(x)) return { bits: signBit, flags: 0, up: false };
  const A = exact(x);
  const p = fracBits + 1, rc = rcOf(fcw);
  // Round to p bits, with the destination's minimum LSB exponent for denormals.
  const minLsb = 1 - bias - fracBits;
  const len = bitLen(A.n);
  const lsb = Math.max(A.e + len - p, minLsb);
  let q: bigint, inexact = false, up = false;
  if (lsb > A.e) {
    const sh = BigInt(lsb - A.e);
    q = A.n >> sh;
    const rem = A.n & ((1n << sh) - 1n), half = 1n << (sh - 1n);
    inexact = rem !== 0n;
    const inc = rc === 0 ? rem > half || (rem === half && (q & 1n) === 1n) : rc === 1 ? x.sign === 1 && inexact : rc === 2 ? x.sign === 0 && inexact : false;
    if (inc) { q += 1n; up = true; }
  } else q = A.n << BigInt(A.e - lsb);
  let flags = inexact ? PE : 0; // FST m32/m64 raises no #D for a denormal source (host behaviour)
  const ql = bitLen(q);
  const unbiased = lsb + ql - 1;
  if (q === 0n) { if (inexact) flags |= UE; return { bits: signBit, flags, up }; }
  if (unbiased + bias >= emax) {
    flags |= OE | PE;
    const toInf = rc === 0 || (rc === 1 && x.sign === 1) || (rc === 2 && x.sign === 0);
    const maxBits = (BigInt(emax - 1) << BigInt(fracBits)) | ((1n << BigInt(fracBits)) - 1n);
    return { bits: signBit | (toInf ? BigInt(emax) << BigInt(fracBits) : maxBits), flags, up: toInf };
  }
  if (unbiased + bias < 1) { // denormal result
    if (inexact) flags |= UE;
    return { bits: signBit | q, flags, up };
  }
  const frac = (q << BigInt(p - ql)) & ((1n << BigInt(fracBits)) - 1n);
  return { bits: signBit | (BigInt(unbiased + bias) << BigInt(fracBits)) | frac, flags, up };
}

function fromInt(v: bigint): Ext {
  if (v === 0n) return ZERO(0);
  const sign = v < 0n ? 1 : 0, n = v < 0n ? -v : v;
  return roundExt(sign, n, 0, 64, 0).v;
}

/** Round to an integer per rc (or truncate); undefined when NaN/infinite/out of `bits`. */
function toInt(x: Ext, rc: number, bits: number): { v: bigint | undefined; inexact: boolean; up: boolean } {
  if (isNaN80(x) || isInf(x) || isUnsupported(x)) return { v: undefined, inexact: false, up: false };
  if (isZero(x)) return { v: 0n, inexact: false, up: false };
  const A = exact(x);
  let q: bigint, inexact = false, up = false;
  if (A.e >= 0) q = A.e > 80 ? 1n << 200n : A.n << BigInt(A.e);
  else {
    const sh = BigInt(-A.e);
    q = A.n >> sh;
    const rem = A.n & ((1n << sh) - 1n), half = 1n << (sh - 1n);
    inexact = rem !== 0n;
    const inc = rc === 0 ? rem > half || (rem === half && (q & 1n) === 1n) : rc === 1 ? x.sign === 1 && inexact : rc === 2 ? x.sign === 0 && inexact : false;
    if (inc) { q += 1n; up = true; }
  }
  const val = x.sign ? -q : q;
  const lim = 1n << BigInt(bits - 1);
  if (val >= lim || val < -lim) return { v: undefined, inexact: false, up: false };
  return { v: val, inexact, up };
}

// ---- constants (SDM FLD1/FLDL2T...: the 66-bit internal constants rounded per RC; nearest shown)
const CONST_MANT: Partial<Record<Mn, readonly [number, bigint, bigint]>> = {
  // [exponent (unbiased), 64-bit significand rounded to nearest, next bits beyond (for directed rounding: 0 = exact)]
  [Mn.FLDL2T]: [1, 0xd49a784bcd1b8afen, 1n],
  [Mn.FLDL2E]: [0, 0xb8aa3b295c17f0bcn, -1n],
  [Mn.FLDPI]: [1, 0xc90fdaa22168c235n, -1n],
  [Mn.FLDLG2]: [-2, 0x9a209a84fbcff799n, -1n],
  [Mn.FLDLN2]: [-1, 0xb17217f7d1cf79acn, -1n],
};

// ---- the executor

/** Register stack access bound to one instruction's state. */
class Fpu {
  fsw: number;
  ftw: number;
  readonly fcw: number;
  constructor(private readonly ctx: SimdCtx) {
    this.fsw = ctx.st.u16(S.FSW); this.ftw = ctx.st.u16(S.FTW); this.fcw = ctx.st.u16(S.FCW);
  }
  get top(): number { return (this.fsw >> TOP_SHIFT) & 7; }
  set top(t: number) { this.fsw = (this.fsw & ~(7 << TOP_SHIFT)) | ((t & 7) << TOP_SHIFT); }
  private slot(i: number): number { return this.ctx.st.base + S.ST + (i & 7) * 16; }
  empty(i: number): boolean { return ((this.ftw >> (2 * ((this.top + i) & 7))) & 3) === 3; }
  get(i: number): Ext {
    const o = this.slot(i), u8 = this.ctx.st.u8;
    for (let k = 0; k < 10; k++) dv.setUint8(k, u8[o + k]!);
    const se = dv.getUint16(8, true);
    return { sign: se >> 15, exp: se & 0x7fff, mant: dv.getBigUint64(0, true) };
  }
  set(i: number, v: Ext): void {
    dv.setBigUint64(0, v.mant & M64, true); dv.setUint16(8, (v.sign << 15) | v.exp, true);
    const o = this.slot(i), u8 = this.ctx.st.u8;
    for (let k = 0; k < 10; k++) u8[o + k] = dv.getUint8(k);
    for (let k = 10; k < 16; k++) u8[o + k] = 0;
    const phys = (this.top + i) & 7;
    const tag = isZero(v) ? 1 : v.exp === 0x7fff || v.exp === 0 || isUnsupported(v) ? 2 : 0;
    this.ftw = (this.ftw & ~(3 << (2 * phys))) | (tag << (2 * phys));
  }
  setEmpty(i: number): void { const phys = (this.top + i) & 7; this.ftw |= 3 << (2 * phys); }
  /** Rotate the ST slots so slot i keeps naming ST(i) after TOP moves by `d` (+1 pop, -1 push). */
  private rotate(d: number): void {
    const st = this.ctx.st, base = st.base + S.ST;
    const old = st.u8.slice(base, base + 128);
    for (let i = 0; i < 8; i++) st.u8.set(old.subarray(((i + d) & 7) * 16, ((i + d) & 7) * 16 + 16), base + i * 16);
  }
  pop(): void { this.setEmpty(0); this.rotate(1); this.top = this.top + 1; }
  /** Push `v`; a non-empty ST(7) is a stack overflow (IE+SF, C1=1; masked: push the indefinite). */
  push(v: Ext): boolean {
    if (!this.empty(7)) {
      if (!this.raise(IE | SF, C1)) return false;
      v = INDEFINITE;
    }
    this.rotate(-1); this.top = this.top - 1; this.set(0, v);
    return true;
  }
  /** Record exception flags; returns false when an unmasked IE/ZE/DE must leave the destination unchanged. */
  raise(flags: number, c1 = 0): boolean {
    if (flags & SF) this.fsw = (this.fsw & ~C1) | c1;
    this.fsw |= flags & 0x7f;
    const unmasked = flags & 0x3f & ~this.fcw;
    if (unmasked) this.fsw |= ES | B;
    return (unmasked & (IE | ZE | DE)) === 0;
  }
  /** Stack underflow when reading an empty ST(i) (IE+SF, C1=0); masked: the indefinite. */
  read(i: number): Ext | undefined {
    if (this.empty(i)) return this.raise(IE | SF, 0) ? INDEFINITE : undefined;
    return this.get(i);
  }
  setC1(up: boolean): void { this.fsw = up ? this.fsw | C1 : this.fsw & ~C1; }
  commit(): void { this.ctx.st.setU16(S.FSW, this.fsw); this.ctx.st.setU16(S.FTW, this.ftw); }
}

const X87_MNS = new Set<Mn>([
  Mn.FLD, Mn.FST, Mn.FSTP, Mn.FILD, Mn.FIST, Mn.FISTP, Mn.FLD1, Mn.FLDZ, Mn.FLDPI, Mn.FLDL2E, Mn.FLDL2T, Mn.FLDLG2, Mn.FLDLN2,
  Mn.FADD, Mn.FADDP, Mn.FIADD, Mn.FSUB, Mn.FSUBP, Mn.FISUB, Mn.FSUBR, Mn.FSUBRP, Mn.FISUBR,
  Mn.FMUL, Mn.FMULP, Mn.FIMUL, Mn.FDIV, Mn.FDIVP, Mn.FIDIV, Mn.FDIVR, Mn.FDIVRP, Mn.FIDIVR,
  Mn.FCHS, Mn.FABS, Mn.FSQRT, Mn.FRNDINT, Mn.FXCH, Mn.FCOM, Mn.FCOMP, Mn.FCOMPP, Mn.FUCOM, Mn.FUCOMP, Mn.FUCOMPP,
  Mn.FICOM, Mn.FICOMP, Mn.FCOMI, Mn.FCOMIP, Mn.FUCOMI, Mn.FUCOMIP, Mn.FTST, Mn.FXAM,
  Mn.FCMOVB, Mn.FCMOVE, Mn.FCMOVBE, Mn.FCMOVU, Mn.FCMOVNB, Mn.FCMOVNE, Mn.FCMOVNBE, Mn.FCMOVNU,
  Mn.FFREE, Mn.FFREEP, Mn.FINCSTP, Mn.FDECSTP, Mn.FNOP, Mn.FSCALE, Mn.FSTPNCE,
  Mn.FBLD, Mn.FBSTP, Mn.FNSTENV, Mn.FLDENV, Mn.FNSAVE, Mn.FRSTOR, Mn.FPREM, Mn.FPREM1, Mn.FXTRACT, Mn.F2XM1, Mn.FYL2X, Mn.FYL2XP1, Mn.FPTAN, Mn.FPATAN, Mn.FSIN, Mn.FCOS, Mn.FSINCOS,
]);

/** log2|x| rounded down (the unbiased exponent of the normalised value); x finite, non-zero. */
function ilogb(x: Ext): number { const A = exact(x); return A.e + bitLen(A.n) - 1; }

/** An extended value as a host double (the transcendentals' working precision). */
function toNumber(x: Ext): number {
  if (isZero(x)) return x.sign ? -0 : 0;
  if (isInf(x)) return x.sign ? -Infinity : Infinity;
  if (isNaN80(x) || isUnsupported(x)) return NaN;
  const A = exact(x);
  const top = Number(A.n >> 11n) * 2 ** 11; // 53 bits are all a double keeps
  return (x.sign ? -1 : 1) * top * 2 ** A.e;
}
const fromNumber = (v: number): Ext => fromFloatBits(f64BitsOf(v), 52, 11).v;
function f64BitsOf(v: number): bigint { dv.setFloat64(8, v, true); return dv.getBigUint64(8, true); }

/**
 * FPREM/FPREM1 (SDM): exact partial remainder. Exponent difference below 64:
 * complete (C2 = 0; C0, C3, C1 = quotient bits 2, 1, 0). Otherwise a partial
 * reduction by ST(1) * 2^(D - N) with N = 32 + (D - 32) % 32 (C2 = 1); the
 * SDM leaves N implementation-specific within 32..63.
 */
function fprem(a: Ext, b: Ext, ieee: boolean): { v: Ext; q: bigint; partial: boolean } {
  const A = exact(a), Bx = exact(b);
  const d = ilogb(a) - ilogb(b);
  // |a| < |b| / 2 (or < |b| for FPREM's truncation): the quotient is 0 and a is the remainder.
  if (d < (ieee ? -1 : 0)) return { v: a, q: 0n, partial: false };
  if (d >= 64) {
    const n = 32 + ((d - 32) % 32);
    const shiftB = d - n; // compare against b * 2^(d - n)
    const e = Math.min(A.e, Bx.e + shiftB);
    const na = A.n << BigInt(A.e - e), nb = Bx.n << BigInt(Bx.e + shiftB - e);
    const q = na / nb, r = na - q * nb;
    return { v: r === 0n ? ZERO(a.sign) : roundExt(a.sign, r, e, 64, 0).v, q, partial: true };
  }
  const e = Math.min(A.e, Bx.e);
  const na = A.n << BigInt(A.e - e), nb = Bx.n << BigInt(Bx.e - e);
  let q = na / nb, r = na - q * nb;
  let sign = a.sign;
  if (ieee && (2n * r > nb || (2n * r === nb && (q & 1n) === 1n))) { q += 1n; r = nb - r; sign ^= 1; }
  return { v: r === 0n ? ZERO(a.sign) : roundExt(sign, r, e, 64, 0).v, q, partial: false };
}

/** The memory operand's value as an extended number (m32/m64/m80 real, m16/m32/m64 integer). */
function loadMem(ctx: SimdCtx, insn: Instruction, op: Operand, rip: bigint, integer: boolean): { v: Ext; flags: number } | undefined {
  const lin = linAddr(ctx, insn, op, rip);
  if (op.size === 10) {
    const lo = ctx.mmu.read(lin, 8, ctx.cpl); if (lo === undefined) return undefined;
    const hi = ctx.mmu.read(lin + 8n, 2, ctx.cpl); if (hi === undefined) return undefined;
    return { v: { sign: Number(hi >> 15n) & 1, exp: Number(hi & 0x7fffn), mant: lo }, flags: 0 };
  }
  const raw = ctx.mmu.read(lin, op.size, ctx.cpl); if (raw === undefined) return undefined;
  if (integer) return { v: fromInt(BigInt.asIntN(op.size * 8, raw)), flags: 0 };
  return op.size === 4 ? fromFloatBits(raw, 23, 8) : fromFloatBits(raw, 52, 11);
}

function compareFlags(a: Ext, b: Ext): 'lt' | 'eq' | 'gt' | 'un' {
  if (isNaN80(a) || isNaN80(b) || isUnsupported(a) || isUnsupported(b)) return 'un';
  if (isZero(a) && isZero(b)) return 'eq';
  const A = exact(a), Bx = exact(b);
  const e = Math.min(A.e, Bx.e);
  const va = (a.sign ? -A.n : A.n) << BigInt(A.e - e), vb = (b.sign ? -Bx.n : Bx.n) << BigInt(Bx.e - e);
  if (isInf(a) || isInf(b)) {
    const ia = isInf(a) ? (a.sign ? -1 : 1) : 0, ib = isInf(b) ? (b.sign ? -1 : 1) : 0;
    if (ia !== ib) return ia < ib ? 'lt' : 'gt';
    if (ia !== 0) return 'eq';
  }
  return va < vb ? 'lt' : va > vb ? 'gt' : 'eq';
}

export function execX87(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  if (!X87_MNS.has(insn.mn)) return undefined;
  const st = ctx.st;
  // CR0.EM or CR0.TS: #NM (SDM Vol. 3 §2.5, Table 2-2).
  if ((st.cr0 & (CR0_EM | CR0_TS)) !== 0n) return simdFault(ctx, VEC_NM);
  // A pending unmasked exception is delivered by the next waiting instruction (SDM §8.6): #MF with CR0.NE.
  const noWait = insn.mn === Mn.FNSTENV || insn.mn === Mn.FNSAVE;
  if (!noWait && (st.u16(S.FSW) & ES) && (st.cr0 & CR0_NE) !== 0n) return simdFault(ctx, VEC_MF);
  if (insn.mn === Mn.FNOP) return Exit.CONTINUE;
  if (insn.mn === Mn.FNSTENV || insn.mn === Mn.FLDENV || insn.mn === Mn.FNSAVE || insn.mn === Mn.FRSTOR) return envOp(ctx, insn, rip);
  const f = new Fpu(ctx);
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const stIndex = (op: Operand): number => (op.kind === OpKind.REG && op.regClass === RegClass.ST ? op.reg : 0);
  const done = (): number => { f.commit(); return Exit.CONTINUE; };
  // C1 is cleared by most instructions unless set by rounding up or a stack fault (SDM Vol. 1 §8.1.3.3).
  f.setC1(false);

  const arithOp = (mn: Mn): { op: Arith; rev: boolean; pop: boolean; int: boolean } | undefined => {
    switch (mn) {
      case Mn.FADD: return { op: 'add', rev: false, pop: false, int: false };
      case Mn.FADDP: return { op: 'add', rev: false, pop: true, int: false };
      case Mn.FIADD: return { op: 'add', rev: false, pop: false, int: true };
      case Mn.FSUB: return { op: 'sub', rev: false, pop: false, int: false };
      case Mn.FSUBP: return { op: 'sub', rev: false, pop: true, int: false };
      case Mn.FISUB: return { op: 'sub', rev: false, pop: false, int: true };
      case Mn.FSUBR: return { op: 'sub', rev: true, pop: false, int: false };
      case Mn.FSUBRP: return { op: 'sub', rev: true, pop: true, int: false };
      case Mn.FISUBR: return { op: 'sub', rev: true, pop: false, int: true };
      case Mn.FMUL: return { op: 'mul', rev: false, pop: false, int: false };
      case Mn.FMULP: return { op: 'mul', rev: false, pop: true, int: false };
      case Mn.FIMUL: return { op: 'mul', rev: false, pop: false, int: true };
      case Mn.FDIV: return { op: 'div', rev: false, pop: false, int: false };
      case Mn.FDIVP: return { op: 'div', rev: false, pop: true, int: false };
      case Mn.FIDIV: return { op: 'div', rev: false, pop: false, int: true };
      case Mn.FDIVR: return { op: 'div', rev: true, pop: false, int: false };
      case Mn.FDIVRP: return { op: 'div', rev: true, pop: true, int: false };
      case Mn.FIDIVR: return { op: 'div', rev: true, pop: false, int: true };
      default: return undefined;
    }
  };

  const ar = arithOp(insn.mn);
  if (ar) {
    // Forms: mem (ST0 = ST0 op m), "ST, STi" (ST0 = ST0 op STi), "STi, ST" (STi = STi op ST0); R variants swap.
    let dst = 0, a: Ext | undefined, b: Ext | undefined, flags = 0;
    if (o0.kind === OpKind.MEM) {
      const m = loadMem(ctx, insn, o0, rip, ar.int); if (!m) return Exit.EXCEPTION;
      a = f.read(0); if (!a) return done();
      b = m.v;
      // #D for a denormal memory operand, except next to a NaN/unsupported operand or when dividing by zero (host behaviour).
      const divisor = ar.rev ? a : b;
      const invalidOperand = isNaN80(a) || isNaN80(b) || isUnsupported(a) || isUnsupported(b);
      if (!invalidOperand && !(ar.op === 'div' && isZero(divisor))) flags |= m.flags & DE;
    } else if (o0.kind === OpKind.REG && o1.kind === OpKind.REG) {
      dst = stIndex(o0);
      a = f.read(dst); if (!a) return done();
      b = f.read(stIndex(o1)); if (!b) return done();
    } else { // FADDP etc. without operands: ST1 = ST1 op ST0
      dst = 1;
      a = f.read(1); if (!a) return done();
      b = f.read(0); if (!b) return done();
    }
    // "R" forms compute src op dst: FSUBR ST0, STi -> ST0 = STi - ST0.
    const [x, y] = ar.rev ? [b, a] : [a, b];
    const r = arith80(x, y, ar.op, f.fcw);
    if (f.raise(flags | r.flags)) { f.set(dst, r.v); f.setC1(r.up); }
    if (ar.pop) f.pop();
    return done();
  }

  switch (insn.mn) {
    case Mn.FLD: case Mn.FILD: {
      let v: Ext;
      if (o0.kind === OpKind.MEM) {
        const m = loadMem(ctx, insn, o0, rip, insn.mn === Mn.FILD); if (!m) return Exit.EXCEPTION;
        if (!f.raise(m.flags)) return done();
        // m32/m64 SNaN: #IA and quietened; m80 loads as is (SDM FLD "Floating-Point Exceptions").
        v = m.flags & IE ? { ...m.v, mant: m.v.mant | QUIET_BIT } : m.v;
      } else {
        const r = f.read(stIndex(o0)); if (!r) return done();
        v = r;
      }
      f.push(v);
      return done();
    }
    case Mn.FLD1: case Mn.FLDZ: case Mn.FLDPI: case Mn.FLDL2E: case Mn.FLDL2T: case Mn.FLDLG2: case Mn.FLDLN2: {
      let v: Ext;
      if (insn.mn === Mn.FLD1) v = { sign: 0, exp: BIAS, mant: INT_BIT };
      else if (insn.mn === Mn.FLDZ) v = ZERO(0);
      else {
        const [e, m, beyond] = CONST_MANT[insn.mn]!;
        // Directed rounding moves the nearest value one ulp when the discarded bits point that way (SDM FLDPI etc.).
        const rc = rcOf(f.fcw);
        let mant = m;
        if ((rc === 1 || rc === 3) && beyond < 0n) mant -= 1n;
        if (rc === 2 && beyond > 0n) mant += 1n;
        v = { sign: 0, exp: e + BIAS, mant };
      }
      f.push(v);
      return done();
    }
    case Mn.FST: case Mn.FSTP: case Mn.FSTPNCE: case Mn.FIST: case Mn.FISTP: {
      const pop = insn.mn !== Mn.FST && insn.mn !== Mn.FIST;
      const v0 = f.read(0);
      if (o0.kind === OpKind.REG) { // FST STi
        if (v0) f.set(stIndex(o0), v0);
        if (pop) f.pop();
        return done();
      }
      const lin = linAddr(ctx, insn, o0, rip);
      if (!v0) { if (pop) f.pop(); return done(); }
      if (insn.mn === Mn.FIST || insn.mn === Mn.FISTP) {
        const bits = o0.size * 8;
        const r = toInt(v0, rcOf(f.fcw), bits);
        let val: bigint;
        if (r.v === undefined) { if (!f.raise(IE)) return done(); val = 1n << BigInt(bits - 1); }
        else { val = r.v; if (r.inexact) { f.raise(PE); f.setC1(r.up); } }
        if (!ctx.mmu.write(lin, o0.size, BigInt.asUintN(bits, val), ctx.cpl)) return Exit.EXCEPTION;
      } else if (o0.size === 10) {
        if (!ctx.mmu.write(lin, 8, v0.mant, ctx.cpl)) return Exit.EXCEPTION;
        if (!ctx.mmu.write(lin + 8n, 2, BigInt((v0.sign << 15) | v0.exp), ctx.cpl)) return Exit.EXCEPTION;
      } else {
        const r = o0.size === 4 ? toFloatBits(v0, 23, 8, f.fcw) : toFloatBits(v0, 52, 11, f.fcw);
        let bits = r.bits;
        if (r.bits < 0n) bits = o0.size === 4 ? 0xffc00000n : 0xfff8000000000000n; // unsupported -> indefinite
        if (!f.raise(r.flags)) return done();
        f.setC1(r.up);
        if (!ctx.mmu.write(lin, o0.size, bits, ctx.cpl)) return Exit.EXCEPTION;
      }
      if (pop) f.pop();
      return done();
    }
    case Mn.FCHS: case Mn.FABS: {
      const v = f.read(0); if (!v) return done();
      f.set(0, { ...v, sign: insn.mn === Mn.FCHS ? v.sign ^ 1 : 0 });
      return done();
    }
    case Mn.FSQRT: {
      const v = f.read(0); if (!v) return done();
      const r = sqrt80(v, f.fcw);
      if (f.raise(r.flags)) { f.set(0, r.v); f.setC1(r.up); }
      return done();
    }
    case Mn.FRNDINT: {
      const v = f.read(0); if (!v) return done();
      if (isNaN80(v) || isUnsupported(v)) { if (f.raise(isSNaN(v) || isUnsupported(v) ? IE : 0)) f.set(0, isUnsupported(v) ? INDEFINITE : propagateNaN(v, undefined)); return done(); }
      if (isInf(v) || isZero(v) || exact(v).e >= 0) return done(); // already integral
      const r = toInt(v, rcOf(f.fcw), 200);
      const iv = r.v ?? 0n;
      if (r.inexact) { f.raise(PE | (isDenormal(v) ? DE : 0)); f.setC1(r.up); }
      f.set(0, iv === 0n ? ZERO(v.sign) : fromInt(iv));
      return done();
    }
    case Mn.FXCH: {
      const i = o1.kind === OpKind.REG ? o1.reg : 1;
      let a = f.empty(0) ? undefined : f.get(0), b = f.empty(i) ? undefined : f.get(i);
      if (!a || !b) { if (!f.raise(IE | SF, 0)) return done(); a ??= INDEFINITE; b ??= INDEFINITE; }
      f.set(0, b); f.set(i, a);
      return done();
    }
    case Mn.FCOM: case Mn.FCOMP: case Mn.FCOMPP: case Mn.FUCOM: case Mn.FUCOMP: case Mn.FUCOMPP: case Mn.FICOM: case Mn.FICOMP:
    case Mn.FTST: case Mn.FCOMI: case Mn.FCOMIP: case Mn.FUCOMI: case Mn.FUCOMIP: {
      const unordered = insn.mn === Mn.FUCOM || insn.mn === Mn.FUCOMP || insn.mn === Mn.FUCOMPP || insn.mn === Mn.FUCOMI || insn.mn === Mn.FUCOMIP;
      const toEflags = insn.mn === Mn.FCOMI || insn.mn === Mn.FCOMIP || insn.mn === Mn.FUCOMI || insn.mn === Mn.FUCOMIP;
      const pops = insn.mn === Mn.FCOMPP || insn.mn === Mn.FUCOMPP ? 2 : insn.mn === Mn.FCOMP || insn.mn === Mn.FUCOMP || insn.mn === Mn.FICOMP || insn.mn === Mn.FCOMIP || insn.mn === Mn.FUCOMIP ? 1 : 0;
      let a: Ext | undefined, b: Ext | undefined, flags = 0, memDe = 0;
      const emptyA = f.empty(0);
      let stackFault = false;
      if (insn.mn === Mn.FTST) { b = ZERO(0); }
      else if (o0.kind === OpKind.MEM) {
        const m = loadMem(ctx, insn, o0, rip, insn.mn === Mn.FICOM || insn.mn === Mn.FICOMP); if (!m) return Exit.EXCEPTION;
        b = m.v; memDe = m.flags & DE;
      } else {
        const i = o1.kind === OpKind.REG ? o1.reg : 1;
        if (f.empty(i)) stackFault = true; else b = f.get(i);
      }
      if (emptyA) stackFault = true; else a = f.get(0);
      let rel: 'lt' | 'eq' | 'gt' | 'un';
      if (stackFault) { flags |= IE | SF; rel = 'un'; }
      else {
        rel = compareFlags(a!, b!);
        if (rel === 'un') {
          const snan = isSNaN(a!) || isSNaN(b!) || isUnsupported(a!) || isUnsupported(b!);
          if (snan || !unordered) flags |= IE;
        }
        else if (memDe || isDenormal(a!) || isDenormal(b!)) flags |= DE; // no #D next to a NaN (host behaviour)
      }
      if (f.raise(flags, 0)) {
        if (toEflags) {
          setStatusFlags(ctx, rel === 'un' ? F_ZF | F_PF | F_CF : rel === 'lt' ? F_CF : rel === 'eq' ? F_ZF : 0);
        } else {
          f.fsw &= ~(C0 | C2 | C3);
          f.fsw |= rel === 'un' ? C0 | C2 | C3 : rel === 'lt' ? C0 : rel === 'eq' ? C3 : 0;
        }
      }
      for (let k = 0; k < pops; k++) f.pop();
      return done();
    }
    case Mn.FXAM: {
      // C3 C2 C0 class (SDM FXAM Table): unsupported 000, NaN 001, normal 010, infinity 011, zero 100, empty 101, denormal 110; C1 = sign.
      f.fsw &= ~(C0 | C1 | C2 | C3);
      const phys = f.top;
      const v = f.get(0);
      if (v.sign) f.fsw |= C1;
      let c: number;
      if (((f.ftw >> (2 * phys)) & 3) === 3) c = C3 | C0;
      else if (isUnsupported(v)) c = 0;
      else if (isNaN80(v)) c = C0;
      else if (isInf(v)) c = C2 | C0;
      else if (isZero(v)) c = C3;
      else if (v.exp === 0) c = C3 | C2;
      else c = C2;
      f.fsw |= c;
      return done();
    }
    case Mn.FCMOVB: case Mn.FCMOVE: case Mn.FCMOVBE: case Mn.FCMOVU: case Mn.FCMOVNB: case Mn.FCMOVNE: case Mn.FCMOVNBE: case Mn.FCMOVNU: {
      const fl = readFlags(ctx);
      const cf = (fl & F_CF) !== 0, zf = (fl & F_ZF) !== 0, pf = (fl & F_PF) !== 0;
      const cond = insn.mn === Mn.FCMOVB ? cf : insn.mn === Mn.FCMOVE ? zf : insn.mn === Mn.FCMOVBE ? cf || zf : insn.mn === Mn.FCMOVU ? pf
        : insn.mn === Mn.FCMOVNB ? !cf : insn.mn === Mn.FCMOVNE ? !zf : insn.mn === Mn.FCMOVNBE ? !(cf || zf) : !pf;
      const i = stIndex(o1);
      if (f.empty(0) || f.empty(i)) { if (f.raise(IE | SF, 0) && cond) f.set(0, INDEFINITE); return done(); }
      if (cond) f.set(0, f.get(i));
      return done();
    }
    case Mn.FFREE: case Mn.FFREEP: f.setEmpty(stIndex(o0)); if (insn.mn === Mn.FFREEP) f.pop(); return done();
    case Mn.FINCSTP: case Mn.FDECSTP: {
      const d = insn.mn === Mn.FINCSTP ? 1 : -1;
      // TOP moves; the registers do not: slots are re-labelled (slot i = ST(i)).
      const base = st.base + S.ST, old = st.u8.slice(base, base + 128);
      for (let i = 0; i < 8; i++) st.u8.set(old.subarray(((i + d) & 7) * 16, ((i + d) & 7) * 16 + 16), base + i * 16);
      f.top = f.top + d;
      return done();
    }
    case Mn.FSCALE: {
      const a = f.read(0), b = f.read(1); if (!a || !b) return done();
      if (isUnsupported(a) || isUnsupported(b)) { if (f.raise(IE)) f.set(0, INDEFINITE); return done(); }
      if (isNaN80(a) || isNaN80(b)) { if (f.raise(isSNaN(a) || isSNaN(b) ? IE : 0)) f.set(0, propagateNaN(a, b)); return done(); }
      const de = isDenormal(a) || isDenormal(b) ? DE : 0;
      if (isInf(b)) {
        if ((b.sign && isInf(a)) || (!b.sign && isZero(a))) { if (f.raise(IE | de)) f.set(0, INDEFINITE); return done(); }
        f.raise(de);
        f.set(0, b.sign ? ZERO(a.sign) : isZero(a) ? a : INF(a.sign));
        return done();
      }
      if (isZero(a) || isInf(a)) { f.raise(de); return done(); }
      const t = toInt(b, 3, 200).v ?? (b.sign ? -(1n << 198n) : 1n << 198n); // |ST(1)| beyond 2^198: saturate
      const sc = t > 100000n ? 100000 : t < -100000n ? -100000 : Number(t);
      const A = exact(a);
      const r = roundExt(a.sign, A.n, A.e + sc, 64, rcOf(f.fcw));
      if (f.raise(r.flags | de)) { f.set(0, r.v); f.setC1(r.up); }
      return done();
    }
    case Mn.FBLD: { // 18 packed BCD digits and a sign byte (SDM Vol. 1 §4.7); non-decimal digits are undefined
      const lin = linAddr(ctx, insn, o0, rip);
      const lo = ctx.mmu.read(lin, 8, ctx.cpl); if (lo === undefined) return Exit.EXCEPTION;
      const hi = ctx.mmu.read(lin + 8n, 2, ctx.cpl); if (hi === undefined) return Exit.EXCEPTION;
      let v = 0n;
      for (let i = 8; i >= 0; i--) {
        const byte = i === 8 ? Number(hi & 0xffn) : Number((lo >> BigInt(8 * i)) & 0xffn);
        v = v * 100n + BigInt((byte >> 4) * 10 + (byte & 15));
      }
      const neg = (hi & 0x8000n) !== 0n;
      f.push(v === 0n ? ZERO(neg ? 1 : 0) : fromInt(neg ? -v : v));
      return done();
    }
    case Mn.FBSTP: {
      const lin = linAddr(ctx, insn, o0, rip);
      const v = f.read(0); if (!v) { f.pop(); return done(); }
      const r = toInt(v, rcOf(f.fcw), 64);
      let lo: bigint, hi: bigint;
      const mag = r.v === undefined ? undefined : r.v < 0n ? -r.v : r.v;
      if (mag === undefined || mag > 999999999999999999n) {
        if (!f.raise(IE)) return done();
        lo = 0xc000000000000000n; hi = 0xffffn; // packed BCD indefinite
      } else {
        if (r.inexact) { f.raise(PE); f.setC1(r.up); } // no #D for a denormal source (host behaviour)
        let m = mag, bcd = 0n;
        for (let i = 0; i < 18; i++) { bcd |= (m % 10n) << BigInt(4 * i); m /= 10n; }
        lo = bcd & M64; hi = (bcd >> 64n) | (v.sign ? 0x8000n : 0n);
      }
      if (!ctx.mmu.write(lin, 8, lo, ctx.cpl) || !ctx.mmu.write(lin + 8n, 2, hi, ctx.cpl)) return Exit.EXCEPTION;
      f.pop();
      return done();
    }
    case Mn.FPREM: case Mn.FPREM1: {
      const a = f.read(0), b = f.read(1); if (!a || !b) return done();
      f.fsw &= ~(C0 | C1 | C2 | C3);
      if (isNaN80(a) || isNaN80(b) || isUnsupported(a) || isUnsupported(b)) {
        const bad = isUnsupported(a) || isUnsupported(b);
        if (f.raise(isSNaN(a) || isSNaN(b) || bad ? IE : 0)) f.set(0, bad ? INDEFINITE : propagateNaN(a, b));
        return done();
      }
      if (isInf(a) || isZero(b)) { if (f.raise(IE)) f.set(0, INDEFINITE); return done(); }
      const de = isDenormal(a) || isDenormal(b) ? DE : 0;
      if (isZero(a) || isInf(b)) { f.raise(de); return done(); }
      const r = fprem(a, b, insn.mn === Mn.FPREM1);
      if (!f.raise(de)) return done(); // the remainder is exact: no #U/#P even when denormal (host behaviour)
      f.set(0, r.v);
      if (r.partial) f.fsw |= C2;
      else f.fsw |= (r.q & 4n ? C0 : 0) | (r.q & 2n ? C3 : 0) | (r.q & 1n ? C1 : 0);
      return done();
    }
    case Mn.FXTRACT: {
      const a = f.read(0); if (!a) return done();
      let expPart: Ext, sig: Ext;
      if (isNaN80(a) || isUnsupported(a)) {
        if (!f.raise(isSNaN(a) || isUnsupported(a) ? IE : 0)) return done();
        expPart = sig = isUnsupported(a) ? INDEFINITE : propagateNaN(a, undefined);
      } else if (isZero(a)) {
        if (!f.raise(ZE)) return done();
        expPart = INF(1); sig = a;
      } else if (isInf(a)) { expPart = INF(0); sig = a; }
      else {
        if (!f.raise(isDenormal(a) ? DE : 0)) return done();
        const A = exact(a), l = bitLen(A.n);
        expPart = fromInt(BigInt(A.e + l - 1));
        sig = { sign: a.sign, exp: BIAS, mant: A.n << BigInt(64 - l) };
      }
      f.set(0, expPart);
      f.push(sig);
      return done();
    }
    case Mn.F2XM1: case Mn.FYL2X: case Mn.FYL2XP1: case Mn.FPTAN: case Mn.FPATAN: case Mn.FSIN: case Mn.FCOS: case Mn.FSINCOS: {
      // Transcendentals at double precision (Math.*), then widened: correct to ~53 bits, not the
      // hardware's 64-bit results (documented limitation). C2 = 1 leaves ST(0) for |x| >= 2^63.
      const two = insn.mn === Mn.FYL2X || insn.mn === Mn.FYL2XP1 || insn.mn === Mn.FPATAN;
      const a = f.read(0); if (!a) return done();
      const b = two ? f.read(1) : undefined; if (two && !b) return done();
      f.fsw &= ~C2;
      if (isNaN80(a) || isUnsupported(a) || (b && (isNaN80(b) || isUnsupported(b)))) {
        const bad = isUnsupported(a) || (b !== undefined && isUnsupported(b));
        if (f.raise(isSNaN(a) || (b !== undefined && isSNaN(b)) || bad ? IE : 0)) {
          const nan = bad ? INDEFINITE : propagateNaN(a, b);
          if (two) { f.set(1, nan); f.pop(); } else { f.set(0, nan); if (insn.mn === Mn.FPTAN || insn.mn === Mn.FSINCOS) f.push(nan); }
        } else if (two) f.pop();
        return done();
      }
      const x = toNumber(a), y = b ? toNumber(b) : 0;
      const trig = insn.mn === Mn.FPTAN || insn.mn === Mn.FSIN || insn.mn === Mn.FCOS || insn.mn === Mn.FSINCOS;
      if (trig && !isInf(a) && !isZero(a) && ilogb(a) >= 63) { f.fsw |= C2; return done(); }
      if (trig && isInf(a)) { if (f.raise(IE)) { f.set(0, INDEFINITE); if (insn.mn !== Mn.FSIN && insn.mn !== Mn.FCOS) f.push(INDEFINITE); } return done(); }
      let r: number, r2: number | undefined;
      switch (insn.mn) {
        case Mn.F2XM1: r = isInf(a) ? (a.sign ? -1 : Infinity) : Math.expm1(x * Math.LN2); break;
        case Mn.FYL2X: r = y * Math.log2(x); break;
        case Mn.FYL2XP1: r = y * (Math.log1p(x) / Math.LN2); break;
        case Mn.FPATAN: r = Math.atan2(y, x); break;
        case Mn.FPTAN: r = Math.tan(x); r2 = 1; break;
        case Mn.FSIN: r = Math.sin(x); break;
        case Mn.FCOS: r = Math.cos(x); break;
        default: r = Math.sin(x); r2 = Math.cos(x); break;
      }
      let flags = isDenormal(a) || (b !== undefined && isDenormal(b)) ? DE : 0;
      if (Number.isNaN(r)) flags |= IE;
      else if (!Number.isFinite(r) && Number.isFinite(x) && Number.isFinite(y) && (insn.mn === Mn.FYL2X)) flags |= ZE;
      if (!Number.isNaN(r) && r !== 0 && Number.isFinite(r)) flags |= PE;
      if (!f.raise(flags)) return done();
      const res = Number.isNaN(r) ? INDEFINITE : fromNumber(r);
      if (two) { f.set(1, res); f.pop(); return done(); }
      if (insn.mn === Mn.FSINCOS) { f.set(0, res); f.push(fromNumber(r2!)); return done(); }
      f.set(0, res);
      if (r2 !== undefined) f.push(fromNumber(r2));
      return done();
    }
    default: return undefined;
  }
}

/** The full tag of an occupied register from its contents (SDM Vol. 1 §8.1.7). */
function tagOf(v: Ext): number { return isZero(v) ? 1 : v.exp === 0x7fff || v.exp === 0 || isUnsupported(v) ? 2 : 0; }

/**
 * FNSTENV/FLDENV/FNSAVE/FRSTOR in the 32-bit protected-mode layout (also
 * used in 64-bit mode; SDM Vol. 1 Figure 8-9): FCW, FSW, FTW as dwords with
 * the upper halves written as ones, then FPU IP, CS/opcode, data pointer and
 * selector (stored as 0: this FPU does not track the last instruction), then
 * for FNSAVE/FRSTOR ST(0)..ST(7) as 10-byte values. The 16-bit layout
 * (operand size 16) is 14 bytes: the same fields as words.
 */
function envOp(ctx: SimdCtx, insn: Instruction, rip: bigint): number {
  const st = ctx.st, op = insn.ops[0]!;
  const lin = linAddr(ctx, insn, op, rip);
  const w16 = insn.opSize === 16;
  const envBytes = w16 ? 14 : 28;
  const save = insn.mn === Mn.FNSTENV || insn.mn === Mn.FNSAVE;
  const regs = insn.mn === Mn.FNSAVE || insn.mn === Mn.FRSTOR;
  const total = envBytes + (regs ? 80 : 0);
  const img = new Uint8Array(total), idv = new DataView(img.buffer);
  const top = (st.u16(S.FSW) >> TOP_SHIFT) & 7;
  if (save) {
    const base = st.base + S.ST;
    let ftw = st.u16(S.FTW);
    for (let i = 0; i < 8; i++) { // recompute the tags of occupied registers from their contents
      const phys = (top + i) & 7;
      if (((ftw >> (2 * phys)) & 3) === 3) continue;
      const o = base + i * 16;
      const mant = new DataView(st.u8.buffer, o, 10).getBigUint64(0, true), se = new DataView(st.u8.buffer, o, 10).getUint16(8, true);
      ftw = (ftw & ~(3 << (2 * phys))) | (tagOf({ sign: se >> 15, exp: se & 0x7fff, mant }) << (2 * phys));
    }
    const put = (i: number, v: number): void => { if (w16) idv.setUint16(i * 2, v, true); else idv.setUint32(i * 4, (0xffff0000 | v) >>> 0, true); };
    put(0, st.u16(S.FCW)); put(1, st.u16(S.FSW)); put(2, ftw);
    if (!w16) { idv.setUint32(16, 0, true); idv.setUint32(24, 0xffff0000, true); }
    if (regs) for (let i = 0; i < 8; i++) img.set(st.u8.subarray(base + i * 16, base + i * 16 + 10), envBytes + i * 10);
    for (let i = 0; i < total; i += 2) if (!ctx.mmu.write(lin + BigInt(i), 2, BigInt(idv.getUint16(i, true)), ctx.cpl)) return Exit.EXCEPTION;
    if (regs) { st.setU16(S.FCW, 0x37f); st.setU16(S.FSW, 0); st.setU16(S.FTW, 0xffff); } // FNSAVE ends with FNINIT
    else st.setU16(S.FCW, st.u16(S.FCW) | 0x3f); // FNSTENV masks all exceptions
    return Exit.CONTINUE;
  }
  for (let i = 0; i < total; i += 2) {
    const v = ctx.mmu.read(lin + BigInt(i), 2, ctx.cpl); if (v === undefined) return Exit.EXCEPTION;
    idv.setUint16(i, Number(v), true);
  }
  const get = (i: number): number => (w16 ? idv.getUint16(i * 2, true) : idv.getUint32(i * 4, true) & 0xffff);
  const fsw = get(1), newTop = (fsw >> TOP_SHIFT) & 7;
  st.setU16(S.FCW, get(0)); st.setU16(S.FSW, fsw);
  if (regs) for (let i = 0; i < 8; i++) { const o = st.base + S.ST + i * 16; st.u8.set(img.subarray(envBytes + i * 10, envBytes + i * 10 + 10), o); st.u8.fill(0, o + 10, o + 16); }
  else if (newTop !== top) { // FLDENV: the registers stay; ST(i) slots are re-labelled for the new TOP
    const base = st.base + S.ST, old = st.u8.slice(base, base + 128), d = newTop - top;
    for (let i = 0; i < 8; i++) st.u8.set(old.subarray(((i + d) & 7) * 16, ((i + d) & 7) * 16 + 16), base + i * 16);
  }
  // Only "empty" in the loaded tag word matters; the other tags are recomputed (SDM FLDENV).
  const tw = get(2);
  let ftw = 0;
  for (let phys = 0; phys < 8; phys++) {
    if (((tw >> (2 * phys)) & 3) === 3) { ftw |= 3 << (2 * phys); continue; }
    const o = st.base + S.ST + ((phys - newTop) & 7) * 16;
    const dd = new DataView(st.u8.buffer, o, 10);
    ftw |= tagOf({ sign: dd.getUint16(8, true) >> 15, exp: dd.getUint16(8, true) & 0x7fff, mant: dd.getBigUint64(0, true) }) << (2 * phys);
  }
  st.setU16(S.FTW, ftw);
  return Exit.CONTINUE;
}

/** RFLAGS status bits through the lazy record (FCMOVcc reads CF/ZF/PF). */
function readFlags(ctx: SimdCtx): number {
  const st = ctx.st;
  return arithFlags(st.u32(S.FL_OP), st.u64(S.FL_A), st.u64(S.FL_B), st.u64(S.FL_RES), st.u32(S.FL_AUX));
}
