import { describe, expect, test } from 'vitest';
import {
  Lapic, deliverIpi, deliverInterruptMessage, ipiTargets, timerDivisor, type IpiMessage,
  APIC_ID, APIC_VER, APIC_TPR, APIC_PPR, APIC_EOI, APIC_LDR, APIC_DFR, APIC_SVR, APIC_ISR, APIC_TMR, APIC_IRR,
  APIC_ESR, APIC_ICR_LOW, APIC_ICR_HIGH, APIC_LVT_TIMER, APIC_LVT_ERROR, APIC_LVT_LINT1, APIC_TIMER_ICR,
  APIC_TIMER_CCR, APIC_TIMER_DCR, MSR_IA32_APIC_BASE, MSR_IA32_TSC_DEADLINE,
} from '../../../src/devices/lapic.js';
import { TscClock } from '../../../src/cpu/pvclock.js';

class FakeClock { t = 0n; nowNs(): bigint { return this.t; } }

function make(opts: { cpu?: number; bsp?: boolean; x2apic?: boolean; clock?: FakeClock } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const sent: Array<{ from: number; msg: IpiMessage }> = [];
  const eois: number[] = [];
  let wakes = 0;
  const tsc = new TscClock(2_000_000, 0n); // 2 GHz TSC
  const l = new Lapic({
    cpu: opts.cpu ?? 0, bsp: opts.bsp ?? true, clock, tsc,
    ipiBus: { send: (from, msg) => sent.push({ from, msg }) },
    onEoi: (v) => eois.push(v), onWake: () => { wakes++; },
    x2apic: opts.x2apic ?? true,
  });
  return { l, clock, sent, eois, tsc, wakes: () => wakes };
}
const enable = (l: Lapic): void => l.write(APIC_SVR, 4, 0x1ff);

describe('reset values (SDM Table 11-1 / 11.4.7.1)', () => {
  const { l } = make({ cpu: 3, bsp: false });
  const cases: Array<[string, number, number]> = [
    ['ID = cpu << 24', APIC_ID, 0x03000000],
    ['VER: version 0x14, max LVT 5', APIC_VER, 0x00050014],
    ['TPR 0', APIC_TPR, 0],
    ['PPR 0', APIC_PPR, 0],
    ['LDR 0', APIC_LDR, 0],
    ['DFR all ones (flat)', APIC_DFR, 0xffffffff],
    ['SVR 0xff (software disabled)', APIC_SVR, 0xff],
    ['LVT timer masked', APIC_LVT_TIMER, 0x10000],
    ['LVT LINT1 masked', APIC_LVT_LINT1, 0x10000],
    ['timer initial 0', APIC_TIMER_ICR, 0],
    ['timer current 0', APIC_TIMER_CCR, 0],
  ];
  for (const [name, off, want] of cases) test(name, () => expect(l.read(off, 4)).toBe(want));
  test('APIC_BASE: 0xfee00000 | EN, BSP only on cpu 0', () => {
    expect(l.readMsr(MSR_IA32_APIC_BASE)).toEqual({ ok: true, value: 0xfee00800n });
    expect(make({ cpu: 0, bsp: true }).l.readMsr(MSR_IA32_APIC_BASE)).toEqual({ ok: true, value: 0xfee00900n });
  });
});

describe('interrupt acceptance, priority, EOI', () => {
  test('software-disabled APIC drops fixed interrupts', () => {
    const { l } = make();
    l.acceptInterrupt(0x40, false);
    expect(l.getPendingVector()).toBe(-1);
    expect(l.droppedInterrupts).toBe(1);
  });
  test('IRR -> ISR on acknowledge; highest vector first; PPR from ISR', () => {
    const { l, wakes } = make();
    enable(l);
    l.acceptInterrupt(0x41, false);
    l.acceptInterrupt(0x82, false);
    expect(wakes()).toBe(2);
    expect(l.read(APIC_IRR + 0x20, 4)).toBe(1 << 1); // 0x41 -> IRR word 2 bit 1
    expect(l.read(APIC_IRR + 0x40, 4)).toBe(1 << 2); // 0x82 -> word 4 bit 2
    expect(l.getPendingVector()).toBe(0x82);
    expect(l.acknowledge()).toBe(0x82);
    expect(l.read(APIC_ISR + 0x40, 4)).toBe(1 << 2);
    expect(l.read(APIC_PPR, 4)).toBe(0x80);
    // 0x41 is in a lower class than the in-service 0x82: held.
    expect(l.getPendingVector()).toBe(-1);
    l.write(APIC_EOI, 4, 0);
    expect(l.read(APIC_ISR + 0x40, 4)).toBe(0);
    expect(l.getPendingVector()).toBe(0x41);
  });
  test('TPR masks vectors of its class and below; PPR = TPR when higher', () => {
    const { l } = make();
    enable(l);
    l.write(APIC_TPR, 4, 0x45);
    l.acceptInterrupt(0x4f, false);
    expect(l.getPendingVector()).toBe(-1);
    expect(l.read(APIC_PPR, 4)).toBe(0x45);
    l.acceptInterrupt(0x50, false);
    expect(l.getPendingVector()).toBe(0x50);
    expect(l.getCr8()).toBe(4);
    l.setCr8(0);
    expect(l.read(APIC_TPR, 4)).toBe(0);
  });
  test('acknowledge with nothing deliverable returns the spurious vector', () => {
    const { l } = make();
    l.write(APIC_SVR, 4, 0x1ef);
    expect(l.acknowledge()).toBe(0xef);
  });
  test('level-triggered EOI is broadcast (TMR), edge is not', () => {
    const { l, eois } = make();
    enable(l);
    l.acceptInterrupt(0x30, true);
    expect(l.read(APIC_TMR + 0x10, 4)).toBe(1 << 16);
    l.acknowledge();
    l.write(APIC_EOI, 4, 0);
    l.acceptInterrupt(0x31, false);
    l.acknowledge();
    l.write(APIC_EOI, 4, 0);
    expect(eois).toEqual([0x30]);
  });
  test('illegal vector (<16) sets ESR receive-illegal after an ESR write latches it', () => {
    const { l } = make();
    enable(l);
    l.acceptInterrupt(5, false);
    expect(l.read(APIC_ESR, 4)).toBe(0);
    l.write(APIC_ESR, 4, 0);
    expect(l.read(APIC_ESR, 4)).toBe(0x40);
    expect(l.getPendingVector()).toBe(-1);
  });
  test('error LVT delivers its vector on an error', () => {
    const { l } = make();
    enable(l);
    l.write(APIC_LVT_ERROR, 4, 0xfe);
    l.acceptInterrupt(3, false);
    expect(l.getPendingVector()).toBe(0xfe);
  });
  test('software disable sets every LVT mask and LVT writes stay masked', () => {
    const { l } = make();
    enable(l);
    l.write(APIC_LVT_TIMER, 4, 0x20);
    expect(l.read(APIC_LVT_TIMER, 4)).toBe(0x20);
    l.write(APIC_SVR, 4, 0xff);
    expect(l.read(APIC_LVT_TIMER, 4)).toBe(0x10020);
    l.write(APIC_LVT_TIMER, 4, 0x20);
    expect(l.read(APIC_LVT_TIMER, 4)).toBe(0x10020);
  });
  test('byte reads and unaligned/short writes', () => {
    const { l } = make({ cpu: 2 });
    expect(l.read(APIC_ID + 3, 1)).toBe(2);
    expect(l.read(APIC_VER, 2)).toBe(0x0014);
    l.write(APIC_TPR, 1, 0x20); // ignored (not a 32-bit write)
    expect(l.read(APIC_TPR, 4)).toBe(0);
  });
});

describe('timer', () => {
  test('divide configuration decoding (SDM Figure 11-10)', () => {
    expect([0, 1, 2, 3, 8, 9, 10, 11].map(timerDivisor)).toEqual([2, 4, 8, 16, 32, 64, 128, 1]);
  });
  test('one-shot: current count falls at 1 GHz / divisor, fires once, then reads 0', () => {
    const { l, clock } = make();
    enable(l);
    l.write(APIC_LVT_TIMER, 4, 0x30);
    l.write(APIC_TIMER_DCR, 4, 0x3); // divide by 16
    clock.t = 1000n;
    l.write(APIC_TIMER_ICR, 4, 100); // 1600 ns
    expect(l.nextDeadlineNs()).toBe(2600n);
    clock.t = 1000n + 160n;
    expect(l.read(APIC_TIMER_CCR, 4)).toBe(90);
    l.tick(2599n);
    expect(l.getPendingVector()).toBe(-1);
    l.tick(2600n);
    expect(l.getPendingVector()).toBe(0x30);
    expect(l.nextDeadlineNs()).toBeUndefined();
    clock.t = 3000n;
    expect(l.read(APIC_TIMER_CCR, 4)).toBe(0);
    expect(l.read(APIC_TIMER_ICR, 4)).toBe(100);
  });
  test('periodic: re-arms each period; missed periods coalesce', () => {
    const { l, clock } = make();
    enable(l);
    l.write(APIC_LVT_TIMER, 4, 0x20031); // periodic, vector 0x31
    l.write(APIC_TIMER_DCR, 4, 0xb); // divide by 1
    l.write(APIC_TIMER_ICR, 4, 1000);
    expect(l.nextDeadlineNs()).toBe(1000n);
    clock.t = 250n;
    expect(l.read(APIC_TIMER_CCR, 4)).toBe(750);
    l.tick(1000n);
    expect(l.nextDeadlineNs()).toBe(2000n);
    expect(l.acknowledge()).toBe(0x31);
    l.write(APIC_EOI, 4, 0);
    l.tick(5500n);
    expect(l.nextDeadlineNs()).toBe(6000n);
    clock.t = 5500n;
    expect(l.read(APIC_TIMER_CCR, 4)).toBe(500);
    expect(l.acknowledge()).toBe(0x31);
    expect(l.getPendingVector()).toBe(-1);
  });
  test('writing initial count 0 stops the timer', () => {
    const { l } = make();
    enable(l);
    l.write(APIC_LVT_TIMER, 4, 0x30);
    l.write(APIC_TIMER_ICR, 4, 10);
    l.write(APIC_TIMER_ICR, 4, 0);
    expect(l.nextDeadlineNs()).toBeUndefined();
  });
  test('masked timer counts but does not interrupt', () => {
    const { l } = make();
    enable(l);
    l.write(APIC_LVT_TIMER, 4, 0x10030);
    l.write(APIC_TIMER_ICR, 4, 10);
    l.tick(1_000_000n);
    expect(l.getPendingVector()).toBe(-1);
  });
  test('TSC-deadline: MSR arms at the TSC value, fires, then reads 0', () => {
    const { l, clock } = make();
    enable(l);
    expect(l.writeMsr(MSR_IA32_TSC_DEADLINE, 5000n)).toEqual({ ok: true }); // ignored: not in deadline mode
    expect(l.nextDeadlineNs()).toBeUndefined();
    l.write(APIC_LVT_TIMER, 4, 0x40040); // mode 2, vector 0x40
    clock.t = 100n;
    l.writeMsr(MSR_IA32_TSC_DEADLINE, 4000n); // 2 GHz: 4000 ticks = 2000 ns
    expect(l.nextDeadlineNs()).toBe(2000n);
    expect(l.readMsr(MSR_IA32_TSC_DEADLINE)).toEqual({ ok: true, value: 4000n });
    l.write(APIC_TIMER_ICR, 4, 5); // ignored in deadline mode
    expect(l.read(APIC_TIMER_ICR, 4)).toBe(0);
    l.tick(1999n);
    expect(l.getPendingVector()).toBe(-1);
    l.tick(2000n);
    expect(l.getPendingVector()).toBe(0x40);
    expect(l.readMsr(MSR_IA32_TSC_DEADLINE)).toEqual({ ok: true, value: 0n });
  });
  test('TSC-deadline in the past fires at the next tick; 0 disarms; mode change disarms', () => {
    const { l } = make();
    enable(l);
    l.write(APIC_LVT_TIMER, 4, 0x40040);
    l.writeMsr(MSR_IA32_TSC_DEADLINE, 1n);
    expect(l.nextDeadlineNs()).toBe(1n);
    l.writeMsr(MSR_IA32_TSC_DEADLINE, 0n);
    expect(l.nextDeadlineNs()).toBeUndefined();
    l.writeMsr(MSR_IA32_TSC_DEADLINE, 100n);
    l.write(APIC_LVT_TIMER, 4, 0x40); // back to one-shot
    expect(l.nextDeadlineNs()).toBeUndefined();
    expect(l.readMsr(MSR_IA32_TSC_DEADLINE)).toEqual({ ok: true, value: 0n });
  });
});

describe('IPIs via ICR', () => {
  test('fixed IPI to physical destination goes to the bus with decoded fields', () => {
    const { l, sent } = make();
    enable(l);
    l.write(APIC_ICR_HIGH, 4, 0x02000000);
    l.write(APIC_ICR_LOW, 4, 0x000040fd);
    expect(sent).toEqual([{ from: 0, msg: { vector: 0xfd, deliveryMode: 0, logical: false, level: true, triggerLevel: false, shorthand: 0, destination: 2, x2apic: false } }]);
    expect(l.read(APIC_ICR_LOW, 4) & 0x1000).toBe(0); // delivery status idle
  });
  test('self shorthand is delivered locally', () => {
    const { l, sent } = make();
    enable(l);
    l.write(APIC_ICR_LOW, 4, 0x00044050);
    expect(sent).toEqual([]);
    expect(l.getPendingVector()).toBe(0x50);
  });
  test('illegal vector in a fixed IPI sets ESR send-illegal and sends nothing', () => {
    const { l, sent } = make();
    enable(l);
    l.write(APIC_ICR_LOW, 4, 0x00004005);
    expect(sent).toEqual([]);
    l.write(APIC_ESR, 4, 0);
    expect(l.read(APIC_ESR, 4)).toBe(0x20);
  });
  test('TamaGo AP start: INIT then SIPI vector 4 to all-excluding-self', () => {
    const clock = new FakeClock();
    const lapics: Lapic[] = [];
    for (let cpu = 0; cpu < 3; cpu++) {
      lapics.push(new Lapic({ cpu, bsp: cpu === 0, clock, tsc: new TscClock(1_000_000, 0n), ipiBus: { send: (from, msg) => deliverIpi(lapics, from, msg) } }));
    }
    const bsp = lapics[0]!;
    enable(bsp);
    bsp.write(APIC_ICR_LOW, 4, 0x000c4500); // INIT, assert, all excluding self
    bsp.write(APIC_ICR_LOW, 4, 0x000c4604); // SIPI vector 4
    expect(bsp.takeInit()).toBe(false);
    for (const ap of lapics.slice(1)) {
      expect(ap.takeInit()).toBe(true);
      expect(ap.takeSipi()).toBe(4);
    }
    // NMI to cpu 2 by physical destination
    bsp.write(APIC_ICR_HIGH, 4, 0x02000000);
    bsp.write(APIC_ICR_LOW, 4, 0x00004400);
    expect(lapics[1]!.takeNmi()).toBe(false);
    expect(lapics[2]!.takeNmi()).toBe(true);
    // fixed vector 255 to all including self: only software-enabled APICs accept
    bsp.write(APIC_ICR_LOW, 4, 0x000840ff);
    expect(bsp.getPendingVector()).toBe(0xff);
    expect(lapics[1]!.getPendingVector()).toBe(-1);
  });
  test('logical flat and cluster destinations', () => {
    const clock = new FakeClock();
    const bus = { send: () => {} };
    const ls = [0, 1, 2].map((cpu) => new Lapic({ cpu, bsp: cpu === 0, clock, tsc: new TscClock(1_000_000, 0n), ipiBus: bus }));
    ls.forEach((l, i) => { enable(l); l.write(APIC_LDR, 4, (1 << i) << 24); });
    expect(ipiTargets(ls, 0, { deliveryMode: 0, logical: true, destination: 0x6 }).map((l) => l.cpu)).toEqual([1, 2]);
    // cluster model: cluster 1, members bit0/bit1
    ls.forEach((l, i) => { l.write(APIC_DFR, 4, 0x0fffffff); l.write(APIC_LDR, 4, (0x10 | (1 << i)) << 24); });
    expect(ls[0]!.read(APIC_DFR, 4)).toBe(0x0fffffff);
    expect(ipiTargets(ls, 0, { deliveryMode: 0, logical: true, destination: 0x13 }).map((l) => l.cpu)).toEqual([0, 1]);
    expect(ipiTargets(ls, 0, { deliveryMode: 0, logical: true, destination: 0x23 }).map((l) => l.cpu)).toEqual([]);
    // lowest priority picks the lowest TPR
    ls[0]!.write(APIC_TPR, 4, 0x20);
    expect(ipiTargets(ls, 0, { deliveryMode: 1, logical: true, destination: 0x17 }).map((l) => l.cpu)).toEqual([1]);
  });
  test('IOAPIC message: physical, broadcast 0xff, NMI', () => {
    const clock = new FakeClock();
    const ls = [0, 1].map((cpu) => new Lapic({ cpu, bsp: cpu === 0, clock, tsc: new TscClock(1_000_000, 0n), ipiBus: { send: () => {} } }));
    ls.forEach(enable);
    deliverInterruptMessage(ls, { vector: 0x24, deliveryMode: 0, destination: 1, logicalDestination: false, level: true, triggerLevel: true });
    expect(ls[0]!.getPendingVector()).toBe(-1);
    expect(ls[1]!.getPendingVector()).toBe(0x24);
    deliverInterruptMessage(ls, { vector: 0x25, deliveryMode: 0, destination: 0xff, logicalDestination: false, level: true, triggerLevel: false });
    expect(ls[0]!.getPendingVector()).toBe(0x25);
    deliverInterruptMessage(ls, { vector: 0, deliveryMode: 4, destination: 0, logicalDestination: false, level: true, triggerLevel: false });
    expect(ls[0]!.takeNmi()).toBe(true);
  });
});

describe('x2APIC', () => {
  test('mode transitions (SDM 11.12.5)', () => {
    const { l } = make({ cpu: 1, bsp: false });
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00400n)).toEqual({ ok: false }); // EN=0, EXTD=1 invalid
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00c00n)).toEqual({ ok: true }); // xAPIC -> x2APIC
    expect(l.x2apicMode).toBe(true);
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00800n)).toEqual({ ok: false }); // x2APIC -> xAPIC
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00000n)).toEqual({ ok: true }); // -> disabled
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00c00n)).toEqual({ ok: false }); // disabled -> x2APIC
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00800n)).toEqual({ ok: true });
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00900n)).toEqual({ ok: true }); // BSP bit is read-only
    expect(l.readMsr(MSR_IA32_APIC_BASE)).toEqual({ ok: true, value: 0xfee00800n });
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00801n)).toEqual({ ok: false }); // reserved bit 0
  });
  test('x2APIC disallowed without the feature', () => {
    const { l } = make({ x2apic: false });
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00d00n)).toEqual({ ok: false });
  });
  test('relocation is refused silently (base stays 0xfee00000)', () => {
    const { l } = make();
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0xfed00900n)).toEqual({ ok: true });
    expect(l.readMsr(MSR_IA32_APIC_BASE)).toEqual({ ok: true, value: 0xfee00900n });
    expect(l.relocationAttempts).toBe(1);
    expect(l.writeMsr(MSR_IA32_APIC_BASE, 0x12_fee00900n)).toEqual({ ok: true }); // base bits 39:32 exist (MAXPHYADDR 40)
    expect(l.relocationAttempts).toBe(2);
    expect(l.writeMsr(MSR_IA32_APIC_BASE, (1n << 40n) | 0xfee00900n)).toEqual({ ok: false }); // above MAXPHYADDR
  });
  test('MSR access: ID, derived LDR, TPR, EOI rules, ICR as one MSR, SELF IPI', () => {
    const { l, sent } = make({ cpu: 0x13, bsp: false });
    expect(l.readMsr(0x802)).toEqual({ ok: false }); // not in x2APIC mode yet
    l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00c00n);
    expect(l.readMsr(0x802)).toEqual({ ok: true, value: 0x13n });
    expect(l.readMsr(0x80d)).toEqual({ ok: true, value: (1n << 16n) | (1n << 3n) });
    expect(l.readMsr(0x803)).toEqual({ ok: true, value: 0x50014n });
    expect(l.writeMsr(0x80f, 0x1ffn)).toEqual({ ok: true });
    expect(l.writeMsr(0x808, 0x20n)).toEqual({ ok: true });
    expect(l.readMsr(0x808)).toEqual({ ok: true, value: 0x20n });
    expect(l.writeMsr(0x802, 5n)).toEqual({ ok: false }); // ID read-only
    expect(l.readMsr(0x80b)).toEqual({ ok: false }); // EOI write-only
    expect(l.writeMsr(0x80b, 1n)).toEqual({ ok: false }); // non-zero EOI
    expect(l.readMsr(0x80e)).toEqual({ ok: false }); // no DFR
    expect(l.readMsr(0x831)).toEqual({ ok: false }); // no ICR high
    expect(l.writeMsr(0x830, (7n << 32n) | 0x40f0n)).toEqual({ ok: true });
    expect(sent[0]).toEqual({ from: 0x13, msg: { vector: 0xf0, deliveryMode: 0, logical: false, level: true, triggerLevel: false, shorthand: 0, destination: 7, x2apic: true } });
    expect(l.readMsr(0x830)).toEqual({ ok: true, value: (7n << 32n) | 0x40f0n });
    expect(l.writeMsr(0x830, 1n << 13n)).toEqual({ ok: false }); // reserved bit
    expect(l.writeMsr(0x83f, 0x66n)).toEqual({ ok: true });
    expect(l.getPendingVector()).toBe(0x66);
    expect(l.writeMsr(0x83f, 0x166n)).toEqual({ ok: false });
    expect(l.readMsr(0x83f)).toEqual({ ok: false });
    expect(l.writeMsr(0x80b, 0n)).toEqual({ ok: true });
    expect(l.read(APIC_ID, 4)).toBe(0); // MMIO inert in x2APIC mode
  });
  test('x2APIC physical and logical destination matching', () => {
    const { l } = make({ cpu: 0x13, bsp: false });
    l.writeMsr(MSR_IA32_APIC_BASE, 0xfee00c00n);
    expect(l.matchesDestination(0x13, false, true)).toBe(true);
    expect(l.matchesDestination(0xffffffff, false, true)).toBe(true);
    expect(l.matchesDestination(0x00010008, true, true)).toBe(true);
    expect(l.matchesDestination(0x00020008, true, true)).toBe(false);
    expect(l.matchesDestination(0xff, false, false)).toBe(true); // xAPIC-format broadcast from an IOAPIC
  });
});

describe('INIT reset and state', () => {
  test('initReset keeps ID and base, clears the rest', () => {
    const { l } = make({ cpu: 1, bsp: false });
    enable(l);
    l.write(APIC_ID, 4, 0x05000000);
    l.acceptInterrupt(0x40, false);
    l.initReset();
    expect(l.read(APIC_ID, 4)).toBe(0x05000000);
    expect(l.read(APIC_SVR, 4)).toBe(0xff);
    expect(l.read(APIC_IRR + 0x40, 4)).toBe(0);
  });
  test('save/load round-trip, malformed input rejected', () => {
    const { l, clock } = make();
    enable(l);
    l.write(APIC_LVT_TIMER, 4, 0x30);
    l.write(APIC_TIMER_ICR, 4, 1000);
    l.acceptInterrupt(0x44, true);
    const s = JSON.parse(JSON.stringify(l.saveState())) as unknown;
    const { l: l2 } = make({ clock });
    expect(l2.loadState(s)).toBe(true);
    expect(l2.saveState()).toEqual(l.saveState());
    expect(l2.getPendingVector()).toBe(0x44);
    expect(l2.nextDeadlineNs()).toBe(2000n);
    expect(l2.loadState({ ...(s as object), irr: [1] })).toBe(false);
    expect(l2.loadState({ ...(s as object), apicBase: '0xfed00900' })).toBe(false);
    expect(l2.loadState('nope')).toBe(false);
  });
});
