/**
 * The XSAVE feature set for the executor (SDM Vol. 1 ch. 13 "Managing State
 * Using the XSAVE Feature Set"; Vol. 2 XGETBV, XSETBV, XSAVE, XSAVEOPT,
 * XSAVEC, XRSTOR), and the FXSAVE image both FXSAVE and XSAVE use for the
 * legacy region (Vol. 2 FXSAVE Table 3-53, 64-bit layout).
 *
 * State components (XCR0 bits): 0 x87, 1 SSE (XMM0-15; MXCSR is handled
 * with it as the SDM describes per form), 2 AVX (YMM_Hi128, the upper
 * halves of YMM0-15, S.YMMH; at offset 576 in both formats since it is the
 * only extended component). The CPU model decides which are supported
 * (CPUID.(EAX=0DH,ECX=0):EAX, cpuid.ts xsaveLeaf).
 *
 * XINUSE (SDM Vol. 1 §13.6) is computed from the register values: a
 * component whose registers hold their initial configuration is "not in
 * use". The SDM allows a processor to report a component as in use when it
 * is not, never the opposite; equal values make the difference unobservable
 * (XRSTOR of an init component loads exactly those values). x87 counts as
 * initial only with FCW=037FH, FSW=0, all tags empty and all eight data
 * registers 0; SSE with XMM0-15 = 0. MXCSR is not part of that test, except
 * for XSAVEC and XGETBV ECX=1, which count SSE as in use whenever MXCSR is
 * not 1F80H (so MXCSR travels with SSE state in the compacted format). Both
 * rules are what the host CPU does (tests/differential/xsave.test.ts).
 * Hardware tracks XINUSE by modification instead (an LDMXCSR or a MOVDQU of
 * zeros marks SSE in use); the JIT cannot see every write to these registers
 * (inline SSE), and equal values make that difference unobservable except
 * through XSTATE_BV and XGETBV ECX=1 themselves.
 */
import { Mn, type Instruction } from '../decoder/types.js';
import { CR0_TS, CR4_OSXSAVE, S, type CpuState } from '../state.js';
import { Exit } from '../translate/core.js';
import { Access, VEC_GP, VEC_NM, VEC_UD } from './mmu.js';
import { linAddr, type OpCtx } from './ops.js';

export const XCR0_X87 = 1n << 0n;
export const XCR0_SSE = 1n << 1n;
export const XCR0_AVX = 1n << 2n;

/** Byte offsets in an XSAVE area (SDM Vol. 1 §13.4). */
export const XSAVE_MXCSR = 24;
export const XSAVE_MXCSR_MASK = 28;
export const XSAVE_ST0 = 32;
export const XSAVE_XMM0 = 160;
export const XSAVE_HEADER = 512;
export const XSAVE_XSTATE_BV = 512;
export const XSAVE_XCOMP_BV = 520;
/** Component 2 (AVX): CPUID.(EAX=0DH,ECX=2) EBX = 576, EAX = 256 on every Intel and AMD CPU. */
export const XSAVE_YMMH = 576;
export const XSAVE_YMMH_BYTES = 256;
/** Legacy region + header: the size of an area holding x87 and SSE only. */
export const XSAVE_LEGACY_AND_HEADER = 576;

/** MXCSR bits the JIT implements (the MXCSR_MASK FXSAVE/XSAVE report); the rest are reserved (#GP on load). */
export const MXCSR_MASK = 0xffff;
const MXCSR_INIT = 0x1f80;
const XCOMP_BV_COMPACTED = 1n << 63n;

/** What the CPU model offers (CPUID.01H:ECX.XSAVE and leaf 0DH). */
export interface XsaveCaps {
  /** CPUID.01H:ECX.XSAVE: CR4.OSXSAVE may be set. */
  readonly xsave: boolean;
  /** XCR0 bits that may be set: CPUID.(EAX=0DH,ECX=0):EDX:EAX. */
  readonly supportedXcr0: bigint;
  /** CPUID.(EAX=0DH,ECX=1):EAX[2]: XGETBV with ECX = 1 (XINUSE). */
  readonly xgetbv1: boolean;
  /** CPUID.(EAX=0DH,ECX=1):EAX[1]: XSAVEC and the compacted form of XRSTOR. */
  readonly compacted: boolean;
}

/** XsaveCaps from a CPUID source (vCPU 0's view; every vCPU shares the model). */
export function xsaveCapsFromCpuid(cpuid: (leaf: number, subleaf: number) => { eax: number; ebx: number; ecx: number; edx: number }): XsaveCaps {
  const maxLeaf = cpuid(0, 0).eax >>> 0;
  const xsave = maxLeaf >= 1 && ((cpuid(1, 0).ecx >>> 26) & 1) === 1;
  if (!xsave || maxLeaf < 0xd) return { xsave, supportedXcr0: xsave ? XCR0_X87 : 0n, xgetbv1: false, compacted: false };
  const d0 = cpuid(0xd, 0), d1 = cpuid(0xd, 1);
  return {
    xsave,
    supportedXcr0: (BigInt(d0.edx >>> 0) << 32n) | BigInt(d0.eax >>> 0),
    xgetbv1: ((d1.eax >>> 2) & 1) === 1,
    compacted: ((d1.eax >>> 1) & 1) === 1,
  };
}

// ---- the FXSAVE image (legacy region)

/** The full 512-byte FXSAVE image of the current x87/SSE state (FOP, FIP, FDP are not tracked: 0). */
export function fxsaveImage(st: CpuState): Uint8Array {
  const img = new Uint8Array(512);
  const dv = new DataView(img.buffer);
  dv.setUint16(0, st.u16(S.FCW), true);
  dv.setUint16(2, st.u16(S.FSW), true);
  img[4] = abridgedTag(st.u16(S.FTW));
  dv.setUint32(XSAVE_MXCSR, st.u32(S.MXCSR), true);
  dv.setUint32(XSAVE_MXCSR_MASK, MXCSR_MASK, true);
  for (let i = 0; i < 8; i++) img.set(st.u8.subarray(st.base + S.ST + i * 16, st.base + S.ST + i * 16 + 10), XSAVE_ST0 + i * 16);
  for (let i = 0; i < 16; i++) img.set(st.xmm(i), XSAVE_XMM0 + i * 16);
  return img;
}

/** FXSAVE's abridged tag: one bit per register, 1 = not empty (SDM Vol. 2 FXSAVE, "Abridged FTW"). */
function abridgedTag(ftw: number): number {
  let tag = 0;
  for (let i = 0; i < 8; i++) if (((ftw >> (2 * i)) & 3) !== 3) tag |= 1 << i;
  return tag;
}

/** Load the x87 fields of an FXSAVE image (FCW, FSW, abridged FTW, ST0-7). */
export function loadX87(st: CpuState, img: Uint8Array): void {
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  st.setU16(S.FCW, dv.getUint16(0, true));
  st.setU16(S.FSW, dv.getUint16(2, true));
  const tag = img[4]!;
  let ftw = 0;
  for (let i = 0; i < 8; i++) ftw |= ((tag >> i) & 1 ? 0 : 3) << (2 * i);
  st.setU16(S.FTW, ftw);
  for (let i = 0; i < 8; i++) {
    const o = st.base + S.ST + i * 16;
    st.u8.set(img.subarray(XSAVE_ST0 + i * 16, XSAVE_ST0 + i * 16 + 10), o);
    st.u8.fill(0, o + 10, o + 16);
  }
}

/** Load XMM0-15 of an FXSAVE image. */
export function loadXmm(st: CpuState, img: Uint8Array): void {
  for (let i = 0; i < 16; i++) st.xmm(i).set(img.subarray(XSAVE_XMM0 + i * 16, XSAVE_XMM0 + i * 16 + 16));
}

/** x87 initial configuration (SDM Vol. 1 §13.6): FCW 037FH, FSW 0, all tags empty, registers 0. */
function initX87(st: CpuState): void {
  st.setU16(S.FCW, 0x37f); st.setU16(S.FSW, 0); st.setU16(S.FTW, 0xffff);
  st.u8.fill(0, st.base + S.ST, st.base + S.ST + 128);
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * XINUSE from the register values (see the module comment). `mxcsrInUse`:
 * the XSAVEC / XGETBV(1) view, where MXCSR != 1F80H also counts as SSE in use.
 */
export function xinuse(st: CpuState, mxcsrInUse = false): bigint {
  let v = 0n;
  const x87Init = st.u16(S.FCW) === 0x37f && st.u16(S.FSW) === 0 && st.u16(S.FTW) === 0xffff &&
    isZero(st.u8.subarray(st.base + S.ST, st.base + S.ST + 128));
  if (!x87Init) v |= XCR0_X87;
  if (!isZero(st.u8.subarray(st.base + S.XMM, st.base + S.XMM + 256)) || (mxcsrInUse && st.u32(S.MXCSR) !== MXCSR_INIT)) v |= XCR0_SSE;
  if (!isZero(st.u8.subarray(st.base + S.YMMH, st.base + S.YMMH + 256))) v |= XCR0_AVX;
  return v;
}

// ---- instructions

function fault(ctx: OpCtx, vector: number, error = -1): number {
  ctx.st.setU32(S.EXC_VECTOR, vector); ctx.st.setU32(S.EXC_ERROR, error); return Exit.EXCEPTION;
}

const edxEax = (st: CpuState): bigint => (BigInt(st.gpr32(2)) << 32n) | BigInt(st.gpr32(0));

/** Mnemonics execXsave handles. */
export const XSAVE_MNEMONICS: ReadonlySet<number> = new Set<number>([
  Mn.XGETBV, Mn.XSETBV, Mn.XSAVE, Mn.XSAVE64, Mn.XSAVEOPT, Mn.XSAVEOPT64, Mn.XSAVEC, Mn.XSAVEC64, Mn.XRSTOR, Mn.XRSTOR64,
]);

/**
 * Execute XGETBV, XSETBV, XSAVE, XSAVEOPT, XSAVEC or XRSTOR (either REX.W
 * form; FIP/FDP are not tracked, so the two formats are the same bytes).
 * Returns Exit.CONTINUE (the caller advances RIP), Exit.EXCEPTION, or
 * undefined for other mnemonics. CPL for XSETBV is checked by the executor
 * (the decoder marks it privileged).
 */
export function execXsave(ctx: OpCtx, caps: XsaveCaps, insn: Instruction, rip: bigint): number | undefined {
  if (!XSAVE_MNEMONICS.has(insn.mn)) return undefined;
  const st = ctx.st;
  // Every instruction of the set: #UD unless CR4.OSXSAVE = 1 (SDM Vol. 2 XSAVE/XGETBV "Protected Mode Exceptions").
  if ((st.cr4 & CR4_OSXSAVE) === 0n) return fault(ctx, VEC_UD);
  const xcr0 = st.u64(S.XCR0);
  switch (insn.mn) {
    case Mn.XGETBV: {
      const ecx = st.gpr32(1);
      let v: bigint;
      if (ecx === 0) v = xcr0;
      else if (ecx === 1 && caps.xgetbv1) v = xcr0 & xinuse(st, true); // SDM XGETBV: XCR0 AND XINUSE
      else return fault(ctx, VEC_GP, 0);
      st.setGpr(0, v & 0xffffffffn); st.setGpr(2, v >> 32n);
      return Exit.CONTINUE;
    }
    case Mn.XSETBV: {
      if (st.gpr32(1) !== 0) return fault(ctx, VEC_GP, 0);
      const v = edxEax(st);
      // SDM XSETBV: #GP for unsupported bits, bit 0 clear, or AVX without SSE.
      if ((v & ~caps.supportedXcr0) !== 0n || (v & XCR0_X87) === 0n || ((v & XCR0_AVX) !== 0n && (v & XCR0_SSE) === 0n)) {
        return fault(ctx, VEC_GP, 0);
      }
      st.setU64(S.XCR0, v);
      return Exit.CONTINUE;
    }
    default:
      break;
  }
  if ((st.cr0 & CR0_TS) !== 0n) return fault(ctx, VEC_NM);
  const lin = linAddr(ctx, insn, insn.ops[0]!, rip);
  if ((lin & 63n) !== 0n) return fault(ctx, VEC_GP, 0); // the XSAVE area is 64-byte aligned (SDM Vol. 1 §13.4)
  const rfbm = xcr0 & edxEax(st);
  switch (insn.mn) {
    case Mn.XRSTOR: case Mn.XRSTOR64: return xrstor(ctx, caps, lin, xcr0, rfbm);
    case Mn.XSAVEC: case Mn.XSAVEC64: return xsave(ctx, lin, rfbm, 'compacted');
    case Mn.XSAVEOPT: case Mn.XSAVEOPT64: return xsave(ctx, lin, rfbm, 'opt');
    default: return xsave(ctx, lin, rfbm, 'standard');
  }
}

/** One 8-byte-aligned run of bytes to store at an offset of the area. */
interface Chunk { off: number; bytes: Uint8Array }

/**
 * XSAVE (SDM Vol. 1 §13.7), XSAVEOPT (§13.9: components not in use are not
 * written, the modified optimization is not used), XSAVEC (§13.10).
 */
function xsave(ctx: OpCtx, lin: bigint, rfbm: bigint, form: 'standard' | 'opt' | 'compacted'): number {
  const st = ctx.st;
  const inUse = xinuse(st, form === 'compacted');
  const save = form === 'standard' ? rfbm : rfbm & inUse;
  const img = fxsaveImage(st);
  const chunks: Chunk[] = [];
  if (save & XCR0_X87) chunks.push({ off: 0, bytes: img.subarray(0, 24) }, { off: XSAVE_ST0, bytes: img.subarray(XSAVE_ST0, XSAVE_XMM0) });
  // MXCSR and MXCSR_MASK: with RFBM[1] or RFBM[2] in the standard forms, with the SSE component in the compacted one.
  const mxcsr = form === 'compacted' ? (save & XCR0_SSE) !== 0n : (rfbm & (XCR0_SSE | XCR0_AVX)) !== 0n;
  if (mxcsr) chunks.push({ off: XSAVE_MXCSR, bytes: img.subarray(XSAVE_MXCSR, XSAVE_ST0) });
  if (save & XCR0_SSE) chunks.push({ off: XSAVE_XMM0, bytes: img.subarray(XSAVE_XMM0, XSAVE_XMM0 + 256) });
  if (save & XCR0_AVX) chunks.push({ off: XSAVE_YMMH, bytes: st.u8.slice(st.base + S.YMMH, st.base + S.YMMH + XSAVE_YMMH_BYTES) });
  const header = new Uint8Array(16);
  const hdv = new DataView(header.buffer);
  if (form === 'compacted') {
    hdv.setBigUint64(0, save, true); // XSTATE_BV = RFBM AND XINUSE
    hdv.setBigUint64(8, XCOMP_BV_COMPACTED | rfbm, true);
    chunks.push({ off: XSAVE_HEADER, bytes: header });
  } else {
    // XSTATE_BV[i] = XINUSE[i] for i in RFBM, other bits unchanged; XCOMP_BV is not written.
    const old = ctx.mmu.read(lin + BigInt(XSAVE_XSTATE_BV), 8, ctx.cpl);
    if (old === undefined) return Exit.EXCEPTION;
    hdv.setBigUint64(0, (old & ~rfbm) | (inUse & rfbm), true);
    chunks.push({ off: XSAVE_HEADER, bytes: header.subarray(0, 8) });
  }
  return writeChunks(ctx, lin, chunks) ? Exit.CONTINUE : Exit.EXCEPTION;
}

/** Store the chunks; every page they touch is checked for writing first, so a #PF leaves memory unchanged. */
function writeChunks(ctx: OpCtx, lin: bigint, chunks: readonly Chunk[]): boolean {
  let end = 0;
  for (const c of chunks) end = Math.max(end, c.off + c.bytes.length);
  for (let p = lin & ~0xfffn; p < lin + BigInt(end); p += 0x1000n) {
    const probe = p < lin ? lin : p;
    if (ctx.mmu.translate(probe, Access.WRITE, ctx.cpl) < 0) return false;
  }
  for (const c of chunks) {
    const dv = new DataView(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
    for (let i = 0; i < c.bytes.length; i += 8) {
      if (!ctx.mmu.write(lin + BigInt(c.off + i), 8, dv.getBigUint64(i, true), ctx.cpl)) return false;
    }
  }
  return true;
}

function readArea(ctx: OpCtx, lin: bigint, bytes: number): Uint8Array | undefined {
  const out = new Uint8Array(bytes);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < bytes; i += 8) {
    const v = ctx.mmu.read(lin + BigInt(i), 8, ctx.cpl);
    if (v === undefined) return undefined;
    dv.setBigUint64(i, v, true);
  }
  return out;
}

/**
 * XRSTOR (SDM Vol. 1 §13.8): the standard form when XCOMP_BV[63] = 0, the
 * compacted form otherwise. Every check is made before any state changes.
 */
function xrstor(ctx: OpCtx, caps: XsaveCaps, lin: bigint, xcr0: bigint, rfbm: bigint): number {
  const st = ctx.st;
  const area = readArea(ctx, lin, XSAVE_LEGACY_AND_HEADER);
  if (!area) return Exit.EXCEPTION;
  const dv = new DataView(area.buffer);
  const xstateBv = dv.getBigUint64(XSAVE_XSTATE_BV, true);
  const xcompBv = dv.getBigUint64(XSAVE_XCOMP_BV, true);
  const compacted = (xcompBv & XCOMP_BV_COMPACTED) !== 0n;
  if (compacted) {
    // §13.8.2: #GP without the compaction extensions, for XCOMP_BV bits outside XCR0, XSTATE_BV bits outside
    // XCOMP_BV, or nonzero bytes 63:16 of the header.
    if (!caps.compacted) return fault(ctx, VEC_GP, 0);
    if ((xcompBv & ~XCOMP_BV_COMPACTED & ~xcr0) !== 0n || (xstateBv & ~xcompBv) !== 0n) return fault(ctx, VEC_GP, 0);
    if (!isZero(area.subarray(XSAVE_HEADER + 16, XSAVE_HEADER + 64))) return fault(ctx, VEC_GP, 0);
  } else {
    // §13.8.1: #GP for XSTATE_BV bits outside XCR0 or nonzero bytes 23:8 of the header (XCOMP_BV included).
    if ((xstateBv & ~xcr0) !== 0n) return fault(ctx, VEC_GP, 0);
    if (!isZero(area.subarray(XSAVE_HEADER + 8, XSAVE_HEADER + 24))) return fault(ctx, VEC_GP, 0);
  }
  const load = rfbm & xstateBv;
  // MXCSR: standard form loads it with RFBM[1] or RFBM[2] whatever XSTATE_BV says; compacted form with the SSE component.
  const mxcsrFromMem = compacted ? (load & XCR0_SSE) !== 0n : (rfbm & (XCR0_SSE | XCR0_AVX)) !== 0n;
  const mxcsr = dv.getUint32(XSAVE_MXCSR, true);
  if (mxcsrFromMem && (mxcsr & ~MXCSR_MASK) !== 0) return fault(ctx, VEC_GP, 0);
  let ymmh: Uint8Array | undefined;
  if (load & XCR0_AVX) {
    ymmh = readArea(ctx, lin + BigInt(XSAVE_YMMH), XSAVE_YMMH_BYTES); // first (only) extended component: 576 in both formats
    if (!ymmh) return Exit.EXCEPTION;
  }
  if (rfbm & XCR0_X87) { if (load & XCR0_X87) loadX87(st, area); else initX87(st); }
  if (rfbm & XCR0_SSE) {
    if (load & XCR0_SSE) loadXmm(st, area);
    else st.u8.fill(0, st.base + S.XMM, st.base + S.XMM + 256);
  }
  if (mxcsrFromMem) st.setU32(S.MXCSR, mxcsr);
  else if (compacted && (rfbm & XCR0_SSE)) st.setU32(S.MXCSR, MXCSR_INIT);
  if (rfbm & XCR0_AVX) {
    if (ymmh) st.u8.set(ymmh, st.base + S.YMMH);
    else st.u8.fill(0, st.base + S.YMMH, st.base + S.YMMH + XSAVE_YMMH_BYTES);
  }
  return Exit.CONTINUE;
}
