/** Hostile-guest test: random register traffic never throws and keeps the LAPIC's invariants. */
import { describe, expect, test } from 'vitest';
import { Lapic, deliverIpi, APIC_ISR, APIC_IRR, APIC_PPR, APIC_TPR } from '../../../src/devices/lapic.js';
import { TscClock } from '../../../src/cpu/pvclock.js';

/** xorshift64*: deterministic, seedable. */
function rng(seed: bigint) {
  let s = seed;
  return {
    u64(): bigint { s ^= s >> 12n; s ^= (s << 25n) & 0xffffffffffffffffn; s ^= s >> 27n; return (s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn; },
    int(n: number): number { return Number(this.u64() % BigInt(n)); },
  };
}

describe('LAPIC under random guest traffic', () => {
  for (const seed of [1n, 2n, 0xdeadbeefn]) {
    test(`seed ${seed}`, () => {
      const r = rng(seed);
      let now = 0n;
      const clock = { nowNs: () => now };
      const lapics: Lapic[] = [];
      for (let cpu = 0; cpu < 3; cpu++) {
        lapics.push(new Lapic({ cpu, bsp: cpu === 0, clock, tsc: new TscClock(1_000_000, 0n), ipiBus: { send: (from, msg) => deliverIpi(lapics, from, msg) } }));
      }
      for (let i = 0; i < 20000; i++) {
        const l = lapics[r.int(3)]!;
        const op = r.int(10);
        const sizes = [1, 2, 4, 8] as const;
        if (op < 3) l.write(r.int(0x1000), sizes[r.int(4)]!, Number(r.u64() & 0xffffffffn));
        else if (op < 5) l.read(r.int(0x1000), sizes[r.int(4)]!);
        else if (op === 5) l.writeMsr(0x800 + r.int(0x100), r.int(4) === 0 ? r.u64() : r.u64() & 0xffn);
        else if (op === 6) l.writeMsr([0x1b, 0x6e0][r.int(2)]!, r.u64() & 0xfee00d00n | (r.int(8) === 0 ? r.u64() : 0n));
        else if (op === 7) { const v = l.acknowledge(); expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThan(256); }
        else if (op === 8) { now += BigInt(r.int(100000)); for (const x of lapics) x.tick(now); }
        else l.acceptMessage({ vector: r.int(256), deliveryMode: r.int(8), level: true, triggerLevel: r.int(2) === 1 });
        // Invariants: PPR is TPR or an ISR class; a pending vector is above PPR's class.
        const v = l.getPendingVector();
        if (v >= 0) expect(v & 0xf0).toBeGreaterThan(l.processorPriority & 0xf0);
        const d = l.nextDeadlineNs();
        if (d !== undefined) expect(typeof d).toBe('bigint');
      }
      for (const l of lapics) {
        if (!l.hardwareEnabled || l.x2apicMode) continue;
        const tpr = l.read(APIC_TPR, 4);
        const ppr = l.read(APIC_PPR, 4);
        expect(ppr === tpr || (ppr & 0x0f) === 0).toBe(true);
        expect(l.read(APIC_ISR, 4) & 0xffff).toBe(0); // vectors 0-15 never enter ISR
        expect(l.read(APIC_IRR, 4) & 0xffff).toBe(0);
      }
    });
  }
});
