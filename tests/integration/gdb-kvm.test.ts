// The real gdb against the stub on KVM (PVM here: guests must be short; INT3
// and data watchpoints do not work in KVM's emulator, see the notes below).
import { describe, expect, test } from 'vitest';
import { kvmAvailability } from '../../src/kvm/accelerator.js';
import { bootForGdb, fw, gdbPath } from './gdb-helpers.js';

const kvm = kvmAvailability();
if (!kvm.ok) console.warn(`gdb KVM tests skipped: ${kvm.reason}`);

describe.skipIf(!kvm.ok || !gdbPath)('gdb against the stub on KVM', () => {
  test('break on a symbol, continue, registers, memory, step, detach and let the guest finish', async () => {
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: 'kvm', append: 'gdb-test' });
    try {
      const out = await g.gdb([
        'break guest_main', 'continue', 'info registers rip', 'x/2i $pc', 'p/x $sp', 'stepi', 'info registers rip',
        'p $_siginfo', 'detach',
      ]);
      console.log(out);
      expect(out).toMatch(/Breakpoint 1, .*guest_main/);
      const reason = await g.exited;
      expect(reason.kind).toBe('debug-exit');
      expect(g.serial()).toContain('gdb-test');
    } finally {
      await g.close();
    }
  });
});
