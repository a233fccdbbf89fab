// The library's console and lifecycle: startVm from a path or from bytes,
// accel 'jit' | 'kvm' | 'auto', the console Duplex, waitFor (match, timeout
// with the console tail, the guest exiting first), send, pause/resume,
// reset, stop, the typed exit reasons and `await using`.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { startVm, WaitForTimeoutError, VmExitedError, type Vm } from '../../src/index.js';
import { JitAccelerator } from '../../src/cpu/accelerator.js';
import type { AcceleratorHost } from '../../src/accel/types.js';
import { acceleratorsFor, cpuFor, debugExit, fw, haveFirmware, kvmSkip, MiB } from './library-helpers.js';

describe.skipIf(!haveFirmware)('library console and lifecycle', () => {
  for (const { accel, skip } of acceleratorsFor()) {
    describe.skipIf(skip !== undefined)(`on ${accel}${skip ? ` (${skip})` : ''}`, () => {
      test('hello from kernel bytes: output, debug-exit reason with QEMU status', async () => {
        await using vm = await startVm({
          kernel: new Uint8Array(readFileSync(fw('hello.elf'))), accel, cpu: cpuFor(accel), memory: 64 * MiB,
          append: 'from-bytes', devices: [debugExit],
        });
        const m = await vm.waitFor(/cmdline: "([^"]*)"/, { timeout: 60_000 });
        expect(m[1]).toBe('from-bytes');
        // hello writes value 0: QEMU's code (0 << 1) | 1 = 1, process status 1.
        expect(await vm.exited).toEqual({ kind: 'debug-exit', code: 1, status: 1 });
        expect(vm.state).toBe('exited');
      }, 90_000);

      test('without isa-debug-exit the guest ends in a triple fault (status 0 under -no-reboot)', async () => {
        await using vm = await startVm({ kernel: fw('hello.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB });
        expect(await vm.exited).toEqual({ kind: 'triple-fault', status: 0 });
        expect(vm.output()).toContain('Hello from microvm-ts guest');
      }, 90_000);

      test('console: the Duplex carries output; send() reaches the guest; waitFor fromNow', async () => {
        await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB, devices: [debugExit] });
        const chunks: Buffer[] = [];
        vm.console.on('data', (c: Buffer) => chunks.push(c));
        await vm.waitFor('> ', { timeout: 60_000 });
        // Written through the Duplex directly, as a user piping stdin would.
        vm.console.write('exit 5\r');
        // QEMU: value 5 -> code (5 << 1) | 1 = 11.
        expect(await vm.exited).toEqual({ kind: 'debug-exit', code: 11, status: 11 });
        expect(vm.output()).toContain('bye (isa-debug-exit value 5)');
        // The stream carries the same bytes as output().
        expect(Buffer.concat(chunks).toString('latin1')).toBe(vm.output().slice(0, Buffer.concat(chunks).length));
        expect(Buffer.concat(chunks).toString('latin1')).toContain('console ready');
      }, 90_000);

      test('send(): two lines in turn, waitFor fromNow', async () => {
        await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB });
        await vm.waitFor('> ', { timeout: 60_000 });
        vm.send('echo ping-42\r');
        await vm.waitFor(/\r\nping-42\r\n> /, { timeout: 20_000, fromNow: true });
        vm.send('echo pong-43\r');
        await vm.waitFor(/\r\npong-43\r\n> /, { timeout: 20_000, fromNow: true });
        // fromNow: output before the call does not match.
        await expect(vm.waitFor('ping-42', { timeout: 100, fromNow: true })).rejects.toBeInstanceOf(WaitForTimeoutError);
      }, 90_000);

      test('a waitFor timeout rejects with the console tail', async () => {
        await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB });
        await vm.waitFor('> ', { timeout: 60_000 });
        const err = await vm.waitFor('never printed', { timeout: 300 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WaitForTimeoutError);
        const e = err as WaitForTimeoutError;
        expect(e.timeoutMs).toBe(300);
        expect(e.consoleTail).toContain('console ready');
        expect(e.message).toMatch(/timed out after 300 ms waiting for never printed[^]*console ready \(rx=irq\)\r\n> $/);
      }, 90_000);

      test('waitFor rejects with the exit reason when the guest exits first', async () => {
        await using vm = await startVm({ kernel: fw('hello.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB, devices: [debugExit] });
        const err = await vm.waitFor('not from hello', { timeout: 60_000 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VmExitedError);
        expect((err as VmExitedError).reason.kind).toBe('debug-exit');
        expect((err as VmExitedError).consoleTail).toContain('Hello from microvm-ts guest');
      }, 90_000);

      test('pause stops output, resume continues; reset reboots; stop gives "stopped"', async () => {
        let vm: Vm | undefined = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB });
        try {
          await vm.waitFor('> ', { timeout: 60_000 });
          await vm.pause();
          expect(vm.state).toBe('paused');
          vm.send('echo while-paused\r');
          await new Promise((r) => setTimeout(r, 200));
          expect(vm.output()).not.toContain('while-paused\r\n');
          vm.resume();
          await vm.waitFor('while-paused\r\n> ', { timeout: 20_000 });
          await vm.reset();
          // The guest boots again: a second banner.
          await vm.waitFor(/console ready[^]*console ready/, { timeout: 60_000 });
          expect(await vm.stop()).toEqual({ kind: 'stopped', status: 0 });
          expect(await vm.exited).toEqual({ kind: 'stopped', status: 0 });
        } finally {
          await vm.stop();
          vm = undefined;
        }
      }, 120_000);
    });
  }

  test.skipIf(kvmSkip !== undefined)('accel auto picks KVM when it works', async () => {
    await using vm = await startVm({ kernel: fw('hello.elf'), accel: 'auto', cpu: { model: 'host' }, memory: 64 * MiB, devices: [debugExit] });
    await vm.exited;
    expect(vm.machine.config.accel).toBe('auto');
    expect(vm.output()).toContain('Hello from microvm-ts guest');
  }, 60_000);

  test('an accelerator failure ends the machine with kind "error" (status 1)', async () => {
    // A JIT that reports an internal error instead of running (as a vCPU thread failing would).
    class FailingJit extends JitAccelerator {
      private hostRef: AcceleratorHost | undefined;
      override async init(host: AcceleratorHost): Promise<void> { this.hostRef = host; await super.init(host); }
      override resume(): void { setImmediate(() => this.hostRef?.onStop({ kind: 'internal-error', cpu: 0, message: 'injected failure' })); }
    }
    await using vm = await startVm({ kernel: fw('hello.elf'), memory: 64 * MiB }, { accelerator: new FailingJit() });
    const r = await vm.exited;
    expect(r.kind).toBe('error');
    expect(r.status).toBe(1);
    expect(r.kind === 'error' && r.error.message).toBe('vCPU 0: injected failure');
    await expect(vm.waitFor('Hello', { timeout: 1000 })).rejects.toBeInstanceOf(VmExitedError);
  }, 60_000);

  test('await using stops the machine at the end of the scope', async () => {
    let leaked: Vm | undefined;
    {
      await using vm = await startVm({ kernel: fw('console.elf'), accel: 'jit', memory: 64 * MiB });
      leaked = vm;
      await vm.waitFor('> ', { timeout: 60_000 });
    }
    expect(await leaked.exited).toEqual({ kind: 'stopped', status: 0 });
    expect(leaked.state).toBe('exited');
  }, 90_000);
});
