/**
 * Lazy arithmetic flags (CF PF AF ZF SF OF).
 *
 * A flag-writing instruction records what produced the flags instead of
 * computing them: `op` (kind << 2 | size index), the operands `a`, `b`, the
 * result `res` (raw i64 values; only the low `width` bits matter) and `aux`
 * (carry-in for ADC/SBB, the old CF for INC/DEC, the overflow bit for MUL).
 * Flags are materialised only when read. Kind EXPLICIT means `a` holds the
 * flag bits themselves (after shifts, POPF, helpers).
 *
 * Sizes are normalised by shifting the operands left by 64 - width, so one
 * 64-bit comparison serves every operand size (CF of ADD = res < a unsigned,
 * OF of ADD = sign of (a ^ res) & (b ^ res), SF = sign of res, ZF = res == 0).
 * Definitions: SDM Vol. 1 §3.4.3.1 and Appendix A (EFLAGS cross-reference).
 */
import type { FunctionBuilder, I32, I64 } from '../wasm/builder.js';
import type { ModuleBuilder } from '../wasm/builder.js';

export const FlKind = { EXPLICIT: 0, ADD: 1, ADC: 2, SUB: 3, SBB: 4, LOGIC: 5, INC: 6, DEC: 7, MUL: 8 } as const;
export type FlKind = (typeof FlKind)[keyof typeof FlKind];

export const F_CF = 1, F_PF = 4, F_AF = 0x10, F_ZF = 0x40, F_SF = 0x80, F_OF = 0x800;
export const STATUS_FLAGS = F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF;

export function sizeIndex(bytes: number): number { return bytes === 1 ? 0 : bytes === 2 ? 1 : bytes === 4 ? 2 : 3; }
export function flOp(kind: FlKind, sizeBytes: number): number { return (kind << 2) | sizeIndex(sizeBytes); }

const M64 = (1n << 64n) - 1n;

function parityEven(byte: number): boolean {
  let p = byte & 0xff;
  p ^= p >> 4; p ^= p >> 2; p ^= p >> 1;
  return (p & 1) === 0;
}

/** The status flags a lazy record stands for (TS side: helpers, getState). */
export function arithFlags(op: number, a: bigint, b: bigint, res: bigint, aux: number): number {
  const kind = op >> 2;
  if (kind === FlKind.EXPLICIT) return Number(a & BigInt(STATUS_FLAGS));
  const sh = BigInt(64 - (8 << (op & 3)));
  const an = (a << sh) & M64, bn = (b << sh) & M64, rn = (res << sh) & M64;
  const sign = (x: bigint): boolean => (x >> 63n) !== 0n;
  let f = 0;
  if (rn === 0n) f |= F_ZF;
  if (sign(rn)) f |= F_SF;
  if (parityEven(Number(res & 0xffn))) f |= F_PF;
  let cf = false, of = false, af = ((a ^ b ^ res) & 0x10n) !== 0n;
  switch (kind) {
    case FlKind.ADD: cf = rn < an; of = sign((an ^ rn) & (bn ^ rn)); break;
    case FlKind.ADC: cf = aux & 1 ? rn <= an : rn < an; of = sign((an ^ rn) & (bn ^ rn)); break;
    case FlKind.SUB: cf = an < bn; of = sign((an ^ bn) & (an ^ rn)); break;
    case FlKind.SBB: cf = aux & 1 ? an <= bn : an < bn; of = sign((an ^ bn) & (an ^ rn)); break;
    case FlKind.LOGIC: af = false; break;
    case FlKind.INC: cf = (aux & 1) !== 0; of = sign((an ^ rn) & (bn ^ rn)); break;
    case FlKind.DEC: cf = (aux & 1) !== 0; of = sign((an ^ bn) & (an ^ rn)); break;
    case FlKind.MUL: cf = of = (aux & 1) !== 0; af = false; break;
    default: break;
  }
  if (cf) f |= F_CF;
  if (of) f |= F_OF;
  if (af) f |= F_AF;
  return f;
}

/** Condition code cc (SDM Vol. 1 App. B: O NO B AE E NE BE A S NS P NP L GE LE G) from status bits. */
export function condFromFlags(cc: number, f: number): boolean {
  const of = (f & F_OF) !== 0, cf = (f & F_CF) !== 0, zf = (f & F_ZF) !== 0, sf = (f & F_SF) !== 0, pf = (f & F_PF) !== 0;
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf !== of; break;
    default: r = zf || sf !== of; break;
  }
  return (cc & 1) ? !r : r;
}

/**
 * Adds the core flag functions to a module:
 *   flags(op i32, a i64, b i64, res i64, aux i32) -> i32 status bits
 *   cond(cc i32, op i32, a i64, b i64, res i64, aux i32) -> i32 0/1
 * Returns their function indices.
 */
export function genFlagFunctions(mb: ModuleBuilder): { flags: number; cond: number } {
  const { fb, index: flagsIdx } = mb.func({ params: ['i32', 'i64', 'i64', 'i64', 'i32'], results: ['i32'] }, 'flags');
  const op = fb.param(0, 'i32'), a = fb.param(1, 'i64'), b = fb.param(2, 'i64'), res = fb.param(3, 'i64'), aux = fb.param(4, 'i32');
  const kind = fb.local('i32'), sh = fb.local('i64'), an = fb.local('i64'), bn = fb.local('i64'), rn = fb.local('i64');
  const f = fb.local('i32'), cf = fb.local('i32'), of = fb.local('i32');
  fb.get(op).i32Const(2).i32ShrU().tee(kind);
  fb.i32Eqz().if_();
  fb.get(a).i32WrapI64().i32Const(STATUS_FLAGS).i32And().return_();
  fb.end();
  // sh = 64 - (8 << (op & 3))
  fb.i64Const(64).i64Const(8).get(op).i32Const(3).i32And().i64ExtendI32U().i64Shl().i64Sub().set(sh);
  fb.get(a).get(sh).i64Shl().set(an);
  fb.get(b).get(sh).i64Shl().set(bn);
  fb.get(res).get(sh).i64Shl().set(rn);
  // ZF | SF | PF
  fb.get(rn).i64Eqz().i32Const(6).i32Shl();
  fb.get(rn).i64Const(63).i64ShrU().i32WrapI64().i32Const(7).i32Shl().i32Or();
  fb.get(res).i32WrapI64().i32Const(0xff).i32And().i32Popcnt().i32Const(1).i32And().i32Const(1).i32Xor().i32Const(2).i32Shl().i32Or();
  // AF = bit 4 of a ^ b ^ res, except LOGIC and MUL
  fb.get(a).get(b).i64Xor().get(res).i64Xor().i32WrapI64().i32Const(F_AF).i32And();
  fb.i32Const(0).get(kind).i32Const(FlKind.LOGIC).i32Ne().get(kind).i32Const(FlKind.MUL).i32Ne().i32And().select();
  fb.i32Or().set(f);
  // CF / OF per kind
  const done = fb.block();
  const cases = [fb.block(), fb.block(), fb.block(), fb.block(), fb.block(), fb.block(), fb.block(), fb.block()];
  // cases[i] closes in reverse order: innermost block is case for kind 1 (ADD)
  fb.get(kind).i32Const(1).i32Sub();
  fb.brTable([cases[7]!, cases[6]!, cases[5]!, cases[4]!, cases[3]!, cases[2]!, cases[1]!, cases[0]!], done);
  const addOf = (): void => { fb.get(an).get(rn).i64Xor().get(bn).get(rn).i64Xor().i64And().i64Const(0).i64LtS().set(of); };
  const subOf = (): void => { fb.get(an).get(bn).i64Xor().get(an).get(rn).i64Xor().i64And().i64Const(0).i64LtS().set(of); };
  fb.end(); // ADD
  fb.get(rn).get(an).i64LtU().set(cf); addOf(); fb.br(done);
  fb.end(); // ADC
  fb.get(rn).get(an).i64LeU().get(rn).get(an).i64LtU().get(aux).i32Const(1).i32And().select().set(cf); addOf(); fb.br(done);
  fb.end(); // SUB
  fb.get(an).get(bn).i64LtU().set(cf); subOf(); fb.br(done);
  fb.end(); // SBB
  fb.get(an).get(bn).i64LeU().get(an).get(bn).i64LtU().get(aux).i32Const(1).i32And().select().set(cf); subOf(); fb.br(done);
  fb.end(); // LOGIC
  fb.br(done);
  fb.end(); // INC
  fb.get(aux).i32Const(1).i32And().set(cf); addOf(); fb.br(done);
  fb.end(); // DEC
  fb.get(aux).i32Const(1).i32And().set(cf); subOf(); fb.br(done);
  fb.end(); // MUL
  fb.get(aux).i32Const(1).i32And().tee(cf).set(of);
  fb.end(); // done
  fb.get(f).get(cf).i32Or().get(of).i32Const(11).i32Shl().i32Or();

  const { fb: c, index: condIdx } = mb.func({ params: ['i32', 'i32', 'i64', 'i64', 'i64', 'i32'], results: ['i32'] }, 'cond');
  const cc = c.param(0, 'i32');
  const bits = c.local('i32'), r = c.local('i32');
  c.get(c.param(1, 'i32')).get(c.param(2, 'i64')).get(c.param(3, 'i64')).get(c.param(4, 'i64')).get(c.param(5, 'i32')).call(flagsIdx).set(bits);
  genCondFromBitsDynamic(c, cc, bits, r);
  c.get(r).get(cc).i32Const(1).i32And().i32Xor();
  return { flags: flagsIdx, cond: condIdx };
}

/** r = base condition (cc >> 1) evaluated on `bits` (not yet inverted by cc & 1). */
function genCondFromBitsDynamic(fb: FunctionBuilder, cc: I32, bits: I32, r: I32): void {
  const bit = (mask: number): void => { fb.get(bits).i32Const(mask).i32And().i32Const(0).i32Ne(); };
  const sfNeOf = (): void => { bit(F_SF); bit(F_OF); fb.i32Ne(); };
  const done = fb.block();
  const k = [fb.block(), fb.block(), fb.block(), fb.block(), fb.block(), fb.block(), fb.block(), fb.block()];
  fb.get(cc).i32Const(1).i32ShrU();
  fb.brTable([k[7]!, k[6]!, k[5]!, k[4]!, k[3]!, k[2]!, k[1]!, k[0]!], done);
  fb.end(); bit(F_OF); fb.set(r).br(done);
  fb.end(); bit(F_CF); fb.set(r).br(done);
  fb.end(); bit(F_ZF); fb.set(r).br(done);
  fb.end(); fb.get(bits).i32Const(F_CF | F_ZF).i32And().i32Const(0).i32Ne().set(r).br(done);
  fb.end(); bit(F_SF); fb.set(r).br(done);
  fb.end(); bit(F_PF); fb.set(r).br(done);
  fb.end(); sfNeOf(); fb.set(r).br(done);
  fb.end(); bit(F_ZF); sfNeOf(); fb.i32Or().set(r);
  fb.end();
}

/** Static evaluation of condition cc from an i32 bits value on the stack; leaves 0/1. */
export function genCondFromBits(fb: FunctionBuilder, cc: number, bits: I32): void {
  const bit = (mask: number): void => { fb.get(bits).i32Const(mask).i32And().i32Const(0).i32Ne(); };
  const sfNeOf = (): void => { bit(F_SF); bit(F_OF); fb.i32Ne(); };
  switch (cc >> 1) {
    case 0: bit(F_OF); break;
    case 1: bit(F_CF); break;
    case 2: bit(F_ZF); break;
    case 3: bit(F_CF | F_ZF); break;
    case 4: bit(F_SF); break;
    case 5: bit(F_PF); break;
    case 6: sfNeOf(); break;
    default: bit(F_ZF); sfNeOf(); fb.i32Or(); break;
  }
  if (cc & 1) fb.i32Eqz();
}

export type { I64 };
