/**
 * Segment descriptors and the checks of segment-register loads, as pure
 * functions the JIT's helpers call (MOV/POP to a segment register, LSS/LDS...,
 * far JMP/CALL, far RET, IRET, LLDT, LTR).
 *
 * Intel SDM vol. 3A 3.4.5 (descriptor format), 3.5 (system descriptors, 16-byte
 * forms in IA-32e mode), 5.5-5.8 (privilege checks), 6.14.1 (64-bit mode), and
 * the "Protected Mode Exceptions" sections of MOV, POP, JMP, CALL, RET, IRET,
 * LLDT and LTR in vol. 2.
 *
 * Not supported (documented choices): task switches (a far JMP/CALL to a TSS or
 * task gate returns #GP(selector); IA-32e mode has no task switching either),
 * and far CALL/JMP through call gates returns the parsed gate (`kind: 'gate'`)
 * for the caller to complete (guests we target do not use call gates).
 */
import type { DescriptorTable, SegmentState } from '../../accel/types.js';

export const VEC_TS = 10;
export const VEC_NP = 11;
export const VEC_SS = 12;
export const VEC_GP = 13;
export const VEC_PF = 14;

/** An exception to raise: vector, error code (if the vector has one), CR2 for #PF. */
export interface Fault { vector: number; errorCode: number; cr2?: bigint }

export const gp = (errorCode = 0): Fault => ({ vector: VEC_GP, errorCode });
const np = (errorCode: number): Fault => ({ vector: VEC_NP, errorCode });
const ss = (errorCode: number): Fault => ({ vector: VEC_SS, errorCode });
const ts = (errorCode: number): Fault => ({ vector: VEC_TS, errorCode });

// Descriptor type values (SDM Table 3-1 code/data, Table 3-2 system)
export const TYPE_ACCESSED = 1;
export const TYPE_DATA_WRITABLE = 2;
export const TYPE_CODE_READABLE = 2;
export const TYPE_CODE_CONFORMING = 4;
export const TYPE_CODE = 8;
export const SYS_TSS16_AVAILABLE = 1;
export const SYS_LDT = 2;
export const SYS_TSS16_BUSY = 3;
export const SYS_CALL_GATE16 = 4;
export const SYS_TASK_GATE = 5;
export const SYS_INT_GATE16 = 6;
export const SYS_TRAP_GATE16 = 7;
export const SYS_TSS_AVAILABLE = 9;
export const SYS_TSS_BUSY = 0xb;
export const SYS_CALL_GATE = 0xc;
export const SYS_INT_GATE = 0xe;
export const SYS_TRAP_GATE = 0xf;

export interface Descriptor {
  base: bigint;
  /** Limit in bytes - 1 (granularity applied). */
  limit: number;
  type: number;
  s: boolean;
  dpl: number;
  present: boolean;
  avl: boolean;
  l: boolean;
  db: boolean;
  g: boolean;
}

/**
 * Decode an 8-byte descriptor, or a 16-byte system descriptor in IA-32e mode
 * when `high` (the second quadword) is given: base bits 63:32 come from it.
 */
export function parseDescriptor(raw: bigint, high?: bigint): Descriptor {
  raw = BigInt.asUintN(64, raw);
  const lo = Number(raw & 0xffffffffn);
  const hi = Number(raw >> 32n);
  const g = ((hi >>> 23) & 1) === 1;
  let limit = (lo & 0xffff) | (hi & 0x000f0000);
  if (g) limit = ((limit << 12) | 0xfff) >>> 0;
  let base = BigInt(((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0);
  if (high !== undefined) base |= (BigInt.asUintN(64, high) & 0xffffffffn) << 32n;
  return {
    base,
    limit,
    type: (hi >>> 8) & 0xf,
    s: ((hi >>> 12) & 1) === 1,
    dpl: (hi >>> 13) & 3,
    present: ((hi >>> 15) & 1) === 1,
    avl: ((hi >>> 20) & 1) === 1,
    l: ((hi >>> 21) & 1) === 1,
    db: ((hi >>> 22) & 1) === 1,
    g,
  };
}

/** Encode a descriptor (tests and boot-state builders). Limit is given in bytes-1; `g` chooses the granularity. */
export function encodeDescriptor(d: Omit<Descriptor, 'base'> & { base: bigint | number }): bigint {
  const base = BigInt(d.base) & 0xffffffffn;
  const lim = d.g ? d.limit >>> 12 : d.limit;
  let v = BigInt(lim & 0xffff) | ((base & 0xffffffn) << 16n);
  v |= BigInt(d.type & 0xf) << 40n;
  if (d.s) v |= 1n << 44n;
  v |= BigInt(d.dpl & 3) << 45n;
  if (d.present) v |= 1n << 47n;
  v |= BigInt((lim >>> 16) & 0xf) << 48n;
  if (d.avl) v |= 1n << 52n;
  if (d.l) v |= 1n << 53n;
  if (d.db) v |= 1n << 54n;
  if (d.g) v |= 1n << 55n;
  v |= (base >> 24n) << 56n;
  return v;
}

export function isCode(d: Descriptor): boolean { return d.s && (d.type & TYPE_CODE) !== 0; }
export function isData(d: Descriptor): boolean { return d.s && (d.type & TYPE_CODE) === 0; }

/** Hidden segment state for a loaded descriptor (KVM kvm_segment form). */
export function segmentFromDescriptor(selector: number, d: Descriptor): SegmentState {
  return {
    selector: selector & 0xffff, base: d.base, limit: d.limit, type: d.type, present: d.present, dpl: d.dpl,
    db: d.db, s: d.s, l: d.l, g: d.g, avl: d.avl, unusable: false,
  };
}

/** A null selector loaded into DS/ES/FS/GS (or SS in 64-bit mode): unusable, base 0. */
export function nullSegment(selector: number): SegmentState {
  return { selector: selector & 0xffff, base: 0n, limit: 0, type: 0, present: false, dpl: 0, db: false, s: false, l: false, g: false, avl: false, unusable: true };
}

/** Real-address mode load (SDM 20.1.1): only selector and base = selector << 4 change. */
export function realModeSegment(prev: SegmentState, selector: number): SegmentState {
  return { ...prev, selector: selector & 0xffff, base: BigInt((selector & 0xffff) << 4) };
}

/** Virtual-8086 mode load (SDM 20.2): base = selector << 4, 64 KiB limit, DPL 3 read/write data. */
export function vm86Segment(selector: number, code: boolean): SegmentState {
  return {
    selector: selector & 0xffff, base: BigInt((selector & 0xffff) << 4), limit: 0xffff,
    type: code ? TYPE_CODE | TYPE_CODE_READABLE | TYPE_ACCESSED : TYPE_DATA_WRITABLE | TYPE_ACCESSED,
    present: true, dpl: 3, db: false, s: true, l: false, g: false, avl: false, unusable: false,
  };
}

export type CpuMode = 'protected' | 'compat' | 'long64';

/** What a segment load needs from the vCPU. */
export interface SegmentContext {
  cpl: number;
  /** Protected mode (incl. 16/32-bit), IA-32e compatibility mode, or 64-bit mode. */
  mode: CpuMode;
  gdt: DescriptorTable;
  ldt: SegmentState;
  /**
   * Read 8 bytes at a linear address as an implicit supervisor access (paging
   * applied). A fault (e.g. #PF) is returned as a Fault object.
   */
  readLinear64(la: bigint): bigint | Fault;
  /** Set the descriptor's accessed bit (byte 5 bit 0) at linear address `la` (SDM 3.4.5.1). Optional. */
  setAccessed?(la: bigint): void;
}

const isFault = (v: bigint | Fault): v is Fault => typeof v !== 'bigint';
const ia32e = (ctx: SegmentContext): boolean => ctx.mode !== 'protected';

/** Selector error code (SDM 6.13): index + TI, RPL replaced by EXT. */
export function selectorErrorCode(selector: number, ext = false): number {
  return (selector & 0xfffc) | (ext ? 1 : 0);
}

export type DescriptorFetch = { ok: true; desc: Descriptor; la: bigint; high?: bigint } | { ok: false; fault: Fault };

/**
 * Read the descriptor a selector names (GDT or LDT by TI). Out-of-limit index
 * or an unusable LDT -> #GP(selector). `wide` reads a 16-byte system descriptor.
 */
export function fetchDescriptor(ctx: SegmentContext, selector: number, opts: { wide?: boolean; ext?: boolean } = {}): DescriptorFetch {
  const err = selectorErrorCode(selector, opts.ext);
  const ti = (selector & 4) !== 0;
  let base: bigint;
  let limit: number;
  if (ti) {
    if (ctx.ldt.unusable) return { ok: false, fault: gp(err) };
    base = ctx.ldt.base;
    limit = ctx.ldt.limit;
  } else {
    base = ctx.gdt.base;
    limit = ctx.gdt.limit;
  }
  const offset = selector & 0xfff8;
  const size = opts.wide ? 16 : 8;
  if (offset + size - 1 > limit) return { ok: false, fault: gp(err) };
  const la = BigInt.asUintN(64, base + BigInt(offset));
  const raw = ctx.readLinear64(la);
  if (isFault(raw)) return { ok: false, fault: raw };
  let high: bigint | undefined;
  if (opts.wide) {
    const h = ctx.readLinear64(BigInt.asUintN(64, la + 8n));
    if (isFault(h)) return { ok: false, fault: h };
    high = h;
  }
  const desc = parseDescriptor(raw, opts.wide && !parseDescriptor(raw).s ? high : undefined);
  return high === undefined ? { ok: true, desc, la } : { ok: true, desc, la, high };
}

export type SegmentLoad = { ok: true; seg: SegmentState } | { ok: false; fault: Fault };

function accessed(ctx: SegmentContext, f: { desc: Descriptor; la: bigint }, selector: number): SegmentState {
  if ((f.desc.type & TYPE_ACCESSED) === 0) {
    ctx.setAccessed?.(f.la);
    return segmentFromDescriptor(selector, { ...f.desc, type: f.desc.type | TYPE_ACCESSED });
  }
  return segmentFromDescriptor(selector, f.desc);
}

/** MOV/POP/LDS.. to DS, ES, FS or GS in protected or IA-32e mode (SDM vol. 2 MOV, "Protected Mode Exceptions"). */
export function loadDataSegment(ctx: SegmentContext, selector: number): SegmentLoad {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) return { ok: true, seg: nullSegment(selector) };
  const f = fetchDescriptor(ctx, selector);
  if (!f.ok) return f;
  const d = f.desc;
  const err = selectorErrorCode(selector);
  // Must be a data segment or a readable code segment.
  if (!d.s || (isCode(d) && (d.type & TYPE_CODE_READABLE) === 0)) return { ok: false, fault: gp(err) };
  // Data and non-conforming code: both RPL and CPL must be <= DPL.
  const conformingCode = isCode(d) && (d.type & TYPE_CODE_CONFORMING) !== 0;
  if (!conformingCode && ((selector & 3) > d.dpl || ctx.cpl > d.dpl)) return { ok: false, fault: gp(err) };
  if (!d.present) return { ok: false, fault: np(err) };
  return { ok: true, seg: accessed(ctx, f, selector) };
}

/**
 * MOV/POP SS, LSS (SDM vol. 2 MOV): RPL = CPL = DPL, writable data, present
 * (#SS otherwise). A null selector is #GP(0), except in 64-bit mode at CPL < 3
 * with RPL = CPL, where it loads a null SS. For IRET/RET to an outer level,
 * pass `cpl` = the new CPL and a ctx whose `mode` is the mode being returned
 * to (IRETQ to compatibility mode may not load a null SS).
 */
export function loadStackSegment(ctx: SegmentContext, selector: number, cpl = ctx.cpl): SegmentLoad {
  selector &= 0xffff;
  const rpl = selector & 3;
  if ((selector & 0xfffc) === 0) {
    if (ctx.mode === 'long64' && cpl !== 3 && rpl === cpl) return { ok: true, seg: nullSegment(selector) };
    return { ok: false, fault: gp(0) };
  }
  const f = fetchDescriptor(ctx, selector);
  if (!f.ok) return f;
  const d = f.desc;
  const err = selectorErrorCode(selector);
  if (rpl !== cpl || !isData(d) || (d.type & TYPE_DATA_WRITABLE) === 0 || d.dpl !== cpl) return { ok: false, fault: gp(err) };
  if (!d.present) return { ok: false, fault: ss(err) };
  return { ok: true, seg: accessed(ctx, f, selector) };
}

/** A call gate (SDM 5.8.3; 16 bytes in IA-32e mode). */
export interface CallGate { selector: number; offset: bigint; dpl: number; present: boolean; paramCount: number; type: number }

export type FarTransfer =
  | { ok: true; kind: 'segment'; cs: SegmentState; cpl: number }
  | { ok: true; kind: 'gate'; gate: CallGate; gateSelector: number }
  | { ok: false; fault: Fault };

/**
 * CS for a far JMP or far CALL (SDM vol. 2 JMP/CALL, "far jump to a code
 * segment"): conforming needs DPL <= CPL; non-conforming needs RPL <= CPL and
 * DPL = CPL. CPL does not change; the new selector's RPL becomes CPL. In
 * IA-32e mode L = 1 with D = 1 is #GP. Call gates are parsed and returned.
 */
export function loadCodeSegmentFar(ctx: SegmentContext, selector: number): FarTransfer {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) return { ok: false, fault: gp(0) };
  const err = selectorErrorCode(selector);
  const first = fetchDescriptor(ctx, selector);
  if (!first.ok) return first;
  const d = first.desc;
  if (!d.s) {
    if (d.type === SYS_CALL_GATE || (!ia32e(ctx) && d.type === SYS_CALL_GATE16)) {
      const rpl = selector & 3;
      if (d.dpl < ctx.cpl || rpl > d.dpl) return { ok: false, fault: gp(err) };
      if (!d.present) return { ok: false, fault: np(err) };
      let highQ = 0n;
      if (ia32e(ctx)) {
        const wide = fetchDescriptor(ctx, selector, { wide: true });
        if (!wide.ok) return wide;
        const h = ctx.readLinear64(BigInt.asUintN(64, wide.la + 8n));
        if (isFault(h)) return { ok: false, fault: h };
        // The upper 8 bytes' type field must be 0 (SDM 5.8.3.1).
        if (((h >> 40n) & 0x1fn) !== 0n) return { ok: false, fault: gp(err) };
        highQ = h;
      }
      const raw = ctx.readLinear64(first.la);
      if (isFault(raw)) return { ok: false, fault: raw };
      let offset = (raw & 0xffffn) | (((raw >> 48n) & 0xffffn) << 16n);
      if (d.type === SYS_CALL_GATE16) offset &= 0xffffn;
      if (ia32e(ctx)) offset |= (highQ & 0xffffffffn) << 32n;
      return {
        ok: true, kind: 'gate', gateSelector: selector,
        gate: { selector: Number((raw >> 16n) & 0xffffn), offset, dpl: d.dpl, present: d.present, paramCount: Number((raw >> 32n) & 0x1fn), type: d.type },
      };
    }
    // TSS and task gates (task switches) are not supported; anything else is invalid.
    return { ok: false, fault: gp(err) };
  }
  if (!isCode(d)) return { ok: false, fault: gp(err) };
  const rpl = selector & 3;
  if ((d.type & TYPE_CODE_CONFORMING) !== 0) {
    if (d.dpl > ctx.cpl) return { ok: false, fault: gp(err) };
  } else if (rpl > ctx.cpl || d.dpl !== ctx.cpl) {
    return { ok: false, fault: gp(err) };
  }
  if (!d.present) return { ok: false, fault: np(err) };
  if (ia32e(ctx) && d.l && d.db) return { ok: false, fault: gp(err) };
  const newSel = (selector & 0xfffc) | ctx.cpl;
  return { ok: true, kind: 'segment', cs: accessed(ctx, first, newSel), cpl: ctx.cpl };
}

/**
 * CS for a far RET or IRET returning within protected/IA-32e mode (SDM vol. 2
 * RET "return to same/outer privilege level", IRET "PROTECTED-MODE-RETURN"):
 * RPL >= CPL; conforming needs DPL <= RPL, non-conforming DPL = RPL. The new
 * CPL is the selector's RPL (> CPL means the caller pops SS:RSP next and
 * loads SS with `loadStackSegment(ctx, ss, newCpl)`, then `nullifyForCpl`).
 */
export function loadCodeSegmentReturn(ctx: SegmentContext, selector: number): { ok: true; cs: SegmentState; cpl: number; outer: boolean } | { ok: false; fault: Fault } {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) return { ok: false, fault: gp(0) };
  const f = fetchDescriptor(ctx, selector);
  if (!f.ok) return f;
  const d = f.desc;
  const err = selectorErrorCode(selector);
  const rpl = selector & 3;
  if (!isCode(d) || rpl < ctx.cpl) return { ok: false, fault: gp(err) };
  if ((d.type & TYPE_CODE_CONFORMING) !== 0 ? d.dpl > rpl : d.dpl !== rpl) return { ok: false, fault: gp(err) };
  if (!d.present) return { ok: false, fault: np(err) };
  if (ia32e(ctx) && d.l && d.db) return { ok: false, fault: gp(err) };
  return { ok: true, cs: accessed(ctx, f, selector), cpl: rpl, outer: rpl > ctx.cpl };
}

/**
 * After a return to an outer privilege level (SDM vol. 2 RET/IRET): DS, ES,
 * FS and GS holding a data or non-conforming code segment with DPL < new CPL
 * become null (unusable). Returns the segment unchanged otherwise.
 */
export function nullifyForCpl(seg: SegmentState, cpl: number): SegmentState {
  if (seg.unusable) return seg;
  const conformingCode = (seg.type & TYPE_CODE) !== 0 && (seg.type & TYPE_CODE_CONFORMING) !== 0;
  if (seg.s && !conformingCode && seg.dpl < cpl) return { ...nullSegment(0), selector: 0 };
  return seg;
}

/**
 * A 16-byte LDT/TSS descriptor's 64-bit base must be canonical (#GP(selector)),
 * as KVM's emulator checks. The upper half's type field is not checked (QEMU and
 * KVM do not either; only call gates are required to have it 0, SDM 5.8.3.1).
 */
function wideBaseOk(f: { desc: Descriptor; high?: bigint }): boolean {
  if (f.high === undefined) return true;
  const top = f.desc.base >> 47n;
  return top === 0n || top === 0x1ffffn;
}

/** LLDT (SDM vol. 2 LLDT): null -> LDTR unusable; must be a GDT LDT descriptor (16 bytes in IA-32e mode). */
export function loadLdtr(ctx: SegmentContext, selector: number): SegmentLoad {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) return { ok: true, seg: nullSegment(selector) };
  const err = selectorErrorCode(selector);
  if (selector & 4) return { ok: false, fault: gp(err) };
  const f = fetchDescriptor(ctx, selector, { wide: ia32e(ctx) });
  if (!f.ok) return f;
  if (f.desc.s || f.desc.type !== SYS_LDT) return { ok: false, fault: gp(err) };
  if (!f.desc.present) return { ok: false, fault: np(err) };
  if (!wideBaseOk(f)) return { ok: false, fault: gp(err) };
  return { ok: true, seg: segmentFromDescriptor(selector, f.desc) };
}

/**
 * LTR (SDM vol. 2 LTR): a GDT available TSS (32/64-bit; 16-bit only outside
 * IA-32e mode). Returns the TR state (type marked busy) and where the caller
 * writes the busy bit back (`busyLa`: set bit 1 of byte 5, i.e. type |= 2).
 */
export function loadTr(ctx: SegmentContext, selector: number): { ok: true; seg: SegmentState; busyLa: bigint } | { ok: false; fault: Fault } {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) return { ok: false, fault: gp(0) };
  const err = selectorErrorCode(selector);
  if (selector & 4) return { ok: false, fault: gp(err) };
  const f = fetchDescriptor(ctx, selector, { wide: ia32e(ctx) });
  if (!f.ok) return f;
  const d = f.desc;
  const available = d.type === SYS_TSS_AVAILABLE || (!ia32e(ctx) && d.type === SYS_TSS16_AVAILABLE);
  if (d.s || !available) return { ok: false, fault: gp(err) };
  if (!d.present) return { ok: false, fault: np(err) };
  if (!wideBaseOk(f)) return { ok: false, fault: gp(err) };
  return { ok: true, seg: segmentFromDescriptor(selector, { ...d, type: d.type | 2 }), busyLa: f.la };
}

// ---- TSS ---------------------------------------------------------------------

/** 64-bit TSS offsets (SDM Figure 8-11). */
export const TSS64_RSP0 = 4;
export const TSS64_IST1 = 36;
export const TSS64_IOMAP_BASE = 102;
/** 32-bit TSS offsets (SDM Figure 8-2). */
export const TSS32_ESP0 = 4;
export const TSS32_SS0 = 8;

/**
 * The stack pointer for a privilege change to `dpl` (RSPn) or for IST entry
 * `ist` (1..7) from a 64-bit TSS. Offsets beyond TR.limit -> #TS(TR selector).
 */
export function tss64Stack(tr: SegmentState, readLinear64: (la: bigint) => bigint | Fault, which: { dpl: number } | { ist: number }, ext = false): { ok: true; rsp: bigint } | { ok: false; fault: Fault } {
  const off = 'ist' in which ? TSS64_IST1 + 8 * (which.ist - 1) : TSS64_RSP0 + 8 * which.dpl;
  if (tr.unusable || off + 7 > tr.limit) return { ok: false, fault: ts(selectorErrorCode(tr.selector, ext)) };
  const v = readLinear64(BigInt.asUintN(64, tr.base + BigInt(off)));
  if (isFault(v)) return { ok: false, fault: v };
  return { ok: true, rsp: v };
}

/** SSn:ESPn from a 32-bit TSS (SDM 6.12.1). Offsets beyond TR.limit -> #TS(TR selector). */
export function tss32Stack(tr: SegmentState, readLinear64: (la: bigint) => bigint | Fault, dpl: number, ext = false): { ok: true; ss: number; esp: number } | { ok: false; fault: Fault } {
  const off = TSS32_ESP0 + 8 * dpl;
  if (tr.unusable || off + 5 > tr.limit) return { ok: false, fault: ts(selectorErrorCode(tr.selector, ext)) };
  const v = readLinear64(BigInt.asUintN(64, tr.base + BigInt(off)));
  if (isFault(v)) return { ok: false, fault: v };
  return { ok: true, esp: Number(v & 0xffffffffn), ss: Number((v >> 32n) & 0xffffn) };
}

/**
 * SS for an inner-privilege interrupt or call in legacy protected mode (SDM
 * 6.12.1.1, vol. 2 INT "INTER-PRIVILEGE-LEVEL-INTERRUPT"): faults are #TS
 * with the SS selector (null -> #TS(EXT)), a non-present SS is #SS.
 */
export function loadInnerStackSegment(ctx: SegmentContext, selector: number, dpl: number, ext: boolean): SegmentLoad {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) return { ok: false, fault: ts(ext ? 1 : 0) };
  const f = fetchDescriptor(ctx, selector, { ext });
  if (!f.ok) return f.fault.vector === VEC_GP ? { ok: false, fault: ts(selectorErrorCode(selector, ext)) } : f;
  const d = f.desc;
  const err = selectorErrorCode(selector, ext);
  if ((selector & 3) !== dpl || d.dpl !== dpl || !isData(d) || (d.type & TYPE_DATA_WRITABLE) === 0) return { ok: false, fault: ts(err) };
  if (!d.present) return { ok: false, fault: ss(err) };
  return { ok: true, seg: accessed(ctx, f, selector) };
}

// ---- SYSCALL / SYSRET (SDM vol. 2B; AMD APM vol. 3) -----------------------------

function flat(selector: number, code: boolean, dpl: number, long: boolean): SegmentState {
  return {
    selector: selector & 0xffff, base: 0n, limit: 0xffffffff,
    type: code ? TYPE_CODE | TYPE_CODE_READABLE | TYPE_ACCESSED : TYPE_DATA_WRITABLE | TYPE_ACCESSED,
    present: true, dpl, s: true, l: code && long, db: code ? !long : true, g: true, avl: false, unusable: false,
  };
}

/**
 * SYSCALL's new CS/SS/RIP (SDM vol. 2B SYSCALL): CS = STAR[47:32] & ~3 (flat
 * 64-bit code, DPL 0), SS = STAR[47:32] + 8 (flat data, DPL 0); RIP from
 * LSTAR in 64-bit mode, CSTAR in compatibility mode and STAR[31:0] in legacy
 * mode (the last two are AMD-only: Intel raises #UD outside 64-bit mode,
 * which the caller decides from the vendor). The caller saves RCX/R11 and
 * masks RFLAGS with `syscallRflags`.
 */
export function syscallTransfer(star: bigint, lstar: bigint, cstar: bigint, mode: CpuMode | 'legacy'): { cs: SegmentState; ss: SegmentState; rip: bigint } {
  const sel = Number((star >> 32n) & 0xffffn);
  const long = mode !== 'legacy';
  return {
    cs: flat(sel & 0xfffc, true, 0, long),
    ss: flat((sel + 8) & 0xfffc, false, 0, false),
    rip: mode === 'long64' ? lstar : mode === 'compat' ? cstar : star & 0xffffffffn,
  };
}

/** RFLAGS after SYSCALL (long mode): RFLAGS & ~FMASK, with RF also cleared. */
export function syscallRflags(rflags: bigint, fmask: bigint): bigint {
  return (rflags & ~(fmask & 0xffffffffn) & ~(1n << 16n)) | 2n;
}

/**
 * SYSRET's new CS/SS (SDM vol. 2B SYSRET): with REX.W, CS = STAR[63:48] + 16
 * (64-bit code), otherwise CS = STAR[63:48] (32-bit code); SS = STAR[63:48] + 8;
 * all with RPL 3 and DPL 3. The caller checks CPL 0 (#GP(0)), the canonical
 * RCX (#GP(0) on Intel) and sets RFLAGS with `sysretRflags`.
 */
export function sysretTransfer(star: bigint, opSize64: boolean): { cs: SegmentState; ss: SegmentState } {
  const base = Number((star >> 48n) & 0xffffn);
  return {
    cs: flat(((opSize64 ? base + 16 : base) & 0xffff) | 3, true, 3, opSize64),
    ss: flat(((base + 8) & 0xffff) | 3, false, 3, false),
  };
}

/** RFLAGS after SYSRET: (R11 & 3C7FD7H) | 2 (RF, VM and reserved bits cleared). */
export function sysretRflags(r11: bigint): bigint {
  return (r11 & 0x3c7fd7n) | 2n;
}
