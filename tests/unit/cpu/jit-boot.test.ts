import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { bootElf } from './jit-harness.js';

const FW = new URL('../../../firmware/out/', import.meta.url).pathname;

describe.skipIf(!existsSync(FW + 'hello.elf'))('firmware guests on the JIT', () => {
  test('hello.elf prints and exits', async () => {
    const r = await bootElf(FW + 'hello.elf', { timeoutMs: 60000 });
    console.log(JSON.stringify({ out: r.out, exit: r.exitCode, stop: r.stop, timedOut: r.timedOut, ms: r.ms, stats: r.jit.stats() }, (_k, v) => typeof v === 'bigint' ? v.toString() : v));
    expect(r.timedOut).toBe(false);
    expect(r.out).toContain('Hello');
  });
});

describe.skipIf(!existsSync(FW + 'tamago-seq-1g.elf'))('TamaGo boot sequence on the JIT', () => {
  for (const name of ['tamago-seq-1g.elf', 'tamago-seq.elf', 'exit-code.elf']) {
    test(name, async () => {
      const r = await bootElf(FW + name, { timeoutMs: 30000, ramMiB: 2048, cpus: name.startsWith('tamago') ? 2 : 1 });
      console.log(name, JSON.stringify({ out: r.out, exit: r.exitCode, stop: r.stop, timedOut: r.timedOut, ms: r.ms, stats: r.jit.stats() }, (_k, v) => typeof v === 'bigint' ? v.toString() : v));
      if (r.timedOut) {
        for (const v of r.jit.vcpus) {
          const s = r.jit.getState(v.index);
          console.log(`cpu${v.index} ${v.runState} rip=${s.regs.rip.toString(16)} rflags=${s.regs.rflags.toString(16)} insns=${v.instructions} ` +
            `pending=${v.lapic.getPendingVector()} nmi=${v.lapic.nmiPending} deadline=${v.lapic.nextDeadlineNs()} now=${v.guestNow()} err=${v.lastError}`);
        }
      }
      expect(r.timedOut).toBe(false);
      if (name.startsWith('tamago')) {
        expect(r.out).toContain('cpu 1 task 1 (woken by NMI)');
        expect(r.out).toContain('timer_ticks=5');
        // Known, not JIT defects: the harness has no RTC; clock-pairing-tsc-bogus is an unsigned
        // underflow in the firmware (tsc_before - 1000 * tsc_per_ms() while the guest TSC < 1 s).
        const fails = (/TAMAGO-SEQ FAIL (.*)/.exec(r.out)?.[1] ?? '').trim().split(/\s+/).filter((f) => f && f !== 'rtc-unreadable' && f !== 'clock-pairing-tsc-bogus');
        expect(fails).toEqual([]);
      }
    });
  }
});
