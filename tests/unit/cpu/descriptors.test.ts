import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  parseDescriptor, encodeDescriptor, loadDataSegment, loadStackSegment, loadCodeSegmentFar, loadCodeSegmentReturn,
  loadLdtr, loadTr, nullifyForCpl, realModeSegment, tss64Stack, tss32Stack, nullSegment,
  type SegmentContext, type CpuMode, type Descriptor,
} from '../../../src/cpu/system/descriptors.js';
import type { SegmentState } from '../../../src/accel/types.js';

// Classic flat descriptors, as written in every OS's GDT.
const KCODE64 = 0x00af9a000000ffffn; // 64-bit code, DPL0
const KDATA = 0x00cf92000000ffffn;    // 4 GiB data, DPL0
const UCODE64 = 0x00affa000000ffffn;  // 64-bit code, DPL3
const UDATA = 0x00cff2000000ffffn;    // data, DPL3
const KCODE32 = 0x00cf9a000000ffffn;  // 32-bit code, DPL0

describe('parseDescriptor / encodeDescriptor', () => {
  test('flat 64-bit kernel code', () => {
    expect(parseDescriptor(KCODE64)).toEqual({ base: 0n, limit: 0xffffffff, type: 0xa, s: true, dpl: 0, present: true, avl: false, l: true, db: false, g: true });
  });
  test('base and byte-granular limit bits are gathered from their split fields', () => {
    // base 0x12345678, limit 0x6789a, G=0, data RW accessed, DPL 2, D=1, hand-encoded per SDM Figure 3-8.
    const raw = 0x1246d334_5678789an;
    const want: Descriptor = { base: 0x12345678n, limit: 0x6789a, type: 3, s: true, dpl: 2, present: true, avl: false, l: false, db: true, g: false };
    expect(parseDescriptor(raw)).toEqual(want);
    expect(encodeDescriptor(want)).toBe(raw);
  });
  test('16-byte system descriptor: base bits 63:32 from the high quadword', () => {
    const tss = encodeDescriptor({ base: 0x89abcdef, limit: 0x67, type: 9, s: false, dpl: 0, present: true, avl: false, l: false, db: false, g: false });
    expect(parseDescriptor(tss, 0xffff8000n).base).toBe(0xffff800089abcdefn);
  });
});

function setup(mode: CpuMode = 'long64', cpl = 0) {
  const mem = new GuestMemory(1 << 20);
  const gdt = [0n, KCODE64, KDATA, UCODE64, UDATA, KCODE32,
    /* 6: not present data */ KDATA & ~(1n << 47n),
    /* 7: read-only data */ KDATA & ~(2n << 40n),
    /* 8: execute-only code */ KCODE64 & ~(2n << 40n),
    /* 9: conforming code DPL0 */ KCODE64 | (4n << 40n),
    /* 10,11: 64-bit TSS */ encodeDescriptor({ base: 0x5000, limit: 0x67, type: 9, s: false, dpl: 0, present: true, avl: false, l: false, db: false, g: false }), 0n,
    /* 12,13: LDT */ encodeDescriptor({ base: 0x6000, limit: 0xf, type: 2, s: false, dpl: 0, present: true, avl: false, l: false, db: false, g: false }), 0n,
    /* 14: L and D both set */ KCODE64 | (1n << 54n),
    /* 15: data without accessed bit... DPL1 */ 0x00cfb2000000ffffn,
  ];
  gdt.forEach((d, i) => mem.writeU64(0x1000 + 8 * i, d));
  mem.writeU64(0x6008, UDATA); // LDT entry 1
  const accessedWrites: bigint[] = [];
  const ctx: SegmentContext = {
    cpl, mode,
    gdt: { base: 0x1000n, limit: gdt.length * 8 - 1 },
    ldt: nullSegment(0),
    readLinear64: (la) => mem.readU64(Number(la)),
    setAccessed: (la) => { accessedWrites.push(la); mem.writeU8(Number(la) + 5, mem.readU8(Number(la) + 5) | 1); },
  };
  return { mem, ctx, accessedWrites };
}

describe('data segment loads (MOV DS/ES/FS/GS)', () => {
  const cases: Array<{ name: string; sel: number; cpl?: number; want: number | 'ok' | 'null'; vec?: number }> = [
    { name: 'null selector loads an unusable segment', sel: 0, want: 'null' },
    { name: 'null selector with RPL 3', sel: 3, want: 'null' },
    { name: 'kernel data at CPL0', sel: 0x10, want: 'ok' },
    { name: 'beyond GDT limit -> #GP(sel)', sel: 0x80, want: 0x80, vec: 13 },
    { name: 'LDT selector with no LDT -> #GP(sel)', sel: 0x0c, want: 0x0c, vec: 13 },
    { name: 'execute-only code -> #GP(sel)', sel: 0x40, want: 0x40, vec: 13 },
    { name: 'readable code is allowed', sel: 0x08, want: 'ok' },
    { name: 'system descriptor (TSS) -> #GP(sel)', sel: 0x50, want: 0x50, vec: 13 },
    { name: 'DPL0 data at CPL3 -> #GP(sel)', sel: 0x13, cpl: 3, want: 0x10, vec: 13 },
    { name: 'RPL3 > DPL0 -> #GP(sel), RPL dropped from the code', sel: 0x13, want: 0x10, vec: 13 },
    { name: 'conforming code ignores DPL', sel: 0x4b, cpl: 3, want: 'ok' },
    { name: 'not present -> #NP(sel)', sel: 0x30, want: 0x30, vec: 11 },
    { name: 'user data at CPL3', sel: 0x23, cpl: 3, want: 'ok' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { ctx } = setup('long64', c.cpl ?? 0);
      const r = loadDataSegment(ctx, c.sel);
      if (c.want === 'ok') expect(r).toMatchObject({ ok: true, seg: { selector: c.sel, unusable: false, present: true } });
      else if (c.want === 'null') expect(r).toMatchObject({ ok: true, seg: { selector: c.sel, unusable: true } });
      else expect(r).toEqual({ ok: false, fault: { vector: c.vec, errorCode: c.want } });
    });
  }
  test('sets the accessed bit in the GDT once', () => {
    const { ctx, mem, accessedWrites } = setup();
    expect(mem.readU8(0x1078 + 5) & 1).toBe(0);
    expect(loadDataSegment({ ...ctx, cpl: 1 }, 0x79)).toMatchObject({ ok: true, seg: { type: 3, dpl: 1 } });
    expect(loadDataSegment(ctx, 0x78)).toMatchObject({ ok: true, seg: { type: 3 } });
    expect(accessedWrites).toEqual([0x1078n]);
    expect(mem.readU8(0x1078 + 5) & 1).toBe(1);
    expect(loadDataSegment({ ...ctx, cpl: 2 }, 0x7a)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x78 } });
  });
  test('LDT-relative load', () => {
    const { ctx } = setup('long64', 3);
    ctx.ldt = { ...nullSegment(0x60), unusable: false, present: true, base: 0x6000n, limit: 0xf, type: 2 };
    expect(loadDataSegment(ctx, 0x0f)).toMatchObject({ ok: true, seg: { dpl: 3, selector: 0x0f } });
  });
  test('real mode: base = selector << 4, limit kept (unreal mode)', () => {
    const prev: SegmentState = { ...nullSegment(0), unusable: false, present: true, limit: 0xffffffff, type: 3, s: true };
    expect(realModeSegment(prev, 0x1234)).toMatchObject({ selector: 0x1234, base: 0x12340n, limit: 0xffffffff });
  });
});

describe('SS loads', () => {
  test('kernel SS at CPL0; RPL != CPL and DPL != CPL -> #GP; read-only -> #GP; not present -> #SS', () => {
    const { ctx } = setup('protected', 0);
    expect(loadStackSegment(ctx, 0x10)).toMatchObject({ ok: true, seg: { selector: 0x10 } });
    expect(loadStackSegment(ctx, 0x11)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x10 } });
    expect(loadStackSegment(ctx, 0x20)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x20 } });
    expect(loadStackSegment(ctx, 0x38)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x38 } });
    expect(loadStackSegment(ctx, 0x08)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x08 } });
    expect(loadStackSegment(ctx, 0x30)).toEqual({ ok: false, fault: { vector: 12, errorCode: 0x30 } });
  });
  test('null SS: #GP(0) in protected mode and at CPL3; allowed in 64-bit mode at CPL0 with RPL=CPL', () => {
    expect(loadStackSegment(setup('protected', 0).ctx, 0)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0 } });
    expect(loadStackSegment(setup('long64', 0).ctx, 0)).toMatchObject({ ok: true, seg: { unusable: true } });
    expect(loadStackSegment(setup('long64', 3).ctx, 3)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0 } });
    expect(loadStackSegment(setup('long64', 1).ctx, 0)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0 } });
  });
});

describe('far JMP/CALL and RET CS checks', () => {
  test('far jump to 64-bit kernel code from 32-bit protected mode (TamaGo RETFQ path uses RET)', () => {
    const { ctx } = setup('compat', 0);
    expect(loadCodeSegmentFar(ctx, 0x08)).toMatchObject({ ok: true, kind: 'segment', cpl: 0, cs: { selector: 0x08, l: true, db: false } });
  });
  test('non-conforming: DPL must equal CPL; RPL <= CPL; result RPL = CPL', () => {
    const { ctx } = setup('long64', 3);
    expect(loadCodeSegmentFar(ctx, 0x08)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x08 } });
    expect(loadCodeSegmentFar(ctx, 0x18)).toMatchObject({ ok: true, cs: { selector: 0x1b } });
  });
  test('conforming: DPL <= CPL; CPL unchanged', () => {
    const { ctx } = setup('long64', 3);
    expect(loadCodeSegmentFar(ctx, 0x48)).toMatchObject({ ok: true, cpl: 3, cs: { selector: 0x4b } });
  });
  test('data segment, null, L+D, not present', () => {
    const { ctx, mem } = setup('long64', 0);
    expect(loadCodeSegmentFar(ctx, 0x10)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x10 } });
    expect(loadCodeSegmentFar(ctx, 0)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0 } });
    expect(loadCodeSegmentFar(ctx, 0x70)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x70 } });
    mem.writeU64(0x1008, KCODE64 & ~(1n << 47n));
    expect(loadCodeSegmentFar(ctx, 0x08)).toEqual({ ok: false, fault: { vector: 11, errorCode: 0x08 } });
  });
  test('L+D is fine outside IA-32e mode (L is ignored)', () => {
    const { ctx } = setup('protected', 0);
    expect(loadCodeSegmentFar(ctx, 0x70).ok).toBe(true);
  });
  test('a TSS target (task switch) is #GP(sel)', () => {
    const { ctx } = setup('protected', 0);
    expect(loadCodeSegmentFar(ctx, 0x50)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x50 } });
  });
  test('a 64-bit call gate is parsed', () => {
    const { ctx, mem } = setup('long64', 3);
    // gate at GDT index 14-15: selector 0x08, offset 0xffffffff81234567, DPL 3, type 0xC
    const lo = 0x4567n | (0x08n << 16n) | (0xecn << 40n) | (0x8123n << 48n);
    mem.writeU64(0x1070, lo);
    mem.writeU64(0x1078, 0xffffffffn);
    expect(loadCodeSegmentFar(ctx, 0x73)).toMatchObject({ ok: true, kind: 'gate', gate: { selector: 0x08, offset: 0xffffffff81234567n, dpl: 3 } });
  });
  test('far RET: to outer privilege, RPL < CPL, DPL mismatch', () => {
    const { ctx } = setup('long64', 0);
    expect(loadCodeSegmentReturn(ctx, 0x1b)).toMatchObject({ ok: true, cpl: 3, outer: true, cs: { selector: 0x1b } });
    expect(loadCodeSegmentReturn(ctx, 0x08)).toMatchObject({ ok: true, cpl: 0, outer: false });
    expect(loadCodeSegmentReturn({ ...ctx, cpl: 3 }, 0x08)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x08 } });
    expect(loadCodeSegmentReturn(ctx, 0x18)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x18 } }); // DPL3 != RPL0
  });
  test('nullifyForCpl: kernel data becomes null at CPL3, user data stays', () => {
    const { ctx } = setup('long64', 0);
    const k = loadDataSegment(ctx, 0x10);
    const u = loadDataSegment(ctx, 0x20);
    if (!k.ok || !u.ok) throw new Error('setup');
    expect(nullifyForCpl(k.seg, 3).unusable).toBe(true);
    expect(nullifyForCpl(u.seg, 3)).toBe(u.seg);
  });
});

describe('LLDT, LTR and TSS stacks', () => {
  test('LTR marks the TSS busy and reads the 64-bit base', () => {
    const { ctx, mem } = setup('long64', 0);
    mem.writeU64(0x1058, 0xffff8000n);
    const r = loadTr(ctx, 0x50);
    expect(r).toMatchObject({ ok: true, busyLa: 0x1050n, seg: { type: 0xb, base: 0xffff800000005000n, limit: 0x67 } });
  });
  test('LTR: null -> #GP(0), TI=1 -> #GP(sel), data -> #GP(sel), busy TSS -> #GP(sel)', () => {
    const { ctx, mem } = setup('long64', 0);
    expect(loadTr(ctx, 0)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0 } });
    expect(loadTr(ctx, 0x54)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x54 } });
    expect(loadTr(ctx, 0x10)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x10 } });
    mem.writeU8(0x1055, mem.readU8(0x1055) | 2);
    expect(loadTr(ctx, 0x50)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x50 } });
  });
  test('LLDT loads an LDT descriptor; null gives unusable; a TSS is #GP', () => {
    const { ctx } = setup('long64', 0);
    expect(loadLdtr(ctx, 0x60)).toMatchObject({ ok: true, seg: { base: 0x6000n, limit: 0xf, type: 2 } });
    expect(loadLdtr(ctx, 0)).toMatchObject({ ok: true, seg: { unusable: true } });
    expect(loadLdtr(ctx, 0x50)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x50 } });
  });
  test('16-byte LDT descriptor with a non-canonical base is #GP(sel); the upper type field is not checked', () => {
    const { ctx, mem } = setup('long64', 0);
    mem.writeU64(0x1068, 1n << 40n);
    expect(loadLdtr(ctx, 0x60).ok).toBe(true);
    mem.writeU64(0x1068, 0x8000n);
    expect(loadLdtr(ctx, 0x60)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x60 } });
    expect(loadLdtr({ ...ctx, mode: 'protected' }, 0x60).ok).toBe(true); // 8-byte form outside IA-32e mode
  });
  test('64-bit TSS: RSP0 and IST entries; beyond limit -> #TS(TR)', () => {
    const { mem } = setup();
    mem.writeU64(0x5004, 0xffff900000010000n);
    mem.writeU64(0x5024 + 8 * 2, 0xffff900000030000n); // IST3
    const tr: SegmentState = { ...nullSegment(0x50), unusable: false, present: true, base: 0x5000n, limit: 0x67, type: 0xb };
    const rd = (la: bigint) => mem.readU64(Number(la));
    expect(tss64Stack(tr, rd, { dpl: 0 })).toEqual({ ok: true, rsp: 0xffff900000010000n });
    expect(tss64Stack(tr, rd, { ist: 3 })).toEqual({ ok: true, rsp: 0xffff900000030000n });
    expect(tss64Stack({ ...tr, limit: 0x2a }, rd, { ist: 1 }, true)).toEqual({ ok: false, fault: { vector: 10, errorCode: 0x51 } });
  });
  test('32-bit TSS: SS0:ESP0', () => {
    const { mem } = setup();
    mem.writeU32(0x5004, 0x9ff0);
    mem.writeU32(0x5008, 0x10);
    const tr: SegmentState = { ...nullSegment(0x50), unusable: false, present: true, base: 0x5000n, limit: 0x67, type: 0xb };
    expect(tss32Stack(tr, (la) => mem.readU64(Number(la)), 0)).toEqual({ ok: true, esp: 0x9ff0, ss: 0x10 });
  });
});

describe('SYSCALL / SYSRET segments (Linux STAR layout)', () => {
  // Linux: STAR = (__USER32_CS << 48) | (__KERNEL_CS << 32) with __KERNEL_CS 0x10, __USER32_CS 0x23.
  const star = (0x23n << 48n) | (0x10n << 32n);
  test('SYSCALL in 64-bit mode: CS 0x10 64-bit DPL0, SS 0x18, RIP = LSTAR', async () => {
    const { syscallTransfer } = await import('../../../src/cpu/system/descriptors.js');
    const t = syscallTransfer(star, 0xffffffff81a00000n, 0xffffffff81a00100n, 'long64');
    expect(t.rip).toBe(0xffffffff81a00000n);
    expect(t.cs).toMatchObject({ selector: 0x10, l: true, db: false, dpl: 0, type: 0xb, limit: 0xffffffff, base: 0n });
    expect(t.ss).toMatchObject({ selector: 0x18, dpl: 0, type: 0x3, db: true });
    expect(syscallTransfer(star, 1n, 2n, 'compat').rip).toBe(2n);
  });
  test('SYSRET: 64-bit to 0x33/0x2b, 32-bit to 0x23/0x2b', async () => {
    const { sysretTransfer } = await import('../../../src/cpu/system/descriptors.js');
    expect(sysretTransfer(star, true)).toMatchObject({ cs: { selector: 0x33, l: true, dpl: 3 }, ss: { selector: 0x2b, dpl: 3 } });
    expect(sysretTransfer(star, false)).toMatchObject({ cs: { selector: 0x23, l: false, db: true, dpl: 3 }, ss: { selector: 0x2b } });
  });
  test('RFLAGS: SYSCALL masks with FMASK and clears RF; SYSRET keeps 3C7FD7H of R11', async () => {
    const { syscallRflags, sysretRflags } = await import('../../../src/cpu/system/descriptors.js');
    expect(syscallRflags(0x10346n, 0x47700n)).toBe(0x46n | 2n);
    expect(sysretRflags(0xffffffffn)).toBe(0x3c7fd7n);
  });
});
