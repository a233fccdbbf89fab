/**
 * Lowering of SIMD, crypto and bit-count instructions to wasm (issue 5): the
 * forms real code uses in its fast paths (Go and OpenSSL-style AES-GCM,
 * SHA-256, CRC-32C, memchr/strlen-style byte scans, gcc -O2 AVX2 loops),
 * translated in place of an executor call.
 *
 *   - POPCNT, LZCNT, TZCNT, BSF, BSR, CRC32, SHLD/SHRD, BSWAP, LEAVE and
 *     BMI1/BMI2 RORX, SHLX/SHRX/SARX, ANDN, MULX (general-purpose operands):
 *     wasm i64.popcnt/clz/ctz and CRC-32C slicing tables; their memory
 *     operands use the block's inline TLB path (block.ts genLoad).
 *   - XMM/YMM integer, logic and shuffle instructions as wasm v128 ops on
 *     the registers in the state block (S.XMM = bits 127:0, S.YMMH =
 *     bits 255:128): a VEX.256 op is two v128 ops, a VEX.128 op zeroes the
 *     upper half, a legacy SSE op leaves it alone (SDM Vol. 1 §14.1.1).
 *   - AES-NI, PCLMULQDQ and SHA calls into the SIMD helper module
 *     (simd-helpers.ts) through the helper table.
 *
 * The vector forms keep the executor as their exact slow path, as the
 * inline memory accesses of block.ts do: with CR0.EM/TS or CR4.OSFXSR
 * (legacy SSE), or CR4.OSXSAVE, XCR0 SSE|AVX and CR0.TS (VEX) not as usual,
 * a TLB miss, a page-crossing or misaligned (aligned forms) memory operand,
 * the block leaves before the instruction with Exit.SLOW and the run loop
 * executes it in the executor, which raises #UD/#NM/#GP/#PF exactly.
 * Only forms the decoder accepted reach here, and the decoder follows the
 * CPU model (#UD for features the model does not report), so no feature
 * check is needed.
 */
import { ATTR_ALIGN16, ATTR_AVX, BASE_RIP, Mn, OpKind, RegClass, type Instruction, type Operand } from '../decoder/types.js';
import type { FunctionBuilder, I32, I64, Label, Local, ModuleBuilder } from '../wasm/builder.js';
import { OpSimd } from '../wasm/opcodes.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXSAVE, S, SIMD_TABLES, TLBE_ADDEND, TLBE_TAG_READ, TLBE_TAG_WRITE } from '../state.js';
import type { BlockInsn, HelperRef } from './block.js';
import { Exit } from './core.js';
import { FlKind, flOp } from './flags.js';
import { SIMD_HELPER_SIG, SIMD_SLOT_BASE, SimdHelper, SimdTable } from './simd-helpers.js';

/** What the lowering needs of block.ts's translator state (its Tx class has all of it). */
export interface LowerTx {
  readonly fb: FunctionBuilder;
  readonly mb: ModuleBuilder;
  readonly base: I32;
  readonly rip: I64;
  readonly st: I32;
  exit: Label;
  readonly tlb: number;
  readonly flOpL: I32; readonly flA: I64; readonly flB: I64; readonly flRes: I64; readonly flAux: I32;
  flagsTouched: boolean;
  flagsWritten: boolean;
  known: { kind: number; size: number } | undefined;
  flagsDead: boolean;
  sseChecked: boolean;
  avxChecked: boolean;
  readonly fnFlags: HelperRef;
  getGpr(op: Operand): void;
  setGpr(r: number, size: number, highByte: boolean, v: I64): void;
  readOp(op: Operand, next: bigint, rip: bigint, addr: I64 | undefined): I64;
  genLoad(a: I64, size: number, faultRip: bigint): void;
  addrOf(op: Operand, next: bigint): I64 | undefined;
  tlbIndex(a: I64, e: I32): void;
  tlbTagCheck(a: I64, size: number, tag: number, slow: Label): void;
  setFlags(kind: number, size: number, a: I64 | undefined, b: I64 | bigint | undefined, res: I64, aux?: I32 | number): void;
  /** The region's budget local and the instructions of the current block from the one being emitted on (block.ts exitBefore). */
  readonly budget: I32 | undefined;
  readonly insnsLeft: number;
}

/** wasm SIMD opcodes beyond wasm/opcodes.ts OpSimd (fixed-width SIMD proposal, final numbering). */
const W = {
  I32x4ExtractLane: 0x1b, I32x4ReplaceLane: 0x1c,
  I64x2ExtractLane: 0x1d, I64x2ReplaceLane: 0x1e,
  I8x16NarrowI16x8S: 0x65, I8x16NarrowI16x8U: 0x66, I16x8NarrowI32x4S: 0x85, I16x8NarrowI32x4U: 0x86,
  I8x16MinS: 0x76, I8x16MinU: 0x77, I8x16MaxS: 0x78, I8x16MaxU: 0x79,
  I16x8MinS: 0x96, I16x8MinU: 0x97, I16x8MaxS: 0x98, I16x8MaxU: 0x99,
  I32x4MinS: 0xb6, I32x4MinU: 0xb7, I32x4MaxS: 0xb8, I32x4MaxU: 0xb9,
  I64x2Eq: 0xd6, I64x2GtS: 0xd9, I32x4LtU: 0x3a, I32x4TruncSatF32x4U: 0xf9,
  I32x4DotI16x8S: 0xba, I8x16Abs: 0x60, I16x8Abs: 0x80, I32x4Abs: 0xa0, V128Bitselect: 0x52,
  V128Load32Zero: 0x5c, V128Load64Zero: 0x5d, I32x4BitMask: 0xa4, I64x2BitMask: 0xc4,
  I16x8ExtendLowI8x16S: 0x87, I16x8ExtendLowI8x16U: 0x89, I32x4ExtendLowI16x8S: 0xa7, I32x4ExtendLowI16x8U: 0xa9,
  I64x2ExtendLowI32x4S: 0xc7, I64x2ExtendLowI32x4U: 0xc9,
} as const;

// ---- general-purpose: POPCNT LZCNT TZCNT BSF BSR CRC32 ---------------------------------------

const GPR_LOWERED = new Set<number>([Mn.POPCNT, Mn.LZCNT, Mn.TZCNT, Mn.BSF, Mn.BSR, Mn.CRC32, Mn.SHLD, Mn.SHRD, Mn.BSWAP, Mn.LEAVE,
  Mn.RORX, Mn.SHLX, Mn.SHRX, Mn.SARX, Mn.ANDN, Mn.MULX]);

const isGpr = (o: Operand): boolean => o.kind === OpKind.REG && o.regClass === RegClass.GPR;
/** Memory operands translated code can address: DS/ES/SS/CS (base 0 in 64-bit mode), FS, GS. */
const memOk = (o: Operand): boolean => o.kind === OpKind.MEM && o.vsib === 0;

/**
 * POPCNT/LZCNT/TZCNT/BSF/BSR/CRC32 r, r/m (SDM Vol. 2): flags exactly as
 * the executor sets them (interp.ts, bitmanip.ts: the SDM-undefined ones
 * cleared, or kept for BSF/BSR), as an EXPLICIT lazy-flags record.
 */
function genGpr(tx: LowerTx, insn: Instruction, rip: bigint, next: bigint): void {
  switch (insn.mn) {
    case Mn.SHLD: case Mn.SHRD: genShiftDouble(tx, insn, rip, next); return;
    case Mn.BSWAP: genBswap(tx, insn); return;
    case Mn.LEAVE: genLeave(tx, rip); return;
    case Mn.RORX: case Mn.SHLX: case Mn.SHRX: case Mn.SARX: case Mn.ANDN: case Mn.MULX: genBmi(tx, insn, rip, next); return;
    default: break;
  }
  const fb = tx.fb;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!;
  const a1 = tx.addrOf(o1, next);
  const v = tx.readOp(o1, next, rip, a1);
  const r = fb.local('i64');
  const bits = o0.size * 8;
  const f = fb.local('i64');
  const explicit = (): void => { if (!tx.flagsDead) tx.setFlags(FlKind.EXPLICIT, 1, f, undefined, f); };
  switch (insn.mn) {
    case Mn.POPCNT: // ZF = (src == 0); CF OF SF AF PF cleared
      fb.get(v).i64Popcnt().set(r);
      tx.setGpr(o0.reg, o0.size, false, r);
      fb.get(v).i64Eqz().i64ExtendI32U().i64Const(6).i64Shl().set(f);
      explicit();
      break;
    case Mn.LZCNT: case Mn.TZCNT: // CF = (src == 0), ZF = (result == 0); OF SF AF PF cleared
      if (insn.mn === Mn.LZCNT) fb.get(v).i64Clz().i64Const(64 - bits).i64Sub().set(r);
      else if (bits < 64) fb.get(v).i64Const(1n << BigInt(bits)).i64Or().i64Ctz().set(r);
      else fb.get(v).i64Ctz().set(r);
      tx.setGpr(o0.reg, o0.size, false, r);
      fb.get(v).i64Eqz().i64ExtendI32U();
      fb.get(r).i64Eqz().i64ExtendI32U().i64Const(6).i64Shl().i64Or().set(f);
      explicit();
      break;
    case Mn.BSF: case Mn.BSR: {
      // Source 0: ZF = 1, destination unchanged; else ZF = 0 and the bit index. The other flags are kept (interp.ts).
      fb.get(v).i64Eqz().i32Eqz();
      fb.if_();
      if (insn.mn === Mn.BSF) fb.get(v).i64Ctz(); else fb.i64Const(63).get(v).i64Clz().i64Sub();
      fb.set(r);
      tx.setGpr(o0.reg, o0.size, false, r);
      fb.end();
      fb.get(tx.flOpL).get(tx.flA).get(tx.flB).get(tx.flRes).get(tx.flAux).callHelper(tx.fnFlags);
      tx.flagsTouched = true;
      fb.i32Const(~0x40).i32And().get(v).i64Eqz().i32Const(6).i32Shl().i32Or().i64ExtendI32U().set(f);
      tx.setFlags(FlKind.EXPLICIT, 1, f, undefined, f);
      break;
    }
    default: { // CRC32: CRC-32C of the source bytes, low byte first (SDM CRC32, bit-reflected)
      // Slicing by n (simd-helpers.ts SimdTable.CRC32C): x = crc ^ the low 4 data bytes, y = the high 4;
      // crc' = (crc >>> 8n) ^ T[n-1][x0] ^ T[n-2][x1] ^ ... ^ T[0][last byte]: the lookups are independent.
      const n = o1.size;
      const c = fb.local('i32'), x = fb.local('i32'), y = fb.local('i32');
      tx.getGpr(o0); fb.i32WrapI64().set(c);
      fb.get(c).get(v).i32WrapI64().i32Xor().set(x);
      if (n === 8) fb.get(v).i64Const(32).i64ShrU().i32WrapI64().set(y);
      const T = (k: number): number => SIMD_TABLES + SimdTable.CRC32C + 1024 * k;
      const lookup = (w: I32, byte: number, table: number): void => {
        fb.get(w);
        if (byte > 0) fb.i32Const(8 * byte).i32ShrU();
        if (byte < 3) fb.i32Const(0xff).i32And();
        fb.i32Const(2).i32Shl().i32Load(T(table));
      };
      if (n < 4) fb.get(c).i32Const(8 * n).i32ShrU(); else fb.i32Const(0);
      for (let i = 0; i < Math.min(n, 4); i++) { lookup(x, i, n - 1 - i); fb.i32Xor(); }
      for (let i = 4; i < n; i++) { lookup(y, i - 4, n - 1 - i); fb.i32Xor(); }
      fb.set(c);
      fb.release(x); fb.release(y);
      fb.get(c).i64ExtendI32U().set(r);
      tx.setGpr(o0.reg, o0.size, false, r);
      fb.release(c);
      break;
    }
  }
  fb.release(f); fb.release(r); fb.release(v);
  if (a1) fb.release(a1);
}

const gprOp = (reg: number, size: number): Operand => ({ kind: OpKind.REG, regClass: RegClass.GPR, reg, size, highByte: false }) as Operand;

/**
 * SHLD/SHRD r, r, imm8/CL (SDM "SHLD", "SHRD"), as the executor computes
 * them (interp.ts): count masked to 5 bits (6 for 64-bit operands); 16-bit
 * counts above 16 shift the concatenation on (bits of the source, then
 * zeros); CF = the last bit shifted out of the destination, OF = its sign
 * changed, SF ZF PF from the result, AF 0. Count 0: nothing changes but a
 * 32-bit destination's upper half (zero-extended) and the flags stay.
 */
function genShiftDouble(tx: LowerTx, insn: Instruction, rip: bigint, next: bigint): void {
  const fb = tx.fb;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!, o2 = insn.ops[2]!;
  const size = o0.size, B = BigInt(size * 8), left = insn.mn === Mn.SHLD;
  const a = tx.readOp(o0, next, rip, undefined), b = tx.readOp(o1, next, rip, undefined);
  const n = fb.local('i64'), r = fb.local('i64'), c = fb.local('i64');
  const staticCount = o2.kind === OpKind.IMM ? o2.imm & (size === 8 ? 63 : 31) : undefined;
  if (staticCount !== undefined) fb.i64Const(staticCount).set(n);
  else { tx.getGpr(o2); fb.i64Const(size === 8 ? 63 : 31).i64And().set(n); }
  if (staticCount === 0) {
    tx.setGpr(o0.reg, size, false, a);
    for (const l of [a, b, n, r, c]) fb.release(l);
    return;
  }
  const mask = BigInt.asIntN(64, (1n << B) - 1n);
  if (size === 8) {
    if (left) {
      fb.get(a).get(n).i64Shl().get(b).i64Const(64).get(n).i64Sub().i64ShrU().i64Or().set(r);
      fb.get(a).i64Const(64).get(n).i64Sub().i64ShrU().i64Const(1).i64And().set(c);
    } else {
      fb.get(a).get(n).i64ShrU().get(b).i64Const(64).get(n).i64Sub().i64Shl().i64Or().set(r);
      fb.get(a).get(n).i64Const(1).i64Sub().i64ShrU().i64Const(1).i64And().set(c);
    }
    fb.get(a).get(r).get(n).i64Eqz().select().set(r); // count 0 (CL): the destination unchanged
  } else if (left) {
    // ((a:b) << n) >> bits; CF = bit (bits - n) of a, 0 once n > bits (16-bit operands)
    fb.get(a).i64Const(B).i64Shl().get(b).i64Or().get(n).i64Shl().i64Const(B).i64ShrU().i64Const(mask).i64And().set(r);
    fb.get(a).i64Const(B).get(n).i64Sub().i64ShrU().i64Const(1).i64And().i64Const(0).get(n).i64Const(B).i64LeU().select().set(c);
  } else {
    fb.get(b).i64Const(B).i64Shl().get(a).i64Or().get(n).i64ShrU().i64Const(mask).i64And().set(r);
    fb.get(a).get(n).i64Const(1).i64Sub().i64ShrU().i64Const(1).i64And().set(c);
  }
  tx.setGpr(o0.reg, size, false, r);
  if (!tx.flagsDead) {
    const f = fb.local('i64');
    // ZF SF PF of the result, CF, OF = sign of (r ^ a)
    fb.get(r).i64Eqz().i64ExtendI32U().i64Const(6).i64Shl();
    fb.get(r).i64Const(B - 1n).i64ShrU().i64Const(1).i64And().i64Const(7).i64Shl().i64Or();
    fb.get(r).i32WrapI64().i32Const(0xff).i32And().i32Popcnt().i32Const(1).i32And().i32Const(1).i32Xor().i64ExtendI32U().i64Const(2).i64Shl().i64Or();
    fb.get(c).i64Or();
    fb.get(r).get(a).i64Xor().i64Const(B - 1n).i64ShrU().i64Const(1).i64And().i64Const(11).i64Shl().i64Or().set(f);
    if (staticCount !== undefined) tx.setFlags(FlKind.EXPLICIT, 1, f, undefined, f);
    else {
      // count 0: flags unchanged (the record stays as it was)
      const z = fb.local('i32');
      fb.get(n).i64Eqz().i32Eqz().set(z); // count != 0
      fb.i32Const(flOp(FlKind.EXPLICIT, 1)).get(tx.flOpL).get(z).select().set(tx.flOpL);
      fb.get(f).get(tx.flA).get(z).select().set(tx.flA);
      tx.flagsTouched = true;
      tx.flagsWritten = true;
      tx.known = undefined;
      fb.release(z);
    }
    fb.release(f);
  }
  for (const l of [a, b, n, r, c]) fb.release(l);
}

/** BSWAP r32/r64 (SDM BSWAP); the 16-bit form clears the register's low word, as the executor does. */
function genBswap(tx: LowerTx, insn: Instruction): void {
  const fb = tx.fb, o0 = insn.ops[0]!;
  const v = fb.local('i64');
  const bswap32 = (): void => {
    // bytes 3 2 1 0 -> 0 1 2 3: rotate by 8 both ways and keep alternate bytes
    const x = fb.local('i32');
    fb.set(x);
    fb.get(x).i32Const(8).i32Rotl().i32Const(0x00ff00ff).i32And().get(x).i32Const(8).i32Rotr().i32Const(0xff00ff00 | 0).i32And().i32Or();
    fb.release(x);
  };
  if (o0.size === 2) fb.i64Const(0).set(v);
  else {
    tx.getGpr(o0);
    if (o0.size === 4) { fb.i32WrapI64(); bswap32(); fb.i64ExtendI32U().set(v); }
    else {
      const w = fb.local('i64');
      fb.set(w);
      fb.get(w).i32WrapI64(); bswap32(); fb.i64ExtendI32U().i64Const(32).i64Shl();
      fb.get(w).i64Const(32).i64ShrU().i32WrapI64(); bswap32(); fb.i64ExtendI32U().i64Or().set(v);
      fb.release(w);
    }
  }
  tx.setGpr(o0.reg, o0.size, false, v);
  fb.release(v);
}

/** LEAVE (64-bit operand size): RBP = [RBP], RSP = old RBP + 8; the load faults before anything changes. */
function genLeave(tx: LowerTx, rip: bigint): void {
  const fb = tx.fb;
  const a = fb.local('i64'), v = fb.local('i64');
  tx.getGpr(gprOp(5, 8)); fb.set(a);
  tx.genLoad(a, 8, rip); fb.set(v);
  fb.get(a).i64Const(8).i64Add().set(a);
  tx.setGpr(4, 8, false, a);
  tx.setGpr(5, 8, false, v);
  fb.release(a); fb.release(v);
}

/**
 * BMI1/BMI2 as bitmanip.ts computes them (SDM "RORX", "SARX/SHLX/SHRX",
 * "ANDN", "MULX"): RORX/SHLX/SHRX/SARX count masked to 5 or 6 bits, no
 * flags; ANDN SF ZF per result, the others cleared; MULX the unsigned
 * product of RDX/EDX and the source, no flags, the high half written last
 * (equal destinations keep it).
 */
function genBmi(tx: LowerTx, insn: Instruction, rip: bigint, next: bigint): void {
  const fb = tx.fb;
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!, o2 = insn.ops[2]!;
  const size = o0.size, bits = size * 8;
  const srcOp = insn.mn === Mn.ANDN || insn.mn === Mn.MULX ? o2 : o1;
  const am = tx.addrOf(srcOp, next);
  const src = tx.readOp(srcOp, next, rip, am);
  const r = fb.local('i64');
  const sx = (l: I64): void => { fb.get(l); if (size === 4) fb.i64Extend32S(); };
  switch (insn.mn) {
    case Mn.RORX: {
      const n = o2.imm & (bits - 1);
      if (size === 8) fb.get(src).i64Const(n).i64Rotr();
      else fb.get(src).i32WrapI64().i32Const(n).i32Rotr().i64ExtendI32U();
      fb.set(r);
      break;
    }
    case Mn.SHLX: case Mn.SHRX: case Mn.SARX: {
      if (insn.mn === Mn.SARX) sx(src); else fb.get(src);
      tx.getGpr(o2); fb.i64Const(bits - 1).i64And();
      if (insn.mn === Mn.SHLX) fb.i64Shl(); else if (insn.mn === Mn.SHRX) fb.i64ShrU(); else fb.i64ShrS();
      if (size === 4) fb.i64Const(0xffffffff).i64And();
      fb.set(r);
      break;
    }
    case Mn.ANDN: {
      tx.getGpr(o1); fb.i64Const(-1).i64Xor().get(src).i64And();
      if (size === 4) fb.i64Const(0xffffffff).i64And();
      fb.set(r);
      if (!tx.flagsDead) {
        const f = fb.local('i64');
        fb.get(r).i64Eqz().i64ExtendI32U().i64Const(6).i64Shl();
        fb.get(r).i64Const(bits - 1).i64ShrU().i64Const(7).i64Shl().i64Or().set(f);
        tx.setFlags(FlKind.EXPLICIT, 1, f, undefined, f);
        fb.release(f);
      }
      break;
    }
    default: { // MULX
      const d = fb.local('i64'), hi = fb.local('i64');
      tx.getGpr(gprOp(2, size)); fb.set(d);
      if (size === 4) {
        fb.get(d).get(src).i64Mul().set(r);
        fb.get(r).i64Const(32).i64ShrU().set(hi);
        fb.get(r).i64Const(0xffffffff).i64And().set(r);
      } else {
        // 64 x 64 -> 128 from 32-bit halves: hi = aH*bH + (aL*bH >> 32) + (aH*bL >> 32) + carries of the middle
        const ll = fb.local('i64'), lh = fb.local('i64'), hl = fb.local('i64');
        const lo32 = (l: I64): void => { fb.get(l).i64Const(0xffffffff).i64And(); };
        const hi32 = (l: I64): void => { fb.get(l).i64Const(32).i64ShrU(); };
        lo32(d); lo32(src); fb.i64Mul().set(ll);
        lo32(d); hi32(src); fb.i64Mul().set(lh);
        hi32(d); lo32(src); fb.i64Mul().set(hl);
        hi32(d); hi32(src); fb.i64Mul();
        hi32(lh); fb.i64Add(); hi32(hl); fb.i64Add();
        hi32(ll); lo32(lh); fb.i64Add(); lo32(hl); fb.i64Add(); fb.i64Const(32).i64ShrU(); fb.i64Add().set(hi);
        fb.get(d).get(src).i64Mul().set(r);
        for (const l of [ll, lh, hl]) fb.release(l);
      }
      tx.setGpr(o1.reg, size, false, r);
      tx.setGpr(o0.reg, size, false, hi);
      fb.release(d); fb.release(hi); fb.release(r); fb.release(src);
      if (am) fb.release(am);
      return;
    }
  }
  tx.setGpr(o0.reg, size, false, r);
  fb.release(r); fb.release(src);
  if (am) fb.release(am);
}

// ---- vector forms --------------------------------------------------------------------------------

type Push = () => void;
/** Per-128-bit-lane binary op: push the result given pushers of both sources; `half` 0 = bits 127:0, 1 = 255:128. */
type Bin = (fb: FunctionBuilder, p1: Push, p2: Push, imm: number, half: number) => void;
/** Per-lane unary op with an immediate. */
type Un = (fb: FunctionBuilder, p: Push, imm: number, half: number) => void;

const shuffle = (fb: FunctionBuilder, lanes: readonly number[]): void => { fb.simd(OpSimd.I8x16Shuffle); for (const l of lanes) fb.op(l & 31); };
const v128Const = (fb: FunctionBuilder, bytes: readonly number[]): void => { fb.simd(OpSimd.V128Const); for (const b of bytes) fb.op(b & 0xff); };
const zero = (fb: FunctionBuilder): void => v128Const(fb, new Array<number>(16).fill(0));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** Byte lanes of element lanes (each `w` bytes). */
const bytesOf = (elems: readonly number[], w: number): number[] => elems.flatMap((e) => range(w).map((k) => e * w + k));
const op2 = (code: number): Bin => (fb, p1, p2) => { p1(); p2(); fb.simd(code); };
/** PUNPCKL / PUNPCKH: interleave the low (or high) elements of width w of both sources, first source first. */
const unpack = (w: number, high: boolean): Bin => (fb, p1, p2) => {
  const n = 8 / w, off = high ? n : 0;
  const elems: number[] = [];
  for (let i = 0; i < n; i++) elems.push(off + i, 16 / w + off + i);
  p1(); p2(); shuffle(fb, bytesOf(elems, w));
};

/** Blend of elements of width w by imm8 bits (per lane from bit 16/w * half when `continued`). */
const blend = (w: number, continued: boolean): Bin => (fb, p1, p2, imm, half) => {
  const n = 16 / w, m = continued ? imm >> (n * half) : imm;
  p2(); p1(); v128Const(fb, range(16).map((b) => ((m >> Math.floor(b / w)) & 1 ? 0xff : 0))); fb.simd(W.V128Bitselect);
};

const BINARY = new Map<number, Bin>([
  [Mn.PADDB, op2(OpSimd.I8x16Add)], [Mn.PADDW, op2(OpSimd.I16x8Add)], [Mn.PADDD, op2(OpSimd.I32x4Add)], [Mn.PADDQ, op2(OpSimd.I64x2Add)],
  [Mn.PSUBB, op2(OpSimd.I8x16Sub)], [Mn.PSUBW, op2(OpSimd.I16x8Sub)], [Mn.PSUBD, op2(OpSimd.I32x4Sub)], [Mn.PSUBQ, op2(OpSimd.I64x2Sub)],
  [Mn.PADDSB, op2(OpSimd.I8x16AddSatS)], [Mn.PADDSW, op2(OpSimd.I16x8AddSatS)], [Mn.PADDUSB, op2(OpSimd.I8x16AddSatU)], [Mn.PADDUSW, op2(OpSimd.I16x8AddSatU)],
  [Mn.PSUBSB, op2(OpSimd.I8x16SubSatS)], [Mn.PSUBSW, op2(OpSimd.I16x8SubSatS)], [Mn.PSUBUSB, op2(OpSimd.I8x16SubSatU)], [Mn.PSUBUSW, op2(OpSimd.I16x8SubSatU)],
  [Mn.PAVGB, op2(OpSimd.I8x16AvgrU)], [Mn.PAVGW, op2(OpSimd.I16x8AvgrU)],
  [Mn.PMULLW, op2(OpSimd.I16x8Mul)], [Mn.PMULLD, op2(OpSimd.I32x4Mul)],
  [Mn.PCMPEQB, op2(OpSimd.I8x16Eq)], [Mn.PCMPEQW, op2(OpSimd.I16x8Eq)], [Mn.PCMPEQD, op2(OpSimd.I32x4Eq)], [Mn.PCMPEQQ, op2(W.I64x2Eq)],
  [Mn.PCMPGTB, op2(OpSimd.I8x16GtS)], [Mn.PCMPGTW, op2(OpSimd.I16x8GtS)], [Mn.PCMPGTD, op2(OpSimd.I32x4GtS)], [Mn.PCMPGTQ, op2(W.I64x2GtS)],
  [Mn.PMINUB, op2(W.I8x16MinU)], [Mn.PMINUW, op2(W.I16x8MinU)], [Mn.PMINUD, op2(W.I32x4MinU)],
  [Mn.PMAXUB, op2(W.I8x16MaxU)], [Mn.PMAXUW, op2(W.I16x8MaxU)], [Mn.PMAXUD, op2(W.I32x4MaxU)],
  [Mn.PMINSB, op2(W.I8x16MinS)], [Mn.PMINSW, op2(W.I16x8MinS)], [Mn.PMINSD, op2(W.I32x4MinS)],
  [Mn.PMAXSB, op2(W.I8x16MaxS)], [Mn.PMAXSW, op2(W.I16x8MaxS)], [Mn.PMAXSD, op2(W.I32x4MaxS)],
  // PACKSS/PACKUS: signed elements saturated to the narrower signed / unsigned range, first source low (wasm narrow).
  [Mn.PACKSSWB, op2(W.I8x16NarrowI16x8S)], [Mn.PACKUSWB, op2(W.I8x16NarrowI16x8U)],
  [Mn.PACKSSDW, op2(W.I16x8NarrowI32x4S)], [Mn.PACKUSDW, op2(W.I16x8NarrowI32x4U)],
  [Mn.PAND, op2(OpSimd.V128And)], [Mn.POR, op2(OpSimd.V128Or)], [Mn.PXOR, op2(OpSimd.V128Xor)],
  [Mn.ANDPS, op2(OpSimd.V128And)], [Mn.ANDPD, op2(OpSimd.V128And)], [Mn.ORPS, op2(OpSimd.V128Or)], [Mn.ORPD, op2(OpSimd.V128Or)],
  [Mn.XORPS, op2(OpSimd.V128Xor)], [Mn.XORPD, op2(OpSimd.V128Xor)],
  // PANDN: ~first & second; wasm v128.andnot(a, b) = a & ~b.
  ...[Mn.PANDN, Mn.ANDNPS, Mn.ANDNPD].map((m): [number, Bin] => [m, (fb, p1, p2) => { p2(); p1(); fb.v128Andnot(); }]),
  // PMULUDQ: unsigned products of the even dwords as qwords.
  [Mn.PMULUDQ, (fb, p1, p2) => {
    const lo32 = bytesOf([0, 1], 8).map((b) => (b % 8 < 4 ? 0xff : 0));
    p1(); v128Const(fb, lo32); fb.v128And(); p2(); v128Const(fb, lo32); fb.v128And(); fb.simd(OpSimd.I64x2Mul);
  }],
  // PSHUFB: byte i = index bit 7 ? 0 : first[index & 15] (swizzle gives 0 for indices >= 16).
  [Mn.PSHUFB, (fb, p1, p2) => { p1(); p2(); v128Const(fb, new Array<number>(16).fill(0x8f)); fb.v128And(); fb.simd(OpSimd.I8x16Swizzle); }],
  [Mn.PUNPCKLBW, unpack(1, false)], [Mn.PUNPCKLWD, unpack(2, false)], [Mn.PUNPCKLDQ, unpack(4, false)], [Mn.PUNPCKLQDQ, unpack(8, false)],
  [Mn.PUNPCKHBW, unpack(1, true)], [Mn.PUNPCKHWD, unpack(2, true)], [Mn.PUNPCKHDQ, unpack(4, true)], [Mn.PUNPCKHQDQ, unpack(8, true)],
  [Mn.UNPCKLPS, unpack(4, false)], [Mn.UNPCKHPS, unpack(4, true)], [Mn.UNPCKLPD, unpack(8, false)], [Mn.UNPCKHPD, unpack(8, true)],
  // PALIGNR: (first:second) >> imm8 bytes, zeros shifted in.
  [Mn.PALIGNR, (fb, p1, p2, imm) => {
    if (imm >= 32) { zero(fb); return; }
    if (imm >= 16) { p1(); zero(fb); shuffle(fb, range(16).map((i) => (i + imm - 16 < 16 ? i + imm - 16 : 16))); return; }
    p2(); p1(); shuffle(fb, range(16).map((i) => i + imm));
  }],
  // SHUFPS: dwords 0, 1 from the first source, 2, 3 from the second, chosen by imm8 2-bit fields.
  [Mn.SHUFPS, (fb, p1, p2, imm) => { p1(); p2(); shuffle(fb, bytesOf([imm & 3, (imm >> 2) & 3, 4 + ((imm >> 4) & 3), 4 + ((imm >> 6) & 3)], 4)); }],
  // PMADDWD: signed word products summed in pairs (wasm i32x4.dot_i16x8_s, the same wrap for 0x8000 * 0x8000 * 2).
  [Mn.PMADDWD, op2(W.I32x4DotI16x8S)],
  // Blends by imm8: element i from the second source when bit i is set (VEX.256: PBLENDW repeats imm8 per lane,
  // VPBLENDD/VBLENDPS/VBLENDPD continue with the next bits).
  [Mn.PBLENDW, blend(2, false)], [Mn.VPBLENDD, blend(4, true)], [Mn.BLENDPS, blend(4, true)], [Mn.BLENDPD, blend(8, true)],
  // SHUFPD: qword 0 from the first source, 1 from the second; VEX.256 takes imm8 bits 3:2 for the upper lane.
  [Mn.SHUFPD, (fb, p1, p2, imm, half) => { const m = imm >> (2 * half); p1(); p2(); shuffle(fb, bytesOf([m & 1, 2 + ((m >> 1) & 1)], 8)); }],
]);
/** VEX forms only: the legacy ones are block.ts's inline SSE already. */
const BINARY_VEX_ONLY = new Set<number>([Mn.PADDB, Mn.PADDW, Mn.PADDD, Mn.PADDQ, Mn.PSUBB, Mn.PSUBW, Mn.PSUBD, Mn.PSUBQ,
  Mn.PCMPEQB, Mn.PCMPEQW, Mn.PCMPEQD, Mn.PCMPGTB, Mn.PCMPGTW, Mn.PCMPGTD, Mn.PAND, Mn.POR, Mn.PXOR, Mn.PANDN,
  Mn.ANDPS, Mn.ANDPD, Mn.ORPS, Mn.ORPD, Mn.XORPS, Mn.XORPD, Mn.ANDNPS, Mn.ANDNPD]);

/** Shift by imm8 (lane bits, wasm op, arithmetic). */
const SHIFT_IMM = new Map<number, [number, number, boolean]>([
  [Mn.PSLLW, [16, OpSimd.I16x8Shl, false]], [Mn.PSLLD, [32, OpSimd.I32x4Shl, false]], [Mn.PSLLQ, [64, OpSimd.I64x2Shl, false]],
  [Mn.PSRLW, [16, OpSimd.I16x8ShrU, false]], [Mn.PSRLD, [32, OpSimd.I32x4ShrU, false]], [Mn.PSRLQ, [64, OpSimd.I64x2ShrU, false]],
  [Mn.PSRAW, [16, OpSimd.I16x8ShrS, true]], [Mn.PSRAD, [32, OpSimd.I32x4ShrS, true]],
]);
/** Unary forms without an immediate. */
const UNARY_NOIMM = new Set<number>([Mn.PABSB, Mn.PABSW, Mn.PABSD]);
const UNARY = new Map<number, Un>([
  // PABS: |x| with -2^(n-1) staying 2^(n-1) (the same bits as wasm abs).
  [Mn.PABSB, (fb, p) => { p(); fb.simd(W.I8x16Abs); }], [Mn.PABSW, (fb, p) => { p(); fb.simd(W.I16x8Abs); }],
  [Mn.PABSD, (fb, p) => { p(); fb.simd(W.I32x4Abs); }],
  [Mn.PSHUFD, (fb, p, imm) => { p(); p(); shuffle(fb, bytesOf(range(4).map((i) => (imm >> (2 * i)) & 3), 4)); }],
  [Mn.PSHUFLW, (fb, p, imm) => { p(); p(); shuffle(fb, bytesOf([...range(4).map((i) => (imm >> (2 * i)) & 3), 4, 5, 6, 7], 2)); }],
  [Mn.PSHUFHW, (fb, p, imm) => { p(); p(); shuffle(fb, bytesOf([0, 1, 2, 3, ...range(4).map((i) => 4 + ((imm >> (2 * i)) & 3))], 2)); }],
  // PSLLDQ / PSRLDQ: byte shifts of each 128-bit lane; counts above 15 clear it.
  [Mn.PSLLDQ, (fb, p, imm) => { p(); zero(fb); shuffle(fb, range(16).map((i) => (imm < 16 && i >= imm ? i - imm : 16))); }],
  [Mn.PSRLDQ, (fb, p, imm) => { p(); zero(fb); shuffle(fb, range(16).map((i) => (imm < 16 && i + imm < 16 ? i + imm : 16))); }],
  // SDM PSLLW/PSRLW/PSRAW: counts above the lane width give 0 (logical) or the sign fill (arithmetic).
  ...[...SHIFT_IMM].map(([mn, [bits, code, arith]]): [number, Un] => [mn, (fb, p, imm) => {
    if (imm >= bits && !arith) { zero(fb); return; }
    p(); fb.i32Const(Math.min(imm, bits - 1)).simd(code);
  }]),
]);
/** Variable per-element shifts (AVX2): element bits, left, arithmetic. */
const SHIFT_VAR = new Map<number, [32 | 64, boolean, boolean]>([
  [Mn.VPSLLVD, [32, true, false]], [Mn.VPSRLVD, [32, false, false]], [Mn.VPSRAVD, [32, false, true]],
  [Mn.VPSLLVQ, [64, true, false]], [Mn.VPSRLVQ, [64, false, false]],
]);
/** PMOVZX/PMOVSX: source bytes, the widening steps (wasm extend_low ops). */
const PMOVX = new Map<number, [number, number[]]>([
  [Mn.PMOVZXBW, [8, [W.I16x8ExtendLowI8x16U]]], [Mn.PMOVZXBD, [4, [W.I16x8ExtendLowI8x16U, W.I32x4ExtendLowI16x8U]]],
  [Mn.PMOVZXBQ, [2, [W.I16x8ExtendLowI8x16U, W.I32x4ExtendLowI16x8U, W.I64x2ExtendLowI32x4U]]],
  [Mn.PMOVZXWD, [8, [W.I32x4ExtendLowI16x8U]]], [Mn.PMOVZXWQ, [4, [W.I32x4ExtendLowI16x8U, W.I64x2ExtendLowI32x4U]]],
  [Mn.PMOVZXDQ, [8, [W.I64x2ExtendLowI32x4U]]],
  [Mn.PMOVSXBW, [8, [W.I16x8ExtendLowI8x16S]]], [Mn.PMOVSXBD, [4, [W.I16x8ExtendLowI8x16S, W.I32x4ExtendLowI16x8S]]],
  [Mn.PMOVSXBQ, [2, [W.I16x8ExtendLowI8x16S, W.I32x4ExtendLowI16x8S, W.I64x2ExtendLowI32x4S]]],
  [Mn.PMOVSXWD, [8, [W.I32x4ExtendLowI16x8S]]], [Mn.PMOVSXWQ, [4, [W.I32x4ExtendLowI16x8S, W.I64x2ExtendLowI32x4S]]],
  [Mn.PMOVSXDQ, [8, [W.I64x2ExtendLowI32x4S]]],
]);
const MOVES = new Set<number>([Mn.VMOVDQU, Mn.VMOVDQA, Mn.VMOVUPS, Mn.VMOVAPS, Mn.VMOVUPD, Mn.VMOVAPD]);
const ALIGNED_VEX = new Set<number>([Mn.VMOVDQA, Mn.VMOVAPS, Mn.VMOVAPD]);
const CRYPTO = new Map<number, SimdHelper>([
  [Mn.AESENC, SimdHelper.AESENC], [Mn.AESENCLAST, SimdHelper.AESENCLAST], [Mn.AESDEC, SimdHelper.AESDEC], [Mn.AESDECLAST, SimdHelper.AESDECLAST],
  [Mn.AESIMC, SimdHelper.AESIMC], [Mn.AESKEYGENASSIST, SimdHelper.AESKEYGENASSIST], [Mn.PCLMULQDQ, SimdHelper.PCLMULQDQ],
  [Mn.VAESENC, SimdHelper.AESENC], [Mn.VAESENCLAST, SimdHelper.AESENCLAST], [Mn.VAESDEC, SimdHelper.AESDEC], [Mn.VAESDECLAST, SimdHelper.AESDECLAST],
  [Mn.VAESIMC, SimdHelper.AESIMC], [Mn.VAESKEYGENASSIST, SimdHelper.AESKEYGENASSIST], [Mn.VPCLMULQDQ, SimdHelper.PCLMULQDQ],
  [Mn.SHA256RNDS2, SimdHelper.SHA256RNDS2], [Mn.SHA256MSG1, SimdHelper.SHA256MSG1], [Mn.SHA256MSG2, SimdHelper.SHA256MSG2],
  [Mn.SHA1RNDS4, SimdHelper.SHA1RNDS4], [Mn.SHA1NEXTE, SimdHelper.SHA1NEXTE], [Mn.SHA1MSG1, SimdHelper.SHA1MSG1], [Mn.SHA1MSG2, SimdHelper.SHA1MSG2],
]);
/** Helpers with one source (the destination is not read). */
const CRYPTO_UNARY = new Set<number>([Mn.AESIMC, Mn.AESKEYGENASSIST, Mn.VAESIMC, Mn.VAESKEYGENASSIST]);
const OTHER = new Set<number>([Mn.MOVD, Mn.MOVQ, Mn.VMOVD, Mn.VMOVQ, Mn.PMOVMSKB, Mn.VPMOVMSKB, Mn.PTEST, Mn.VPTEST,
  Mn.PEXTRB, Mn.PEXTRW, Mn.PEXTRD, Mn.PEXTRQ, Mn.VPEXTRB, Mn.VPEXTRW, Mn.VPEXTRD, Mn.VPEXTRQ,
  Mn.PINSRB, Mn.PINSRW, Mn.PINSRD, Mn.PINSRQ, Mn.VPINSRB, Mn.VPINSRW, Mn.VPINSRD, Mn.VPINSRQ, Mn.MOVHLPS, Mn.MOVLHPS,
  Mn.VEXTRACTI128, Mn.VEXTRACTF128, Mn.VINSERTI128, Mn.VINSERTF128, Mn.VPERM2I128, Mn.VPERM2F128,
  Mn.VPBROADCASTB, Mn.VPBROADCASTW, Mn.VPBROADCASTD, Mn.VPBROADCASTQ, Mn.VBROADCASTSS, Mn.VBROADCASTSD, Mn.VZEROUPPER,
  Mn.MOVMSKPS, Mn.MOVMSKPD, Mn.VMOVMSKPS, Mn.VMOVMSKPD, Mn.VPERMQ, Mn.VPERMPD]);

/** The legacy mnemonic of a VEX one (VPADDD -> PADDD), by name. */
const VEX_BASE = new Map<number, number>();
{
  const names = Mn as unknown as Record<string, number>;
  for (const [name, v] of Object.entries(names)) {
    if (!name.startsWith('V')) continue;
    const legacy = names[name.slice(1)];
    if (legacy !== undefined && (BINARY.has(legacy) || UNARY.has(legacy) || PMOVX.has(legacy))) VEX_BASE.set(v, legacy);
  }
}

const isVec = (o: Operand): boolean => o.kind === OpKind.REG && (o.regClass === RegClass.XMM || o.regClass === RegClass.YMM);
const isVecOrMem = (o: Operand): boolean => isVec(o) || memOk(o);

/** Does this file translate the instruction (64-bit mode)? */
export function canLower(insn: Instruction): boolean {
  const o = insn.ops;
  const o0 = o[0]!, o1 = o[1]!, o2 = o[2]!;
  const vex = (insn.attrs & ATTR_AVX) !== 0;
  const mn = insn.mn;
  switch (mn) {
    // SHLD/SHRD with a register destination (a zero CL count writes nothing to memory in the executor)
    case Mn.SHLD: case Mn.SHRD: return isGpr(o0) && isGpr(o1) && (o2.kind === OpKind.IMM || isGpr(o2));
    case Mn.BSWAP: return isGpr(o0);
    case Mn.LEAVE: return insn.opSize === 64;
    // BMI1/BMI2 (VEX-encoded general-purpose: no XCR0/CR4 checks)
    case Mn.RORX: return isGpr(o0) && (isGpr(o1) || memOk(o1)) && o2.kind === OpKind.IMM;
    case Mn.SHLX: case Mn.SHRX: case Mn.SARX: return isGpr(o0) && (isGpr(o1) || memOk(o1)) && isGpr(o2);
    case Mn.ANDN: case Mn.MULX: return isGpr(o0) && isGpr(o1) && (isGpr(o2) || memOk(o2));
    default: break;
  }
  if (GPR_LOWERED.has(mn)) return isGpr(o0) && (isGpr(o1) || memOk(o1)) && (mn !== Mn.CRC32 || o0.size >= 4);
  const base = vex ? VEX_BASE.get(mn) ?? (mn === Mn.VPBLENDD ? mn : undefined) : mn;
  if (base !== undefined && PMOVX.has(base)) return isVec(o0) && o0.regClass === RegClass.XMM && isVecOrMem(o1);
  if (base !== undefined && SHIFT_IMM.has(base) && (vex ? isVecOrMem(o2) && o2.kind !== OpKind.IMM : isVecOrMem(o1))) {
    // shift by the count in an XMM register or m128
    return vex ? isVec(o0) && isVec(o1) : isVec(o0);
  }
  if (base !== undefined && BINARY.has(base)) {
    if (!vex) return !BINARY_VEX_ONLY.has(base) && isVec(o0) && isVecOrMem(o1) && (insn.opCount === 2 || o2.kind === OpKind.IMM);
    return isVec(o0) && isVec(o1) && isVecOrMem(o2) && (insn.opCount === 3 || o[3]!.kind === OpKind.IMM);
  }
  if (base !== undefined && UNARY.has(base)) {
    if (SHIFT_IMM.has(base) || base === Mn.PSLLDQ || base === Mn.PSRLDQ) {
      // legacy: xmm, imm8 (the register forms by XMM count stay in block.ts / the executor); VEX: dst(vvvv), src, imm8
      if (!vex) return !SHIFT_IMM.has(base) && isVec(o0) && o1.kind === OpKind.IMM;
      return isVec(o0) && isVec(o1) && o2.kind === OpKind.IMM;
    }
    if (UNARY_NOIMM.has(base)) return isVec(o0) && isVecOrMem(o1) && insn.opCount === 2;
    return isVec(o0) && isVecOrMem(o1) && o2.kind === OpKind.IMM;
  }
  if (SHIFT_VAR.has(mn)) return isVec(o0) && isVec(o1) && isVecOrMem(o2);
  if (MOVES.has(mn)) return (isVec(o0) && isVecOrMem(o1)) || (memOk(o0) && isVec(o1));
  if (CRYPTO.has(mn)) {
    if (vex && o0.regClass !== RegClass.XMM) return false; // VAES / VPCLMULQDQ ymm: not lowered
    const srcs = o.slice(0, insn.opCount).filter((x) => x.kind !== OpKind.IMM);
    return srcs.every((x, i) => (i === srcs.length - 1 ? isVecOrMem(x) : isVec(x)));
  }
  if (!OTHER.has(mn)) return false;
  switch (mn) {
    case Mn.MOVD: case Mn.MOVQ: case Mn.VMOVD: case Mn.VMOVQ:
      // XMM forms only (MMX registers alias the x87 state: executor)
      if (isVec(o0)) return isGpr(o1) || isVecOrMem(o1);
      return isVec(o1) && (isGpr(o0) || memOk(o0));
    case Mn.PMOVMSKB: case Mn.VPMOVMSKB: case Mn.MOVMSKPS: case Mn.MOVMSKPD: case Mn.VMOVMSKPS: case Mn.VMOVMSKPD:
      return isGpr(o0) && isVec(o1);
    case Mn.VPERMQ: case Mn.VPERMPD: return isVec(o0) && isVecOrMem(o1) && o2.kind === OpKind.IMM;
    case Mn.PTEST: case Mn.VPTEST: return isVec(o0) && isVecOrMem(o1);
    case Mn.PEXTRB: case Mn.PEXTRW: case Mn.PEXTRD: case Mn.PEXTRQ: case Mn.VPEXTRB: case Mn.VPEXTRW: case Mn.VPEXTRD: case Mn.VPEXTRQ:
      return (isGpr(o0) || memOk(o0)) && isVec(o1) && o2.kind === OpKind.IMM;
    case Mn.PINSRB: case Mn.PINSRW: case Mn.PINSRD: case Mn.PINSRQ:
      return isVec(o0) && (isGpr(o1) || memOk(o1)) && o2.kind === OpKind.IMM;
    case Mn.VPINSRB: case Mn.VPINSRW: case Mn.VPINSRD: case Mn.VPINSRQ:
      return isVec(o0) && isVec(o1) && (isGpr(o2) || memOk(o2)) && o[3]!.kind === OpKind.IMM;
    case Mn.MOVHLPS: case Mn.MOVLHPS: return isVec(o0) && isVec(o1);
    case Mn.VEXTRACTI128: case Mn.VEXTRACTF128: return isVecOrMem(o0) && isVec(o1) && o2.kind === OpKind.IMM;
    case Mn.VINSERTI128: case Mn.VINSERTF128: case Mn.VPERM2I128: case Mn.VPERM2F128:
      return isVec(o0) && isVec(o1) && isVecOrMem(o2) && o[3]!.kind === OpKind.IMM;
    case Mn.VZEROUPPER: return true;
    default: return isVec(o0) && isVecOrMem(o1); // broadcasts
  }
}

/**
 * Lowered vector forms can leave the block before they run (Exit.SLOW): like
 * block.ts's inline SSE they get a fallback helper, which also tells
 * flagsDeadAfter that the flags before them may be observed.
 */
export function lowerNeedsFallback(insn: Instruction): boolean {
  // LEAVE loads through RBP: no memory operand shows that it can fault (flagsDeadAfter).
  return !GPR_LOWERED.has(insn.mn) || insn.mn === Mn.LEAVE;
}

/**
 * Emit a lowered instruction (canLower): the general-purpose ones inline,
 * the vector ones with their exact slow path (genLoweredVector).
 */
export function genLowered(tx: LowerTx, bi: BlockInsn, next: bigint): void {
  if (GPR_LOWERED.has(bi.insn.mn)) genGpr(tx, bi.insn, bi.rip, next);
  else genLoweredVector(tx, bi, next);
}

const XMM = (r: number, half: number): number => (half ? S.YMMH : S.XMM) + r * 16;

/** Emit a lowered vector instruction with its slow path (leave with Exit.SLOW before it). */
function genLoweredVector(tx: LowerTx, bi: BlockInsn, next: bigint): void {
  const { insn, rip } = bi;
  const fb = tx.fb, base = tx.base;
  const vex = (insn.attrs & ATTR_AVX) !== 0;
  // The previous lowered vector instruction's checked operand, if nothing else was emitted since.
  let cache = memCache.get(tx);
  if (cache && cache.end !== fb.code.length) { dropCache(tx, cache); cache = undefined; }
  let memOp: Operand | undefined;
  for (let i = 0; i < insn.opCount; i++) if (insn.ops[i]!.kind === OpKind.MEM) memOp = insn.ops[i];
  const write = memOp === insn.ops[0];
  const key = memOp ? memKey(memOp, next) : '';
  const hit = memOp !== undefined && cache !== undefined && cache.key === key && cache.write === write && memOp.size <= cache.size;
  const align = !memOp ? 1 : ALIGNED_VEX.has(insn.mn) ? memOp.size : (insn.attrs & ATTR_ALIGN16) && !vex ? 16 : 1;
  const check = vex ? !tx.avxChecked : !tx.sseChecked;
  // Nothing to check (checks done earlier in the block, no memory operand or one already checked): no slow path,
  // no control flow around the operation.
  const slowPath = check || (memOp !== undefined && !hit) || align > 1;
  const done = slowPath ? fb.block() : undefined;
  const slow = slowPath ? fb.block() : undefined;
  if (vex) {
    if (!tx.avxChecked) {
      // SDM Vol. 1 §14.3 / Vol. 2 §2.4: #UD unless CR4.OSXSAVE and XCR0[2:1] = 11b; #NM when CR0.TS.
      fb.get(base).i64Load(S.CR4).i64Const(CR4_OSXSAVE).i64And().i64Eqz();
      fb.get(base).i64Load(S.XCR0).i64Const(6).i64And().i64Const(6).i64Ne().i32Or();
      fb.get(base).i64Load(S.CR0).i64Const(CR0_TS).i64And().i64Const(0).i64Ne().i32Or().brIf(slow!);
      tx.avxChecked = true;
    }
  } else if (!tx.sseChecked) {
    // SDM Vol. 3 Table 2-2 / 13.1: CR0.EM = 1 or CR4.OSFXSR = 0 -> #UD, CR0.TS = 1 -> #NM (the executor raises them).
    fb.get(base).i64Load(S.CR0).i64Const(CR0_EM | CR0_TS).i64And().i64Const(0).i64Ne();
    fb.get(base).i64Load(S.CR4).i64Const(CR4_OSFXSR).i64And().i64Eqz().i32Or().brIf(slow!);
    tx.sseChecked = true;
  }
  let h: I32 | undefined, a: I64 | undefined;
  if (memOp) {
    if (hit) {
      // Same address, same access, within the bytes checked: same page, same host pointer.
      a = cache!.a; h = cache!.h;
    } else {
      if (cache) { dropCache(tx, cache); cache = undefined; }
      a = tx.addrOf(memOp, next)!;
      const e = fb.local('i32');
      h = fb.local('i32');
      tx.tlbIndex(a, e);
      tx.tlbTagCheck(a, memOp.size, write ? TLBE_TAG_WRITE : TLBE_TAG_READ, slow!);
      fb.get(e).i32Load(tx.tlb + TLBE_ADDEND).get(a).i32WrapI64().i32Add().set(h);
      fb.release(e);
      cache = { end: 0, key, write, size: memOp.size, a, h };
      memCache.set(tx, cache);
    }
    if (align > 1) fb.get(a).i32WrapI64().i32Const(align - 1).i32And().brIf(slow!);
  }
  emitVector(tx, insn, vex, h);
  if (slowPath) {
    fb.br(done!);
    fb.end(); // slow
    // Leave before the instruction with Exit.SLOW: the run loop executes it in the executor, which raises
    // #UD/#NM/#GP/#PF exactly (a call here would make V8 spill every live register on the fast path too).
    fb.i32Const(Exit.SLOW).set(tx.st);
    if (tx.budget) fb.get(tx.budget).i32Const(tx.insnsLeft).i32Add().set(tx.budget);
    fb.i64Const(BigInt.asIntN(64, rip)).set(tx.rip);
    fb.br(tx.exit);
    fb.end(); // done
  }
  if (cache) {
    // A GPR destination may be the base or index of the cached address.
    if (insn.ops[0]!.kind === OpKind.REG && insn.ops[0]!.regClass === RegClass.GPR) dropCache(tx, cache);
    else cache.end = fb.code.length;
  }
}

/**
 * Consecutive lowered vector instructions often address the same memory
 * operand (an AVX2 loop's `vpmulld ymm0, ymm4, [r8+rax*4]; ...; vpaddd ymm0,
 * ymm4, [r8+rax*4]`): the second reuses the first's address and host
 * pointer. Valid only while nothing else is emitted in between (no other
 * instruction can have changed a GPR or the TLB, no block boundary or
 * branch target lies between) and no GPR was written.
 */
interface MemCache { end: number; key: string; write: boolean; size: number; a: I64; h: I32 }
const memCache = new WeakMap<LowerTx, MemCache>();
/** The address expression; RIP-relative operands by their target (the same displacement means another address elsewhere). */
const memKey = (o: Operand, next: bigint): string =>
  o.base === BASE_RIP ? `${o.seg}:rip:${BigInt.asUintN(64, next + ((BigInt(o.dispHi) << 32n) | BigInt(o.disp >>> 0)))}:${o.addrSize}`
    : `${o.seg}:${o.base}:${o.index}:${o.scale}:${o.disp}:${o.dispHi}:${o.addrSize}`;
function dropCache(tx: LowerTx, c: MemCache): void {
  tx.fb.release(c.a); tx.fb.release(c.h);
  memCache.delete(tx);
}

/** The operation itself (checks passed, memory operand at host pointer h). */
function emitVector(tx: LowerTx, insn: Instruction, vex: boolean, h: I32 | undefined): void {
  const fb = tx.fb, base = tx.base;
  const o = insn.ops;
  const o0 = o[0]!, o1 = o[1]!, o2 = o[2]!;
  const mn = insn.mn;
  /** Push 16 bytes of operand x, half 0/1. */
  const load = (x: Operand, half: number): void => {
    if (x.kind === OpKind.MEM) fb.get(h!).v128Load(half * 16);
    else fb.get(base).v128Load(XMM(x.reg, half));
  };
  /** Push the i32 wasm address of 16 bytes of operand x. */
  const addr = (x: Operand, half = 0): void => {
    if (x.kind === OpKind.MEM) { fb.get(h!); if (half) fb.i32Const(16).i32Add(); }
    else fb.get(base).i32Const(XMM(x.reg, half)).i32Add();
  };
  /** Store the v128 computed by `value` into destination register r's half (or memory). */
  const storeReg = (r: number, half: number, value: Push): void => { fb.get(base); value(); fb.v128Store(XMM(r, half)); };
  const zeroUpper = (r: number): void => { fb.get(base); zero(fb); fb.v128Store(XMM(r, 1)); };
  const halves = (x: Operand): number => (x.regClass === RegClass.YMM || (x.kind === OpKind.MEM && x.size === 32) ? 2 : 1);
  /**
   * Compute every half into locals before storing any (the destination may
   * be a source), then store; VEX.128 zeroes bits 255:128.
   */
  const lanes = (dst: Operand, n: number, compute: (half: number) => void): void => {
    const tmp: Array<Local<'v128'>> = [];
    for (let half = 0; half < n; half++) { const l = fb.local('v128'); compute(half); fb.set(l); tmp.push(l); }
    tmp.forEach((l, half) => storeReg(dst.reg, half, () => fb.get(l)));
    for (const l of tmp) fb.release(l);
    if (vex && n === 1) zeroUpper(dst.reg);
  };
  const imm = (x: Operand | undefined): number => (x && x.kind === OpKind.IMM ? x.imm & 0xff : 0);

  const base1 = vex ? VEX_BASE.get(mn) ?? (mn === Mn.VPBLENDD ? mn : undefined) : mn;
  if (base1 !== undefined && PMOVX.has(base1)) {
    // SDM PMOVZX/PMOVSX: the low elements of the source widened; a memory source is only as wide as needed.
    const [bytes, steps] = PMOVX.get(base1)!;
    lanes(o0, 1, () => {
      if (o1.kind !== OpKind.MEM) load(o1, 0);
      else if (bytes === 8) fb.get(h!).simd(W.V128Load64Zero).op(3).op(0);
      else if (bytes === 4) fb.get(h!).simd(W.V128Load32Zero).op(2).op(0);
      else fb.get(h!).i32Load16U(0).simd(OpSimd.I32x4Splat);
      for (const st of steps) fb.simd(st);
    });
    return;
  }
  if (base1 !== undefined && SHIFT_IMM.has(base1) && (vex ? o2.kind !== OpKind.IMM && o2.kind !== OpKind.NONE : o1.kind !== OpKind.IMM)) {
    // SDM PSLLW/PSRLW/PSRAW xmm, xmm/m128: the count is the low quadword; counts >= the width give 0 (logical)
    // or the sign fill (arithmetic). VEX.256 shifts both lanes by the same count.
    const [bits, code, arith] = SHIFT_IMM.get(base1)!;
    const [src, cntOp] = vex ? [o1, o2] : [o0, o1];
    const cnt = fb.local('i64'), sh = fb.local('i32'), keep = fb.local('v128');
    if (cntOp.kind === OpKind.MEM) fb.get(h!).i64Load(0); else fb.get(base).i64Load(XMM(cntOp.reg, 0));
    fb.set(cnt);
    fb.get(cnt).i32WrapI64().i32Const(arith ? bits - 1 : 0).get(cnt).i64Const(bits).i64LtU().select().set(sh);
    fb.i64Const(-1).i64Const(arith ? -1 : 0).get(cnt).i64Const(bits).i64LtU().select().simd(OpSimd.I64x2Splat).set(keep);
    lanes(o0, halves(o0), (half) => { load(src, half); fb.get(sh).simd(code); if (!arith) fb.get(keep).v128And(); });
    fb.release(cnt); fb.release(sh); fb.release(keep);
    return;
  }
  if (base1 !== undefined && BINARY.has(base1)) {
    const f = BINARY.get(base1)!;
    const [s1, s2, i] = vex ? [o1, o[2]!, o[3]] : [o0, o1, o2];
    lanes(o0, halves(o0), (half) => f(fb, () => load(s1, half), () => load(s2, half), imm(i), half));
    return;
  }
  if (base1 !== undefined && UNARY.has(base1)) {
    const f = UNARY.get(base1)!;
    const shiftForm = SHIFT_IMM.has(base1) || base1 === Mn.PSLLDQ || base1 === Mn.PSRLDQ;
    const [src, i] = shiftForm && !vex ? [o0, o1] : [o1, o2];
    lanes(o0, halves(o0), (half) => f(fb, () => load(src, half), imm(i), half));
    return;
  }
  if (SHIFT_VAR.has(mn)) {
    const [bits, left, arith] = SHIFT_VAR.get(mn)!;
    if (bits === 32 && left) {
      // x << n = x * 2^n per lane: 2^n from the f32 with exponent n (n + 127 << 23), truncated; lanes with n >= 32 -> 0.
      lanes(o0, halves(o0), (half) => {
        const c = fb.local('v128');
        load(o[2]!, half); fb.set(c);
        load(o1, half);
        fb.get(c); v128Const(fb, range(16).map((b) => (b % 4 === 0 ? 127 : 0))); fb.simd(OpSimd.I32x4Add);
        fb.i32Const(23).simd(OpSimd.I32x4Shl).simd(W.I32x4TruncSatF32x4U);
        fb.simd(OpSimd.I32x4Mul);
        fb.get(c); v128Const(fb, range(16).map((b) => (b % 4 === 0 ? 32 : 0))); fb.simd(W.I32x4LtU);
        fb.v128And();
        fb.release(c);
      });
      return;
    }
    lanes(o0, halves(o0), (half) => {
      const v = fb.local('v128'), c = fb.local('v128');
      load(o1, half); fb.set(v);
      load(o[2]!, half); fb.set(c);
      fb.get(v);
      for (let k = 0; k < 128 / bits; k++) {
        // SDM VPSLLVD/VPSRLVD/VPSRAVD: counts >= the element width give 0, or the sign fill for VPSRAVD.
        if (bits === 32) {
          fb.get(v).simd(W.I32x4ExtractLane).op(k);
          if (arith) fb.get(c).simd(W.I32x4ExtractLane).op(k).i32Const(31).get(c).simd(W.I32x4ExtractLane).op(k).i32Const(32).i32LtU().select().i32ShrS();
          else {
            fb.get(c).simd(W.I32x4ExtractLane).op(k);
            if (left) fb.i32Shl(); else fb.i32ShrU();
            fb.i32Const(0).get(c).simd(W.I32x4ExtractLane).op(k).i32Const(32).i32LtU().select();
          }
          fb.simd(W.I32x4ReplaceLane).op(k);
        } else {
          fb.get(v).simd(W.I64x2ExtractLane).op(k);
          fb.get(c).simd(W.I64x2ExtractLane).op(k);
          if (left) fb.i64Shl(); else fb.i64ShrU();
          fb.i64Const(0).get(c).simd(W.I64x2ExtractLane).op(k).i64Const(64).i64LtU().select();
          fb.simd(W.I64x2ReplaceLane).op(k);
        }
      }
      fb.release(v); fb.release(c);
    });
    return;
  }
  if (MOVES.has(mn)) {
    const n = halves(o0.kind === OpKind.MEM ? o1 : o0);
    if (o0.kind === OpKind.MEM) { for (let half = 0; half < n; half++) { addr(o0, 0); load(o1, half); fb.v128Store(half * 16); } return; }
    lanes(o0, n, (half) => load(o1, half));
    return;
  }
  if (CRYPTO.has(mn)) {
    // helper(d, a, b, x): legacy dst, dst, src(, imm); VEX dst, vvvv, src(, imm); one-source forms: b = src.
    const id = CRYPTO.get(mn)!;
    const srcs = o.slice(0, insn.opCount).filter((x) => x.kind !== OpKind.IMM);
    const last = srcs[srcs.length - 1]!;
    const first = CRYPTO_UNARY.has(mn) ? last : vex ? srcs[1]! : o0;
    addr(o0); addr(first); addr(last);
    if (mn === Mn.SHA256RNDS2) fb.get(base).i32Const(XMM(0, 0)).i32Add(); // implicit XMM0 = WK
    else fb.i32Const(imm(o[insn.opCount - 1]));
    const ref: HelperRef = { slot: SIMD_SLOT_BASE + id, type: tx.mb.type(SIMD_HELPER_SIG) };
    fb.callHelper(ref);
    if (vex) zeroUpper(o0.reg);
    return;
  }
  switch (mn) {
    case Mn.MOVD: case Mn.MOVQ: case Mn.VMOVD: case Mn.VMOVQ: {
      const v = fb.local('i64');
      if (isVec(o0)) {
        // to XMM: the value zero-extended to 128 bits (and 256 for VEX)
        if (isGpr(o1)) tx.getGpr(o1);
        else if (o1.kind === OpKind.MEM) { fb.get(h!); if (o1.size === 4) fb.i64Load32U(0); else fb.i64Load(0); }
        else fb.get(base).i64Load(XMM(o1.reg, 0));
        fb.set(v);
        fb.get(base).get(v).i64Store(XMM(o0.reg, 0));
        fb.get(base).i64Const(0).i64Store(XMM(o0.reg, 0) + 8);
        if (vex) zeroUpper(o0.reg);
      } else {
        fb.get(base);
        if (o0.size === 4) fb.i64Load32U(XMM(o1.reg, 0)); else fb.i64Load(XMM(o1.reg, 0));
        fb.set(v);
        if (isGpr(o0)) tx.setGpr(o0.reg, o0.size, false, v);
        else { fb.get(h!).get(v); if (o0.size === 4) fb.i64Store32(0); else fb.i64Store(0); }
      }
      fb.release(v);
      return;
    }
    case Mn.PMOVMSKB: case Mn.VPMOVMSKB: case Mn.MOVMSKPS: case Mn.MOVMSKPD: case Mn.VMOVMSKPS: case Mn.VMOVMSKPD: {
      // the sign bit of every byte / dword / qword, element 0 in bit 0
      const v = fb.local('i64');
      const [mask, n] = mn === Mn.MOVMSKPS || mn === Mn.VMOVMSKPS ? [W.I32x4BitMask, 4]
        : mn === Mn.MOVMSKPD || mn === Mn.VMOVMSKPD ? [W.I64x2BitMask, 2] : [OpSimd.I8x16BitMask, 16];
      load(o1, 0); fb.simd(mask);
      if (halves(o1) === 2) { load(o1, 1); fb.simd(mask).i32Const(n).i32Shl().i32Or(); }
      fb.i64ExtendI32U().set(v);
      tx.setGpr(o0.reg, o0.size, false, v);
      fb.release(v);
      return;
    }
    case Mn.PTEST: case Mn.VPTEST: {
      // SDM PTEST: ZF = (SRC & DEST) == 0, CF = (SRC & ~DEST) == 0; AF OF PF SF = 0.
      const n = halves(o0);
      const f = fb.local('i64');
      for (let half = 0; half < n; half++) { load(o1, half); load(o0, half); fb.v128And(); if (half) fb.v128Or(); }
      fb.simd(OpSimd.V128AnyTrue).i32Eqz().i32Const(6).i32Shl();
      for (let half = 0; half < n; half++) { load(o1, half); load(o0, half); fb.v128Andnot(); if (half) fb.v128Or(); }
      fb.simd(OpSimd.V128AnyTrue).i32Eqz().i32Or().i64ExtendI32U().set(f);
      tx.setFlags(FlKind.EXPLICIT, 1, f, undefined, f);
      fb.release(f);
      return;
    }
    case Mn.PEXTRB: case Mn.PEXTRW: case Mn.PEXTRD: case Mn.PEXTRQ: case Mn.VPEXTRB: case Mn.VPEXTRW: case Mn.VPEXTRD: case Mn.VPEXTRQ: {
      // the element zero-extended into the register
      const w = mn === Mn.PEXTRB || mn === Mn.VPEXTRB ? 1 : mn === Mn.PEXTRW || mn === Mn.VPEXTRW ? 2 : mn === Mn.PEXTRD || mn === Mn.VPEXTRD ? 4 : 8;
      const off = XMM(o1.reg, 0) + (imm(o2) & (16 / w - 1)) * w;
      const v = fb.local('i64');
      fb.get(base);
      if (w === 1) fb.i64Load8U(off); else if (w === 2) fb.i64Load16U(off); else if (w === 4) fb.i64Load32U(off); else fb.i64Load(off);
      fb.set(v);
      if (isGpr(o0)) tx.setGpr(o0.reg, o0.size, false, v);
      else {
        fb.get(h!).get(v);
        if (w === 1) fb.i64Store8(0); else if (w === 2) fb.i64Store16(0); else if (w === 4) fb.i64Store32(0); else fb.i64Store(0);
      }
      fb.release(v);
      return;
    }
    case Mn.PINSRB: case Mn.PINSRW: case Mn.PINSRD: case Mn.PINSRQ: case Mn.VPINSRB: case Mn.VPINSRW: case Mn.VPINSRD: case Mn.VPINSRQ: {
      // SDM PINSRx: one element replaced; VPINSRx: the other elements from VEX.vvvv, bits 255:128 zeroed.
      const w = mn === Mn.PINSRB || mn === Mn.VPINSRB ? 1 : mn === Mn.PINSRW || mn === Mn.VPINSRW ? 2 : mn === Mn.PINSRD || mn === Mn.VPINSRD ? 4 : 8;
      const [src, i] = vex ? [o2, o[3]] : [o1, o2];
      const off = XMM(o0.reg, 0) + (imm(i) & (16 / w - 1)) * w;
      const v = fb.local('i64');
      if (isGpr(src)) tx.getGpr(src); else { fb.get(h!); loadN(fb, w); }
      fb.set(v);
      if (vex) { lanes(o0, 1, () => load(o1, 0)); }
      fb.get(base).get(v);
      if (w === 1) fb.i64Store8(off); else if (w === 2) fb.i64Store16(off); else if (w === 4) fb.i64Store32(off); else fb.i64Store(off);
      fb.release(v);
      return;
    }
    case Mn.MOVHLPS: fb.get(base).get(base).i64Load(XMM(o1.reg, 0) + 8).i64Store(XMM(o0.reg, 0)); return;
    case Mn.MOVLHPS: fb.get(base).get(base).i64Load(XMM(o1.reg, 0)).i64Store(XMM(o0.reg, 0) + 8); return;
    case Mn.VEXTRACTI128: case Mn.VEXTRACTF128: {
      const half = imm(o2) & 1;
      if (o0.kind === OpKind.MEM) { addr(o0); load(o1, half); fb.v128Store(0); return; }
      lanes(o0, 1, () => load(o1, half));
      return;
    }
    case Mn.VINSERTI128: case Mn.VINSERTF128: {
      const sel = imm(o[3]) & 1;
      lanes(o0, 2, (half) => (half === sel ? load(o2, 0) : load(o1, half)));
      return;
    }
    case Mn.VPERM2I128: case Mn.VPERM2F128: {
      const i = imm(o[3]);
      lanes(o0, 2, (half) => {
        const ctl = (i >> (4 * half)) & 0xf;
        if (ctl & 8) zero(fb);
        else load(ctl & 2 ? o2 : o1, ctl & 1);
      });
      return;
    }
    case Mn.VPERMQ: case Mn.VPERMPD: {
      // SDM VPERMQ: qword i of the result = qword imm8[2i+1:2i] of the source (across both lanes)
      const i = imm(o2);
      lanes(o0, 2, (half) => {
        load(o1, 0); load(o1, 1);
        shuffle(fb, bytesOf([(i >> (4 * half)) & 3, (i >> (4 * half + 2)) & 3], 8));
      });
      return;
    }
    case Mn.VZEROUPPER:
      // SDM VZEROUPPER: bits 255:128 of YMM0..15 (64-bit mode) cleared.
      fb.get(base).i32Const(S.YMMH).i32Add().i32Const(0).i32Const(16 * 16).memoryFill();
      return;
    default: {
      // VPBROADCASTB/W/D/Q, VBROADCASTSS/SD: the low element of the source in every element.
      const w = mn === Mn.VPBROADCASTB ? 1 : mn === Mn.VPBROADCASTW ? 2 : mn === Mn.VPBROADCASTD || mn === Mn.VBROADCASTSS ? 4 : 8;
      const splat = [OpSimd.I8x16Splat, OpSimd.I16x8Splat, OpSimd.I32x4Splat, OpSimd.I64x2Splat][Math.log2(w)]!;
      const pushElem = (): void => {
        if (o1.kind === OpKind.MEM) fb.get(h!); else fb.get(base).i32Const(XMM(o1.reg, 0)).i32Add();
        if (w === 8) fb.i64Load(0); else if (w === 4) fb.i32Load(0); else if (w === 2) fb.i32Load16U(0); else fb.i32Load8U(0);
        fb.simd(splat);
      };
      lanes(o0, halves(o0), pushElem);
      return;
    }
  }
}

/** Push the w-byte value at the address on the stack as an i64 (zero-extended). */
function loadN(fb: FunctionBuilder, w: number): void {
  if (w === 1) fb.i64Load8U(0); else if (w === 2) fb.i64Load16U(0); else if (w === 4) fb.i64Load32U(0); else fb.i64Load(0);
}

