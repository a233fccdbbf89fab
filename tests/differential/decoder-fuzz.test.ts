/**
 * The full decoder fuzz (FULL=1 or scripts/decoder-fuzz.mjs): a fixed seeded
 * corpus of DECODER_FUZZ_COUNT (default 10 million) byte strings per run,
 * half uniformly random and half structured (prefixes + opcode maps + VEX),
 * spread over 64/32/16-bit mode. Every string goes to iced-x86; every string we
 * decode as valid also goes to objdump. Lengths must agree for all of them,
 * apart from the documented allow-list.
 */
import { describe, expect, test } from 'vitest';
import { decodeInto } from '../../src/cpu/decoder/decoder.js';
import { Instruction, type CpuMode } from '../../src/cpu/decoder/types.js';
import { allowIced, allowObjdump } from './decoder-allowlist.js';
import { compareWithObjdump, summariseObjdump, type ObjdumpDisagreement } from './decoder-objdump.js';
import { compareChunkWithIced, newStats, randomCase, Rng, structuredCase, summarise } from './decoder-oracle.js';

const FULL = process.env.FULL === '1';
const COUNT = Number(process.env.DECODER_FUZZ_COUNT ?? 10_000_000);
const CHUNK = 250_000;
const MODES: CpuMode[] = [64, 32, 16];

describe.runIf(FULL)('decoder fuzz (full)', () => {
  const chunks = Math.ceil(COUNT / CHUNK);
  for (let c = 0; c < chunks; c++) {
    const mode = MODES[c % MODES.length]!;
    const n = Math.min(CHUNK, COUNT - c * CHUNK);
    test(`chunk ${c} (${mode}-bit, ${n} strings, seed ${0xf022 + c})`, () => {
      const rng = new Rng(0xf022 + c);
      const st = newStats();
      const insn = new Instruction();
      const all = new Uint8Array(n * 16);
      const valid: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const buf = all.subarray(i * 16, i * 16 + 16);
        if (i & 1) randomCase(rng, buf); else structuredCase(rng, mode, buf);
        const r = decodeInto(insn, buf, 0, 15, mode);
        if (r > 0) valid.push(buf.slice(0, r));
      }
      compareChunkWithIced(all, n, mode, st, allowIced);
      const objdumpDisagreements: ObjdumpDisagreement[] = [];
      let lengthAgree = 0;
      for (let i = 0; i < valid.length; i += 50_000) {
        const o = compareWithObjdump(valid.slice(i, i + 50_000), mode, allowObjdump);
        objdumpDisagreements.push(...o.disagreements.filter((d) => d.what === 'length' || d.what === 'no-line'));
        lengthAgree += o.lengthAgree;
      }
      if (st.disagreements.length) console.log(summarise(st.disagreements));
      if (objdumpDisagreements.length) console.log(summariseObjdump(objdumpDisagreements));
      console.log(`chunk ${c}: ${n} strings, iced both-valid ${st.bothValid}, both-invalid ${st.bothInvalid}, ` +
        `unsupported ${st.unsupportedByUs}; objdump lengths agree ${lengthAgree}/${valid.length}`);
      expect(st.disagreements.slice(0, 5)).toEqual([]);
      expect(objdumpDisagreements.slice(0, 5)).toEqual([]);
    }, 1_800_000);
  }
});
