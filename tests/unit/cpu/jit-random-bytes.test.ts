// Robustness: random bytes executed as code in 64-bit, 32-bit and real mode
// must never throw out of the JIT, hang the host, or corrupt the host: every
// case ends within its instruction budget as halted, triple fault (no IDT:
// any exception escalates), budget exhausted, or a reported internal error.
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import type { SegmentState, VcpuState } from '../../../src/accel/types.js';

const CASES = process.env['FULL'] ? 3000 : 60;
const CODE = 0x200000;

function seg(sel: number, code: boolean, l: boolean, db: boolean, base = 0n, limit = 0xffffffff): SegmentState {
  return { selector: sel, base, limit, type: code ? 0xb : 0x3, present: true, dpl: 0, db, s: true, l, g: limit > 0xfffff, avl: false, unusable: false };
}

function state(mode: 16 | 32 | 64, gpr: bigint[], rflags: bigint): VcpuState {
  const nul: SegmentState = { ...seg(0, false, false, false), unusable: true, present: false };
  const long = mode === 64;
  const code = mode === 16 ? seg(0x2000, true, false, false, 0x20000n, 0xffff) : seg(8, true, long, !long);
  const data = mode === 16 ? seg(0, false, false, false, 0n, 0xffff) : seg(16, false, false, true);
  return {
    regs: { gpr, rip: mode === 16 ? BigInt(CODE - 0x20000) : BigInt(CODE), rflags },
    sregs: {
      cs: code, ds: data, es: data, ss: data, fs: data, gs: data,
      tr: { ...seg(0x18, false, false, false), type: 0xb, s: false, limit: 0x67 }, ldt: nul,
      gdt: { base: 0n, limit: 0 }, idt: { base: 0n, limit: 0 },
      cr0: mode === 16 ? 0x10n : long ? 0x80000033n : 0x33n, cr2: 0n, cr3: 0x1000n, cr4: long ? 0x620n : 0x600n, cr8: 0n,
      efer: long ? 0xd00n : 0n, apicBase: 0xfee00900n,
    },
  };
}

describe('random bytes as code', () => {
  test(`${CASES} cases per mode never escape the JIT`, async () => {
    const mem = new GuestMemory(64 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
    const jit = new JitAccelerator();
    let stops = 0;
    await jit.init({
      memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: createCpuidPolicy({ accel: 'jit' }), cpuCount: 1,
      onStop: () => { stops++; }, onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
    });
    let seed = 0x12345678;
    const rnd = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };
    const outcomes = new Map<string, number>();
    const v = jit.vcpus[0]!;
    const t0 = performance.now();
    for (const mode of [64, 32, 16] as const) {
      for (let i = 0; i < CASES; i++) {
        // Identity map 0..1 GiB (rewritten each case: random code may scribble on it).
        mem.fill(0x1000, 0x2000, 0);
        mem.writeU64(0x1000, 0x2000n | 3n);
        mem.writeU64(0x2000, 0x83n);
        const code = new Uint8Array(256);
        for (let k = 0; k < code.length; k++) code[k] = rnd() & 0xff;
        mem.writeBytes(CODE, code);
        jit.engine.flushAll();
        const gpr = Array.from({ length: 16 }, () => BigInt(rnd()) << BigInt(rnd() & 31));
        gpr[4] = BigInt(CODE - 0x1000 - 0x20000 * (mode === 16 ? 1 : 0)) & (mode === 16 ? 0xffffn : 0xffffffffn);
        jit.setState(0, state(mode, gpr, 2n | BigInt(rnd() & 0x8d5)));
        v.runState = 'running'; // setState keeps the run state (a previous case may have halted)
        const r = v.run(2000);
        const k = `${mode}:${r}`;
        outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
        expect(['halted', 'triple', 'budget', 'error', 'wait']).toContain(r);
      }
    }
    const ms = performance.now() - t0;
    console.log(`random bytes: ${JSON.stringify([...outcomes])} in ${ms.toFixed(0)} ms; last internal error: ${v.lastError ?? 'none'}`);
    expect(stops).toBe(0); // run() reports directly; onStop is the scheduler's
    expect(ms).toBeLessThan(110_000);
  });
});
