/**
 * SSE4.1 (CPUID.01H:ECX[19]): blends, PTEST, PMOVSX/PMOVZX, PMULDQ,
 * PMULLD, PCMPEQQ, PACKUSDW, PMIN/PMAX (SB/SD/UW/UD), PHMINPOSUW, ROUNDPS/PD/SS/SD,
 * PEXTRB/W/D/Q, PINSRB/D/Q, EXTRACTPS/INSERTPS, DPPS/DPPD, MPSADBW, MOVNTDQA.
 * Semantics per Intel SDM Vol. 2.
 *
 * DPPS/DPPD go through mxcsr.ts (x86 NaN rules, MXCSR.RC, DAZ/FTZ and the
 * exception flags of each multiply and add). ROUND* honours its immediate
 * and MXCSR.RC and preserves NaN payloads (quietening SNaNs); IE for an
 * SNaN, PE for an inexact result unless imm8[3] suppresses it, no DE.
 */
import { Mn, OpKind, RegClass, type Instruction } from '../decoder/types.js';
import { S } from '../state.js';
import { ADD, fpBegin, fpCommit, fpStep, fpx, IE, isDenormal32, isDenormal64, isSnan32, isSnan64, mxcsrRc, MUL, op32, op64, PE } from './mxcsr.js';
import { Exit } from '../translate/core.js';
import { F_CF, F_ZF } from '../translate/flags.js';
import {
  destReg, f32, f64, i32, i8, readSrc, setGpr, setStatusFlags, simdChecks, u16, u32, u64, writeDest, writeMem,
  type SimdCtx,
} from './simd.js';

/** Round to an integral value: 0 nearest-even, 1 down, 2 up, 3 toward zero (SDM Table 4-17). */
export function roundIntegral(x: number, mode: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  let r: number;
  switch (mode & 3) {
    case 0: {
      const f = Math.floor(x), d = x - f;
      r = d < 0.5 ? f : d > 0.5 ? f + 1 : (f % 2 === 0 ? f : f + 1);
      break;
    }
    case 1: r = Math.floor(x); break;
    case 2: r = Math.ceil(x); break;
    default: r = Math.trunc(x); break;
  }
  return r === 0 ? (x < 0 ? -0 : 0) : r;
}

/** PMOVSX/PMOVZX: source bytes read, element widths in and out. */
const PMOV: ReadonlyMap<Mn, readonly [number, number, number, boolean]> = new Map([
  [Mn.PMOVSXBW, [8, 1, 2, true]], [Mn.PMOVSXBD, [4, 1, 4, true]], [Mn.PMOVSXBQ, [2, 1, 8, true]],
  [Mn.PMOVSXWD, [8, 2, 4, true]], [Mn.PMOVSXWQ, [4, 2, 8, true]], [Mn.PMOVSXDQ, [8, 4, 8, true]],
  [Mn.PMOVZXBW, [8, 1, 2, false]], [Mn.PMOVZXBD, [4, 1, 4, false]], [Mn.PMOVZXBQ, [2, 1, 8, false]],
  [Mn.PMOVZXWD, [8, 2, 4, false]], [Mn.PMOVZXWQ, [4, 2, 8, false]], [Mn.PMOVZXDQ, [8, 4, 8, false]],
] as const);

const HANDLED = new Set<Mn>([
  Mn.PBLENDVB, Mn.BLENDVPS, Mn.BLENDVPD, Mn.PTEST, Mn.PMULDQ, Mn.PCMPEQQ, Mn.MOVNTDQA, Mn.PACKUSDW,
  Mn.PMINSB, Mn.PMINSD, Mn.PMINUW, Mn.PMINUD, Mn.PMAXSB, Mn.PMAXSD, Mn.PMAXUW, Mn.PMAXUD, Mn.PMULLD, Mn.PHMINPOSUW,
  Mn.ROUNDPS, Mn.ROUNDPD, Mn.ROUNDSS, Mn.ROUNDSD, Mn.BLENDPS, Mn.BLENDPD, Mn.PBLENDW,
  Mn.PEXTRB, Mn.PEXTRD, Mn.PEXTRQ, Mn.EXTRACTPS, Mn.PINSRB, Mn.INSERTPS, Mn.PINSRD, Mn.PINSRQ,
  Mn.DPPS, Mn.DPPD, Mn.MPSADBW, ...PMOV.keys(),
]);

/**
 * DPPS on `lanes` 128-bit lanes of single-precision bits (VDPPS ymm: two):
 * products of the elements imm8[7:4] selects (others +0.0), then two levels
 * of pairwise sums, written where imm8[3:0] says (else +0.0). The operand
 * order of each sum depends on the destination element (observed on Intel
 * hardware when both addends are NaNs): element i first adds p[i^1] + p[i],
 * then (its pair sum) + (the other pair's). Each step's unmasked exception
 * stops the instruction there (SDM DPPS: "Exceptions are determined
 * separately for each add and multiply operation"; the host reports only the
 * flags of the steps that ran): false then, and the caller's fpCommit
 * raises the fault.
 */
export function dpps(A: Uint32Array, B: Uint32Array, R: Uint32Array, imm: number, rc: number, lanes: number): boolean {
  const n = lanes * 4, p = new Array<number>(n).fill(0), u = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) if ((imm >> (4 + (i & 3))) & 1) p[i] = op32(A[i]!, B[i]!, MUL, rc);
  if (!fpStep()) return false;
  for (let i = 0; i < n; i++) u[i] = op32(p[i ^ 1]!, p[i]!, ADD, rc);
  if (!fpStep()) return false;
  for (let i = 0; i < n; i++) R[i] = (imm >> (i & 3)) & 1 ? op32(u[i]!, u[i ^ 2]!, ADD, rc) : 0;
  return true;
}

export function execSse41(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!, o2 = insn.ops[2]!;
  // PEXTRW to memory (66 0F 3A 15) is SSE4.1; the register form (and 0F C5) stays in sse.ts.
  const pextrwMem = insn.mn === Mn.PEXTRW && o0.kind === OpKind.MEM;
  if (!HANDLED.has(insn.mn) && !pextrwMem) return undefined;
  if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
  const st = ctx.st;
  const imm = o2.kind === OpKind.IMM ? o2.imm & 0xff : 0;

  // ---- extracts: destination is a GPR or memory, source an XMM register
  if (insn.mn === Mn.PEXTRB || insn.mn === Mn.PEXTRW || insn.mn === Mn.PEXTRD || insn.mn === Mn.PEXTRQ || insn.mn === Mn.EXTRACTPS) {
    const x = st.xmm(o1.reg);
    const w = insn.mn === Mn.PEXTRB ? 1 : insn.mn === Mn.PEXTRW ? 2 : insn.mn === Mn.PEXTRQ ? 8 : 4;
    const idx = (imm & (16 / w - 1)) * w;
    const dv = new DataView(x.buffer, x.byteOffset, 16);
    const v = w === 1 ? BigInt(x[idx]!) : w === 2 ? BigInt(dv.getUint16(idx, true)) : w === 4 ? BigInt(dv.getUint32(idx, true)) : dv.getBigUint64(idx, true);
    if (o0.kind === OpKind.REG) { setGpr(ctx, o0, v); return Exit.CONTINUE; }
    const tmp = new Uint8Array(8); new DataView(tmp.buffer).setBigUint64(0, v, true);
    return writeMem(ctx, insn, o0, rip, tmp, w) ? Exit.CONTINUE : Exit.EXCEPTION;
  }
  // ---- inserts: source is a GPR or memory
  if (insn.mn === Mn.PINSRB || insn.mn === Mn.PINSRD || insn.mn === Mn.PINSRQ) {
    const w = insn.mn === Mn.PINSRB ? 1 : insn.mn === Mn.PINSRD ? 4 : 8;
    const s = readSrc(ctx, insn, o1, rip, w); if (!s) return Exit.EXCEPTION;
    st.xmm(o0.reg).set(s.subarray(0, w), (imm & (16 / w - 1)) * w);
    return Exit.CONTINUE;
  }

  const d = destReg(ctx, o0);
  if (!d) return Exit.EXCEPTION;
  const pm = PMOV.get(insn.mn);
  const srcBytes = pm ? pm[0] : insn.mn === Mn.ROUNDSS || insn.mn === Mn.INSERTPS && o1.kind === OpKind.MEM ? 4 : insn.mn === Mn.ROUNDSD ? 8 : 16;
  const s = readSrc(ctx, insn, o1, rip, srcBytes);
  if (!s) return Exit.EXCEPTION;
  const r = new Uint8Array(16); r.set(d);

  if (pm) {
    const [, win, wout, signed] = pm;
    const dv = new DataView(s.buffer), rv = new DataView(r.buffer);
    for (let i = 0; i < 16 / wout; i++) {
      const v = win === 1 ? (signed ? dv.getInt8(i) : dv.getUint8(i)) : win === 2 ? (signed ? dv.getInt16(i * 2, true) : dv.getUint16(i * 2, true))
        : (signed ? dv.getInt32(i * 4, true) : dv.getUint32(i * 4, true));
      if (wout === 2) rv.setInt16(i * 2, v, true); else if (wout === 4) rv.setInt32(i * 4, v, true); else rv.setBigInt64(i * 8, BigInt(v), true);
    }
    writeDest(ctx, o0, r);
    return Exit.CONTINUE;
  }

  switch (insn.mn) {
    case Mn.PBLENDVB: { const m = st.xmm(0); for (let i = 0; i < 16; i++) if (m[i]! & 0x80) r[i] = s[i]!; break; }
    case Mn.BLENDVPS: { const m = st.xmm(0); for (let i = 0; i < 4; i++) if (m[i * 4 + 3]! & 0x80) r.set(s.subarray(i * 4, i * 4 + 4), i * 4); break; }
    case Mn.BLENDVPD: { const m = st.xmm(0); for (let i = 0; i < 2; i++) if (m[i * 8 + 7]! & 0x80) r.set(s.subarray(i * 8, i * 8 + 8), i * 8); break; }
    case Mn.BLENDPS: for (let i = 0; i < 4; i++) if ((imm >> i) & 1) r.set(s.subarray(i * 4, i * 4 + 4), i * 4); break;
    case Mn.BLENDPD: for (let i = 0; i < 2; i++) if ((imm >> i) & 1) r.set(s.subarray(i * 8, i * 8 + 8), i * 8); break;
    case Mn.PBLENDW: for (let i = 0; i < 8; i++) if ((imm >> i) & 1) r.set(s.subarray(i * 2, i * 2 + 2), i * 2); break;
    case Mn.PTEST: {
      // ZF = (SRC AND DEST) = 0, CF = (SRC AND NOT DEST) = 0, AF OF PF SF cleared (SDM PTEST).
      let and = 0, andn = 0;
      for (let i = 0; i < 16; i++) { and |= s[i]! & d[i]!; andn |= s[i]! & ~d[i]!; }
      setStatusFlags(ctx, (and === 0 ? F_ZF : 0) | (andn === 0 ? F_CF : 0));
      return Exit.CONTINUE;
    }
    case Mn.MOVNTDQA: r.set(s); break;
    case Mn.PMULDQ: { const A = i32(d), B = i32(s), Q = u64(r); Q[0] = BigInt.asUintN(64, BigInt(A[0]!) * BigInt(B[0]!)); Q[1] = BigInt.asUintN(64, BigInt(A[2]!) * BigInt(B[2]!)); break; }
    case Mn.PMULLD: { const A = i32(d), B = i32(s), R = i32(r); for (let i = 0; i < 4; i++) R[i] = Math.imul(A[i]!, B[i]!); break; }
    case Mn.PCMPEQQ: { const A = u64(d), B = u64(s), Q = u64(r); for (let i = 0; i < 2; i++) Q[i] = A[i] === B[i] ? 0xffffffffffffffffn : 0n; break; }
    case Mn.PACKUSDW: {
      const A = i32(d), B = i32(s), R = u16(r);
      const sat = (v: number): number => (v < 0 ? 0 : v > 65535 ? 65535 : v);
      for (let i = 0; i < 4; i++) { R[i] = sat(A[i]!); R[4 + i] = sat(B[i]!); }
      break;
    }
    case Mn.PMINSB: case Mn.PMAXSB: { const A = i8(d), B = i8(s), R = i8(r), mx = insn.mn === Mn.PMAXSB; for (let i = 0; i < 16; i++) R[i] = mx ? Math.max(A[i]!, B[i]!) : Math.min(A[i]!, B[i]!); break; }
    case Mn.PMINSD: case Mn.PMAXSD: { const A = i32(d), B = i32(s), R = i32(r), mx = insn.mn === Mn.PMAXSD; for (let i = 0; i < 4; i++) R[i] = mx ? Math.max(A[i]!, B[i]!) : Math.min(A[i]!, B[i]!); break; }
    case Mn.PMINUW: case Mn.PMAXUW: { const A = u16(d), B = u16(s), R = u16(r), mx = insn.mn === Mn.PMAXUW; for (let i = 0; i < 8; i++) R[i] = mx ? Math.max(A[i]!, B[i]!) : Math.min(A[i]!, B[i]!); break; }
    case Mn.PMINUD: case Mn.PMAXUD: { const A = u32(d), B = u32(s), R = u32(r), mx = insn.mn === Mn.PMAXUD; for (let i = 0; i < 4; i++) R[i] = mx ? Math.max(A[i]!, B[i]!) : Math.min(A[i]!, B[i]!); break; }
    case Mn.PHMINPOSUW: {
      const B = u16(s); let m = B[0]!, idx = 0;
      for (let i = 1; i < 8; i++) if (B[i]! < m) { m = B[i]!; idx = i; }
      r.fill(0); const R = u16(r); R[0] = m; R[1] = idx;
      break;
    }
    case Mn.ROUNDPS: case Mn.ROUNDSS: case Mn.ROUNDPD: case Mn.ROUNDSD: {
      // imm8[2] = 1: MXCSR.RC; else imm8[1:0]. NaN: the source quietened (SDM ROUNDPS "Operation").
      const mxcsr = st.u32(S.MXCSR);
      const mode = imm & 4 ? mxcsrRc(mxcsr) : imm & 3;
      const single = insn.mn === Mn.ROUNDPS || insn.mn === Mn.ROUNDSS;
      const n = insn.mn === Mn.ROUNDPS ? 4 : insn.mn === Mn.ROUNDPD ? 2 : 1;
      const inexact = imm & 8 ? 0 : PE;
      fpBegin(mxcsr);
      if (single) {
        const F = f32(s), U = u32(s), R = f32(r), RU = u32(r);
        for (let i = 0; i < n; i++) {
          const u = U[i]!;
          if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff)) { if (isSnan32(u)) fpx.pre |= IE; RU[i] = u | 0x400000; }
          else if (fpx.daz && isDenormal32(u)) RU[i] = u & 0x80000000;
          else { R[i] = roundIntegral(F[i]!, mode); if (R[i] !== F[i]) fpx.post |= inexact; }
        }
      } else {
        const F = f64(s), U = u64(s), R = f64(r), RU = u64(r);
        for (let i = 0; i < n; i++) {
          const u = U[i]!;
          if (Number.isNaN(F[i]!)) { if (isSnan64(u)) fpx.pre |= IE; RU[i] = u | (1n << 51n); }
          else if (fpx.daz && isDenormal64(u)) RU[i] = u & 0x8000000000000000n;
          else { R[i] = roundIntegral(F[i]!, mode); if (R[i] !== F[i]) fpx.post |= inexact; }
        }
      }
      if (!fpCommit(st)) return Exit.EXCEPTION;
      break;
    }
    case Mn.INSERTPS: {
      const sv = o1.kind === OpKind.REG && o1.regClass === RegClass.XMM ? u32(s)[(imm >> 6) & 3]! : u32(s)[0]!;
      const R = u32(r); R[(imm >> 4) & 3] = sv;
      for (let i = 0; i < 4; i++) if ((imm >> i) & 1) R[i] = 0;
      break;
    }
    case Mn.DPPS: {
      const mxcsr = st.u32(S.MXCSR);
      fpBegin(mxcsr);
      dpps(u32(d), u32(s), u32(r), imm, mxcsrRc(mxcsr), 1);
      if (!fpCommit(st)) return Exit.EXCEPTION;
      break;
    }
    case Mn.DPPD: {
      const mxcsr = st.u32(S.MXCSR), rc = mxcsrRc(mxcsr);
      fpBegin(mxcsr);
      const A = u64(d), B = u64(s), p = [0n, 0n];
      for (let i = 0; i < 2; i++) if ((imm >> (4 + i)) & 1) p[i] = op64(A[i]!, B[i]!, MUL, rc);
      if (!fpStep()) { fpCommit(st); return Exit.EXCEPTION; }
      // As DPPS: lane i adds its own product first (p[i] + p[i^1]; visible when both are NaNs).
      const R = u64(r);
      for (let i = 0; i < 2; i++) R[i] = (imm >> i) & 1 ? op64(p[i]!, p[i ^ 1]!, ADD, rc) : 0n;
      if (!fpCommit(st)) return Exit.EXCEPTION;
      break;
    }
    case Mn.MPSADBW: {
      const a0 = ((imm >> 2) & 1) * 4, b0 = (imm & 3) * 4, R = u16(r);
      for (let i = 0; i < 8; i++) {
        let sum = 0;
        for (let k = 0; k < 4; k++) sum += Math.abs(d[a0 + i + k]! - s[b0 + k]!);
        R[i] = sum;
      }
      break;
    }
    default: return undefined;
  }
  writeDest(ctx, o0, r);
  return Exit.CONTINUE;
}
