/**
 * MSI composition against the Intel SDM Vol. 3A 11.11 formats (the same bit
 * positions Linux names in arch/x86/include/asm/msidef.h / irq_remapping).
 */
import { describe, expect, test } from 'vitest';
import type { InterruptMessage } from '../../../src/devices/irq.js';
import { composeMsi, parseMsi } from '../../../src/kvm/msi.js';

const msg = (m: Partial<InterruptMessage>): InterruptMessage => ({
  vector: 0x30, deliveryMode: 0, destination: 0, logicalDestination: false, level: true, triggerLevel: false, ...m,
});

const cases: Array<{ name: string; m: InterruptMessage; addressLo: number; data: number }> = [
  { name: 'fixed, physical APIC 0, edge', m: msg({ vector: 0x31 }), addressLo: 0xfee00000, data: 0x4031 },
  { name: 'fixed, physical APIC 1 (the first AP)', m: msg({ vector: 0x40, destination: 1 }), addressLo: 0xfee01000, data: 0x4040 },
  { name: 'lowest priority, logical mask 3, level', m: msg({ vector: 0x31, deliveryMode: 1, destination: 3, logicalDestination: true, triggerLevel: true }), addressLo: 0xfee03004, data: 0xc131 },
  { name: 'NMI to APIC 0xff', m: msg({ vector: 0, deliveryMode: 4, destination: 0xff }), addressLo: 0xfeeff000, data: 0x4400 },
  { name: 'deassert of a level message', m: msg({ vector: 0x50, level: false, triggerLevel: true }), addressLo: 0xfee00000, data: 0x8050 },
  { name: 'out-of-range fields are masked, not spilled', m: msg({ vector: 0x1ff, deliveryMode: 0xf, destination: 0x1ff }), addressLo: 0xfeeff000, data: 0x47ff },
];

describe('composeMsi', () => {
  for (const c of cases) {
    test(c.name, () => {
      expect(composeMsi(c.m)).toEqual({ addressLo: c.addressLo, addressHi: 0, data: c.data });
    });
  }
  test('parseMsi inverts composeMsi for in-range messages', () => {
    for (const c of cases.slice(0, 5)) expect(parseMsi(composeMsi(c.m))).toEqual(c.m);
  });
});
