/**
 * The core module: one per machine, shared by every block module.
 *   run(base) -> exit code: the dispatch loop. It looks the current RIP up in
 *     the vCPU's jump cache (virtual RIP + mode key -> table index) and calls
 *     the block through the shared table, block after block, without
 *     returning to JS until the budget ends, a block exits, or a lookup misses.
 *   flags / cond: lazy-flag materialisation (flags.ts), called by blocks.
 */
import { ModuleBuilder } from '../wasm/builder.js';
import { JC_ENTRIES, JC_ENTRY_BYTES, JC_HEAT_OFFSET, JC_OFFSET, S } from '../state.js';
import { genFlagFunctions } from './flags.js';

/** Exit codes of run() and of block functions (0 = continue with the next block). */
export const Exit = {
  CONTINUE: 0,
  /** Budget exhausted or the host raised REQUEST. */
  BUDGET: 1,
  /** No translation for (RIP, mode) in the jump cache. */
  MISS: 2,
  /** A helper raised an exception (S.EXC_VECTOR / S.EXC_ERROR); RIP is the faulting instruction. */
  EXCEPTION: 3,
  /** A helper asks the run loop to act (HLT, mode change, stop); RIP is the next instruction. */
  HOST: 4,
  /**
   * The block at RIP (not yet run) was entered through the dispatcher often
   * enough to be worth a region formed around it (engine.ts compileHot).
   */
  HOT: 6,
  /**
   * An inline memory access missed the TLB (or crosses a page, or is MMIO):
   * RIP is that instruction, nothing of it is done; the run loop executes it
   * in the executor and goes on after it.
   */
  SLOW: 7,
} as const;

/** The type of every block function: (vCPU base) -> exit code. */
export const BLOCK_TYPE = { params: ['i32'] as const, results: ['i32'] as const };

export interface CoreExports {
  run(base: number): number;
  flags(op: number, a: bigint, b: bigint, res: bigint, aux: number): number;
  cond(cc: number, op: number, a: bigint, b: bigint, res: bigint, aux: number): number;
}

export function jcHash(rip: bigint): number {
  const lo = Number(rip & 0xffffffffn);
  return ((lo ^ (lo >>> 12)) & (JC_ENTRIES - 1)) >>> 0;
}

export function buildCoreModule(memPages: number): Uint8Array {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'mem', memPages, memPages, true);
  mb.importTable('env', 'tbl', 1);
  genFlagFunctions(mb);
  const blockType = mb.type({ params: ['i32'], results: ['i32'] });
  const { fb } = mb.func({ params: ['i32'], results: ['i32'] }, 'run');
  const base = fb.param(0, 'i32');
  const rip = fb.local('i64'), e = fb.local('i32'), st = fb.local('i32'), lo = fb.local('i32'), hot = fb.local('i32');
  const top = fb.loop();
  // budget <= 0 or a host request: back to JS
  fb.get(base).i32Load(S.BUDGET).i32Const(0).i32LeS();
  fb.get(base).i32Load(S.REQUEST).i32Or();
  fb.if_(); fb.i32Const(Exit.BUDGET).return_(); fb.end();
  fb.get(base).i64Load(S.RIP).tee(rip).i32WrapI64().tee(lo);
  fb.get(lo).i32Const(12).i32ShrU().i32Xor().i32Const(JC_ENTRIES - 1).i32And().i32Const(Math.log2(JC_ENTRY_BYTES)).i32Shl();
  fb.get(base).i32Add().set(e);
  fb.get(e).i64Load(JC_OFFSET).get(rip).i64Ne();
  fb.get(e).i32Load(JC_OFFSET + 8).get(base).i32Load(S.MODE_KEY).i32Ne().i32Or();
  fb.if_(); fb.i32Const(Exit.MISS).return_(); fb.end();
  // heat: one i32 per entry at JC_HEAT_OFFSET + index * 4 (e - base = index * 16)
  fb.get(e).get(base).i32Sub().i32Const(2).i32ShrU().get(base).i32Add().tee(lo);
  fb.get(lo).i32Load(JC_HEAT_OFFSET).i32Const(1).i32Sub().tee(hot).i32Store(JC_HEAT_OFFSET);
  fb.get(hot).i32Eqz();
  fb.if_(); fb.i32Const(Exit.HOT).return_(); fb.end();
  fb.get(base).get(e).i32Load(JC_OFFSET + 12).callIndirect(blockType).tee(st);
  fb.if_(); fb.get(st).return_(); fb.end();
  fb.br(top);
  fb.end();
  fb.unreachable();
  return mb.bytes();
}
