/**
 * SSE3 (CPUID.01H:ECX[0], QEMU's "pni"): ADDSUBPS/PD, HADDPS/PD,
 * HSUBPS/PD, MOVDDUP, MOVSHDUP, MOVSLDUP, FISTTP (LDDQU is in sse.ts;
 * MONITOR/MWAIT have their own CPUID bit). Intel SDM Vol. 2.
 *
 * The arithmetic goes through mxcsr.ts (x86 NaN rules, MXCSR.RC, DAZ/FTZ,
 * exception flags; an unmasked exception leaves the destination unchanged).
 */
import { Mn, OpKind, type Instruction } from '../decoder/types.js';
import { CR0_EM, CR0_TS, S } from '../state.js';
import { Exit } from '../translate/core.js';
import { VEC_NM, VEC_UD } from './mmu.js';
import { linAddr } from './ops.js';
import { ADD, fpBegin, fpCommit, mxcsrRc, op32, op64, SUB } from './mxcsr.js';
import { destReg, readSrc, simdChecks, simdFault, u32, u64, writeDest, type SimdCtx } from './simd.js';

/** x87 status/control bits used by FISTTP (SDM Vol. 1 §8.1.3, §8.1.5). */
const FSW_IE = 1 << 0, FSW_PE = 1 << 5, FSW_SF = 1 << 6, FSW_ES = 1 << 7, FSW_C1 = 1 << 9, FSW_B = 1 << 15;
const FCW_IM = 1 << 0, FCW_PM = 1 << 5;

/**
 * FISTTP m16/m32/m64: store ST(0) truncated to a signed integer, then pop
 * (SDM FISTTP). Empty ST(0) is a stack underflow; NaN, infinity or out of
 * range is invalid; with IM set the "integer indefinite" (the most negative
 * value) is stored.
 */
function fisttp(ctx: SimdCtx, insn: Instruction, rip: bigint): number {
  const st = ctx.st;
  if ((st.cr0 & CR0_EM) !== 0n) return simdFault(ctx, VEC_UD);
  if ((st.cr0 & CR0_TS) !== 0n) return simdFault(ctx, VEC_NM);
  const op = insn.ops[0]!;
  if (op.kind !== OpKind.MEM) return simdFault(ctx, VEC_UD);
  const bytes = op.size, bits = BigInt(bytes * 8);
  let fsw = st.u16(S.FSW);
  const fcw = st.u16(S.FCW), ftw = st.u16(S.FTW);
  const top = (fsw >> 11) & 7;
  const empty = ((ftw >> (2 * top)) & 3) === 3;
  const indefinite = 1n << (bits - 1n);
  let value: bigint | undefined;
  let invalid = false, inexact = false;
  if (empty) { invalid = true; fsw |= FSW_SF; fsw &= ~FSW_C1; } else {
    const o = st.base + S.ST;
    const dv = new DataView(st.u8.buffer, o, 10);
    const mant = dv.getBigUint64(0, true), se = dv.getUint16(8, true);
    const sign = (se & 0x8000) !== 0, exp = se & 0x7fff;
    // Infinity, NaN, and the unsupported encodings (integer bit clear with a non-zero exponent, SDM §8.2.2).
    if (exp === 0x7fff || (exp !== 0 && (mant >> 63n) === 0n)) invalid = true;
    else {
      // value = mant * 2^(exp - 16383 - 63); truncate toward zero.
      const sh = exp - 16383 - 63;
      let mag: bigint;
      if (sh >= 0) mag = sh > 64 ? 1n << 128n : mant << BigInt(sh);
      else if (sh <= -64) { mag = 0n; inexact = mant !== 0n; }
      else { mag = mant >> BigInt(-sh); inexact = (mant & ((1n << BigInt(-sh)) - 1n)) !== 0n; }
      const limit = sign ? indefinite : indefinite - 1n;
      if (mag > limit) { invalid = true; inexact = false; } else value = sign ? -mag : mag;
    }
  }
  if (invalid) {
    fsw |= FSW_IE;
    if (!(fcw & FCW_IM)) { st.setU16(S.FSW, fsw | FSW_ES | FSW_B); return Exit.CONTINUE; }
    value = indefinite;
  }
  if (inexact) { fsw |= FSW_PE; if (!(fcw & FCW_PM)) fsw |= FSW_ES | FSW_B; }
  if (!ctx.mmu.write(linAddr(ctx, insn, op, rip), bytes, BigInt.asUintN(bytes * 8, value!), ctx.cpl)) return Exit.EXCEPTION;
  if (!empty) fsw &= ~FSW_C1;
  // Pop: tag ST(0)'s physical register empty, TOP + 1, ST slots shift down (slots hold ST(i)).
  st.setU16(S.FTW, ftw | (3 << (2 * top)));
  fsw = (fsw & ~0x3800) | (((top + 1) & 7) << 11);
  st.setU16(S.FSW, fsw);
  const base = st.base + S.ST;
  const old = st.u8.slice(base, base + 128);
  st.u8.set(old.subarray(16), base); st.u8.set(old.subarray(0, 16), base + 112);
  return Exit.CONTINUE;
}

export function execSse3(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  switch (insn.mn) {
    case Mn.ADDSUBPS: case Mn.ADDSUBPD: case Mn.HADDPS: case Mn.HADDPD: case Mn.HSUBPS: case Mn.HSUBPD:
    case Mn.MOVDDUP: case Mn.MOVSHDUP: case Mn.MOVSLDUP: break;
    case Mn.FISTTP: return fisttp(ctx, insn, rip);
    default: return undefined;
  }
  if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
  const o0 = insn.ops[0]!;
  const d = destReg(ctx, o0);
  const s = readSrc(ctx, insn, insn.ops[1]!, rip, insn.mn === Mn.MOVDDUP ? 8 : 16);
  if (!d || !s) return Exit.EXCEPTION;
  const r = new Uint8Array(16);
  const mxcsr = ctx.st.u32(S.MXCSR), rc = mxcsrRc(mxcsr);
  fpBegin(mxcsr);
  switch (insn.mn) {
    case Mn.ADDSUBPS: { const A = u32(d), B = u32(s), R = u32(r); for (let i = 0; i < 4; i++) R[i] = op32(A[i]!, B[i]!, i & 1 ? ADD : SUB, rc); break; }
    case Mn.ADDSUBPD: { const A = u64(d), B = u64(s), R = u64(r); R[0] = op64(A[0]!, B[0]!, SUB, rc); R[1] = op64(A[1]!, B[1]!, ADD, rc); break; }
    case Mn.HADDPS: case Mn.HSUBPS: {
      const A = u32(d), B = u32(s), R = u32(r), f = insn.mn === Mn.HSUBPS ? SUB : ADD;
      R[0] = op32(A[0]!, A[1]!, f, rc); R[1] = op32(A[2]!, A[3]!, f, rc); R[2] = op32(B[0]!, B[1]!, f, rc); R[3] = op32(B[2]!, B[3]!, f, rc);
      break;
    }
    case Mn.HADDPD: case Mn.HSUBPD: {
      const A = u64(d), B = u64(s), R = u64(r), f = insn.mn === Mn.HSUBPD ? SUB : ADD;
      R[0] = op64(A[0]!, A[1]!, f, rc); R[1] = op64(B[0]!, B[1]!, f, rc);
      break;
    }
    case Mn.MOVDDUP: { const Q = u64(r); Q[0] = u64(s)[0]!; Q[1] = u64(s)[0]!; break; }
    case Mn.MOVSHDUP: { const D = u32(s), R = u32(r); R[0] = D[1]!; R[1] = D[1]!; R[2] = D[3]!; R[3] = D[3]!; break; }
    default: { const D = u32(s), R = u32(r); R[0] = D[0]!; R[1] = D[0]!; R[2] = D[2]!; R[3] = D[2]!; break; }
  }
  if (!fpCommit(ctx.st)) return Exit.EXCEPTION; // the moves raise nothing
  writeDest(ctx, o0, r);
  return Exit.CONTINUE;
}
