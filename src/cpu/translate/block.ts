/**
 * Block translation: a decoded basic block -> one wasm function
 * `(base i32) -> exit code`, in its own module that imports the shared memory,
 * the core flag functions and the slow-path helpers.
 *
 * Inside a block the guest GPRs live in wasm locals (loaded in the prologue,
 * the written ones stored back in the single epilogue every exit goes
 * through), flags are a lazy record in locals, memory accesses test the
 * software TLB inline and call `rd`/`wr` on a miss. Instructions not inlined
 * call `interp` (the TypeScript executor) with registers flushed first and
 * reloaded after. Precise exceptions: a faulting access sets the exit code
 * and the RIP of the faulting instruction and leaves through the epilogue.
 */
import { ATTR_ALIGN16, ATTR_AVX, ATTR_SSE, BASE_RIP, Flow, Mn, NO_REG, OpKind, RegClass, type Instruction, type Operand } from '../decoder/types.js';
import { relTarget } from '../decoder/decoder.js';
import { FunctionBuilder, ModuleBuilder, type FuncType, type I32, type I64, type Label } from '../wasm/builder.js';
import { OpSimd } from '../wasm/opcodes.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, S, SEG_BYTES, SEGF_BASE, TLBE_ADDEND, TLBE_TAG_READ, TLBE_TAG_WRITE, TLB_OFFSET, TLB_SET_BYTES } from '../state.js';
import { FlKind, flOp } from './flags.js';
import { SIMD_HELPER_COUNT, SIMD_SLOT_BASE } from './simd-helpers.js';
import { canLower, genLowered, lowerNeedsFallback } from './simd-lower.js';
import { Exit } from './core.js';


export interface BlockInsn {
  insn: Instruction; rip: bigint;
  /** interp helper id, or -1 when inlined */ helper: number;
  /** For inlined instructions with a cold path (needsFallback): the interp helper that executes them exactly. */
  fallback?: number;
}

export interface BlockOptions {
  mode: 16 | 32 | 64;
  cpl: number;
  memPages: number;
  /** Disable inline code (every instruction through interp): for differential testing of both paths. */
  noInline?: boolean;
  /** Count inline memory accesses in S.MEM_ACCESSES (bench/: TLB hit rate). */
  profile?: boolean;
  /**
   * Link the blocks of a region (addRegion): a block that ends at the start of
   * another block of the same region continues into it inside the region
   * function, with registers and flags kept in locals. Off while debugging
   * (every block then returns to the run loop).
   */
  link?: boolean;
  /** Name the region function after its first guest RIP (wasm name section: visible in --cpu-prof). */
  names?: boolean;
}

/**
 * Inlined SSE instructions (packed 128-bit moves, logic, add/sub/compare,
 * shifts by an immediate) keep the executor as their exact slow path: CR0.EM/TS
 * and CR4.OSFXSR set, a misaligned ATTR_ALIGN16 access, a TLB miss or a page
 * crossing call the instruction's `fallback` helper (#UD/#NM/#GP/#PF as the executor
 * raises them).
 */
export function needsFallback(insn: Instruction): boolean {
  return SSE_INLINE.has(insn.mn) || (canLower(insn) && lowerNeedsFallback(insn));
}

const xmmReg = (o: Operand): boolean => o.kind === OpKind.REG && o.regClass === RegClass.XMM;
const SSE_MOVES = new Set<number>([Mn.MOVDQA, Mn.MOVDQU, Mn.MOVAPS, Mn.MOVUPS, Mn.MOVAPD, Mn.MOVUPD]);
/** dst = op(dst, src) as wasm SIMD: the wasm operand order is (dst, src). */
const SSE_BINOPS = new Map<number, (fb: FunctionBuilder) => void>([
  [Mn.PXOR, (fb) => fb.v128Xor()], [Mn.XORPS, (fb) => fb.v128Xor()], [Mn.XORPD, (fb) => fb.v128Xor()],
  [Mn.PAND, (fb) => fb.v128And()], [Mn.ANDPS, (fb) => fb.v128And()], [Mn.ANDPD, (fb) => fb.v128And()],
  [Mn.POR, (fb) => fb.v128Or()], [Mn.ORPS, (fb) => fb.v128Or()], [Mn.ORPD, (fb) => fb.v128Or()],
  [Mn.PADDB, (fb) => fb.simd(OpSimd.I8x16Add)], [Mn.PADDW, (fb) => fb.simd(OpSimd.I16x8Add)],
  [Mn.PADDD, (fb) => fb.simd(OpSimd.I32x4Add)], [Mn.PADDQ, (fb) => fb.simd(OpSimd.I64x2Add)],
  [Mn.PSUBB, (fb) => fb.simd(OpSimd.I8x16Sub)], [Mn.PSUBW, (fb) => fb.simd(OpSimd.I16x8Sub)],
  [Mn.PSUBD, (fb) => fb.simd(OpSimd.I32x4Sub)], [Mn.PSUBQ, (fb) => fb.simd(OpSimd.I64x2Sub)],
  [Mn.PCMPEQB, (fb) => fb.simd(OpSimd.I8x16Eq)], [Mn.PCMPEQW, (fb) => fb.simd(OpSimd.I16x8Eq)],
  [Mn.PCMPEQD, (fb) => fb.simd(OpSimd.I32x4Eq)],
  [Mn.PCMPGTB, (fb) => fb.simd(OpSimd.I8x16GtS)], [Mn.PCMPGTW, (fb) => fb.simd(OpSimd.I16x8GtS)],
  [Mn.PCMPGTD, (fb) => fb.simd(OpSimd.I32x4GtS)],
]);
/** PANDN/ANDNPS/ANDNPD: dst = ~dst & src (wasm v128.andnot(a, b) = a & ~b, so src comes first). */
const SSE_ANDN = new Set<number>([Mn.PANDN, Mn.ANDNPS, Mn.ANDNPD]);
/** Shifts by imm8: [lane bits, wasm op, arithmetic]. */
const SSE_SHIFTS = new Map<number, [number, number, boolean]>([
  [Mn.PSLLW, [16, OpSimd.I16x8Shl, false]], [Mn.PSLLD, [32, OpSimd.I32x4Shl, false]], [Mn.PSLLQ, [64, OpSimd.I64x2Shl, false]],
  [Mn.PSRLW, [16, OpSimd.I16x8ShrU, false]], [Mn.PSRLD, [32, OpSimd.I32x4ShrU, false]], [Mn.PSRLQ, [64, OpSimd.I64x2ShrU, false]],
  [Mn.PSRAW, [16, OpSimd.I16x8ShrS, true]], [Mn.PSRAD, [32, OpSimd.I32x4ShrS, true]],
]);
const SSE_INLINE = new Set<number>([...SSE_MOVES, ...SSE_BINOPS.keys(), ...SSE_ANDN, ...SSE_SHIFTS.keys()]);

function canInlineSse(insn: Instruction): boolean {
  if ((insn.attrs & ATTR_SSE) === 0 || (insn.attrs & ATTR_AVX) !== 0 || insn.opCount !== 2) return false;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const memOk = (o: Operand): boolean => o.kind === OpKind.MEM && (o.seg < 4 || o.seg === 4 || o.seg === 5);
  if (SSE_MOVES.has(insn.mn)) return (xmmReg(o0) && (xmmReg(o1) || memOk(o1))) || (memOk(o0) && xmmReg(o1));
  if (SSE_BINOPS.has(insn.mn) || SSE_ANDN.has(insn.mn)) return xmmReg(o0) && (xmmReg(o1) || memOk(o1));
  if (SSE_SHIFTS.has(insn.mn)) return xmmReg(o0) && o1.kind === OpKind.IMM;
  return false;
}

/** Does the translator inline this instruction (64-bit mode only)? */
export function canInline(insn: Instruction, mode: number): boolean {
  if (mode !== 64) return false;
  if (canLower(insn)) return true; // simd-lower.ts: bit counts, CRC32, v128 and crypto forms
  if (SSE_INLINE.has(insn.mn)) return canInlineSse(insn);
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const gprOrMem = (o: Operand): boolean => (o.kind === OpKind.REG && o.regClass === RegClass.GPR) || o.kind === OpKind.MEM;
  const memOk = (o: Operand): boolean => o.kind !== OpKind.MEM || o.seg < 4 || o.seg === 4 || o.seg === 5;
  switch (insn.mn) {
    case Mn.NOP: case Mn.PAUSE: case Mn.ENDBR64: return true;
    case Mn.MOV:
      return insn.opCount === 2 && gprOrMem(o0) && (gprOrMem(o1) || o1.kind === OpKind.IMM) && memOk(o0) && memOk(o1);
    case Mn.MOVZX: case Mn.MOVSX: case Mn.MOVSXD:
      return gprOrMem(o1) && memOk(o1);
    case Mn.LEA: return o1.kind === OpKind.MEM;
    case Mn.ADD: case Mn.SUB: case Mn.AND: case Mn.OR: case Mn.XOR: case Mn.CMP: case Mn.TEST: case Mn.ADC: case Mn.SBB:
      return insn.opCount === 2 && gprOrMem(o0) && (gprOrMem(o1) || o1.kind === OpKind.IMM) && memOk(o0) && memOk(o1);
    case Mn.INC: case Mn.DEC: case Mn.NEG: case Mn.NOT: return gprOrMem(o0) && memOk(o0);
    case Mn.PUSH: return insn.opSize === 64 && (o0.kind === OpKind.IMM || (o0.kind === OpKind.REG && o0.regClass === RegClass.GPR));
    case Mn.POP: return insn.opSize === 64 && o0.kind === OpKind.REG && o0.regClass === RegClass.GPR;
    case Mn.CALL:
      return insn.opSize === 64 && (insn.flow === Flow.CALL || (insn.flow === Flow.CALL_IND && gprOrMem(o0) && memOk(o0)));
    case Mn.RET: return insn.flow === Flow.RET && insn.opSize === 64 && insn.opCount === 0;
    case Mn.JMP: return insn.flow === Flow.JMP || (insn.flow === Flow.JMP_IND && insn.opSize === 64 && gprOrMem(o0) && memOk(o0));
    case Mn.IMUL:
      if (insn.opCount === 1) return gprOrMem(o0) && memOk(o0);
      return insn.opCount >= 2 && (o0.size === 4 || o0.size === 8) && gprOrMem(o1) && memOk(o1);
    case Mn.MUL: return insn.opCount === 1 && gprOrMem(o0) && memOk(o0);
    case Mn.CBW: case Mn.CWDE: case Mn.CDQE: case Mn.CWD: case Mn.CDQ: case Mn.CQO: return true;
    case Mn.XCHG: case Mn.XADD: case Mn.CMPXCHG:
      return insn.opCount === 2 && gprOrMem(o0) && o1.kind === OpKind.REG && o1.regClass === RegClass.GPR && memOk(o0);
    case Mn.BT: case Mn.BTS: case Mn.BTR: case Mn.BTC:
      // register bit base only (memory bit strings with a register offset go to the executor)
      return o0.kind === OpKind.REG && o0.regClass === RegClass.GPR &&
        (o1.kind === OpKind.IMM || (o1.kind === OpKind.REG && o1.regClass === RegClass.GPR));
    case Mn.SHL: case Mn.SAL: case Mn.SHR: case Mn.SAR: case Mn.ROL: case Mn.ROR:
      return gprOrMem(o0) && memOk(o0) && (o1.kind === OpKind.IMM || (o1.kind === OpKind.REG && o1.regClass === RegClass.GPR));
    default:
      if (insn.flow === Flow.JCC && insn.cond >= 0 && insn.mn >= Mn.JO && insn.mn <= Mn.JG) return true;
      if (insn.cond >= 0 && insn.mn >= Mn.CMOVO && insn.mn <= Mn.CMOVG) return gprOrMem(o1) && memOk(o1);
      if (insn.cond >= 0 && insn.mn >= Mn.SETO && insn.mn <= Mn.SETG) return gprOrMem(o0) && memOk(o0);
      return false;
  }
}

interface FlagsDesc { kind: number; size: number }

/**
 * A module holding several blocks (compile and instantiation cost is paid
 * once per batch): the shared imports, then one exported function per block
 * ("b", "b1", "b2", ...).
 */
/**
 * Helper functions blocks call, by their fixed slot in the engine's helper
 * table (engine.ts helperTable). Calling through the table rather
 * than importing them keeps block modules free of function imports: V8
 * compiles import wrappers for every module that declares them, which cost
 * ~0.5 ms per module, more than compiling the blocks themselves.
 */
export const HelperSlot = { FLAGS: 0, COND: 1, INTERP: 2 } as const;
/** Slots of the table: HelperSlot, then the SIMD helpers (simd-helpers.ts SimdHelper, from SIMD_SLOT_BASE). */
export const HELPER_TABLE_SIZE = SIMD_SLOT_BASE + SIMD_HELPER_COUNT;
export const HELPER_SIGS = {
  FLAGS: { params: ['i32', 'i64', 'i64', 'i64', 'i32'], results: ['i32'] },
  COND: { params: ['i32', 'i32', 'i64', 'i64', 'i64', 'i32'], results: ['i32'] },
  INTERP: { params: ['i32', 'i32'], results: ['i32'] },
} as const satisfies Record<keyof typeof HelperSlot, FuncType>;

/** A helper call: its table slot and the module's type index of its signature. */
export interface HelperRef { readonly slot: number; readonly type: number }

export class BlockModule {
  readonly mb = new ModuleBuilder();
  readonly fnFlags: HelperRef; readonly fnCond: HelperRef; readonly fnInterp: HelperRef;
  count = 0;

  constructor(memPages: number) {
    const mb = this.mb;
    const ref = (k: keyof typeof HelperSlot): HelperRef => ({ slot: HelperSlot[k], type: mb.type(HELPER_SIGS[k]) });
    this.fnFlags = ref('FLAGS'); this.fnCond = ref('COND'); this.fnInterp = ref('INTERP');
    mb.importTable('env', 'hlp', HELPER_TABLE_SIZE);
    mb.importMemory('env', 'mem', memPages, memPages, true);
  }

  /**
   * Add a region: several blocks compiled as ONE function `(base, entry)` that
   * dispatches on a block index in a loop (`br_table`), so control flow between
   * them (loops spanning blocks, if/else, call and return inside the region)
   * stays in wasm locals. Each block gets an exported entry `(base) -> exit`
   * that tail-calls the region with its index. Returns the export names, in
   * the order of `blocks`.
   */
  addRegion(blocks: ReadonlyArray<readonly BlockInsn[]>, opts: BlockOptions): string[] {
    const id = this.count++;
    const tx = new Tx(this, opts, blocks.length === 1 ? `b${id}` : undefined, blocks.length > 1);
    emitRegion(tx, blocks);
    if (opts.names) this.mb.nameFunc(tx.funcIndex, `guest_${(blocks[0]?.[0]?.rip ?? 0n).toString(16)}${blocks.length > 1 ? `_r${blocks.length}` : ''}`);
    if (blocks.length === 1) return [`b${id}`];
    return blocks.map((_, i) => {
      const name = `b${id}_${i}`;
      const { fb } = this.mb.func({ params: ['i32'], results: ['i32'] }, name);
      fb.get(fb.param(0, 'i32')).i32Const(i).returnCall(tx.funcIndex);
      return name;
    });
  }

  bytes(): Uint8Array { return this.mb.bytes(); }
}

class Tx {
  readonly fb: FunctionBuilder;
  readonly base: I32;
  readonly regs: I64[] = [];
  readonly used = new Set<number>();
  readonly written = new Set<number>();
  readonly st: I32; readonly rip: I64;
  readonly flOpL: I32; readonly flA: I64; readonly flB: I64; readonly flRes: I64; readonly flAux: I32;
  flagsTouched = false;
  flagsWritten = false;
  /** The instruction being emitted has its flags overwritten before anything can observe them (flagsDeadAfter). */
  flagsDead = false;
  /** CR0.EM/TS and CR4.OSFXSR were checked by an earlier inlined SSE instruction of this block (no helper ran since). */
  sseChecked = false;
  /** CR4.OSXSAVE, XCR0 SSE|AVX and CR0.TS were checked by an earlier lowered VEX instruction of this block (simd-lower.ts). */
  avxChecked = false;
  known: FlagsDesc | undefined;
  exit!: Label;
  readonly fnFlags: HelperRef; readonly fnCond: HelperRef; readonly fnInterp: HelperRef;
  readonly tlb: number;

  readonly mb: ModuleBuilder;
  readonly funcIndex: number;
  /** Region entry index parameter (multi-block regions only). */
  readonly entry: I32 | undefined;

  /** `multi`: a region of several blocks (entered with a block index). */
  constructor(bm: BlockModule, readonly opts: BlockOptions, exportName: string | undefined, readonly multi = false) {
    const mb = this.mb = bm.mb;
    this.fnFlags = bm.fnFlags; this.fnCond = bm.fnCond; this.fnInterp = bm.fnInterp;
    const { fb, index } = mb.func({ params: multi ? ['i32', 'i32'] : ['i32'], results: ['i32'] }, exportName);
    this.fb = fb;
    this.funcIndex = index;
    this.base = fb.param(0, 'i32');
    this.entry = multi ? fb.param(1, 'i32') : undefined;
    for (let i = 0; i < 16; i++) this.regs.push(fb.local('i64'));
    this.st = fb.local('i32'); this.rip = fb.local('i64');
    this.flOpL = fb.local('i32'); this.flA = fb.local('i64'); this.flB = fb.local('i64'); this.flRes = fb.local('i64'); this.flAux = fb.local('i32');
    this.tlb = TLB_OFFSET + (opts.cpl === 3 ? TLB_SET_BYTES : 0);
  }

  reg(r: number): I64 { this.used.add(r); return this.regs[r]!; }

  /** Push a GPR operand value, zero-extended. */
  getGpr(op: Operand): void {
    const fb = this.fb;
    fb.get(this.reg(op.reg));
    switch (op.size) {
      case 1: if (op.highByte) fb.i64Const(8).i64ShrU(); fb.i64Const(0xff).i64And(); break;
      case 2: fb.i64Const(0xffff).i64And(); break;
      case 4: fb.i64Const(0xffffffff).i64And(); break;
      default: break;
    }
  }
  /** Write value in local v to a GPR with x86 partial-register rules (32-bit writes zero-extend). */
  setGpr(r: number, size: number, highByte: boolean, v: I64): void {
    const fb = this.fb, R = this.reg(r);
    this.written.add(r);
    switch (size) {
      case 1:
        if (highByte) fb.get(R).i64Const(~0xff00).i64And().get(v).i64Const(0xff).i64And().i64Const(8).i64Shl().i64Or().set(R);
        else fb.get(R).i64Const(~0xff).i64And().get(v).i64Const(0xff).i64And().i64Or().set(R);
        break;
      case 2: fb.get(R).i64Const(~0xffff).i64And().get(v).i64Const(0xffff).i64And().i64Or().set(R); break;
      case 4: fb.get(v).i64Const(0xffffffff).i64And().set(R); break;
      default: fb.get(v).set(R); break;
    }
  }

  /** Push the linear address of a memory operand (64-bit mode). */
  genAddr(op: Operand, next: bigint): void {
    const fb = this.fb;
    const disp = (BigInt(op.dispHi) << 32n) | BigInt(op.disp >>> 0);
    if (op.base === BASE_RIP) fb.i64Const(BigInt.asIntN(64, next + disp));
    else {
      if (op.base !== NO_REG) fb.get(this.reg(op.base)); else fb.i64Const(0);
      if (op.index !== NO_REG) {
        fb.get(this.reg(op.index));
        if (op.scale > 1) fb.i64Const(Math.log2(op.scale)).i64Shl();
        fb.i64Add();
      }
      if (disp !== 0n) fb.i64Const(BigInt.asIntN(64, disp)).i64Add();
    }
    if (op.addrSize === 32) fb.i64Const(0xffffffff).i64And();
    else if (op.addrSize === 16) fb.i64Const(0xffff).i64And();
    if (op.seg === 4 || op.seg === 5) fb.get(this.base).i64Load(S.SEG + op.seg * SEG_BYTES + SEGF_BASE).i64Add();
  }

  /**
   * Leave at the instruction being emitted without having done any of it:
   * RIP = that instruction, and the budget the block charged for it and the
   * instructions after it is given back.
   */
  private exitBefore(faultRip: bigint): void {
    const fb = this.fb;
    if (this.budget) fb.get(this.budget).i32Const(this.insnsLeft).i32Add().set(this.budget);
    fb.i64Const(BigInt.asIntN(64, faultRip)).set(this.rip).br(this.exit);
  }
  /**
   * The slow path of an inline memory access (TLB miss, page crossing, MMIO,
   * a watched page, a store to a page holding code): leave with Exit.SLOW and
   * the run loop executes the instruction in the executor. Leaving rather than
   * calling a helper keeps calls out of the hot path: a wasm call clobbers
   * every register, so V8 would keep each value live across one on the stack
   * (spilled at its definition) on the fast path too.
   */
  private exitSlow(faultRip: bigint): void {
    this.fb.i32Const(Exit.SLOW).set(this.st);
    this.exitBefore(faultRip);
  }
  /** The region's budget local (emitRegion) and the instructions of the current block from the one being emitted on. */
  budget: I32 | undefined;
  insnsLeft = 0;

  private hostLoad(size: number): void {
    const fb = this.fb;
    switch (size) { case 1: fb.i64Load8U(); break; case 2: fb.i64Load16U(); break; case 4: fb.i64Load32U(); break; default: fb.i64Load(); }
  }
  private hostStore(size: number): void {
    const fb = this.fb;
    switch (size) { case 1: fb.i64Store8(); break; case 2: fb.i64Store16(); break; case 4: fb.i64Store32(); break; default: fb.i64Store(); }
  }

  /** Push the value (i64, zero-extended) of `size` bytes at the address in `a`. */
  private countAccess(): void {
    if (!this.opts.profile) return;
    this.fb.get(this.base).get(this.base).i64Load(S.MEM_ACCESSES).i64Const(1).i64Add().i64Store(S.MEM_ACCESSES);
  }

  /** e = the TLB entry of the page of `a` (base-relative offsets are in the load/store immediates). */
  tlbIndex(a: I64, e: I32): void {
    // ((a >> 12) & (TLB_ENTRIES - 1)) * 32 as one shift and mask
    this.fb.get(a).i32WrapI64().i32Const(12 - 5).i32ShrU().i32Const((4095) << 5).i32And().get(this.base).i32Add().tee(e);
  }
  /**
   * With the entry address on the stack: branch to `slow` unless the tag
   * matches the page of the LAST byte (a + size - 1): one compare rejects a
   * TLB miss and an access that crosses into the next page alike.
   */
  tlbTagCheck(a: I64, size: number, tag: number, slow: Label): void {
    const fb = this.fb;
    fb.i64Load(this.tlb + tag).get(a);
    if (size > 1) fb.i64Const(size - 1).i64Add();
    fb.i64Const(~0xfff).i64And().i64Ne().brIf(slow);
  }

  genLoad(a: I64, size: number, faultRip: bigint): void {
    const fb = this.fb;
    this.countAccess();
    const e = fb.local('i32');
    const done = fb.block('i64');
    const slow = fb.block();
    this.tlbIndex(a, e);
    this.tlbTagCheck(a, size, TLBE_TAG_READ, slow);
    fb.get(e).i32Load(this.tlb + TLBE_ADDEND).get(a).i32WrapI64().i32Add();
    this.hostLoad(size);
    fb.br(done);
    fb.end();
    this.exitSlow(faultRip);
    fb.end();
    fb.release(e);
  }

  /** Store the low `size` bytes of local v at the address in `a`. */
  genStore(a: I64, size: number, v: I64, faultRip: bigint): void {
    const fb = this.fb;
    this.countAccess();
    const e = fb.local('i32');
    const done = fb.block();
    const slow = fb.block();
    this.tlbIndex(a, e);
    this.tlbTagCheck(a, size, TLBE_TAG_WRITE, slow);
    fb.get(e).i32Load(this.tlb + TLBE_ADDEND).get(a).i32WrapI64().i32Add();
    fb.get(v);
    this.hostStore(size);
    fb.br(done);
    fb.end();
    this.exitSlow(faultRip);
    fb.end();
    fb.release(e);
  }

  /** Operand read into a fresh local (zero-extended). `addr` caches a memory operand's address. */
  readOp(op: Operand, next: bigint, rip: bigint, addr: I64 | undefined): I64 {
    const fb = this.fb;
    const v = fb.local('i64');
    switch (op.kind) {
      case OpKind.REG: this.getGpr(op); break;
      case OpKind.IMM: {
        const imm = (BigInt(op.immHi) << 32n) | BigInt(op.imm >>> 0);
        fb.i64Const(BigInt.asIntN(64, BigInt.asUintN(op.size * 8, imm)));
        break;
      }
      case OpKind.MEM: this.genLoad(addr!, op.size, rip); break;
      default: fb.i64Const(0); break;
    }
    fb.set(v);
    void next;
    return v;
  }
  writeOp(op: Operand, v: I64, rip: bigint, addr: I64 | undefined): void {
    if (op.kind === OpKind.REG) this.setGpr(op.reg, op.size, op.highByte, v);
    else this.genStore(addr!, op.size, v, rip);
  }
  addrOf(op: Operand, next: bigint): I64 | undefined {
    if (op.kind !== OpKind.MEM) return undefined;
    const a = this.fb.local('i64');
    this.genAddr(op, next);
    this.fb.set(a);
    return a;
  }

  setFlags(kind: number, size: number, a: I64 | undefined, b: I64 | bigint | undefined, res: I64, aux?: I32 | number): void {
    const fb = this.fb;
    this.flagsWritten = true;
    fb.i32Const(flOp(kind as FlKind, size)).set(this.flOpL);
    if (a) fb.get(a).set(this.flA);
    if (typeof b === 'bigint') fb.i64Const(b).set(this.flB); else if (b) fb.get(b).set(this.flB);
    fb.get(res).set(this.flRes);
    if (typeof aux === 'number') fb.i32Const(aux).set(this.flAux); else if (aux) fb.get(aux).set(this.flAux);
    this.known = { kind, size };
  }

  /** Push CF (i32 0/1) of the current flags. */
  genCF(): void { this.genCond(2); }

  /** Push condition cc (0/1). Fast paths for SUB and LOGIC records of known size. */
  genCond(cc: number): void {
    const fb = this.fb;
    const k = this.known;
    if (k && (k.kind === FlKind.SUB || k.kind === FlKind.LOGIC) && k.size === 8) {
      const base = cc >> 1;
      if (k.kind === FlKind.SUB) {
        const cmp = (signedOp: () => void): void => { fb.get(this.flA).get(this.flB); signedOp(); };
        let handled = true;
        switch (base) {
          case 1: cmp(() => fb.i64LtU()); break;
          case 2: cmp(() => fb.i64Eq()); break;
          case 3: cmp(() => fb.i64LeU()); break;
          case 4: fb.get(this.flRes).i64Const(0).i64LtS(); break;
          case 6: cmp(() => fb.i64LtS()); break;
          case 7: cmp(() => fb.i64LeS()); break;
          default: handled = false;
        }
        if (handled) { if (cc & 1) fb.i32Eqz(); return; }
      } else {
        let handled = true;
        switch (base) {
          case 0: case 1: fb.i32Const(0); break;
          case 2: case 3: fb.get(this.flRes).i64Eqz(); break;
          case 4: case 6: fb.get(this.flRes).i64Const(0).i64LtS(); break;
          case 7: fb.get(this.flRes).i64Const(0).i64LeS(); break;
          default: handled = false;
        }
        if (handled) { if (cc & 1) fb.i32Eqz(); return; }
      }
    }
    if (k && (k.kind === FlKind.SUB || k.kind === FlKind.LOGIC) && k.size === 4 && (cc >> 1) !== 5 && (cc >> 1) !== 0) {
      const A = (): void => { fb.get(this.flA).i32WrapI64(); };
      const B = (): void => { fb.get(this.flB).i32WrapI64(); };
      const R = (): void => { fb.get(this.flRes).i32WrapI64(); };
      const base = cc >> 1;
      let handled = true;
      if (k.kind === FlKind.SUB) {
        switch (base) {
          case 1: A(); B(); fb.i32LtU(); break;
          case 2: A(); B(); fb.i32Eq(); break;
          case 3: A(); B(); fb.i32LeU(); break;
          case 4: R(); fb.i32Const(0).i32LtS(); break;
          case 6: A(); B(); fb.i32LtS(); break;
          case 7: A(); B(); fb.i32LeS(); break;
          default: handled = false;
        }
      } else {
        switch (base) {
          case 1: fb.i32Const(0); break;
          case 2: case 3: R(); fb.i32Eqz(); break;
          case 4: case 6: R(); fb.i32Const(0).i32LtS(); break;
          case 7: R(); fb.i32Const(0).i32LeS(); break;
          default: handled = false;
        }
      }
      if (handled) { if (cc & 1) fb.i32Eqz(); return; }
    }
    if (k && k.kind === FlKind.SUB && (k.size === 1 || k.size === 2) && (cc >> 1) !== 5 && (cc >> 1) !== 0 && (cc >> 1) !== 4) {
      // 8/16-bit compares: a and b are zero-extended in the record; signed orders after sign-extension.
      const sx = (l: I64): void => { fb.get(l); if (k.size === 1) fb.i64Extend8S(); else fb.i64Extend16S(); };
      switch (cc >> 1) {
        case 1: fb.get(this.flA).get(this.flB).i64LtU(); break;
        case 2: fb.get(this.flA).get(this.flB).i64Eq(); break;
        case 3: fb.get(this.flA).get(this.flB).i64LeU(); break;
        case 6: sx(this.flA); sx(this.flB); fb.i64LtS(); break;
        default: sx(this.flA); sx(this.flB); fb.i64LeS(); break;
      }
      if (cc & 1) fb.i32Eqz();
      return;
    }
    // ZF / SF of any arithmetic record of known size come from the result alone.
    if (k && k.kind !== FlKind.EXPLICIT && k.kind !== FlKind.MUL && ((cc >> 1) === 2 || (cc >> 1) === 4)) {
      fb.get(this.flRes);
      if (k.size < 8) fb.i64Const(64 - k.size * 8).i64Shl();
      if ((cc >> 1) === 2) fb.i64Eqz(); else fb.i64Const(0).i64LtS();
      if (cc & 1) fb.i32Eqz();
      return;
    }
    this.flagsTouched = true;
    if ((cc >> 1) === 1) { this.genCFAnyRecord(); if (cc & 1) fb.i32Eqz(); return; }
    fb.i32Const(cc).get(this.flOpL).get(this.flA).get(this.flB).get(this.flRes).get(this.flAux).callHelper(this.fnCond);
  }

  /**
   * Push (i32) the ZF SF AF PF bits of the current record when its kind is
   * known at translation time (flags.ts arithFlags rules); false when not.
   */
  genKeptStatusFlags(): boolean {
    const k = this.known;
    if (!k || k.kind === FlKind.MUL) return false;
    const fb = this.fb;
    if (k.kind === FlKind.EXPLICIT) { fb.get(this.flA).i32WrapI64().i32Const(0x4 | 0x10 | 0x40 | 0x80).i32And(); return true; }
    const bits = k.size * 8;
    // ZF, SF of the result at its size
    fb.get(this.flRes);
    if (bits < 64) fb.i64Const(64 - bits).i64Shl();
    fb.i64Eqz().i32Const(6).i32Shl();
    fb.get(this.flRes).i64Const(bits - 1).i64ShrU().i32WrapI64().i32Const(1).i32And().i32Const(7).i32Shl().i32Or();
    // PF: even parity of the low byte
    fb.get(this.flRes).i32WrapI64().i32Const(0xff).i32And().i32Popcnt().i32Const(1).i32And().i32Const(1).i32Xor().i32Const(2).i32Shl().i32Or();
    // AF: bit 4 of a ^ b ^ res (0 for logic)
    if (k.kind !== FlKind.LOGIC) fb.get(this.flA).get(this.flB).i64Xor().get(this.flRes).i64Xor().i32WrapI64().i32Const(0x10).i32And().i32Or();
    return true;
  }

  /**
   * Push CF of whatever record the flags locals hold (kind known only at run
   * time: the first INC/DEC/ADC/SBB or JB/JAE of a block), branch-free and
   * without calling `cond`: a call in a loop body makes V8 spill every live
   * value (see exitSlow), and `dec ecx; jnz` loops start blocks. Same rules
   * as flags.ts arithFlags: operands normalised to the top of 64 bits.
   */
  private genCFAnyRecord(): void {
    const fb = this.fb;
    const sh = fb.local('i64'), an = fb.local('i64'), rn = fb.local('i64'), k = fb.local('i32'), carry = fb.local('i32');
    // sh = 64 - (8 << size index)
    fb.i64Const(64).i64Const(8).get(this.flOpL).i32Const(3).i32And().i64ExtendI32U().i64Shl().i64Sub().set(sh);
    fb.get(this.flA).get(sh).i64Shl().set(an);
    fb.get(this.flRes).get(sh).i64Shl().set(rn);
    fb.get(this.flOpL).i32Const(2).i32ShrU().set(k);
    fb.get(this.flAux).i32Const(1).i32And().set(carry);
    // (select(x, y, c) is c ? x : y)
    // ADD/ADC (kinds 1, 2): res < a, or res == a with a carry in for ADC
    fb.get(rn).get(an).i64LtU();
    fb.get(rn).get(an).i64Eq().get(carry).i32And().get(k).i32Const(FlKind.ADC).i32Eq().i32And().i32Or();
    // SUB/SBB (kinds 3, 4): a < b, or a == b with a carry in for SBB
    fb.get(an).get(this.flB).get(sh).i64Shl().i64LtU();
    fb.get(an).get(this.flB).get(sh).i64Shl().i64Eq().get(carry).i32And().get(k).i32Const(FlKind.SBB).i32Eq().i32And().i32Or();
    fb.get(k).i32Const(FlKind.ADC).i32LeU().select();
    // LOGIC: 0; INC, DEC, MUL: the aux bit
    fb.i32Const(0).get(carry).get(k).i32Const(FlKind.LOGIC).i32Eq().select();
    fb.get(k).i32Const(FlKind.SBB).i32LeU().select();
    // EXPLICIT (kind 0): bit 0 of the flags value
    fb.get(this.flA).i32WrapI64().i32Const(1).i32And().get(k).select();
    fb.release(sh); fb.release(an); fb.release(rn); fb.release(k); fb.release(carry);
  }

  /**
   * Executor calls: the registers and flags the executor may read must be in
   * the state block, and what it may have changed must be reloaded after.
   * Which registers the block keeps in locals is only known once the whole
   * region is emitted (a later block, or a loop back edge, may write more), so
   * both are placeholders filled in by resolveSpills with the final sets:
   * store every register the region writes, reload every register it uses.
   */
  flushForHelper(ripOfInsn: bigint): void {
    this.spills.push({ pos: this.fb.code.length, reload: false });
    this.fb.get(this.base).i64Const(BigInt.asIntN(64, ripOfInsn)).i64Store(S.RIP);
  }
  readonly spills: Array<{ pos: number; reload: boolean }> = [];
  /** Replace the placeholders in `code` (the function body, positions as recorded) with the final spill code. */
  resolveSpills(code: number[]): number[] {
    if (this.spills.length === 0) return code;
    const fb = this.fb;
    const flags = this.flagsTouched || this.flagsWritten;
    const gen = (reload: boolean): number[] => {
      const start = fb.code.length;
      if (reload) {
        for (const r of this.used) fb.get(this.base).i64Load(S.GPR + r * 8).set(this.regs[r]!);
        if (flags) this.loadFlags();
      } else {
        for (const r of this.written) fb.get(this.base).get(this.regs[r]!).i64Store(S.GPR + r * 8);
        this.storeFlags();
      }
      return fb.code.splice(start);
    };
    const store = gen(false), load = gen(true);
    const out: number[] = [];
    let at = 0;
    for (const sp of this.spills) {
      for (let i = at; i < sp.pos; i++) out.push(code[i]!);
      for (const b of sp.reload ? load : store) out.push(b);
      at = sp.pos;
    }
    for (let i = at; i < code.length; i++) out.push(code[i]!);
    return out;
  }
  storeFlags(): void {
    if (!this.flagsWritten) return;
    const fb = this.fb, b = this.base;
    fb.get(b).get(this.flOpL).i32Store(S.FL_OP);
    fb.get(b).get(this.flAux).i32Store(S.FL_AUX);
    fb.get(b).get(this.flA).i64Store(S.FL_A);
    fb.get(b).get(this.flB).i64Store(S.FL_B);
    fb.get(b).get(this.flRes).i64Store(S.FL_RES);
  }
  loadFlags(): void {
    const fb = this.fb, b = this.base;
    fb.get(b).i32Load(S.FL_OP).set(this.flOpL);
    fb.get(b).i32Load(S.FL_AUX).set(this.flAux);
    fb.get(b).i64Load(S.FL_A).set(this.flA);
    fb.get(b).i64Load(S.FL_B).set(this.flB);
    fb.get(b).i64Load(S.FL_RES).set(this.flRes);
  }
  /** After an executor call: reload what it may have changed (placeholder, see flushForHelper). */
  reloadAll(): void {
    this.spills.push({ pos: this.fb.code.length, reload: true });
    this.known = undefined;
  }
}

/** Inline instructions that write all six status flags unconditionally (SDM: CF OF SF ZF AF PF defined or set). */
const FLAG_KILLERS = new Set<number>([Mn.ADD, Mn.SUB, Mn.CMP, Mn.AND, Mn.OR, Mn.XOR, Mn.TEST, Mn.ADC, Mn.SBB, Mn.NEG]);

/**
 * For each instruction of a block: are its flags dead, that is overwritten by
 * a later instruction of the block that writes all six status flags, with
 * nothing in between (that one included) reading flags, faulting (an
 * exception handler sees RFLAGS), calling the executor or leaving the block?
 * Then the translator skips computing them (shifts and BT compute them
 * eagerly; 64-bit IMUL's overflow check divides).
 */
function flagsDeadAfter(insns: readonly BlockInsn[]): boolean[] {
  const dead = insns.map(() => false);
  const canFault = (i: Instruction): boolean => {
    if (i.mn === Mn.LEA) return false;
    for (let k = 0; k < i.opCount; k++) if (i.ops[k]!.kind === OpKind.MEM) return true;
    return i.mn === Mn.PUSH || i.mn === Mn.POP || i.mn === Mn.CALL || i.mn === Mn.RET;
  };
  for (let i = 0; i < insns.length; i++) {
    const bi = insns[i]!;
    if (bi.helper >= 0 || bi.insn.flagsWritten === 0) continue;
    for (let j = i + 1; j < insns.length; j++) {
      const bj = insns[j]!;
      if (bj.helper >= 0 || bj.fallback !== undefined || bj.insn.flow !== Flow.NONE) break;
      if (bj.insn.flagsRead !== 0 || canFault(bj.insn)) break;
      // INC/DEC carry CF over from the record before them: they read it in this translator.
      if (bj.insn.mn === Mn.INC || bj.insn.mn === Mn.DEC) break;
      if (FLAG_KILLERS.has(bj.insn.mn)) { dead[i] = true; break; }
    }
  }
  return dead;
}

/**
 * Emit a region: blocks (each a straight-line run of instructions ending in a
 * branch, an executor call that ends blocks, or a size limit) as one function.
 *
 *   prologue: load the registers and flags the region uses, the budget
 *   block $exit
 *     loop $dispatch                  ;; only with several blocks
 *       block $bN-1 ... block $b0
 *         br_table $b0 .. $bN-1 (idx)  ;; idx = entry parameter, then successors
 *       end  <block 0 code>            ;; falls into block 1 when that is its successor
 *       end  <block 1 code> ...
 *     end
 *   end
 *   epilogue: store the budget, written registers, flags, RIP; return the exit code
 *
 * A forward transition to a block of the region is a plain branch to the end
 * of that block's label (where its code starts); a backward one (to a block at
 * or before the current one in address order, which every cycle has) checks
 * that budget is left and no host request is pending, as the dispatcher would
 * between blocks, then sets idx and branches to $dispatch. RET compares the popped
 * address with the region's return sites (blocks right after a CALL).
 * Everything else sets RIP and leaves through the epilogue.
 */
function emitRegion(tx: Tx, blocks: ReadonlyArray<readonly BlockInsn[]>): void {
  const fb = tx.fb;
  const link = tx.opts.link !== false && tx.opts.mode === 64;
  const n = blocks.length;
  const idxOf = new Map<bigint, number>();
  blocks.forEach((b, i) => { if (b[0]) idxOf.set(b[0].rip, i); });
  const returnSites: Array<{ rip: bigint; idx: number }> = [];
  if (link) {
    for (const b of blocks) {
      const last = b[b.length - 1];
      if (last && last.helper < 0 && last.insn.flow === Flow.CALL) {
        const rs = BigInt.asUintN(64, last.rip + BigInt(last.insn.length));
        const i = idxOf.get(rs);
        if (i !== undefined) returnSites.push({ rip: rs, idx: i });
      }
    }
  }
  const budget = tx.budget = fb.local('i32');
  const idx = n > 1 ? fb.local('i32') : undefined;
  tx.exit = fb.block();
  let dispatch: Label | undefined;
  const labels: Label[] = [];
  if (n > 1) {
    dispatch = fb.loop();
    for (let i = n - 1; i >= 0; i--) labels[i] = fb.block();
    fb.get(idx!).brTable(labels, tx.exit);
  } else if (link) {
    dispatch = fb.loop();
  }
  /** Continue at `target` (a constant RIP) from block `from`. */
  /** The innermost `loop` of the block being emitted when it branches to itself (a self-loop skips br_table). */
  let selfLoop: Label | undefined;
  const goto = (target: bigint, from: number, fallThrough: boolean): void => {
    const t = link ? idxOf.get(target) : undefined;
    if (t === undefined) { fb.i64Const(BigInt.asIntN(64, target)).set(tx.rip).br(tx.exit); return; }
    if (t === from + 1 && fallThrough) return;
    if (t === from && selfLoop) {
      fb.get(budget).i32Const(0).i32LeS();
      fb.get(tx.base).i32Load(S.REQUEST).i32Or();
      fb.if_(); fb.i64Const(BigInt.asIntN(64, target)).set(tx.rip).br(tx.exit); fb.end();
      fb.br(selfLoop);
      return;
    }
    if (t <= from) {
      // backward: leave (RIP = target) when the budget is spent or the host asks
      fb.get(budget).i32Const(0).i32LeS();
      fb.get(tx.base).i32Load(S.REQUEST).i32Or();
      fb.if_(); fb.i64Const(BigInt.asIntN(64, target)).set(tx.rip).br(tx.exit); fb.end();
    }
    // Forward: block t's code follows the end of label t, and the code of every earlier block lies
    // inside that label, so a plain branch reaches it (no br_table, no merge at the dispatch loop).
    if (t > from && labels[t]) { fb.br(labels[t]); return; }
    if (idx) fb.i32Const(t).set(idx);
    fb.br(dispatch!);
  };
  blocks.forEach((insns, bIdx) => {
    if (n > 1) fb.end(); // close $b<bIdx>: its code follows
    // Control can arrive here from any block: nothing is known about flags or checks.
    tx.known = undefined;
    tx.sseChecked = false;
    tx.avxChecked = false;
    const lastBi = insns[insns.length - 1];
    const selfTarget = link && n > 1 && lastBi !== undefined && lastBi.helper < 0 &&
      (lastBi.insn.flow === Flow.JCC || lastBi.insn.flow === Flow.JMP) && relTarget(lastBi.insn, lastBi.rip) === insns[0]!.rip;
    selfLoop = selfTarget ? fb.loop() : undefined;
    fb.get(budget).i32Const(insns.length).i32Sub().set(budget);
    const fallThrough = bIdx < n - 1;
    let endRip = 0n;
    let ended = false;
    const dead = flagsDeadAfter(insns);
    for (let k = 0; k < insns.length; k++) {
      const bi = insns[k]!;
      const { insn, rip } = bi;
      tx.flagsDead = dead[k]!;
      tx.insnsLeft = insns.length - k;
      const next = BigInt.asUintN(64, rip + BigInt(insn.length));
      endRip = next;
      if (bi.helper >= 0) {
        tx.sseChecked = false;
        tx.avxChecked = false;
        tx.flushForHelper(rip);
        // The executor charges REP iterations to S.BUDGET: hand it the budget and take it back.
        fb.get(tx.base).get(budget).i32Store(S.BUDGET);
        fb.get(tx.base).i32Const(bi.helper).callHelper(tx.fnInterp).set(tx.st);
        fb.get(tx.base).i32Load(S.BUDGET).set(budget);
        tx.reloadAll();
        fb.get(tx.base).i64Load(S.RIP).set(tx.rip);
        // A helper that did not fall through (exception, branch, REP not finished, mode change) ends the
        // block here: give back the budget of the instructions after it (and its own if it faulted).
        fb.get(tx.st).get(tx.rip).i64Const(BigInt.asIntN(64, next)).i64Ne().i32Or();
        fb.if_();
        fb.get(budget).i32Const(tx.insnsLeft - 1).i32Add().get(tx.st).i32Const(Exit.EXCEPTION).i32Eq().i32Add().set(budget);
        fb.br(tx.exit);
        fb.end();
        if (insn.flow !== Flow.NONE) { fb.br(tx.exit); ended = true; break; }
        continue;
      }
      if (canLower(insn)) { genLowered(tx, bi, next); continue; }
      if (needsFallback(insn)) { genSse(tx, bi, next); continue; }
      if (link && insn.flow === Flow.JCC) {
        // Both successors are constants: branch on the condition instead of selecting a RIP.
        tx.genCond(insn.cond);
        fb.if_();
        goto(relTarget(insn, rip), bIdx, false);
        fb.end();
        goto(next, bIdx, fallThrough);
        ended = true;
        break;
      }
      const done = genInline(tx, insn, rip, next);
      if (done) {
        ended = true;
        if (link && (insn.flow === Flow.JMP || insn.flow === Flow.CALL)) goto(relTarget(insn, rip), bIdx, fallThrough);
        else {
          if (insn.flow === Flow.RET) {
            for (const r of returnSites) {
              fb.get(tx.rip).i64Const(BigInt.asIntN(64, r.rip)).i64Eq();
              fb.if_(); goto(r.rip, bIdx, false); fb.end();
            }
          }
          fb.br(tx.exit);
        }
        break;
      }
    }
    if (!ended) {
      // The block stopped at a size limit or after an executor call that ends blocks (mode or
      // interrupt-window changes must reach the run loop): link only after inline code.
      const last = insns[insns.length - 1];
      if (last && last.helper < 0) goto(endRip, bIdx, fallThrough);
      else fb.i64Const(BigInt.asIntN(64, endRip)).set(tx.rip).br(tx.exit);
    }
    if (selfLoop) { fb.end(); selfLoop = undefined; }
  });
  if (dispatch) fb.end(); // loop
  fb.end(); // exit
  // epilogue
  fb.get(tx.base).get(budget).i32Store(S.BUDGET);
  for (const r of tx.written) fb.get(tx.base).get(tx.regs[r]!).i64Store(S.GPR + r * 8);
  tx.storeFlags();
  fb.get(tx.base).get(tx.rip).i64Store(S.RIP);
  fb.get(tx.st);
  // prologue (spliced in front): the budget, the registers and flags the region uses
  const body = tx.resolveSpills(fb.code.splice(0, fb.code.length));
  fb.get(tx.base).i32Load(S.BUDGET).set(budget);
  if (idx) fb.get(tx.entry!).set(idx);
  for (const r of tx.used) fb.get(tx.base).i64Load(S.GPR + r * 8).set(tx.regs[r]!);
  if (tx.flagsTouched || tx.flagsWritten) tx.loadFlags();
  for (const b of body) fb.code.push(b);
}

declare module '../wasm/builder.js' {
  interface FunctionBuilder {
    /** Call a helper through its table slot (arguments already on the stack). */
    callHelper(h: HelperRef): FunctionBuilder;
  }
}
FunctionBuilder.prototype.callHelper = function (this: FunctionBuilder, h: HelperRef): FunctionBuilder { return this.i32Const(h.slot).callIndirect(h.type); };

const ALU_KIND: Partial<Record<number, number>> = {
  [Mn.ADD]: FlKind.ADD, [Mn.SUB]: FlKind.SUB, [Mn.CMP]: FlKind.SUB, [Mn.AND]: FlKind.LOGIC, [Mn.TEST]: FlKind.LOGIC,
  [Mn.OR]: FlKind.LOGIC, [Mn.XOR]: FlKind.LOGIC, [Mn.ADC]: FlKind.ADC, [Mn.SBB]: FlKind.SBB,
};

/** Inline one instruction; returns true when it ends the block (it set tx.rip). */
function genInline(tx: Tx, insn: Instruction, rip: bigint, next: bigint): boolean {
  const fb = tx.fb;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!, o2 = insn.ops[2]!;
  const size = o0.size;
  const mask = (v: I64, sz: number): void => {
    if (sz < 8) fb.get(v).i64Const(BigInt.asIntN(64, (1n << BigInt(sz * 8)) - 1n)).i64And().set(v);
  };
  const release = (...ls: Array<I64 | I32 | undefined>): void => { for (const l of ls) if (l) fb.release(l); };
  switch (insn.mn) {
    case Mn.NOP: case Mn.PAUSE: case Mn.ENDBR64: return false;
    case Mn.MOV: {
      const a0 = tx.addrOf(o0, next), a1 = tx.addrOf(o1, next);
      const v = tx.readOp(o1, next, rip, a1);
      tx.writeOp(o0, v, rip, a0);
      release(a0, a1, v);
      return false;
    }
    case Mn.MOVZX: case Mn.MOVSX: case Mn.MOVSXD: {
      const a1 = tx.addrOf(o1, next);
      const v = tx.readOp(o1, next, rip, a1);
      if (insn.mn !== Mn.MOVZX) {
        fb.get(v);
        if (o1.size === 1) fb.i64Extend8S(); else if (o1.size === 2) fb.i64Extend16S(); else if (o1.size === 4) fb.i64Extend32S();
        fb.set(v);
      }
      tx.setGpr(o0.reg, size, false, v);
      release(a1, v);
      return false;
    }
    case Mn.LEA: {
      const v = fb.local('i64');
      const disp = (BigInt(o1.dispHi) << 32n) | BigInt(o1.disp >>> 0);
      if (o1.base === BASE_RIP) fb.i64Const(BigInt.asIntN(64, next + disp));
      else {
        if (o1.base !== NO_REG) fb.get(tx.reg(o1.base)); else fb.i64Const(0);
        if (o1.index !== NO_REG) { fb.get(tx.reg(o1.index)); if (o1.scale > 1) fb.i64Const(Math.log2(o1.scale)).i64Shl(); fb.i64Add(); }
        if (disp !== 0n) fb.i64Const(BigInt.asIntN(64, disp)).i64Add();
      }
      if (o1.addrSize === 32) fb.i64Const(0xffffffff).i64And();
      fb.set(v);
      tx.setGpr(o0.reg, size, false, v);
      release(v);
      return false;
    }
    case Mn.ADD: case Mn.SUB: case Mn.CMP: case Mn.AND: case Mn.TEST: case Mn.OR: case Mn.XOR: case Mn.ADC: case Mn.SBB: {
      const kind = ALU_KIND[insn.mn]!;
      const a0 = tx.addrOf(o0, next), a1 = tx.addrOf(o1, next);
      // xor r, r / sub r, r: the result does not depend on the old value
      const a = tx.readOp(o0, next, rip, a0);
      const b = tx.readOp(o1, next, rip, a1);
      const r = fb.local('i64');
      let cin: I32 | undefined;
      if (kind === FlKind.ADC || kind === FlKind.SBB) { cin = fb.local('i32'); tx.genCF(); fb.set(cin); }
      fb.get(a).get(b);
      switch (insn.mn) {
        case Mn.ADD: fb.i64Add(); break;
        case Mn.ADC: fb.i64Add().get(cin!).i64ExtendI32U().i64Add(); break;
        case Mn.SUB: case Mn.CMP: fb.i64Sub(); break;
        case Mn.SBB: fb.i64Sub().get(cin!).i64ExtendI32U().i64Sub(); break;
        case Mn.AND: case Mn.TEST: fb.i64And(); break;
        case Mn.OR: fb.i64Or(); break;
        default: fb.i64Xor(); break;
      }
      fb.set(r);
      mask(r, size);
      if (insn.mn !== Mn.CMP && insn.mn !== Mn.TEST) tx.writeOp(o0, r, rip, a0);
      if (!tx.flagsDead) tx.setFlags(kind, size, a, b, r, cin ?? 0);
      release(a0, a1, a, b, r, cin);
      return false;
    }
    case Mn.INC: case Mn.DEC: {
      const a0 = tx.addrOf(o0, next);
      const a = tx.readOp(o0, next, rip, a0);
      const r = fb.local('i64');
      fb.get(a).i64Const(1);
      if (insn.mn === Mn.INC) fb.i64Add(); else fb.i64Sub();
      fb.set(r);
      mask(r, size);
      const cin = fb.local('i32');
      if (!tx.flagsDead) { tx.genCF(); fb.set(cin); }
      tx.writeOp(o0, r, rip, a0);
      if (!tx.flagsDead) tx.setFlags(insn.mn === Mn.INC ? FlKind.INC : FlKind.DEC, size, a, 1n, r, cin);
      release(a0, a, r, cin);
      return false;
    }
    case Mn.NEG: case Mn.NOT: {
      const a0 = tx.addrOf(o0, next);
      const a = tx.readOp(o0, next, rip, a0);
      const r = fb.local('i64');
      if (insn.mn === Mn.NEG) fb.i64Const(0).get(a).i64Sub(); else fb.get(a).i64Const(-1).i64Xor();
      fb.set(r);
      mask(r, size);
      tx.writeOp(o0, r, rip, a0);
      if (insn.mn === Mn.NEG && !tx.flagsDead) {
        const z = fb.local('i64'); fb.i64Const(0).set(z);
        tx.setFlags(FlKind.SUB, size, z, a, r, 0);
        release(z);
      }
      release(a0, a, r);
      return false;
    }
    case Mn.MUL: genMulWide(tx, insn, rip, next, false); return false;
    case Mn.CBW: case Mn.CWDE: case Mn.CDQE: {
      // AX = sext(AL), EAX = sext(AX), RAX = sext(EAX)
      const v = fb.local('i64');
      fb.get(tx.reg(0));
      if (insn.mn === Mn.CBW) fb.i64Extend8S(); else if (insn.mn === Mn.CWDE) fb.i64Extend16S(); else fb.i64Extend32S();
      fb.set(v);
      tx.setGpr(0, insn.mn === Mn.CBW ? 2 : insn.mn === Mn.CWDE ? 4 : 8, false, v);
      release(v);
      return false;
    }
    case Mn.CWD: case Mn.CDQ: case Mn.CQO: {
      // DX/EDX/RDX = the sign of AX/EAX/RAX, repeated
      const bits = insn.mn === Mn.CWD ? 16 : insn.mn === Mn.CDQ ? 32 : 64;
      const v = fb.local('i64');
      fb.get(tx.reg(0)).i64Const(64 - bits).i64Shl().i64Const(63).i64ShrS().set(v);
      tx.setGpr(2, bits / 8, false, v);
      release(v);
      return false;
    }
    case Mn.XCHG: case Mn.XADD: {
      // XCHG r/m, r; XADD r/m, r (SDM: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP; flags of the ADD). One
      // thread runs every vCPU, so the implicit LOCK needs nothing more. A memory operand is stored first:
      // its slow-path exit then leaves with nothing written.
      const a0 = tx.addrOf(o0, next);
      const d = tx.readOp(o0, next, rip, a0), sv = tx.readOp(o1, next, rip, undefined);
      let r = sv;
      if (insn.mn === Mn.XADD) { r = fb.local('i64'); fb.get(d).get(sv).i64Add().set(r); mask(r, size); }
      if (o0.kind === OpKind.MEM) { tx.writeOp(o0, r, rip, a0); tx.setGpr(o1.reg, size, o1.highByte, d); }
      else { tx.setGpr(o1.reg, size, o1.highByte, d); tx.setGpr(o0.reg, size, o0.highByte, r); }
      if (insn.mn === Mn.XADD && !tx.flagsDead) tx.setFlags(FlKind.ADD, size, d, sv, r, 0);
      release(a0, d, sv);
      if (r !== sv) release(r);
      return false;
    }
    case Mn.CMPXCHG: {
      // SDM CMPXCHG: accumulator = DEST ? (ZF = 1, DEST = SRC) : (ZF = 0, accumulator = DEST); a memory
      // destination is written either way (old value back when unequal); flags of CMP accumulator, DEST.
      const a0 = tx.addrOf(o0, next);
      const d = tx.readOp(o0, next, rip, a0), sv = tx.readOp(o1, next, rip, undefined);
      const acc = fb.local('i64'), eq = fb.local('i32');
      tx.getGpr({ ...o0, kind: OpKind.REG, reg: 0, highByte: false } as Operand); fb.set(acc);
      fb.get(acc).get(d).i64Eq().set(eq);
      if (o0.kind === OpKind.MEM) {
        const w = fb.local('i64');
        fb.get(sv).get(d).get(eq).select().set(w);
        tx.writeOp(o0, w, rip, a0);
        release(w);
      }
      fb.get(eq).if_();
      if (o0.kind === OpKind.REG) tx.setGpr(o0.reg, size, o0.highByte, sv);
      fb.else_();
      tx.setGpr(0, size, false, d);
      fb.end();
      if (!tx.flagsDead) {
        const r = fb.local('i64');
        fb.get(acc).get(d).i64Sub().set(r);
        mask(r, size);
        tx.setFlags(FlKind.SUB, size, acc, d, r, 0);
        release(r);
      }
      release(a0, d, sv, acc, eq);
      return false;
    }
    case Mn.IMUL: {
      if (insn.opCount === 1) { genMulWide(tx, insn, rip, next, true); return false; }
      // 2/3-operand IMUL r, r/m(, imm): CF = OF = the signed product does not fit.
      const src1 = insn.opCount === 3 ? o1 : o0, src2 = insn.opCount === 3 ? o2 : o1;
      const a1 = tx.addrOf(o1, next);
      const x = tx.readOp(src1, next, rip, src1 === o1 ? a1 : undefined);
      const y = tx.readOp(src2, next, rip, src2 === o1 ? a1 : undefined);
      const r = fb.local('i64'), ovf = fb.local('i32');
      if (size === 4) {
        fb.get(x).i64Extend32S().get(y).i64Extend32S().i64Mul().tee(r);
        fb.get(r).i64Extend32S().i64Ne().set(ovf);
      } else {
        // overflow iff the high half differs from the sign of the low half: use a 128-bit check via splits
        fb.get(x).get(y).i64Mul().set(r);
        if (!tx.flagsDead) genMulOverflow64(tx, x, y, r, ovf);
      }
      mask(r, size);
      tx.setGpr(o0.reg, size, false, r);
      if (!tx.flagsDead) tx.setFlags(FlKind.MUL, size, undefined, undefined, r, ovf);
      release(a1, x, y, r, ovf);
      return false;
    }
    case Mn.PUSH: {
      const v = o0.kind === OpKind.IMM ? tx.readOp({ ...o0, size: 8 } as Operand, next, rip, undefined) : tx.readOp(o0, next, rip, undefined);
      const a = fb.local('i64');
      fb.get(tx.reg(4)).i64Const(8).i64Sub().set(a);
      tx.genStore(a, 8, v, rip);
      fb.get(a).set(tx.reg(4)); tx.written.add(4);
      release(v, a);
      return false;
    }
    case Mn.POP: {
      const a = fb.local('i64');
      fb.get(tx.reg(4)).set(a);
      tx.genLoad(a, 8, rip);
      const v = fb.local('i64'); fb.set(v);
      fb.get(a).i64Const(8).i64Add().set(tx.reg(4)); tx.written.add(4);
      tx.setGpr(o0.reg, 8, false, v);
      release(a, v);
      return false;
    }
    case Mn.CALL: {
      // CALL r/m64: the target is read before the push (it may be addressed through RSP); a slow-path
      // exit at the read or the push leaves with nothing done (RSP is written last).
      let target: I64 | undefined;
      if (insn.flow === Flow.CALL_IND) target = tx.readOp(o0, next, rip, tx.addrOf(o0, next));
      const ret = fb.local('i64'); fb.i64Const(BigInt.asIntN(64, next)).set(ret);
      const a = fb.local('i64');
      fb.get(tx.reg(4)).i64Const(8).i64Sub().set(a);
      tx.genStore(a, 8, ret, rip);
      fb.get(a).set(tx.reg(4)); tx.written.add(4);
      if (target) fb.get(target).set(tx.rip);
      else fb.i64Const(BigInt.asIntN(64, relTarget(insn, rip))).set(tx.rip);
      return true;
    }
    case Mn.RET: {
      const a = fb.local('i64');
      fb.get(tx.reg(4)).set(a);
      tx.genLoad(a, 8, rip);
      fb.set(tx.rip);
      fb.get(a).i64Const(8).i64Add().set(tx.reg(4)); tx.written.add(4);
      return true;
    }
    case Mn.JMP: {
      if (insn.flow === Flow.JMP) { fb.i64Const(BigInt.asIntN(64, relTarget(insn, rip))).set(tx.rip); return true; }
      const a0 = tx.addrOf(o0, next);
      const v = tx.readOp(o0, next, rip, a0);
      fb.get(v).set(tx.rip);
      return true;
    }
    case Mn.SHL: case Mn.SAL: case Mn.SHR: case Mn.SAR: case Mn.ROL: case Mn.ROR:
      genShift(tx, insn, rip, next);
      return false;
    case Mn.BT: case Mn.BTS: case Mn.BTR: case Mn.BTC: {
      // SDM BT: CF = the selected bit (offset mod operand width); ZF unchanged; OF SF AF PF undefined (kept).
      const a = tx.readOp(o0, next, rip, undefined);
      const n = tx.readOp(o1, next, rip, undefined);
      fb.get(n).i64Const(size * 8 - 1).i64And().set(n);
      const bit = fb.local('i64');
      fb.get(a).get(n).i64ShrU().i64Const(1).i64And().set(bit);
      if (insn.mn !== Mn.BT) {
        const m = fb.local('i64');
        fb.i64Const(1).get(n).i64Shl().set(m);
        fb.get(a).get(m);
        if (insn.mn === Mn.BTS) fb.i64Or(); else if (insn.mn === Mn.BTC) fb.i64Xor(); else { fb.i64Const(-1).i64Xor().i64And(); }
        fb.set(a);
        tx.setGpr(o0.reg, size, false, a);
        release(m);
      }
      if (tx.flagsDead) { release(a, n, bit); return false; }
      fb.get(tx.flOpL).get(tx.flA).get(tx.flB).get(tx.flRes).get(tx.flAux).callHelper(tx.fnFlags);
      tx.flagsTouched = true;
      fb.i32Const(~1).i32And().get(bit).i32WrapI64().i32Or().i64ExtendI32U().set(tx.flA);
      fb.i32Const(flOp(FlKind.EXPLICIT, 1)).set(tx.flOpL);
      tx.flagsWritten = true;
      tx.known = { kind: FlKind.EXPLICIT, size: 1 };
      release(a, n, bit);
      return false;
    }
    default: break;
  }
  if (insn.flow === Flow.JCC) {
    fb.i64Const(BigInt.asIntN(64, relTarget(insn, rip))).i64Const(BigInt.asIntN(64, next));
    tx.genCond(insn.cond);
    fb.select().set(tx.rip);
    return true;
  }
  if (insn.mn >= Mn.CMOVO && insn.mn <= Mn.CMOVG) {
    const a1 = tx.addrOf(o1, next);
    const v = tx.readOp(o1, next, rip, a1);
    const cur = fb.local('i64');
    tx.getGpr(o0); fb.set(cur);
    fb.get(v).get(cur);
    tx.genCond(insn.cond);
    fb.select().set(v);
    tx.setGpr(o0.reg, size, false, v);
    release(a1, v, cur);
    return false;
  }
  if (insn.mn >= Mn.SETO && insn.mn <= Mn.SETG) {
    const a0 = tx.addrOf(o0, next);
    const v = fb.local('i64');
    tx.genCond(insn.cond);
    fb.i64ExtendI32U().set(v);
    tx.writeOp(o0, v, rip, a0);
    release(a0, v);
    return false;
  }
  throw new Error(`genInline: unhandled ${insn.mn}`);
}

/**
 * Inline SSE (see needsFallback): XMM registers stay in the state block and
 * are accessed as v128; a 16-byte memory operand is used in place when the TLB
 * maps its page for this access and it does not cross the page (nor, for
 * ATTR_ALIGN16 forms, break 16-byte alignment). Anything else runs the
 * instruction's executor helper and leaves the block after it.
 */
function genSse(tx: Tx, bi: BlockInsn, next: bigint): void {
  const { insn, rip } = bi;
  const fb = tx.fb, base = tx.base;
  if (bi.fallback === undefined) throw new Error('genSse: inline SSE needs a fallback helper');
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const xmm = (r: number): number => S.XMM + r * 16;
  const done = fb.block();
  const slow = fb.block();
  if (!tx.sseChecked) {
    // SDM Vol. 3 Table 2-2 / 13.1: CR0.EM = 1 or CR4.OSFXSR = 0 -> #UD, CR0.TS = 1 -> #NM (the executor raises them).
    fb.get(base).i64Load(S.CR0).i64Const(CR0_EM | CR0_TS).i64And().i64Const(0).i64Ne();
    fb.get(base).i64Load(S.CR4).i64Const(CR4_OSFXSR).i64And().i64Eqz().i32Or().brIf(slow);
    tx.sseChecked = true;
  }
  const memOp = o0.kind === OpKind.MEM ? o0 : o1.kind === OpKind.MEM ? o1 : undefined;
  let h: I32 | undefined;
  let a: I64 | undefined;
  if (memOp) {
    a = tx.addrOf(memOp, next)!;
    const e = fb.local('i32');
    h = fb.local('i32');
    const write = memOp === o0;
    tx.tlbIndex(a, e);
    tx.tlbTagCheck(a, 16, write ? TLBE_TAG_WRITE : TLBE_TAG_READ, slow);
    if (insn.attrs & ATTR_ALIGN16) fb.get(a).i32WrapI64().i32Const(15).i32And().brIf(slow);
    fb.get(e).i32Load(tx.tlb + TLBE_ADDEND).get(a).i32WrapI64().i32Add().set(h);
    fb.release(e);
  }
  const src = (): void => { if (o1.kind === OpKind.MEM) fb.get(h!).v128Load(0); else fb.get(base).v128Load(xmm(o1.reg)); };
  if (SSE_MOVES.has(insn.mn)) {
    if (o0.kind === OpKind.MEM) fb.get(h!).get(base).v128Load(xmm(o1.reg)).v128Store(0);
    else { fb.get(base); src(); fb.v128Store(xmm(o0.reg)); }
  } else if (SSE_ANDN.has(insn.mn)) {
    fb.get(base); src(); fb.get(base).v128Load(xmm(o0.reg)).v128Andnot().v128Store(xmm(o0.reg));
  } else if (SSE_BINOPS.has(insn.mn)) {
    fb.get(base).get(base).v128Load(xmm(o0.reg)); src(); SSE_BINOPS.get(insn.mn)!(fb); fb.v128Store(xmm(o0.reg));
  } else {
    // SDM PSLLW/PSRLW/PSRAW: counts above the lane width give 0 (logical) or the sign fill (arithmetic).
    const [bits, op, arith] = SSE_SHIFTS.get(insn.mn)!;
    const count = o1.imm & 0xff;
    fb.get(base).get(base).v128Load(xmm(o0.reg));
    if (count >= bits && !arith) fb.get(base).v128Load(xmm(o0.reg)).v128Xor();
    else fb.i32Const(Math.min(count, bits - 1)).simd(op);
    fb.v128Store(xmm(o0.reg));
  }
  fb.br(done);
  fb.end(); // slow
  tx.flushForHelper(rip);
  fb.get(base).i32Const(bi.fallback).callHelper(tx.fnInterp).set(tx.st);
  fb.get(base).i64Load(S.RIP).set(tx.rip);
  fb.br(tx.exit);
  fb.end(); // done
  if (h) fb.release(h);
  if (a) fb.release(a);
}

/**
 * One-operand MUL/IMUL (SDM "MUL", "IMUL"): AX = AL * r/m8, DX:AX = AX * r/m16,
 * EDX:EAX = EAX * r/m32, RDX:RAX = RAX * r/m64; CF = OF = the high half is
 * not 0 (MUL) / not the sign extension of the low half (IMUL); SF ZF AF PF
 * are undefined (the MUL record's rules).
 */
function genMulWide(tx: Tx, insn: Instruction, rip: bigint, next: bigint, signed: boolean): void {
  const fb = tx.fb;
  const o0 = insn.ops[0]!;
  const size = o0.size, bits = size * 8;
  const src = tx.readOp(o0, next, rip, tx.addrOf(o0, next));
  const a = fb.local('i64'), lo = fb.local('i64'), hi = fb.local('i64'), ovf = fb.local('i32');
  const sx = (l: I64): void => {
    fb.get(l);
    if (size === 1) fb.i64Extend8S(); else if (size === 2) fb.i64Extend16S(); else if (size === 4) fb.i64Extend32S();
  };
  tx.getGpr({ ...o0, kind: OpKind.REG, reg: 0, highByte: false } as Operand); fb.set(a);
  if (size < 8) {
    // the whole product fits in 64 bits
    const p = fb.local('i64');
    if (signed) { sx(a); sx(src); } else { fb.get(a).get(src); }
    fb.i64Mul().set(p);
    fb.get(p).i64Const(BigInt.asIntN(64, (1n << BigInt(bits)) - 1n)).i64And().set(lo);
    fb.get(p).i64Const(bits).i64ShrU().i64Const(BigInt.asIntN(64, (1n << BigInt(bits)) - 1n)).i64And().set(hi);
    if (signed) { fb.get(p); sx(lo); fb.i64Ne().set(ovf); } else { fb.get(hi).i64Const(0).i64Ne().set(ovf); }
    fb.release(p);
    if (size === 1) {
      fb.get(hi).i64Const(8).i64Shl().get(lo).i64Or().set(lo);
      tx.setGpr(0, 2, false, lo);
    } else { tx.setGpr(0, size, false, lo); tx.setGpr(2, size, false, hi); }
  } else {
    // 64 x 64 -> 128 from 32-bit halves: the high half of the unsigned product, corrected for signs
    const t = fb.local('i64'), mid = fb.local('i64');
    const half = (l: I64, high: boolean): void => { fb.get(l); if (high) fb.i64Const(32).i64ShrU(); else fb.i64Const(0xffffffff).i64And(); };
    fb.get(a).get(src).i64Mul().set(lo);
    half(a, false); half(src, false); fb.i64Mul().i64Const(32).i64ShrU().set(mid);       // (al*bl) >> 32
    half(a, false); half(src, true); fb.i64Mul().set(t);                                 // al*bh
    fb.get(mid).get(t).i64Const(0xffffffff).i64And().i64Add().set(mid);
    fb.get(t).i64Const(32).i64ShrU().set(hi);
    half(a, true); half(src, false); fb.i64Mul().set(t);                                 // ah*bl
    fb.get(mid).get(t).i64Const(0xffffffff).i64And().i64Add().set(mid);
    fb.get(hi).get(t).i64Const(32).i64ShrU().i64Add().set(hi);
    half(a, true); half(src, true); fb.i64Mul().get(hi).i64Add().get(mid).i64Const(32).i64ShrU().i64Add().set(hi);
    if (signed) {
      // (select(x, y, c) is c ? x : y) hi -= (a < 0 ? b : 0) + (b < 0 ? a : 0)
      fb.get(hi).get(src).i64Const(0).get(a).i64Const(0).i64LtS().select().i64Sub();
      fb.get(a).i64Const(0).get(src).i64Const(0).i64LtS().select().i64Sub().set(hi);
      fb.get(hi).get(lo).i64Const(63).i64ShrS().i64Ne().set(ovf);
    } else fb.get(hi).i64Const(0).i64Ne().set(ovf);
    fb.release(t); fb.release(mid);
    tx.setGpr(0, 8, false, lo); tx.setGpr(2, 8, false, hi);
  }
  if (!tx.flagsDead) tx.setFlags(FlKind.MUL, size, undefined, undefined, lo, ovf);
  for (const l of [src, a, lo, hi]) fb.release(l);
  fb.release(ovf);
}

/** ovf = signed 64x64 product of x, y does not fit in 64 bits (r = low product). */
function genMulOverflow64(tx: Tx, x: I64, y: I64, r: I64, ovf: I32): void {
  const fb = tx.fb;
  // If y != 0, overflow iff r / y != x (signed), or the INT64_MIN * -1 case.
  fb.get(y).i64Eqz();
  fb.if_('i32');
  fb.i32Const(0);
  fb.else_();
  fb.get(y).i64Const(-1).i64Eq();
  fb.if_('i32');
  fb.get(x).i64Const(-(1n << 63n)).i64Eq();
  fb.else_();
  fb.get(r).get(y).i64DivS().get(x).i64Ne();
  fb.end();
  fb.end();
  fb.set(ovf);
}

/**
 * SHL/SAL/SHR/SAR/ROL/ROR by imm8 or CL (SDM Vol. 2 "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR"):
 * the count is masked to 5 bits (6 for 64-bit operands); a zero count leaves
 * the flags unchanged. The flags become an EXPLICIT record (their bits).
 */
function genShift(tx: Tx, insn: Instruction, rip: bigint, next: bigint): void {
  const fb = tx.fb;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const size = o0.size, bits = size * 8;
  const mn = insn.mn === Mn.SAL ? Mn.SHL : insn.mn;
  const cmask = size === 8 ? 63 : 31;
  const a0 = tx.addrOf(o0, next);
  const a = tx.readOp(o0, next, rip, a0);
  const cnt = fb.local('i64');
  let staticCount: number | undefined;
  if (o1.kind === OpKind.IMM) {
    staticCount = o1.imm & cmask;
    fb.i64Const(staticCount).set(cnt);
  } else {
    tx.getGpr(o1); fb.i64Const(cmask).i64And().set(cnt);
  }
  if (staticCount === 0) {
    if (size === 4 && o0.kind === OpKind.REG) tx.setGpr(o0.reg, 4, false, a);
    fb.release(cnt); fb.release(a); if (a0) fb.release(a0);
    return;
  }
  const mask = BigInt.asIntN(64, (1n << BigInt(bits)) - 1n);
  const r = fb.local('i64'), cf = fb.local('i64'), of = fb.local('i64');
  const B = BigInt(bits);
  const msb = (l: I64): void => { fb.get(l).i64Const(B - 1n).i64ShrU().i64Const(1).i64And(); };
  // sign-extended operand for SAR
  const sext = (): void => {
    fb.get(a);
    if (size === 1) fb.i64Extend8S(); else if (size === 2) fb.i64Extend16S(); else if (size === 4) fb.i64Extend32S();
  };
  switch (mn) {
    case Mn.SHL:
      fb.get(a).get(cnt).i64Shl().i64Const(mask).i64And().set(r);
      // CF = last bit out = bit (bits - cnt) of a; 0 when cnt > bits (8/16-bit operands)
      fb.get(a).i64Const(B).get(cnt).i64Sub().i64ShrU().i64Const(1).i64And();
      fb.i64Const(0).get(cnt).i64Const(B).i64LeU().select().set(cf);
      msb(r); fb.get(cf).i64Xor().set(of);
      break;
    case Mn.SHR:
      fb.get(a).get(cnt).i64ShrU().set(r);
      fb.get(a).get(cnt).i64Const(1).i64Sub().i64ShrU().i64Const(1).i64And().set(cf);
      msb(a); fb.set(of);
      break;
    case Mn.SAR:
      sext(); fb.get(cnt).i64ShrS().i64Const(mask).i64And().set(r);
      sext(); fb.get(cnt).i64Const(1).i64Sub().i64ShrS().i64Const(1).i64And().set(cf);
      fb.i64Const(0).set(of);
      break;
    case Mn.ROL: case Mn.ROR: {
      const n = fb.local('i64');
      fb.get(cnt).i64Const(B).i64RemU().set(n);
      if (size === 8) { fb.get(a).get(n); if (mn === Mn.ROL) fb.i64Rotl(); else fb.i64Rotr(); fb.set(r); }
      else if (size === 4) {
        fb.get(a).i32WrapI64().get(n).i32WrapI64();
        if (mn === Mn.ROL) fb.i32Rotl(); else fb.i32Rotr();
        fb.i64ExtendI32U().set(r);
      } else {
        // (a << n | a >> (bits - n)) & mask; n = 0 gives a | (a >> bits) = a
        if (mn === Mn.ROL) fb.get(a).get(n).i64Shl().get(a).i64Const(B).get(n).i64Sub().i64ShrU().i64Or();
        else fb.get(a).get(n).i64ShrU().get(a).i64Const(B).get(n).i64Sub().i64Shl().i64Or();
        fb.i64Const(mask).i64And().set(r);
      }
      fb.release(n);
      if (mn === Mn.ROL) { fb.get(r).i64Const(1).i64And().set(cf); msb(r); fb.get(cf).i64Xor().set(of); }
      else { msb(r); fb.set(cf); msb(r); fb.get(r).i64Const(B - 2n).i64ShrU().i64Const(1).i64And().i64Xor().set(of); }
      break;
    }
    default: break;
  }
  tx.writeOp(o0, r, rip, a0);
  if (tx.flagsDead) {
    for (const l of [r, cf, of, cnt, a]) fb.release(l);
    if (a0) fb.release(a0);
    return;
  }
  // new status bits
  const nb = fb.local('i32');
  if (mn === Mn.ROL || mn === Mn.ROR) {
    // SF ZF AF PF are unchanged by rotates: from the record inline when its kind is known here (no call
    // in hash loops), else materialised by the core's `flags`.
    if (!tx.genKeptStatusFlags()) {
      fb.get(tx.flOpL).get(tx.flA).get(tx.flB).get(tx.flRes).get(tx.flAux).callHelper(tx.fnFlags);
      tx.flagsTouched = true;
      fb.i32Const(~(0x1 | 0x800)).i32And();
    }
  } else {
    // ZF SF PF from the result (AF: 0, as the executor)
    fb.get(r).i64Eqz().i32Const(6).i32Shl();
    msb(r); fb.i32WrapI64().i32Const(7).i32Shl().i32Or();
    fb.get(r).i32WrapI64().i32Const(0xff).i32And().i32Popcnt().i32Const(1).i32And().i32Const(1).i32Xor().i32Const(2).i32Shl().i32Or();
  }
  fb.get(cf).i32WrapI64().i32Or();
  fb.get(of).i32WrapI64().i32Const(11).i32Shl().i32Or();
  fb.set(nb);
  tx.flagsWritten = true;
  if (staticCount !== undefined) {
    fb.i32Const(flOp(FlKind.EXPLICIT, 1)).set(tx.flOpL);
    fb.get(nb).i64ExtendI32U().set(tx.flA);
    tx.known = { kind: FlKind.EXPLICIT, size: 1 };
  } else {
    // count 0: flags unchanged
    fb.i32Const(flOp(FlKind.EXPLICIT, 1)).get(tx.flOpL).get(cnt).i64Eqz().i32Eqz().select().set(tx.flOpL);
    fb.get(nb).i64ExtendI32U().get(tx.flA).get(cnt).i64Eqz().i32Eqz().select().set(tx.flA);
    tx.flagsTouched = true;
    tx.known = undefined;
  }
  for (const l of [nb, r, cf, of, cnt, a]) fb.release(l);
  if (a0) fb.release(a0);
}
