/**
 * The x86 decoder entry points. (Step 1 stub: signatures only; the table-driven
 * implementation follows in this file.) See types.ts for the contract.
 */
import { ALL_FEATURES } from './features.js';
import {
  DECODE_GP, DECODE_MORE, DECODE_UD, Instruction, UdReason,
  type CpuMode, type DecodeFailure, type FeatureSet,
} from './types.js';

/** Decode one instruction into `out`. Returns its length (1..15) or DECODE_UD/DECODE_GP/DECODE_MORE. Reads only bytes[offset, min(end, offset + 15)). */
export function decodeInto(out: Instruction, bytes: Uint8Array, offset: number, end: number,
  mode: CpuMode, features: FeatureSet = ALL_FEATURES): number {
  void bytes; void offset; void end; void mode; void features;
  out.failure = UdReason.OPCODE;
  out.length = 0;
  return DECODE_UD;
}

/** Decode one instruction; allocates. */
export function decode(bytes: Uint8Array, offset: number, mode: CpuMode,
  features: FeatureSet = ALL_FEATURES): Instruction | DecodeFailure {
  const out = new Instruction();
  const r = decodeInto(out, bytes, offset, bytes.length, mode, features);
  if (r > 0) return out;
  if (r === DECODE_MORE) return { kind: 'more', needed: out.length };
  if (r === DECODE_GP) return { kind: 'gp', length: 15 };
  void DECODE_UD;
  return out.length > 0 ? { kind: 'ud', length: out.length, reason: out.failure } : { kind: 'ud', reason: out.failure };
}

/** Branch target of a REL operand: next-instruction address + displacement, wrapped to the operand size. */
export function relTarget(insn: Instruction, rip: bigint): bigint {
  const op = insn.ops[0];
  const next = rip + BigInt(insn.length) + BigInt(op ? op.imm : 0);
  return BigInt.asUintN(insn.opSize === 16 ? 16 : insn.opSize === 32 ? 32 : 64, next);
}
