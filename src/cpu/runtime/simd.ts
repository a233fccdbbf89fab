/**
 * SIMD beyond the SSE2 baseline for the TypeScript executor: the dispatcher
 * the executor calls for every mnemonic sse.ts does not know, plus the
 * operand plumbing shared by the per-extension files (ssse3.ts, sse3.ts,
 * sse41.ts, sse42.ts, aesni.ts, pclmul.ts, sha.ts).
 *
 * Correctness first: these run in TypeScript; lowering the hot ones (PSHUFB,
 * PCMPEQ*, PTEST) to wasm v128 in the translator is left for later.
 *
 * Each handler returns Exit.CONTINUE, Exit.EXCEPTION (S.EXC_VECTOR set) or
 * undefined ("not mine", the caller raises #UD).
 */
import {
  ATTR_ALIGN16, ATTR_AVX, ATTR_MMX, Feature, Mn, OpKind, RegClass, type FeatureSet, type Instruction, type Operand,
} from '../decoder/types.js';
import { featuresFromCpuid, hasFeature } from '../decoder/features.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, S } from '../state.js';
import { Exit } from '../translate/core.js';
import { FlKind, flOp } from '../translate/flags.js';
import { VEC_GP, VEC_NM, VEC_UD } from './mmu.js';
import { linAddr, regGet, setGprSized, type OpCtx } from './ops.js';
import { execAesni } from './aesni.js';
import { execAvx } from './avx.js';
import { execPclmul } from './pclmul.js';
import { execSha } from './sha.js';
import { execSse3 } from './sse3.js';
import { execSse41 } from './sse41.js';
import { execSse42 } from './sse42.js';
import { execSsse3 } from './ssse3.js';
import { execX87 } from './x87.js';

export type SimdCtx = OpCtx;

export function simdFault(ctx: SimdCtx, vector: number, error = -1): number {
  ctx.st.setU32(S.EXC_VECTOR, vector); ctx.st.setU32(S.EXC_ERROR, error); return Exit.EXCEPTION;
}

/** Set the six status flags explicitly (the lazy record's EXPLICIT kind, as interp.ts setStatus). */
export function setStatusFlags(ctx: SimdCtx, bits: number): void {
  const st = ctx.st;
  st.setU32(S.FL_OP, flOp(FlKind.EXPLICIT, 8)); st.setU32(S.FL_AUX, 0);
  st.setU64(S.FL_A, BigInt(bits & 0x8d5)); st.setU64(S.FL_B, 0n); st.setU64(S.FL_RES, 0n);
}

/**
 * The MMX registers alias the significands of the x87 physical registers
 * R0..R7 (SDM Vol. 1 §9.5). The state keeps ST(i) slots (FXSAVE layout),
 * so MMi is slot (i - TOP) & 7; an MMX instruction sets TOP to 0 and marks
 * every tag valid (SDM Vol. 1 §9.5.1 Table 9-3), after which MMi = slot i.
 */
export function mmxEnter(ctx: SimdCtx): void {
  const st = ctx.st;
  const fsw = st.u16(S.FSW), top = (fsw >> 11) & 7;
  if (top !== 0) {
    const base = st.base + S.ST;
    const copy = st.u8.slice(base, base + 128);
    // physical Rk sits at slot (k - top) & 7; move it to slot k.
    for (let k = 0; k < 8; k++) st.u8.set(copy.subarray(((k - top) & 7) * 16, ((k - top) & 7) * 16 + 16), base + k * 16);
    st.setU16(S.FSW, fsw & ~0x3800);
  }
  st.setU16(S.FTW, 0); // full tag word: 00 = valid for all eight
}

export function mmxReg(ctx: SimdCtx, i: number): Uint8Array {
  const o = ctx.st.base + S.ST + (i & 7) * 16;
  return ctx.st.u8.subarray(o, o + 8);
}

/** Writing an MMX register sets the exponent field of its x87 register to all ones (SDM Vol. 1 §9.5.1). */
export function mmxWrite(ctx: SimdCtx, i: number, v: Uint8Array): void {
  const o = ctx.st.base + S.ST + (i & 7) * 16;
  ctx.st.u8.set(v.subarray(0, 8), o);
  ctx.st.u8[o + 8] = 0xff; ctx.st.u8[o + 9] = 0xff;
}

/**
 * Device-not-available and invalid-opcode checks every SSE/MMX-class
 * instruction makes before anything else (SDM Vol. 3 §2.5, Table 13-?:
 * CR0.EM = 1 -> #UD; CR4.OSFXSR = 0 -> #UD for SSE; CR0.TS = 1 -> #NM).
 * Returns true when execution may proceed.
 */
export function simdChecks(ctx: SimdCtx, insn: Instruction): boolean {
  const st = ctx.st;
  const mmx = (insn.attrs & ATTR_MMX) !== 0;
  if ((st.cr0 & CR0_EM) !== 0n || (!mmx && (st.cr4 & CR4_OSFXSR) === 0n)) { simdFault(ctx, VEC_UD); return false; }
  if ((st.cr0 & CR0_TS) !== 0n) { simdFault(ctx, VEC_NM); return false; }
  if (mmx) mmxEnter(ctx);
  return true;
}

/** Is this operand an MMX register (or is the instruction its MMX form)? */
export function isMmxForm(insn: Instruction): boolean { return (insn.attrs & ATTR_MMX) !== 0; }

/**
 * Read a vector operand: XMM (16 bytes), MMX (8), GPR (its low `bytes`), or
 * `bytes` from memory (alignment-checked for 16-byte legacy-SSE accesses
 * whose form requires it, SDM Vol. 1 §10.4.1.1). The result is a fresh
 * 16-byte array, zero above what was read. undefined after a fault.
 */
export function readSrc(ctx: SimdCtx, insn: Instruction, op: Operand, rip: bigint, bytes: number): Uint8Array | undefined {
  const out = new Uint8Array(16);
  if (op.kind === OpKind.REG) {
    switch (op.regClass) {
      case RegClass.XMM: out.set(ctx.st.xmm(op.reg)); return out;
      case RegClass.MMX: out.set(mmxReg(ctx, op.reg)); return out;
      case RegClass.GPR: new DataView(out.buffer).setBigUint64(0, regGet(ctx.st, op), true); return out;
      default: simdFault(ctx, VEC_UD); return undefined;
    }
  }
  if (op.kind !== OpKind.MEM) { simdFault(ctx, VEC_UD); return undefined; }
  const lin = linAddr(ctx, insn, op, rip);
  if ((insn.attrs & ATTR_ALIGN16) && bytes === 16 && (lin & 15n) !== 0n) { simdFault(ctx, VEC_GP, 0); return undefined; }
  const dv = new DataView(out.buffer);
  for (let i = 0; i < bytes;) {
    const n = bytes - i >= 8 ? 8 : bytes - i >= 4 ? 4 : bytes - i >= 2 ? 2 : 1;
    const v = ctx.mmu.read(lin + BigInt(i), n, ctx.cpl);
    if (v === undefined) return undefined;
    if (n === 8) dv.setBigUint64(i, v, true);
    else if (n === 4) dv.setUint32(i, Number(v), true);
    else if (n === 2) dv.setUint16(i, Number(v), true);
    else out[i] = Number(v);
    i += n;
  }
  return out;
}

/** Store `bytes` of `data` to a memory operand; all pages are checked before the first byte is written. */
export function writeMem(ctx: SimdCtx, insn: Instruction, op: Operand, rip: bigint, data: Uint8Array, bytes: number): boolean {
  const lin = linAddr(ctx, insn, op, rip);
  if ((insn.attrs & ATTR_ALIGN16) && bytes === 16 && (lin & 15n) !== 0n) { simdFault(ctx, VEC_GP, 0); return false; }
  if (bytes > 1 && ctx.mmu.read(lin + BigInt(bytes - 1), 1, ctx.cpl) === undefined) return false;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < bytes;) {
    const n = bytes - i >= 8 ? 8 : bytes - i >= 4 ? 4 : bytes - i >= 2 ? 2 : 1;
    const v = n === 8 ? dv.getBigUint64(i, true) : n === 4 ? BigInt(dv.getUint32(i, true)) : n === 2 ? BigInt(dv.getUint16(i, true)) : BigInt(data[i]!);
    if (!ctx.mmu.write(lin + BigInt(i), n, v, ctx.cpl)) return false;
    i += n;
  }
  return true;
}

/** The destination register of a two-operand vector instruction (XMM or MMX view into the state). */
export function destReg(ctx: SimdCtx, op: Operand): Uint8Array | undefined {
  if (op.kind !== OpKind.REG) return undefined;
  if (op.regClass === RegClass.XMM) return ctx.st.xmm(op.reg);
  if (op.regClass === RegClass.MMX) return mmxReg(ctx, op.reg);
  return undefined;
}

/** Commit a result to a vector register (MMX writes also set the x87 exponent). */
export function writeDest(ctx: SimdCtx, op: Operand, v: Uint8Array): void {
  if (op.regClass === RegClass.MMX) mmxWrite(ctx, op.reg, v);
  else ctx.st.xmm(op.reg).set(v.subarray(0, 16));
}

/** Write a GPR destination of size 4 or 8 (32-bit writes zero-extend). */
export function setGpr(ctx: SimdCtx, op: Operand, v: bigint): void {
  setGprSized(ctx.st, op.reg, op.size, v);
}

export const u32 = (b: Uint8Array): Uint32Array => new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
export const i32 = (b: Uint8Array): Int32Array => new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
export const u16 = (b: Uint8Array): Uint16Array => new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
export const i16 = (b: Uint8Array): Int16Array => new Int16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
export const i8 = (b: Uint8Array): Int8Array => new Int8Array(b.buffer, b.byteOffset, b.byteLength);
export const u64 = (b: Uint8Array): BigUint64Array => new BigUint64Array(b.buffer, b.byteOffset, b.byteLength >> 3);
export const f32 = (b: Uint8Array): Float32Array => new Float32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
export const f64 = (b: Uint8Array): Float64Array => new Float64Array(b.buffer, b.byteOffset, b.byteLength >> 3);

/**
 * Execute one SIMD instruction beyond SSE2 (the executor's fallback after
 * sse.ts). RIP is advanced by the caller on Exit.CONTINUE.
 */
export function execSimd(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  if ((insn.attrs & ATTR_AVX) !== 0) { const r = execAvx(ctx, insn, rip); if (r !== undefined) return r; }
  const need = requiredFeature(insn);
  if (need !== undefined && !guestHas(ctx, need)) return simdFault(ctx, VEC_UD);
  if (insn.mn === Mn.MOVD || insn.mn === Mn.MOVQ || insn.mn === Mn.MOVQ2DQ || insn.mn === Mn.MOVDQ2Q) {
    const r = mmxMove(ctx, insn, rip); if (r !== undefined) return r;
  }
  return execSsse3(ctx, insn, rip) ?? execSse3(ctx, insn, rip) ?? execSse41(ctx, insn, rip) ??
    execSse42(ctx, insn, rip) ?? execAesni(ctx, insn, rip) ?? execPclmul(ctx, insn, rip) ?? execSha(ctx, insn, rip) ??
    execX87(ctx, insn, rip);
}

/**
 * MOVD/MOVQ with an MMX register operand, MOVQ2DQ and MOVDQ2Q (SDM MOVD/MOVQ,
 * MOVQ2DQ, MOVDQ2Q): the MMX data moves the SSE2 executor lacks.
 * undefined when no operand is an MMX register (sse.ts handles those).
 */
function mmxMove(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const isMmx = (o: Operand): boolean => o.kind === OpKind.REG && o.regClass === RegClass.MMX;
  if (!isMmx(o0) && !isMmx(o1)) return undefined;
  if (!simdChecks(ctx, insn)) return Exit.EXCEPTION;
  if (insn.mn === Mn.MOVQ2DQ) { // XMM <- MMX, upper quadword zeroed
    const v = new Uint8Array(16); v.set(mmxReg(ctx, o1.reg)); ctx.st.xmm(o0.reg).set(v); return Exit.CONTINUE;
  }
  // MOVD/MOVQ: the GPR or memory operand's size is the width (4 or 8); MMX <-> MMX is 8.
  const other = isMmx(o0) ? o1 : o0;
  const n = other.kind === OpKind.REG && (other.regClass === RegClass.MMX || other.regClass === RegClass.XMM) ? 8 : other.size === 4 ? 4 : 8;
  if (isMmx(o0)) {
    const s = readSrc(ctx, insn, o1, rip, n); if (!s) return Exit.EXCEPTION;
    if (n === 4) s.fill(0, 4);
    mmxWrite(ctx, o0.reg, s);
    return Exit.CONTINUE;
  }
  const v = new Uint8Array(16); v.set(mmxReg(ctx, o1.reg));
  if (o0.kind === OpKind.REG && o0.regClass === RegClass.GPR) {
    setGprSized(ctx.st, o0.reg, o0.size, new DataView(v.buffer).getBigUint64(0, true) & (n === 4 ? 0xffffffffn : 0xffffffffffffffffn));
    return Exit.CONTINUE;
  }
  if (o0.kind === OpKind.REG && o0.regClass === RegClass.XMM) { ctx.st.xmm(o0.reg).set(v); return Exit.CONTINUE; }
  return writeMem(ctx, insn, o0, rip, v, n) ? Exit.CONTINUE : Exit.EXCEPTION;
}

/** The CPUID feature each mnemonic handled here belongs to (SDM Vol. 2, each page's "CPUID Feature Flag"). */
const FEATURE_OF = new Map<Mn, Feature>();
{
  const put = (f: Feature, ...mns: Mn[]): void => { for (const m of mns) FEATURE_OF.set(m, f); };
  put(Feature.SSE3, Mn.ADDSUBPS, Mn.ADDSUBPD, Mn.HADDPS, Mn.HADDPD, Mn.HSUBPS, Mn.HSUBPD, Mn.MOVDDUP, Mn.MOVSHDUP,
    Mn.MOVSLDUP, Mn.FISTTP);
  put(Feature.SSSE3, Mn.PSHUFB, Mn.PHADDW, Mn.PHADDD, Mn.PHADDSW, Mn.PMADDUBSW, Mn.PHSUBW, Mn.PHSUBD, Mn.PHSUBSW,
    Mn.PSIGNB, Mn.PSIGNW, Mn.PSIGND, Mn.PMULHRSW, Mn.PABSB, Mn.PABSW, Mn.PABSD, Mn.PALIGNR);
  put(Feature.SSE4_1, Mn.PBLENDVB, Mn.BLENDVPS, Mn.BLENDVPD, Mn.PTEST, Mn.PMULDQ, Mn.PCMPEQQ, Mn.MOVNTDQA, Mn.PACKUSDW,
    Mn.PMINSB, Mn.PMINSD, Mn.PMINUW, Mn.PMINUD, Mn.PMAXSB, Mn.PMAXSD, Mn.PMAXUW, Mn.PMAXUD, Mn.PMULLD, Mn.PHMINPOSUW,
    Mn.ROUNDPS, Mn.ROUNDPD, Mn.ROUNDSS, Mn.ROUNDSD, Mn.BLENDPS, Mn.BLENDPD, Mn.PBLENDW, Mn.PEXTRB, Mn.PEXTRD, Mn.PEXTRQ,
    Mn.EXTRACTPS, Mn.PINSRB, Mn.INSERTPS, Mn.PINSRD, Mn.PINSRQ, Mn.DPPS, Mn.DPPD, Mn.MPSADBW,
    Mn.PMOVSXBW, Mn.PMOVSXBD, Mn.PMOVSXBQ, Mn.PMOVSXWD, Mn.PMOVSXWQ, Mn.PMOVSXDQ,
    Mn.PMOVZXBW, Mn.PMOVZXBD, Mn.PMOVZXBQ, Mn.PMOVZXWD, Mn.PMOVZXWQ, Mn.PMOVZXDQ);
  put(Feature.SSE4_2, Mn.CRC32, Mn.PCMPGTQ, Mn.PCMPESTRI, Mn.PCMPESTRI64, Mn.PCMPESTRM, Mn.PCMPESTRM64, Mn.PCMPISTRI,
    Mn.PCMPISTRM);
  put(Feature.AES, Mn.AESENC, Mn.AESENCLAST, Mn.AESDEC, Mn.AESDECLAST, Mn.AESIMC, Mn.AESKEYGENASSIST);
  put(Feature.PCLMULQDQ, Mn.PCLMULQDQ);
  put(Feature.SHA, Mn.SHA1RNDS4, Mn.SHA1NEXTE, Mn.SHA1MSG1, Mn.SHA1MSG2, Mn.SHA256RNDS2, Mn.SHA256MSG1, Mn.SHA256MSG2);
}

function requiredFeature(insn: Instruction): Feature | undefined {
  if (insn.mn === Mn.PEXTRW && insn.ops[0]!.kind === OpKind.MEM) return Feature.SSE4_1;
  return FEATURE_OF.get(insn.mn);
}

/** What the executor's system side offers for CPUID (runtime/system-ops.ts). */
interface HasCpuid { sys: { cpuid(): void } }

const guestFeatureCache = new WeakMap<object, FeatureSet>();

/**
 * The features this vCPU's CPUID reports, so that an extension switched off
 * with `-cpu model,-feat` (or absent from the model) raises #UD even though
 * the translator's decoder accepts every implemented extension. Read once
 * per vCPU through the executor's own CPUID (registers saved and restored).
 * Without a system side (bare executor tests) everything implemented is on.
 */
export function guestHasFeature(ctx: SimdCtx, f: Feature): boolean { return guestHas(ctx, f); }

function guestHas(ctx: SimdCtx, f: Feature): boolean {
  const sys = (ctx as Partial<HasCpuid>).sys;
  if (!sys) return true;
  let set = guestFeatureCache.get(sys);
  if (!set) {
    const st = ctx.st;
    const saved = [st.gpr(0), st.gpr(1), st.gpr(2), st.gpr(3)] as const;
    set = featuresFromCpuid((leaf, subleaf) => {
      st.setGpr(0, BigInt(leaf >>> 0)); st.setGpr(1, BigInt(subleaf >>> 0));
      sys.cpuid();
      return { eax: st.gpr32(0), ebx: st.gpr32(3), ecx: st.gpr32(1), edx: st.gpr32(2) };
    });
    st.setGpr(0, saved[0]); st.setGpr(1, saved[1]); st.setGpr(2, saved[2]); st.setGpr(3, saved[3]);
    guestFeatureCache.set(sys, set);
  }
  return hasFeature(set, f);
}
