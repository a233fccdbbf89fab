/**
 * Whole programs (loops over many blocks, calls and returns, flags that are
 * read or overwritten) on the host CPU and on the JIT: what the translator
 * does across blocks must not change the result. Covers region linking
 * (br_table dispatch, fall-through, self-loops, return sites), hot regions
 * (a loop of more blocks than a first translation batches goes through the
 * dispatcher until a region is formed around it), interpret-first, dead-flag
 * elimination (a shift or IMUL whose flags a later ADD/SUB overwrites) and
 * executor calls inside regions (spill/reload of the region's registers).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assemble, buildNativeHelper, DATA_ADDR, DATA_BYTES, jitState, makeJit, rng, runNative, CODE_ADDR,
} from './cpu-native-helper.js';
import type { JitAccelerator } from '../../src/cpu/accelerator.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';

const STACK_TOP = BigInt(DATA_ADDR) + 0x1800n; // second data page: mapped on both sides, not compared

const PROGRAMS: Record<string, string> = {
  // 8 blocks per iteration, 2000 iterations: more than a first batch holds, so it becomes hot.
  'loop over eight blocks with a memory RMW': `
    mov ecx, 2000
    L1: test ecx, 1
    jz A
    add rax, rcx
    jmp B
    A: sub rbx, rcx
    B: test ecx, 2
    jz C
    xor rdx, rcx
    C: mov r8, rcx
    shr r8, 3
    add r9, r8
    imul r10, r8
    add r10, 1
    cmp ecx, 1000
    jne D
    add qword ptr [rsi], 7
    D: dec ecx
    jnz L1`,
  // CALL/RET inside the loop: the return site is a block of the same region.
  'calls and returns in a loop': `
    mov ecx, 300
    L2: call F2
    dec ecx
    jnz L2
    jmp E2
    F2: add rax, rcx
    rol rax, 5
    push rax
    pop rdx
    ret
    E2: nop`,
  // Flags of shifts read (ADC, BT/SETC) and overwritten (SUB), by CL counts 0..63.
  'shift flags read and overwritten': `
    mov ecx, 130
    L3: mov rdx, rax
    shr rdx, cl
    adc rbx, rdx
    shl rdx, 3
    sub rdi, rdx
    bt rbx, 5
    setc al
    sar r11, cl
    add r11, rbx
    dec ecx
    jnz L3`,
  // An executor instruction (DIV) inside a two-block loop: registers written elsewhere in the region
  // must reach the executor, and what it writes must come back.
  'executor calls inside a region': `
    mov ecx, 200
    mov r12, 7
    L4: mov rax, r13
    xor edx, edx
    div r12
    add r14, rdx
    add r13, rcx
    test ecx, 3
    jnz M4
    add r15, rax
    M4: dec ecx
    jnz L4`,
  // 40 blocks per iteration: more than any first translation takes, so the dispatcher links them
  // until hot regions are formed.
  'loop over forty blocks': `
    mov ecx, 3000
    L6: nop
    ${Array.from({ length: 20 }, (_, k) => `test ecx, ${1 << (k % 11)}
    jz N6_${k}
    add rax, ${k + 1}
    N6_${k}: rol rax, 1`).join('\n    ')}
    dec ecx
    jnz L6`,
  // 8/16-bit compares read by every condition (SETcc and Jcc): the translator's compare fast paths.
  'byte and word compares, every condition': `
    mov ecx, 400
    L7: mov rdx, rax
    add rax, rbx
    rol rbx, 7
    xor rbx, rcx
    ${['cmp dl, al', 'cmp dx, ax', 'cmp dh, bl', 'cmp word ptr [rsi + 8], dx', 'cmp byte ptr [rsi + 3], 0x80'].map((c, i) =>
      ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'].map((cc) => `${c}
    set${cc} r8b
    add r9, r8
    rol r9, 3`).join('\n    ') + `
    ${c}
    j${['b', 'l', 'be', 'le', 'a'][i]} J7_${i}
    add r10, rdx
    J7_${i}: nop`).join('\n    ')}
    dec ecx
    jnz L7`,
  // CF read at the start of a block from a record of every kind (the translator's inline CF of a
  // record whose kind it does not know): producers, a jump, then ADC/SBB/INC/DEC/JB/SETB.
  'carry of every record kind across blocks': `
    mov ecx, 300
    L8: nop
    ${['add rax, rbx', 'adc rax, rdx', 'sub rbx, rcx', 'sbb rdx, rax', 'and rdi, rbx', 'xor r8d, eax', 'inc r9', 'dec r10',
      'imul r11, rbx', 'neg r12', 'shl r13, 3', 'cmp al, bl', 'add bx, dx', 'sub dil, al', 'cmp rax, rax'].map((p, i) => `${p}
    jmp P8_${i}
    P8_${i}: ${['adc r14, 0', 'sbb r15, 1', 'inc rsi', 'dec rsi'][i % 4]}
    jmp Q8_${i}
    Q8_${i}: ${['jb R8_' + i, 'jae R8_' + i, 'setb al\n    add r14, rax\n    jmp R8_' + i][i % 3]}
    add rbp, ${i + 1}
    R8_${i}: rol r15, 1
    adc rbp, r14`).join('\n    ')}
    dec ecx
    jnz L8`,
  // Rotates keep SF ZF AF PF of the record before them (computed inline when its kind is known in the
  // block): every producer, a rotate, then LAHF reads them (OF after a multi-bit rotate, AF after
  // shifts and SF ZF AF PF after IMUL are undefined: not used).
  'rotates after every record kind': `
    mov ecx, 300
    L9: nop
    ${['add rbx, rcx', 'adc edx, ebx', 'sub di, cx', 'sbb r8b, cl', 'and r9, rbx', 'or r10d, edx', 'inc r11w', 'dec r12',
      'neg r13d', 'cmp bl, dl', 'test rbx, rdx', 'xor eax, eax'].map((p, i) => `${p}
    ${['rol rbx, 1', 'ror rdx, 13', 'rol di, 3', 'ror r8b, 2', 'rol r9d, cl', 'ror r10, cl'][i % 6]}
    lahf
    add r14, rax
    rol r14, 9`).join('\n    ')}
    dec ecx
    jnz L9`,
  // Indirect calls through a register, memory, and memory addressed by RSP (read before the push).
  'indirect calls': `
    mov ecx, 200
    lea rbx, [rip + F10]
    lea rdx, [rip + G10]
    mov [rsi + 16], rdx
    L10: call rbx
    call qword ptr [rsi + 16]
    push rbx
    call qword ptr [rsp]
    pop r8
    dec ecx
    jnz L10
    jmp E10
    F10: add rax, rcx
    rol rax, 3
    ret
    G10: xor rax, rcx
    add r9, rax
    ret
    E10: nop`,
  // CMPXCHG that succeeds and fails (register and memory destinations, all sizes), XADD, XCHG.
  'compare-exchange loops': `
    mov ecx, 300
    L11: mov rax, [rsi + 32]
    test cl, 1
    jz M11
    add rax, rcx
    M11: cmpxchg [rsi + 32], rdx
    setz r8b
    add r9, r8
    mov eax, [rsi + 40]
    lock cmpxchg [rsi + 40], ebx
    mov rax, r10
    test cl, 2
    jz N11
    inc rax
    N11: cmpxchg r10, r11
    mov ax, [rsi + 48]
    cmpxchg [rsi + 48], cx
    mov al, dl
    cmpxchg bh, cl
    lock xadd [rsi + 56], rdi
    xadd r12d, r13d
    xchg [rsi + 64], r14
    xchg r15w, dx
    rol rdx, 7
    add rbx, rcx
    dec ecx
    jnz L11`,
  // Self-modifying code in a loop: each iteration patches the immediate of the next instruction.
  'self-modifying loop': `
    mov ecx, 300
    L5: mov byte ptr [rip + P5 + 3], cl
    P5: add rax, 0x11
    dec ecx
    jnz L5`,
};

function runJit(jit: JitAccelerator, mem: GuestMemory, code: Uint8Array, gpr: bigint[], rflags: bigint, data: Uint8Array): string {
  const v = jit.vcpus[0]!;
  mem.writeBytes(DATA_ADDR, data);
  mem.writeBytes(CODE_ADDR, new Uint8Array([...code, 0xf4]));
  jit.engine.flushAll();
  jit.setState(0, jitState([...gpr], rflags));
  v.runState = 'running';
  for (let i = 0; i < 200; i++) {
    const r = v.run(20000);
    if (r !== 'budget') return r;
  }
  return 'timeout';
}

describe('JIT vs host CPU: programs across blocks', () => {
  let bin: string;
  let codes: Uint8Array[];
  const names = Object.keys(PROGRAMS);
  beforeAll(() => {
    bin = buildNativeHelper();
    codes = assemble(names.map((n) => PROGRAMS[n]!.trim().split('\n').map((l) => l.trim()).join(';')));
  });

  for (const interpretFirst of [false, true]) {
    it(`every program, random inputs (interpret-first ${interpretFirst ? 'on' : 'off'})`, async () => {
      const next = rng(interpretFirst ? 0x7e61075n : 0x7e61074n);
      const { jit, mem } = await makeJit(false);
      jit.engine.interpretFirst = interpretFirst;
      let hot = 0;
      for (let p = 0; p < names.length; p++) {
        for (let k = 0; k < 4; k++) {
          const gpr = Array.from({ length: 16 }, () => next());
          gpr[4] = STACK_TOP;
          gpr[6] = BigInt(DATA_ADDR); // rsi: the RMW target
          const data = new Uint8Array(DATA_BYTES);
          for (let i = 0; i < data.length; i += 8) new DataView(data.buffer).setBigUint64(i, next(), true);
          const rflags = 0x202n | (next() & 0x8d5n);
          const [want] = runNative(bin, [{ code: codes[p]!, gpr, rflags, data }]);
          const hotBefore = jit.engine.stats.hotRegions;
          const r = runJit(jit, mem, codes[p]!, gpr, rflags, data);
          hot += jit.engine.stats.hotRegions - hotBefore;
          expect(r, names[p]).toBe('halted');
          expect(want!.fault, names[p]).toBeUndefined();
          const st = jit.getState(0).regs;
          const got = [...st.gpr];
          // The JIT stops after the HLT appended to the program: RSP is the same, RIP is not compared.
          expect(got.map((g) => g.toString(16)), names[p]).toEqual(want!.gpr!.map((g) => g.toString(16)));
          expect((st.rflags & 0x8d5n).toString(16), `${names[p]} flags`).toBe((want!.rflags! & 0x8d5n).toString(16));
          expect(Buffer.from(mem.readBytes(DATA_ADDR, DATA_BYTES)).equals(Buffer.from(want!.data!)), `${names[p]} memory`).toBe(true);
        }
      }
      // The forty-block loop was re-formed as hot regions.
      expect(hot).toBeGreaterThan(0);
    }, 120_000);
  }
});
