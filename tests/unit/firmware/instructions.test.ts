/**
 * Our guests must run on PVM's KVM, which executes CPL-0 code with KVM's
 * instruction emulator (MICROVM-CONTRACT.md, "Where KVM here differs"):
 * only baseline integer instructions. bench-cpu may use SSE/SSE2 (part of
 * baseline x86-64) but nothing newer. iced-x86 names the CPUID feature
 * every instruction needs; this audits every instruction of every image,
 * decoded in the mode it runs in (32-bit entry, 16-bit AP trampoline).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { GUESTS, buildFirmware, guestPath, type GuestName } from './expectations.js';
import { parseElf, readVirtual, symbolAddress, type ElfImage } from './elf.js';
import { decodeImage, type DecodedInsn } from './decode.js';

const BASELINE = [
  'INTEL8086', 'INTEL186', 'INTEL286', 'INTEL386', 'INTEL486', 'X64', 'CPUID', 'MSR', 'TSC', 'CMOV',
  'PAUSE', 'MULTIBYTENOP',
  // Hypercalls and RDRAND only behind CPUID checks and the fault fixup table (checked below).
  'SVM', 'VMX', 'RDRAND',
];

const ALLOWED: Record<GuestName, readonly string[]> = {
  hello: BASELINE,
  'exit-code': BASELINE,
  demo: BASELINE,
  console: BASELINE,
  'net-echo': BASELINE,
  'virtio-net': BASELINE,
  'tamago-seq': BASELINE,
  'tamago-seq-1g': BASELINE,
  'bench-cpu': [...BASELINE, 'SSE', 'SSE2'],
  // simd exists to exercise the extensions (only behind CPUID checks; not for PVM)
  simd: [...BASELINE, 'SSE', 'SSE2', 'SSSE3', 'SSE4_1', 'SSE4_2', 'POPCNT', 'AES', 'PCLMULQDQ', 'AVX', 'AVX2', 'SHA', 'XSAVE'],
};

/** Instructions that may #UD on a CPU or hypervisor without them. */
const GUARDED = new Set(['SVM', 'VMX', 'RDRAND']);

const decoded = new Map<GuestName, { img: ElfImage; insns: DecodedInsn[] }>();

beforeAll(() => {
  buildFirmware();
  for (const g of GUESTS) {
    const img = parseElf(readFileSync(guestPath(g)));
    decoded.set(g, { img, insns: decodeImage(img) });
  }
});

function get(g: GuestName): { img: ElfImage; insns: DecodedInsn[] } {
  const d = decoded.get(g);
  if (!d) throw new Error(`${g} not decoded`);
  return d;
}

function fixupAddresses(img: ElfImage): Set<number> {
  const start = symbolAddress(img, '__fixup_table_start');
  const end = symbolAddress(img, '__fixup_table_end');
  const bytes = readVirtual(img, start, end - start);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Set<number>();
  for (let o = 0; o + 16 <= bytes.length; o += 16) out.add(Number(view.getBigUint64(o, true)));
  return out;
}

describe.each(GUESTS.map((g) => [g] as const))('%s.elf instructions', (g) => {
  test('all decode', () => {
    const { insns } = get(g);
    expect(insns.length).toBeGreaterThan(1000);
    expect(insns.filter((i) => i.invalid).map((i) => `${i.ip.toString(16)}: ${i.text}`)).toEqual([]);
  });

  test('need only the allowed CPUID features', () => {
    const allowed = new Set(ALLOWED[g]);
    const bad = get(g).insns
      .filter((i) => i.features.some((f) => !allowed.has(f)))
      .map((i) => `${i.ip.toString(16)} (${i.bitness}-bit): ${i.text} [${i.features.join(',')}]`);
    expect(bad).toEqual([]);
  });

  test('every instruction that can #UD is covered by the fault fixup table', () => {
    const { img, insns } = get(g);
    const fixups = fixupAddresses(img);
    const unguarded = insns
      .filter((i) => i.features.some((f) => GUARDED.has(f)) && !fixups.has(i.ip))
      .map((i) => `${i.ip.toString(16)}: ${i.text}`);
    expect(unguarded).toEqual([]);
  });

  test.skipIf(g === 'simd')('no instruction needs more than baseline SSE2 outside the simd guest', () => {
    expect(ALLOWED[g].filter((f) => !BASELINE.includes(f) && f !== 'SSE' && f !== 'SSE2')).toEqual([]);
  });

  test('no CET end-branch markers (KVM\'s emulator does not know ENDBR64)', () => {
    expect(get(g).insns.filter((i) => i.text.startsWith('endbr'))).toEqual([]);
  });
});

describe('tamago-seq AP trampoline (16-bit)', () => {
  test('loads CR3 from 0x6028, enables PAE|PGE, LME|NXE, PG|MP|PE, LGDT via CS, RETF', () => {
    const { insns } = get('tamago-seq');
    const tramp = insns.filter((i) => i.bitness === 16).map((i) => i.text.replace(/\s+/g, ' ').toLowerCase());
    const expectInOrder = [
      /^cli$/,
      /mov \$0x6028,%eax/,
      /mov \(%eax\),%esp/,
      /mov %esp,%cr3/,
      /or \$0xa0,%eax/,
      /mov \$0xc0000080,%ecx/,
      /^rdmsr$/,
      /or \$0x900,%eax/,
      /^wrmsr$/,
      /or \$0x80000003,%eax/,
      /mov \$0x6018,%eax/,
      /sub \$0x4000,%eax/,
      /lgdtl? %cs:\(%eax\)/,
      /mov \$0x10,%eax/,
      // TamaGo's doneOffset is 0x6c: the far-return target 0x406c
      /mov \$0x406c,%eax/,
      /^pushw? \$8$/,
      /^push %ax$/,
      /^dec %ax$/,
      /^lret/,
    ];
    let at = 0;
    for (const re of expectInOrder) {
      while (at < tramp.length && !re.test(tramp[at]!)) at++;
      expect(at, `${re} not found in order in:\n${tramp.join('\n')}`).toBeLessThan(tramp.length);
      at++;
    }
  });
});
