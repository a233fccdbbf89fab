import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { BootPlan, planMpTable, buildMpConfigTable, acpiChecksum, MPTABLE_GPA } from '../../../src/loader/index.js';

/** Walk the MP configuration table's entries (MP 1.4 §4.3: type 0 is 20 bytes, the others 8). */
function entries(t: Uint8Array): number[][] {
  const out: number[][] = [];
  for (let o = 44; o < t.length;) {
    const len = t[o] === 0 ? 20 : 8;
    out.push([...t.subarray(o, o + len)]);
    o += len;
  }
  return out;
}

describe('MP table (MultiProcessor Specification 1.4, as qboot writes it)', () => {
  test('floating pointer at 0x9fc00 points at the table; both checksums 0', () => {
    const mem = new GuestMemory(16 * 1024 * 1024);
    const plan = new BootPlan(mem);
    const r = planMpTable(plan, { cpus: 2, cpuSignature: 0x60fb1, cpuFeatures: 0x178bfbfd })!;
    plan.commit();
    const mpf = mem.readBytes(MPTABLE_GPA, 16);
    expect(String.fromCharCode(...mpf.subarray(0, 4))).toBe('_MP_');
    expect(mem.readU32(MPTABLE_GPA + 4)).toBe(0x9fc10);
    expect([mpf[8], mpf[9]]).toEqual([1, 4]); // 16-byte length units, spec 1.4
    expect(acpiChecksum(mpf)).toBe(0);
    const t = mem.readBytes(r.tableGpa, r.bytes.length);
    expect(String.fromCharCode(...t.subarray(0, 4))).toBe('PCMP');
    expect(acpiChecksum(t)).toBe(0);
    expect(t[4]! | (t[5]! << 8)).toBe(t.length);
    const e = entries(t);
    expect(t[34]! | (t[35]! << 8)).toBe(e.length);
    expect(e[0]).toEqual([0, 0, 0x14, 3, 0xb1, 0x0f, 0x06, 0, 0xfd, 0xfb, 0x8b, 0x17, 0, 0, 0, 0, 0, 0, 0, 0]); // BSP
    expect(e[1]![3]).toBe(1); // AP: enabled, not BSP
    expect(e[2]).toEqual([1, 0, 0x49, 0x53, 0x41, 0x20, 0x20, 0x20]); // bus 0 "ISA   "
    expect(e[3]).toEqual([2, 3, 0x14, 1, 0x00, 0x00, 0xc0, 0xfe]); // IOAPIC id cpus+1
    const intsrc = e.filter((x) => x[0] === 3).map((x) => [x[5], x[7]]);
    expect(intsrc).toEqual([[0, 2], ...[1, ...Array.from({ length: 13 }, (_, i) => i + 3)].map((i) => [i, i])]);
    expect(e.at(-2)).toEqual([4, 3, 0, 0, 0, 0, 0, 0]);    // ExtINT -> BSP LINT0
    expect(e.at(-1)).toEqual([4, 1, 0, 0, 0, 0, 0xff, 1]); // NMI -> all LINT1
  });

  test('without the IRQ0 override all 16 ISA IRQs map 1:1', () => {
    const t = buildMpConfigTable({ cpus: 1, irq0Override: false });
    expect(entries(t).filter((x) => x[0] === 3).map((x) => [x[5], x[7]])).toEqual(Array.from({ length: 16 }, (_, i) => [i, i]));
  });

  test('too big for the EBDA: the table moves to 0xf0000, the pointer stays at 0x9fc00', () => {
    const plan = new BootPlan(new GuestMemory(16 * 1024 * 1024));
    const r = planMpTable(plan, { cpus: 64 })!;
    expect(r.tableGpa).toBe(0xf0000);
    expect(plan.claims.map((c) => c.gpa)).toEqual([0x9fc00, 0xf0000]);
  });

  test('more than 254 CPUs: no MP table (APIC IDs do not fit)', () => {
    expect(planMpTable(new BootPlan(new GuestMemory(16 * 1024 * 1024)), { cpus: 255 })).toBeUndefined();
  });
});
