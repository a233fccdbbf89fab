/**
 * AES-NI (CPUID.01H:ECX[25]): AESENC, AESENCLAST, AESDEC, AESDECLAST,
 * AESIMC, AESKEYGENASSIST. Intel SDM Vol. 2 and the AES-NI white paper
 * (Gueron): the 128-bit register is the AES state in column-major order,
 * byte i = state[row i % 4][column i / 4]; transformations per FIPS 197.
 */
import { Mn, type Instruction } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { destReg, readSrc, simdChecks, writeDest, type SimdCtx } from './simd.js';
import { gmul, INV_SBOX, SBOX } from './aes-sbox.js';

function shiftRows(s: Uint8Array, inverse: boolean): Uint8Array {
  const r = new Uint8Array(16);
  for (let c = 0; c < 4; c++) {
    for (let row = 0; row < 4; row++) {
      // ShiftRows: row r rotates left by r; InvShiftRows right by r (FIPS 197 §5.1.2, §5.3.1).
      const src = inverse ? (c - row + 4) & 3 : (c + row) & 3;
      r[c * 4 + row] = s[src * 4 + row]!;
    }
  }
  return r;
}

/** GF(2^8) products by the MixColumns / InvMixColumns coefficients, precomputed (the executor's hot path). */
const MUL = new Map<number, Uint8Array>();
for (const k of [1, 2, 3, 9, 11, 13, 14]) { const t = new Uint8Array(256); for (let x = 0; x < 256; x++) t[x] = gmul(x, k); MUL.set(k, t); }
const FWD = [2, 3, 1, 1].map((k) => MUL.get(k)!), INV = [14, 11, 13, 9].map((k) => MUL.get(k)!);

function mixColumns(s: Uint8Array, inverse: boolean): Uint8Array {
  const r = new Uint8Array(16);
  const m = inverse ? INV : FWD;
  for (let c = 0; c < 4; c++) {
    for (let row = 0; row < 4; row++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v ^= m[(k - row + 4) & 3]![s[c * 4 + k]!]!;
      r[c * 4 + row] = v;
    }
  }
  return r;
}

const subBytes = (s: Uint8Array, box: Uint8Array): Uint8Array => s.map((b) => box[b]!);

function subWord(w: number): number {
  return (SBOX[w & 0xff]! | (SBOX[(w >>> 8) & 0xff]! << 8) | (SBOX[(w >>> 16) & 0xff]! << 16) | (SBOX[w >>> 24]! << 24)) >>> 0;
}

export function execAesni(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  switch (insn.mn) {
    case Mn.AESENC: case Mn.AESENCLAST: case Mn.AESDEC: case Mn.AESDECLAST: case Mn.AESIMC: case Mn.AESKEYGENASSIST: break;
    default: return undefined;
  }
  if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
  const o0 = insn.ops[0]!;
  const d = destReg(ctx, o0);
  const k = readSrc(ctx, insn, insn.ops[1]!, rip, 16);
  if (!d || !k) return Exit.EXCEPTION;
  let r: Uint8Array;
  switch (insn.mn) {
    case Mn.AESENC: r = mixColumns(subBytes(shiftRows(d, false), SBOX), false); break;
    case Mn.AESENCLAST: r = subBytes(shiftRows(d, false), SBOX); break;
    case Mn.AESDEC: r = mixColumns(subBytes(shiftRows(d, true), INV_SBOX), true); break;
    case Mn.AESDECLAST: r = subBytes(shiftRows(d, true), INV_SBOX); break;
    case Mn.AESIMC: writeDest(ctx, o0, mixColumns(k, true)); return Exit.CONTINUE;
    default: {
      // AESKEYGENASSIST: X1 = SRC[63:32], X3 = SRC[127:96]; RotWord is ROR 8 (SDM).
      const dv = new DataView(k.buffer), rcon = insn.ops[2]!.imm & 0xff;
      const x1 = subWord(dv.getUint32(4, true)), x3 = subWord(dv.getUint32(12, true));
      const ror8 = (w: number): number => ((w >>> 8) | (w << 24)) >>> 0;
      const out = new Uint8Array(16), ov = new DataView(out.buffer);
      ov.setUint32(0, x1, true); ov.setUint32(4, (ror8(x1) ^ rcon) >>> 0, true);
      ov.setUint32(8, x3, true); ov.setUint32(12, (ror8(x3) ^ rcon) >>> 0, true);
      writeDest(ctx, o0, out);
      return Exit.CONTINUE;
    }
  }
  for (let i = 0; i < 16; i++) r[i] = r[i]! ^ k[i]!;
  writeDest(ctx, o0, r);
  return Exit.CONTINUE;
}
