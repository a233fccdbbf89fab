/**
 * Decoder vs iced-x86 (AMD decoder mode) on seeded random, structured and
 * exhaustive-slice byte strings in 16/32/64-bit mode. Any disagreement not in
 * decoder-allowlist.ts fails, printed as a reproducible case.
 */
import { describe, expect, test } from 'vitest';
import { allowIced } from './decoder-allowlist.js';
import { compareChunkWithIced, compareWithIced, newStats, randomCase, Rng, structuredCase, summarise, type CompareStats } from './decoder-oracle.js';
import type { CpuMode } from '../../src/cpu/decoder/types.js';

const MODES: CpuMode[] = [64, 32, 16];
const RANDOM_CASES = Number(process.env.DECODER_CASES ?? 300_000);

function expectClean(st: CompareStats): void {
  if (st.disagreements.length > 0) console.log(summarise(st.disagreements));
  expect(st.disagreements.slice(0, 5)).toEqual([]);
}

describe('decoder vs iced-x86', () => {
  for (const mode of MODES) {
    test(`random and structured byte strings, ${mode}-bit`, () => {
      const rng = new Rng(0x5eed0000 + mode);
      const st = newStats();
      const all = new Uint8Array(RANDOM_CASES * 16);
      for (let i = 0; i < RANDOM_CASES; i++) {
        const buf = all.subarray(i * 16, i * 16 + 16);
        if (i & 1) randomCase(rng, buf); else structuredCase(rng, mode, buf);
      }
      compareChunkWithIced(all, RANDOM_CASES, mode, st, allowIced);
      // The one-decoder-per-string path must agree with the chunked one (spot check).
      const spot = newStats();
      for (let i = 0; i < 2000; i++) compareWithIced(all.subarray(i * 16, i * 16 + 16), mode, spot, allowIced);
      expect(spot.disagreements).toEqual([]);
      // The corpus must exercise both outcomes, or the comparison proves little.
      expect(st.bothValid).toBeGreaterThan(RANDOM_CASES / 2);
      expect(st.bothInvalid).toBeGreaterThan(RANDOM_CASES / 20);
      expectClean(st);
    });
  }

  test('every legacy opcode x prefix column x sampled ModRM, 64-bit and 32-bit', () => {
    const buf = new Uint8Array(16);
    for (const mode of [64, 32] as const) {
      const st = newStats();
      for (const pfx of [[], [0x66], [0xf3], [0xf2], [0xf0], mode === 64 ? [0x48] : [0x67]]) {
        for (const m of [[], [0x0f], [0x0f, 0x38], [0x0f, 0x3a]]) {
          for (let op = 0; op < 256; op++) {
            for (let modrm = 0; modrm < 256; modrm += 13) {
              let p = 0;
              for (const b of pfx) buf[p++] = b;
              for (const b of m) buf[p++] = b;
              buf[p++] = op;
              buf[p++] = modrm;
              for (let i = 0; p < 16; i++) buf[p++] = (0x11 * (i + 1)) & 0xff;
              compareWithIced(buf, mode, st, allowIced);
            }
          }
        }
      }
      expectClean(st);
    }
  });

  test('every VEX map x pp x L x W x opcode with sampled ModRM', () => {
    const buf = new Uint8Array(16);
    for (const mode of [64, 32] as const) {
      const st = newStats();
      for (let mm = 1; mm <= 3; mm++) for (let pp = 0; pp < 4; pp++) for (let L = 0; L < 2; L++) for (let W = 0; W < 2; W++) {
        for (let op = 0; op < 256; op++) {
          for (let modrm = (op * 7) & 31; modrm < 256; modrm += 37) {
            const vvvv = modrm & 1 ? 15 : 9;
            let p = 0;
            buf[p++] = 0xc4; buf[p++] = 0xe0 | mm; buf[p++] = (W << 7) | (vvvv << 3) | (L << 2) | pp;
            buf[p++] = op; buf[p++] = modrm;
            for (let i = 0; p < 16; i++) buf[p++] = (0x11 * (i + 1)) & 0xff;
            compareWithIced(buf, mode, st, allowIced);
          }
        }
      }
      expect(st.bothValid).toBeGreaterThan(1000);
      expectClean(st);
    }
  });
});
