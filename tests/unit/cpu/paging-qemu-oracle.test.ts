/**
 * Oracle test: PAE page walks under QEMU TCG against `walk` (paging.ts).
 * guests/paging-probe.c runs each scenario (one PDE and one PTE for linear
 * 0x40000000, CR0.WP, EFER.NXE, a read, write or fetch) and prints the #PF
 * error code or "ok", plus the entries' low words afterwards; the same
 * scenario goes through `walk` and must give the same outcome, error code and
 * accessed/dirty bits. QEMU runs `-cpu qemu64` (MAXPHYADDR 40, NX).
 *
 * One deliberate difference: for a reserved-bit fault QEMU 7.2 reports error
 * code RSVD without P; the SDM (4.7, RSVD flag: "bit 3 of the error code can
 * be set only if bit 0 is also set") and KVM set P as well, and so do we. The
 * comparison adds P to QEMU's code when RSVD is set.
 */
import { describe, expect, test, beforeAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { walk, pagingMemoryOf } from '../../../src/cpu/system/paging.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const QEMU = '/usr/bin/qemu-system-x86_64';
const haveQemu = existsSync(QEMU);
if (!haveQemu) console.warn('paging-qemu-oracle: skipped, qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');

interface Scenario { name: string; pde: bigint; pte: bigint; access: 0 | 1 | 2; wp: boolean; nxe: boolean }
const P = 1n, RW = 2n, US = 4n, PS = 0x80n, XD = 1n << 63n;
const R = 0, W = 1, X = 2;
const S: Scenario[] = [];
const add = (name: string, pde: bigint, pte: bigint, accesses: Array<0 | 1 | 2>, wp = true, nxe = true): void => {
  for (const access of accesses) S.push({ name: `${name} ${['read', 'write', 'fetch'][access]}${wp ? '' : ' !WP'}${nxe ? '' : ' !NXE'}`, pde, pte, access, wp, nxe });
};
add('rw page', P | RW, P | RW, [R, W, X]);
add('user page, supervisor access', P | RW | US, P | RW | US, [R, W, X]);
add('PTE not present', P | RW, 0n, [R, W, X]);
add('PTE not present', P | RW, 0n, [X], true, false);
add('PDE not present', 0n, P | RW, [R, W]);
add('read-only PTE', P | RW, P, [R, W]);
add('read-only PTE', P | RW, P, [W], false);
add('read-only PDE', P, P | RW, [W]);
add('read-only PDE', P, P | RW, [W], false);
add('XD PTE', P | RW, P | RW | XD, [R, X]);
add('XD PTE', P | RW, P | RW | XD, [R, X], true, false);
add('XD PDE', P | RW | XD, P | RW, [X]);
add('PTE bit 40 (above MAXPHYADDR)', P | RW, P | RW | (1n << 40n), [R, W]);
add('PTE bit 51', P | RW, P | RW | (1n << 51n), [R]);
add('PTE bits 52-62 ignored', P | RW, P | RW | (0x7ffn << 52n), [R, W]);
add('PDE bit 45', P | RW | (1n << 45n), P | RW, [R]);
add('PTE PAT bit (7)', P | RW, P | RW | PS, [R]);
add('PTE G bit', P | RW, P | RW | 0x100n, [R]);
add('2 MiB page', P | RW | PS, 0n, [R, W, X]);
add('2 MiB page, bit 13 reserved', P | RW | PS | 0x2000n, 0n, [R]);
add('2 MiB page, bit 20 reserved', P | RW | PS | (1n << 20n), 0n, [W]);
add('2 MiB page, PAT bit 12', P | RW | PS | 0x1000n, 0n, [R]);
add('2 MiB read-only page', P | PS, 0n, [W]);
add('2 MiB XD page', P | RW | PS | XD, 0n, [X]);
add('already accessed and dirty', P | RW | 0x20n, P | RW | 0x60n, [R, W]);

function header(): string {
  const lines = S.map((s) => `  { 0x${(s.pde & 0xffffffffn).toString(16)}u, 0x${(s.pde >> 32n).toString(16)}u, 0x${(s.pte & 0xffffffffn).toString(16)}u, 0x${(s.pte >> 32n).toString(16)}u, ${s.access}, ${s.wp ? 1 : 0}, ${s.nxe ? 1 : 0} },`);
  return `struct scenario { unsigned pde_lo, pde_hi, pte_lo, pte_hi, access, wp, nxe; };\nstatic const struct scenario SCENARIOS[] = {\n${lines.join('\n')}\n};\n#define N_SCENARIOS ${S.length}u\n`;
}

/** Our walk for a scenario, with the same table shape (frames differ; only flags matter). */
function ours(s: Scenario): string {
  const mem = new GuestMemory(1 << 23);
  const pm = pagingMemoryOf(mem);
  const large = (s.pde & PS) !== 0n;
  mem.writeU64(0x1000 + 8, 0x2000n | 1n);                        // PDPT[1] -> PD
  mem.writeU64(0x2000, s.pde | (large ? 0x400000n : 0x3000n));   // PD[0]
  mem.writeU64(0x3000, s.pte | 0x300000n);                       // PT[0]
  const regs = { cr0: (1n << 31n) | (s.wp ? 1n << 16n : 0n) | 1n, cr3: 0x1000n, cr4: 1n << 5n, efer: s.nxe ? 1n << 11n : 0n };
  const r = walk(pm, regs, 0x40000000n, { write: s.access === 1, fetch: s.access === 2, user: false }, { maxPhysAddr: 40, pdpe1gb: false });
  const lo = (a: number): string => (mem.readU32(a) & 0xfff).toString(16).padStart(3, '0');
  const ad = `${lo(0x2000)} ${large ? '-' : lo(0x3000)}`;
  return r.ok ? `ok ${ad}` : `pf ${r.errorCode.toString(16)} ${r.cr2.toString(16)} ${ad}`;
}

describe.runIf(haveQemu)('PAE page walks: walk() vs QEMU TCG', () => {
  let out = new Map<number, string>();
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'paging-probe-'));
    writeFileSync(join(dir, 'scenarios.h'), header());
    const elf = join(dir, 'probe.elf');
    execFileSync('gcc', ['-m32', '-ffreestanding', '-fno-pic', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-nostdlib',
      '-static', '-O1', '-I', dir, '-Wl,-T,' + join(here, 'guests/cpuid-dump.ld'), '-Wl,--build-id=none', '-o', elf, join(here, 'guests/paging-probe.c')]);
    const log = join(dir, 'serial.txt');
    spawnSync(QEMU, ['-M', 'pc', '-accel', 'tcg', '-cpu', 'qemu64', '-m', '64', '-display', 'none', '-serial', `file:${log}`, '-monitor', 'none',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-no-reboot', '-kernel', elf], { timeout: 60_000 });
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (!text.includes('END')) throw new Error(`probe did not finish:\n${text}`);
    for (const line of text.split('\n')) {
      const m = /^R (\d+) (.*)$/.exec(line.trim());
      if (!m) continue;
      // QEMU prints full words: reduce the entries to their low 12 flag bits like `ours`.
      const parts = m[2]!.split(' ');
      const n = parts.length;
      const pde = (parseInt(parts[n - 2]!, 16) & 0xfff).toString(16).padStart(3, '0');
      const pte = (parseInt(parts[n - 1]!, 16) & 0xfff).toString(16).padStart(3, '0');
      let code = parts[0] === 'ok' ? 0 : parseInt(parts[1]!, 16);
      if (code & 8) code |= 1; // see the header: RSVD implies P
      const head = parts[0] === 'ok' ? 'ok' : `pf ${code.toString(16)} ${parseInt(parts[2]!, 16).toString(16)}`;
      out.set(Number(m[1]), `${head} ${pde} ${(S[Number(m[1])]!.pde & PS) !== 0n ? '-' : pte}`);
    }
  });
  test('every scenario ran', () => expect(out.size).toBe(S.length));
  S.forEach((s, i) => {
    test(s.name, () => expect(ours(s)).toBe(out.get(i)));
  });
});
