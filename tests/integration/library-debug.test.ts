// Inspection from a test: breakpoints on kernel symbols, single-step,
// registers, guest virtual and physical memory, through the GDB stub's
// machine adapter. console.elf's code is the oracle: objdump -d shows
// guest_main at 0x100780 starting `55` (push %rbp), `ba 08 00 00 00`
// (mov $0x8,%edx), and the guest is identity-mapped.
import { describe, expect, test } from 'vitest';
import { startVm, NotSupportedError, DebugError } from '../../src/index.js';
import { JitAccelerator } from '../../src/cpu/accelerator.js';
import { acceleratorsFor, cpuFor, fw, haveFirmware, MiB } from './library-helpers.js';

const RSP = 4;
const RDX = 2;
const RAX = 0;

describe.skipIf(!haveFirmware)('library inspection and debugging', () => {
  for (const { accel, skip } of acceleratorsFor('debug')) {
    describe.skipIf(skip !== undefined)(`on ${accel}${skip ? ` (${skip})` : ''}`, () => {
      test('break on a symbol, read code and stack, step, set registers, continue', async () => {
        await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB, startPaused: true });
        expect(vm.symbol('guest_main')).toBe(0x100780n);
        const hit = vm.breakpoint('guest_main');
        vm.resume();
        const stop = await hit;
        expect(stop).toEqual({ cpu: 0, rip: 0x100780n, reason: 'breakpoint' });
        expect(vm.state).toBe('paused');
        expect(vm.output()).not.toContain('console ready');

        const regs = vm.registers();
        expect(regs.regs.rip).toBe(0x100780n);
        // The code under the breakpoint reads as the ELF has it (no INT3 shows).
        expect(Buffer.from(vm.readVirtual(0x100780n, 6)).toString('hex')).toBe('55ba08000000');
        expect(Buffer.from(vm.readPhysical(0x100780, 6)).toString('hex')).toBe('55ba08000000');
        expect(vm.translate(0x100780n)).toBe(0x100780);

        const rsp0 = regs.regs.gpr[RSP]!;
        const rbp0 = regs.regs.gpr[5]!;
        const s1 = await vm.step();
        expect(s1).toEqual({ cpu: 0, rip: 0x100781n, reason: 'single-step' });
        const after = vm.registers();
        expect(after.regs.gpr[RSP]).toBe(rsp0 - 8n);
        // push %rbp stored rbp at the new rsp.
        expect(new DataView(vm.readVirtual(rsp0 - 8n, 8).buffer).getBigUint64(0, true)).toBe(rbp0);
        expect((await vm.step()).rip).toBe(0x100786n);
        expect(vm.registers().regs.gpr[RDX]).toBe(8n);

        // Registers and memory written by the test.
        const r = vm.registers();
        r.regs.gpr[RAX] = 0x1234_5678_9abc_def0n;
        vm.setRegisters(r);
        expect(vm.registers().regs.gpr[RAX]).toBe(0x1234_5678_9abc_def0n);
        vm.writeVirtual(rsp0 - 0x1000n, Uint8Array.of(1, 2, 3, 4));
        expect([...vm.readPhysical(vm.translate(rsp0 - 0x1000n)!, 4)]).toEqual([1, 2, 3, 4]);

        vm.resume();
        await vm.waitFor('> ', { timeout: 30_000 });
      }, 90_000);

      test('a breakpoint set while the guest runs; symbols.at names the function', async () => {
        await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB });
        await vm.waitFor('> ', { timeout: 60_000 });
        const hit = vm.breakpoint('kprintf');
        expect(vm.state).toBe('running');
        vm.send('echo via-kprintf\r');
        const stop = await hit;
        expect(stop.reason).toBe('breakpoint');
        expect(vm.symbols.at(stop.rip)).toEqual({ symbol: expect.objectContaining({ name: 'kprintf', type: 'func' }), offset: 0n });
        // The echo has not been printed yet: the vCPU stopped on the way.
        expect(vm.output()).not.toContain('via-kprintf\r\nvia-kprintf');
        vm.resume();
        await vm.waitFor('via-kprintf\r\nvia-kprintf\r\n> ', { timeout: 30_000 });
      }, 90_000);

      test('inspection needs a paused machine; unknown symbols are named', async () => {
        await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB });
        await vm.waitFor('> ', { timeout: 60_000 });
        expect(() => vm.registers()).toThrow(DebugError);
        expect(() => vm.readVirtual(0x100000n, 4)).toThrow(/needs a paused machine/);
        expect(() => vm.symbol('no_such_function')).toThrow(/no symbol 'no_such_function'/);
        await vm.pause();
        expect(() => vm.readVirtual(0x7fff_0000_0000n, 4)).toThrow(/not mapped/);
      }, 90_000);
    });
  }

  test('an accelerator without the debug interface: "not supported by this accelerator"', async () => {
    // The JIT with its debug interface taken away (both accelerators have one now).
    const accelerator = new JitAccelerator();
    Object.defineProperty(accelerator, 'debug', { value: undefined });
    await using vm = await startVm({ kernel: fw('console.elf'), accel: 'jit', memory: 64 * MiB }, { accelerator });
    await vm.waitFor('> ', { timeout: 60_000 });
    await expect(vm.breakpoint('kprintf')).rejects.toThrow(NotSupportedError);
    await expect(vm.breakpoint('kprintf')).rejects.toThrow('breakpoints is not supported by this accelerator (jit: Accelerator.debug is missing)');
    // Physical memory and registers work without it.
    await vm.pause();
    expect(Buffer.from(vm.readPhysical(0x100780, 1)).toString('hex')).toBe('55');
    expect(vm.registers().sregs.cs.l).toBe(true);
  }, 90_000);
});
