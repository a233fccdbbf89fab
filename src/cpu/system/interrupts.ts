/**
 * Interrupt and exception delivery as pure functions: IDT gate lookup in
 * real mode (IVT), protected mode and IA-32e mode, the target code segment and
 * stack (TSS RSPn / ISTn), the stack frame, RFLAGS after delivery, and the
 * double-fault rules.
 *
 * Intel SDM vol. 3A 6.10-6.15 (IDT, gates, 64-bit mode in 6.14), table 6-5
 * (conditions for generating a double fault), and vol. 2 INT n / INTO / INT3 /
 * INT1 pseudo-code. KVM's kvm_multiple_exception() for the choices the SDM
 * leaves open.
 *
 * Not supported (documented): task gates in the IDT (a task gate gives
 * #GP(vector*8+2+EXT); IA-32e mode has none), virtual-8086 mode delivery, and
 * 16-bit TSS stacks.
 */
import type { DescriptorTable, SegmentState } from '../../accel/types.js';
import {
  type Fault, type SegmentContext, VEC_GP, VEC_NP, VEC_SS, VEC_PF, SYS_INT_GATE, SYS_TRAP_GATE, SYS_INT_GATE16,
  SYS_TRAP_GATE16, TYPE_CODE_CONFORMING, fetchDescriptor, isCode, parseDescriptor, segmentFromDescriptor,
  selectorErrorCode, tss32Stack, tss64Stack, loadInnerStackSegment, nullSegment,
} from './descriptors.js';

export const VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6, VEC_NM = 7,
  VEC_DF = 8, VEC_TS = 10, VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19, VEC_VE = 20, VEC_CP = 21;
export { VEC_NP, VEC_SS, VEC_GP, VEC_PF };

/** What raised the event: decides EXT in error codes and whether the gate DPL is checked. */
export type EventSource =
  | 'exception'   // processor-detected exception (EXT = 1)
  | 'external'    // external interrupt via the LAPIC (EXT = 1)
  | 'nmi'         // NMI (EXT = 1)
  | 'int1'        // ICEBP (F1): no DPL check, EXT = 1
  | 'int3'        // INT3 (CC): DPL check, EXT = 0
  | 'into'        // INTO (CE): DPL check, EXT = 0
  | 'software';   // INT n (CD ib): DPL check, EXT = 0

const extOf = (src: EventSource): boolean => src === 'exception' || src === 'external' || src === 'nmi' || src === 'int1';
const dplChecked = (src: EventSource): boolean => src === 'software' || src === 'int3' || src === 'into';

/** Exceptions that push an error code (SDM Table 6-1): #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP. */
export function exceptionHasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17 || vector === 21;
}

/** Error code for an IDT-related fault (SDM 6.13: IDT bit 1, index = vector). */
export function idtErrorCode(vector: number, ext: boolean): number {
  return ((vector & 0xff) << 3) | 2 | (ext ? 1 : 0);
}

// ---- real mode ---------------------------------------------------------------

/**
 * Real-address mode (SDM 20.1.4): the IVT entry at IDTR.base + 4*vector is
 * IP (low word) and CS (high word). An entry beyond IDTR.limit is #GP(0)
 * (which the caller escalates; in real mode this ends in shutdown).
 */
export function realModeVector(idtr: DescriptorTable, vector: number, readLinear32: (la: bigint) => number): { ok: true; cs: number; ip: number } | { ok: false; fault: Fault } {
  const off = (vector & 0xff) * 4;
  if (off + 3 > idtr.limit) return { ok: false, fault: { vector: VEC_GP, errorCode: 0 } };
  const v = readLinear32(BigInt.asUintN(64, idtr.base + BigInt(off))) >>> 0;
  return { ok: true, ip: v & 0xffff, cs: v >>> 16 };
}

// ---- protected and IA-32e mode gates ----------------------------------------

export interface Gate {
  type: number;
  dpl: number;
  present: boolean;
  selector: number;
  offset: bigint;
  /** IST index 0..7 (IA-32e mode only). */
  ist: number;
  /** Interrupt gate (clears IF) rather than trap gate. */
  interrupt: boolean;
  /** Push width in bytes: 2 (16-bit gate), 4 (32-bit gate) or 8 (IA-32e). */
  size: 2 | 4 | 8;
}

/** Decode an IDT gate from its raw 8 bytes (+ the high 8 bytes in IA-32e mode). */
export function parseGate(raw: bigint, high?: bigint): Gate {
  const d = parseDescriptor(raw);
  let offset = (raw & 0xffffn) | (((raw >> 48n) & 0xffffn) << 16n);
  if (high !== undefined) offset |= (BigInt.asUintN(64, high) & 0xffffffffn) << 32n;
  const is16 = d.type === SYS_INT_GATE16 || d.type === SYS_TRAP_GATE16;
  if (is16) offset &= 0xffffn;
  return {
    type: d.type, dpl: d.dpl, present: d.present,
    selector: Number((raw >> 16n) & 0xffffn),
    offset,
    ist: high !== undefined ? Number((raw >> 32n) & 7n) : 0,
    interrupt: d.type === SYS_INT_GATE || d.type === SYS_INT_GATE16,
    size: high !== undefined ? 8 : is16 ? 2 : 4,
  };
}

/**
 * Read and check the IDT gate for `vector` (SDM vol. 2 INT n): beyond the IDT
 * limit or a bad gate type -> #GP(vector*8+2+EXT); software INT n/INT3/INTO with
 * gate DPL < CPL -> #GP(vector*8+2); not present -> #NP(vector*8+2+EXT).
 */
export function lookupGate(ctx: SegmentContext, idtr: DescriptorTable, vector: number, source: EventSource): { ok: true; gate: Gate } | { ok: false; fault: Fault } {
  vector &= 0xff;
  const ext = extOf(source);
  const longMode = ctx.mode !== 'protected';
  const size = longMode ? 16 : 8;
  const off = vector * size;
  const idtErr = idtErrorCode(vector, ext);
  if (off + size - 1 > idtr.limit) return { ok: false, fault: { vector: VEC_GP, errorCode: idtErr } };
  const la = BigInt.asUintN(64, idtr.base + BigInt(off));
  const raw = ctx.readLinear64(la);
  if (typeof raw !== 'bigint') return { ok: false, fault: raw };
  let high: bigint | undefined;
  if (longMode) {
    const h = ctx.readLinear64(BigInt.asUintN(64, la + 8n));
    if (typeof h !== 'bigint') return { ok: false, fault: h };
    high = h;
  }
  const gate = parseGate(raw, high);
  const s = ((raw >> 44n) & 1n) === 1n;
  const validTypes = longMode ? [SYS_INT_GATE, SYS_TRAP_GATE] : [SYS_INT_GATE, SYS_TRAP_GATE, SYS_INT_GATE16, SYS_TRAP_GATE16];
  if (s || !validTypes.includes(gate.type)) return { ok: false, fault: { vector: VEC_GP, errorCode: idtErr } };
  if (dplChecked(source) && gate.dpl < ctx.cpl) return { ok: false, fault: { vector: VEC_GP, errorCode: idtErrorCode(vector, false) } };
  if (!gate.present) return { ok: false, fault: { vector: VEC_NP, errorCode: idtErr } };
  return { ok: true, gate };
}

export interface InterruptDelivery {
  gate: Gate;
  /** New CS (RPL = new CPL) and entry point. */
  cs: SegmentState;
  rip: bigint;
  cpl: number;
  /** The stack to push the frame on. */
  ss: SegmentState;
  rsp: bigint;
  /** Push the interrupted SS:RSP (always in IA-32e mode; on privilege change in protected mode). */
  pushOldStack: boolean;
  /** Interrupt gate: IF is cleared. */
  clearIf: boolean;
}

/**
 * Everything interrupt delivery decides before pushing (SDM 6.12.1, 6.14):
 * the gate, the handler CS (code, DPL <= CPL, present, 64-bit in IA-32e mode;
 * faults carry the CS selector + EXT), and the stack: IST if the gate names
 * one (IA-32e), else RSPn/SSn:ESPn from the TSS for a more privileged
 * non-conforming handler, else the current stack. In IA-32e mode the new RSP is
 * aligned down to 16 bytes and a privilege change loads a null SS with RPL = new CPL.
 */
export function prepareInterruptDelivery(
  ctx: SegmentContext,
  regs: { idtr: DescriptorTable; tr: SegmentState; ss: SegmentState; rsp: bigint },
  vector: number,
  source: EventSource,
): { ok: true; delivery: InterruptDelivery } | { ok: false; fault: Fault } {
  const ext = extOf(source);
  const g = lookupGate(ctx, regs.idtr, vector, source);
  if (!g.ok) return g;
  const gate = g.gate;
  const longMode = ctx.mode !== 'protected';
  const selErr = selectorErrorCode(gate.selector, ext);
  if ((gate.selector & 0xfffc) === 0) return { ok: false, fault: { vector: VEC_GP, errorCode: ext ? 1 : 0 } };
  const f = fetchDescriptor(ctx, gate.selector, { ext });
  if (!f.ok) return f;
  const d = f.desc;
  if (!isCode(d) || d.dpl > ctx.cpl) return { ok: false, fault: { vector: VEC_GP, errorCode: selErr } };
  if (!d.present) return { ok: false, fault: { vector: VEC_NP, errorCode: selErr } };
  if (longMode && (!d.l || d.db)) return { ok: false, fault: { vector: VEC_GP, errorCode: selErr } };

  const conforming = (d.type & TYPE_CODE_CONFORMING) !== 0;
  const newCpl = conforming ? ctx.cpl : d.dpl;
  const inner = newCpl < ctx.cpl;
  const cs = segmentFromDescriptor((gate.selector & 0xfffc) | newCpl, d);
  const read = (la: bigint): bigint | Fault => ctx.readLinear64(la);

  let ss = regs.ss;
  let rsp = regs.rsp;
  if (longMode) {
    if (gate.ist !== 0 || inner) {
      const t = gate.ist !== 0 ? tss64Stack(regs.tr, read, { ist: gate.ist }, ext) : tss64Stack(regs.tr, read, { dpl: newCpl }, ext);
      if (!t.ok) return t;
      rsp = t.rsp;
      // SDM vol. 2 INT n (IA-32e): a non-canonical new stack pointer is #SS(EXT).
      const top = BigInt.asUintN(64, rsp) >> 47n;
      if (top !== 0n && top !== 0x1ffffn) return { ok: false, fault: { vector: VEC_SS, errorCode: ext ? 1 : 0 } };
    }
    if (inner) ss = nullSegment(newCpl);
    rsp = BigInt.asUintN(64, rsp) & ~0xfn;
  } else if (inner) {
    const t = tss32Stack(regs.tr, read, newCpl, ext);
    if (!t.ok) return t;
    const s = loadInnerStackSegment(ctx, t.ss, newCpl, ext);
    if (!s.ok) return s;
    ss = s.seg;
    rsp = BigInt(t.esp);
  }
  return {
    ok: true,
    delivery: {
      gate, cs, rip: gate.offset, cpl: newCpl, ss, rsp,
      pushOldStack: longMode || inner,
      clearIf: gate.interrupt,
    },
  };
}

export interface FrameInput {
  oldSs: number;
  oldRsp: bigint;
  rflags: bigint;
  oldCs: number;
  /** Return address: the faulting instruction for faults, the next one for traps and interrupts. */
  rip: bigint;
  /** Pushed when defined (exceptions with an error code; never in real mode). */
  errorCode?: number;
}

/**
 * The values interrupt delivery pushes, in push order, each `width` bytes
 * (SDM Figures 6-4 and 6-9): [SS, RSP,] RFLAGS, CS, RIP [, error code].
 * Real mode pushes FLAGS, CS, IP (2 bytes each) and no error code.
 */
export function interruptFrame(mode: 'real' | 'protected' | 'long', width: 2 | 4 | 8, input: FrameInput, pushOldStack: boolean): { width: 2 | 4 | 8; values: bigint[] } {
  const w = mode === 'real' ? 2 : mode === 'long' ? 8 : width;
  const mask = (1n << BigInt(8 * w)) - 1n;
  const values: bigint[] = [];
  if (mode !== 'real' && (pushOldStack || mode === 'long')) {
    values.push(BigInt(input.oldSs & 0xffff), input.oldRsp & mask);
  }
  values.push(input.rflags & mask, BigInt(input.oldCs & 0xffff), input.rip & mask);
  if (mode !== 'real' && input.errorCode !== undefined) values.push(BigInt(input.errorCode >>> 0) & mask);
  return { width: w, values };
}

const RFLAGS_TF = 1n << 8n;
const RFLAGS_IF = 1n << 9n;
const RFLAGS_NT = 1n << 14n;
const RFLAGS_RF = 1n << 16n;
const RFLAGS_VM = 1n << 17n;
const RFLAGS_AC = 1n << 18n;

/**
 * RFLAGS after the frame is pushed: protected/IA-32e mode clears TF, NT, RF,
 * VM and (interrupt gates) IF (SDM 6.12.1.3); real mode clears IF, TF and AC
 * (SDM vol. 2 INT n, REAL-ADDRESS-MODE).
 */
export function rflagsAfterDelivery(rflags: bigint, mode: 'real' | 'protected' | 'long', clearIf: boolean): bigint {
  if (mode === 'real') return rflags & ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC);
  let r = rflags & ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
  if (clearIf) r &= ~RFLAGS_IF;
  return r;
}

// ---- double fault ---------------------------------------------------------------

export type ExceptionClass = 'benign' | 'contributory' | 'page-fault' | 'double-fault';

/** SDM Table 6-4: contributory #DE #TS #NP #SS #GP (and #CP); page faults #PF and #VE; #DF itself; the rest benign. */
export function exceptionClass(vector: number): ExceptionClass {
  switch (vector) {
    case VEC_DE: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP: case VEC_CP:
      return 'contributory';
    case VEC_PF: case VEC_VE:
      return 'page-fault';
    case VEC_DF:
      return 'double-fault';
    default:
      return 'benign';
  }
}

/**
 * A second exception while delivering `first` (SDM 6.15, Table 6-5):
 * contributory then contributory, or page fault then contributory/page fault
 * -> double fault; any exception while delivering a double fault -> triple
 * fault (shutdown; KVM treats every second exception this way); everything
 * else -> the second exception is delivered instead (the first is lost and
 * will recur when the instruction re-executes).
 */
export function combineExceptions(first: number, second: number): 'second' | 'double-fault' | 'triple-fault' {
  const c1 = exceptionClass(first);
  const c2 = exceptionClass(second);
  if (c1 === 'double-fault') return 'triple-fault';
  if (c1 === 'contributory' && c2 === 'contributory') return 'double-fault';
  if (c1 === 'page-fault' && (c2 === 'contributory' || c2 === 'page-fault')) return 'double-fault';
  return 'second';
}
