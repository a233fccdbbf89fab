/**
 * SHA extensions (CPUID.(EAX=07H,ECX=0):EBX[29]): SHA1RNDS4, SHA1NEXTE,
 * SHA1MSG1, SHA1MSG2, SHA256RNDS2, SHA256MSG1, SHA256MSG2. Dword lanes as
 * the Intel SDM Vol. 2 pseudo-code names them; functions per FIPS 180-4.
 */
import { Mn, type Instruction } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { destReg, readSrc, simdChecks, u32, writeDest, type SimdCtx } from './simd.js';

const rol = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
const ror = (x: number, n: number): number => ((x >>> n) | (x << (32 - n))) >>> 0;
const add = (...v: number[]): number => v.reduce((a, b) => (a + b) >>> 0, 0);

/** SHA-1 round function and constant for SHA1RNDS4's imm8[1:0] (FIPS 180-4 §4.1.1, §4.2.1). */
function sha1f(i: number, b: number, c: number, d: number): number {
  switch (i & 3) {
    case 0: return ((b & c) ^ (~b & d)) >>> 0;
    case 2: return ((b & c) ^ (b & d) ^ (c & d)) >>> 0;
    default: return (b ^ c ^ d) >>> 0;
  }
}
const SHA1_K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];

const bigSigma0 = (x: number): number => (ror(x, 2) ^ ror(x, 13) ^ ror(x, 22)) >>> 0;
const bigSigma1 = (x: number): number => (ror(x, 6) ^ ror(x, 11) ^ ror(x, 25)) >>> 0;
const sigma0 = (x: number): number => (ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)) >>> 0;
const sigma1 = (x: number): number => (ror(x, 17) ^ ror(x, 19) ^ (x >>> 10)) >>> 0;

export function execSha(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  switch (insn.mn) {
    case Mn.SHA1RNDS4: case Mn.SHA1NEXTE: case Mn.SHA1MSG1: case Mn.SHA1MSG2:
    case Mn.SHA256RNDS2: case Mn.SHA256MSG1: case Mn.SHA256MSG2: break;
    default: return undefined;
  }
  if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
  const o0 = insn.ops[0]!;
  const d = destReg(ctx, o0);
  const s = readSrc(ctx, insn, insn.ops[1]!, rip, 16);
  if (!d || !s) return Exit.EXCEPTION;
  const A = Array.from(u32(d)), B = Array.from(u32(s)); // index 0 = bits 31:0
  const out = new Uint8Array(16), R = u32(out);
  switch (insn.mn) {
    case Mn.SHA1RNDS4: {
      const imm = insn.ops[2]!.imm & 3;
      let a = A[3]!, b = A[2]!, c = A[1]!, dd = A[0]!, e = 0;
      const w = [B[3]!, B[2]!, B[1]!, B[0]!]; // W0+E, W1, W2, W3
      for (let i = 0; i < 4; i++) {
        const t = add(sha1f(imm, b, c, dd), rol(a, 5), w[i]!, e, SHA1_K[imm]!);
        e = dd; dd = c; c = rol(b, 30); b = a; a = t;
      }
      R[3] = a; R[2] = b; R[1] = c; R[0] = dd;
      break;
    }
    case Mn.SHA1NEXTE: R[3] = add(B[3]!, rol(A[3]!, 30)); R[2] = B[2]!; R[1] = B[1]!; R[0] = B[0]!; break;
    case Mn.SHA1MSG1: R[3] = A[1]! ^ A[3]!; R[2] = A[0]! ^ A[2]!; R[1] = B[3]! ^ A[1]!; R[0] = B[2]! ^ A[0]!; break;
    case Mn.SHA1MSG2: {
      const w16 = rol(A[3]! ^ B[2]!, 1), w17 = rol(A[2]! ^ B[1]!, 1), w18 = rol(A[1]! ^ B[0]!, 1), w19 = rol(A[0]! ^ w16, 1);
      R[3] = w16; R[2] = w17; R[1] = w18; R[0] = w19;
      break;
    }
    case Mn.SHA256RNDS2: {
      // SRC1 = {C, D, G, H}, SRC2 = {A, B, E, F} (high to low), XMM0[63:0] = WK1:WK0.
      const wk = u32(ctx.st.xmm(0));
      let a = B[3]!, b = B[2]!, c = A[3]!, dd = A[2]!, e = B[1]!, f = B[0]!, g = A[1]!, h = A[0]!;
      for (let i = 0; i < 2; i++) {
        const ch = ((e & f) ^ (~e & g)) >>> 0, maj = ((a & b) ^ (a & c) ^ (b & c)) >>> 0;
        const t1 = add(h, bigSigma1(e), ch, wk[i]!), t2 = add(bigSigma0(a), maj);
        h = g; g = f; f = e; e = add(dd, t1); dd = c; c = b; b = a; a = add(t1, t2);
      }
      R[3] = a; R[2] = b; R[1] = e; R[0] = f;
      break;
    }
    case Mn.SHA256MSG1: R[3] = add(A[3]!, sigma0(B[0]!)); R[2] = add(A[2]!, sigma0(A[3]!)); R[1] = add(A[1]!, sigma0(A[2]!)); R[0] = add(A[0]!, sigma0(A[1]!)); break;
    default: { // SHA256MSG2
      const w16 = add(A[0]!, sigma1(B[2]!)), w17 = add(A[1]!, sigma1(B[3]!));
      R[0] = w16; R[1] = w17; R[2] = add(A[2]!, sigma1(w16)); R[3] = add(A[3]!, sigma1(w17));
      break;
    }
  }
  writeDest(ctx, o0, out);
  return Exit.CONTINUE;
}
