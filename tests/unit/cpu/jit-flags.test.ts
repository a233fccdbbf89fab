// Lazy flags: the wasm materialiser (core module `flags`/`cond`) must agree
// with the TypeScript one for every record kind and size, and both with
// hand-checked SDM cases.
import { describe, expect, test } from 'vitest';
import { buildCoreModule, type CoreExports } from '../../../src/cpu/translate/core.js';
import { arithFlags, condFromFlags, F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, FlKind, flOp } from '../../../src/cpu/translate/flags.js';

function core(): CoreExports {
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const tbl = new WebAssembly.Table({ element: 'anyfunc', initial: 1 });
  return new WebAssembly.Instance(new WebAssembly.Module(buildCoreModule(1)), { env: { mem, tbl } }).exports as unknown as CoreExports;
}

describe('lazy flags', () => {
  test.each([
    // [kind, size, a, b, res, aux, expected] from the SDM definitions
    ['add 0x7f+1 (byte): OF SF AF', FlKind.ADD, 1, 0x7fn, 1n, 0x80n, 0, F_OF | F_SF | F_AF],
    ['add 0xff+1 (byte): CF ZF AF PF', FlKind.ADD, 1, 0xffn, 1n, 0x100n, 0, F_CF | F_ZF | F_AF | F_PF],
    ['sub 0-1 (dword): CF SF AF PF', FlKind.SUB, 4, 0n, 1n, 0xffffffffn, 0, F_CF | F_SF | F_AF | F_PF],
    ['sub 0x80000000-1 (dword): OF AF', FlKind.SUB, 4, 0x80000000n, 1n, 0x7fffffffn, 0, F_OF | F_AF | F_PF],
    ['logic 0 (qword): ZF PF', FlKind.LOGIC, 8, 0n, 0n, 0n, 0, F_ZF | F_PF],
    ['inc 0x7fff (word), CF kept', FlKind.INC, 2, 0x7fffn, 1n, 0x8000n, 1, F_CF | F_OF | F_SF | F_AF | F_PF],
    ['dec 0 (byte), CF kept clear', FlKind.DEC, 1, 0n, 1n, 0xffn, 0, F_SF | F_AF | F_PF],
    ['adc 0xffffffffffffffff+0+1: CF ZF', FlKind.ADC, 8, (1n << 64n) - 1n, 0n, 0n, 1, F_CF | F_ZF | F_PF | F_AF],
    ['sbb 5-5-1 (byte): CF SF', FlKind.SBB, 1, 5n, 5n, 0xffn, 1, F_CF | F_SF | F_PF | F_AF],
  ] as const)('%s', (_name, kind, size, a, b, res, aux, expected) => {
    expect(arithFlags(flOp(kind, size), a, b, res, aux)).toBe(expected);
    expect(core().flags(flOp(kind, size), a, b, res, aux)).toBe(expected);
  });

  test('wasm flags/cond agree with TypeScript on random records', () => {
    const c = core();
    let s = 0x2545f491n;
    const rnd = (): bigint => { s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n); return s; };
    const kinds = [FlKind.EXPLICIT, FlKind.ADD, FlKind.ADC, FlKind.SUB, FlKind.SBB, FlKind.LOGIC, FlKind.INC, FlKind.DEC, FlKind.MUL];
    for (let i = 0; i < 3000; i++) {
      const kind = kinds[Number(rnd() % BigInt(kinds.length))]!;
      const size = [1, 2, 4, 8][Number(rnd() % 4n)]!;
      const a = rnd(), b = rnd() % 3n === 0n ? 1n : rnd(), aux = Number(rnd() & 1n);
      const mask = (1n << BigInt(size * 8)) - 1n;
      const res = kind === FlKind.ADD || kind === FlKind.INC ? (a + b) & mask : kind === FlKind.SUB || kind === FlKind.DEC ? (a - b) & mask : rnd() & mask;
      const op = flOp(kind, size);
      const sa = BigInt.asIntN(64, a), sb = BigInt.asIntN(64, b), sr = BigInt.asIntN(64, res);
      const f = arithFlags(op, a, b, res, aux);
      expect(c.flags(op, sa, sb, sr, aux)).toBe(f);
      const cc = Number(rnd() % 16n);
      expect(c.cond(cc, op, sa, sb, sr, aux)).toBe(condFromFlags(cc, f) ? 1 : 0);
    }
  });
});
