/**
 * Hostile-guest tests for the system building blocks: random page tables,
 * descriptor tables, IDTs and MSR traffic never throw, and every failure is a
 * well-formed architectural fault.
 */
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { walk, pagingMemoryOf, type PagingRegs } from '../../../src/cpu/system/paging.js';
import {
  loadDataSegment, loadStackSegment, loadCodeSegmentFar, loadCodeSegmentReturn, loadLdtr, loadTr, nullSegment,
  type SegmentContext, type CpuMode,
} from '../../../src/cpu/system/descriptors.js';
import { prepareInterruptDelivery, type EventSource } from '../../../src/cpu/system/interrupts.js';
import { MsrFile } from '../../../src/cpu/msr.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';

function rng(seed: bigint) {
  let s = seed;
  return {
    u64(): bigint { s ^= s >> 12n; s ^= (s << 25n) & 0xffffffffffffffffn; s ^= s >> 27n; return (s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn; },
    int(n: number): number { return Number(this.u64() % BigInt(n)); },
  };
}

const MEM = 1 << 16;

describe('random page tables', () => {
  test('walk never throws; faults have valid error codes and CR2 = the address', () => {
    const r = rng(7n);
    const mem = new GuestMemory(MEM);
    const pm = pagingMemoryOf(mem);
    let oks = 0;
    for (let round = 0; round < 12; round++) {
      // Fill memory with entries that mostly point back into it (so walks go deep).
      for (let a = 0; a < MEM; a += 8) {
        const e = r.int(4) === 0 ? r.u64() : (BigInt(r.int(MEM >>> 12)) << 12n) | (r.u64() & 0x1ffn) | (r.int(8) === 0 ? 1n << 63n : 0n);
        mem.writeU64(a, e);
      }
      for (let i = 0; i < 200; i++) {
        const regs: PagingRegs = {
          cr0: (1n << 31n) | (r.int(2) ? 1n << 16n : 0n) | 1n,
          cr3: BigInt(r.int(MEM >>> 12)) << 12n,
          cr4: [0n, 1n << 4n, 1n << 5n, (1n << 5n) | (1n << 20n) | (1n << 21n)][r.int(4)]!,
          efer: [0n, 1n << 11n, (1n << 10n) | (1n << 11n) | (1n << 8n), (1n << 10n) | (1n << 8n)][r.int(4)]!,
        };
        const gva = r.u64() & 0x0000ffffffffffffn;
        const acc = { write: r.int(2) === 1, fetch: r.int(3) === 0, user: r.int(2) === 1 };
        const w = walk(pm, regs, gva, acc, { maxPhysAddr: 40, pdpe1gb: true });
        if (w.ok) {
          oks++;
          expect(w.gpa >> 40n).toBe(0n);
          expect([0x1000, 0x200000, 0x400000, 0x40000000]).toContain(w.pageSize);
        } else {
          expect(w.cr2).toBe(gva);
          expect(w.errorCode & ~0x1f).toBe(0);
          if (w.errorCode & 8) expect(w.errorCode & 1).toBe(1); // RSVD implies P
          expect((w.errorCode >> 1) & 1).toBe(acc.write ? 1 : 0);
          expect((w.errorCode >> 2) & 1).toBe(acc.user ? 1 : 0);
        }
      }
    }
    expect(oks).toBeGreaterThan(0);
  });
});

describe('random descriptor tables and IDTs', () => {
  test('segment loads and interrupt delivery never throw; faults are #GP/#NP/#SS/#TS', () => {
    const r = rng(99n);
    const mem = new GuestMemory(MEM);
    const allowed = new Set([10, 11, 12, 13]);
    let ok = 0;
    for (let round = 0; round < 10; round++) {
      for (let a = 0; a < MEM; a += 8) {
        // Bias towards present code/data/system descriptors.
        let d = r.u64();
        if (r.int(2)) d |= 1n << 47n;
        mem.writeU64(a, d);
      }
      for (let i = 0; i < 300; i++) {
        const mode = (['protected', 'compat', 'long64'] as CpuMode[])[r.int(3)]!;
        const ctx: SegmentContext = {
          cpl: r.int(4), mode,
          gdt: { base: BigInt(r.int(MEM / 2)), limit: r.int(0x10000) },
          ldt: r.int(2) ? nullSegment(0) : { ...nullSegment(0x28), unusable: false, present: true, base: BigInt(r.int(MEM / 2)), limit: r.int(0x8000), type: 2 },
          readLinear64: (la) => (la + 8n <= BigInt(MEM) ? mem.readU64(Number(la)) : { vector: 14, errorCode: 0, cr2: la }),
        };
        const sel = r.int(0x10000);
        const results = [
          loadDataSegment(ctx, sel), loadStackSegment(ctx, sel), loadCodeSegmentFar(ctx, sel),
          loadCodeSegmentReturn(ctx, sel), loadLdtr(ctx, sel), loadTr(ctx, sel),
          prepareInterruptDelivery(ctx, {
            idtr: { base: BigInt(r.int(MEM / 2)), limit: r.int(0x1000) },
            tr: { ...nullSegment(0x30), unusable: false, present: true, base: BigInt(r.int(MEM / 2)), limit: r.int(0x100), type: 0xb },
            ss: nullSegment(0), rsp: r.u64(),
          }, r.int(256), (['exception', 'external', 'nmi', 'software', 'int3', 'int1'] as EventSource[])[r.int(6)]!),
        ];
        for (const x of results) {
          if (x.ok) { ok++; continue; }
          if (x.fault.vector === 14) continue; // the reader's own page fault passes through
          expect(allowed.has(x.fault.vector)).toBe(true);
          expect(Number.isInteger(x.fault.errorCode) && x.fault.errorCode >= 0 && x.fault.errorCode <= 0xffff).toBe(true);
        }
      }
    }
    expect(ok).toBeGreaterThan(0);
  });
});

describe('random MSR traffic', () => {
  test('never throws; a write that succeeds reads back or is a known special case', () => {
    const r = rng(3n);
    const m = new MsrFile(createCpuidPolicy({}), { readTsc: () => 0n, writeTsc: () => {}, cr0: () => 0n });
    const indices = [0x10, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0xfe, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x1a0, 0x200, 0x201, 0x20f, 0x250,
      0x258, 0x26f, 0x277, 0x2ff, 0x6e0, 0x800, 0x8ff, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100,
      0xc0000101, 0xc0000102, 0xc0000103, 0xc0010015, 0x11, 0x12, 0x4b564d00, 0x4b564d01];
    for (let i = 0; i < 20000; i++) {
      const idx = r.int(4) === 0 ? Number(r.u64() & 0xffffffffn) : indices[r.int(indices.length)]!;
      const v = r.int(3) === 0 ? r.u64() : r.u64() & 0xffn;
      const w = m.write(idx, v);
      const rd = m.read(idx);
      expect(typeof w.ok).toBe('boolean');
      if (w.ok && rd.ok && [0xc0000080, 0x277, 0x2ff, 0xc0000081, 0xc0000082].includes(idx)) {
        if (idx !== 0xc0000080) expect(rd.value).toBe(v);
      }
    }
  });
});
