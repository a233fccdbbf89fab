/**
 * SSE/SSE2 semantics for the TypeScript executor (the x86-64 baseline Go and
 * gcc emit). Each returns Exit.CONTINUE, Exit.EXCEPTION, or undefined for
 * "not implemented here" (the caller raises #UD). SDM Vol. 2, per mnemonic;
 * checks per SDM Vol. 3 §13.1 / Table 22-? (CR0.EM -> #UD, CR0.TS -> #NM,
 * CR4.OSFXSR = 0 -> #UD). Floating point follows MXCSR (mxcsr.ts): rounding,
 * DAZ/FTZ, sticky exception flags, and #XM/#UD for an unmasked exception
 * with the destination unchanged.
 */
import { ATTR_ALIGN16, ATTR_SSE, Mn, OpKind, RegClass, type Instruction, type Operand } from '../decoder/types.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, S } from '../state.js';
import { Exit } from '../translate/core.js';
import { VEC_GP, VEC_NM, VEC_UD } from './mmu.js';
import { linAddr, regGet, setGprSized, type OpCtx } from './ops.js';
import { mmxEnter, mmxReg, mmxWrite } from './simd.js';
import { ADD, DIV, F32, F64, fpBegin, fpCommit, MUL, mxcsrRc, op32, op64, SUB } from './mxcsr.js';
import {
  cmp32, cmp64, comis32, comis64, f32ToF64Bits, f64ToF32Bits, fpToInt, intToFloatBits, minMax32, minMax64, rcp32, rsqrt32, sqrt32, sqrt64,
  toF32Bits,
} from './avx-fp.js';

type Ctx = OpCtx;

/** Scratch results of the FP lanes (written to the destination after fpCommit). */
const fpOut32 = new Uint32Array(4), fpOut64 = new BigUint64Array(2);

function fault(ctx: Ctx, v: number, e = -1): number {
  ctx.st.setU32(S.EXC_VECTOR, v); ctx.st.setU32(S.EXC_ERROR, e); return Exit.EXCEPTION;
}

/** Read a 16/8/4-byte vector operand into a fresh 16-byte array (zero-filled above `bytes`). */
function readVec(ctx: Ctx, insn: Instruction, op: Operand, rip: bigint, bytes: number): Uint8Array | undefined {
  const out = new Uint8Array(16);
  if (op.kind === OpKind.REG) {
    if (op.regClass === RegClass.XMM) { out.set(ctx.st.xmm(op.reg)); return out; }
    if (op.regClass === RegClass.GPR) {
      new DataView(out.buffer).setBigUint64(0, regGet(ctx.st, op), true); return out;
    }
    return undefined;
  }
  if (op.kind !== OpKind.MEM) return undefined;
  const lin = linAddr(ctx, insn, op, rip);
  if ((insn.attrs & ATTR_ALIGN16) && bytes === 16 && (lin & 15n) !== 0n) { fault(ctx, VEC_GP, 0); return undefined; }
  const dv = new DataView(out.buffer);
  for (let i = 0; i < bytes; i += 8) {
    const n = Math.min(8, bytes - i);
    const v = ctx.mmu.read(lin + BigInt(i), n, ctx.cpl);
    if (v === undefined) return undefined;
    if (n === 8) dv.setBigUint64(i, v, true); else dv.setUint32(i, Number(v), true);
  }
  return out;
}

function writeVecMem(ctx: Ctx, insn: Instruction, op: Operand, rip: bigint, data: Uint8Array, bytes: number): boolean {
  const lin = linAddr(ctx, insn, op, rip);
  if ((insn.attrs & ATTR_ALIGN16) && bytes === 16 && (lin & 15n) !== 0n) { fault(ctx, VEC_GP, 0); return false; }
  const dv = new DataView(data.buffer, data.byteOffset, 16);
  // Check both halves translate before writing (no partial stores on a fault).
  if (bytes === 16 && ctx.mmu.read(lin + 8n, 8, ctx.cpl) === undefined) return false;
  for (let i = 0; i < bytes; i += 8) {
    const n = Math.min(8, bytes - i);
    const v = n === 8 ? dv.getBigUint64(i, true) : BigInt(dv.getUint32(i, true));
    if (!ctx.mmu.write(lin + BigInt(i), n, v, ctx.cpl)) return false;
  }
  return true;
}

const lanes = {
  u8: (b: Uint8Array) => b,
  i8: (b: Uint8Array) => new Int8Array(b.buffer, b.byteOffset, 16),
  u16: (b: Uint8Array) => new Uint16Array(b.buffer, b.byteOffset, 8),
  i16: (b: Uint8Array) => new Int16Array(b.buffer, b.byteOffset, 8),
  u32: (b: Uint8Array) => new Uint32Array(b.buffer, b.byteOffset, 4),
  i32: (b: Uint8Array) => new Int32Array(b.buffer, b.byteOffset, 4),
  u64: (b: Uint8Array) => new BigUint64Array(b.buffer, b.byteOffset, 2),
  f32: (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, 4),
  f64: (b: Uint8Array) => new Float64Array(b.buffer, b.byteOffset, 2),
};

export function execSse(ctx: Ctx, insn: Instruction, rip: bigint): number | undefined {
  const st = ctx.st;
  if ((insn.attrs & ATTR_SSE) === 0) return undefined;
  if ((st.cr0 & CR0_EM) !== 0n || (st.cr4 & CR4_OSFXSR) === 0n) return fault(ctx, VEC_UD);
  if ((st.cr0 & CR0_TS) !== 0n) return fault(ctx, VEC_NM);
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!, o2 = insn.ops[2]!;
  const dstX = o0.kind === OpKind.REG && o0.regClass === RegClass.XMM;
  const d = dstX ? st.xmm(o0.reg) : undefined;
  const src = (bytes = 16): Uint8Array | undefined => readVec(ctx, insn, o1, rip, bytes);
  const mxcsr = st.u32(S.MXCSR);
  const binop = <T extends keyof typeof lanes>(t: T, f: (a: number, b: number) => number, bytes = 16): number => {
    const s = src(bytes); if (!s || !d) return Exit.EXCEPTION;
    const A = lanes[t](d) as unknown as { [i: number]: number; length: number };
    const B = lanes[t](s) as unknown as { [i: number]: number; length: number };
    for (let i = 0; i < A.length; i++) A[i] = f(A[i]!, B[i]!);
    return Exit.CONTINUE;
  };
  const big = <T extends 'u64'>(t: T, f: (a: bigint, b: bigint) => bigint): number => {
    const s = src(); if (!s || !d) return Exit.EXCEPTION;
    const A = lanes[t](d), B = lanes[t](s);
    for (let i = 0; i < 2; i++) A[i] = BigInt.asUintN(64, f(A[i]!, B[i]!));
    return Exit.CONTINUE;
  };
  const sat = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
  const rc = mxcsrRc(st.u32(S.MXCSR));
  /**
   * Packed (all lanes) or scalar (lane 0; the scalar source is 4/8 bytes) single precision on lane bits;
   * the destination is written only when no unmasked MXCSR exception arose (mxcsr.ts fpCommit).
   */
  const fp = (_esz: 4, scalarOp: boolean, f: (a: number, b: number) => number): number => {
    const s = src(scalarOp ? 4 : 16); if (!s || !d) return Exit.EXCEPTION;
    fpBegin(mxcsr);
    const A = lanes.u32(d), B = lanes.u32(s), R = fpOut32;
    const n = scalarOp ? 1 : 4;
    for (let i = 0; i < n; i++) R[i] = f(A[i]!, B[i]!);
    if (!fpCommit(st)) return Exit.EXCEPTION;
    for (let i = 0; i < n; i++) A[i] = R[i]!;
    return Exit.CONTINUE;
  };
  const fp64 = (scalarOp: boolean, f: (a: bigint, b: bigint) => bigint): number => {
    const s = src(scalarOp ? 8 : 16); if (!s || !d) return Exit.EXCEPTION;
    fpBegin(mxcsr);
    const A = lanes.u64(d), B = lanes.u64(s), R = fpOut64;
    const n = scalarOp ? 1 : 2;
    for (let i = 0; i < n; i++) R[i] = f(A[i]!, B[i]!);
    if (!fpCommit(st)) return Exit.EXCEPTION;
    for (let i = 0; i < n; i++) A[i] = R[i]!;
    return Exit.CONTINUE;
  };
  /** Run `compute` under MXCSR's exception rules; `write` its result unless an unmasked exception arose. */
  const fpDo = (compute: () => void, write: () => void): number => {
    fpBegin(mxcsr); compute();
    if (!fpCommit(st)) return Exit.EXCEPTION;
    write(); return Exit.CONTINUE;
  };

  switch (insn.mn) {
    // ---- moves
    case Mn.MOVUPS: case Mn.MOVUPD: case Mn.MOVAPS: case Mn.MOVAPD: case Mn.MOVDQU: case Mn.MOVDQA:
    case Mn.MOVNTPS: case Mn.MOVNTPD: case Mn.MOVNTDQ: case Mn.LDDQU: {
      if (dstX) { const s = src(); if (!s) return Exit.EXCEPTION; d!.set(s); return Exit.CONTINUE; }
      return writeVecMem(ctx, insn, o0, rip, st.xmm(o1.reg), 16) ? Exit.CONTINUE : Exit.EXCEPTION;
    }
    case Mn.MOVSD: case Mn.MOVSS: {
      const n = insn.mn === Mn.MOVSD ? 8 : 4;
      if (dstX) {
        const s = src(n); if (!s) return Exit.EXCEPTION;
        if (o1.kind === OpKind.MEM) d!.fill(0);
        d!.set(s.subarray(0, n));
        return Exit.CONTINUE;
      }
      return writeVecMem(ctx, insn, o0, rip, st.xmm(o1.reg), n) ? Exit.CONTINUE : Exit.EXCEPTION;
    }
    case Mn.MOVD: case Mn.MOVQ: {
      // The width comes from the GPR/memory operand (66 REX.W 0F 6E/7E is MOVQ even when named MOVD).
      const other = dstX ? o1 : o0;
      const n = other.kind === OpKind.REG && other.regClass === RegClass.XMM ? 8 : other.size === 4 ? 4 : 8;
      if (dstX) {
        const s = o1.kind === OpKind.REG && o1.regClass === RegClass.XMM ? new Uint8Array(st.xmm(o1.reg)) : src(n);
        if (!s) return Exit.EXCEPTION;
        d!.fill(0); d!.set(s.subarray(0, n));
        return Exit.CONTINUE;
      }
      const x = st.xmm(o1.reg);
      if (o0.kind === OpKind.REG && o0.regClass === RegClass.GPR) {
        const v = new DataView(x.buffer, x.byteOffset, 16).getBigUint64(0, true);
        setGprSized(st, o0.reg, o0.size, n === 4 ? v & 0xffffffffn : v);
        return Exit.CONTINUE;
      }
      return writeVecMem(ctx, insn, o0, rip, x, n) ? Exit.CONTINUE : Exit.EXCEPTION;
    }
    case Mn.MOVHPS: case Mn.MOVHPD: case Mn.MOVLPS: case Mn.MOVLPD: {
      const hi = insn.mn === Mn.MOVHPS || insn.mn === Mn.MOVHPD;
      if (dstX) { const s = src(8); if (!s) return Exit.EXCEPTION; d!.set(s.subarray(0, 8), hi ? 8 : 0); return Exit.CONTINUE; }
      const x = st.xmm(o1.reg);
      const tmp = new Uint8Array(16); tmp.set(x.subarray(hi ? 8 : 0, hi ? 16 : 8));
      return writeVecMem(ctx, insn, o0, rip, tmp, 8) ? Exit.CONTINUE : Exit.EXCEPTION;
    }
    case Mn.MOVHLPS: { const s = src(); if (!s) return Exit.EXCEPTION; d!.set(s.subarray(8, 16), 0); return Exit.CONTINUE; }
    case Mn.MOVLHPS: { const s = src(); if (!s) return Exit.EXCEPTION; d!.set(s.subarray(0, 8), 8); return Exit.CONTINUE; }
    case Mn.MOVMSKPS: case Mn.MOVMSKPD: case Mn.PMOVMSKB: {
      const x = st.xmm(o1.reg);
      let m = 0;
      if (insn.mn === Mn.PMOVMSKB) for (let i = 0; i < 16; i++) m |= ((x[i]! >> 7) & 1) << i;
      else if (insn.mn === Mn.MOVMSKPS) for (let i = 0; i < 4; i++) m |= ((x[i * 4 + 3]! >> 7) & 1) << i;
      else for (let i = 0; i < 2; i++) m |= ((x[i * 8 + 7]! >> 7) & 1) << i;
      setGprSized(st, o0.reg, o0.size, BigInt(m));
      return Exit.CONTINUE;
    }
    // ---- logic
    case Mn.PXOR: case Mn.XORPS: case Mn.XORPD: return binop('u32', (a, b) => a ^ b);
    case Mn.PAND: case Mn.ANDPS: case Mn.ANDPD: return binop('u32', (a, b) => a & b);
    case Mn.POR: case Mn.ORPS: case Mn.ORPD: return binop('u32', (a, b) => a | b);
    case Mn.PANDN: case Mn.ANDNPS: case Mn.ANDNPD: return binop('u32', (a, b) => ~a & b);
    // ---- integer
    case Mn.PADDB: return binop('u8', (a, b) => a + b);
    case Mn.PADDW: return binop('u16', (a, b) => a + b);
    case Mn.PADDD: return binop('u32', (a, b) => a + b);
    case Mn.PADDQ: return big('u64', (a, b) => a + b);
    case Mn.PSUBB: return binop('u8', (a, b) => a - b);
    case Mn.PSUBW: return binop('u16', (a, b) => a - b);
    case Mn.PSUBD: return binop('u32', (a, b) => a - b);
    case Mn.PSUBQ: return big('u64', (a, b) => a - b);
    case Mn.PADDUSB: return binop('u8', (a, b) => sat(a + b, 0, 255));
    case Mn.PADDUSW: return binop('u16', (a, b) => sat(a + b, 0, 65535));
    case Mn.PSUBUSB: return binop('u8', (a, b) => sat(a - b, 0, 255));
    case Mn.PSUBUSW: return binop('u16', (a, b) => sat(a - b, 0, 65535));
    case Mn.PADDSB: return binop('i8', (a, b) => sat(a + b, -128, 127));
    case Mn.PADDSW: return binop('i16', (a, b) => sat(a + b, -32768, 32767));
    case Mn.PSUBSB: return binop('i8', (a, b) => sat(a - b, -128, 127));
    case Mn.PSUBSW: return binop('i16', (a, b) => sat(a - b, -32768, 32767));
    case Mn.PCMPEQB: return binop('u8', (a, b) => (a === b ? 0xff : 0));
    case Mn.PCMPEQW: return binop('u16', (a, b) => (a === b ? 0xffff : 0));
    case Mn.PCMPEQD: return binop('u32', (a, b) => (a === b ? 0xffffffff : 0));
    case Mn.PCMPGTB: return binop('i8', (a, b) => (a > b ? -1 : 0));
    case Mn.PCMPGTW: return binop('i16', (a, b) => (a > b ? -1 : 0));
    case Mn.PCMPGTD: return binop('i32', (a, b) => (a > b ? -1 : 0));
    case Mn.PMINUB: return binop('u8', Math.min);
    case Mn.PMAXUB: return binop('u8', Math.max);
    case Mn.PMINSW: return binop('i16', Math.min);
    case Mn.PMAXSW: return binop('i16', Math.max);
    case Mn.PAVGB: return binop('u8', (a, b) => (a + b + 1) >> 1);
    case Mn.PAVGW: return binop('u16', (a, b) => (a + b + 1) >> 1);
    case Mn.PMULLW: return binop('i16', (a, b) => Math.imul(a, b));
    case Mn.PMULHW: return binop('i16', (a, b) => (a * b) >> 16);
    case Mn.PMULHUW: return binop('u16', (a, b) => (a * b) >>> 16);
    case Mn.PMULUDQ: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const A = lanes.u32(d), B = lanes.u32(s), R = lanes.u64(d);
      const r0 = BigInt(A[0]!) * BigInt(B[0]!), r1 = BigInt(A[2]!) * BigInt(B[2]!);
      R[0] = r0; R[1] = r1;
      return Exit.CONTINUE;
    }
    case Mn.PMADDWD: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const A = lanes.i16(d), B = lanes.i16(s), r = new Int32Array(4);
      for (let i = 0; i < 4; i++) r[i] = A[2 * i]! * B[2 * i]! + A[2 * i + 1]! * B[2 * i + 1]!;
      lanes.i32(d).set(r);
      return Exit.CONTINUE;
    }
    case Mn.PSADBW: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const r = [0, 0];
      for (let i = 0; i < 16; i++) r[i >> 3]! += Math.abs(d[i]! - s[i]!);
      const R = lanes.u64(d); R[0] = BigInt(r[0]!); R[1] = BigInt(r[1]!);
      return Exit.CONTINUE;
    }
    // ---- shifts (register/memory count or imm8)
    case Mn.PSLLW: case Mn.PSLLD: case Mn.PSLLQ: case Mn.PSRLW: case Mn.PSRLD: case Mn.PSRLQ: case Mn.PSRAW: case Mn.PSRAD: {
      let count: bigint;
      if (o1.kind === OpKind.IMM) count = BigInt(o1.imm & 0xff);
      else { const s = src(); if (!s) return Exit.EXCEPTION; count = lanes.u64(s)[0]!; }
      const x = d!;
      const w = insn.mn === Mn.PSLLW || insn.mn === Mn.PSRLW || insn.mn === Mn.PSRAW ? 16 : insn.mn === Mn.PSLLQ || insn.mn === Mn.PSRLQ ? 64 : 32;
      const left = insn.mn === Mn.PSLLW || insn.mn === Mn.PSLLD || insn.mn === Mn.PSLLQ;
      const arith = insn.mn === Mn.PSRAW || insn.mn === Mn.PSRAD;
      const q = lanes.u64(x);
      for (let lane = 0; lane < 128 / w; lane++) {
        const half = Math.floor((lane * w) / 64), sh = BigInt((lane * w) % 64), m = (1n << BigInt(w)) - 1n;
        let v = (q[half]! >> sh) & m;
        if (count >= BigInt(w)) v = arith ? ((v >> BigInt(w - 1)) ? m : 0n) : 0n;
        else if (left) v = (v << count) & m;
        else if (arith) v = BigInt.asUintN(w, BigInt.asIntN(w, v) >> count);
        else v = v >> count;
        q[half] = (q[half]! & ~(m << sh)) | (v << sh);
      }
      return Exit.CONTINUE;
    }
    case Mn.PSLLDQ: case Mn.PSRLDQ: {
      const n = Math.min(o1.imm & 0xff, 16);
      const x = d!, old = new Uint8Array(x);
      x.fill(0);
      if (insn.mn === Mn.PSLLDQ) x.set(old.subarray(0, 16 - n), n); else x.set(old.subarray(n), 0);
      return Exit.CONTINUE;
    }
    // ---- shuffles and unpacks
    case Mn.PSHUFD: case Mn.PSHUFLW: case Mn.PSHUFHW: case Mn.SHUFPS: case Mn.SHUFPD: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const imm = o2.imm & 0xff;
      if (insn.mn === Mn.PSHUFD) { const S32 = lanes.u32(s), r = new Uint32Array(4); for (let i = 0; i < 4; i++) r[i] = S32[(imm >> (2 * i)) & 3]!; lanes.u32(d).set(r); }
      else if (insn.mn === Mn.PSHUFLW) { const S16 = lanes.u16(s), r = new Uint16Array(8); r.set(S16); for (let i = 0; i < 4; i++) r[i] = S16[(imm >> (2 * i)) & 3]!; lanes.u16(d).set(r); }
      else if (insn.mn === Mn.PSHUFHW) { const S16 = lanes.u16(s), r = new Uint16Array(8); r.set(S16); for (let i = 0; i < 4; i++) r[4 + i] = S16[4 + ((imm >> (2 * i)) & 3)]!; lanes.u16(d).set(r); }
      else if (insn.mn === Mn.SHUFPS) { const D = lanes.u32(d), S32 = lanes.u32(s); const r = [D[imm & 3]!, D[(imm >> 2) & 3]!, S32[(imm >> 4) & 3]!, S32[(imm >> 6) & 3]!]; D.set(r); }
      else { const D = lanes.u64(d), S64 = lanes.u64(s); const r = [D[imm & 1]!, S64[(imm >> 1) & 1]!]; D[0] = r[0]!; D[1] = r[1]!; }
      return Exit.CONTINUE;
    }
    case Mn.PUNPCKLBW: case Mn.PUNPCKLWD: case Mn.PUNPCKLDQ: case Mn.PUNPCKLQDQ: case Mn.UNPCKLPS: case Mn.UNPCKLPD:
    case Mn.PUNPCKHBW: case Mn.PUNPCKHWD: case Mn.PUNPCKHDQ: case Mn.PUNPCKHQDQ: case Mn.UNPCKHPS: case Mn.UNPCKHPD: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const m = insn.mn;
      const w = m === Mn.PUNPCKLBW || m === Mn.PUNPCKHBW ? 1 : m === Mn.PUNPCKLWD || m === Mn.PUNPCKHWD ? 2
        : m === Mn.PUNPCKLDQ || m === Mn.PUNPCKHDQ || m === Mn.UNPCKLPS || m === Mn.UNPCKHPS ? 4 : 8;
      const high = m === Mn.PUNPCKHBW || m === Mn.PUNPCKHWD || m === Mn.PUNPCKHDQ || m === Mn.PUNPCKHQDQ || m === Mn.UNPCKHPS || m === Mn.UNPCKHPD;
      const a = new Uint8Array(d), r = new Uint8Array(16);
      const base = high ? 8 : 0;
      for (let i = 0; i < 8 / w; i++) {
        r.set(a.subarray(base + i * w, base + i * w + w), 2 * i * w);
        r.set(s.subarray(base + i * w, base + i * w + w), 2 * i * w + w);
      }
      d.set(r);
      return Exit.CONTINUE;
    }
    case Mn.PACKUSWB: case Mn.PACKSSWB: case Mn.PACKSSDW: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      if (insn.mn === Mn.PACKSSDW) {
        const A = lanes.i32(d), B = lanes.i32(s), r = new Int16Array(8);
        for (let i = 0; i < 4; i++) { r[i] = sat(A[i]!, -32768, 32767); r[4 + i] = sat(B[i]!, -32768, 32767); }
        lanes.i16(d).set(r);
      } else {
        const A = lanes.i16(d), B = lanes.i16(s), r = new Uint8Array(16);
        const lo = insn.mn === Mn.PACKUSWB ? 0 : -128, hi = insn.mn === Mn.PACKUSWB ? 255 : 127;
        for (let i = 0; i < 8; i++) { r[i] = sat(A[i]!, lo, hi) & 0xff; r[8 + i] = sat(B[i]!, lo, hi) & 0xff; }
        d.set(r);
      }
      return Exit.CONTINUE;
    }
    case Mn.PEXTRW: {
      const x = st.xmm(o1.reg);
      setGprSized(st, o0.reg, o0.size, BigInt(lanes.u16(x)[o2.imm & 7]!));
      return Exit.CONTINUE;
    }
    case Mn.PINSRW: {
      const v = o1.kind === OpKind.REG ? Number(st.gpr(o1.reg) & 0xffffn) : Number(ctx.mmu.read(linAddr(ctx, insn, o1, rip), 2, ctx.cpl) ?? -1);
      if (v < 0) return Exit.EXCEPTION;
      lanes.u16(d!)[o2.imm & 7] = v;
      return Exit.CONTINUE;
    }
    // ---- floating point, packed and scalar
    // Arithmetic on raw lane bits (mxcsr.ts, avx-fp.ts): MXCSR.RC rounding and x86 NaN rules
    // (the first source's NaN, quietened, wins; SNaN payloads survive), which JS numbers lose.
    case Mn.ADDPS: case Mn.ADDSS: return fp(4, insn.mn === Mn.ADDSS, (a, b) => op32(a, b, ADD, rc));
    case Mn.SUBPS: case Mn.SUBSS: return fp(4, insn.mn === Mn.SUBSS, (a, b) => op32(a, b, SUB, rc));
    case Mn.MULPS: case Mn.MULSS: return fp(4, insn.mn === Mn.MULSS, (a, b) => op32(a, b, MUL, rc));
    case Mn.DIVPS: case Mn.DIVSS: return fp(4, insn.mn === Mn.DIVSS, (a, b) => op32(a, b, DIV, rc));
    case Mn.MINPS: case Mn.MINSS: return fp(4, insn.mn === Mn.MINSS, (a, b) => minMax32(a, b, false));
    case Mn.MAXPS: case Mn.MAXSS: return fp(4, insn.mn === Mn.MAXSS, (a, b) => minMax32(a, b, true));
    case Mn.SQRTPS: case Mn.SQRTSS: return fp(4, insn.mn === Mn.SQRTSS, (_a, b) => sqrt32(b, rc));
    // Approximations within the SDM's 1.5 * 2^-12 (avx-fp.ts rcp32/rsqrt32); no MXCSR exceptions (SDM RCPPS).
    case Mn.RCPPS: case Mn.RCPSS: return fp(4, insn.mn === Mn.RCPSS, (_a, b) => rcp32(b));
    case Mn.RSQRTPS: case Mn.RSQRTSS: return fp(4, insn.mn === Mn.RSQRTSS, (_a, b) => rsqrt32(b));
    case Mn.ADDPD: case Mn.ADDSD: return fp64(insn.mn === Mn.ADDSD, (a, b) => op64(a, b, ADD, rc));
    case Mn.SUBPD: case Mn.SUBSD: return fp64(insn.mn === Mn.SUBSD, (a, b) => op64(a, b, SUB, rc));
    case Mn.MULPD: case Mn.MULSD: return fp64(insn.mn === Mn.MULSD, (a, b) => op64(a, b, MUL, rc));
    case Mn.DIVPD: case Mn.DIVSD: return fp64(insn.mn === Mn.DIVSD, (a, b) => op64(a, b, DIV, rc));
    case Mn.MINPD: case Mn.MINSD: return fp64(insn.mn === Mn.MINSD, (a, b) => minMax64(a, b, false));
    case Mn.MAXPD: case Mn.MAXSD: return fp64(insn.mn === Mn.MAXSD, (a, b) => minMax64(a, b, true));
    case Mn.SQRTPD: case Mn.SQRTSD: return fp64(insn.mn === Mn.SQRTSD, (_a, b) => sqrt64(b, rc));
    // CMPPS/PD/SS/SD imm8[2:0]: the predicates EQ_OQ, LT_OS, LE_OS, UNORD_Q, NEQ_UQ, NLT_US, NLE_US, ORD_Q (SDM CMPPS).
    case Mn.CMPPS: case Mn.CMPSS: return fp(4, insn.mn === Mn.CMPSS, (a, b) => (cmp32(a, b, o2.imm & 7) ? 0xffffffff : 0));
    case Mn.CMPPD: case Mn.CMPSD: return fp64(insn.mn === Mn.CMPSD, (a, b) => (cmp64(a, b, o2.imm & 7) ? 0xffffffffffffffffn : 0n));
    case Mn.COMISS: case Mn.UCOMISS: case Mn.COMISD: case Mn.UCOMISD: {
      const single = insn.mn === Mn.COMISS || insn.mn === Mn.UCOMISS;
      const s = src(single ? 4 : 8); if (!s) return Exit.EXCEPTION;
      const signalling = insn.mn === Mn.COMISS || insn.mn === Mn.COMISD;
      fpBegin(mxcsr);
      const f = single ? comis32(lanes.u32(st.xmm(o0.reg))[0]!, lanes.u32(s)[0]!, signalling)
        : comis64(lanes.u64(st.xmm(o0.reg))[0]!, lanes.u64(s)[0]!, signalling);
      if (!fpCommit(st)) return Exit.EXCEPTION;
      st.setU32(S.FL_OP, 0); st.setU64(S.FL_A, BigInt(f)); // EXPLICIT: OF SF AF cleared
      return Exit.CONTINUE;
    }
    case Mn.CVTSI2SD: case Mn.CVTSI2SS: {
      let v: bigint;
      if (o1.kind === OpKind.REG) v = regGet(st, o1);
      else { const m = ctx.mmu.read(linAddr(ctx, insn, o1, rip), o1.size, ctx.cpl); if (m === undefined) return Exit.EXCEPTION; v = m; }
      const dbl = insn.mn === Mn.CVTSI2SD;
      fpBegin(mxcsr);
      const r = intToFloatBits(BigInt.asIntN(o1.size * 8, v), dbl ? F64 : F32, rc);
      if (!fpCommit(st)) return Exit.EXCEPTION;
      if (dbl) lanes.u64(d!)[0] = r; else lanes.u32(d!)[0] = Number(r);
      return Exit.CONTINUE;
    }
    case Mn.CVTTSD2SI: case Mn.CVTSD2SI: case Mn.CVTTSS2SI: case Mn.CVTSS2SI: {
      const isD = insn.mn === Mn.CVTTSD2SI || insn.mn === Mn.CVTSD2SI;
      const s = src(isD ? 8 : 4); if (!s) return Exit.EXCEPTION;
      const v = isD ? lanes.f64(s)[0]! : lanes.f32(s)[0]!;
      const trunc = insn.mn === Mn.CVTTSD2SI || insn.mn === Mn.CVTTSS2SI;
      fpBegin(mxcsr);
      const r = fpToInt(v, o0.size, trunc ? 3 : rc, isD);
      if (!fpCommit(st)) return Exit.EXCEPTION;
      setGprSized(st, o0.reg, o0.size, r);
      return Exit.CONTINUE;
    }
    // Conversions on bits (avx-fp.ts): NaN payloads kept and quietened, MXCSR rounding and exceptions.
    case Mn.CVTSD2SS: {
      const s = src(8); if (!s || !d) return Exit.EXCEPTION;
      let r = 0;
      return fpDo(() => { r = f64ToF32Bits(lanes.u64(s)[0]!, rc); }, () => { lanes.u32(d)[0] = r; });
    }
    case Mn.CVTSS2SD: {
      const s = src(4); if (!s || !d) return Exit.EXCEPTION;
      let r = 0n;
      return fpDo(() => { r = f32ToF64Bits(lanes.u32(s)[0]!); }, () => { lanes.u64(d)[0] = r; });
    }
    case Mn.CVTDQ2PD: { const s = src(8); if (!s || !d) return Exit.EXCEPTION; const I = lanes.i32(s); const r = [I[0]!, I[1]!]; lanes.f64(d).set(r); return Exit.CONTINUE; }
    case Mn.CVTDQ2PS: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const I = lanes.i32(s), R = new Uint32Array(4);
      return fpDo(() => { for (let i = 0; i < 4; i++) R[i] = toF32Bits(I[i]!, rc); }, () => { lanes.u32(d).set(R); });
    }
    case Mn.CVTPS2PD: {
      const s = src(8); if (!s || !d) return Exit.EXCEPTION;
      const F = lanes.u32(s), R = new BigUint64Array(2);
      return fpDo(() => { R[0] = f32ToF64Bits(F[0]!); R[1] = f32ToF64Bits(F[1]!); }, () => { lanes.u64(d).set(R); });
    }
    case Mn.CVTPD2PS: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const F = lanes.u64(s), R = new Uint32Array(4);
      return fpDo(() => { R[0] = f64ToF32Bits(F[0]!, rc); R[1] = f64ToF32Bits(F[1]!, rc); }, () => { lanes.u32(d).set(R); });
    }
    case Mn.CVTTPS2DQ: case Mn.CVTPS2DQ: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const F = lanes.f32(s), R = new Uint32Array(4), mode = insn.mn === Mn.CVTTPS2DQ ? 3 : rc;
      return fpDo(() => { for (let i = 0; i < 4; i++) R[i] = Number(fpToInt(F[i]!, 4, mode, false)); }, () => { lanes.u32(d).set(R); });
    }
    // The conversions with an MMX operand (SDM CVTPI2PS, CVTPI2PD, CVTPS2PI, CVTTPS2PI, CVTPD2PI, CVTTPD2PI):
    // an MMX register operand makes the x87-to-MMX transition (TOP = 0, all tags valid); a memory source
    // does not (checked on the host with FNSTENV).
    case Mn.CVTPI2PS: case Mn.CVTPI2PD: {
      let s: Uint8Array | undefined;
      if (o1.kind === OpKind.REG && o1.regClass === RegClass.MMX) { mmxEnter(ctx); s = new Uint8Array(16); s.set(mmxReg(ctx, o1.reg)); }
      else s = src(8);
      if (!s || !d) return Exit.EXCEPTION;
      const I = lanes.i32(s);
      if (insn.mn === Mn.CVTPI2PD) { const r = [I[0]!, I[1]!]; lanes.f64(d).set(r); return Exit.CONTINUE; } // exact
      fpBegin(mxcsr);
      const r0 = toF32Bits(I[0]!, rc), r1 = toF32Bits(I[1]!, rc);
      if (!fpCommit(st)) return Exit.EXCEPTION;
      const U = lanes.u32(d); U[0] = r0; U[1] = r1; // bits 127:64 unchanged
      return Exit.CONTINUE;
    }
    case Mn.CVTPS2PI: case Mn.CVTTPS2PI: case Mn.CVTPD2PI: case Mn.CVTTPD2PI: {
      const dbl = insn.mn === Mn.CVTPD2PI || insn.mn === Mn.CVTTPD2PI;
      const mode = insn.mn === Mn.CVTTPS2PI || insn.mn === Mn.CVTTPD2PI ? 3 : rc;
      const s = src(dbl ? 16 : 8); if (!s) return Exit.EXCEPTION;
      mmxEnter(ctx);
      fpBegin(mxcsr);
      const r = new Uint8Array(8), R = new Uint32Array(r.buffer);
      for (let i = 0; i < 2; i++) R[i] = Number(fpToInt(dbl ? lanes.f64(s)[i]! : lanes.f32(s)[i]!, 4, mode, dbl));
      if (!fpCommit(st)) return Exit.EXCEPTION;
      mmxWrite(ctx, o0.reg, r);
      return Exit.CONTINUE;
    }
    case Mn.CVTTPD2DQ: case Mn.CVTPD2DQ: {
      const s = src(); if (!s || !d) return Exit.EXCEPTION;
      const F = lanes.f64(s), R = new Uint32Array(4), mode = insn.mn === Mn.CVTTPD2DQ ? 3 : rc;
      return fpDo(() => { for (let i = 0; i < 2; i++) R[i] = Number(fpToInt(F[i]!, 4, mode, true)); }, () => { lanes.u32(d).set(R); });
    }
    default: return undefined;
  }
}
