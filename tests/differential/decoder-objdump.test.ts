/**
 * Decoder + disassembler vs GNU objdump (binutils): lengths and mnemonics must
 * agree except for the documented cases in decoder-allowlist.ts; the operand
 * text of formatInstruction() must match objdump's for nearly all cases.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { decodeInto } from '../../src/cpu/decoder/decoder.js';
import { Instruction, type CpuMode } from '../../src/cpu/decoder/types.js';
import { allowObjdump } from './decoder-allowlist.js';
import { compareWithObjdump, summariseObjdump } from './decoder-objdump.js';
import { randomCase, Rng, structuredCase } from './decoder-oracle.js';

const CASES = Number(process.env.DECODER_OBJDUMP_CASES ?? 25_000);

describe('decoder vs objdump', () => {
  test('objdump is installed (binutils)', () => {
    expect(execFileSync('objdump', ['--version'], { encoding: 'utf8' })).toMatch(/GNU objdump/);
  });
  for (const mode of [64, 32, 16] as CpuMode[]) {
    test(`lengths, mnemonics and operand text, ${mode}-bit`, () => {
      const rng = new Rng(0x0bd0 + mode);
      const insn = new Instruction();
      const buf = new Uint8Array(16);
      const cases: Uint8Array[] = [];
      while (cases.length < CASES) {
        if (rng.below(2)) randomCase(rng, buf); else structuredCase(rng, mode, buf);
        const r = decodeInto(insn, buf, 0, 15, mode);
        if (r > 0) cases.push(buf.slice(0, r));
      }
      const st = compareWithObjdump(cases, mode, allowObjdump);
      if (st.disagreements.length) console.log(summariseObjdump(st.disagreements));
      expect(st.disagreements.slice(0, 5)).toEqual([]);
      // Operand text: 16-bit branch targets differ by design (we wrap IP at 64 KiB like the CPU; objdump
      // keeps the high bits of the load address), so the bar is lower there.
      const textRate = st.textAgree / st.mnemonicAgree;
      const bar = mode === 16 ? 0.9 : 0.99;
      if (textRate < bar) console.log(summariseObjdump(st.textDiffs, 15));
      expect(textRate).toBeGreaterThan(bar);
    });
  }
});
