// AcceleratorDebug on the JIT: breakpoints stop before the instruction and
// resume over it, single-step stops after each instruction, translate walks
// the page tables.
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import type { SegmentState, StopReason } from '../../../src/accel/types.js';

const CODE = 0x200000;

function flat(sel: number, code: boolean): SegmentState {
  return { selector: sel, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3, present: true, dpl: 0, db: !code, s: true, l: code, g: true, avl: false, unusable: false };
}

/** A JIT with 64 MiB of RAM identity-mapped by a 1 GiB page, 64-bit flat state, `code` at CODE. */
async function flatJit(code: number[]): Promise<{ jit: JitAccelerator; mem: GuestMemory; next: () => Promise<StopReason> }> {
  const mem = new GuestMemory(64 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  let onStop: (r: StopReason) => void = () => {};
  const jit = new JitAccelerator();
  await jit.init({
    memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: createCpuidPolicy({ accel: 'jit' }), cpuCount: 1,
    onStop: (r) => onStop(r), onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  mem.writeU64(0x1000, 0x2000n | 3n);
  mem.writeU64(0x2000, 0x83n);
  mem.writeBytes(CODE, Uint8Array.from(code));
  const nul: SegmentState = { ...flat(0, false), unusable: true, present: false };
  jit.setState(0, {
    regs: { gpr: new Array<bigint>(16).fill(0n), rip: BigInt(CODE), rflags: 2n },
    sregs: {
      cs: flat(8, true), ds: flat(16, false), es: flat(16, false), ss: flat(16, false), fs: flat(16, false), gs: flat(16, false),
      tr: { ...flat(0x18, false), type: 0xb, s: false, limit: 0x67 }, ldt: nul, gdt: { base: 0n, limit: 0 }, idt: { base: 0n, limit: 0 },
      cr0: 0x80000033n, cr2: 0n, cr3: 0x1000n, cr4: 0x620n, cr8: 0n, efer: 0xd00n, apicBase: 0xfee00900n,
    },
  });
  const next = (): Promise<StopReason> => new Promise((res) => { onStop = res; jit.resume(); });
  return { jit, mem, next };
}

describe('JIT debug interface', () => {
  test('breakpoint, resume over it, single-step, translate', async () => {
    // mov eax, 1; add eax, 2; add eax, 3; add eax, 4; jmp $ (spin)
    const { jit, next } = await flatJit([0xb8, 1, 0, 0, 0, 0x83, 0xc0, 2, 0x83, 0xc0, 3, 0x83, 0xc0, 4, 0xeb, 0xfe]);
    const dbg = jit.debug;
    expect(dbg.translate(0, BigInt(CODE + 5))).toBe(BigInt(CODE + 5));

    expect(dbg.addBreakpoint('sw', BigInt(CODE + 8))).toBe(true);
    let r = await next();
    expect(r).toEqual({ kind: 'debug', cpu: 0, reason: 'breakpoint', address: BigInt(CODE + 8) });
    expect(jit.getState(0).regs.gpr[0]).toBe(3n);

    dbg.setSingleStep(0, true);
    r = await next();
    expect(r).toMatchObject({ kind: 'debug', reason: 'single-step', address: BigInt(CODE + 11) });
    expect(jit.getState(0).regs.gpr[0]).toBe(6n);
    dbg.setSingleStep(0, false);

    // The breakpoint stays armed: jump back to it and stop again.
    const s = jit.getState(0);
    s.regs.rip = BigInt(CODE);
    jit.setState(0, s);
    r = await next();
    expect(r).toMatchObject({ reason: 'breakpoint', address: BigInt(CODE + 8) });
    expect(dbg.removeBreakpoint('sw', BigInt(CODE + 8))).toBe(true);
    await jit.destroy();
  });

  test('single-step over memory accesses that take the slow path stops after each instruction', async () => {
    // mov rax, [0x300ffe] (crosses a page: always the slow path); add [0x400000], eax (first touch: TLB miss);
    // mov ebx, [0x400000]; jmp $
    const { jit, mem, next } = await flatJit([
      0x48, 0x8b, 0x04, 0x25, 0xfe, 0x0f, 0x30, 0x00,
      0x01, 0x04, 0x25, 0x00, 0x00, 0x40, 0x00,
      0x8b, 0x1c, 0x25, 0x00, 0x00, 0x40, 0x00,
      0xeb, 0xfe,
    ]);
    mem.writeU64(0x300ff8, 0x0807060504030201n);
    mem.writeU64(0x301000, 0x100f0e0d0c0b0a09n);
    jit.debug.setSingleStep(0, true);
    const stops: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await next();
      expect(r).toMatchObject({ kind: 'debug', reason: 'single-step' });
      stops.push(jit.getState(0).regs.rip);
    }
    expect(stops).toEqual([BigInt(CODE + 8), BigInt(CODE + 15), BigInt(CODE + 22)]);
    const g = jit.getState(0).regs.gpr;
    expect(g[0]).toBe(0x0e0d0c0b0a090807n);
    expect(g[3]).toBe(0x0a090807n);
    await jit.destroy();
  });
});
