// End to end on KVM through the library: the firmware guests boot, print and
// exit with the status QEMU would give. /dev/kvm here is PVM (slow, limited):
// these are the short guests.
import { describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { startVm } from '../../src/index.js';
import { kvmAvailability } from '../../src/kvm/accelerator.js';

const fw = (name: string) => new URL(`../../firmware/out/${name}`, import.meta.url).pathname;
const kvm = kvmAvailability();
if (!kvm.ok) console.warn(`KVM boot tests skipped: ${kvm.reason}`);
const debugExit = { driver: 'isa-debug-exit' as const, iobase: 0xf4, iosize: 4 };

describe.skipIf(!kvm.ok)('boot on KVM', () => {
  test('hello guest prints and exits through isa-debug-exit', async () => {
    expect(existsSync(fw('hello.elf'))).toBe(true);
    await using vm = await startVm({
      kernel: fw('hello.elf'), accel: 'kvm', memory: 512 * 2 ** 20, cpu: { model: 'host' },
      append: 'console=ttyS0 hello-test', devices: [debugExit],
    });
    await vm.waitFor('Hello from microvm-ts guest', { timeout: 60_000 });
    const reason = await vm.exited;
    expect(reason.kind).toBe('debug-exit');
    expect(vm.output()).toContain('hello-test');
  });
});
