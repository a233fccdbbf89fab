// AcceleratorDebug on the JIT: data watchpoints (trap-like stops after the
// access, RIP after the instruction, the watched address reported), x87/SSE
// register access (getFpu/setFpu checked against instructions that read and
// write those registers), and memoryWritten (stale translations dropped).
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import type { SegmentState, StopReason } from '../../../src/accel/types.js';
import { ManualTimeSource } from '../../../src/devices/clock.js';

const CODE = 0x200000;
const DATA = 0x10000;

function flat(sel: number, code: boolean): SegmentState {
  return { selector: sel, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3, present: true, dpl: 0, db: !code, s: true, l: code, g: true, avl: false, unusable: false };
}

/** A 64-bit vCPU (identity-mapped first GiB) at CODE running `code`. */
async function machine(code: number[], opts: { noInline?: boolean } = {}) {
  const mem = new GuestMemory(64 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  const stops: StopReason[] = [];
  let onStop: (r: StopReason) => void = (r) => { stops.push(r); };
  const jit = new JitAccelerator();
  jit.noInline = opts.noInline ?? false;
  await jit.init({
    memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: createCpuidPolicy({ accel: 'jit' }), cpuCount: 1,
    onStop: (r) => onStop(r), onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  mem.writeU64(0x1000, 0x2000n | 3n);
  mem.writeU64(0x2000, 0x83n); // 1 GiB page at 0
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
  const v = jit.vcpus[0]!;
  // A stop that never comes (the guest halts with interrupts off) fails the test quickly.
  const next = (): Promise<StopReason> => new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('no stop within 5 s')), 5000);
    onStop = (r) => { clearTimeout(t); res(r); };
    jit.resume();
  });
  const setRip = (rip: number): void => { const s = jit.getState(0); s.regs.rip = BigInt(rip); jit.setState(0, s); };
  return { mem, jit, v, dbg: jit.debug, next, stops, setRip };
}

const abs32 = (a: number): number[] => [a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, (a >>> 24) & 0xff];

// 0: mov eax, 1 | 5: mov [DATA], eax | 12: mov ebx, [DATA+8] | 19: mov ecx, [DATA+16] | 26: add eax, 1 | 29: hlt
const PROGRAM = [
  0xb8, 1, 0, 0, 0,
  0x89, 0x04, 0x25, ...abs32(DATA),
  0x8b, 0x1c, 0x25, ...abs32(DATA + 8),
  0x8b, 0x0c, 0x25, ...abs32(DATA + 16),
  0x83, 0xc0, 0x01,
  0xf4,
];

describe('JIT data watchpoints', () => {
  for (const noInline of [false, true]) {
    test(`write then read watchpoints stop after the access (${noInline ? 'executor' : 'inline'} accesses)`, async () => {
      const m = await machine(PROGRAM, { noInline });
      m.mem.writeU64(DATA + 8, 0x55n);
      m.mem.writeU64(DATA + 16, 0x66n);
      expect(m.dbg.addWatchpoint!('write', BigInt(DATA), 4)).toBe(true);
      let r = await m.next();
      // Trap-like: the write happened, RIP is after the MOV.
      expect(r).toEqual({ kind: 'debug', cpu: 0, reason: 'watchpoint', address: BigInt(CODE + 12), dataAddress: BigInt(DATA) });
      expect(m.mem.readU32(DATA)).toBe(1);
      expect(m.jit.getState(0).regs.rip).toBe(BigInt(CODE + 12));
      expect(m.dbg.removeWatchpoint!('write', BigInt(DATA), 4)).toBe(true);
      expect(m.dbg.removeWatchpoint!('write', BigInt(DATA), 4)).toBe(false);

      // A write watchpoint on DATA+8 does not fire on the read of DATA+8; a read one on DATA+16 does.
      m.dbg.addWatchpoint!('write', BigInt(DATA + 8), 8);
      m.dbg.addWatchpoint!('read', BigInt(DATA + 16), 4);
      r = await m.next();
      expect(r).toEqual({ kind: 'debug', cpu: 0, reason: 'watchpoint', address: BigInt(CODE + 26), dataAddress: BigInt(DATA + 16) });
      const s = m.jit.getState(0);
      expect(s.regs.gpr[3]).toBe(0x55n);
      expect(s.regs.gpr[1]).toBe(0x66n);
      expect(s.regs.gpr[0]).toBe(1n);
      await m.jit.destroy();
    });
  }

  test('deterministic mode reports the same stop with the watched address', async () => {
    const m = await machine(PROGRAM);
    m.jit.setDeterministic({ seed: 1n, time: new ManualTimeSource(), nsPerInstruction: 1n });
    m.dbg.addWatchpoint!('write', BigInt(DATA + 2), 1);
    const r = await m.next();
    expect(r).toEqual({ kind: 'debug', cpu: 0, reason: 'watchpoint', address: BigInt(CODE + 12), dataAddress: BigInt(DATA + 2) });
    await m.jit.destroy();
  });

  test('an access watchpoint fires on a partial overlap, not on a neighbour in the same page', async () => {
    // mov [DATA+4], eax (neighbour of DATA..DATA+3) | mov word [DATA+2], ax (overlaps) | hlt
    const m = await machine([0x89, 0x04, 0x25, ...abs32(DATA + 4), 0x66, 0x89, 0x04, 0x25, ...abs32(DATA + 2), 0xf4]);
    m.dbg.addWatchpoint!('access', BigInt(DATA), 4);
    const r = await m.next();
    expect(r).toMatchObject({ reason: 'watchpoint', address: BigInt(CODE + 15), dataAddress: BigInt(DATA) });
    await m.jit.destroy();
  });

  test('a string instruction (executor helper) completes, then stops', async () => {
    // mov edi, DATA | mov ecx, 16 | mov al, 0xab | rep stosb | hlt
    const m = await machine([0xbf, ...abs32(DATA), 0xb9, 16, 0, 0, 0, 0xb0, 0xab, 0xf3, 0xaa, 0xf4]);
    m.dbg.addWatchpoint!('write', BigInt(DATA + 8), 1);
    const r = await m.next();
    expect(r).toMatchObject({ reason: 'watchpoint', address: BigInt(CODE + 14), dataAddress: BigInt(DATA + 8) });
    expect(m.mem.readU8(DATA + 8)).toBe(0xab);
    await m.jit.destroy();
  });

  test('no watchpoints: the watched page goes back to the inline TLB', async () => {
    // loop: mov eax, [DATA]; dec ecx; jnz loop; hlt
    const m = await machine([0xb9, 0x10, 0x27, 0, 0, 0x8b, 0x04, 0x25, ...abs32(DATA), 0xff, 0xc9, 0x75, 0xf5, 0xf4]);
    m.dbg.addWatchpoint!('write', BigInt(DATA), 4);
    m.dbg.removeWatchpoint!('write', BigInt(DATA), 4);
    expect(m.v.mmu.watch).toBeUndefined();
    const before = m.v.mmu.slowAccesses;
    expect(m.v.run(100_000)).toBe('halted');
    expect(m.jit.getState(0).regs.gpr[1]).toBe(0n);
    // 10000 loads: one TLB fill, the rest inline.
    expect(m.v.mmu.slowAccesses - before).toBeLessThan(5);
    await m.jit.destroy();
  });

  test('while a watchpoint is set, other code keeps running correctly through the slow path', async () => {
    const m = await machine([0xb9, 0x10, 0x27, 0, 0, 0x8b, 0x04, 0x25, ...abs32(DATA), 0xff, 0xc9, 0x75, 0xf5, 0xf4]);
    m.mem.writeU32(DATA, 7);
    m.dbg.addWatchpoint!('write', BigInt(DATA + 64), 4);
    expect(m.v.run(100_000)).toBe('halted');
    const s = m.jit.getState(0);
    expect(s.regs.gpr[0]).toBe(7n);
    expect(s.regs.gpr[1]).toBe(0n);
    expect(m.v.mmu.slowAccesses).toBeGreaterThanOrEqual(10_000);
    await m.jit.destroy();
  });
});

describe('JIT getFpu/setFpu', () => {
  test('reset values, FLD1 seen by getFpu, setFpu seen by MOVD and FSTP', async () => {
    // fld1 | hlt | movd eax, xmm1 | fstp qword [DATA] | hlt
    const m = await machine([0xd9, 0xe8, 0xf4, 0x66, 0x0f, 0x7e, 0xc8, 0xdd, 0x1c, 0x25, ...abs32(DATA), 0xf4]);
    let f = m.dbg.getFpu!(0);
    expect(f.fcw).toBe(0x37f); // FNINIT value (SDM Vol. 1 8.1.5)
    expect(f.mxcsr).toBe(0x1f80);
    expect(f.ftwx).toBe(0);
    expect(m.v.run(1000)).toBe('halted');
    f = m.dbg.getFpu!(0);
    // ST0 = +1.0: significand 0x8000000000000000, exponent 0x3fff; TOP = 7 so physical register 7 is valid.
    expect(Array.from(f.fpr.subarray(0, 10))).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]);
    expect((f.fsw >> 11) & 7).toBe(7);
    expect(f.ftwx).toBe(0x80);

    // Replace ST0 with -2.5 (significand 0xa000000000000000, exponent 0x4000, sign) and xmm1's low dword.
    const fpr = new Uint8Array(80);
    fpr.set([0, 0, 0, 0, 0, 0, 0, 0xa0, 0x00, 0xc0], 0);
    const xmm = new Uint8Array(f.xmm);
    xmm.set([0x78, 0x56, 0x34, 0x12], 16);
    m.dbg.setFpu!(0, { ...f, fpr, xmm, mxcsr: 0x1f80 });
    m.v.runState = 'running';
    m.setRip(CODE + 3);
    expect(m.v.run(1000)).toBe('halted');
    expect(m.jit.getState(0).regs.gpr[0]).toBe(0x12345678n);
    expect(m.mem.readU64(DATA)).toBe(0xc004000000000000n); // -2.5 as a double
    f = m.dbg.getFpu!(0);
    expect(f.ftwx).toBe(0); // popped
    expect(Array.from(f.xmm.subarray(16, 20))).toEqual([0x78, 0x56, 0x34, 0x12]);
    await m.jit.destroy();
  });
});

describe('JIT memoryWritten', () => {
  test('code rewritten by the host runs in its new form', async () => {
    // mov eax, 1 | hlt
    const m = await machine([0xb8, 1, 0, 0, 0, 0xf4]);
    expect(m.v.run(1000)).toBe('halted');
    expect(m.jit.getState(0).regs.gpr[0]).toBe(1n);
    m.mem.writeU8(CODE + 1, 2); // host write: bypasses the guest's write path
    m.dbg.memoryWritten!(CODE + 1, 1);
    m.v.runState = 'running';
    m.setRip(CODE);
    expect(m.v.run(1000)).toBe('halted');
    expect(m.jit.getState(0).regs.gpr[0]).toBe(2n);
    await m.jit.destroy();
  });
});
