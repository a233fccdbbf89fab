/**
 * GDB data watchpoints on the JIT (the AcceleratorDebug contract in
 * src/accel/types.ts; x86 data breakpoints, SDM Vol. 3 §18.2.4).
 *
 * Cost when none are set: nothing. A vCPU's Mmu holds a Watchpoints only
 * while at least one is set; then the TLB fill skips every linear page that
 * holds a watched byte, so inline accesses to those pages miss and come to
 * the slow path (Mmu.read / Mmu.write), which compares the access with the
 * watched ranges. The accelerator flushes the TLBs whenever the set changes.
 *
 * A hit aborts the instruction like a fault (vector WATCH_VECTOR, never
 * delivered to the guest); the run loop then executes that one instruction
 * with checks off and reports the stop with RIP after it: x86 data
 * breakpoints are traps (the access completes, SDM §18.2.4.1 / Table 18-2).
 */

export type WatchKind = 'write' | 'read' | 'access';

/** Pseudo exception vector of a watchpoint hit: outside 0..255, so no real exception is ever taken for one. */
export const WATCH_VECTOR = 0x100;

interface Watch { kind: WatchKind; gva: bigint; len: number }

export class Watchpoints {
  private readonly list: Watch[] = [];
  /** Linear page numbers (gva >> 12) holding at least one watched byte. */
  private readonly pages = new Set<bigint>();

  get size(): number { return this.list.length; }

  /** Watch [gva, gva+len) for `kind`. len 1..4096; ranges may cross a page. */
  add(kind: WatchKind, gva: bigint, len: number): boolean {
    if (!Number.isInteger(len) || len < 1 || len > 4096) return false;
    const a = BigInt.asUintN(64, gva);
    this.list.push({ kind, gva: a, len });
    this.rebuildPages();
    return true;
  }

  remove(kind: WatchKind, gva: bigint, len: number): boolean {
    const a = BigInt.asUintN(64, gva);
    const i = this.list.findIndex((w) => w.kind === kind && w.gva === a && w.len === len);
    if (i < 0) return false;
    this.list.splice(i, 1);
    this.rebuildPages();
    return true;
  }

  /** True when the linear page holding `lin` must stay out of the TLB. */
  pageWatched(lin: bigint): boolean { return this.pages.has(BigInt.asUintN(64, lin) >> 12n); }

  /**
   * The watched address hit by an access of `size` bytes at `lin`, or
   * undefined. 'read' watchpoints fire on reads only, 'write' on writes,
   * 'access' on both.
   */
  hit(lin: bigint, size: number, write: boolean): bigint | undefined {
    const a = BigInt.asUintN(64, lin);
    const end = a + BigInt(size);
    for (const w of this.list) {
      if (w.kind === 'write' ? !write : w.kind === 'read' ? write : false) continue;
      if (a < w.gva + BigInt(w.len) && w.gva < end) return w.gva;
    }
    return undefined;
  }

  private rebuildPages(): void {
    this.pages.clear();
    for (const w of this.list) {
      for (let p = w.gva >> 12n; p <= (w.gva + BigInt(w.len) - 1n) >> 12n; p++) this.pages.add(p);
    }
  }
}
