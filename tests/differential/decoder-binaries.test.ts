/**
 * Decode every instruction objdump finds in the .text of real binaries on
 * this machine (busybox-static, libc, Debian's Go toolchain) and require the
 * same length and no #UD. These are instruction streams no one here wrote.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { decodeInto } from '../../src/cpu/decoder/decoder.js';
import { formatInstruction } from '../../src/cpu/decoder/disasm.js';
import { DECODE_UD, Instruction, Mn } from '../../src/cpu/decoder/types.js';

/** objdump text of AVX-512 instructions: opmask registers, zmm, xmm/ymm16-31, {k}/{z}/{sae} decorations. */
const PREFIX_BYTES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
const AVX512 = /\bk[0-7]\b|zmm|[xy]mm(1[6-9]|2\d|3[01])\b|\{/;
import { sameMnemonic, splitObjdump } from './decoder-objdump.js';

interface Section { vma: number; size: number; fileOff: number }

function textSection(file: string): Section {
  const out = execFileSync('objdump', ['-h', file], { encoding: 'utf8' });
  const m = /^\s*\d+\s+\.text\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/m.exec(out);
  if (!m) throw new Error(`no .text in ${file}`);
  return { size: parseInt(m[1]!, 16), vma: parseInt(m[2]!, 16), fileOff: parseInt(m[3]!, 16) };
}

/** A bounded window of .text (objdump disassembles only this range). */
function checkBinary(file: string, maxBytes: number): { insns: number; mnemonicAgree: number } {
  const sec = textSection(file);
  const len = Math.min(sec.size, maxBytes);
  const bytes = new Uint8Array(readFileSync(file).subarray(sec.fileOff, sec.fileOff + sec.size));
  const out = execFileSync('objdump', ['-d', '-M', 'intel', '--insn-width=16', '-j', '.text',
    `--start-address=0x${sec.vma.toString(16)}`, `--stop-address=0x${(sec.vma + len).toString(16)}`, file],
  { encoding: 'utf8', maxBuffer: 1 << 30 });
  const insn = new Instruction();
  const problems: string[] = [];
  let insns = 0, mnemonicAgree = 0, avx512 = 0;
  for (const l of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$/.exec(l);
    if (!m) continue;
    const text = (m[3] ?? '').trim();
    if (text.includes('(bad)')) continue; // data or padding objdump cannot decode either
    const off = parseInt(m[1]!, 16) - sec.vma;
    if (off + 15 > len) continue; // objdump cuts the last instruction of the window
    const n = m[2]!.trim().split(' ').length;
    const r = decodeInto(insn, bytes, off, bytes.length, 64);
    insns++;
    // AVX-512 (EVEX, opmask k-registers, xmm16-31) is not implemented: #UD is the expected answer there
    // (glibc selects those routines only when CPUID reports AVX-512). EVEX lengths must still agree.
    let q = off;
    while (q < off + 14 && PREFIX_BYTES.has(bytes[q]!)) q++;
    const evex = bytes[q] === 0x62;
    if (evex || AVX512.test(text)) {
      avx512++;
      if (r !== DECODE_UD || (evex && insn.length !== n)) {
        if (problems.length < 20) problems.push(`${m[1]}: ${m[2]!.trim()} expected #UD (AVX-512), ours r=${r} len ${insn.length}: ${text}`);
      }
      continue;
    }
    if (r !== n) {
      if (problems.length < 20) problems.push(`${m[1]}: ${m[2]!.trim()} ours r=${r} (${insn.failure}) objdump ${n}: ${text}`);
      continue;
    }
    const ours = formatInstruction(insn);
    // 66 90 is "xchg ax,ax" to objdump and "nop" to iced and us (SDM "NOP": 90 is XCHG eAX,eAX).
    if (sameMnemonic(splitObjdump(ours).mnemonic, splitObjdump(text).mnemonic) ||
      (insn.mn === Mn.NOP && /xchg\s+ax,ax$/.test(text))) mnemonicAgree++;
    else if (process.env.DECODER_SHOW_MNEMONICS) console.log(`${m[2]!.trim()}: ours '${ours}' objdump '${text}'`);
  }
  expect(problems).toEqual([]);
  return { insns: insns - avx512, mnemonicAgree };
}

const BINARIES: ReadonlyArray<{ name: string; path: string; maxBytes: number }> = [
  { name: 'busybox-static', path: '/bin/busybox', maxBytes: 4 << 20 },
  { name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6', maxBytes: 4 << 20 },
  { name: 'go (Debian golang-1.19)', path: '/usr/lib/go-1.19/bin/go', maxBytes: 1 << 20 },
];

describe('decoding real binaries', () => {
  for (const b of BINARIES) {
    // busybox-static and golang-go come from .ci/run's apt-get; libc is always there.
    test.runIf(existsSync(b.path))(`${b.name}: every objdump instruction decodes with the same length`, () => {
      const r = checkBinary(b.path, b.maxBytes);
      expect(r.insns).toBeGreaterThan(50_000);
      expect(r.mnemonicAgree / r.insns).toBeGreaterThan(0.999);
    });
  }
});
