#!/usr/bin/env node
// Full decoder fuzz against iced-x86 and objdump: 10 million seeded byte strings by default.
//   node scripts/decoder-fuzz.mjs [count]
// Runs tests/differential/decoder-fuzz.test.ts with FULL=1 (one vitest test per 250k-string chunk).
import { spawnSync } from 'node:child_process';

const count = process.argv[2] ?? process.env.DECODER_FUZZ_COUNT ?? '10000000';
const r = spawnSync('npx', ['vitest', 'run', 'tests/differential/decoder-fuzz.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, FULL: '1', DECODER_FUZZ_COUNT: String(count) },
});
process.exit(r.status ?? 1);
