// The real gdb against the stub on the JIT: the same sessions as on KVM
// (breakpoints, stepping, watchpoints, FPU registers, threads, monitor,
// Ctrl-C, reset, kill). A session whose AcceleratorDebug member is missing
// is skipped with the reason printed.
import { describe } from 'vitest';
import { JitAccelerator } from '../../src/cpu/accelerator.js';
import { gdbPath } from './gdb-helpers.js';
import { defineGdbScenarios } from './gdb-scenarios.js';

if (!gdbPath) console.warn('gdb JIT tests skipped: gdb is not installed (apt-get install gdb)');
const jitDebug = new JitAccelerator().debug;
const hasDebug = jitDebug !== undefined;
const hasWatch = jitDebug?.addWatchpoint !== undefined;

describe.skipIf(!gdbPath)('gdb against the stub on the JIT', () => {
  defineGdbScenarios({
    accel: 'jit',
    ...(hasDebug ? {} : { noDebug: 'the JIT accelerator has no debug interface (AcceleratorDebug) yet' }),
    ...(hasWatch ? {} : { noWatch: 'the JIT has no data watchpoints yet (AcceleratorDebug.addWatchpoint)' }),
  });
});
