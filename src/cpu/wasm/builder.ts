/**
 * A small WebAssembly emitter: a function builder with one method per op,
 * typed locals from a pool, labels whose branch depths the builder resolves,
 * and a module builder (types, imports incl. a shared memory, functions,
 * exports). Binary format per the core spec §5.
 */
import { BLOCK_TYPE_EMPTY, Op, OpAtomic, OpFC, OpSimd, ValTypeCode, type ValType } from './opcodes.js';
import { name, sleb32, sleb64, uleb } from './leb128.js';

export interface Local<T extends ValType = ValType> { readonly index: number; readonly type: T }
export type I32 = Local<'i32'>;
export type I64 = Local<'i64'>;

/** A structured-control label; `height` is its nesting level when opened. */
export interface Label { readonly height: number; readonly kind: 'block' | 'loop' | 'if'; closed: boolean }

export interface FuncType { params: readonly ValType[]; results: readonly ValType[] }

function typeKey(t: FuncType): string { return `${t.params.join(',')}>${t.results.join(',')}`; }

export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private readonly free = new Map<ValType, number[]>();
  private readonly labels: Label[] = [];

  constructor(readonly type: FuncType) {}

  get paramCount(): number { return this.type.params.length; }
  param<T extends ValType>(i: number, t: T): Local<T> {
    if (this.type.params[i] !== t) throw new TypeError(`param ${i} is not ${t}`);
    return { index: i, type: t };
  }

  /** A fresh (or recycled) local of type t. */
  local<T extends ValType>(t: T): Local<T> {
    const pool = this.free.get(t);
    const idx = pool?.pop();
    if (idx !== undefined) return { index: idx, type: t };
    this.localTypes.push(t);
    return { index: this.paramCount + this.localTypes.length - 1, type: t };
  }
  /** Return a local to the pool (its value is dead). */
  release(l: Local): void {
    let pool = this.free.get(l.type);
    if (!pool) { pool = []; this.free.set(l.type, pool); }
    pool.push(l.index);
  }

  // --- raw emission
  op(byte: number): this { this.code.push(byte); return this; }
  private memarg(align: number, offset: number): this { uleb(this.code, align); uleb(this.code, offset >>> 0); return this; }

  // --- control (§5.4.1)
  private open(kind: Label['kind'], opcode: number, result?: ValType): Label {
    this.code.push(opcode, result ? ValTypeCode[result] : BLOCK_TYPE_EMPTY);
    const l: Label = { height: this.labels.length, kind, closed: false };
    this.labels.push(l);
    return l;
  }
  block(result?: ValType): Label { return this.open('block', Op.Block, result); }
  loop(result?: ValType): Label { return this.open('loop', Op.Loop, result); }
  if_(result?: ValType): Label { return this.open('if', Op.If, result); }
  else_(): this { this.code.push(Op.Else); return this; }
  end(): this {
    const l = this.labels.pop();
    if (l) l.closed = true;
    this.code.push(Op.End);
    return this;
  }
  private depth(l: Label): number {
    if (l.closed) throw new Error('branch to a closed label');
    return this.labels.length - 1 - l.height;
  }
  br(l: Label): this { this.code.push(Op.Br); uleb(this.code, this.depth(l)); return this; }
  brIf(l: Label): this { this.code.push(Op.BrIf); uleb(this.code, this.depth(l)); return this; }
  brTable(targets: readonly Label[], dflt: Label): this {
    this.code.push(Op.BrTable); uleb(this.code, targets.length);
    for (const t of targets) uleb(this.code, this.depth(t));
    uleb(this.code, this.depth(dflt));
    return this;
  }
  return_(): this { return this.op(Op.Return); }
  unreachable(): this { return this.op(Op.Unreachable); }
  nop(): this { return this.op(Op.Nop); }
  call(funcIndex: number): this { this.code.push(Op.Call); uleb(this.code, funcIndex); return this; }
  returnCall(funcIndex: number): this { this.code.push(Op.ReturnCall); uleb(this.code, funcIndex); return this; }
  callIndirect(typeIndex: number, table = 0): this { this.code.push(Op.CallIndirect); uleb(this.code, typeIndex); uleb(this.code, table); return this; }
  returnCallIndirect(typeIndex: number, table = 0): this { this.code.push(Op.ReturnCallIndirect); uleb(this.code, typeIndex); uleb(this.code, table); return this; }
  drop(): this { return this.op(Op.Drop); }
  select(): this { return this.op(Op.Select); }

  // --- variables
  get(l: Local): this { this.code.push(Op.LocalGet); uleb(this.code, l.index); return this; }
  set(l: Local): this { this.code.push(Op.LocalSet); uleb(this.code, l.index); return this; }
  tee(l: Local): this { this.code.push(Op.LocalTee); uleb(this.code, l.index); return this; }
  globalGet(i: number): this { this.code.push(Op.GlobalGet); uleb(this.code, i); return this; }
  globalSet(i: number): this { this.code.push(Op.GlobalSet); uleb(this.code, i); return this; }

  // --- constants
  i32Const(v: number): this { this.code.push(Op.I32Const); sleb32(this.code, v); return this; }
  i64Const(v: bigint | number): this {
    this.code.push(Op.I64Const);
    // Small constants (the common case) encode like i32 ones: no BigInt arithmetic.
    if (typeof v === 'number' ? v === (v | 0) : v >= -0x80000000n && v <= 0x7fffffffn) sleb32(this.code, Number(v));
    else sleb64(this.code, BigInt(v));
    return this;
  }
  f64Const(v: number): this {
    this.code.push(Op.F64Const);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    for (const x of b) this.code.push(x);
    return this;
  }

  // --- memory (§5.4.6); offsets are static byte offsets
  i32Load(off = 0): this { return this.op(Op.I32Load).memarg(2, off); }
  i64Load(off = 0): this { return this.op(Op.I64Load).memarg(3, off); }
  f32Load(off = 0): this { return this.op(Op.F32Load).memarg(2, off); }
  f64Load(off = 0): this { return this.op(Op.F64Load).memarg(3, off); }
  i32Load8U(off = 0): this { return this.op(Op.I32Load8U).memarg(0, off); }
  i32Load8S(off = 0): this { return this.op(Op.I32Load8S).memarg(0, off); }
  i32Load16U(off = 0): this { return this.op(Op.I32Load16U).memarg(1, off); }
  i32Load16S(off = 0): this { return this.op(Op.I32Load16S).memarg(1, off); }
  i64Load8U(off = 0): this { return this.op(Op.I64Load8U).memarg(0, off); }
  i64Load16U(off = 0): this { return this.op(Op.I64Load16U).memarg(1, off); }
  i64Load32U(off = 0): this { return this.op(Op.I64Load32U).memarg(2, off); }
  i64Load8S(off = 0): this { return this.op(Op.I64Load8S).memarg(0, off); }
  i64Load16S(off = 0): this { return this.op(Op.I64Load16S).memarg(1, off); }
  i64Load32S(off = 0): this { return this.op(Op.I64Load32S).memarg(2, off); }
  i32Store(off = 0): this { return this.op(Op.I32Store).memarg(2, off); }
  i64Store(off = 0): this { return this.op(Op.I64Store).memarg(3, off); }
  f32Store(off = 0): this { return this.op(Op.F32Store).memarg(2, off); }
  f64Store(off = 0): this { return this.op(Op.F64Store).memarg(3, off); }
  i32Store8(off = 0): this { return this.op(Op.I32Store8).memarg(0, off); }
  i32Store16(off = 0): this { return this.op(Op.I32Store16).memarg(1, off); }
  i64Store8(off = 0): this { return this.op(Op.I64Store8).memarg(0, off); }
  i64Store16(off = 0): this { return this.op(Op.I64Store16).memarg(1, off); }
  i64Store32(off = 0): this { return this.op(Op.I64Store32).memarg(2, off); }
  memoryCopy(): this { this.code.push(Op.PrefixFC); uleb(this.code, OpFC.MemoryCopy); this.code.push(0, 0); return this; }
  memoryFill(): this { this.code.push(Op.PrefixFC); uleb(this.code, OpFC.MemoryFill); this.code.push(0); return this; }

  // --- i32 numeric
  i32Eqz(): this { return this.op(Op.I32Eqz); }
  i32Eq(): this { return this.op(Op.I32Eq); }
  i32Ne(): this { return this.op(Op.I32Ne); }
  i32LtS(): this { return this.op(Op.I32LtS); }
  i32LtU(): this { return this.op(Op.I32LtU); }
  i32GtS(): this { return this.op(Op.I32GtS); }
  i32GtU(): this { return this.op(Op.I32GtU); }
  i32LeS(): this { return this.op(Op.I32LeS); }
  i32LeU(): this { return this.op(Op.I32LeU); }
  i32GeS(): this { return this.op(Op.I32GeS); }
  i32GeU(): this { return this.op(Op.I32GeU); }
  i32Clz(): this { return this.op(Op.I32Clz); }
  i32Ctz(): this { return this.op(Op.I32Ctz); }
  i32Popcnt(): this { return this.op(Op.I32Popcnt); }
  i32Add(): this { return this.op(Op.I32Add); }
  i32Sub(): this { return this.op(Op.I32Sub); }
  i32Mul(): this { return this.op(Op.I32Mul); }
  i32DivU(): this { return this.op(Op.I32DivU); }
  i32RemU(): this { return this.op(Op.I32RemU); }
  i32And(): this { return this.op(Op.I32And); }
  i32Or(): this { return this.op(Op.I32Or); }
  i32Xor(): this { return this.op(Op.I32Xor); }
  i32Shl(): this { return this.op(Op.I32Shl); }
  i32ShrS(): this { return this.op(Op.I32ShrS); }
  i32ShrU(): this { return this.op(Op.I32ShrU); }
  i32Rotl(): this { return this.op(Op.I32Rotl); }
  i32Rotr(): this { return this.op(Op.I32Rotr); }
  i32WrapI64(): this { return this.op(Op.I32WrapI64); }
  i32Extend8S(): this { return this.op(Op.I32Extend8S); }
  i32Extend16S(): this { return this.op(Op.I32Extend16S); }

  // --- i64 numeric
  i64Eqz(): this { return this.op(Op.I64Eqz); }
  i64Eq(): this { return this.op(Op.I64Eq); }
  i64Ne(): this { return this.op(Op.I64Ne); }
  i64LtS(): this { return this.op(Op.I64LtS); }
  i64LtU(): this { return this.op(Op.I64LtU); }
  i64GtS(): this { return this.op(Op.I64GtS); }
  i64GtU(): this { return this.op(Op.I64GtU); }
  i64LeS(): this { return this.op(Op.I64LeS); }
  i64LeU(): this { return this.op(Op.I64LeU); }
  i64GeS(): this { return this.op(Op.I64GeS); }
  i64GeU(): this { return this.op(Op.I64GeU); }
  i64Clz(): this { return this.op(Op.I64Clz); }
  i64Ctz(): this { return this.op(Op.I64Ctz); }
  i64Popcnt(): this { return this.op(Op.I64Popcnt); }
  i64Add(): this { return this.op(Op.I64Add); }
  i64Sub(): this { return this.op(Op.I64Sub); }
  i64Mul(): this { return this.op(Op.I64Mul); }
  i64DivS(): this { return this.op(Op.I64DivS); }
  i64DivU(): this { return this.op(Op.I64DivU); }
  i64RemS(): this { return this.op(Op.I64RemS); }
  i64RemU(): this { return this.op(Op.I64RemU); }
  i64And(): this { return this.op(Op.I64And); }
  i64Or(): this { return this.op(Op.I64Or); }
  i64Xor(): this { return this.op(Op.I64Xor); }
  i64Shl(): this { return this.op(Op.I64Shl); }
  i64ShrS(): this { return this.op(Op.I64ShrS); }
  i64ShrU(): this { return this.op(Op.I64ShrU); }
  i64Rotl(): this { return this.op(Op.I64Rotl); }
  i64Rotr(): this { return this.op(Op.I64Rotr); }
  i64ExtendI32S(): this { return this.op(Op.I64ExtendI32S); }
  i64ExtendI32U(): this { return this.op(Op.I64ExtendI32U); }
  i64Extend8S(): this { return this.op(Op.I64Extend8S); }
  i64Extend16S(): this { return this.op(Op.I64Extend16S); }
  i64Extend32S(): this { return this.op(Op.I64Extend32S); }

  // --- float (scalar SSE lowering)
  f64Add(): this { return this.op(Op.F64Add); }
  f64Sub(): this { return this.op(Op.F64Sub); }
  f64Mul(): this { return this.op(Op.F64Mul); }
  f64Div(): this { return this.op(Op.F64Div); }
  f64Sqrt(): this { return this.op(Op.F64Sqrt); }
  f64ReinterpretI64(): this { return this.op(Op.F64ReinterpretI64); }
  i64ReinterpretF64(): this { return this.op(Op.I64ReinterpretF64); }

  // --- SIMD (0xfd prefix)
  simd(sub: number): this { this.code.push(Op.PrefixSimd); uleb(this.code, sub); return this; }
  v128Load(off = 0): this { return this.simd(OpSimd.V128Load).memarg(0, off); }
  v128Store(off = 0): this { return this.simd(OpSimd.V128Store).memarg(0, off); }
  v128And(): this { return this.simd(OpSimd.V128And); }
  v128Or(): this { return this.simd(OpSimd.V128Or); }
  v128Xor(): this { return this.simd(OpSimd.V128Xor); }
  v128Andnot(): this { return this.simd(OpSimd.V128Andnot); }
  i8x16Eq(): this { return this.simd(OpSimd.I8x16Eq); }
  i8x16BitMask(): this { return this.simd(OpSimd.I8x16BitMask); }

  // --- atomics (0xfe prefix); natural alignment required by the spec
  atomic(sub: number, align: number, off = 0): this { this.code.push(Op.PrefixAtomic); uleb(this.code, sub); return this.memarg(align, off); }
  atomicFence(): this { this.code.push(Op.PrefixAtomic); uleb(this.code, OpAtomic.Fence); this.code.push(0); return this; }

  /** The locals declaration (§5.5.13: a body is its locals declaration, then code, then `end`) of the function body (run-length encoded by type). */
  localsHeader(): number[] {
    if (this.labels.length !== 0) throw new Error(`unclosed labels: ${this.labels.length}`);
    const out: number[] = [];
    const runs: Array<[number, ValType]> = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(out, runs.length);
    for (const [n, t] of runs) { uleb(out, n); out.push(ValTypeCode[t]); }
    return out;
  }
}

/**
 * A growable byte buffer: module bytes are assembled with `set` copies of
 * whole arrays (the code of a region is tens of kilobytes; per-byte pushes
 * through several intermediate arrays cost more than V8's compile of it).
 */
class ByteSink {
  buf = new Uint8Array(1 << 14);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(b: number): void { this.ensure(1); this.buf[this.len++] = b; }
  bytes(a: ArrayLike<number>): void { this.ensure(a.length); this.buf.set(a, this.len); this.len += a.length; }
  uleb(v: number): void { const t: number[] = []; uleb(t, v); this.bytes(t); }
  section(id: number, content: ArrayLike<number>): void { this.byte(id); this.uleb(content.length); this.bytes(content); }
}

function ulebSize(v: number): number {
  let n = 1;
  while (v >= 0x80) { v = Math.floor(v / 128); n++; }
  return n;
}

interface FuncImport { module: string; field: string; typeIndex: number }

function encodeVec(out: number[], items: readonly number[][]): void {
  uleb(out, items.length);
  for (const it of items) for (const b of it) out.push(b);
}

/** Assembles a module: function imports come first in the index space. */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly typeIndex = new Map<string, number>();
  private readonly funcImports: FuncImport[] = [];
  private memoryImport: { module: string; field: string; min: number; max: number; shared: boolean } | undefined;
  private tableImport: { module: string; field: string; min: number } | undefined;
  private readonly funcs: Array<{ typeIndex: number; fb: FunctionBuilder }> = [];
  private readonly exports: Array<{ name: string; kind: 0 | 1 | 2; index: number }> = [];
  private sealedImports = false;

  type(t: FuncType): number {
    const k = typeKey(t);
    let i = this.typeIndex.get(k);
    if (i === undefined) { i = this.types.length; this.types.push(t); this.typeIndex.set(k, i); }
    return i;
  }

  importFunc(module: string, field: string, t: FuncType): number {
    if (this.sealedImports) throw new Error('imports must precede functions');
    this.funcImports.push({ module, field, typeIndex: this.type(t) });
    return this.funcImports.length - 1;
  }
  importMemory(module: string, field: string, min: number, max: number, shared: boolean): void {
    this.memoryImport = { module, field, min, max, shared };
  }
  importTable(module: string, field: string, min: number): void {
    this.tableImport = { module, field, min };
  }

  /** Add a function; returns its builder and its index in the function space. */
  func(t: FuncType, exportName?: string): { fb: FunctionBuilder; index: number } {
    this.sealedImports = true;
    const fb = new FunctionBuilder(t);
    const index = this.funcImports.length + this.funcs.length;
    this.funcs.push({ typeIndex: this.type(t), fb });
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 0, index });
    return { fb, index };
  }
  exportFunc(nm: string, index: number): void { this.exports.push({ name: nm, kind: 0, index }); }
  private readonly funcNames: Array<{ index: number; name: string }> = [];
  /** Name a function in the "name" custom section (shown by profilers and stack traces). */
  nameFunc(index: number, nm: string): void { this.funcNames.push({ index, name: nm }); }

  bytes(): Uint8Array {
    const out = new ByteSink();
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    // type section (1)
    const types = this.types.map((t) => {
      const e: number[] = [0x60];
      uleb(e, t.params.length); for (const p of t.params) e.push(ValTypeCode[p]);
      uleb(e, t.results.length); for (const r of t.results) e.push(ValTypeCode[r]);
      return e;
    });
    const ts: number[] = []; encodeVec(ts, types); out.section(1, ts);
    // import section (2)
    const imps: number[][] = [];
    for (const fi of this.funcImports) {
      const e: number[] = []; name(e, fi.module); name(e, fi.field); e.push(0x00); uleb(e, fi.typeIndex); imps.push(e);
    }
    if (this.tableImport) {
      const e: number[] = []; name(e, this.tableImport.module); name(e, this.tableImport.field);
      e.push(0x01, ValTypeCode.funcref, 0x00); uleb(e, this.tableImport.min); imps.push(e);
    }
    if (this.memoryImport) {
      const m = this.memoryImport;
      const e: number[] = []; name(e, m.module); name(e, m.field);
      e.push(0x02, m.shared ? 0x03 : 0x01); uleb(e, m.min); uleb(e, m.max); imps.push(e);
    }
    if (imps.length) { const is: number[] = []; encodeVec(is, imps); out.section(2, is); }
    // function section (3)
    const fs: number[] = []; uleb(fs, this.funcs.length); for (const f of this.funcs) uleb(fs, f.typeIndex); out.section(3, fs);
    // export section (7)
    if (this.exports.length) {
      const es: number[] = []; uleb(es, this.exports.length);
      for (const x of this.exports) { name(es, x.name); es.push(x.kind); uleb(es, x.index); }
      out.section(7, es);
    }
    // code section (10): each body is its size, the locals declaration, the code and `end`
    const headers = this.funcs.map((f) => f.fb.localsHeader());
    let size = ulebSize(this.funcs.length);
    this.funcs.forEach((f, i) => { const n = headers[i]!.length + f.fb.code.length + 1; size += ulebSize(n) + n; });
    out.byte(10); out.uleb(size); out.uleb(this.funcs.length);
    this.funcs.forEach((f, i) => {
      const h = headers[i]!;
      out.uleb(h.length + f.fb.code.length + 1); out.bytes(h); out.bytes(f.fb.code); out.byte(Op.End);
    });
    // name section (custom, "name"; subsection 1 = function names, in increasing index order)
    if (this.funcNames.length) {
      const fnames: number[] = []; uleb(fnames, this.funcNames.length);
      for (const f of [...this.funcNames].sort((a, b) => a.index - b.index)) { uleb(fnames, f.index); name(fnames, f.name); }
      const ns: number[] = []; name(ns, 'name'); ns.push(1); uleb(ns, fnames.length); for (const b of fnames) ns.push(b);
      out.section(0, ns);
    }
    return out.buf.slice(0, out.len);
  }
}
