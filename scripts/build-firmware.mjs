#!/usr/bin/env node
// Builds our own PVH guests (firmware/) into firmware/out/ with the machine's
// gcc, binutils and make. Run by `npm run build`, hence on every `npm install`
// and `npm ci`: it must be quick when nothing changed (make is incremental)
// and must never break an install on a machine without a C toolchain: then
// it warns and exits 0, and the tests that need the guests say why they fail.
//
// Usage: node scripts/build-firmware.mjs [--clean] [--verbose]
// Environment: FIRMWARE_CC overrides the compiler (default: gcc, or
// x86_64-linux-gnu-gcc on non-x86-64 hosts).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const firmwareDir = join(root, 'firmware');
const args = new Set(process.argv.slice(2));

function warn(message) {
  console.warn(`firmware: WARNING: ${message}`);
  console.warn('firmware: the bundled guests (demo, hello, tamago-seq, ...) were not built;');
  console.warn('firmware: install gcc, binutils and make (Debian: apt-get install build-essential) and run `npm run build`.');
}

/** Returns the output of `cmd args`, or undefined if it cannot be run. */
function probe(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

function pickCompiler() {
  const candidates = process.env.FIRMWARE_CC ? [process.env.FIRMWARE_CC] : ['gcc', 'x86_64-linux-gnu-gcc'];
  for (const cc of candidates) {
    const machine = probe(cc, ['-dumpmachine']);
    // The guests are x86-64 code: a compiler for another target cannot build them.
    if (machine !== undefined && machine.startsWith('x86_64')) return cc;
  }
  return undefined;
}

function main() {
  if (!existsSync(join(firmwareDir, 'Makefile'))) {
    console.log('firmware: no firmware/Makefile, nothing to build');
    return 0;
  }
  const cc = pickCompiler();
  if (cc === undefined) {
    warn('no gcc targeting x86_64 found (tried FIRMWARE_CC, gcc, x86_64-linux-gnu-gcc)');
    return 0;
  }
  if (probe('make', ['--version']) === undefined) {
    warn('`make` not found');
    return 0;
  }
  const makeArgs = ['-C', firmwareDir, '--no-print-directory', '-s', `CC=${cc}`];
  if (args.has('--verbose')) makeArgs.push('V=1');
  if (args.has('--clean')) {
    const r = spawnSync('make', [...makeArgs, 'clean'], { stdio: 'inherit' });
    if (r.status !== 0) return r.status ?? 1;
  }
  // Two jobs at most: the machines running this are small and shared.
  const r = spawnSync('make', [...makeArgs, '-j2', 'all'], { stdio: 'inherit' });
  if (r.error) {
    warn(`could not run make: ${r.error.message}`);
    return 0;
  }
  if (r.status !== 0) {
    // A toolchain is present, so a failure is a defect in our sources: say so loudly.
    console.error(`firmware: build FAILED (make exited with ${r.status ?? r.signal})`);
    return 1;
  }
  console.log('firmware: guests up to date in firmware/out/');
  return 0;
}

process.exitCode = main();
