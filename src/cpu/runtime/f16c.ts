/**
 * F16C (CPUID.01H:ECX[29]): VCVTPH2PS and VCVTPS2PH, half precision
 * (IEEE binary16: 1 sign, 5 exponent, 10 fraction bits) to and from single
 * precision (SDM Vol. 2 "VCVTPH2PS", "VCVTPS2PH"). Widening is exact (half
 * denormals become normal singles); narrowing rounds per imm8[1:0], or per
 * MXCSR.RC when imm8[2] is set, with gradual underflow. NaNs keep the top
 * of their payload and are quietened.
 */
import { Mn, OpKind, type Instruction } from '../decoder/types.js';
import { S } from '../state.js';
import { Exit } from '../translate/core.js';
import { DE, f32Bits, f32FromBits, fpBegin, fpCommit, fpx, IE, isDenormal32, isSnan32, mxcsrRc, roundExact } from './mxcsr.js';
import { readVecOp, vecBytes, writeVecMem, writeYmm } from './avx.js';
import { dyadicOf, FMT16 } from './fma.js';
import type { SimdCtx } from './simd.js';

/** binary16 -> binary32 bits (exact; an SNaN is invalid: IE in mxcsr.ts `fpx`). */
export function halfToSingle(h: number): number {
  const sign = (h & 0x8000) << 16, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0x1f && frac !== 0 && (frac & 0x200) === 0) fpx.pre |= IE;
  if (exp === 0x1f) return (sign | 0x7f800000 | (frac ? 0x400000 | (frac << 13) : 0)) >>> 0;
  if (exp === 0) return (sign | f32Bits(frac * 2 ** -24)) >>> 0;
  return (sign | ((exp - 15 + 127) << 23) | (frac << 13)) >>> 0;
}

/**
 * binary32 bits -> binary16 bits, rounded per `rc`, with the MXCSR exceptions
 * in mxcsr.ts `fpx` (SDM VCVTPS2PH: invalid, denormal, overflow, underflow,
 * precision; DAZ reads a denormal input as zero; FTZ does not apply, the
 * result is a half denormal).
 */
export function singleToHalf(s: number, rc: number): number {
  const sign = (s >>> 16) & 0x8000;
  if ((s & 0x7f800000) === 0x7f800000) {
    if (isSnan32(s)) fpx.pre |= IE;
    return sign | 0x7c00 | ((s & 0x7fffff) ? 0x200 | ((s >> 13) & 0x3ff) : 0);
  }
  if (isDenormal32(s)) {
    if (fpx.daz) return sign;
    fpx.pre |= DE;
  }
  const x = f32FromBits(s);
  if (x === 0) return sign;
  const d = dyadicOf(x);
  const ftz = fpx.ftz;
  fpx.ftz = false;
  const h = Number(roundExact(d.neg, d.m, d.e, FMT16, rc));
  fpx.ftz = ftz;
  return h;
}

export function execF16c(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const st = ctx.st, o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  if (insn.mn === Mn.VCVTPH2PS) {
    const s = readVecOp(ctx, insn, o1, rip); if (!s) return Exit.EXCEPTION;
    const bytes = vecBytes(o0), sv = new DataView(s.buffer), out = new Uint8Array(32), ov = new DataView(out.buffer);
    fpBegin(st.u32(S.MXCSR));
    for (let i = 0; i < bytes / 4; i++) ov.setUint32(i * 4, halfToSingle(sv.getUint16(i * 2, true)), true);
    if (!fpCommit(st)) return Exit.EXCEPTION;
    writeYmm(st, o0.reg, out, bytes);
    return Exit.CONTINUE;
  }
  if (insn.mn === Mn.VCVTPS2PH) {
    const imm = insn.ops[2]!.imm;
    const rc = imm & 4 ? mxcsrRc(st.u32(S.MXCSR)) : imm & 3;
    const s = readVecOp(ctx, insn, o1, rip); if (!s) return Exit.EXCEPTION;
    const n = vecBytes(o1) / 4, sv = new DataView(s.buffer), out = new Uint8Array(32), ov = new DataView(out.buffer);
    fpBegin(st.u32(S.MXCSR));
    for (let i = 0; i < n; i++) ov.setUint16(i * 2, singleToHalf(sv.getUint32(i * 4, true), rc), true);
    if (!fpCommit(st)) return Exit.EXCEPTION;
    if (o0.kind === OpKind.MEM) return writeVecMem(ctx, insn, o0, rip, out, n * 2) ? Exit.CONTINUE : Exit.EXCEPTION;
    writeYmm(st, o0.reg, out, 16);
    return Exit.CONTINUE;
  }
  return undefined;
}
