// GED sleep/reset registers (QEMU hw/acpi/generic_event_device.c values).
import { describe, expect, test } from 'vitest';
import { GedRegisters, GED_REG_RESET, GED_REG_SLEEP_CTL } from '../../../src/devices/ged.js';

function make() {
  const log: string[] = [];
  const dev = new GedRegisters({ poweroff: () => log.push('poweroff'), reset: () => log.push('reset') });
  return { dev, log };
}

describe('GED sleep and reset registers', () => {
  const cases: Array<{ name: string; offset: number; size: 1 | 2 | 4; value: number; want: string[] }> = [
    { name: 'SLP_EN with SLP_TYP 5 powers off', offset: GED_REG_SLEEP_CTL, size: 1, value: (5 << 2) | 0x20, want: ['poweroff'] },
    { name: 'SLP_TYP 5 without SLP_EN does nothing', offset: GED_REG_SLEEP_CTL, size: 1, value: 5 << 2, want: [] },
    { name: 'SLP_EN with another sleep type does nothing', offset: GED_REG_SLEEP_CTL, size: 1, value: (3 << 2) | 0x20, want: [] },
    { name: 'RESET_REG 0x42 resets', offset: GED_REG_RESET, size: 1, value: 0x42, want: ['reset'] },
    { name: 'RESET_REG with another value does nothing', offset: GED_REG_RESET, size: 1, value: 0x41, want: [] },
    { name: 'a wide access is ignored', offset: GED_REG_SLEEP_CTL, size: 4, value: (5 << 2) | 0x20, want: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { dev, log } = make();
      dev.write(c.offset, c.size, c.value);
      expect(log).toEqual(c.want);
      expect(dev.read(c.offset, 1)).toBe(0);
    });
  }
});
