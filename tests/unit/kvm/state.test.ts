/** VcpuState <-> kvm_sregs conversion and the SDM power-on state. */
import { describe, expect, test } from 'vitest';
import type { SegmentState } from '../../../src/accel/types.js';
import { decodeSregs, encodeSregs } from '../../../src/kvm/abi.js';
import { debugStop } from '../../../src/kvm/accelerator.js';
import { APIC, powerOnState, resetLapicRegs, segmentFromKvm, segmentToKvm, sregsFromKvm, sregsToKvm } from '../../../src/kvm/state.js';

const code64: SegmentState = {
  selector: 0x8, base: 0n, limit: 0xffffffff, type: 0xb, present: true, dpl: 0, db: false, s: true, l: true, g: true, avl: false, unusable: false,
};

describe('segments', () => {
  test('boolean fields become 0/1 bytes and back', () => {
    const k = segmentToKvm(code64);
    expect(k).toMatchObject({ present: 1, db: 0, s: 1, l: 1, g: 1, avl: 0, unusable: 0, type: 0xb });
    expect(segmentFromKvm(k)).toEqual(code64);
  });
});

describe('sregs', () => {
  test('VcpuState round-trips through the kvm_sregs bytes', () => {
    const s = powerOnState(1).sregs;
    expect(sregsFromKvm(decodeSregs(encodeSregs(sregsToKvm(s))))).toEqual(s);
  });
  test('apicBase 0 keeps the current APIC base; the pending-interrupt bitmap is preserved', () => {
    const cur = sregsToKvm(powerOnState(0).sregs);
    cur.interrupt_bitmap = [0n, 1n << 3n, 0n, 0n];
    const boot = { ...powerOnState(0).sregs, apicBase: 0n };
    const k = sregsToKvm(boot, cur);
    expect(k.apic_base).toBe(0xfee00900n);
    expect(k.interrupt_bitmap).toEqual([0n, 8n, 0n, 0n]);
  });
});

describe('power-on state (SDM Vol. 3A Table 10-1)', () => {
  test('BSP and AP', () => {
    const bsp = powerOnState(0);
    expect(bsp.regs.rip).toBe(0xfff0n);
    expect(bsp.regs.rflags).toBe(2n);
    expect(bsp.sregs.cs).toMatchObject({ selector: 0xf000, base: 0xffff0000n, limit: 0xffff });
    expect(bsp.sregs.cr0).toBe(0x60000010n);
    expect(bsp.sregs.apicBase).toBe(0xfee00900n);
    expect(powerOnState(1).sregs.apicBase).toBe(0xfee00800n);
  });
  test('LAPIC after reset: ID, DFR all ones, SVR 0xff, LVTs masked, version kept', () => {
    const cur = new Uint8Array(1024);
    const cdv = new DataView(cur.buffer);
    cdv.setUint32(APIC.LVR, 0x01050014, true);
    cdv.setUint32(APIC.TPR, 0x20, true);
    cdv.setUint32(APIC.IRR + 0x10, 0xffff, true);
    const r = new DataView(resetLapicRegs(cur, 3).buffer);
    expect(r.getUint32(APIC.ID, true)).toBe(3 << 24);
    expect(r.getUint32(APIC.LVR, true)).toBe(0x01050014);
    expect(r.getUint32(APIC.TPR, true)).toBe(0);
    expect(r.getUint32(APIC.IRR + 0x10, true)).toBe(0);
    expect(r.getUint32(APIC.DFR, true)).toBe(0xffffffff);
    expect(r.getUint32(APIC.SVR, true)).toBe(0xff);
    for (const lvt of [APIC.LVT_TIMER, APIC.LVT_LINT0, APIC.LVT_LINT1, APIC.LVT_ERROR]) expect(r.getUint32(lvt, true)).toBe(0x10000);
  });
});

describe('debug exits (SDM Vol. 3B 19.2.3 DR6)', () => {
  const base = { kind: 'debug' as const, pc: 0x1000n, dr7: 0n };
  test('#BP is a software breakpoint', () => {
    expect(debugStop(0, { ...base, exception: 3, dr6: 0n })).toEqual({ kind: 'debug', cpu: 0, reason: 'breakpoint', address: 0x1000n });
  });
  test('DR6.BS is a single step', () => {
    expect(debugStop(1, { ...base, exception: 1, dr6: 1n << 14n }).reason).toBe('single-step');
  });
  test('B1 with DR7 R/W1 = 00 is an execution breakpoint, 01 a watchpoint', () => {
    expect(debugStop(0, { ...base, exception: 1, dr6: 2n, dr7: 0n }).reason).toBe('breakpoint');
    expect(debugStop(0, { ...base, exception: 1, dr6: 2n, dr7: 1n << 20n }).reason).toBe('watchpoint');
  });
});
