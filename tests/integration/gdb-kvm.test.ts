// The real gdb against the stub on KVM. /dev/kvm here is PVM: guests must be
// short, INT3 cannot run in its instruction emulator (the stub puts Z0
// breakpoints in debug registers first), and data breakpoints do not fire
// for emulated stores (MICROVM-CONTRACT.md "Where KVM here differs").
import { describe } from 'vitest';
import { kvmAvailability } from '../../src/kvm/accelerator.js';
import { gdbPath } from './gdb-helpers.js';
import { defineGdbScenarios } from './gdb-scenarios.js';

const kvm = kvmAvailability();
if (!kvm.ok) console.warn(`gdb KVM tests skipped: ${kvm.reason}`);
if (!gdbPath) console.warn('gdb KVM tests skipped: gdb is not installed (apt-get install gdb)');

describe.skipIf(!kvm.ok || !gdbPath)('gdb against the stub on KVM', () => {
  defineGdbScenarios({
    accel: 'kvm',
    watchMayNotFire: "PVM's instruction emulator does not raise data breakpoints for the stores it emulates",
  });
});
