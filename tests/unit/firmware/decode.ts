/**
 * Decodes the code of a firmware image with iced-x86, region by region in
 * the right operating mode (32-bit PVH entry, 16-bit AP trampoline, 64-bit
 * rest), to audit which CPUID features the instructions need.
 */
import { CpuidFeature, Decoder, DecoderOptions, Formatter, FormatterSyntax, Code } from 'iced-x86';
import { readVirtual, symbolAddress, type ElfImage } from './elf.js';

export interface DecodedInsn {
  ip: number;
  bitness: 16 | 32 | 64;
  text: string;
  features: string[];
  invalid: boolean;
}

const FEATURE_NAMES = new Map<number, string>(
  Object.entries(CpuidFeature)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([k, v]) => [v, k]),
);

interface Region { start: number; end: number; bitness: 16 | 32 | 64 }

/** Splits .text into regions by the mode the CPU runs them in. */
export function codeRegions(img: ElfImage): Region[] {
  const text = img.sections.find((s) => s.name === '.text');
  if (!text) throw new Error('no .text');
  const end = text.addr + text.size;
  const cuts: Array<{ at: number; bitness: 16 | 32 | 64 }> = [];
  if (img.symbols.has('cpuinit')) {
    cuts.push({ at: symbolAddress(img, 'cpuinit'), bitness: 32 });
    cuts.push({ at: symbolAddress(img, 'start'), bitness: 64 });
    cuts.push({ at: symbolAddress(img, 'apinit_start'), bitness: 16 });
    cuts.push({ at: symbolAddress(img, 'apinit_done'), bitness: 64 });
  } else {
    cuts.push({ at: symbolAddress(img, 'pvh_start32'), bitness: 32 });
    cuts.push({ at: symbolAddress(img, 'long_mode'), bitness: 64 });
  }
  cuts.sort((a, b) => a.at - b.at);
  const regions: Region[] = [];
  if (cuts[0]!.at > text.addr) regions.push({ start: text.addr, end: cuts[0]!.at, bitness: 64 });
  cuts.forEach((c, i) => regions.push({ start: c.at, end: cuts[i + 1]?.at ?? end, bitness: c.bitness }));
  return regions.filter((r) => r.end > r.start);
}

export function decodeImage(img: ElfImage): DecodedInsn[] {
  const out: DecodedInsn[] = [];
  const fmt = new Formatter(FormatterSyntax.Gas);
  try {
    for (const r of codeRegions(img)) {
      const bytes = readVirtual(img, r.start, r.end - r.start);
      const dec = new Decoder(r.bitness, bytes, DecoderOptions.None);
      dec.ip = BigInt(r.start);
      try {
        while (dec.canDecode) {
          const insn = dec.decode();
          try {
            const features = [...insn.cpuidFeatures()].map((f) => FEATURE_NAMES.get(f) ?? String(f));
            out.push({
              ip: Number(insn.ip),
              bitness: r.bitness,
              text: fmt.format(insn),
              features,
              invalid: insn.code === Code.INVALID,
            });
          } finally {
            insn.free();
          }
        }
      } finally {
        dec.free();
      }
    }
  } finally {
    fmt.free();
  }
  return out;
}
