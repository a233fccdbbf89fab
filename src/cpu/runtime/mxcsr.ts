/**
 * SSE floating-point arithmetic on raw lane bits with x86 NaN rules (Intel
 * SDM Vol. 1 §4.8.3.5 Table 4-7 and §11.5.2.2): a NaN operand propagates
 * quietened, the first source operand's when both are NaNs; an invalid
 * operation with no NaN operand (inf - inf, 0 * inf, 0 / 0, inf / inf,
 * sqrt of a negative) returns the default "QNaN floating-point indefinite"
 * (0xFFC00000 / 0xFFF8000000000000). Working on bits keeps the host's
 * NaN canonicalisation (V8 may rewrite payloads) out of the result.
 *
 * Limitation (documented in the report): the arithmetic rounds to nearest;
 * MXCSR.RC, DAZ/FTZ and the exception flags are not applied here yet.
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

export type Op2 = (a: number, b: number) => number;
export const ADD: Op2 = (a, b) => a + b;
export const SUB: Op2 = (a, b) => a - b;
export const MUL: Op2 = (a, b) => a * b;
export const DIV: Op2 = (a, b) => a / b;

/** a op b on single-precision bit patterns. */
export function op32(a: number, b: number, op: Op2): number {
  if (isNan32(a)) return (a | 0x400000) >>> 0;
  if (isNan32(b)) return (b | 0x400000) >>> 0;
  const r = Math.fround(op(f32FromBits(a), f32FromBits(b)));
  return Number.isNaN(r) ? F32_INDEFINITE : f32Bits(r);
}

/** a op b on double-precision bit patterns. */
export function op64(a: bigint, b: bigint, op: Op2): bigint {
  if (isNan64(a)) return a | 0x8000000000000n;
  if (isNan64(b)) return b | 0x8000000000000n;
  const r = op(f64FromBits(a), f64FromBits(b));
  return Number.isNaN(r) ? F64_INDEFINITE : f64Bits(r);
}
