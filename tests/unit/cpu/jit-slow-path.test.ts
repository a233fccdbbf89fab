/**
 * The slow path of inline memory accesses (block.ts exitSlow): a TLB miss, a
 * page-crossing access, a store into a page holding code. Translated code
 * leaves with Exit.SLOW before the instruction and the run loop executes it
 * in the executor. Oracle: the same program run entirely in the executor
 * (noInline) must end with the same registers, flags, memory and the same
 * instruction count (the block gives back the budget of what it did not run).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assemble, CODE_ADDR, jitState, makeJit } from '../../differential/cpu-native-helper.js';
import type { JitAccelerator } from '../../../src/cpu/accelerator.js';
import type { GuestMemory } from '../../../src/memory/guest-memory.js';

// The inline TLB has 4096 direct-mapped entries: pages 16 MiB apart share one.
const A = 0x10000000, B = A + 0x1000000;

const PROGRAMS: Record<string, string> = {
  'page-crossing loads, stores and read-modify-writes': `
    mov rsi, ${A + 0xffd}
    mov ecx, 500
    L1: mov rax, [rsi]
    add [rsi], rcx
    mov edx, [rsi + 0x1001]
    xor [rsi + 0x1002], edx
    add rbx, rax
    dec ecx
    jnz L1`,
  'TLB conflict misses on every access': `
    mov rsi, ${A}
    mov rdi, ${B}
    mov ecx, 700
    L2: mov rax, [rsi + rcx * 8]
    add [rdi + rcx * 8], rax
    cmp rax, [rdi + 8]
    adc rbx, 3
    mov [rsi + rcx * 8], rbx
    dec ecx
    jnz L2`,
  // Each iteration stores into the immediate of the instruction after the store (the code page is
  // write-protected in the TLB, so the store always takes the slow path and invalidates the block).
  'stores into the code being run': `
    mov ecx, 200
    L3: mov byte ptr [rip + P3 + 3], cl
    P3: add rax, 0x11
    add rbx, rax
    dec ecx
    jnz L3`,
};

interface Outcome { gpr: string[]; flags: string; insns: bigint; mem: string; slow: number }

function run(jit: JitAccelerator, mem: GuestMemory, code: Uint8Array): Outcome {
  const v = jit.vcpus[0]!;
  for (const base of [A, B]) mem.writeBytes(base, new Uint8Array(0x2000).map((_, i) => (i * 37 + 11) & 0xff));
  mem.writeBytes(CODE_ADDR, new Uint8Array([...code, 0xf4]));
  jit.engine.flushAll();
  const gpr = Array.from({ length: 16 }, (_, i) => BigInt(i) * 0x0101010101n);
  gpr[4] = BigInt(A + 0x1800);
  jit.setState(0, jitState(gpr, 0x202n));
  v.runState = 'running';
  v.instructions = 0n;
  const misses = v.tlbMisses;
  let r = 'budget';
  for (let i = 0; i < 200 && r === 'budget'; i++) r = v.run(20000);
  expect(r).toBe('halted');
  const st = jit.getState(0).regs;
  const words = (base: number): string => Buffer.from(mem.readBytes(base, 0x2000)).toString('hex');
  return {
    gpr: st.gpr.map((g) => g.toString(16)), flags: (st.rflags & 0x8d5n).toString(16),
    insns: v.instructions, mem: words(A) + words(B), slow: v.tlbMisses - misses,
  };
}

describe('JIT: slow path of inline memory accesses', () => {
  let codes: Uint8Array[];
  const names = Object.keys(PROGRAMS);
  beforeAll(() => { codes = assemble(names.map((n) => PROGRAMS[n]!.trim().split('\n').map((l) => l.trim()).join(';'))); });

  for (let p = 0; p < names.length; p++) {
    it(names[p]!, async () => {
      const inline = await makeJit(false), exec = await makeJit(true);
      const got = run(inline.jit, inline.mem, codes[p]!);
      const want = run(exec.jit, exec.mem, codes[p]!);
      expect(got.gpr).toEqual(want.gpr);
      expect(got.flags).toBe(want.flags);
      expect(got.mem === want.mem).toBe(true);
      // Exact instruction count: the block charged its whole length up front and gave back the rest.
      expect(got.insns).toBe(want.insns);
      // The inline code did take the slow path (hundreds of times: every iteration).
      expect(got.slow).toBeGreaterThan(150);
    });
  }
});
