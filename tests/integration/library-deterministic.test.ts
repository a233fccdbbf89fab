// Deterministic mode. The machine's share is tested here on every run:
// devices on a ManualTimeSource from a fixed epoch, the accelerator handed
// the seed and that clock before the first instruction, and a clear error
// from accelerators that cannot run deterministically. The proof (two runs
// byte-identical, same instruction count) runs once the JIT implements
// Accelerator.setDeterministic.
import { describe, expect, test } from 'vitest';
import { startVm, NotSupportedError, ManualTimeSource, type DeterministicConfig } from '../../src/index.js';
import { JitAccelerator } from '../../src/cpu/accelerator.js';
import { debugExit, fw, haveFirmware, jitLacks, kvmSkip, MiB } from './library-helpers.js';

const EPOCH_2030 = Date.UTC(2030, 0, 2, 3, 4, 5);

describe.skipIf(!haveFirmware)('deterministic mode', () => {
  test('the machine side: fixed-epoch virtual time for devices; seed and clock handed to the accelerator before it runs', async () => {
    const calls: Array<{ config: DeterministicConfig; ranBefore: boolean }> = [];
    // A JIT that records the call (it does not itself become deterministic).
    class RecordingJit extends JitAccelerator {
      resumed = false;
      override resume(): void { this.resumed = true; super.resume(); }
      setDeterministic(config: DeterministicConfig): void { calls.push({ config, ranBefore: this.resumed }); }
    }
    await using vm = await startVm(
      { kernel: fw('hello.elf'), memory: 64 * MiB, accel: 'auto', deterministic: { seed: 42, epochMs: EPOCH_2030, nsPerInstruction: 3 } },
      { accelerator: new RecordingJit() },
    );
    await vm.exited;
    expect(calls).toHaveLength(1);
    const { config, ranBefore } = calls[0]!;
    expect(ranBefore).toBe(false);
    expect(config.seed).toBe(42n);
    expect(config.nsPerInstruction).toBe(3n);
    expect(config.time).toBe(vm.machine.time);
    expect(vm.machine.time).toBeInstanceOf(ManualTimeSource);
    // Nobody advanced virtual time (this JIT does not): the RTC reads the epoch exactly.
    expect(vm.machine.rtc!.now()).toMatchObject({ year: 2030, month: 1, day: 2, hour: 3, minute: 4, second: 5 });
    // 'auto' means the JIT in deterministic mode.
    expect(vm.machine.config.accel).toBe('jit');
  }, 60_000);

  test.skipIf(kvmSkip !== undefined)('KVM cannot run deterministically: "not supported by this accelerator"', async () => {
    const err = await startVm({ kernel: fw('hello.elf'), memory: 64 * MiB, accel: 'kvm', cpu: { model: 'host' }, deterministic: { seed: 1 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toBe('deterministic mode is not supported by this accelerator (kvm: Accelerator.setDeterministic is missing)');
  }, 60_000);

  test.skipIf(jitLacks('setDeterministic') === undefined)('a JIT without setDeterministic says so', async () => {
    await expect(startVm({ kernel: fw('hello.elf'), memory: 64 * MiB, deterministic: { seed: 1 } }))
      .rejects.toThrow('deterministic mode is not supported by this accelerator (jit: Accelerator.setDeterministic is missing)');
  }, 60_000);

  const skip = jitLacks('setDeterministic');
  test.skipIf(skip !== undefined)(`two runs are byte-identical, with the same instruction count${skip ? ` (${skip})` : ''}`, async () => {
    const run = async (): Promise<{ out: string; insns: bigint | undefined }> => {
      await using vm = await startVm({
        kernel: fw('demo.elf'), memory: 64 * MiB, accel: 'jit', devices: [debugExit],
        deterministic: { seed: 7, epochMs: EPOCH_2030 },
      });
      await vm.exited;
      return { out: vm.output(), insns: vm.instructionCount() };
    };
    const a = await run();
    const b = await run();
    expect(a.out).toContain('RTC        2030-01-02 03:04:');
    expect(b.out).toBe(a.out);
    expect(a.insns).toBeGreaterThan(0n);
    expect(b.insns).toBe(a.insns);
  }, 120_000);
});
