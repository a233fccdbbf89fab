/**
 * The translation engine shared by all vCPUs of a machine: the core module
 * instance (dispatcher, flag functions), the function table that holds every
 * live block, the interp helper registry, and the code cache keyed by
 * physical address + linear RIP + mode key, with per-page invalidation.
 */
import { decodeInto, relTarget } from '../decoder/decoder.js';
import { JIT_DECODER_FEATURES } from './guest-features.js';
import { ATTR_INHIBIT_IRQ, ATTR_IO, ATTR_PRIVILEGED, ATTR_SEGLOAD, ATTR_SERIALIZING, ATTR_SYSTEM_STATE, DECODE_MORE, Flow, Instruction, Mn, type CpuMode, type FeatureSet } from '../decoder/types.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { CODE_MAP_BASE, JC_ENTRIES, JC_ENTRY_BYTES, JC_HEAT_OFFSET, JC_OFFSET } from '../state.js';
import { buildCoreModule, jcHash, type CoreExports } from '../translate/core.js';
import { BlockModule, canInline, HELPER_SIGS, HELPER_TABLE_SIZE, HelperSlot, needsFallback, type BlockInsn } from '../translate/block.js';
import { installSimdHelpers } from '../translate/simd-helpers.js';
import { ModuleBuilder } from '../wasm/builder.js';

export interface CompiledBlock {
  key: string;
  tableIndex: number;
  helpers: number[];
  /** wasm pages (gpa >> 12 of the wasm address) the code of this block's region came from. */
  pages: number[];
  insnCount: number;
  /** The entry of a region formed because the block was hot (Exit.HOT). */
  hot: boolean;
}

/** An executor call; receives the vCPU running the block. */
export type HelperFn<C> = (cpu: C) => number;

export const MAX_BLOCK_INSNS = 64;
/** Decoded blocks kept for the interpreter tier (the cache starts afresh when full). */
const MAX_DECODED_BLOCKS = 16384;
/** Blocks and instructions compiled together in one module. */
export const MAX_BATCH_BLOCKS = 4;
export const MAX_BATCH_INSNS = 400;
export const MAX_BATCH_EXECUTED = 16;
/**
 * Dispatcher entries into one block (its region was left and re-entered
 * through the run loop) before a region is formed around it: hot loops that
 * the first translation split between regions, calls and returns across them.
 */
export const HOT_DISPATCHES = 1000;
export const MAX_HOT_BLOCKS = 32;
export const MAX_HOT_INSNS = 800;

/** A decoded block of a region (collect -> emit). */
interface RegionBlock { key: string; name: string; insns: BlockInsn[]; succ: bigint[]; helpers: number[]; pages: number[]; n: number; inl: number }
/** A decoded region: blocks, the block it was requested for, how it was formed. */
interface Region { batch: RegionBlock[]; requestedKey: string; hot: boolean; mode: CpuMode; cpl: number }
/** A translation waiting in translateLater: where the block's code is (physical pages) and its mode. */
export interface TranslateRequest {
  key: string; rip: bigint; startOff: number; gpas: number[]; codeLength: number; wasmPages: number[];
  mode: CpuMode; cpl: number; modeKey: number; csBase: bigint;
}

export class Engine<C = unknown> {
  readonly table: WebAssembly.Table;
  /**
   * The helpers' table (block.ts HelperSlot), imported by every block module.
   * Separate from `table` on purpose: V8 keeps a dispatch table per instance
   * that imports a table and updates each on table.set, so block modules
   * importing the block table would make every install cost O(modules).
   */
  readonly helperTable = new WebAssembly.Table({ element: 'anyfunc', initial: HELPER_TABLE_SIZE });
  readonly core: CoreExports;
  private readonly coreInstance: WebAssembly.Instance;
  readonly memPages: number;
  readonly helpers: Array<HelperFn<C> | undefined> = [];
  private readonly freeHelpers: number[] = [];
  private readonly freeSlots: number[] = [];
  readonly cache = new Map<string, CompiledBlock>();
  readonly byPage = new Map<number, Set<string>>();
  readonly u8: Uint8Array;
  /** Statistics for bench/. */
  stats = { blocks: 0, insns: 0, inlined: 0, translateNs: 0n, invalidations: 0, modules: 0, hotRegions: 0 };
  /**
   * Interpret a block the first time it is reached and translate it only when
   * it is reached again: most code runs once (set-up, boot), and translating
   * it costs far more than interpreting it. Off for tests that must exercise
   * the translated code of straight-line snippets they run once.
   */
  interpretFirst = true;
  /** Times each not-yet-translated block was interpreted (translated once it reaches interpretLimit). */
  readonly interpreted = new Map<string, number>();
  /** Interpretations of a block before it is translated. */
  interpretLimit = 1;
  /** Blocks replaced by a hot region, per page: freed when that page's code is invalidated. */
  private readonly retired = new Map<number, CompiledBlock[]>();
  /** Called to flush every vCPU's jump cache (code invalidated). */
  onFlushJumpCaches: () => void = () => {};
  /** Called when a page gains code: revoke TLB write tags for it on every vCPU. */
  onCodePage: (wasmPage: number) => void = () => {};
  /** `-d in_asm/exec/cpu` (src/cpu/log.ts): called for each block translated; unset, nothing is done. */
  onTranslate: ((insns: readonly BlockInsn[], mode: CpuMode) => void) | undefined;
  noInline = false;
  /** Name each region function after its guest RIP (for host profilers); MICROVM_JIT_NAMES=1 turns it on. */
  nameFunctions = process.env['MICROVM_JIT_NAMES'] === '1';
  /** Translate with inline access counters (bench/). */
  profile = false;
  /** Debug: guest linear addresses that stop execution before their instruction (GDB breakpoints). */
  readonly breakpoints = new Set<bigint>();
  /** Debug: translate one instruction per block and run one block at a time. */
  stepping = false;
  /** Host time during which runnable vCPUs were not scheduled (event-loop turns): hidden from guest time. */
  pausedNs = 0n;
  private js: { interp: Function } | undefined;
  get jsImports(): { interp: Function } | undefined { return this.js; }
  /**
   * The host helper translated code calls (the executor, for instructions not
   * inlined). It goes into the helper table at its HelperSlot, wrapped by a
   * small bridge module (a table holds wasm functions only), next to the
   * core's flag functions. (Slow memory accesses leave translated code
   * instead: Exit.SLOW.)
   */
  set jsImports(js: { interp: Function } | undefined) {
    this.js = js;
    if (!js) return;
    const mb = new ModuleBuilder();
    const interp = mb.importFunc('js', 'interp', HELPER_SIGS.INTERP);
    const { fb } = mb.func(HELPER_SIGS.INTERP, 'interp');
    fb.get(fb.param(0, 'i32')).get(fb.param(1, 'i32')).call(interp);
    const bridge = new WebAssembly.Instance(new WebAssembly.Module(mb.bytes()), { js: { interp: js.interp } });
    this.helperTable.set(HelperSlot.FLAGS, this.coreInstance.exports['flags']);
    this.helperTable.set(HelperSlot.COND, this.coreInstance.exports['cond']);
    this.helperTable.set(HelperSlot.INTERP, bridge.exports['interp']);
  }

  /**
   * @param features what the decoder accepts: the machine's CPU model
   * (guest-features.ts jitDecoderFeatures); every vCPU shares it.
   */
  constructor(readonly mem: GuestMemory, readonly features: FeatureSet = JIT_DECODER_FEATURES) {
    const buf = mem.wasmMemory.buffer as ArrayBuffer;
    this.memPages = buf.byteLength / 65536;
    this.u8 = new Uint8Array(buf);
    this.table = new WebAssembly.Table({ element: 'anyfunc', initial: 1024 });
    this.coreInstance = new WebAssembly.Instance(new WebAssembly.Module(buildCoreModule(this.memPages)), {
      env: { mem: mem.wasmMemory, tbl: this.table },
    });
    this.core = this.coreInstance.exports as unknown as CoreExports;
    // AES/PCLMULQDQ/SHA helpers and their tables (translate/simd-helpers.ts), called by blocks through helperTable.
    installSimdHelpers(this.helperTable, mem.wasmMemory);
  }

  addHelper(fn: HelperFn<C>): number {
    const id = this.freeHelpers.pop();
    if (id !== undefined) { this.helpers[id] = fn; return id; }
    this.helpers.push(fn);
    return this.helpers.length - 1;
  }

  private allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    const idx = this.table.length;
    this.table.grow(Math.max(256, idx >> 1));
    for (let i = this.table.length - 1; i > idx; i--) this.freeSlots.push(i);
    return idx;
  }

  /**
   * Translate the block at RIP `rip` and, in the same module, up to
   * MAX_BATCH_BLOCKS more blocks reachable from it by static control flow on
   * the same page (compile + instantiate once per batch).
   * `code` holds the bytes of the page from its start (and up to 15 bytes of
   * the next page when that page translates); `startOff` is rip's offset in it.
   * Returns the requested block, or a decode failure to raise.
   */
  compile(rip: bigint, startOff: number, code: Uint8Array, pageGpa: number, wasmPages: number[], mode: CpuMode, cpl: number,
    modeKey: number, csBase: bigint, makeHelper: (insn: Instruction, rip: bigint) => HelperFn<C>, hot = false): CompiledBlock | { fail: 'ud' | 'gp' | 'more' } {
    const t0 = process.hrtime.bigint();
    const r = this.collect({ rip, startOff, code, pageGpa, wasmPages, mode, cpl, modeKey, csBase }, makeHelper, hot);
    if ('fail' in r) return r;
    const first = this.emit([r])[0]!;
    this.stats.translateNs += process.hrtime.bigint() - t0;
    return first;
  }

  /**
   * Translation requests waiting to be compiled together (translateLater):
   * one module for several regions, because V8's cost per module, not per
   * byte, dominates translation.
   */
  private readonly later: TranslateRequest[] = [];
  private readonly laterKeys = new Set<string>();
  /** Requests gathered before they are compiled as one module. */
  batchRequests = 4;
  isWaiting(key: string): boolean { return this.laterKeys.has(key); }
  /** Queue a translation (the block runs in the interpreter meanwhile). True when the queue is full: call translateWaiting. */
  translateLater(key: string, req: TranslateRequest): boolean {
    if (!this.laterKeys.has(key)) { this.laterKeys.add(key); this.later.push(req); }
    return this.later.length >= this.batchRequests;
  }
  /**
   * Compile every waiting request into one module. Each request's code is
   * read again from guest memory (by physical page): what it held when queued
   * may have been rewritten since.
   */
  translateWaiting(makeHelper: (insn: Instruction, rip: bigint) => HelperFn<C>): void {
    const t0 = process.hrtime.bigint();
    const reqs = this.later.splice(0);
    this.laterKeys.clear();
    const regions: Region[] = [];
    for (const q of reqs) {
      if (this.cache.has(q.key)) continue;
      const page = this.mem.view(q.gpas[0]!, Math.min(4096, q.codeLength));
      let code = page;
      if (q.gpas.length > 1 && q.codeLength > 4096) {
        code = new Uint8Array(q.codeLength);
        code.set(page);
        code.set(this.mem.view(q.gpas[1]!, q.codeLength - 4096), 4096);
      }
      const r = this.collect({ ...q, code, pageGpa: q.gpas[0]! }, makeHelper, false);
      // A request that no longer decodes is dropped: the block is fetched and translated (or faults) afresh when reached.
      if (!('fail' in r) && !regions.some((x) => x.batch.some((b) => b.key === r.requestedKey))) regions.push(r);
    }
    if (regions.length > 0) this.emit(regions);
    this.stats.translateNs += process.hrtime.bigint() - t0;
  }

  /** Decode a region: the requested block and the blocks it takes along (see compile). */
  private collect(q: { rip: bigint; startOff: number; code: Uint8Array; pageGpa: number; wasmPages: number[]; mode: CpuMode; cpl: number;
    modeKey: number; csBase: bigint }, makeHelper: (insn: Instruction, rip: bigint) => HelperFn<C>, hot: boolean): Region | { fail: 'ud' | 'gp' | 'more' } {
    const { rip, startOff, code, pageGpa, wasmPages, mode, modeKey, csBase } = q;
    const ripBase = rip - BigInt(startOff);
    const keyOf = (off: number): string => blockKey(pageGpa, BigInt.asUintN(64, ripBase + BigInt(off)), modeKey, csBase);
    const batch: RegionBlock[] = [];
    const queue = [startOff];
    const seen = new Set<number>();
    let total = 0;
    // A first translation takes up to MAX_BATCH_BLOCKS blocks, and more (up to MAX_BATCH_EXECUTED) only
    // among those that have already run in the interpreter: a module's fixed cost in V8 (~0.5 ms)
    // dwarfs its size, so code known to run is worth compiling now rather than in a module of its own.
    const maxBlocks = hot ? MAX_HOT_BLOCKS : this.interpretFirst ? MAX_BATCH_EXECUTED : MAX_BATCH_BLOCKS;
    const maxTotal = hot ? MAX_HOT_INSNS : MAX_BATCH_INSNS;
    while (queue.length > 0 && batch.length < maxBlocks && total < maxTotal) {
      const start = queue.shift()!;
      if (seen.has(start)) continue;
      seen.add(start);
      const key = keyOf(start);
      // A first translation leaves out blocks translated before; a hot region takes copies of them.
      if (!hot && batch.length > 0 && this.cache.has(key)) continue;
      if (!hot && batch.length >= MAX_BATCH_BLOCKS && !this.interpreted.has(key)) continue;
      const insns: BlockInsn[] = [];
      const helpers: number[] = [];
      let off = start;
      let fail: 'ud' | 'gp' | 'more' | undefined;
      let last: Instruction | undefined;
      const maxInsns = this.stepping ? 1 : MAX_BLOCK_INSNS;
      while (insns.length < maxInsns) {
        const insn = new Instruction();
        const n = decodeInto(insn, code, off, code.length, mode, this.features);
        if (n < 0) {
          if (insns.length === 0) fail = n === DECODE_MORE ? 'more' : n === -2 ? 'gp' : 'ud';
          break; // end the block before the bad instruction; it faults when reached
        }
        const irip = BigInt.asUintN(64, ripBase + BigInt(off));
        // A breakpoint ends the block before its instruction (the run loop stops on arrival there).
        if (insns.length > 0 && this.breakpoints.size > 0 && this.breakpoints.has(irip)) break;
        const inline = !this.noInline && canInline(insn, mode);
        let helper = -1, fallback: number | undefined;
        if (!inline) { helper = this.addHelper(makeHelper(insn, irip)); helpers.push(helper); }
        else if (needsFallback(insn)) { fallback = this.addHelper(makeHelper(insn, irip)); helpers.push(fallback); }
        insns.push({ insn, rip: irip, helper, fallback });
        off += n;
        last = insn;
        if (blockEndsAfter(insn, off)) break;
      }
      if (fail) {
        if (batch.length === 0) return { fail };
        continue;
      }
      const pages = off > 4096 ? wasmPages.slice(0, 2) : wasmPages.slice(0, 1);
      // static successors on this page
      const succ: bigint[] = [];
      if (last) {
        const lastRip = insns[insns.length - 1]!.rip;
        const f = last.flow;
        if (f === Flow.JCC || f === Flow.JMP || f === Flow.CALL) succ.push(relTarget(last, lastRip));
        if (f === Flow.NONE || f === Flow.JCC || f === Flow.CALL) succ.push(BigInt.asUintN(64, ripBase + BigInt(off)));
        for (const t of succ) {
          const o = Number(BigInt.asIntN(64, t - ripBase));
          if (o >= 0 && o < 4096 && o < code.length) queue.push(o);
        }
      }
      batch.push({ key, name: '', insns, succ, helpers, pages, n: insns.length, inl: insns.filter((i) => i.helper < 0).length });
      total += insns.length;
    }
    return { batch, requestedKey: batch[0]!.key, hot, mode, cpl: q.cpl };
  }

  /** Compile regions into one module and install their blocks; returns each region's requested block. */
  private emit(regions: Region[]): CompiledBlock[] {
    const bm = new BlockModule(this.memPages);
    const debugging = this.stepping || this.breakpoints.size > 0;
    for (const r of regions) {
      // Emit each batch as one region, in address order (a block can then fall into its successor).
      r.batch.sort((x, y) => (x.insns[0]!.rip < y.insns[0]!.rip ? -1 : x.insns[0]!.rip > y.insns[0]!.rip ? 1 : 0));
      if (this.onTranslate) for (const b of r.batch) this.onTranslate(b.insns, r.mode);
      const names = bm.addRegion(r.batch.map((b) => b.insns), { mode: r.mode, cpl: r.cpl, memPages: this.memPages, profile: this.profile, link: !debugging, names: this.nameFunctions });
      r.batch.forEach((b, i) => { b.name = names[i]!; });
    }
    const module = new WebAssembly.Module(bm.bytes());
    const inst = new WebAssembly.Instance(module, { env: { mem: this.mem.wasmMemory, hlp: this.helperTable } });
    const firsts: CompiledBlock[] = [];
    for (const { batch, requestedKey, hot } of regions) {
      // Every block of a region jumps inside it to the others: the region lives and dies as a whole,
      // so each block carries the pages of all (a write to any of them drops every block).
      const pages = [...new Set(batch.flatMap((b) => b.pages))];
      // A hot region installs all its blocks (they count as hot: no region is formed around them again);
      // the entry owns every helper of the region, freed once with it.
      for (const b of batch) {
        const owner = !hot || b.key === requestedKey;
        const blk = this.install(b.key, inst.exports[b.name], hot ? (owner ? batch.flatMap((x) => x.helpers) : []) : b.helpers, pages, b.n, hot);
        if (b.key === requestedKey) firsts.push(blk);
      }
      for (const b of batch) {
        this.stats.blocks++;
        this.stats.insns += b.n;
        this.stats.inlined += b.inl;
      }
    }
    this.stats.modules++;
    return firsts;
  }

  /**
   * Make `fn` the translation of `key`. A key translated before (a hot region
   * replacing a first translation) keeps its old block alive, helpers and
   * table slot: other blocks of the old region may still jump into its code,
   * which calls them, and other vCPUs' jump caches may still hold the slot.
   * Both are freed with the old region's pages (after a jump-cache flush).
   */
  private install(key: string, fn: unknown, helpers: number[], pages: number[], insnCount: number, hot: boolean): CompiledBlock {
    const old = this.cache.get(key);
    if (old) {
      // Its table slot stays valid too: another vCPU's jump cache may still point there.
      for (const p of old.pages) {
        let list = this.retired.get(p);
        if (!list) { list = []; this.retired.set(p, list); }
        list.push(old);
      }
      this.stats.hotRegions++;
    }
    const slot = this.allocSlot();
    this.table.set(slot, fn);
    const blk: CompiledBlock = { key, tableIndex: slot, helpers, pages, insnCount, hot };
    this.cache.set(key, blk);
    for (const p of pages) {
      let set = this.byPage.get(p);
      if (!set) { set = new Set(); this.byPage.set(p, set); }
      set.add(key);
      if (this.u8[CODE_MAP_BASE + p] === 0) { this.u8[CODE_MAP_BASE + p] = 1; this.onCodePage(p); }
    }
    return blk;
  }

  /** Install a block in a vCPU's jump cache (base = vCPU state base). */
  installJump(base: number, rip: bigint, modeKey: number, blk: CompiledBlock): void {
    const dv = new DataView(this.u8.buffer);
    const e = base + JC_OFFSET + jcHash(rip) * JC_ENTRY_BYTES;
    dv.setBigUint64(e, BigInt.asUintN(64, rip), true);
    dv.setInt32(e + 8, modeKey, true);
    dv.setInt32(e + 12, blk.tableIndex, true);
    // Dispatches before the block counts as hot (a hot region never asks again).
    dv.setInt32(base + JC_HEAT_OFFSET + jcHash(rip) * 4, blk.hot ? 0x7fffffff : HOT_DISPATCHES, true);
  }

  static flushJumpCache(u8: Uint8Array, base: number): void {
    u8.fill(0xff, base + JC_OFFSET, base + JC_OFFSET + JC_ENTRIES * JC_ENTRY_BYTES);
  }

  /** A write hit a page holding code: drop its translations. */
  invalidatePage(wasmPage: number): void {
    const keys = this.byPage.get(wasmPage);
    this.u8[CODE_MAP_BASE + wasmPage] = 0;
    const retired = this.retired.get(wasmPage);
    if (retired) {
      this.retired.delete(wasmPage);
      for (const blk of retired) {
        for (const h of blk.helpers) { this.helpers[h] = undefined; this.freeHelpers.push(h); }
        this.table.set(blk.tableIndex, null);
        this.freeSlots.push(blk.tableIndex);
        for (const p of blk.pages) if (p !== wasmPage) { const l = this.retired.get(p); if (l) this.retired.set(p, l.filter((x) => x !== blk)); }
      }
      if (!keys) this.onFlushJumpCaches();
    }
    if (!keys) return;
    this.byPage.delete(wasmPage);
    for (const k of keys) {
      const blk = this.cache.get(k);
      if (!blk) continue;
      this.cache.delete(k);
      this.table.set(blk.tableIndex, null);
      this.freeSlots.push(blk.tableIndex);
      for (const h of blk.helpers) { this.helpers[h] = undefined; this.freeHelpers.push(h); }
      for (const p of blk.pages) if (p !== wasmPage) this.byPage.get(p)?.delete(k);
      this.stats.invalidations++;
    }
    this.onFlushJumpCaches();
  }

  /**
   * Decode the block at `startOff` of `code` for the interpreter, with the
   * translator's block rules (ends at control flow, at instructions that end
   * blocks, at the page end, after MAX_BLOCK_INSNS). Empty when the first
   * instruction does not decode (the caller translates, which raises the fault).
   */
  decodeBlock(code: Uint8Array, startOff: number, mode: CpuMode, key: string): Instruction[] {
    // Interpret-first runs a block two or three times before it is translated: decode it once. The
    // cached bytes are compared with memory's (self-modifying code decodes afresh).
    const hit = this.decoded.get(key);
    if (hit && startOff + hit.bytes.length <= code.length && hit.bytes.every((b, i) => code[startOff + i] === b)) return hit.insns;
    const out: Instruction[] = [];
    let off = startOff;
    while (out.length < MAX_BLOCK_INSNS) {
      const insn = new Instruction();
      const n = decodeInto(insn, code, off, code.length, mode, this.features);
      if (n < 0) break;
      out.push(insn);
      off += n;
      if (blockEndsAfter(insn, off)) break;
    }
    if (this.decoded.size >= MAX_DECODED_BLOCKS) this.decoded.clear();
    this.decoded.set(key, { insns: out, bytes: code.slice(startOff, off) });
    return out;
  }
  /** Blocks decoded for the interpreter tier, by translation key (decodeBlock). */
  private readonly decoded = new Map<string, { insns: Instruction[]; bytes: Uint8Array }>();

  flushAll(): void {
    this.interpreted.clear();
    this.decoded.clear();
    this.later.length = 0;
    this.laterKeys.clear();
    for (const p of new Set([...this.byPage.keys(), ...this.retired.keys()])) this.invalidatePage(p);
  }
}

/** The key of a translation: physical page, RIP, mode key, CS base (a block is valid only for all four). */
export function blockKey(pageGpa: number, rip: bigint, modeKey: number, csBase: bigint): string {
  return `${pageGpa}:${rip}:${modeKey}:${csBase}`;
}

/**
 * Does a block end after `insn` (the next instruction at page offset
 * `nextOff`)? At control flow, at instructions that change mode or the
 * interrupt window, and at the page end (the last instruction may straddle
 * into the next page). The translator and the interpreter tier share it.
 */
function blockEndsAfter(insn: Instruction, nextOff: number): boolean {
  return insn.flow !== Flow.NONE || endsBlock(insn) || nextOff >= 4096;
}

/** System instructions end a block so that mode changes and interrupt windows take effect. */
function endsBlock(insn: Instruction): boolean {
  if (insn.attrs & (ATTR_PRIVILEGED | ATTR_SERIALIZING | ATTR_SEGLOAD | ATTR_INHIBIT_IRQ | ATTR_IO | ATTR_SYSTEM_STATE)) return true;
  switch (insn.mn) {
    case Mn.POPF: case Mn.POPFD: case Mn.POPFQ: case Mn.CLI: case Mn.STI: case Mn.INT: case Mn.INT3: case Mn.INTO:
    case Mn.MOVS: case Mn.STOS: case Mn.LODS: case Mn.CMPS: case Mn.SCAS: case Mn.INS: case Mn.OUTS:
      return true;
    default: return false;
  }
}
