import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  pvhEntryState, multibootEntryState, bootGdt, configurePvh, bootLayout,
} from '../../../src/loader/index.js';
import type { SegmentState, VcpuState } from '../../../src/accel/types.js';

/** Decode an 8-byte descriptor (Intel SDM Vol. 3A §3.4.5) the way a CPU loads it into the hidden part. */
function decode(d: bigint): Omit<SegmentState, 'selector' | 'unusable'> {
  const lo = Number(d & 0xffffffffn);
  const hi = Number(d >> 32n);
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  const rawLimit = (lo & 0xffff) | (hi & 0xf0000);
  const g = ((hi >>> 23) & 1) === 1;
  return {
    base: BigInt(base),
    limit: g ? ((rawLimit << 12) | 0xfff) >>> 0 : rawLimit,
    type: (hi >>> 8) & 0xf,
    s: ((hi >>> 12) & 1) === 1,
    dpl: (hi >>> 13) & 3,
    present: ((hi >>> 15) & 1) === 1,
    avl: ((hi >>> 20) & 1) === 1,
    l: ((hi >>> 21) & 1) === 1,
    db: ((hi >>> 22) & 1) === 1,
    g,
  };
}

function expectMatchesGdt(seg: SegmentState, gdt: bigint[]): void {
  const d = gdt[seg.selector >> 3];
  expect(d).toBeDefined();
  const { selector: _s, unusable: _u, ...cached } = seg;
  expect(cached).toEqual(decode(d!));
  expect(seg.selector & 7).toBe(0); // GDT, RPL 0
}

describe('PVH entry state (xen docs/misc/pvh.pandoc)', () => {
  const s: VcpuState = pvhEntryState(0xc0040, 0x1001000);

  test('registers', () => {
    expect(s.regs.rip).toBe(0x1001000n);
    expect(s.regs.gpr[3]).toBe(0xc0040n); // EBX
    expect(s.regs.gpr.filter((_, i) => i !== 3).every((v) => v === 0n)).toBe(true);
    expect(s.regs.rflags).toBe(0x2n); // IF, TF, VM clear
    expect(s.sregs.cr0).toBe(0x11n); // PE | ET, PG clear
    expect(s.sregs.cr4).toBe(0n);
    expect(s.sregs.efer).toBe(0n);
    expect(s.sregs.apicBase).toBe(0xfee00900n);
  });

  test('flat 32-bit CS and data segments, 32-bit TSS of limit 0x67', () => {
    const { cs, ds, es, ss, fs, gs, tr, ldt } = s.sregs;
    expect([cs.base, cs.limit, cs.type, cs.db, cs.g, cs.s, cs.present, cs.l]).toEqual([0n, 0xffffffff, 0xb, true, true, true, true, false]);
    for (const d of [ds, es, ss, fs, gs]) expect([d.base, d.limit, d.type, d.db, d.s, d.present]).toEqual([0n, 0xffffffff, 0x3, true, true, true]);
    expect([tr.base, tr.limit, tr.type, tr.s, tr.present]).toEqual([0n, 0x67, 0xb, false, true]);
    expect(ldt.unusable).toBe(true);
  });

  test('cached segment state equals what the CPU would load from the boot GDT', () => {
    const gdt = bootGdt();
    for (const seg of [s.sregs.cs, s.sregs.ds, s.sregs.es, s.sregs.ss, s.sregs.fs, s.sregs.gs, s.sregs.tr]) expectMatchesGdt(seg, gdt);
    expect(s.sregs.gdt).toEqual({ base: BigInt(bootLayout.BOOT_GDT_GPA), limit: gdt.length * 8 - 1 });
    expect(gdt[1]).toBe(0x00cf9b000000ffffn);
    expect(gdt[2]).toBe(0x00cf93000000ffffn);
    expect(gdt[3]).toBe(0x00008b0000000067n);
  });

  test('configurePvh writes that GDT where GDTR points', () => {
    const mem = new GuestMemory(16 * 1024 * 1024);
    configurePvh(mem, {});
    const gdt = bootGdt();
    gdt.forEach((d, i) => expect(mem.readU64(bootLayout.BOOT_GDT_GPA + i * 8)).toBe(d));
  });
});

describe('multiboot entry state (Multiboot 0.6.96 §3.2)', () => {
  test('EAX magic, EBX mbi, protected mode flat', () => {
    const s = multibootEntryState(0x9500, 0x100000);
    expect(s.regs.gpr[0]).toBe(0x2badb002n);
    expect(s.regs.gpr[3]).toBe(0x9500n);
    expect(s.regs.rip).toBe(0x100000n);
    expect(s.sregs.cr0 & 0x80000001n).toBe(1n);
    expect(s.regs.rflags & 0x20200n).toBe(0n); // VM and IF clear
    expectMatchesGdt(s.sregs.cs, bootGdt());
  });
});
