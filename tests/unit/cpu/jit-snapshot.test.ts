// JIT snapshots, deterministic mode and -d logging at the accelerator level:
// a small 64-bit program saved at a breakpoint and restored into a second JIT
// with a different host clock (registers, XMM, MSRs, TSC, LAPIC timer carry
// over; translated code does not); untrusted snapshots refused; seeded RDRAND
// and instruction-count time; in_asm/int log lines.
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import { ManualTimeSource } from '../../../src/devices/clock.js';
import { JIT_SNAPSHOT_FORMAT } from '../../../src/cpu/snapshot.js';
import { S } from '../../../src/cpu/state.js';
import { SplitMix64 } from '../../../src/cpu/deterministic.js';
import type { AcceleratorSnapshot, SegmentState, StopReason } from '../../../src/accel/types.js';

const CODE = 0x200000;
const MiB = 1024 * 1024;

const le = (v: bigint, n: number): number[] => Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
// mov rax, 0x1122334455667788; movq xmm3, rax; WRMSR LSTAR = 0xffff8000_9abcdef0; rdtsc; mov rbx, rax;
// rdrand rsi; A: nop; paddq xmm3, xmm3; movq rcx, xmm3; B: jmp $
const PROGRAM = [
  0x48, 0xb8, ...le(0x1122334455667788n, 8), 0x66, 0x48, 0x0f, 0x6e, 0xd8,
  0xb9, ...le(0xc0000082n, 4), 0xba, ...le(0xffff8000n, 4), 0xb8, ...le(0x9abcdef0n, 4), 0x0f, 0x30,
  0x0f, 0x31, 0x48, 0x89, 0xc3,
  0x48, 0x0f, 0xc7, 0xf6,
  0x90,
  0x66, 0x0f, 0xd4, 0xdb, 0x66, 0x48, 0x0f, 0x7e, 0xd9,
  0xeb, 0xfe,
];
const A = CODE + PROGRAM.length - 12;
const B = CODE + PROGRAM.length - 2;

function flat(sel: number, code: boolean): SegmentState {
  return { selector: sel, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3, present: true, dpl: 0, db: !code, s: true, l: code, g: true, avl: false, unusable: false };
}

interface Rig { jit: JitAccelerator; mem: GuestMemory; next(): Promise<StopReason>; clock: { ns: bigint } }

async function rig(clockNs: bigint, mem?: GuestMemory, nowNs?: () => bigint): Promise<Rig> {
  const m = mem ?? new GuestMemory(16 * MiB, { reservedBytes: JIT_RESERVED_BYTES });
  const clock = { ns: clockNs };
  let onStop: (r: StopReason) => void = () => {};
  const jit = new JitAccelerator();
  await jit.init({
    memory: m, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: createCpuidPolicy({ accel: 'jit' }), cpuCount: 1,
    onStop: (r) => onStop(r), onEoi: () => {}, nowNs: nowNs ?? (() => clock.ns),
  });
  const next = (): Promise<StopReason> => new Promise((res) => { onStop = res; jit.resume(); });
  return { jit, mem: m, next, clock };
}

function boot(r: Rig): void {
  r.mem.writeU64(0x1000, 0x2000n | 3n);
  r.mem.writeU64(0x2000, 0x83n);
  r.mem.writeBytes(CODE, Uint8Array.from(PROGRAM));
  const nul: SegmentState = { ...flat(0, false), unusable: true, present: false };
  r.jit.setState(0, {
    regs: { gpr: new Array<bigint>(16).fill(0n), rip: BigInt(CODE), rflags: 2n },
    sregs: {
      cs: flat(8, true), ds: flat(16, false), es: flat(16, false), ss: flat(16, false), fs: flat(16, false), gs: flat(16, false),
      tr: { ...flat(0x18, false), type: 0xb, s: false, limit: 0x67 }, ldt: nul, gdt: { base: 0n, limit: 0 }, idt: { base: 0n, limit: 0 },
      cr0: 0x80000033n, cr2: 0n, cr3: 0x1000n, cr4: 0x620n, cr8: 0n, efer: 0xd00n, apicBase: 0xfee00900n,
    },
  });
}

/** Copy a snapshot's RAM the way the machine does (the first 4 MiB hold everything here). */
function copyRam(from: GuestMemory, to: GuestMemory): void {
  to.writeBytes(0, from.readBytes(0, 4 * MiB));
}

describe('JIT snapshots', () => {
  test('restored into a new JIT under another host clock: registers, XMM, MSRs, TSC and LAPIC timer continue; code re-translates', async () => {
    const a = await rig(5_000_000_000n);
    boot(a);
    a.clock.ns += 1_000_000_000n; // a second of guest time before it runs
    a.jit.debug.addBreakpoint('sw', BigInt(A));
    expect(await a.next()).toMatchObject({ kind: 'debug', reason: 'breakpoint', address: BigInt(A) });
    const v = a.jit.vcpus[0]!;
    // Arm the LAPIC timer: one-shot, divide by 1, 1e6 ticks.
    v.lapic.write(0x3e0, 4, 0xb);
    v.lapic.write(0x320, 4, 0x40);
    v.lapic.write(0x380, 4, 1_000_000);
    const timerLeft = v.lapic.nextDeadlineNs()! - v.guestNow();
    const tscAtSave = v.tsc.tscAt(v.guestNow());
    const state = a.jit.getState(0);
    expect(tscAtSave).toBeGreaterThan(0n);
    const snap = a.jit.saveState();
    expect(snap.format).toBe(JIT_SNAPSHOT_FORMAT);

    // A second machine whose host clock reads something else entirely.
    const b = await rig(900_000_000_000n);
    copyRam(a.mem, b.mem);
    b.jit.restoreState(snap);
    const w = b.jit.vcpus[0]!;
    expect(b.jit.getState(0)).toEqual(state);
    expect(w.msr.lstar).toBe(0xffff80009abcdef0n);
    expect(w.st.xmmQ(3, 0)).toBe(0x1122334455667788n);
    // The clock stood still on both sides: the TSC and the timer read exactly what they read at the save.
    expect(w.tsc.tscAt(w.guestNow())).toBe(tscAtSave);
    expect(w.lapic.nextDeadlineNs()! - w.guestNow()).toBe(timerLeft);
    expect(b.jit.instructionCount()).toBe(a.jit.instructionCount());
    expect(b.jit.engine.cache.size).toBe(0);

    // Run on from the breakpoint in the new JIT: the saved XMM feeds the code that follows.
    b.jit.debug.addBreakpoint('sw', BigInt(B));
    b.jit.debug.addBreakpoint('sw', BigInt(A));
    expect(await b.next()).toMatchObject({ reason: 'breakpoint', address: BigInt(A) });
    b.jit.debug.removeBreakpoint('sw', BigInt(A));
    expect(await b.next()).toMatchObject({ reason: 'breakpoint', address: BigInt(B) });
    expect(b.jit.getState(0).regs.gpr[1]).toBe(0x22446688aaccef10n);
    await a.jit.destroy();
    await b.jit.destroy();
  });

  test('untrusted snapshots are refused with a reason', async () => {
    const a = await rig(1n);
    boot(a);
    const good = a.jit.saveState();
    const b = await rig(1n);
    const vcpu0 = good.vcpus[0] as Record<string, unknown>;
    const bad: Array<[AcceleratorSnapshot, RegExp]> = [
      [{ ...good, accel: 'kvm' }, /taken on kvm/],
      [{ ...good, format: 'jit-0/xyz' }, /format jit-0\/xyz/],
      [{ ...good, vcpus: [] }, /0 vCPUs saved, this machine has 1/],
      [{ ...good, vcpus: [{ ...vcpu0, block: new Uint8Array(10) }] }, /state block must be/],
      [{ ...good, vcpus: [{ ...vcpu0, runState: 'dancing' }] }, /bad runState/],
      [{ ...good, vcpus: [{ ...vcpu0, dr: [1n] }] }, /debug registers/],
      [{ ...good, vcpus: [{ ...vcpu0, tscOffset: -1n }] }, /tscOffset/],
      [{ ...good, extra: { guestNowNs: 0n } }, /time base/],
      [{ ...good, vcpus: [{ ...vcpu0, lapic: { version: 9 } }] }, /LAPIC state refused/],
      [{ ...good, vcpus: [{ ...vcpu0, msr: 'x' }] }, /MSR state refused/],
    ];
    for (const [s, re] of bad) expect(() => b.jit.restoreState(s)).toThrow(re);
    // The good one still loads.
    b.jit.restoreState(good);
    expect(b.jit.getState(0)).toEqual(a.jit.getState(0));
  });

  test('a state block of random bytes runs (or stops) without throwing out of the JIT', async () => {
    const a = await rig(1n);
    boot(a);
    const good = a.jit.saveState();
    const vcpu0 = good.vcpus[0] as Record<string, unknown>;
    let seed = 12345;
    const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 24; };
    for (let i = 0; i < 16; i++) {
      const orig = vcpu0['block'] as Uint8Array;
      const block = Uint8Array.from(orig);
      // Scramble a different share of the block each time (all of it at the end).
      const n = Math.min(block.length, ((i >> 1) + 1) * 200);
      for (let k = 0; k < n; k++) block[(k * 7 + i) % block.length] = rnd();
      // Every other case keeps the (valid) control registers and EFER: a state the JIT then runs.
      if (i & 1) for (const off of [S.CR0, S.CR4, S.EFER]) block.set(orig.subarray(off, off + 8), off);
      const r = await rig(1n);
      try {
        r.jit.restoreState({ ...good, vcpus: [{ ...vcpu0, block }] });
      } catch (e) {
        // Refused as an impossible state: fine, as long as it says why.
        expect((e as Error).message).toMatch(/^JIT snapshot: vCPU 0: /);
        continue;
      }
      const stop = await Promise.race([r.next(), new Promise<'running'>((res) => setTimeout(() => res('running'), 30))]);
      await r.jit.pause();
      expect(['running', 'triple-fault', 'internal-error']).toContain(stop === 'running' ? stop : stop.kind);
      await r.jit.destroy();
    }
  });
});

describe('JIT deterministic mode', () => {
  async function detRun(seed: bigint): Promise<{ rsi: bigint; rbx: bigint; insns: bigint; now: bigint }> {
    const time = new ManualTimeSource(Date.UTC(2024, 0, 1), 0n);
    const r = await rig(0n, undefined, () => time.nowNs());
    boot(r);
    r.jit.setDeterministic({ seed, time, nsPerInstruction: 3n });
    r.jit.debug.addBreakpoint('sw', BigInt(A));
    await r.next();
    const s = r.jit.getState(0);
    await r.jit.destroy();
    return { rsi: s.regs.gpr[6]!, rbx: s.regs.gpr[3]!, insns: r.jit.instructionCount(), now: time.nowNs() };
  }

  test('RDRAND from the seed, RDTSC and virtual time from the instruction count', async () => {
    const x = await detRun(7n), y = await detRun(7n), z = await detRun(8n);
    expect(y).toEqual(x);
    // RDRAND r64 returns the PRNG's first output for the seed.
    expect(x.rsi).toBe(new SplitMix64(7n).next());
    expect(z.rsi).toBe(new SplitMix64(8n).next());
    // 9 instructions retired before the breakpoint; time = 3 ns each.
    expect(x.insns).toBe(9n);
    expect(x.now).toBe(27n);
    // RDTSC ran at virtual time 0 (time advances between quanta): TSC 0 (or 1: reads are strictly increasing).
    expect(x.rbx < 2n).toBe(true);
  });
});

describe('JIT -d logging', () => {
  test('in_asm prints each translated block; int each delivery; unknown items come back', async () => {
    const r = await rig(1n);
    boot(r);
    // Replace the final jmp $ by ud2: #UD with no IDT -> #GP -> #DF -> triple fault.
    r.mem.writeBytes(B, Uint8Array.from([0x0f, 0x0b]));
    const lines: string[] = [];
    expect(r.jit.setLogging(new Set(['in_asm', 'int', 'nochain', 'unimp']), (l) => lines.push(l))).toEqual(['nochain']);
    expect(await r.next()).toMatchObject({ kind: 'triple-fault' });
    const text = lines.join('\n');
    expect(text).toContain(`IN: \n0x${CODE.toString(16).padStart(16, '0')}:  movabs rax,0x1122334455667788`);
    expect(text).toContain(':  wrmsr\n');
    expect(text).toContain('check_exception old: 0xffffffff new 0x6\n');
    // IDT limit 0: #GP(vector * 8 + 2 + EXT) = 0x33 (SDM Vol. 3 6.13), then #DF(0).
    expect(text).toContain(`     1: v=0d e=0033 i=0 cpl=0 IP=0008:${B.toString(16).padStart(16, '0')}`);
    expect(text).toContain('check_exception old: 0xd new 0x8');
    // UD2 is a real #UD, not an unimplemented instruction.
    expect(text).not.toContain('unimplemented');
    await r.jit.destroy();
  });

  test('unimp names an instruction the JIT does not implement (AVX here), with its bytes; guest_errors a refused WRMSR', async () => {
    const r = await rig(1n);
    boot(r);
    // vaddps ymm0, ymm1, ymm2 (VEX.256 0F 58): AVX is not in the JIT's feature set.
    r.mem.writeBytes(B, Uint8Array.from([0xc5, 0xf4, 0x58, 0xc2]));
    // The WRMSR writes LSTAR with a non-canonical value: #GP.
    r.mem.writeBytes(CODE + 15 + 1, Uint8Array.from(le(0xc0000082n, 4)));
    r.mem.writeBytes(CODE + 20 + 1, Uint8Array.from(le(0x00008000n, 4)));
    const lines: string[] = [];
    expect(r.jit.setLogging(new Set(['unimp', 'guest_errors']), (l) => lines.push(l))).toEqual([]);
    await r.next();
    const text = lines.join('\n');
    expect(text).toContain(`CPU 0: wrmsr 0xc0000082 <- 0x000080009abcdef0 refused (#GP) at RIP 0x${(CODE + 30).toString(16).padStart(16, '0')}`);
    await r.jit.destroy();
    const r2 = await rig(1n);
    boot(r2);
    r2.mem.writeBytes(CODE, Uint8Array.from([0xc5, 0xf4, 0x58, 0xc2]));
    const lines2: string[] = [];
    r2.jit.setLogging(new Set(['unimp']), (l) => lines2.push(l));
    await r2.next();
    expect(lines2[0]).toBe(`unimplemented instruction at 0x${CODE.toString(16).padStart(16, '0')}: vaddps ymm0,ymm1,ymm2 [c5 f4 58 c2]`);
    await r2.jit.destroy();
  });
});
