// A machine reset (triple fault without -no-reboot) on the JIT must give the
// next boot working timers: the LAPIC and kvmclock are reset with the vCPUs.
// Regression: the second boot of tamago-seq failed "timer-did-not-fire
// kvmclock-not-advancing" because in-service LAPIC state survived the reset.
import { expect, test } from 'vitest';
import { startVm } from '../../src/index.js';

const fw = new URL('../../firmware/out/tamago-seq-1g.elf', import.meta.url).pathname;

test('tamago-seq boots twice across a triple-fault reset on the JIT', async () => {
  await using vm = await startVm({ kernel: fw, accel: 'jit', memory: 1024 * 2 ** 20, noReboot: false });
  let resets = 0;
  vm.machine.on('reset', () => { resets++; });
  await vm.waitFor(/TAMAGO-SEQ (OK|FAIL.*)/, { timeout: 90_000 });
  const second = await vm.waitFor(/TAMAGO-SEQ (OK|FAIL.*)[\s\S]*TAMAGO-SEQ (OK|FAIL.*)/, { timeout: 90_000 });
  expect(resets).toBeGreaterThanOrEqual(1);
  const results = vm.output().match(/TAMAGO-SEQ (OK|FAIL.*)/g) ?? [];
  expect(results.slice(0, 2)).toEqual(['TAMAGO-SEQ OK', 'TAMAGO-SEQ OK']);
  expect(second).not.toBeNull();
}, 200_000);
