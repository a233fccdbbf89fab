import { describe, expect, test } from 'vitest';
import { ModuleBuilder } from '../../../src/cpu/wasm/builder.js';
import { sleb32, sleb64, uleb } from '../../../src/cpu/wasm/leb128.js';

function enc(f: (o: number[]) => void): number[] { const o: number[] = []; f(o); return o; }

describe('LEB128 (core spec §5.2.2 examples)', () => {
  test.each([
    [0, [0]], [127, [0x7f]], [128, [0x80, 0x01]], [624485, [0xe5, 0x8e, 0x26]],
  ])('uleb %d', (v, bytes) => expect(enc((o) => uleb(o, v))).toEqual(bytes));
  test.each([
    [0, [0]], [-1, [0x7f]], [63, [0x3f]], [64, [0xc0, 0x00]], [-64, [0x40]], [-65, [0xbf, 0x7f]],
    [-123456, [0xc0, 0xbb, 0x78]], [0x7fffffff, [0xff, 0xff, 0xff, 0xff, 0x07]], [-0x80000000, [0x80, 0x80, 0x80, 0x80, 0x78]],
  ])('sleb32 %d', (v, bytes) => expect(enc((o) => sleb32(o, v))).toEqual(bytes));
  test('sleb64 extremes', () => {
    expect(enc((o) => sleb64(o, -(1n << 63n)))).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]);
    expect(enc((o) => sleb64(o, (1n << 63n) - 1n))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);
  });
});

describe('module builder', () => {
  test('i64 arithmetic, loops with labels, shared memory, imports', () => {
    const mb = new ModuleBuilder();
    const log: number[] = [];
    const imp = mb.importFunc('env', 'log', { params: ['i32'], results: [] });
    mb.importMemory('env', 'mem', 1, 1, true);
    // sum(n): sum of 1..n as i64, calling log(i) each step, storing the sum at address 8.
    const { fb } = mb.func({ params: ['i32'], results: ['i64'] }, 'sum');
    const n = fb.param(0, 'i32');
    const acc = fb.local('i64');
    const out = fb.block();
    const top = fb.loop();
    fb.get(n).i32Eqz().brIf(out);
    fb.get(n).call(imp);
    fb.get(acc).get(n).i64ExtendI32U().i64Add().set(acc);
    fb.get(n).i32Const(1).i32Sub().set(n);
    fb.br(top);
    fb.end().end();
    fb.i32Const(0).get(acc).i64Store(8);
    fb.get(acc);
    const { fb: mul } = mb.func({ params: ['i64', 'i64'], results: ['i64'] }, 'mulhi');
    // high 64 bits of an unsigned 64x64 product is not a wasm op; test plain i64.mul wrap instead
    mul.get(mul.param(0, 'i64')).get(mul.param(1, 'i64')).i64Mul();
    const bytes = mb.bytes();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { log: (i: number) => { log.push(i); }, mem } });
    const sum = inst.exports['sum'] as (n: number) => bigint;
    expect(sum(10)).toBe(55n);
    expect(log).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(new DataView(mem.buffer as ArrayBuffer).getBigUint64(8, true)).toBe(55n);
    const mulhi = inst.exports['mulhi'] as (a: bigint, b: bigint) => bigint;
    expect(mulhi(0x1_0000_0001n, 0xffff_ffffn)).toBe(BigInt.asIntN(64, 0x1_0000_0001n * 0xffff_ffffn));
  });

  test('branch to a closed label is refused', () => {
    const mb = new ModuleBuilder();
    const { fb } = mb.func({ params: [], results: [] });
    const b = fb.block(); fb.end();
    expect(() => fb.br(b)).toThrow(/closed/);
  });

  test('call_indirect through an imported table and v128 ops validate', () => {
    const mb = new ModuleBuilder();
    mb.importTable('env', 'tbl', 1);
    mb.importMemory('env', 'mem', 1, 1, true);
    const t = mb.type({ params: [], results: ['i32'] });
    const { fb } = mb.func({ params: ['i32'], results: ['i32'] }, 'dispatch');
    fb.get(fb.param(0, 'i32')).callIndirect(t);
    const { fb: v } = mb.func({ params: [], results: ['i32'] }, 'movmsk');
    // PCMPEQB-like: compare bytes at 0 and 16, bitmask
    v.i32Const(0).v128Load(0).i32Const(0).v128Load(16).i8x16Eq().i8x16BitMask();
    const bytes = mb.bytes();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const tbl = new WebAssembly.Table({ element: 'anyfunc', initial: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { tbl, mem } });
    const u8 = new Uint8Array(mem.buffer);
    u8.set([1, 2, 3, 4], 0); u8.set([1, 9, 3, 9], 16);
    const movmsk = inst.exports['movmsk'] as () => number;
    expect(movmsk()).toBe(0xfff5);
    tbl.set(0, movmsk);
    expect((inst.exports['dispatch'] as (i: number) => number)(0)).toBe(0xfff5);
  });
});
