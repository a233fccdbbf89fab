/**
 * SSSE3 (CPUID.01H:ECX[9]): PSHUFB, PHADD/PHSUB, PMADDUBSW, PMULHRSW,
 * PSIGN, PABS, PALIGNR, in their MMX (64-bit) and XMM (128-bit) forms.
 * Semantics per Intel SDM Vol. 2, one mnemonic each.
 */
import { Mn, type Instruction } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { destReg, i16, i32, i8, isMmxForm, readSrc, simdChecks, writeDest, type SimdCtx } from './simd.js';

const sat16 = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

export function execSsse3(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  switch (insn.mn) {
    case Mn.PSHUFB: case Mn.PHADDW: case Mn.PHADDD: case Mn.PHADDSW: case Mn.PMADDUBSW: case Mn.PHSUBW:
    case Mn.PHSUBD: case Mn.PHSUBSW: case Mn.PSIGNB: case Mn.PSIGNW: case Mn.PSIGND: case Mn.PMULHRSW:
    case Mn.PABSB: case Mn.PABSW: case Mn.PABSD: case Mn.PALIGNR: break;
    default: return undefined;
  }
  if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const n = isMmxForm(insn) ? 8 : 16;
  const d = destReg(ctx, o0);
  const s = readSrc(ctx, insn, o1, rip, n);
  if (!d || !s) return Exit.EXCEPTION;
  const a = new Uint8Array(16); a.set(d);
  const r = new Uint8Array(16);
  const lanesW = n / 2, lanesD = n / 4;
  switch (insn.mn) {
    case Mn.PSHUFB: // SDM PSHUFB: bit 7 set -> 0, else the byte indexed by the low 4 (MMX: 3) bits.
      for (let i = 0; i < n; i++) r[i] = s[i]! & 0x80 ? 0 : a[s[i]! & (n - 1)]!;
      break;
    case Mn.PHADDW: case Mn.PHSUBW: case Mn.PHADDSW: case Mn.PHSUBSW: {
      const A = i16(a), B = i16(s), R = i16(r), h = lanesW / 2;
      const sub = insn.mn === Mn.PHSUBW || insn.mn === Mn.PHSUBSW;
      const satd = insn.mn === Mn.PHADDSW || insn.mn === Mn.PHSUBSW;
      for (let i = 0; i < h; i++) {
        const x = sub ? A[2 * i]! - A[2 * i + 1]! : A[2 * i]! + A[2 * i + 1]!;
        const y = sub ? B[2 * i]! - B[2 * i + 1]! : B[2 * i]! + B[2 * i + 1]!;
        R[i] = satd ? sat16(x) : x; R[h + i] = satd ? sat16(y) : y;
      }
      break;
    }
    case Mn.PHADDD: case Mn.PHSUBD: {
      const A = i32(a), B = i32(s), R = i32(r), h = lanesD / 2;
      const sub = insn.mn === Mn.PHSUBD;
      for (let i = 0; i < h; i++) {
        R[i] = sub ? A[2 * i]! - A[2 * i + 1]! : A[2 * i]! + A[2 * i + 1]!;
        R[h + i] = sub ? B[2 * i]! - B[2 * i + 1]! : B[2 * i]! + B[2 * i + 1]!;
      }
      break;
    }
    case Mn.PMADDUBSW: { // unsigned bytes of the destination x signed bytes of the source, pairs added with signed saturation
      const B = i8(s), R = i16(r);
      for (let i = 0; i < lanesW; i++) R[i] = sat16(a[2 * i]! * B[2 * i]! + a[2 * i + 1]! * B[2 * i + 1]!);
      break;
    }
    case Mn.PMULHRSW: { // ((a * b >> 14) + 1) >> 1, bits 16:1 of the rounded 18-bit product
      const A = i16(a), B = i16(s), R = i16(r);
      for (let i = 0; i < lanesW; i++) R[i] = (((A[i]! * B[i]!) >> 14) + 1) >> 1;
      break;
    }
    case Mn.PSIGNB: { const A = i8(a), B = i8(s), R = i8(r); for (let i = 0; i < n; i++) R[i] = B[i]! < 0 ? -A[i]! : B[i]! === 0 ? 0 : A[i]!; break; }
    case Mn.PSIGNW: { const A = i16(a), B = i16(s), R = i16(r); for (let i = 0; i < lanesW; i++) R[i] = B[i]! < 0 ? -A[i]! : B[i]! === 0 ? 0 : A[i]!; break; }
    case Mn.PSIGND: { const A = i32(a), B = i32(s), R = i32(r); for (let i = 0; i < lanesD; i++) R[i] = B[i]! < 0 ? -A[i]! : B[i]! === 0 ? 0 : A[i]!; break; }
    // PABS: |x| with -2^(w-1) staying 2^(w-1) as an unsigned result (the typed-array store wraps it).
    case Mn.PABSB: { const B = i8(s), R = i8(r); for (let i = 0; i < n; i++) R[i] = Math.abs(B[i]!); break; }
    case Mn.PABSW: { const B = i16(s), R = i16(r); for (let i = 0; i < lanesW; i++) R[i] = Math.abs(B[i]!); break; }
    case Mn.PABSD: { const B = i32(s), R = i32(r); for (let i = 0; i < lanesD; i++) R[i] = Math.abs(B[i]!); break; }
    case Mn.PALIGNR: { // (dest:src) >> (imm8 * 8), low n bytes; shifts past 2n bytes give zero
      const imm = insn.ops[2]!.imm & 0xff;
      for (let i = 0; i < n; i++) { const k = i + imm; r[i] = k < n ? s[k]! : k < 2 * n ? a[k - n]! : 0; }
      break;
    }
    default: return undefined;
  }
  writeDest(ctx, o0, r);
  return Exit.CONTINUE;
}
