/**
 * formatInstruction against lines printed by GNU objdump 2.40
 * (`objdump -D -b binary -m i386:x86-64|i386|i8086 -M intel`), one case per
 * line. objdump's prefix words (rex.W, data16, ...) are not part of our output
 * and are stripped before comparing; the large randomized comparison lives in
 * tests/differential/decoder-objdump.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { decode } from '../../../src/cpu/decoder/decoder.js';
import { formatInstruction } from '../../../src/cpu/decoder/disasm.js';
import { Instruction, type CpuMode } from '../../../src/cpu/decoder/types.js';
import { sameMnemonic, splitObjdump } from '../../differential/decoder-objdump.js';

const CASES: ReadonlyArray<readonly [CpuMode, string, string]> = [
  [64, '4889c3', 'mov    rbx,rax'],
  [64, '488b05f00f0000', 'mov    rax,QWORD PTR [rip+0xff0]        # 0xff7'],
  [64, 'f0480fb10a', 'lock cmpxchg QWORD PTR [rdx],rcx'],
  [64, 'c4e27d18c0', 'vbroadcastss ymm0,xmm0'],
  [64, '66410f6fc1', 'movdqa xmm0,xmm9'],
  [64, 'f3a4', 'rep movs BYTE PTR es:[rdi],BYTE PTR ds:[rsi]'],
  [64, 'e9fbffffff', 'jmp    0x0'],
  [64, 'ff2425ff0f0000', 'jmp    QWORD PTR ds:0xfff'],
  [64, '48c1e004', 'shl    rax,0x4'],
  [64, '0f1f440000', 'nop    DWORD PTR [rax+rax*1+0x0]'],
  [64, 'f20f5904c7', 'mulsd  xmm0,QWORD PTR [rdi+rax*8]'],
  [64, '64488b042528000000', 'mov    rax,QWORD PTR fs:0x28'],
  [64, 'd9ee', 'fldz'],
  [64, 'dd5c24f8', 'fstp   QWORD PTR [rsp-0x8]'],
  [64, 'c5fd6f0c24', 'vmovdqa ymm1,YMMWORD PTR [rsp]'],
  [64, '0fa2', 'cpuid'],
  [64, 'cd80', 'int    0x80'],
  [64, '0f01f8', 'swapgs'],
  [64, '480f20d8', 'rex.W mov rax,cr3'],
  [64, 'c3', 'ret'],
  [64, 'c20800', 'ret    0x8'],
  [64, 'f3480fb8c1', 'popcnt rax,rcx'],
  [64, '66e804001234', 'callw  0x8'],
  [32, '8b45f8', 'mov    eax,DWORD PTR [ebp-0x8]'],
  [32, 'a1a0c00408', 'mov    eax,ds:0x804c0a0'],
  [32, 'ea785634120800', 'jmp    0x8:0x12345678'],
  [32, '60', 'pusha'],
  [32, 'd7', 'xlat   BYTE PTR ds:[ebx]'],
  [32, '0f00d0', 'lldt   ax'],
  [16, 'b80100', 'mov    ax,0x1'],
  [16, 'cd10', 'int    0x10'],
  [16, '8b1e3412', 'mov    bx,WORD PTR ds:0x1234'],
  [16, 'e2fe', 'loop   0x0'],
  [16, 'ff36fe00', 'push   WORD PTR ds:0xfe'],
];

describe('formatInstruction matches objdump -M intel', () => {
  for (const [mode, hex, expected] of CASES) {
    test(`${mode}-bit ${hex}: ${expected}`, () => {
      const insn = decode(Uint8Array.from(Buffer.from(hex, 'hex')), 0, mode);
      expect(insn).toBeInstanceOf(Instruction);
      const ours = splitObjdump(formatInstruction(insn as Instruction, { rip: 0n }));
      const theirs = splitObjdump(expected);
      expect(sameMnemonic(ours.mnemonic, theirs.mnemonic)).toBe(true);
      expect(ours.operands).toBe(theirs.operands);
    });
  }
  test('the RIP-relative comment names the absolute target', () => {
    const insn = decode(Uint8Array.from(Buffer.from('488b05f00f0000', 'hex')), 0, 64) as Instruction;
    expect(formatInstruction(insn, { rip: 0x401000n })).toBe('mov    rax,QWORD PTR [rip+0xff0]        # 0x401ff7');
  });
});
