// ACPI power-off and reset through the GED registers the FADT names.
import { expect, test } from 'vitest';
import { Microvm } from '../../../src/machine/microvm.js';
import { resolveConfig } from '../../../src/machine/defaults.js';
import { GED_REGS_BASE, GED_REG_RESET, GED_REG_SLEEP_CTL } from '../../../src/devices/ged.js';

const hello = new URL('../../../firmware/out/hello.elf', import.meta.url).pathname;

test('S5 through SLEEP_CONTROL_REG ends the machine with a poweroff reason', async () => {
  const m = new Microvm(resolveConfig({ kernel: hello, memory: 64 << 20, serial: { kind: 'null' } }));
  m.mmio.write(GED_REGS_BASE + GED_REG_SLEEP_CTL, 1, (5 << 2) | 0x20);
  expect(await m.exited).toEqual({ kind: 'poweroff', status: 0 });
});

test('RESET_REG under -no-reboot ends the machine like a triple fault (QEMU exits)', async () => {
  const m = new Microvm(resolveConfig({ kernel: hello, memory: 64 << 20, serial: { kind: 'null' } }));
  m.mmio.write(GED_REGS_BASE + GED_REG_RESET, 1, 0x42);
  expect((await m.exited).kind).toBe('triple-fault');
});

test('acpi=off: no GED, the registers are unassigned', async () => {
  const m = new Microvm(resolveConfig({ kernel: hello, memory: 64 << 20, serial: { kind: 'null' }, machine: { acpi: false } }));
  expect(m.mmio.find(GED_REGS_BASE)).toBeUndefined();
  await m.stop();
});
