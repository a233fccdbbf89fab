#!/usr/bin/env node
/**
 * Decoder throughput (issue 3): instructions decoded per second by
 * decodeInto() over the .text of real binaries (libc, busybox-static, the Go
 * toolchain), walked linearly as a JIT would walk a block. Also reported:
 * decode() (allocating) and formatInstruction() throughput, and iced-x86's wasm decoder on the same
 * corpus as a calibration of this machine.
 *
 * Figures are per CPU-second of this process (process.cpuUsage), best of
 * several passes of at least 0.15 CPU-seconds each (the corpus is decoded as
 * many times as that takes), so other load on the machine inflates them less;
 * wall time is printed too. `insns` is the count of one pass over the corpus.
 *
 * Usage: node bench/decoder.mjs [--json]   (after `npm run build`; MICROVM_DIST=<dir> for another build)
 *        node bench/decoder.mjs --vs <dist> [--rounds N]
 *   A/B: decodeInto of this build and of the build in <dist> (e.g. a `git worktree` of the previous commit, built
 *   with `npx tsc -p tsconfig.build.json --outDir <dist>`), both loaded in this process and measured alternately,
 *   pass by pass, N rounds (default 6): on a shared, noisy machine only numbers taken in the same minute compare.
 *   Prints each build's best rate per corpus and the ratio.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = process.env.MICROVM_DIST ?? `${root}dist`;
const json = process.argv.includes('--json');
const mod = `${dist}/cpu/decoder/decoder.js`;
if (!existsSync(mod)) {
  console.error(`bench/decoder: ${mod} missing; run \`npm run build\` first`);
  process.exit(2);
}
const { decodeInto, decode } = await import(pathToFileURL(mod).href);
const { Instruction } = await import(pathToFileURL(`${dist}/cpu/decoder/types.js`).href);
const { formatInstruction } = await import(pathToFileURL(`${dist}/cpu/decoder/disasm.js`).href);

function text(file) {
  const out = execFileSync('objdump', ['-h', file], { encoding: 'utf8' });
  const m = /^\s*\d+\s+\.text\s+([0-9a-f]+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/m.exec(out);
  if (!m) throw new Error(`no .text in ${file}`);
  const size = parseInt(m[1], 16), off = parseInt(m[2], 16);
  return new Uint8Array(readFileSync(file).subarray(off, off + size));
}

const FILES = ['/lib/x86_64-linux-gnu/libc.so.6', '/bin/busybox', '/usr/lib/go-1.19/bin/go'].filter((f) => existsSync(f));
const corpora = FILES.map((f) => ({ file: f, bytes: text(f) }));

function cpuSeconds(fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const n = fn();
  const c = process.cpuUsage(c0);
  return { n, cpu: (c.user + c.system) / 1e6, wall: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Best of `passes` passes; a pass repeats fn until it has used at least `minCpu` CPU-seconds (a 20 ms pass is
 * too short to time on a loaded machine). */
function best(passes, fn, minCpu = 0.15) {
  let b = null;
  let once = 0;
  for (let i = 0; i < passes; i++) {
    const r = cpuSeconds(() => {
      const c0 = process.cpuUsage();
      let n = 0;
      for (;;) {
        once = fn();
        n += once;
        const c = process.cpuUsage(c0);
        if ((c.user + c.system) / 1e6 >= minCpu) return n;
      }
    });
    if (!b || r.n / r.cpu > b.n / b.cpu) b = r;
  }
  return { ...b, once };
}

/** One result line: `insns` per pass over the corpus, the rate from the best pass. */
function result(corpus, what, r) {
  return { corpus, what, insns: r.once, cpuS: r.cpu, wallS: r.wall, mPerS: r.n / r.cpu / 1e6 };
}

const insn = new Instruction();
function walk(bytes, limit = bytes.length) {
  let p = 0, n = 0;
  while (p < limit) {
    const r = decodeInto(insn, bytes, p, bytes.length, 64);
    if (r > 0) { p += r; n++; } else p++;
  }
  return n;
}

const vsAt = process.argv.indexOf('--vs');
if (vsAt > 0) {
  const other = process.argv[vsAt + 1];
  const roundsAt = process.argv.indexOf('--rounds');
  const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 6;
  const B = await import(pathToFileURL(`${other}/cpu/decoder/decoder.js`).href);
  const BT = await import(pathToFileURL(`${other}/cpu/decoder/types.js`).href);
  const insnB = new BT.Instruction();
  const walkB = (bytes) => {
    let p = 0, n = 0;
    while (p < bytes.length) {
      const r = B.decodeInto(insnB, bytes, p, bytes.length, 64);
      if (r > 0) { p += r; n++; } else p++;
    }
    return n;
  };
  for (const { file, bytes } of corpora) {
    walk(bytes); walk(bytes); walkB(bytes); walkB(bytes);
    let a = 0, b = 0;
    for (let i = 0; i < rounds; i++) {
      const ra = best(1, () => walk(bytes)), rb = best(1, () => walkB(bytes));
      a = Math.max(a, ra.n / ra.cpu / 1e6); b = Math.max(b, rb.n / rb.cpu / 1e6);
    }
    console.log(`${file.padEnd(34)} this ${a.toFixed(1).padStart(5)}  vs ${b.toFixed(1).padStart(5)} M insn/s  ` +
      `(x${(a / b).toFixed(3)}; best of ${rounds} alternating passes)`);
  }
  process.exit(0);
}

const results = [];
for (const { file, bytes } of corpora) {
  walk(bytes); walk(bytes); // warm up
  const r = best(5, () => walk(bytes));
  results.push(result(file, 'decodeInto', r));
}
const first = corpora[0];
if (first) {
  const lim = Math.min(first.bytes.length, 200_000);
  const rd = best(3, () => {
    let p = 0, n = 0;
    while (p < lim) { const r = decode(first.bytes, p, 64); if (r.length > 0 && !r.kind) { p += r.length; n++; } else p++; }
    return n;
  });
  results.push(result(first.file, 'decode (allocating)', rd));
  const rf = best(3, () => {
    let p = 0, n = 0;
    while (p < lim) { const r = decodeInto(insn, first.bytes, p, first.bytes.length, 64); if (r > 0) { formatInstruction(insn, { rip: BigInt(p) }); p += r; n++; } else p++; }
    return n;
  });
  results.push(result(first.file, 'decodeInto + formatInstruction', rf));
}

// Calibration on the same machine and load: iced-x86's own decoder (Rust compiled to wasm), decodeOut only.
try {
  const iced = await import('iced-x86');
  const mod2 = iced.default ?? iced;
  for (const { file, bytes } of corpora.slice(0, 1)) {
    const r = best(5, () => {
      const d = new mod2.Decoder(64, bytes, mod2.DecoderOptions.AMD);
      const ins = new mod2.Instruction();
      let n = 0;
      while (d.canDecode) { d.decodeOut(ins); n++; }
      d.free(); ins.free();
      return n;
    });
    results.push(result(file, 'iced-x86 decodeOut (reference)', r));
  }
} catch (e) {
  console.error(`bench/decoder: iced-x86 calibration skipped (${e.message})`);
}

if (json) console.log(JSON.stringify(results, null, 2));
else {
  for (const r of results) {
    console.log(`${r.what.padEnd(32)} ${r.corpus.padEnd(34)} ${String(r.insns).padStart(8)} insns  ` +
      `${r.mPerS.toFixed(1).padStart(6)} M insn/s (cpu ${r.cpuS.toFixed(3)} s, wall ${r.wallS.toFixed(3)} s)`);
  }
}
