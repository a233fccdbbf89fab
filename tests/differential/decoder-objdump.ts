/**
 * GNU objdump as a decoder oracle: lay out byte strings we decode as valid in
 * one flat binary (each followed by 15 INT3 bytes, so objdump resynchronises
 * at the next case whatever it thinks of the previous one), disassemble it
 * with `objdump -D -b binary -M intel` and compare length, mnemonic and the
 * operand text of formatInstruction().
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeInto } from '../../src/cpu/decoder/decoder.js';
import { formatInstruction } from '../../src/cpu/decoder/disasm.js';
import { Instruction, type CpuMode } from '../../src/cpu/decoder/types.js';

const PAD = 15;

export interface ObjdumpLine { addr: number; len: number; text: string }

export function objdumpArch(mode: CpuMode): string[] {
  return mode === 64 ? ['-m', 'i386:x86-64', '-M', 'intel'] : mode === 32 ? ['-m', 'i386', '-M', 'intel']
    : ['-m', 'i8086', '-M', 'intel'];
}

/** Run objdump over raw bytes; returns one entry per decoded instruction. */
export function objdumpRaw(bytes: Uint8Array, mode: CpuMode): ObjdumpLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'dec-objdump-'));
  try {
    const f = join(dir, 'code.bin');
    writeFileSync(f, bytes);
    const out = execFileSync('objdump', ['-D', '-b', 'binary', ...objdumpArch(mode), '--insn-width=16', f],
      { maxBuffer: 1 << 30, encoding: 'utf8' });
    const lines: ObjdumpLine[] = [];
    for (const l of out.split('\n')) {
      const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$/.exec(l);
      if (!m) continue;
      lines.push({ addr: parseInt(m[1]!, 16), len: m[2]!.trim().split(' ').length, text: (m[3] ?? '').trim() });
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** objdump prefix words that precede the mnemonic. */
const PREFIX_WORDS = new Set(['lock', 'rep', 'repz', 'repnz', 'repe', 'repne', 'data16', 'data32', 'addr16', 'addr32',
  'cs', 'ds', 'es', 'ss', 'fs', 'gs', 'bnd', 'notrack', 'xacquire', 'xrelease', 'rex', 'rex.W', 'rex.R', 'rex.X',
  'rex.B', 'rex.WR', 'rex.WX', 'rex.WB', 'rex.RX', 'rex.RB', 'rex.XB', 'rex.WRX', 'rex.WRB', 'rex.WXB', 'rex.RXB',
  'rex.WRXB', '{vex}', '{vex3}']);

export function splitObjdump(text: string): { mnemonic: string; operands: string } {
  const noComment = text.replace(/\s+#.*$/, '').replace(/\s+<.*>$/, '');
  const words = noComment.split(/\s+/);
  let i = 0;
  while (i < words.length - 1 && PREFIX_WORDS.has(words[i]!)) i++;
  return { mnemonic: words[i] ?? '', operands: words.slice(i + 1).join(' ') };
}

/**
 * Mnemonic spellings that differ only by convention: objdump adds or drops an
 * operand-size suffix (pushf/pushfw/pushfq, iret/iretd, retw, sysretd) and
 * uses older names for a few (fwait, xlat, shl for the SAL alias D0-D3 /6).
 */
const OBJDUMP_NAMES: Record<string, string> = { fwait: 'wait', xlat: 'xlatb', shl: 'sal', movabs: 'mov' };
export function sameMnemonic(ours: string, objdump: string): boolean {
  if (ours === objdump) return true;
  if (OBJDUMP_NAMES[objdump] === ours || (objdump === 'shl' && ours === 'shl')) return true;
  // SSE/AVX compares: objdump prints the predicate pseudo-op (cmpnltsd) for CMPSD xmm, xmm, 5.
  const cmp = /^(v?)cmp[a-z_]+(ps|pd|ss|sd)$/.exec(objdump);
  if (cmp && ours === `${cmp[1]}cmp${cmp[2]}`) return true;
  const strip = (s: string): string => s.replace(/[wdq]$/, '');
  return strip(ours) === strip(objdump) || strip(ours) === objdump || ours === strip(objdump);
}

export interface ObjdumpDisagreement { bytes: string; mode: CpuMode; what: string; ours: string; objdump: string }

export interface ObjdumpStats {
  cases: number;
  lengthAgree: number;
  mnemonicAgree: number;
  textAgree: number;
  disagreements: ObjdumpDisagreement[];
  textDiffs: ObjdumpDisagreement[];
}

/**
 * Compare a batch of cases (each a byte string we decode as valid) with objdump.
 * `allow` filters known, documented disagreements.
 */
export function compareWithObjdump(cases: Uint8Array[], mode: CpuMode,
  allow: (d: ObjdumpDisagreement) => boolean = () => false): ObjdumpStats {
  const insn = new Instruction();
  const starts: number[] = [];
  let total = 0;
  for (const c of cases) { starts.push(total); total += c.length + PAD; }
  const blob = new Uint8Array(total).fill(0xcc);
  cases.forEach((c, i) => blob.set(c, starts[i]!));
  const lines = objdumpRaw(blob, mode);
  const byAddr = new Map<number, ObjdumpLine>();
  for (const l of lines) byAddr.set(l.addr, l);
  const st: ObjdumpStats = { cases: 0, lengthAgree: 0, mnemonicAgree: 0, textAgree: 0, disagreements: [], textDiffs: [] };
  cases.forEach((c, i) => {
    st.cases++;
    const r = decodeInto(insn, c, 0, c.length, mode);
    const hexBytes = Buffer.from(c).toString('hex');
    const line = byAddr.get(starts[i]!);
    const add = (what: string, ours: string, theirs: string): void => {
      const d = { bytes: hexBytes, mode, what, ours, objdump: theirs };
      if (!allow(d)) st.disagreements.push(d);
    };
    if (r <= 0) { add('not-valid-for-us', `r=${r}`, line?.text ?? '-'); return; }
    const ours = formatInstruction(insn, { rip: BigInt(starts[i]!) });
    if (!line) { add('no-line', ours, '-'); return; }
    if (line.len !== r) { add('length', `${r}: ${ours}`, `${line.len}: ${line.text}`); return; }
    st.lengthAgree++;
    const o = splitObjdump(ours);
    const t = splitObjdump(line.text);
    if (!sameMnemonic(o.mnemonic, t.mnemonic)) { add('mnemonic', ours, line.text); return; }
    st.mnemonicAgree++;
    if (o.operands === t.operands) st.textAgree++;
    else if (st.textDiffs.length < 100000) st.textDiffs.push({ bytes: hexBytes, mode, what: 'text', ours, objdump: line.text });
  });
  return st;
}

export function summariseObjdump(ds: readonly ObjdumpDisagreement[], max = 30): string {
  const groups = new Map<string, ObjdumpDisagreement[]>();
  for (const d of ds) {
    const key = `${d.mode} ${d.what} | ${splitObjdump(d.objdump.replace(/^\d+: /, '')).mnemonic}`;
    const g = groups.get(key) ?? [];
    g.push(d);
    groups.set(key, g);
  }
  return [...groups.entries()].sort((a, b) => b[1].length - a[1].length).slice(0, max).map(([k, g]) => {
    const e = g[0]!;
    return `${g.length.toString().padStart(6)}  ${k}\n        e.g. ${e.bytes}: ours '${e.ours}' | objdump '${e.objdump}'`;
  }).join('\n');
}
