/**
 * PCLMULQDQ (CPUID.01H:ECX[1]): carry-less multiplication of one quadword
 * of each operand into a 128-bit product (Intel SDM Vol. 2 PCLMULQDQ;
 * imm8[0] selects the destination's quadword, imm8[4] the source's).
 */
import { Mn, type Instruction } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { destReg, readSrc, simdChecks, u64, writeDest, type SimdCtx } from './simd.js';

/** 64 x 64 -> 128-bit carry-less product. */
export function clmul64(a: bigint, b: bigint): bigint {
  let r = 0n;
  for (let i = 0n; i < 64n && b !== 0n; i++, b >>= 1n) if (b & 1n) r ^= a << i;
  return r;
}

export function execPclmul(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  if (insn.mn !== Mn.PCLMULQDQ) return undefined;
  if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
  const o0 = insn.ops[0]!;
  const d = destReg(ctx, o0);
  const s = readSrc(ctx, insn, insn.ops[1]!, rip, 16);
  if (!d || !s) return Exit.EXCEPTION;
  const imm = insn.ops[2]!.imm & 0xff;
  const p = clmul64(u64(d)[imm & 1]!, u64(s)[(imm >> 4) & 1]!);
  const out = new Uint8Array(16), q = u64(out);
  q[0] = BigInt.asUintN(64, p); q[1] = p >> 64n;
  writeDest(ctx, o0, out);
  return Exit.CONTINUE;
}
