/**
 * Linear -> physical translation, the software TLB fill, and the slow path of
 * every guest memory access (TLB miss, MMIO, RAM outside the wasm window,
 * cross-page accesses, pages holding translated code).
 *
 * The page walk itself is src/cpu/system/paging.ts (SDM Vol. 3 ch. 4: exact
 * #PF error codes, A/D bits, reserved bits, 4K/2M/4M/1G pages). The TLB holds a translation only when its page is RAM
 * inside the wasm memory; the write tag is filled only when the leaf is dirty
 * and writable and the page holds no translated code.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { pagingMemoryOf, walk as walkPageTables, type PagingMemory } from '../system/paging.js';
import {
  CODE_MAP_BASE, CR0_PG, CR0_WP, CpuState, S, TLBE_ADDEND, TLBE_GPA, TLBE_WASM,
  TLBE_TAG_READ, TLBE_TAG_WRITE, TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_OFFSET, TLB_SET_BYTES,
} from '../state.js';
import { WATCH_VECTOR, type Watchpoints } from './watch.js';

export const Access = { READ: 0, WRITE: 1, FETCH: 2 } as const;
export type Access = (typeof Access)[keyof typeof Access];

/** #PF error code bits (SDM Vol. 3 §4.7). */
export const PFEC_P = 1, PFEC_W = 2, PFEC_U = 4, PFEC_RSVD = 8, PFEC_I = 16;

export const VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6, VEC_NM = 7,
  VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_XM = 19;

export interface PhysicalBus {
  /** MMIO read/write of `size` bytes at a non-RAM physical address. */
  mmioRead(gpa: number, size: number): number;
  mmioWrite(gpa: number, size: number, value: number): void;
}

export interface WalkOk { gpa: number; writable: boolean; user: boolean; dirty: boolean; global: boolean; pageMask: number }


export class Mmu {
  readonly dv: DataView;
  readonly u8: Uint8Array;
  /** Statistics (bench/). */
  tlbFills = 0;
  slowAccesses = 0;
  /** Set when a write hit a page holding translated code (the run loop invalidates). */
  onCodeWrite: (gpa: number) => void = () => {};
  /**
   * GDB data watchpoints (src/cpu/runtime/watch.ts): set only while some
   * exist (the TLB then skips their pages); checked in the slow path only
   * while `watchArmed` (the run loop arms it around translated code).
   */
  watch: Watchpoints | undefined;
  watchArmed = false;
  /** The watched address of the last hit (WATCH_VECTOR raised). */
  watchHit: bigint | undefined;

  constructor(readonly st: CpuState, readonly mem: GuestMemory, readonly bus: PhysicalBus) {
    this.dv = new DataView(mem.wasmMemory.buffer as ArrayBuffer);
    this.u8 = new Uint8Array(mem.wasmMemory.buffer as ArrayBuffer);
    this.pagingMem = pagingMemoryOf(mem);
  }

  raise(vector: number, error: number): void {
    this.st.setU32(S.EXC_VECTOR, vector);
    this.st.setU32(S.EXC_ERROR, error);
  }

  /** The page walker (src/cpu/system/paging.ts) over guest RAM, with this CPU's MAXPHYADDR and 1 GiB pages. */
  private readonly pagingMem: PagingMemory;
  private readonly walkOpts = { maxPhysAddr: 40, pdpe1gb: true };

  /**
   * Walk the page tables (glue over the shared walker). Returns the result or
   * a #PF error code (number) after which the caller raises #PF with CR2 = lin.
   */
  walk(lin: bigint, acc: Access, cpl: number): WalkOk | number {
    const st = this.st;
    if ((st.cr0 & CR0_PG) === 0n) {
      return { gpa: Number(lin & 0xffff_ffffn), writable: true, user: true, dirty: true, global: false, pageMask: 0xfff };
    }
    const r = walkPageTables(this.pagingMem, { cr0: st.cr0, cr3: st.cr3, cr4: st.cr4, efer: st.efer }, lin,
      { write: acc === Access.WRITE, fetch: acc === Access.FETCH, user: cpl === 3 }, this.walkOpts);
    if (!r.ok) return r.errorCode;
    return { gpa: Number(r.gpa), writable: r.writable, user: r.user, dirty: r.dirty, global: r.global, pageMask: r.pageSize - 1 };
  }

  /** Translate or raise #PF (sets CR2). Returns the gpa or -1. */
  translate(lin: bigint, acc: Access, cpl: number): number {
    const r = this.walk(lin, acc, cpl);
    if (typeof r === 'number') {
      this.st.cr2 = lin;
      this.raise(VEC_PF, r);
      return -1;
    }
    return r.gpa;
  }

  /** wasm address of a RAM gpa inside the wasm window, or -1. */
  wasmAddr(gpa: number, len: number): number {
    const r = this.mem.regionOf(gpa, len);
    if (!r || r.buffer !== (this.mem.wasmMemory.buffer as unknown)) return -1;
    return r.offset + (gpa - r.gpa);
  }

  tlbEntry(lin: bigint, cpl: number): number {
    const lo = Number(lin & 0xffffffffn);
    return this.st.base + TLB_OFFSET + (cpl === 3 ? TLB_SET_BYTES : 0) + ((lo >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_BYTES;
  }

  private fill(lin: bigint, w: WalkOk, cpl: number, acc: Access): void {
    const pageGpa = w.gpa - (w.gpa & 0xfff);
    const wa = this.wasmAddr(pageGpa, 4096);
    if (wa < 0) return;
    if (this.watch !== undefined && this.watch.pageWatched(lin)) return;
    const e = this.tlbEntry(lin, cpl);
    const tag = BigInt.asIntN(64, lin & ~0xfffn);
    const writeOk = w.writable && w.dirty && this.u8[CODE_MAP_BASE + (wa >>> 12)] === 0 &&
      (cpl !== 3 || w.writable) && (cpl === 3 || w.writable || (this.st.cr0 & CR0_WP) === 0n);
    this.dv.setBigInt64(e + TLBE_TAG_READ, tag, true);
    this.dv.setBigInt64(e + TLBE_TAG_WRITE, writeOk ? tag : -1n, true);
    this.dv.setUint32(e + TLBE_ADDEND, (wa - Number(lin & 0xfffff000n)) >>> 0, true);
    this.dv.setUint32(e + TLBE_WASM, wa, true);
    this.dv.setFloat64(e + TLBE_GPA, pageGpa, true);
    this.tlbFills++;
    void acc;
  }

  /** Drop every TLB entry of this vCPU (CR3 write, CR0/CR4 paging bits, mode changes). */
  flushTlb(): void {
    const start = this.st.base + TLB_OFFSET;
    this.u8.fill(0xff, start, start + 2 * TLB_SET_BYTES);
  }
  /** INVLPG: drop entries for one page in both sets. */
  flushPage(lin: bigint): void {
    for (const cpl of [0, 3]) {
      const e = this.tlbEntry(lin, cpl);
      this.dv.setBigInt64(e + TLBE_TAG_READ, -1n, true);
      this.dv.setBigInt64(e + TLBE_TAG_WRITE, -1n, true);
    }
  }
  /** A page now holds code: revoke write tags that map it (writes must come to the slow path). */
  revokeWrite(wasmPage: number): void {
    const start = this.st.base + TLB_OFFSET;
    for (let i = 0; i < 2 * TLB_ENTRIES; i++) {
      const e = start + i * TLB_ENTRY_BYTES;
      if (this.dv.getUint32(e + TLBE_WASM, true) === wasmPage * 4096) this.dv.setBigInt64(e + TLBE_TAG_WRITE, -1n, true);
    }
  }

  // ---- physical access
  readPhys(gpa: number, size: number): bigint {
    if (this.mem.isRam(gpa, size)) {
      switch (size) {
        case 1: return BigInt(this.mem.readU8(gpa));
        case 2: return BigInt(this.mem.readU16(gpa));
        case 4: return BigInt(this.mem.readU32(gpa));
        default: return this.mem.readU64(gpa);
      }
    }
    if (size === 8) {
      const lo = this.bus.mmioRead(gpa, 4) >>> 0, hi = this.bus.mmioRead(gpa + 4, 4) >>> 0;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return BigInt(this.bus.mmioRead(gpa, size) >>> 0);
  }
  writePhys(gpa: number, size: number, v: bigint): void {
    if (this.mem.isRam(gpa, size)) {
      const wa = this.wasmAddr(gpa, size);
      if (wa >= 0 && (this.u8[CODE_MAP_BASE + (wa >>> 12)] !== 0 || this.u8[CODE_MAP_BASE + ((wa + size - 1) >>> 12)] !== 0)) {
        this.onCodeWrite(gpa);
        if (((wa + size - 1) >>> 12) !== (wa >>> 12)) this.onCodeWrite(gpa + size - 1);
      }
      switch (size) {
        case 1: this.mem.writeU8(gpa, Number(v & 0xffn)); return;
        case 2: this.mem.writeU16(gpa, Number(v & 0xffffn)); return;
        case 4: this.mem.writeU32(gpa, Number(v & 0xffffffffn)); return;
        default: this.mem.writeU64(gpa, v); return;
      }
    }
    if (size === 8) {
      this.bus.mmioWrite(gpa, 4, Number(v & 0xffffffffn));
      this.bus.mmioWrite(gpa + 4, 4, Number((v >> 32n) & 0xffffffffn));
      return;
    }
    this.bus.mmioWrite(gpa, size, Number(v & ((1n << BigInt(size * 8)) - 1n)));
  }

  /** The wasm address of `lin` when the TLB holds it for this access, else -1 (the executor's fast path). */
  private tlbHit(lin: bigint, size: number, cpl: number, write: boolean): number {
    const off = Number(lin & 0xfffn);
    if (off + size > 4096) return -1;
    const e = this.tlbEntry(lin, cpl);
    if (this.dv.getBigInt64(e + (write ? TLBE_TAG_WRITE : TLBE_TAG_READ), true) !== BigInt.asIntN(64, lin - BigInt(off))) return -1;
    return this.dv.getUint32(e + TLBE_WASM, true) + off;
  }

  /** A watchpoint covers this access: abort the instruction with WATCH_VECTOR (the run loop completes it and stops). */
  private watchTrap(lin: bigint, size: number, write: boolean): boolean {
    const hit = this.watch!.hit(lin, size, write);
    if (hit === undefined) return false;
    this.watchHit = hit;
    this.raise(WATCH_VECTOR, -1);
    return true;
  }

  /** Read `size` (1,2,4,8) bytes at a linear address; undefined after raising #PF. */
  read(lin: bigint, size: number, cpl: number, acc: Access = Access.READ): bigint | undefined {
    if (acc === Access.READ) {
      const wa = this.tlbHit(lin, size, cpl, false);
      if (wa >= 0) {
        switch (size) {
          case 1: return BigInt(this.u8[wa]!);
          case 2: return BigInt(this.dv.getUint16(wa, true));
          case 4: return BigInt(this.dv.getUint32(wa, true));
          default: return this.dv.getBigUint64(wa, true);
        }
      }
    }
    this.slowAccesses++;
    const off = Number(lin & 0xfffn);
    if (off + size > 4096) {
      // Cross-page: translate both pages first (faults before any side effect), then bytewise.
      const g0 = this.translate(lin, acc, cpl); if (g0 < 0) return undefined;
      const lin1 = (lin + BigInt(size - 1)) & ~0xfffn;
      const g1 = this.translate(lin1, acc, cpl); if (g1 < 0) return undefined;
      if (this.watchArmed && acc !== Access.FETCH && this.watchTrap(lin, size, false)) return undefined;
      let v = 0n;
      for (let i = 0; i < size; i++) {
        const gpa = off + i < 4096 ? g0 + i : g1 + (off + i - 4096);
        v |= this.readPhys(gpa, 1) << BigInt(8 * i);
      }
      return v;
    }
    const w = this.walk(lin, acc, cpl);
    if (typeof w === 'number') { this.st.cr2 = lin; this.raise(VEC_PF, w); return undefined; }
    if (this.watchArmed && acc !== Access.FETCH && this.watchTrap(lin, size, false)) return undefined;
    if (acc !== Access.FETCH) this.fill(lin, w, cpl, acc);
    return this.readPhys(w.gpa, size);
  }

  write(lin: bigint, size: number, v: bigint, cpl: number): boolean {
    const wa = this.tlbHit(lin, size, cpl, true);
    if (wa >= 0) {
      // Write tags are never filled for pages holding code, so no invalidation check is needed here.
      switch (size) {
        case 1: this.u8[wa] = Number(v & 0xffn); return true;
        case 2: this.dv.setUint16(wa, Number(v & 0xffffn), true); return true;
        case 4: this.dv.setUint32(wa, Number(v & 0xffffffffn), true); return true;
        default: this.dv.setBigUint64(wa, BigInt.asUintN(64, v), true); return true;
      }
    }
    this.slowAccesses++;
    const off = Number(lin & 0xfffn);
    if (off + size > 4096) {
      const g0 = this.translate(lin, Access.WRITE, cpl); if (g0 < 0) return false;
      const lin1 = (lin + BigInt(size - 1)) & ~0xfffn;
      const g1 = this.translate(lin1, Access.WRITE, cpl); if (g1 < 0) return false;
      if (this.watchArmed && this.watchTrap(lin, size, true)) return false;
      for (let i = 0; i < size; i++) {
        const gpa = off + i < 4096 ? g0 + i : g1 + (off + i - 4096);
        this.writePhys(gpa, 1, (v >> BigInt(8 * i)) & 0xffn);
      }
      return true;
    }
    const w = this.walk(lin, Access.WRITE, cpl);
    if (typeof w === 'number') { this.st.cr2 = lin; this.raise(VEC_PF, w); return false; }
    if (this.watchArmed && this.watchTrap(lin, size, true)) return false;
    this.fill(lin, w, cpl, Access.WRITE);
    this.writePhys(w.gpa, size, v);
    return true;
  }

  /** Linear-address bytes for instruction fetch (up to `len`, stops at a fault after the first byte). */
  fetch(lin: bigint, len: number, cpl: number): { bytes: Uint8Array; gpas: number[] } | undefined {
    const out = new Uint8Array(len);
    const gpas: number[] = [];
    let done = 0;
    while (done < len) {
      const a = lin + BigInt(done);
      const g = this.walk(a, Access.FETCH, cpl);
      if (typeof g === 'number') {
        if (done === 0) { this.st.cr2 = a; this.raise(VEC_PF, g); return undefined; }
        break;
      }
      const n = Math.min(len - done, 4096 - Number(a & 0xfffn));
      if (!this.mem.isRam(g.gpa, n)) {
        if (done === 0) return { bytes: new Uint8Array(0), gpas: [] };
        break;
      }
      out.set(this.mem.view(g.gpa, n), done);
      gpas.push(g.gpa - (g.gpa & 0xfff));
      done += n;
    }
    return { bytes: out.subarray(0, done), gpas };
  }
}
