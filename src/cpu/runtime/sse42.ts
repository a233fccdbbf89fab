/**
 * SSE4.2 (CPUID.01H:ECX[20]): CRC32, PCMPGTQ and the string comparisons
 * PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM. Intel SDM Vol. 2 §4.1
 * ("Imm8 Control Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI /
 * PCMPISTRM") and the per-mnemonic pages.
 */
import { Mn, OpKind, type Instruction } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { F_CF, F_OF, F_SF, F_ZF } from '../translate/flags.js';
import { readOp } from './ops.js';
import { destReg, i16, i8, readSrc, setStatusFlags, simdChecks, u16, u64, writeDest, type SimdCtx } from './simd.js';
import { setGprSized } from './ops.js';

/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 (SDM CRC32 "Bit Reflection"), one byte at a time. */
const CRC32C_TABLE = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC32C_TABLE[i] = c >>> 0;
}

export function crc32c(crc: number, data: bigint, bytes: number): number {
  let c = crc >>> 0;
  for (let i = 0; i < bytes; i++) c = (CRC32C_TABLE[(c ^ Number((data >> BigInt(8 * i)) & 0xffn)) & 0xff]! ^ (c >>> 8)) >>> 0;
  return c;
}

/**
 * The PCMPxSTRx core: returns IntRes2 (bit j for element j) given the two
 * operands, their valid lengths and the control byte (SDM §4.1.2-4.1.6).
 */
export function pcmpstr(a: Uint8Array, la: number, b: Uint8Array, lb: number, imm: number): number {
  const words = (imm & 1) !== 0, signed = (imm & 2) !== 0, n = words ? 8 : 16;
  const elems = (x: Uint8Array): ArrayLike<number> => (words ? (signed ? i16(x) : u16(x)) : (signed ? i8(x) : x));
  const A = elems(a), B = elems(b);
  const agg = (imm >> 2) & 3;
  let res1 = 0;
  switch (agg) {
    case 0: // equal any: b[j] is any valid a[i]
      for (let j = 0; j < lb; j++) for (let i = 0; i < la; i++) if (A[i] === B[j]) { res1 |= 1 << j; break; }
      break;
    case 1: // ranges: a[i] <= b[j] <= a[i+1] for some valid pair
      for (let j = 0; j < lb; j++) {
        for (let i = 0; i + 1 < n; i += 2) {
          const lo = i < la && B[j]! >= A[i]!, hi = i + 1 < la && B[j]! <= A[i + 1]!;
          if (lo && hi) { res1 |= 1 << j; break; }
        }
      }
      break;
    case 2: // equal each: both invalid -> true, one invalid -> false
      for (let i = 0; i < n; i++) {
        const va = i < la, vb = i < lb;
        if ((!va && !vb) || (va && vb && A[i] === B[i])) res1 |= 1 << i;
      }
      break;
    default: // equal ordered: a (invalid a elements match anything) found at b[j..]
      for (let j = 0; j < n; j++) {
        let ok = true;
        for (let i = 0; i < n - j && ok; i++) {
          const k = j + i, va = i < la, vb = k < lb;
          if (!va) continue; // a invalid: true
          ok = vb && A[i] === B[k];
        }
        if (ok) res1 |= 1 << j;
      }
      break;
  }
  const all = (1 << n) - 1;
  switch ((imm >> 4) & 3) {
    case 1: return ~res1 & all;
    case 3: return (res1 ^ ((1 << lb) - 1)) & all; // masked negative: only the valid elements of b
    default: return res1;
  }
}

function implicitLength(x: Uint8Array, words: boolean): number {
  const n = words ? 8 : 16;
  for (let i = 0; i < n; i++) if (words ? (x[2 * i]! | x[2 * i + 1]!) === 0 : x[i] === 0) return i;
  return n;
}

function explicitLength(v: bigint, bits: number, n: number): number {
  const s = BigInt.asIntN(bits, v);
  const abs = s < 0n ? -s : s;
  return abs > BigInt(n) ? n : Number(abs);
}

export function execSse42(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const st = ctx.st;
  switch (insn.mn) {
    case Mn.CRC32: {
      // A general-purpose instruction: no CR0/CR4 SIMD checks (SDM CRC32 "Protected Mode Exceptions").
      const v = readOp(ctx, insn, o1, rip); if (v === undefined) return Exit.EXCEPTION;
      const crc = crc32c(st.gpr32(o0.reg), v, o1.size);
      setGprSized(st, o0.reg, o0.size, BigInt(crc));
      return Exit.CONTINUE;
    }
    case Mn.PCMPGTQ: {
      if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
      const d = destReg(ctx, o0), s = readSrc(ctx, insn, o1, rip, 16);
      if (!d || !s) return Exit.EXCEPTION;
      const A = u64(d), B = u64(s), r = new Uint8Array(16), R = u64(r);
      for (let i = 0; i < 2; i++) R[i] = BigInt.asIntN(64, A[i]!) > BigInt.asIntN(64, B[i]!) ? 0xffffffffffffffffn : 0n;
      writeDest(ctx, o0, r);
      return Exit.CONTINUE;
    }
    case Mn.PCMPESTRI: case Mn.PCMPESTRI64: case Mn.PCMPESTRM: case Mn.PCMPESTRM64: case Mn.PCMPISTRI: case Mn.PCMPISTRM: {
      if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
      const a = destReg(ctx, o0), b = readSrc(ctx, insn, o1, rip, 16);
      if (!a || !b) return Exit.EXCEPTION;
      const imm = insn.ops[2]!.kind === OpKind.IMM ? insn.ops[2]!.imm & 0xff : 0;
      const words = (imm & 1) !== 0, n = words ? 8 : 16;
      const explicit = insn.mn !== Mn.PCMPISTRI && insn.mn !== Mn.PCMPISTRM;
      const bits = insn.mn === Mn.PCMPESTRI64 || insn.mn === Mn.PCMPESTRM64 ? 64 : 32;
      const la = explicit ? explicitLength(st.gpr(0), bits, n) : implicitLength(a, words);
      const lb = explicit ? explicitLength(st.gpr(2), bits, n) : implicitLength(b, words);
      const res = pcmpstr(a, la, b, lb, imm);
      const index = insn.mn === Mn.PCMPESTRI || insn.mn === Mn.PCMPESTRI64 || insn.mn === Mn.PCMPISTRI;
      if (index) {
        let idx = n;
        if (res !== 0) idx = imm & 0x40 ? 31 - Math.clz32(res) : 31 - Math.clz32(res & -res);
        setGprSized(st, 1, 4, BigInt(idx));
      } else {
        const m = new Uint8Array(16);
        if (imm & 0x40) {
          for (let j = 0; j < n; j++) if ((res >> j) & 1) m.fill(0xff, j * (words ? 2 : 1), (j + 1) * (words ? 2 : 1));
        } else { m[0] = res & 0xff; m[1] = (res >> 8) & 0xff; }
        st.xmm(0).set(m);
      }
      // CF: IntRes2 != 0; ZF: b has an invalid element; SF: a has one; OF: IntRes2[0]; AF = PF = 0.
      setStatusFlags(ctx, (res !== 0 ? F_CF : 0) | (lb < n ? F_ZF : 0) | (la < n ? F_SF : 0) | (res & 1 ? F_OF : 0));
      return Exit.CONTINUE;
    }
    default: return undefined;
  }
}
