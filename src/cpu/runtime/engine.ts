/**
 * The translation engine shared by all vCPUs of a machine: the core module
 * instance (dispatcher, flag functions), the function table that holds every
 * live block, the interp helper registry, and the code cache keyed by
 * physical address + linear RIP + mode key, with per-page invalidation.
 */
import { decodeInto } from '../decoder/decoder.js';
import { makeFeatureSet } from '../decoder/features.js';
import { ATTR_INHIBIT_IRQ, ATTR_IO, ATTR_PRIVILEGED, ATTR_SEGLOAD, ATTR_SERIALIZING, ATTR_SYSTEM_STATE, DECODE_MORE, Feature, Flow, Instruction, Mn, type CpuMode, type FeatureSet } from '../decoder/types.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { CODE_MAP_BASE, JC_ENTRIES, JC_ENTRY_BYTES, JC_OFFSET } from '../state.js';
import { buildCoreModule, jcHash, type CoreExports } from '../translate/core.js';
import { canInline, genBlock, type BlockInsn } from '../translate/block.js';

export interface CompiledBlock {
  key: string;
  tableIndex: number;
  helpers: number[];
  /** wasm pages (gpa >> 12 of the wasm address) this block's code came from. */
  pages: number[];
  insnCount: number;
}

/** An executor call; receives the vCPU running the block. */
export type HelperFn<C> = (cpu: C) => number;

/** Features the decoder accepts under the JIT (CPUID reports exactly these; see features.ts JIT_IMPLEMENTED_FEATURES). */
export const JIT_DECODER_FEATURES: FeatureSet = makeFeatureSet([
  Feature.X87, Feature.CMOV, Feature.CX8, Feature.CX16, Feature.MMX, Feature.SSE, Feature.SSE2, Feature.FXSR,
  Feature.RDRAND, Feature.RDSEED, Feature.RDTSCP, Feature.CLFSH, Feature.LAHF_LM, Feature.SYSCALL, Feature.SYSENTER,
  // VMCALL/VMMCALL are the KVM hypercall instructions; the other VMX/SVM instructions reach the executor and #UD there.
  Feature.SVM, Feature.VMX,
]);

export const MAX_BLOCK_INSNS = 64;

export class Engine<C = unknown> {
  readonly table: WebAssembly.Table;
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
  stats = { blocks: 0, insns: 0, inlined: 0, translateNs: 0n, invalidations: 0, modules: 0 };
  /** Called to flush every vCPU's jump cache (code invalidated). */
  onFlushJumpCaches: () => void = () => {};
  /** Called when a page gains code: revoke TLB write tags for it on every vCPU. */
  onCodePage: (wasmPage: number) => void = () => {};
  noInline = false;
  /** Translate with inline access counters (bench/). */
  profile = false;
  /** Host time during which runnable vCPUs were not scheduled (event-loop turns): hidden from guest time. */
  pausedNs = 0n;
  jsImports: { rd: Function; wr: Function; interp: Function } | undefined;

  constructor(readonly mem: GuestMemory) {
    const buf = mem.wasmMemory.buffer as ArrayBuffer;
    this.memPages = buf.byteLength / 65536;
    this.u8 = new Uint8Array(buf);
    this.table = new WebAssembly.Table({ element: 'anyfunc', initial: 1024 });
    this.coreInstance = new WebAssembly.Instance(new WebAssembly.Module(buildCoreModule(this.memPages)), {
      env: { mem: mem.wasmMemory, tbl: this.table },
    });
    this.core = this.coreInstance.exports as unknown as CoreExports;
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
   * Decode a block at linear `lin` (RIP `rip`) from `code` (bytes from the
   * fetch; `gpas` the physical pages they came from) and compile it.
   * Returns the block, or a decode failure to raise (#UD / #GP / #PF on the next page).
   */
  compile(key: string, rip: bigint, code: Uint8Array, wasmPages: number[], mode: CpuMode, cpl: number,
    makeHelper: (insn: Instruction, rip: bigint) => HelperFn<C>): CompiledBlock | { fail: 'ud' | 'gp' | 'more' } {
    const t0 = process.hrtime.bigint();
    const insns: BlockInsn[] = [];
    let off = 0;
    const helpers: number[] = [];
    while (insns.length < MAX_BLOCK_INSNS) {
      const insn = new Instruction();
      const n = decodeInto(insn, code, off, code.length, mode, JIT_DECODER_FEATURES);
      if (n < 0) {
        if (insns.length > 0) break; // end the block before the bad instruction; it faults when reached
        return { fail: n === DECODE_MORE ? 'more' : n === -2 ? 'gp' : 'ud' };
      }
      const irip = BigInt.asUintN(64, rip + BigInt(off));
      const inline = !this.noInline && canInline(insn, mode);
      let helper = -1;
      if (!inline) { helper = this.addHelper(makeHelper(insn, irip)); helpers.push(helper); }
      insns.push({ insn, rip: irip, helper });
      off += n;
      if (insn.flow !== Flow.NONE) break;
      if (!inline && endsBlock(insn)) break;
      // Stay inside the first page (the last instruction may straddle into the next one).
      if (((rip & 0xfffn) + BigInt(off)) >= 4096n) break;
    }
    const bytes = genBlock(insns, { mode, cpl, memPages: this.memPages, profile: this.profile });
    const module = new WebAssembly.Module(bytes);
    const js = this.jsImports!;
    const inst = new WebAssembly.Instance(module, {
      env: { mem: this.mem.wasmMemory },
      core: { flags: this.coreInstance.exports['flags']!, cond: this.coreInstance.exports['cond']! },
      js: { rd: js.rd, wr: js.wr, interp: js.interp },
    });
    const slot = this.allocSlot();
    this.table.set(slot, inst.exports['b']);
    const usedPages = wasmPages.slice(0, off > 4096 - Number(rip & 0xfffn) ? 2 : 1);
    const blk: CompiledBlock = { key, tableIndex: slot, helpers, pages: usedPages, insnCount: insns.length };
    this.cache.set(key, blk);
    for (const p of usedPages) {
      let s = this.byPage.get(p);
      if (!s) { s = new Set(); this.byPage.set(p, s); }
      s.add(key);
      if (this.u8[CODE_MAP_BASE + p] === 0) { this.u8[CODE_MAP_BASE + p] = 1; this.onCodePage(p); }
    }
    this.stats.blocks++; this.stats.modules++;
    this.stats.insns += insns.length;
    this.stats.inlined += insns.filter((i) => i.helper < 0).length;
    this.stats.translateNs += process.hrtime.bigint() - t0;
    return blk;
  }

  /** Install a block in a vCPU's jump cache (base = vCPU state base). */
  installJump(base: number, rip: bigint, modeKey: number, blk: CompiledBlock): void {
    const dv = new DataView(this.u8.buffer);
    const e = base + JC_OFFSET + jcHash(rip) * JC_ENTRY_BYTES;
    dv.setBigUint64(e, BigInt.asUintN(64, rip), true);
    dv.setInt32(e + 8, modeKey, true);
    dv.setInt32(e + 12, blk.tableIndex, true);
  }

  static flushJumpCache(u8: Uint8Array, base: number): void {
    u8.fill(0xff, base + JC_OFFSET, base + JC_OFFSET + JC_ENTRIES * JC_ENTRY_BYTES);
  }

  /** A write hit a page holding code: drop its translations. */
  invalidatePage(wasmPage: number): void {
    const keys = this.byPage.get(wasmPage);
    this.u8[CODE_MAP_BASE + wasmPage] = 0;
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

  flushAll(): void {
    for (const p of [...this.byPage.keys()]) this.invalidatePage(p);
  }
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
