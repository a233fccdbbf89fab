// The gdb sessions the issue asks for, run against one accelerator (the KVM
// and JIT test files call this). Each boots a firmware guest paused, as
// `-S -gdb tcp::PORT` does, and drives the real gdb in batch mode.
import { expect, test } from 'vitest';
import { bootForGdb, fw, gdbWithCtrlC } from './gdb-helpers.js';

export interface ScenarioOptions {
  accel: 'kvm' | 'jit';
  /** Why breakpoints/stepping cannot be tested on this accelerator (skipped with the reason), if so. */
  noDebug?: string;
  /** The accelerator has breakpoints but no data watchpoints: say why the watch session is skipped. */
  noWatch?: string;
  /** Data watchpoints may legitimately not fire here (PVM's emulator): say why. */
  watchMayNotFire?: string;
}

const ripOf = (out: string): string[] => [...out.matchAll(/^rip\s+(0x[0-9a-f]+)/gm)].map((m) => m[1]!);

export function defineGdbScenarios(o: ScenarioOptions): void {
  const needsDebug = (ctx: { skip: () => void }): void => {
    if (o.noDebug) {
      console.warn(`[gdb-${o.accel}] skipped: ${o.noDebug}`);
      ctx.skip();
    }
  };

  test('break on a symbol, continue, read registers and memory, step, detach and let the guest finish', async (ctx) => {
    needsDebug(ctx);
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel, append: 'gdb-test' });
    try {
      const out = await g.gdb([
        'break guest_main', 'continue', 'p $pc == guest_main', 'x/3i $pc', 'stepi', 'stepi', 'info registers rip', 'x/s $rdi',
        'p/x $sp', 'next', 'detach',
      ]);
      expect(out).toMatch(/Breakpoint 1, guest_main \(\) at hello\/hello\.c:13/);
      expect(out).toContain('$1 = 1');
      // Two single steps end at the third instruction gdb disassembled at the breakpoint.
      const insns = [...out.matchAll(/^(?:=>)?\s+(0x[0-9a-f]+) <guest_main\+?\d*>:/gm)].map((m) => m[1]);
      expect(insns.length).toBe(3);
      expect(ripOf(out)).toEqual([insns[2]]);
      expect(out).toMatch(/0x[0-9a-f]+:\s+"Hello from microvm-ts guest\\n"/); // kprintf's argument, read from guest memory
      expect(out).toMatch(/\$2 = 0x[0-9a-f]+/);
      expect(out).toMatch(/^14\s+if \(!pvh_start_info\(\)\)/m); // `next` ran kprintf and stopped on line 14
      expect(out).toContain('[Inferior 1 (Remote target) detached]');
      const reason = await g.exited;
      expect(reason).toMatchObject({ kind: 'debug-exit', status: 1 });
      expect(g.serial()).toContain('Hello from microvm-ts guest');
      expect(g.serial()).toContain('cmdline: "gdb-test"');
    } finally {
      await g.close();
    }
  });

  test.runIf(o.noDebug !== undefined)('without a debug interface breakpoints are refused and the guest is left alone', async () => {
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel });
    try {
      const out = await g.gdb(['break guest_main', 'continue', 'detach']);
      expect(out).toContain('Cannot insert breakpoint 1.');
      expect((await g.exited).kind).toBe('debug-exit');
      expect(g.serial()).toContain('Hello from microvm-ts guest');
      expect(g.serial()).not.toContain('EXCEPTION');
    } finally {
      await g.close();
    }
  });

  test('-smp 2: threads are vCPUs; switch threads; monitor commands; physical memory mode', async () => {
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel, cpus: 2 });
    try {
      const out = await g.gdb([
        'info threads', 'thread 2', 'info registers rip', 'thread 1', 'info registers rip', 'p/x (long)&pvh_start32',
        'monitor info registers', 'x/8xb guest_main', 'monitor phys on', 'x/8xb guest_main', 'monitor phys off', 'monitor info cpus', 'detach',
      ], { extraArgs: ['-ex', 'x/8xb guest_main'] }); // before `target remote`: gdb reads the ELF file
      const entry = /\$1 = (0x[0-9a-f]+)/.exec(out)?.[1];
      expect(entry).toBeDefined();
      expect(out).toMatch(/\* 1\s+Thread 1 \(vCPU 0 \[32-bit protected\]\) pvh_start32 \(\)/);
      expect(out).toMatch(/ 2\s+Thread 2 \(vCPU 1 \[[^\]]+\]\)/);
      expect(out).toContain('[Switching to thread 2 (Thread 2)]');
      const [ap, bsp] = ripOf(out);
      expect(bsp).toBe(entry); // the PVH entry
      expect(ap).not.toBe(bsp);
      expect(out).toMatch(/^CPU#0\nRAX=[0-9a-f]{16} RBX=/m);
      expect(out).toContain(`RIP=${entry!.slice(2).padStart(16, '0')}`);
      expect(out).toContain('memory access: physical addresses');
      // The same bytes from the ELF file, through the page tables, and by physical address.
      const dumps = [...out.matchAll(/^0x[0-9a-f]+ <guest_main>:(.*)$/gm)].map((m) => m[1]!.trim());
      expect(dumps.length).toBe(3);
      expect(new Set(dumps).size).toBe(1);
      expect(out).toMatch(new RegExp(`\\*\\s+CPU #0: pc=0x${entry!.slice(2).padStart(16, '0')}`));
      expect((await g.exited).kind).toBe('debug-exit');
    } finally {
      await g.close();
    }
  });

  test('-smp 2: a hardware breakpoint, backtrace, then continue to the end', async (ctx) => {
    needsDebug(ctx);
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel, cpus: 2 });
    try {
      const out = await g.gdb(['hbreak kprintf', 'continue', 'bt', 'info threads', 'delete', 'continue']);
      expect(out).toMatch(/Thread 1 hit Breakpoint 1, kprintf \(fmt=/);
      expect(out).toMatch(/#1 .* in guest_main \(\) at hello\/hello\.c:13/);
      expect(out).toContain('[Inferior 1 (Remote target) exited with code 01]');
    } finally {
      await g.close();
    }
  });

  test("TamaGo's boot sequence with -smp 2: a breakpoint on the AP's C entry stops thread 2, every vCPU stopped", async (ctx) => {
    needsDebug(ctx);
    const g = await bootForGdb({
      kernel: fw('tamago-seq.elf'), accel: o.accel, cpus: 2, memory: 512 * 2 ** 20, append: 'ticks=1 pairing=off',
    });
    try {
      const out = await g.gdb(['break ap_main', 'continue', 'info threads', 'bt', 'delete', 'continue'], { timeoutMs: 90_000 });
      expect(out).toMatch(/Thread 2 hit Breakpoint 1, ap_main \(ticket=0\)/);
      expect(out).toMatch(/\* 2\s+Thread 2 \(vCPU 1 \[64-bit\]\) ap_main/);
      expect(out).toMatch(/ 1\s+Thread 1 \(vCPU 0 \[64-bit\]\) /);
      expect(out).toMatch(/#1 .* in apstart \(\)/);
      expect(out).toContain('[Inferior 1 (Remote target) exited with code 01]');
      expect(g.serial()).toContain('cpu 1 online');
      expect(g.serial()).toContain('TAMAGO-SEQ OK');
    } finally {
      await g.close();
    }
  });

  test('watch a variable: stops where the guest writes it', async (ctx) => {
    needsDebug(ctx);
    if (o.noWatch) {
      console.warn(`[gdb-${o.accel}] watch skipped: ${o.noWatch}`);
      ctx.skip();
    }
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel });
    try {
      const out = await g.gdb(['watch start_info', 'continue', 'bt 1', 'delete', 'continue']);
      expect(out).toContain('Hardware watchpoint 1: start_info');
      if (!/Old value = /.test(out) && o.watchMayNotFire) {
        console.warn(`[gdb-${o.accel}] watchpoint did not fire: ${o.watchMayNotFire}`);
        expect(out).toContain('exited with code 01');
        return;
      }
      // pvh_set_start_info first stores 0 (unchanged: gdb goes on), then the pointer.
      expect(out).toMatch(/Hardware watchpoint 1: start_info\n\nOld value = \(const struct hvm_start_info \*\) 0x0\nNew value = \(const struct hvm_start_info \*\) 0x[0-9a-f]+/);
      expect(out).toMatch(/#0\s+.*pvh_set_start_info/);
      expect(out).toContain('exited with code 01');
    } finally {
      await g.close();
    }
  });

  test('x87 and SSE registers: read the reset FCW, write xmm1 and mxcsr and read them back from the vCPU', async (ctx) => {
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel });
    try {
      if (!g.machine.accelerator?.debug?.getFpu) {
        console.warn(`[gdb-${o.accel}] FPU registers skipped: the accelerator has no AcceleratorDebug.getFpu (gdb shows them <unavailable>)`);
        const out = await g.gdb(['p $xmm0', 'p $rip', 'detach']);
        expect(out).toMatch(/\$1 = <unavailable>/);
        expect(out).toMatch(/\$2 = \(void \(\*\)\(\)\) 0x[0-9a-f]+ <pvh_start32>/);
        ctx.skip();
        return;
      }
      const out = await g.gdb([
        'p/x $fctrl', 'set $xmm1.v4_int32[0] = 0x12345678', 'set $mxcsr = 0x1f80',
        // Drop gdb's cache so the values come back from the vCPU.
        'maint flush register-cache', 'p/x $xmm1.v4_int32', 'p/x $mxcsr', 'detach',
      ]);
      expect(out).toContain('$1 = 0x37f'); // FCW at power-on (SDM Vol. 1 8.1.5)
      expect(out).toContain('$2 = {0x12345678, 0x0, 0x0, 0x0}');
      expect(out).toContain('$3 = 0x1f80');
    } finally {
      await g.close();
    }
  });

  test('AVX registers: gdb composes ymm2 from xmm2 and ymm2h (org.gnu.gdb.i386.avx); a write reaches the vCPU', async (ctx) => {
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel });
    try {
      if (o.accel !== 'jit') {
        // KVM_GET_FPU has no AVX state: the upper halves are <unavailable>.
        const out = await g.gdb(['p $ymm2h', 'detach']);
        expect(out).toMatch(/\$1 = <unavailable>/);
        ctx.skip();
        return;
      }
      const out = await g.gdb([
        'set $ymm2.v8_int32[7] = 0xbadf00d', 'set $ymm2.v8_int32[0] = 0x11',
        'maint flush register-cache', 'p/x $ymm2.v8_int32', 'p/x $xmm2.v4_int32', 'detach',
      ]);
      expect(out).toContain('$1 = {0x11, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0xbadf00d}');
      expect(out).toContain('$2 = {0x11, 0x0, 0x0, 0x0}');
    } finally {
      await g.close();
    }
  });

  test('monitor quit ends the emulator; gdb sees the connection close', async () => {
    const g = await bootForGdb({ kernel: fw('hello.elf'), accel: o.accel });
    try {
      const out = await g.gdb(['monitor quit', 'info registers rip'], { timeoutMs: 20_000 });
      expect(out).toContain('Remote connection closed');
      expect(out).not.toContain('timed out');
      expect((await g.exited).kind).toBe('stopped');
    } finally {
      await g.close();
    }
  });

  test('attach to a running guest (no -S): gdb connecting stops it, detaching lets it run on', async () => {
    const g = await bootForGdb({ kernel: fw('exit-code.elf'), accel: o.accel, append: 'how=halt', startPaused: false });
    try {
      const t0 = Date.now();
      while (!g.serial().includes('halting forever') && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
      const out = await g.gdb(['bt 1', 'info threads', 'detach']);
      expect(out).toMatch(/#0\s+.*halt_forever \(\) at lib\/exit\.c/);
      expect(out).toContain('[Inferior 1 (Remote target) detached]');
      await new Promise((r) => setTimeout(r, 100));
      expect(g.machine.state).toBe('running');
    } finally {
      await g.close();
    }
  });

  test('Ctrl-C a running guest, system_reset, then kill', async () => {
    const g = await bootForGdb({ kernel: fw('exit-code.elf'), accel: o.accel, append: 'how=halt' });
    try {
      const out = await gdbWithCtrlC(g.server.port, fw('exit-code.elf'), [
        'continue', 'bt 1', 'info registers rip', 'monitor system_reset',
        // gdb caches registers across a monitor command (as with QEMU): drop the cache.
        'maint flush register-cache', 'info registers rip', 'p/x (long)&pvh_start32', 'kill',
      ], 2000);
      expect(out).toContain('Program received signal SIGINT, Interrupt.');
      expect(out).toMatch(/#0\s+.*halt_forever \(\) at lib\/exit\.c/);
      expect(ripOf(out)[1]).toBe(/\$1 = (0x[0-9a-f]+)/.exec(out)?.[1]); // after the reset: the PVH entry again
      expect(g.serial()).toContain('exit-code: halting forever');
      expect((await g.exited).kind).toBe('stopped');
    } finally {
      await g.close();
    }
  });
}
