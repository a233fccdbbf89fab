/**
 * General-purpose bit manipulation beyond the base ISA, for the executor:
 * BMI1 (ANDN, BEXTR, BLSI, BLSMSK, BLSR, TZCNT), BMI2 (BZHI, MULX, PDEP,
 * PEXT, RORX, SARX, SHLX, SHRX), ADX (ADCX, ADOX), MOVBE and LZCNT (ABM).
 * Semantics per SDM Vol. 2, each instruction's "Operation" and "Flags
 * Affected". Whether the guest may use them is decided by the decoder (the
 * CPU model's feature set, guest-features.ts): F3 0F BC / F3 0F BD only
 * reach here as TZCNT / LZCNT when the model reports BMI1 / ABM.
 *
 * Flags the SDM leaves undefined (AF and PF everywhere; SF for BEXTR; OF,
 * SF for TZCNT/LZCNT) are cleared: that is what the Intel CPUs the JIT
 * models do (checked against the host in tests/differential/bitmanip.test.ts).
 *
 * Operand layout from the decoder (table-vex.ts, table-legacy.ts), Intel order:
 * ANDN/PDEP/PEXT d, vvvv, r/m; BEXTR/BZHI/SHLX/SARX/SHRX d, r/m, vvvv;
 * BLSI/BLSMSK/BLSR vvvv, r/m; MULX hi, lo(vvvv), r/m (RDX implicit); RORX d, r/m, imm8.
 */
import { Mn, type Instruction } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { arithFlags, F_CF, F_OF, F_SF, F_ZF } from '../translate/flags.js';
import { S } from '../state.js';
import { immValue, readOp, setGprSized, trunc, writeOp, type OpCtx } from './ops.js';
import { setStatusFlags } from './simd.js';

/** Mnemonics this module executes. */
export const BITMANIP_MNEMONICS: ReadonlySet<number> = new Set<number>([
  Mn.ANDN, Mn.BEXTR, Mn.BLSI, Mn.BLSMSK, Mn.BLSR, Mn.TZCNT, Mn.LZCNT,
  Mn.BZHI, Mn.MULX, Mn.PDEP, Mn.PEXT, Mn.RORX, Mn.SARX, Mn.SHLX, Mn.SHRX,
  Mn.ADCX, Mn.ADOX, Mn.MOVBE,
]);

/** The six status flags from the lazy-flag record (as interp.ts statusFlags). */
function statusFlags(ctx: OpCtx): number {
  const st = ctx.st;
  return arithFlags(st.u32(S.FL_OP), st.u64(S.FL_A), st.u64(S.FL_B), st.u64(S.FL_RES), st.u32(S.FL_AUX));
}

/** SF and ZF of a `size`-byte result. */
function sz(r: bigint, size: number): number {
  return (r === 0n ? F_ZF : 0) | ((r >> BigInt(size * 8 - 1)) & 1n ? F_SF : 0);
}

/** Byte-reverse the low `size` bytes of v (MOVBE; SDM MOVBE "Operation"). */
export function byteSwap(v: bigint, size: number): bigint {
  let r = 0n;
  for (let i = 0; i < size; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
}

/** PDEP: deposit the low bits of `src` at the set bits of `mask` (SDM PDEP). */
export function pdep(src: bigint, mask: bigint, bits: number): bigint {
  let r = 0n, k = 0n;
  for (let m = 0; m < bits; m++) {
    if ((mask >> BigInt(m)) & 1n) { r |= ((src >> k) & 1n) << BigInt(m); k++; }
  }
  return r;
}

/** PEXT: gather the bits of `src` at the set bits of `mask` into the low bits (SDM PEXT). */
export function pext(src: bigint, mask: bigint, bits: number): bigint {
  let r = 0n, k = 0n;
  for (let m = 0; m < bits; m++) {
    if ((mask >> BigInt(m)) & 1n) { r |= ((src >> BigInt(m)) & 1n) << k; k++; }
  }
  return r;
}

/**
 * Execute one instruction of BITMANIP_MNEMONICS. Returns Exit.CONTINUE (the
 * caller advances RIP), Exit.EXCEPTION after a memory fault, or undefined
 * when the mnemonic is not one of them.
 */
export function execBitmanip(ctx: OpCtx, insn: Instruction, rip: bigint): number | undefined {
  if (!BITMANIP_MNEMONICS.has(insn.mn)) return undefined;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!, o2 = insn.ops[2]!;
  const size = o0.size;
  const bits = size * 8;
  const B = BigInt(bits);
  const mask = (1n << B) - 1n;
  const rd = (i: 0 | 1 | 2): bigint | undefined => readOp(ctx, insn, insn.ops[i]!, rip);
  const wr = (v: bigint): boolean => writeOp(ctx, insn, o0, rip, trunc(v, size));
  switch (insn.mn) {
    case Mn.ANDN: { // SDM ANDN: SF, ZF per result; OF, CF cleared
      const a = rd(1), b = rd(2); if (a === undefined || b === undefined) return Exit.EXCEPTION;
      const r = ~a & b & mask;
      wr(r); setStatusFlags(ctx, sz(r, size));
      return Exit.CONTINUE;
    }
    case Mn.BEXTR: { // SDM BEXTR: START = src2[7:0], LEN = src2[15:8]; ZF per result; CF, OF cleared
      const src = rd(1); if (src === undefined) return Exit.EXCEPTION;
      const ctl = rd(2)!;
      const start = Number(ctl & 0xffn), len = Number((ctl >> 8n) & 0xffn);
      const r = start >= bits ? 0n : (src >> BigInt(start)) & ((1n << BigInt(Math.min(len, bits))) - 1n);
      wr(r); setStatusFlags(ctx, r === 0n ? F_ZF : 0);
      return Exit.CONTINUE;
    }
    case Mn.BLSI: case Mn.BLSMSK: case Mn.BLSR: {
      const src = rd(1); if (src === undefined) return Exit.EXCEPTION;
      const dec = (src - 1n) & mask;
      let r: bigint, f: number;
      if (insn.mn === Mn.BLSI) { r = -src & src & mask; f = sz(r, size) | (src !== 0n ? F_CF : 0); }
      else if (insn.mn === Mn.BLSMSK) { r = dec ^ src; f = (sz(r, size) & F_SF) | (src === 0n ? F_CF : 0); } // ZF cleared
      else { r = dec & src; f = sz(r, size) | (src === 0n ? F_CF : 0); }
      wr(r); setStatusFlags(ctx, f);
      return Exit.CONTINUE;
    }
    case Mn.TZCNT: case Mn.LZCNT: { // SDM TZCNT/LZCNT: CF = (src == 0), ZF = (result == 0)
      const src = rd(1); if (src === undefined) return Exit.EXCEPTION;
      let n = 0;
      if (insn.mn === Mn.TZCNT) { while (n < bits && ((src >> BigInt(n)) & 1n) === 0n) n++; }
      else { while (n < bits && ((src >> BigInt(bits - 1 - n)) & 1n) === 0n) n++; }
      wr(BigInt(n)); setStatusFlags(ctx, (n === bits ? F_CF : 0) | (n === 0 ? F_ZF : 0));
      return Exit.CONTINUE;
    }
    case Mn.BZHI: { // SDM BZHI: N = src2[7:0]; CF = N > OperandSize-1; SF, ZF per result; OF cleared
      const src = rd(1); if (src === undefined) return Exit.EXCEPTION;
      const n = Number(rd(2)! & 0xffn);
      const r = n < bits ? src & ((1n << BigInt(n)) - 1n) : src;
      wr(r); setStatusFlags(ctx, sz(r, size) | (n > bits - 1 ? F_CF : 0));
      return Exit.CONTINUE;
    }
    case Mn.MULX: { // SDM MULX: unsigned RDX/EDX * src; no flags. Same destinations: the high half wins.
      const src = rd(2); if (src === undefined) return Exit.EXCEPTION;
      const p = (ctx.st.gpr(2) & mask) * src;
      setGprSized(ctx.st, o1.reg, size, p & mask);
      setGprSized(ctx.st, o0.reg, size, p >> B);
      return Exit.CONTINUE;
    }
    case Mn.PDEP: case Mn.PEXT: {
      const src = rd(1), m = rd(2); if (src === undefined || m === undefined) return Exit.EXCEPTION;
      wr(insn.mn === Mn.PDEP ? pdep(src, m, bits) : pext(src, m, bits));
      return Exit.CONTINUE;
    }
    case Mn.RORX: { // SDM RORX: count masked to 5/6 bits; no flags
      const src = rd(1); if (src === undefined) return Exit.EXCEPTION;
      const n = immValue(o2) & (B - 1n);
      wr(n === 0n ? src : ((src >> n) | (src << (B - n))) & mask);
      return Exit.CONTINUE;
    }
    case Mn.SHLX: case Mn.SHRX: case Mn.SARX: { // SDM SARX/SHLX/SHRX: count masked to 5/6 bits; no flags
      const src = rd(1); if (src === undefined) return Exit.EXCEPTION;
      const n = rd(2)! & (B - 1n);
      let r: bigint;
      if (insn.mn === Mn.SHLX) r = (src << n) & mask;
      else if (insn.mn === Mn.SHRX) r = src >> n;
      else r = BigInt.asUintN(bits, BigInt.asIntN(bits, src) >> n);
      wr(r);
      return Exit.CONTINUE;
    }
    case Mn.ADCX: case Mn.ADOX: { // SDM ADCX/ADOX: carry in and out through CF (ADCX) or OF (ADOX) only
      const a = rd(0), b = rd(1); if (a === undefined || b === undefined) return Exit.EXCEPTION;
      const flag = insn.mn === Mn.ADCX ? F_CF : F_OF;
      const f = statusFlags(ctx);
      const s = a + b + ((f & flag) ? 1n : 0n);
      wr(s & mask);
      setStatusFlags(ctx, (f & ~flag) | (s > mask ? flag : 0));
      return Exit.CONTINUE;
    }
    case Mn.MOVBE: { // SDM MOVBE: load or store with the bytes reversed; no flags
      const v = rd(1); if (v === undefined) return Exit.EXCEPTION;
      return writeOp(ctx, insn, o0, rip, byteSwap(v, size)) ? Exit.CONTINUE : Exit.EXCEPTION;
    }
    default:
      return undefined;
  }
}
