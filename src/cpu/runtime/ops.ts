/**
 * Operand access for the TypeScript executor (interp.ts): effective and
 * linear addresses (SDM Vol. 1 §3.7.5, §3.3.7), sized register access,
 * stack push/pop with the stack-address size of the current mode.
 */
import { BASE_RIP, NO_REG, OpKind, RegClass, type Instruction, type Operand } from '../decoder/types.js';
import { CpuState, S, SegAttr } from '../state.js';
import type { Mmu } from './mmu.js';

export const MASK = (bits: number): bigint => (1n << BigInt(bits)) - 1n;
export const M64 = MASK(64);

export function signExtend(v: bigint, bytes: number): bigint { return BigInt.asIntN(bytes * 8, v); }
export function trunc(v: bigint, bytes: number): bigint { return BigInt.asUintN(bytes * 8, v); }

export interface OpCtx {
  st: CpuState;
  mmu: Mmu;
  /** 16 | 32 | 64 (code size). */
  mode: number;
  cpl: number;
}

export function immValue(op: Operand): bigint {
  return BigInt.asUintN(64, (BigInt(op.immHi) << 32n) | BigInt(op.imm >>> 0));
}

export function regGet(st: CpuState, op: Operand): bigint {
  const v = st.gpr(op.reg);
  switch (op.size) {
    case 1: return op.highByte ? (v >> 8n) & 0xffn : v & 0xffn;
    case 2: return v & 0xffffn;
    case 4: return v & 0xffffffffn;
    default: return v;
  }
}

export function regSet(st: CpuState, op: Operand, value: bigint): void {
  setGprSized(st, op.reg, op.size, value, op.highByte);
}

export function setGprSized(st: CpuState, reg: number, size: number, value: bigint, highByte = false): void {
  const old = st.gpr(reg);
  switch (size) {
    case 1:
      if (highByte) st.setGpr(reg, (old & ~0xff00n) | ((value & 0xffn) << 8n));
      else st.setGpr(reg, (old & ~0xffn) | (value & 0xffn));
      return;
    case 2: st.setGpr(reg, (old & ~0xffffn) | (value & 0xffffn)); return;
    case 4: st.setGpr(reg, value & 0xffffffffn); return;
    default: st.setGpr(reg, value);
  }
}

/** Effective address (offset within the segment) of a memory operand. */
export function effAddr(st: CpuState, op: Operand, nextRip: bigint): bigint {
  let ea: bigint;
  if (op.base === BASE_RIP) ea = nextRip;
  else ea = op.base === NO_REG ? 0n : st.gpr(op.base);
  if (op.index !== NO_REG) ea += st.gpr(op.index) * BigInt(op.scale);
  ea += (BigInt(op.dispHi) << 32n) | BigInt(op.disp >>> 0);
  return BigInt.asUintN(op.addrSize, ea);
}

/** Linear address: in 64-bit mode only FS/GS add a base; elsewhere every segment does, wrapping at 4 GiB. */
export function linearOf(st: CpuState, mode: number, seg: number, offset: bigint): bigint {
  if (mode === 64) return seg >= 4 ? BigInt.asUintN(64, offset + st.segBase(seg)) : offset;
  return (offset + st.segBase(seg)) & 0xffffffffn;
}

export function linAddr(ctx: OpCtx, insn: Instruction, op: Operand, rip: bigint): bigint {
  return linearOf(ctx.st, ctx.mode, op.seg, effAddr(ctx.st, op, rip + BigInt(insn.length)));
}

/** Read an operand (zero-extended to 64 bits); undefined after a fault was raised. */
export function readOp(ctx: OpCtx, insn: Instruction, op: Operand, rip: bigint): bigint | undefined {
  switch (op.kind) {
    case OpKind.REG:
      if (op.regClass === RegClass.GPR) return regGet(ctx.st, op);
      if (op.regClass === RegClass.SEG) return BigInt(ctx.st.seg(op.reg).selector);
      return undefined;
    case OpKind.IMM: return trunc(immValue(op), op.size);
    case OpKind.MEM: return ctx.mmu.read(linAddr(ctx, insn, op, rip), op.size, ctx.cpl);
    default: return undefined;
  }
}

export function writeOp(ctx: OpCtx, insn: Instruction, op: Operand, rip: bigint, v: bigint): boolean {
  if (op.kind === OpKind.REG) { regSet(ctx.st, op, v); return true; }
  if (op.kind === OpKind.MEM) return ctx.mmu.write(linAddr(ctx, insn, op, rip), op.size, trunc(v, op.size), ctx.cpl);
  return false;
}

/** Stack-address size in bits: 64 in 64-bit mode, else SS.B ? 32 : 16. */
export function stackBits(ctx: OpCtx): number {
  if (ctx.mode === 64) return 64;
  return (ctx.st.segAttr(2) & SegAttr.DB) !== 0 ? 32 : 16;
}

export function push(ctx: OpCtx, v: bigint, size: number): boolean {
  const bits = stackBits(ctx);
  const sp = BigInt.asUintN(bits, ctx.st.gpr(4) - BigInt(size));
  if (!ctx.mmu.write(linearOf(ctx.st, ctx.mode, 2, sp), size, trunc(v, size), ctx.cpl)) return false;
  setGprSized(ctx.st, 4, bits / 8, sp);
  return true;
}

export function pop(ctx: OpCtx, size: number): bigint | undefined {
  const bits = stackBits(ctx);
  const sp = BigInt.asUintN(bits, ctx.st.gpr(4));
  const v = ctx.mmu.read(linearOf(ctx.st, ctx.mode, 2, sp), size, ctx.cpl);
  if (v === undefined) return undefined;
  setGprSized(ctx.st, 4, bits / 8, sp + BigInt(size));
  return v;
}

/** Read `size` bytes at stack offset `off` from SP without changing SP. */
export function peek(ctx: OpCtx, off: number, size: number): bigint | undefined {
  const bits = stackBits(ctx);
  const sp = BigInt.asUintN(bits, ctx.st.gpr(4) + BigInt(off));
  return ctx.mmu.read(linearOf(ctx.st, ctx.mode, 2, sp), size, ctx.cpl);
}

export { S };
