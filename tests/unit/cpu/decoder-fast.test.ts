/**
 * decodeInto has two paths (decoder.ts): decodeFast64 for the common 64-bit case when the whole 15-byte window
 * is in the buffer, and decodeGeneral for everything (the path the iced-x86/objdump differential tests were
 * built on). The fast path may give up but must never disagree. The general path is the oracle here: an
 * instruction of length L < 15 decoded with `end = offset + L` cannot take the fast path, and must come out
 * field for field the same as the same bytes decoded with the full buffer behind them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { decodeInto } from '../../../src/cpu/decoder/decoder.js';
import { ALL_FEATURES, makeFeatureSet } from '../../../src/cpu/decoder/features.js';
import { Feature, Instruction, OpKind, type FeatureSet, type Operand } from '../../../src/cpu/decoder/types.js';

const INSN_FIELDS = [
  'length', 'mode', 'mn', 'form', 'opSize', 'addrSize', 'prefixes', 'segPrefix', 'rep', 'rex', 'vexL', 'vexV',
  'vexW', 'vexPp', 'vexMmmmm', 'map', 'opcode', 'modrm', 'cond', 'opCount', 'implicitCount', 'flagsRead',
  'flagsWritten', 'flagsUndefined', 'flow', 'attrs', 'failure',
] as const;
/** The operand fields that are meaningful per kind (types.ts): the others keep stale values by contract. */
const OP_FIELDS: Record<number, ReadonlyArray<keyof Operand>> = {
  [OpKind.REG]: ['size', 'access', 'regClass', 'reg', 'highByte'],
  [OpKind.MEM]: ['size', 'access', 'seg', 'base', 'index', 'scale', 'disp', 'dispHi', 'addrSize', 'vsib'],
  [OpKind.IMM]: ['size', 'access', 'imm', 'immHi'],
  [OpKind.REL]: ['size', 'access', 'imm', 'immHi'],
  [OpKind.FAR]: ['size', 'access', 'imm', 'immHi', 'sel'],
};

function describeDiff(a: Instruction, b: Instruction): string | null {
  for (const f of INSN_FIELDS) if (a[f] !== b[f]) return `${f}: ${a[f]} vs ${b[f]}`;
  const lists: Array<[Operand[], Operand[], number, string]> = [
    [a.ops, b.ops, a.opCount, 'ops'], [a.implicit, b.implicit, a.implicitCount, 'implicit'],
  ];
  for (const [x, y, n, name] of lists) {
    for (let i = 0; i < n; i++) {
      const p = x[i]!, q = y[i]!;
      if (p.kind !== q.kind) return `${name}[${i}].kind: ${p.kind} vs ${q.kind}`;
      for (const f of OP_FIELDS[p.kind] ?? []) if (p[f] !== q[f]) return `${name}[${i}].${f}: ${p[f]} vs ${q[f]}`;
    }
  }
  return null;
}

const full = new Instruction();
const general = new Instruction();
const hex = (b: Uint8Array, o: number, n: number): string => Buffer.from(b.subarray(o, o + n)).toString('hex');

/**
 * Decode at every offset of `bytes` (instruction starts or not) with the full buffer, then again with the
 * buffer ending right after the instruction; returns the disagreements and how many were compared.
 */
function compare(bytes: Uint8Array, limit: number, features: FeatureSet): { compared: number; diffs: string[] } {
  const diffs: string[] = [];
  let compared = 0;
  const n = Math.min(bytes.length - 15, limit);
  for (let off = 0; off < n; off++) {
    const r = decodeInto(full, bytes, off, bytes.length, 64, features);
    if (r <= 0 || r >= 15) continue;
    const r2 = decodeInto(general, bytes, off, off + r, 64, features);
    compared++;
    const why = r2 !== r ? `return ${r} vs ${r2}` : describeDiff(full, general);
    if (why && diffs.length < 10) diffs.push(`${hex(bytes, off, r)}: ${why}`);
  }
  return { compared, diffs };
}

function textOf(file: string): Uint8Array {
  const out = execFileSync('objdump', ['-h', file], { encoding: 'utf8' });
  const m = /^\s*\d+\s+\.text\s+([0-9a-f]+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/m.exec(out);
  if (!m) throw new Error(`no .text in ${file}`);
  const size = parseInt(m[1]!, 16), off = parseInt(m[2]!, 16);
  return new Uint8Array(readFileSync(file).subarray(off, off + size));
}

describe('decodeInto fast path agrees with the general path', () => {
  const libc = '/lib/x86_64-linux-gnu/libc.so.6';
  test.runIf(existsSync(libc))('every offset of 400 KB of libc .text, all features', () => {
    const { compared, diffs } = compare(textOf(libc), 400_000, ALL_FEATURES);
    expect(diffs).toEqual([]);
    expect(compared).toBeGreaterThan(300_000);
  });

  test.runIf(existsSync(libc))('libc .text without BMI1/LZCNT/SSE4 (feature fallbacks: TZCNT -> BSF ...)', () => {
    const fs = makeFeatureSet(Object.values(Feature).filter((f) =>
      f !== Feature.BMI1 && f !== Feature.LZCNT && f !== Feature.SSE4_1 && f !== Feature.SSE4_2 && f !== Feature.POPCNT));
    const { compared, diffs } = compare(textOf(libc), 150_000, fs);
    expect(diffs).toEqual([]);
    expect(compared).toBeGreaterThan(100_000);
  });

  test('seeded random strings with prefix-heavy starts', () => {
    // Prefixes, REX, escapes and VEX/EVEX/XOP leads in front of random bytes: every prefix rule of the fast path.
    const LEAD = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36, 0x40, 0x41, 0x44, 0x48, 0x4c,
      0x4f, 0x0f, 0x0f, 0xc4, 0xc5, 0x62, 0x8f];
    let seed = 0x5eed;
    const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
    const buf = new Uint8Array(300_000 * 32);
    for (let s = 0; s < 300_000; s++) {
      const base = s * 32;
      for (let j = 0; j < 32; j++) buf[base + j] = rnd() & 255;
      const np = rnd() % 6;
      for (let j = 0; j < np; j++) buf[base + j] = LEAD[rnd() % LEAD.length]!;
      if (rnd() & 1) { buf[base + np] = 0x0f; if (rnd() % 3 === 0) buf[base + np + 1] = rnd() & 1 ? 0x38 : 0x3a; }
    }
    const diffs: string[] = [];
    let compared = 0;
    for (let s = 0; s < 300_000; s++) {
      const off = s * 32;
      const r = decodeInto(full, buf, off, buf.length, 64);
      if (r <= 0 || r >= 15) continue;
      const r2 = decodeInto(general, buf, off, off + r, 64);
      compared++;
      const why = r2 !== r ? `return ${r} vs ${r2}` : describeDiff(full, general);
      if (why && diffs.length < 10) diffs.push(`${hex(buf, off, r)}: ${why}`);
    }
    expect(diffs).toEqual([]);
    expect(compared).toBeGreaterThan(100_000);
  });
});
