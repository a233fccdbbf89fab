import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { nullSegment, loadDataSegment, type SegmentContext, type CpuMode } from '../../../src/cpu/system/descriptors.js';
import {
  combineExceptions, exceptionClass, exceptionHasErrorCode, idtErrorCode, interruptFrame, lookupGate, parseGate,
  prepareInterruptDelivery, realModeVector, rflagsAfterDelivery,
} from '../../../src/cpu/system/interrupts.js';
import type { SegmentState } from '../../../src/accel/types.js';

const KCODE64 = 0x00af9a000000ffffn, KDATA = 0x00cf92000000ffffn, UCODE64 = 0x00affa000000ffffn, UDATA = 0x00cff2000000ffffn;
const KCODE32 = 0x00cf9a000000ffffn;

/** A 64-bit interrupt/trap gate (SDM Figure 6-8). */
function gate64(offset: bigint, sel: number, type: number, dpl: number, ist = 0, present = true): [bigint, bigint] {
  const lo = (offset & 0xffffn) | (BigInt(sel) << 16n) | (BigInt(ist) << 32n) | (BigInt(type) << 40n) | (BigInt(dpl) << 45n)
    | (present ? 1n << 47n : 0n) | (((offset >> 16n) & 0xffffn) << 48n);
  return [lo, offset >> 32n];
}
/** A 32-bit gate (SDM Figure 6-2). */
function gate32(offset: number, sel: number, type: number, dpl: number): bigint {
  return BigInt(offset & 0xffff) | (BigInt(sel) << 16n) | (BigInt(type) << 40n) | (BigInt(dpl) << 45n) | (1n << 47n) | (BigInt(offset >>> 16) << 48n);
}

function setupLong(cpl = 0) {
  const mem = new GuestMemory(1 << 20);
  [0n, KCODE64, KDATA, UCODE64, UDATA, KCODE32].forEach((d, i) => mem.writeU64(0x1000 + 8 * i, d));
  const put = (v: number, g: [bigint, bigint]) => { mem.writeU64(0x2000 + 16 * v, g[0]); mem.writeU64(0x2008 + 16 * v, g[1]); };
  put(0x0e, gate64(0xffffffff81000e00n, 0x08, 0xe, 0));      // #PF interrupt gate
  put(0x08, gate64(0xffffffff81000800n, 0x08, 0xe, 0, 1));   // #DF on IST1
  put(0x03, gate64(0xffffffff81000300n, 0x08, 0xf, 3));      // #BP trap gate, DPL3
  put(0x80, gate64(0xffffffff81008000n, 0x08, 0xe, 0));      // DPL0 gate
  put(0x81, gate64(0xffffffff81008100n, 0x08, 0xe, 3, 0, false)); // not present
  put(0x82, gate64(0xffffffff81008200n, 0x28, 0xe, 3));      // 32-bit code target
  put(0x83, gate64(0xffffffff81008300n, 0x00, 0xe, 3));      // null selector
  put(0x84, gate64(0xffffffff81008400n, 0x08, 0xc, 3));      // call gate type: invalid in the IDT
  mem.writeU64(0x5004, 0xffff900000010000n);  // RSP0
  mem.writeU64(0x5024, 0xffff900000020008n);  // IST1 (unaligned on purpose)
  const ctx: SegmentContext = {
    cpl, mode: 'long64',
    gdt: { base: 0x1000n, limit: 6 * 8 - 1 },
    ldt: nullSegment(0),
    readLinear64: (la) => mem.readU64(Number(la)),
  };
  const tr: SegmentState = { ...nullSegment(0x30), unusable: false, present: true, base: 0x5000n, limit: 0x67, type: 0xb };
  const ss = (cpl === 3 ? loadDataSegment({ ...ctx, cpl: 3 }, 0x23) : loadDataSegment(ctx, 0x10));
  if (!ss.ok) throw new Error('setup');
  return { mem, ctx, regs: { idtr: { base: 0x2000n, limit: 0xfff }, tr, ss: ss.seg, rsp: 0x7ffff000_1238n } };
}

describe('IA-32e mode delivery', () => {
  test('#PF from CPL3: RSP0 stack, null SS with RPL 0, CS 0x08, IF cleared', () => {
    const { ctx, regs } = setupLong(3);
    const r = prepareInterruptDelivery(ctx, regs, 14, 'exception');
    expect(r).toMatchObject({
      ok: true,
      delivery: { rip: 0xffffffff81000e00n, cpl: 0, rsp: 0xffff900000010000n, pushOldStack: true, clearIf: true, cs: { selector: 0x08, l: true }, ss: { selector: 0, unusable: true } },
    });
  });
  test('same privilege: current stack aligned down to 16, SS kept', () => {
    const { ctx, regs } = setupLong(0);
    const r = prepareInterruptDelivery(ctx, regs, 14, 'exception');
    expect(r).toMatchObject({ ok: true, delivery: { rsp: 0x7ffff000_1230n, cpl: 0, ss: { selector: 0x10 } } });
  });
  test('IST is used even at the same privilege, and aligned', () => {
    const { ctx, regs } = setupLong(0);
    expect(prepareInterruptDelivery(ctx, regs, 8, 'exception')).toMatchObject({ ok: true, delivery: { rsp: 0xffff900000020000n } });
  });
  test('INT3 through a DPL3 trap gate from CPL3: IF kept', () => {
    const { ctx, regs } = setupLong(3);
    expect(prepareInterruptDelivery(ctx, regs, 3, 'int3')).toMatchObject({ ok: true, delivery: { clearIf: false, rip: 0xffffffff81000300n } });
  });
  test('software INT to a DPL0 gate from CPL3 -> #GP(vector*8+2), no EXT', () => {
    const { ctx, regs } = setupLong(3);
    expect(prepareInterruptDelivery(ctx, regs, 0x80, 'software')).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x80 * 8 + 2 } });
    // the same vector as an external interrupt is not DPL-checked
    expect(prepareInterruptDelivery(ctx, regs, 0x80, 'external').ok).toBe(true);
  });
  test('gate faults: not present #NP, beyond limit #GP, bad type #GP, all with EXT for external events', () => {
    const { ctx, regs } = setupLong(0);
    expect(prepareInterruptDelivery(ctx, regs, 0x81, 'external')).toEqual({ ok: false, fault: { vector: 11, errorCode: 0x81 * 8 + 3 } });
    expect(prepareInterruptDelivery(ctx, { ...regs, idtr: { base: 0x2000n, limit: 0x80f } }, 0x81, 'software')).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x81 * 8 + 2 } });
    expect(prepareInterruptDelivery(ctx, regs, 0x84, 'exception')).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x84 * 8 + 3 } });
  });
  test('target CS checks: 32-bit code in IA-32e mode #GP(sel+EXT); null selector #GP(EXT)', () => {
    const { ctx, regs } = setupLong(0);
    expect(prepareInterruptDelivery(ctx, regs, 0x82, 'external')).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x29 } });
    expect(prepareInterruptDelivery(ctx, regs, 0x83, 'external')).toEqual({ ok: false, fault: { vector: 13, errorCode: 1 } });
  });
  test('TamaGo exit path: an invalidated IDT (limit 0) gives #GP on the first vector', () => {
    const { ctx, regs } = setupLong(0);
    expect(prepareInterruptDelivery(ctx, { ...regs, idtr: { base: 0n, limit: 0 } }, 14, 'exception')).toEqual({ ok: false, fault: { vector: 13, errorCode: 14 * 8 + 3 } });
    expect(combineExceptions(14, 13)).toBe('double-fault');
    expect(combineExceptions(8, 13)).toBe('triple-fault');
  });
  test('non-canonical RSP0 -> #SS(EXT)', () => {
    const { ctx, regs, mem } = setupLong(3);
    mem.writeU64(0x5004, 0x0000900000010000n);
    expect(prepareInterruptDelivery(ctx, regs, 14, 'exception')).toEqual({ ok: false, fault: { vector: 12, errorCode: 1 } });
  });
  test('64-bit frame: SS, RSP, RFLAGS, CS, RIP, error code, 8 bytes each', () => {
    expect(interruptFrame('long', 8, { oldSs: 0x2b, oldRsp: 0x7fff0000n, rflags: 0x246n, oldCs: 0x33, rip: 0x401000n, errorCode: 6 }, false))
      .toEqual({ width: 8, values: [0x2bn, 0x7fff0000n, 0x246n, 0x33n, 0x401000n, 6n] });
  });
});

describe('protected mode delivery', () => {
  function setupProt(cpl: number) {
    const mem = new GuestMemory(1 << 20);
    const UCODE32 = 0x00cffa000000ffffn;
    [0n, KCODE32, KDATA, UCODE32, UDATA].forEach((d, i) => mem.writeU64(0x1000 + 8 * i, d));
    mem.writeU64(0x2000 + 8 * 0x20, gate32(0xc0100000, 0x08, 0xe, 0));
    mem.writeU64(0x2000 + 8 * 0x21, gate32(0x1234, 0x08, 0x6, 0)); // 16-bit interrupt gate
    mem.writeU64(0x2000 + 8 * 0x22, gate32(0, 0x30, 0x5, 0));      // task gate: unsupported
    mem.writeU32(0x5004, 0x9000);
    mem.writeU32(0x5008, 0x10);
    const ctx: SegmentContext = { cpl, mode: 'protected' as CpuMode, gdt: { base: 0x1000n, limit: 39 }, ldt: nullSegment(0), readLinear64: (la) => mem.readU64(Number(la)) };
    const tr: SegmentState = { ...nullSegment(0x28), unusable: false, present: true, base: 0x5000n, limit: 0x67, type: 0xb };
    const ss = loadDataSegment({ ...ctx, cpl }, cpl === 3 ? 0x23 : 0x10);
    if (!ss.ok) throw new Error('setup');
    return { mem, ctx, regs: { idtr: { base: 0x2000n, limit: 0x7ff }, tr, ss: ss.seg, rsp: 0x8ffen } };
  }
  test('from CPL3: SS0:ESP0 from the 32-bit TSS, old stack pushed, no alignment', () => {
    const { ctx, regs } = setupProt(3);
    expect(prepareInterruptDelivery(ctx, regs, 0x20, 'external')).toMatchObject({
      ok: true, delivery: { rsp: 0x9000n, ss: { selector: 0x10 }, pushOldStack: true, cpl: 0, gate: { size: 4 } },
    });
  });
  test('same privilege: no stack switch, no SS:ESP pushed', () => {
    const { ctx, regs } = setupProt(0);
    const r = prepareInterruptDelivery(ctx, regs, 0x20, 'external');
    expect(r).toMatchObject({ ok: true, delivery: { rsp: 0x8ffen, pushOldStack: false } });
    expect(interruptFrame('protected', 4, { oldSs: 0x10, oldRsp: 0x8ffen, rflags: 0x202n, oldCs: 0x08, rip: 0xc0001234n }, false))
      .toEqual({ width: 4, values: [0x202n, 0x08n, 0xc0001234n] });
  });
  test('16-bit gate pushes words and truncates the offset', () => {
    const { ctx, regs } = setupProt(0);
    expect(prepareInterruptDelivery(ctx, regs, 0x21, 'external')).toMatchObject({ ok: true, delivery: { rip: 0x1234n, gate: { size: 2 } } });
  });
  test('bad SS0 in the TSS -> #TS(SS selector + EXT)', () => {
    const { ctx, regs, mem } = setupProt(3);
    mem.writeU32(0x5008, 0x08); // code segment as SS0
    expect(prepareInterruptDelivery(ctx, regs, 0x20, 'external')).toEqual({ ok: false, fault: { vector: 10, errorCode: 0x09 } });
  });
  test('task gate is not supported: #GP(vector*8+2+EXT)', () => {
    const { ctx, regs } = setupProt(0);
    expect(prepareInterruptDelivery(ctx, regs, 0x22, 'exception')).toEqual({ ok: false, fault: { vector: 13, errorCode: 0x22 * 8 + 3 } });
  });
});

describe('real mode', () => {
  test('IVT entry: IP low word, CS high word; beyond the limit -> #GP', () => {
    const mem = new GuestMemory(1 << 20);
    mem.writeU32(0x10 * 4, 0xf000_e820);
    const rd = (la: bigint) => mem.readU32(Number(la));
    expect(realModeVector({ base: 0n, limit: 0x3ff }, 0x10, rd)).toEqual({ ok: true, cs: 0xf000, ip: 0xe820 });
    expect(realModeVector({ base: 0n, limit: 0x3f }, 0x10, rd)).toEqual({ ok: false, fault: { vector: 13, errorCode: 0 } });
  });
  test('frame is FLAGS, CS, IP (16-bit), no error code; IF/TF/AC cleared', () => {
    expect(interruptFrame('real', 2, { oldSs: 0, oldRsp: 0n, rflags: 0x40302n, oldCs: 0x1000, rip: 0x12345n, errorCode: 13 }, true))
      .toEqual({ width: 2, values: [0x0302n, 0x1000n, 0x2345n] });
    expect(rflagsAfterDelivery(0x40302n, 'real', true)).toBe(0x2n);
  });
});

describe('RFLAGS after delivery', () => {
  test('interrupt gate clears IF, TF, NT, RF, VM; trap gate keeps IF', () => {
    const fl = 0x2n | (1n << 8n) | (1n << 9n) | (1n << 14n) | (1n << 16n) | (1n << 17n) | (1n << 18n) | 0x85n;
    expect(rflagsAfterDelivery(fl, 'long', true)).toBe(0x2n | (1n << 18n) | 0x85n);
    expect(rflagsAfterDelivery(fl, 'long', false)).toBe(0x2n | (1n << 9n) | (1n << 18n) | 0x85n);
  });
});

describe('exception classes and double faults (SDM Tables 6-4, 6-5)', () => {
  test('classes', () => {
    expect([0, 10, 11, 12, 13].map(exceptionClass)).toEqual(Array(5).fill('contributory'));
    expect(exceptionClass(14)).toBe('page-fault');
    expect([1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19, 0x20, 0xff].map(exceptionClass)).toEqual(Array(14).fill('benign'));
  });
  const table: Array<[number, number, 'second' | 'double-fault' | 'triple-fault']> = [
    [6, 13, 'second'],        // benign then contributory
    [2, 14, 'second'],        // NMI then #PF
    [13, 13, 'double-fault'], // contributory, contributory
    [0, 11, 'double-fault'],
    [13, 14, 'second'],       // contributory then #PF
    [13, 6, 'second'],
    [14, 13, 'double-fault'], // #PF then contributory
    [14, 14, 'double-fault'],
    [14, 6, 'second'],
    [8, 13, 'triple-fault'],
    [8, 14, 'triple-fault'],
    [8, 6, 'triple-fault'],
    [0x20, 13, 'second'],     // external interrupt delivery then #GP
  ];
  for (const [a, b, want] of table) test(`${a} then ${b} -> ${want}`, () => expect(combineExceptions(a, b)).toBe(want));
  test('error-code vectors', () => {
    expect([...Array(32).keys()].filter(exceptionHasErrorCode)).toEqual([8, 10, 11, 12, 13, 14, 17, 21]);
    expect(idtErrorCode(0x0e, true)).toBe(0x73);
  });
  test('parseGate: IST and 64-bit offset', () => {
    const [lo, hi] = gate64(0xffffffff81000800n, 0x08, 0xe, 0, 5);
    expect(parseGate(lo, hi)).toEqual({ type: 0xe, dpl: 0, present: true, selector: 8, offset: 0xffffffff81000800n, ist: 5, interrupt: true, size: 8 });
  });
  test('lookupGate in IA-32e mode reads 16-byte entries', () => {
    const { ctx, regs } = setupLong(0);
    expect(lookupGate(ctx, regs.idtr, 8, 'exception')).toMatchObject({ ok: true, gate: { ist: 1 } });
  });
});
