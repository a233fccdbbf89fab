/**
 * AVX and AVX2 (VEX-encoded SIMD) for the TypeScript executor: the VEX
 * checks, YMM register access, and the dispatcher `execAvx` that simd.ts
 * calls for every ATTR_AVX instruction.
 *
 * Most VEX instructions are their legacy SSE operation with a
 * non-destructive first source (dst = op(src1 = VEX.vvvv, src2 = r/m)),
 * bits 255:128 of the destination zeroed for VEX.128 (SDM Vol. 1 §14.1.2
 * and Vol. 2 §2.3.10), and the 256-bit form applies the 128-bit operation
 * to each 128-bit lane independently. Element-wise integer and bitwise
 * operations run over the whole vector at once (avx-int.ts); for the rest,
 * `lift` runs the existing,
 * differential-tested legacy handler (sse.ts, sse3.ts, ssse3.ts, sse41.ts,
 * sse42.ts, aesni.ts, pclmul.ts) on scratch registers XMM0..2, once per
 * lane, and restores them afterwards. Element-wise floating point (with
 * MXCSR.RC) is in avx-fp.ts; cross-lane and AVX-only operations are written
 * out here (avx2.ts: permutes, variable shifts, masked moves, gathers).
 *
 * Exceptions (SDM Vol. 2 §2.4, Table 2-21 and the type 1..7 tables; Vol. 1
 * §13.5.3): #UD unless CR4.OSXSAVE = 1 and XCR0[2:1] = 11b; #NM when CR0.TS
 * = 1. CR0.EM and CR4.OSFXSR do not apply to VEX forms. Only the explicitly
 * aligned forms (VMOVAPS/VMOVAPD/VMOVDQA/VMOVNT*) need natural alignment
 * (16 or 32 bytes); every other VEX memory operand may be unaligned.
 */
import {
  ACCESS_WRITE, ATTR_ALIGN16, ATTR_SSE, Instruction, Mn, MN_NAMES, OpKind, RegClass, type Feature, type Operand,
} from '../decoder/types.js';
import { FORMS } from '../decoder/decoder.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXSAVE, S, type CpuState } from '../state.js';
import { Exit } from '../translate/core.js';
import { Access, VEC_GP, VEC_NM, VEC_UD } from './mmu.js';
import { linAddr, regGet } from './ops.js';
import { execAesni } from './aesni.js';
import { execPclmul } from './pclmul.js';
import { execSse } from './sse.js';
import { execSse3 } from './sse3.js';
import { execSse41 } from './sse41.js';
import { execSse42 } from './sse42.js';
import { execSsse3 } from './ssse3.js';
import { guestHasFeature, setStatusFlags, simdFault, type SimdCtx } from './simd.js';
import { comis32, comis64, execAvxFp } from './avx-fp.js';
import { fpBegin, fpCommit, fpEnterLanes, fpLeaveLanes } from './mxcsr.js';
import { execAvxInt } from './avx-int.js';
import { execAvx2 } from './avx2.js';
import { execFma } from './fma.js';
import { execF16c } from './f16c.js';

// ---- YMM registers -----------------------------------------------------------------------------

/** Bits 255:128 of YMMi (state.ts S.YMMH; bits 127:0 are XMMi). */
export function ymmHi(st: CpuState, i: number): Uint8Array {
  const o = st.base + S.YMMH + (i & 15) * 16;
  return st.u8.subarray(o, o + 16);
}

/** Copy YMMi into out[at, at + 32) (no allocation: this is on every VEX instruction's path). */
export function copyYmmInto(st: CpuState, i: number, out: Uint8Array, at = 0): void {
  const u8 = st.u8, lo = st.base + S.XMM + (i & 15) * 16, hi = st.base + S.YMMH + (i & 15) * 16;
  for (let k = 0; k < 16; k++) { out[at + k] = u8[lo + k]!; out[at + 16 + k] = u8[hi + k]!; }
}

/** A fresh 32-byte copy of YMMi. */
export function readYmm(st: CpuState, i: number): Uint8Array {
  const v = new Uint8Array(32);
  copyYmmInto(st, i, v);
  return v;
}

/**
 * Write a VEX destination register: `bytes` = 16 writes XMMi and zeroes bits
 * 255:128 (VEX.128), 32 writes all of YMMi.
 */
export function writeYmm(st: CpuState, i: number, v: Uint8Array, bytes: number): void {
  const u8 = st.u8, lo = st.base + S.XMM + (i & 15) * 16, hi = st.base + S.YMMH + (i & 15) * 16;
  for (let k = 0; k < 16; k++) u8[lo + k] = v[k]!;
  if (bytes === 32) for (let k = 0; k < 16; k++) u8[hi + k] = v[16 + k]!;
  else for (let k = 0; k < 16; k++) u8[hi + k] = 0;
}

export const isVecReg = (o: Operand): boolean =>
  o.kind === OpKind.REG && (o.regClass === RegClass.XMM || o.regClass === RegClass.YMM);

/** Width in bytes of a vector register operand (16 XMM, 32 YMM). */
export const vecBytes = (o: Operand): number => (o.regClass === RegClass.YMM ? 32 : 16);

// ---- memory -------------------------------------------------------------------------------------

/** Alignment the operand needs: the aligned forms require natural alignment of the whole access. */
function misaligned(insn: Instruction, lin: bigint, bytes: number): boolean {
  return (insn.attrs & ATTR_ALIGN16) !== 0 && bytes >= 16 && (lin & BigInt(bytes - 1)) !== 0n;
}

/** Read `bytes` (1..32) at a linear address into `out` at `at`; false after a fault. */
export function readLin(ctx: SimdCtx, lin: bigint, bytes: number, out: Uint8Array, at = 0): boolean {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < bytes;) {
    const n = bytes - i >= 8 ? 8 : bytes - i >= 4 ? 4 : bytes - i >= 2 ? 2 : 1;
    const v = ctx.mmu.read(lin + BigInt(i), n, ctx.cpl);
    if (v === undefined) return false;
    if (n === 8) dv.setBigUint64(at + i, v, true);
    else if (n === 4) dv.setUint32(at + i, Number(v), true);
    else if (n === 2) dv.setUint16(at + i, Number(v), true);
    else out[at + i] = Number(v);
    i += n;
  }
  return true;
}

/** Write `bytes` of `data` at a linear address; nothing is written when any byte's page faults. */
export function writeLin(ctx: SimdCtx, lin: bigint, bytes: number, data: Uint8Array, at = 0): boolean {
  // Within one page the first store faults before anything is written; across pages check both first.
  if (Number(lin & 0xfffn) + bytes > 4096) {
    if (ctx.mmu.translate(lin, Access.WRITE, ctx.cpl) < 0) return false;
    if (ctx.mmu.translate(lin + BigInt(bytes - 1), Access.WRITE, ctx.cpl) < 0) return false;
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < bytes;) {
    const n = bytes - i >= 8 ? 8 : bytes - i >= 4 ? 4 : bytes - i >= 2 ? 2 : 1;
    const v = n === 8 ? dv.getBigUint64(at + i, true) : n === 4 ? BigInt(dv.getUint32(at + i, true))
      : n === 2 ? BigInt(dv.getUint16(at + i, true)) : BigInt(data[at + i]!);
    if (!ctx.mmu.write(lin + BigInt(i), n, v, ctx.cpl)) return false;
    i += n;
  }
  return true;
}

/**
 * Read a source operand into a fresh 32-byte array (zero above what was
 * read): XMM 16 bytes, YMM 32, a GPR its 8, memory `bytes` (default: the
 * operand's size). undefined after a fault.
 */
export function readVecOp(ctx: SimdCtx, insn: Instruction, op: Operand, rip: bigint, bytes = op.size): Uint8Array | undefined {
  const out = new Uint8Array(32);
  return readVecInto(ctx, insn, op, rip, out, bytes) ? out : undefined;
}

/** readVecOp into a caller's 32-byte buffer (zero-filled first); false after a fault. */
export function readVecInto(ctx: SimdCtx, insn: Instruction, op: Operand, rip: bigint, out: Uint8Array, bytes = op.size): boolean {
  out.fill(0);
  if (op.kind === OpKind.REG) {
    if (op.regClass === RegClass.YMM) { copyYmmInto(ctx.st, op.reg, out); return true; }
    if (op.regClass === RegClass.XMM) {
      const u8 = ctx.st.u8, lo = ctx.st.base + S.XMM + (op.reg & 15) * 16;
      for (let k = 0; k < 16; k++) out[k] = u8[lo + k]!;
      return true;
    }
    if (op.regClass === RegClass.GPR) { new DataView(out.buffer, out.byteOffset).setBigUint64(0, regGet(ctx.st, op), true); return true; }
    simdFault(ctx, VEC_UD); return false;
  }
  if (op.kind !== OpKind.MEM) { simdFault(ctx, VEC_UD); return false; }
  const lin = linAddr(ctx, insn, op, rip);
  if (misaligned(insn, lin, bytes)) { simdFault(ctx, VEC_GP, 0); return false; }
  return readLin(ctx, lin, bytes, out);
}

/** Store `bytes` of `data` to a memory operand (alignment-checked for the aligned forms). */
export function writeVecMem(ctx: SimdCtx, insn: Instruction, op: Operand, rip: bigint, data: Uint8Array, bytes: number): boolean {
  const lin = linAddr(ctx, insn, op, rip);
  if (misaligned(insn, lin, bytes)) { simdFault(ctx, VEC_GP, 0); return false; }
  return writeLin(ctx, lin, bytes, data);
}

/** Write a vector result to the destination operand: a register (VEX.128 zeroes 255:128) or memory. */
export function writeVecDest(ctx: SimdCtx, insn: Instruction, op: Operand, rip: bigint, v: Uint8Array, bytes: number): number {
  if (op.kind === OpKind.REG) { writeYmm(ctx.st, op.reg, v, bytes); return Exit.CONTINUE; }
  return writeVecMem(ctx, insn, op, rip, v, bytes) ? Exit.CONTINUE : Exit.EXCEPTION;
}

// ---- checks -----------------------------------------------------------------------------------

/**
 * The checks every VEX-encoded instruction makes (SDM Vol. 2 §2.4 Table 2-21
 * and Vol. 1 §13.5.3): the CPUID features of the form (decoder table), then
 * #UD unless CR4.OSXSAVE = 1 and XCR0 enables SSE and AVX state (bits 1
 * and 2), then #NM when CR0.TS = 1.
 */
function avxChecks(ctx: SimdCtx, insn: Instruction): boolean {
  const form = FORMS[insn.form];
  if (form) {
    if ((form.feat1 >= 0 && !guestHasFeature(ctx, form.feat1 as Feature)) ||
      (form.feat2 >= 0 && !guestHasFeature(ctx, form.feat2 as Feature))) { simdFault(ctx, VEC_UD); return false; }
  }
  const st = ctx.st;
  if ((st.cr4 & CR4_OSXSAVE) === 0n || (st.u64(S.XCR0) & 6n) !== 6n) { simdFault(ctx, VEC_UD); return false; }
  if ((st.cr0 & CR0_TS) !== 0n) { simdFault(ctx, VEC_NM); return false; }
  return true;
}

// ---- the lift onto the legacy SSE handlers ------------------------------------------------------

/** VEX mnemonic -> the legacy SSE mnemonic of the same operation (VADDSUBPS -> ADDSUBPS, ...). */
const LEGACY = new Map<Mn, Mn>();
{
  const byName = Mn as unknown as Record<string, Mn>;
  for (const [name, v] of Object.entries(byName)) {
    if (!name.startsWith('V')) continue;
    const legacy = byName[name.slice(1)];
    if (legacy !== undefined) LEGACY.set(v, legacy);
  }
}

/** Shift-by-immediate forms: VEX.vvvv is the destination, ModRM.rm the source (SDM "VEX.NDD"). */
const SHIFT_IMM = new Set<Mn>([Mn.PSRLW, Mn.PSRAW, Mn.PSLLW, Mn.PSRLD, Mn.PSRAD, Mn.PSLLD, Mn.PSRLQ, Mn.PSRLDQ,
  Mn.PSLLQ, Mn.PSLLDQ]);

/** The blends whose mask is XMM0 in the legacy form and the is4 register (imm8[7:4]) in the VEX form. */
const BLENDV = new Set<Mn>([Mn.BLENDVPS, Mn.BLENDVPD, Mn.PBLENDVB]);

/**
 * The 256-bit forms' immediate for lane 1: where the immediate holds one bit
 * per element (VBLENDPS/PD, VSHUFPD) or one field per lane (VMPSADBW
 * imm8[5:3]) the upper lane uses the next bits; else the same imm8
 * (SDM: VSHUFPS, VPSHUFD, VPALIGNR, VPBLENDW, VDPPS, VROUNDPS...).
 */
function laneImm(mn: Mn, imm: number, lane: number): number {
  if (lane === 0) return imm;
  switch (mn) {
    case Mn.BLENDPS: return imm >> 4;
    case Mn.BLENDPD: case Mn.SHUFPD: return imm >> 2;
    case Mn.MPSADBW: return imm >> 3;
    default: return imm;
  }
}

const fake = new Instruction();

function copyOperand(d: Operand, s: Operand): void {
  d.kind = s.kind; d.size = s.size; d.access = s.access; d.regClass = s.regClass; d.reg = s.reg; d.highByte = s.highByte;
  d.seg = s.seg; d.base = s.base; d.index = s.index; d.scale = s.scale; d.disp = s.disp; d.dispHi = s.dispHi;
  d.addrSize = s.addrSize; d.vsib = s.vsib; d.imm = s.imm; d.immHi = s.immHi; d.sel = s.sel;
}

type LegacyExec = (ctx: SimdCtx, insn: Instruction, rip: bigint) => number | undefined;
const LEGACY_EXECS: readonly LegacyExec[] = [execSsse3, execSse3, execSse41, execSse42, execAesni, execPclmul, execSse];
/**
 * The legacy executor that took each mnemonic and operand shape (they return
 * undefined, with no effect, for forms not theirs; PEXTRW to memory is
 * SSE4.1's, to a register SSE2's, so the operand kinds are part of the key).
 */
const legacyExecOf = new Map<number, LegacyExec>();

function runLegacy(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const key = insn.mn * 64 + insn.ops[0]!.kind * 8 + insn.ops[1]!.kind;
  const known = legacyExecOf.get(key);
  if (known) return known(ctx, insn, rip);
  for (const f of LEGACY_EXECS) {
    const r = f(ctx, insn, rip);
    if (r !== undefined) { legacyExecOf.set(key, f); return r; }
  }
  return undefined;
}

/**
 * Run a VEX instruction as its legacy SSE operation `legacy` (see the module
 * comment). Vector register sources go to scratch XMM1/XMM2 (the first is
 * the legacy destination, loaded with VEX.vvvv when there is one), a
 * VEX.is4 blend mask to XMM0; GPR, immediate and (for 128-bit forms)
 * memory operands are passed through unchanged, so the legacy handler
 * reads exactly what the instruction reads. 256-bit forms read their
 * memory operand first and run the legacy operation once per lane.
 */
function lift(ctx: SimdCtx, insn: Instruction, rip: bigint, legacy: Mn): number {
  const st = ctx.st, ops = insn.ops, n = insn.opCount;
  const form = FORMS[insn.form];
  const hasVvvv = form !== undefined && !form.vvvvUnused;
  let lanes = 1;
  for (let i = 0; i < n; i++) {
    const o = ops[i]!;
    if ((o.kind === OpKind.REG && o.regClass === RegClass.YMM) || (o.kind === OpKind.MEM && o.size === 32)) lanes = 2;
  }
  // The operands the legacy form sees, in order.
  let list: Operand[];
  let dst: Operand | undefined;
  let mask: Operand | undefined;
  if (hasVvvv && SHIFT_IMM.has(legacy)) { dst = ops[0]; list = [ops[1]!, ops[2]!]; }
  else if (hasVvvv && n >= 2 && isVecReg(ops[0]!) && isVecReg(ops[1]!)) {
    dst = ops[0]; list = [];
    for (let i = 1; i < n; i++) list.push(ops[i]!);
    if (BLENDV.has(legacy)) mask = list.pop();
  } else {
    list = [];
    for (let i = 0; i < n; i++) list.push(ops[i]!);
    if (isVecReg(ops[0]!) && (ops[0]!.access & ACCESS_WRITE) !== 0) dst = ops[0];
  }
  // Collect the data of the vector operands (and of memory operands when running per lane).
  const data: Array<Uint8Array | undefined> = [];
  const perLane: boolean[] = [];
  let scratch = 1;
  fake.mode = insn.mode; fake.length = insn.length; fake.mn = legacy; fake.form = insn.form;
  fake.opSize = insn.opSize; fake.addrSize = insn.addrSize; fake.prefixes = 0; fake.segPrefix = insn.segPrefix;
  fake.rep = 0; fake.rex = 0; fake.attrs = ATTR_SSE; fake.opCount = list.length; fake.implicitCount = 0;
  for (let i = 0; i < list.length; i++) {
    const o = list[i]!, f = fake.ops[i]!;
    copyOperand(f, o);
    if (isVecReg(o) || (o.kind === OpKind.MEM && lanes === 2)) {
      const v = readVecOp(ctx, insn, o, rip); if (!v) return Exit.EXCEPTION;
      data.push(v); perLane.push(o.size === 32);
      f.kind = OpKind.REG; f.regClass = RegClass.XMM; f.reg = scratch++; f.size = 16;
    } else { data.push(undefined); perLane.push(false); }
  }
  const maskData = mask ? readYmm(st, mask.reg) : undefined;
  let imm = 0, immOp: Operand | undefined;
  for (let i = 0; i < list.length; i++) if (list[i]!.kind === OpKind.IMM) { imm = list[i]!.imm; immOp = fake.ops[i]; }
  const saved = new Uint8Array(48);
  for (let r = 0; r < 3; r++) saved.set(st.xmm(r), r * 16);
  const cr0 = st.cr0, cr4 = st.cr4;
  const result = new Uint8Array(32);
  let xmm0Out: Uint8Array | undefined;
  let r: number | undefined = Exit.CONTINUE;
  st.cr0 = cr0 & ~CR0_EM; st.cr4 = cr4 | CR4_OSFXSR; // the legacy handlers' SSE checks; VEX ignores both bits
  // FP lanes accumulate their MXCSR exceptions; the instruction commits once (mxcsr.ts), so an unmasked
  // exception in either lane leaves the whole destination unchanged.
  if (lanes === 2) fpEnterLanes(st.u32(S.MXCSR));
  for (let lane = 0; lane < lanes && r === Exit.CONTINUE; lane++) {
    for (let i = 0; i < list.length; i++) {
      const d = data[i];
      if (d) st.xmm(fake.ops[i]!.reg).set(d.subarray(perLane[i] ? lane * 16 : 0, (perLane[i] ? lane * 16 : 0) + 16));
    }
    if (maskData) st.xmm(0).set(maskData.subarray(lane * 16, lane * 16 + 16));
    if (immOp) immOp.imm = laneImm(legacy, imm, lane);
    try { r = runLegacy(ctx, fake, rip); } catch (e) { fpLeaveLanes(st, false); throw e; } // never leave the lane mode on
    if (r === Exit.CONTINUE) {
      result.set(st.xmm(1), lane * 16);
      if (legacy === Mn.PCMPESTRM || legacy === Mn.PCMPESTRM64 || legacy === Mn.PCMPISTRM) xmm0Out = new Uint8Array(st.xmm(0));
    }
  }
  st.cr0 = cr0; st.cr4 = cr4;
  for (let k = 0; k < 3; k++) st.xmm(k).set(saved.subarray(k * 16, k * 16 + 16));
  if (lanes === 2 && !fpLeaveLanes(st, r === Exit.CONTINUE)) return Exit.EXCEPTION;
  if (r === undefined) return simdFault(ctx, VEC_UD);
  if (r !== Exit.CONTINUE) return r;
  if (dst) writeYmm(st, dst.reg, result, lanes * 16);
  if (xmm0Out) writeYmm(st, 0, xmm0Out, 16);
  return Exit.CONTINUE;
}

// ---- moves and the other AVX forms written out here -----------------------------------------------

/** Full-width moves (VMOVUPS, VMOVAPS, VMOVDQU, VMOVDQA, VMOVNTxx, VLDDQU, VMOVNTDQA): reg or memory both ways. */
const FULL_MOVES = new Set<Mn>([Mn.VMOVUPS, Mn.VMOVUPD, Mn.VMOVAPS, Mn.VMOVAPD, Mn.VMOVDQU, Mn.VMOVDQA, Mn.VMOVNTPS,
  Mn.VMOVNTPD, Mn.VMOVNTDQ, Mn.VLDDQU, Mn.VMOVNTDQA]);

const moveBuf = new Uint8Array(32);

function execAvxOwn(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const st = ctx.st, o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  if (FULL_MOVES.has(insn.mn)) {
    const bytes = isVecReg(o0) ? vecBytes(o0) : vecBytes(o1);
    if (!readVecInto(ctx, insn, o1, rip, moveBuf, bytes)) return Exit.EXCEPTION;
    return writeVecDest(ctx, insn, o0, rip, moveBuf, bytes);
  }
  switch (insn.mn) {
    case Mn.VMOVSS: case Mn.VMOVSD: { // SDM MOVSS/MOVSD, VEX forms
      const n = insn.mn === Mn.VMOVSS ? 4 : 8;
      if (insn.opCount === 3) { // register merge: low element of the last operand, bits 127:n*8 of VEX.vvvv
        if (!readVecInto(ctx, insn, insn.ops[1]!, rip, moveBuf)) return Exit.EXCEPTION;
        const u8 = st.u8, src = st.base + S.XMM + (insn.ops[2]!.reg & 15) * 16;
        for (let k = 0; k < n; k++) moveBuf[k] = u8[src + k]!;
        writeYmm(st, o0.reg, moveBuf, 16);
        return Exit.CONTINUE;
      }
      if (isVecReg(o0)) { // load, zero-extended
        if (!readVecInto(ctx, insn, o1, rip, moveBuf, n)) return Exit.EXCEPTION;
        writeYmm(st, o0.reg, moveBuf, 16);
        return Exit.CONTINUE;
      }
      copyYmmInto(st, o1.reg, moveBuf);
      return writeVecMem(ctx, insn, o0, rip, moveBuf, n) ? Exit.CONTINUE : Exit.EXCEPTION;
    }
    case Mn.VMOVD: case Mn.VMOVQ: { // SDM MOVD/MOVQ: the GPR or memory operand's size is the width; XMM to XMM is 8
      const other = isVecReg(o0) ? o1 : o0;
      const n = isVecReg(other) ? 8 : other.size === 4 ? 4 : 8;
      if (isVecReg(o0)) {
        if (!readVecInto(ctx, insn, o1, rip, moveBuf, n)) return Exit.EXCEPTION;
        moveBuf.fill(0, n);
        writeYmm(st, o0.reg, moveBuf, 16);
        return Exit.CONTINUE;
      }
      copyYmmInto(st, o1.reg, moveBuf);
      if (o0.kind === OpKind.REG) {
        const v = new DataView(moveBuf.buffer).getBigUint64(0, true);
        st.setGpr(o0.reg, n === 4 ? v & 0xffffffffn : v); // 32-bit GPR writes zero-extend
        return Exit.CONTINUE;
      }
      return writeVecMem(ctx, insn, o0, rip, moveBuf, n) ? Exit.CONTINUE : Exit.EXCEPTION;
    }
    case Mn.VCOMISS: case Mn.VUCOMISS: case Mn.VCOMISD: case Mn.VUCOMISD: { // SDM COMISS: ZF,PF,CF; OF,SF,AF cleared
      const d = insn.mn === Mn.VCOMISD || insn.mn === Mn.VUCOMISD;
      const signalling = insn.mn === Mn.VCOMISS || insn.mn === Mn.VCOMISD;
      copyYmmInto(st, o0.reg, moveBuf);
      const mv = new DataView(moveBuf.buffer);
      const a = d ? mv.getBigUint64(0, true) : mv.getUint32(0, true);
      if (!readVecInto(ctx, insn, o1, rip, moveBuf, d ? 8 : 4)) return Exit.EXCEPTION;
      fpBegin(st.u32(S.MXCSR));
      const f = d ? comis64(a as bigint, mv.getBigUint64(0, true), signalling) : comis32(a as number, mv.getUint32(0, true), signalling);
      if (!fpCommit(st)) return Exit.EXCEPTION;
      setStatusFlags(ctx, f);
      return Exit.CONTINUE;
    }
    case Mn.VZEROUPPER: // SDM VZEROUPPER: bits 255:128 of YMM0..15 (every register in 64-bit mode) cleared
      for (let i = 0; i < 16; i++) ymmHi(st, i).fill(0);
      return Exit.CONTINUE;
    case Mn.VZEROALL:
      for (let i = 0; i < 16; i++) { st.xmm(i).fill(0); ymmHi(st, i).fill(0); }
      return Exit.CONTINUE;
    case Mn.VLDMXCSR: case Mn.VSTMXCSR: { // SDM LDMXCSR: reserved bits set -> #GP(0)
      const lin = linAddr(ctx, insn, o0, rip);
      if (insn.mn === Mn.VSTMXCSR) return ctx.mmu.write(lin, 4, BigInt(st.u32(S.MXCSR)), ctx.cpl) ? Exit.CONTINUE : Exit.EXCEPTION;
      const v = ctx.mmu.read(lin, 4, ctx.cpl); if (v === undefined) return Exit.EXCEPTION;
      if (v & ~0xffffn) return simdFault(ctx, VEC_GP, 0);
      st.setU32(S.MXCSR, Number(v));
      return Exit.CONTINUE;
    }
    case Mn.VMOVMSKPS: case Mn.VMOVMSKPD: case Mn.VPMOVMSKB: {
      const v = readYmm(st, o1.reg), bytes = vecBytes(o1);
      const step = insn.mn === Mn.VPMOVMSKB ? 1 : insn.mn === Mn.VMOVMSKPS ? 4 : 8;
      let m = 0;
      for (let i = 0; i < bytes / step; i++) m |= ((v[i * step + step - 1]! >> 7) & 1) << i;
      st.setGpr(o0.reg, BigInt(m >>> 0)); // 32/64-bit GPR destination, zero-extended
      return Exit.CONTINUE;
    }
    case Mn.VMASKMOVDQU: { // SDM MASKMOVDQU: byte i of xmm1 stored to DS:rDI+i when bit 7 of xmm2 byte i is set
      const src = st.xmm(o0.reg), m = st.xmm(o1.reg);
      const di = insn.implicit[0]!;
      const lin = linAddr(ctx, insn, di, rip);
      for (let i = 0; i < 16; i++) {
        if ((m[i]! & 0x80) && !ctx.mmu.write(lin + BigInt(i), 1, BigInt(src[i]!), ctx.cpl)) return Exit.EXCEPTION;
      }
      return Exit.CONTINUE;
    }
    default: return undefined;
  }
}

/**
 * Execute one VEX-encoded SIMD instruction (called by simd.ts for ATTR_AVX
 * forms). undefined for VEX forms that are not SIMD (BMI1/BMI2: interp.ts).
 */
export function execAvx(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  if (!AVX_MNEMONICS.has(insn.mn)) return undefined;
  if (!avxChecks(ctx, insn)) return Exit.EXCEPTION;
  const r = execAvxInt(ctx, insn, rip) ?? execAvxOwn(ctx, insn, rip) ?? execAvxFp(ctx, insn, rip) ?? execAvx2(ctx, insn, rip) ??
    execFma(ctx, insn, rip) ?? execF16c(ctx, insn, rip);
  if (r !== undefined) return r;
  const legacy = LEGACY.get(insn.mn);
  if (legacy !== undefined) return lift(ctx, insn, rip, legacy);
  return simdFault(ctx, VEC_UD);
}

/** Every VEX SIMD mnemonic (names starting with V that the decoder's VEX table produces). */
const AVX_MNEMONICS = new Set<Mn>();
{
  const byName = Mn as unknown as Record<string, Mn>;
  for (const [name, v] of Object.entries(byName)) {
    if (name.startsWith('V') && !name.startsWith('VM') && !name.startsWith('VER')) AVX_MNEMONICS.add(v);
  }
  // VMOV*/VMASKMOV* start with VM like the VMX instructions (VMCALL, VMREAD, ...): add them by name.
  for (const [name, v] of Object.entries(byName)) {
    if (/^VM(OV|ASKMOV|AX|IN|UL|PSADBW)/.test(name)) AVX_MNEMONICS.add(v);
  }
  void MN_NAMES;
}
