import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  walk, pagingMemoryOf, pagingMode, type PageAccess, type PagingRegs, type WalkOptions,
  CR0_PG, CR0_WP, CR4_PAE, CR4_PSE, CR4_PGE, CR4_PCIDE, CR4_SMEP, CR4_SMAP, EFER_LMA, EFER_NXE,
  PTE_P, PTE_RW, PTE_US, PTE_A, PTE_D, PTE_PS, PTE_G, PTE_XD,
  PFEC_P, PFEC_W, PFEC_U, PFEC_RSVD, PFEC_I, PAGE_4K, PAGE_2M, PAGE_1G, PAGE_4M,
} from '../../../src/cpu/system/paging.js';

const R: PageAccess = { write: false, fetch: false, user: false };
const W: PageAccess = { write: true, fetch: false, user: false };
const X: PageAccess = { write: false, fetch: true, user: false };
const UR: PageAccess = { write: false, fetch: false, user: true };
const UW: PageAccess = { write: true, fetch: false, user: true };
const UX: PageAccess = { write: false, fetch: true, user: true };
const OPTS: WalkOptions = { maxPhysAddr: 40, pdpe1gb: true };
const PRW = PTE_P | PTE_RW;
const PRWU = PTE_P | PTE_RW | PTE_US;

/** 4-level tables at fixed addresses: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. */
function longMode(mem: GuestMemory, upper: bigint = PRWU) {
  mem.writeU64(0x1000, 0x2000n | upper);
  mem.writeU64(0x2000, 0x3000n | upper);
  mem.writeU64(0x3000, 0x4000n | upper);
  const regs: PagingRegs = { cr0: CR0_PG | CR0_WP | 1n, cr3: 0x1000n, cr4: CR4_PAE, efer: EFER_LMA | EFER_NXE | (1n << 8n) };
  return regs;
}

describe('4-level paging', () => {
  test('TamaGo layout: 1 GiB PDPTE page and 2 MiB PDE page', () => {
    const mem = new GuestMemory(1 << 20);
    const pm = pagingMemoryOf(mem);
    // PML4[0] -> PDPT; PDPT[1] = 1 GiB page at 0x40000000; PDPT[0] -> PD; PD[3] = 2 MiB page at 0x600000
    mem.writeU64(0x1000, 0x2000n | PRW);
    mem.writeU64(0x2008, 0x40000000n | PRW | PTE_PS);
    mem.writeU64(0x2000, 0x3000n | PRW);
    mem.writeU64(0x3018, 0x600000n | PRW | PTE_PS | PTE_G);
    const regs: PagingRegs = { cr0: CR0_PG | 1n, cr3: 0x1000n, cr4: CR4_PAE | CR4_PGE, efer: EFER_LMA | (1n << 8n) };
    const g = walk(pm, regs, 0x5432_1234n, R, OPTS);
    expect(g).toMatchObject({ ok: true, gpa: 0x5432_1234n, pageSize: PAGE_1G, global: false });
    const m = walk(pm, regs, 0x0067_89abn, W, OPTS);
    expect(m).toMatchObject({ ok: true, gpa: 0x0067_89abn, pageSize: PAGE_2M, global: true, dirty: true });
    // A set on every entry used; D on the written leaf only.
    expect(mem.readU64(0x1000) & PTE_A).toBe(PTE_A);
    expect(mem.readU64(0x2000) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(mem.readU64(0x3018) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(mem.readU64(0x2008) & (PTE_A | PTE_D)).toBe(PTE_A);
  });
  test('1 GiB page is a reserved-bit fault without PDPE1GB', () => {
    const mem = new GuestMemory(1 << 20);
    mem.writeU64(0x1000, 0x2000n | PRW);
    mem.writeU64(0x2000, 0n | PRW | PTE_PS);
    const regs: PagingRegs = { cr0: CR0_PG, cr3: 0x1000n, cr4: CR4_PAE, efer: EFER_LMA };
    expect(walk(pagingMemoryOf(mem), regs, 0x1234n, R, { maxPhysAddr: 40, pdpe1gb: false })).toEqual({ ok: false, errorCode: PFEC_P | PFEC_RSVD, cr2: 0x1234n });
  });

  type Case = { name: string; pte: bigint; upper?: bigint; acc: PageAccess; regs?: Partial<PagingRegs>; want: number | 'ok' };
  const cases: Case[] = [
    { name: 'not present, read', pte: 0n, acc: R, want: 0 },
    { name: 'not present, user write', pte: 0n, acc: UW, want: PFEC_W | PFEC_U },
    { name: 'not present, fetch with NXE sets I/D', pte: 0n, acc: X, want: PFEC_I },
    { name: 'not present, fetch without NXE: no I/D', pte: 0n, acc: X, regs: { efer: EFER_LMA }, want: 0 },
    { name: 'user read of supervisor page', pte: PRW, acc: UR, want: PFEC_P | PFEC_U },
    { name: 'user read: U/S clear at an upper level', pte: PRWU, upper: PRW, acc: UR, want: PFEC_P | PFEC_U },
    { name: 'user write of read-only page', pte: PTE_P | PTE_US, acc: UW, want: PFEC_P | PFEC_W | PFEC_U },
    { name: 'user write: R/W clear at an upper level', pte: PRWU, upper: PTE_P | PTE_US, acc: UW, want: PFEC_P | PFEC_W | PFEC_U },
    { name: 'supervisor write of read-only page with WP', pte: PTE_P, acc: W, want: PFEC_P | PFEC_W },
    { name: 'supervisor write of read-only page without WP', pte: PTE_P, acc: W, regs: { cr0: CR0_PG }, want: 'ok' },
    { name: 'supervisor write to user page (no SMAP)', pte: PRWU, acc: W, want: 'ok' },
    { name: 'fetch of XD page', pte: PRW | PTE_XD, acc: X, want: PFEC_P | PFEC_I },
    { name: 'user fetch of XD page', pte: PRWU | PTE_XD, acc: UX, want: PFEC_P | PFEC_U | PFEC_I },
    { name: 'XD at an upper level', pte: PRWU, upper: PRWU | PTE_XD, acc: X, want: PFEC_P | PFEC_I },
    { name: 'read of XD page is fine', pte: PRW | PTE_XD, acc: R, want: 'ok' },
    { name: 'XD bit with NXE=0 is reserved', pte: PRW | PTE_XD, acc: R, regs: { efer: EFER_LMA }, want: PFEC_P | PFEC_RSVD },
    { name: 'PTE address bit above MAXPHYADDR (bit 40) is reserved', pte: PRW | (1n << 40n), acc: W, want: PFEC_P | PFEC_RSVD | PFEC_W },
    { name: 'bits 62:52 are ignored', pte: PRW | (0x7ffn << 52n), acc: R, want: 'ok' },
    { name: 'SMEP: supervisor fetch from user page', pte: PRWU, acc: X, regs: { cr4: CR4_PAE | CR4_SMEP }, want: PFEC_P | PFEC_I },
    { name: 'SMAP: supervisor read of user page with AC=0', pte: PRWU, acc: R, regs: { cr4: CR4_PAE | CR4_SMAP }, want: PFEC_P },
    { name: 'SMAP: AC=1 allows it', pte: PRWU, acc: { ...R, ac: true }, regs: { cr4: CR4_PAE | CR4_SMAP }, want: 'ok' },
    { name: 'SMAP: implicit supervisor access ignores AC, U/S=0 in the code', pte: PRWU, acc: { ...UR, ac: true, implicitSupervisor: true }, regs: { cr4: CR4_PAE | CR4_SMAP }, want: PFEC_P },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const mem = new GuestMemory(1 << 20);
      const regs = { ...longMode(mem, c.upper ?? PRWU), ...c.regs };
      mem.writeU64(0x4000 + 5 * 8, 0x7000n | c.pte);
      const r = walk(pagingMemoryOf(mem), regs, 0x5123n, c.acc, OPTS);
      if (c.want === 'ok') expect(r).toMatchObject({ ok: true, gpa: 0x7123n, pageSize: PAGE_4K });
      else expect(r).toEqual({ ok: false, errorCode: c.want, cr2: 0x5123n });
    });
  }

  test('faulting walk: upper entries used get A (as QEMU TCG), the leaf gets nothing; noUpdate touches nothing', () => {
    const mem = new GuestMemory(1 << 20);
    const regs = longMode(mem);
    mem.writeU64(0x4028, 0x7000n | PTE_P | PTE_US);
    expect(walk(pagingMemoryOf(mem), { ...regs }, 0x5000n, UW, { ...OPTS, noUpdate: true }).ok).toBe(false);
    expect(mem.readU64(0x1000) & PTE_A).toBe(0n);
    expect(walk(pagingMemoryOf(mem), regs, 0x5000n, UW, OPTS).ok).toBe(false);
    for (const a of [0x1000, 0x2000, 0x3000]) expect(mem.readU64(a) & PTE_A).toBe(PTE_A);
    expect(mem.readU64(0x4028) & (PTE_A | PTE_D)).toBe(0n);
    // A not-present PDE: PML4E and PDPTE get A, nothing below.
    const mem2 = new GuestMemory(1 << 20);
    const regs2 = longMode(mem2);
    mem2.writeU64(0x3000, 0n);
    expect(walk(pagingMemoryOf(mem2), regs2, 0x5000n, UR, OPTS)).toEqual({ ok: false, errorCode: PFEC_U, cr2: 0x5000n });
    expect([0x1000, 0x2000, 0x3000].map((a) => mem2.readU64(a) & PTE_A)).toEqual([PTE_A, PTE_A, 0n]);
  });
  test('PAE: bits 62:52 are reserved (ignored only in 4-level paging)', () => {
    const mem = new GuestMemory(1 << 20);
    mem.writeU64(0x1000, 0x2000n | PTE_P);
    mem.writeU64(0x2000, 0x3000n | PRW);
    mem.writeU64(0x3000, 0x5000n | PRW | (1n << 55n));
    const regs: PagingRegs = { cr0: CR0_PG | 1n, cr3: 0x1000n, cr4: CR4_PAE, efer: EFER_NXE };
    expect(walk(pagingMemoryOf(mem), regs, 0x123n, R, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_RSVD, cr2: 0x123n });
  });
  test('high canonical address uses bits 47:39 and reports full CR2', () => {
    const mem = new GuestMemory(1 << 20);
    const regs = longMode(mem);
    mem.writeU64(0x1000 + 511 * 8, 0x2000n | PRW);
    mem.writeU64(0x2000 + 510 * 8, 0x3000n | PRW);
    mem.writeU64(0x3000 + 0 * 8, 0x400000n | PRW | PTE_PS);
    expect(walk(pagingMemoryOf(mem), regs, 0xffffffff80012345n, R, OPTS)).toMatchObject({ ok: true, gpa: 0x412345n, pageSize: PAGE_2M });
    expect(walk(pagingMemoryOf(mem), regs, 0xffffffffc0000000n, R, OPTS)).toEqual({ ok: false, errorCode: 0, cr2: 0xffffffffc0000000n });
  });
  test('PCID in CR3 low bits and bit 63 do not move the PML4', () => {
    const mem = new GuestMemory(1 << 20);
    const regs = { ...longMode(mem), cr4: CR4_PAE | CR4_PCIDE, cr3: 0x1000n | 0x5n | (1n << 63n) };
    mem.writeU64(0x4028, 0x7000n | PRW);
    expect(walk(pagingMemoryOf(mem), regs, 0x5000n, R, OPTS)).toMatchObject({ ok: true, gpa: 0x7000n });
  });
  test('PS in a PML4E is reserved; 2 MiB page with bit 13 set is reserved', () => {
    const mem = new GuestMemory(1 << 20);
    const regs = longMode(mem);
    mem.writeU64(0x1000, 0x2000n | PRW | PTE_PS);
    expect(walk(pagingMemoryOf(mem), regs, 0n, R, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_RSVD, cr2: 0n });
    longMode(mem);
    mem.writeU64(0x3000, 0x200000n | PRW | PTE_PS | (1n << 13n));
    expect(walk(pagingMemoryOf(mem), regs, 0n, R, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_RSVD, cr2: 0n });
  });
});

describe('PAE paging', () => {
  function pae(mem: GuestMemory) {
    mem.writeU64(0x1000 + 8 * 3, 0x3000n | PTE_P); // PDPTE[3] for 0xc0000000..
    mem.writeU64(0x3000 + 8 * 1, 0x4000n | PRWU);  // PD[1]
    mem.writeU64(0x4000 + 8 * 2, 0x9000n | PRWU);  // PT[2]
    return { cr0: CR0_PG | CR0_WP | 1n, cr3: 0x1000n, cr4: CR4_PAE, efer: EFER_NXE } as PagingRegs;
  }
  test('4 KiB translation through PDPTE/PD/PT', () => {
    const mem = new GuestMemory(1 << 20);
    expect(pagingMode(pae(mem))).toBe('pae');
    expect(walk(pagingMemoryOf(mem), pae(mem), 0xc0202abcn, UW, OPTS)).toMatchObject({ ok: true, gpa: 0x9abcn, pageSize: PAGE_4K });
  });
  test('PDPTE with R/W (bit 1) set is reserved', () => {
    const mem = new GuestMemory(1 << 20);
    const regs = pae(mem);
    mem.writeU64(0x1018, 0x3000n | PTE_P | PTE_RW);
    expect(walk(pagingMemoryOf(mem), regs, 0xc0202abcn, R, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_RSVD, cr2: 0xc0202abcn });
  });
  test('2 MiB PAE page and XD', () => {
    const mem = new GuestMemory(1 << 20);
    const regs = pae(mem);
    mem.writeU64(0x3000 + 8 * 1, 0x800000n | PRWU | PTE_PS | PTE_XD);
    expect(walk(pagingMemoryOf(mem), regs, 0xc0212345n, R, OPTS)).toMatchObject({ ok: true, gpa: 0x812345n, pageSize: PAGE_2M, nx: true });
    expect(walk(pagingMemoryOf(mem), regs, 0xc0212345n, X, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_I, cr2: 0xc0212345n });
  });
});

describe('32-bit paging', () => {
  test('4 KiB pages with 32-bit entries and A/D bits', () => {
    const mem = new GuestMemory(1 << 20);
    mem.writeU32(0x1000 + 4 * 0x300, 0x2000 | 0x7); // PDE for 0xc0000000
    mem.writeU32(0x2000 + 4 * 0x12, 0x5000 | 0x3);
    const regs: PagingRegs = { cr0: CR0_PG | 1n, cr3: 0x1000n, cr4: 0n, efer: 0n };
    expect(walk(pagingMemoryOf(mem), regs, 0xc0012345n, W, OPTS)).toMatchObject({ ok: true, gpa: 0x5345n, pageSize: PAGE_4K });
    expect(mem.readU32(0x2048) & 0x60).toBe(0x60);
    expect(mem.readU32(0x1c00) & 0x60).toBe(0x20);
    // user access to the supervisor PTE; fetch without SMEP has no I/D in 32-bit paging
    expect(walk(pagingMemoryOf(mem), regs, 0xc0012345n, UR, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_U, cr2: 0xc0012345n });
    expect(walk(pagingMemoryOf(mem), regs, 0xc0400000n, X, OPTS)).toEqual({ ok: false, errorCode: 0, cr2: 0xc0400000n });
  });
  test('4 MiB pages with PSE and PSE-36 high bits; bit 21 reserved; PS ignored without CR4.PSE', () => {
    const mem = new GuestMemory(1 << 20);
    const regs: PagingRegs = { cr0: CR0_PG | 1n, cr3: 0x1000n, cr4: CR4_PSE, efer: 0n };
    mem.writeU32(0x1000 + 4 * 1, (0x00c00000 | (0x3 << 13) | 0x83) >>> 0); // 4 MiB at 0x3_00c00000
    expect(walk(pagingMemoryOf(mem), regs, 0x00412345n, R, OPTS)).toMatchObject({ ok: true, gpa: 0x3_00c12345n, pageSize: PAGE_4M });
    mem.writeU32(0x1004, (0x00c00000 | (1 << 21) | 0x83) >>> 0);
    expect(walk(pagingMemoryOf(mem), regs, 0x00412345n, R, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_RSVD, cr2: 0x00412345n });
    mem.writeU32(0x1004, 0x2000 | 0x83);
    mem.writeU32(0x2000 + 4 * 0x12, 0x6000 | 0x1);
    expect(walk(pagingMemoryOf(mem), { ...regs, cr4: 0n }, 0x00412345n, R, OPTS)).toMatchObject({ ok: true, gpa: 0x6345n, pageSize: PAGE_4K });
  });
  test('paging off: identity, truncated to 32 bits', () => {
    const mem = new GuestMemory(1 << 20);
    expect(walk(pagingMemoryOf(mem), { cr0: 1n, cr3: 0n, cr4: 0n, efer: 0n }, 0x1_2345_6789n, W, OPTS)).toMatchObject({ ok: true, gpa: 0x2345_6789n });
  });
});

describe('non-RAM page-table reads', () => {
  test('a PML4 pointing outside RAM reads all ones -> reserved-bit fault', () => {
    const mem = new GuestMemory(1 << 20);
    const regs: PagingRegs = { cr0: CR0_PG, cr3: 0xfee00000n, cr4: CR4_PAE, efer: EFER_LMA | EFER_NXE };
    expect(walk(pagingMemoryOf(mem), regs, 0n, R, OPTS)).toEqual({ ok: false, errorCode: PFEC_P | PFEC_RSVD, cr2: 0n });
  });
});
