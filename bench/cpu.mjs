#!/usr/bin/env node
/**
 * CPU benchmark (issue 4): the bench-cpu guest (firmware/bench-cpu: hashing,
 * sorting, matrix and string work in C -O2) on
 *   - the JIT (this project, in-process, with statistics),
 *   - QEMU TCG (`qemu-system-x86_64 -machine microvm -accel tcg`, Debian's qemu-system-x86),
 *   - the native build (firmware/out/bench-cpu-native),
 * all with the same n in the same run. The work phase is timed from the
 * guest's first line ("bench-cpu: n=...") to "BENCH-CPU DONE" on the serial
 * port, so VMM start-up is excluded. Checksums must agree across all three.
 *
 * Reported: wall time of the work phase, guest MIPS (instructions counted by
 * the JIT; the same instruction stream runs everywhere), the JIT's
 * translation share, TLB hit rate of inline accesses (second, profiled run),
 * exits to the run loop per second, and the throughput ratios.
 *
 * Each of the three runs `runs` times (default 5, interleaved) and the best
 * (shortest) work phase of each is compared: on a shared machine the best of
 * a few runs is the one least disturbed by other load (as hyperfine's min).
 * Every JIT run is a fresh node process (`--jit-child`), as a user's run is:
 * cold JavaScript, translation included (V8 would otherwise reuse the wasm
 * modules of an earlier run in the same process).
 *
 * Usage: node bench/cpu.mjs [n=50000] [runs=5] [--json]
 *   (after `npm run build`; MICROVM_DIST=<dir> uses another build of src/)
 */
import { readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = process.env.MICROVM_DIST ?? `${root}dist`;
const nArg = process.argv.find((a) => a.startsWith('n='));
const n = nArg ? Number(nArg.slice(2)) : 50000;
const json = process.argv.includes('--json');
const runsArg = process.argv.find((a) => a.startsWith('runs='));
const runs = Math.max(1, runsArg ? Number(runsArg.slice(5)) : 5);
const elf = `${root}firmware/out/bench-cpu.elf`;
const native = `${root}firmware/out/bench-cpu-native`;
if (!existsSync(elf)) { console.error('firmware/out/bench-cpu.elf missing: run `npm run build`'); process.exit(2); }
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);
const { GuestMemory } = await imp('memory/guest-memory.js');
const { Bus } = await imp('memory/bus.js');
const { JitAccelerator, JIT_RESERVED_BYTES } = await imp('cpu/accelerator.js');
const { createCpuidPolicy } = await imp('cpu/cpuid.js');
const { setupBoot } = await imp('loader/boot.js');

/** Collect serial lines with their arrival time; work = first "bench-cpu:" line to "BENCH-CPU DONE". */
function lineTimer() {
  let buf = '';
  const lines = [];
  return {
    lines,
    feed(text) {
      buf += text;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push({ t: performance.now(), s: buf.slice(0, i).replace(/[\x00-\x1f]/g, '') }); buf = buf.slice(i + 1); }
    },
    workMs() {
      const a = lines.find((l) => l.s.startsWith('bench-cpu:')), b = lines.find((l) => l.s.startsWith('BENCH-CPU DONE'));
      return a && b ? b.t - a.t : NaN;
    },
    checksums() { return lines.filter((l) => l.s.startsWith('bench ')).map((l) => l.s.replace(/ tsc_cycles=\d+/, '')); },
  };
}

async function runJit(profile) {
  const mem = new GuestMemory(256 << 20, { reservedBytes: JIT_RESERVED_BYTES });
  const pio = new Bus('pio'), mmio = new Bus('mmio');
  const lt = lineTimer();
  let done;
  const finished = new Promise((r) => { done = r; });
  pio.register(0x3f8, 8, { read: (o) => (o === 5 ? 0x60 : 0), write: (o, _s, v) => { if (o === 0) lt.feed(String.fromCharCode(v & 0xff)); } }, 'uart');
  pio.register(0xf4, 1, { read: () => 0, write: (_o, _s, v) => done({ exit: v }) }, 'debug-exit');
  const jit = new JitAccelerator();
  jit.profile = profile;
  await jit.init({
    memory: mem, pio, mmio, cpuid: createCpuidPolicy({ accel: 'jit' }), cpuCount: 1,
    onStop: (r) => done(r), onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  jit.setState(0, setupBoot(new Uint8Array(readFileSync(elf)), mem, { cmdline: `n=${n}` }).state);
  const t0 = performance.now();
  jit.resume();
  const r = await finished;
  const totalMs = performance.now() - t0;
  await jit.pause();
  return { r, lt, totalMs, stats: jit.stats() };
}

/** One JIT run in a fresh node process; it prints its work time, checksums and statistics as JSON. */
function runJitChild(profile) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), `n=${n}`, '--jit-child', ...(profile ? ['--profile'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('close', () => {
      try {
        const r = JSON.parse(out);
        resolve({ workMs: r.workMs, checksums: r.checksums, totalMs: r.totalMs, stats: { ...r.stats, instructions: BigInt(r.stats.instructions), inlineAccesses: BigInt(r.stats.inlineAccesses) } });
      } catch (e) { resolve({ workMs: NaN, checksums: [], totalMs: NaN, stats: {}, error: `JIT child: ${e}` }); }
    });
  });
}

if (process.argv.includes('--jit-child')) {
  const r = await runJit(process.argv.includes('--profile'));
  process.stdout.write(JSON.stringify({ workMs: r.lt.workMs(), checksums: r.lt.checksums(), totalMs: r.totalMs, stats: r.stats },
    (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  process.exit(0);
}

function runProcess(cmd, args) {
  return new Promise((resolve) => {
    const lt = lineTimer();
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d) => lt.feed(d.toString('latin1')));
    p.on('error', (e) => resolve({ error: String(e), lt }));
    p.on('close', () => resolve({ lt, totalMs: performance.now() - t0 }));
  });
}

const qemuArgs = [
  '-machine', 'microvm,pit=off,pic=off,rtc=on', '-accel', 'tcg', '-m', '256M', '-nographic', '-no-reboot',
  '-serial', 'stdio', '-monitor', 'none', '-display', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  '-kernel', elf, '-append', `n=${n}`,
];
const best = (xs, ms) => xs.reduce((a, b) => (ms(b) < ms(a) ? b : a));
const nats = [], qemus = [], jits = [];
for (let i = 0; i < runs; i++) {
  nats.push(await runProcess(native, [`n=${n}`]));
  qemus.push(await runProcess('qemu-system-x86_64', qemuArgs));
  jits.push(await runJitChild(false));
}
const nat = best(nats, (x) => x.totalMs);
const qemu = best(qemus, (x) => x.lt.workMs());
const jit = best(jits, (x) => x.workMs);
const prof = await runJitChild(true);

const insns = Number(jit.stats.instructions);
const jitMs = jit.workMs, qemuMs = qemu.lt.workMs();
// The native program prints its lines at the end of each phase; time its whole run.
const nativeMs = nat.totalMs;
const ref = nat.lt.checksums().join('\n');
const agree = (x) => (x.lt ? x.lt.checksums() : x.checksums).join('\n') === ref;
const s = jit.stats, ps = prof.stats;
const result = {
  n,
  instructions: insns,
  jit: {
    workMs: jitMs, mips: insns / jitMs / 1000, translateMs: s.translateMs, translationShare: s.translateMs / jit.totalMs,
    blocks: s.blocks, translatedInsns: s.translatedInsns, inlinedShare: s.inlinedInsns / s.translatedInsns,
    tlbHitRate: Number(ps.inlineAccesses) > 0 ? 1 - ps.tlbMisses / Number(ps.inlineAccesses) : NaN,
    exitsPerSec: s.exits / (jit.totalMs / 1000), checksumsMatchNative: agree(jit),
  },
  qemuTcg: { workMs: qemuMs, mips: insns / qemuMs / 1000, checksumsMatchNative: agree(qemu), error: qemu.error },
  native: { ms: nativeMs, mips: insns / nativeMs / 1000 },
  runs,
  jitRunsMs: jits.map((x) => x.workMs),
  qemuRunsMs: qemus.map((x) => x.lt.workMs()),
  ratioJitToQemu: qemuMs / jitMs,
  ratioJitToNative: nativeMs / jitMs,
};
if (json) console.log(JSON.stringify(result, null, 2));
else {
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  console.log(`bench-cpu n=${n}: ${insns} guest instructions (JIT count); best of ${runs} runs each (JIT runs ${jits.map((x) => f(x.workMs, 0)).join(', ')} ms; QEMU ${qemus.map((x) => f(x.lt.workMs(), 0)).join(', ')} ms)`);
  console.log(`  JIT        ${f(jitMs, 0)} ms  ${f(result.jit.mips)} MIPS  translation ${f(100 * result.jit.translationShare)}% (${s.blocks} blocks, ${f(s.translateMs, 0)} ms)  inline ${f(100 * result.jit.inlinedShare)}%  TLB hit ${f(100 * result.jit.tlbHitRate, 2)}%  exits/s ${f(result.jit.exitsPerSec, 0)}  checksums ${result.jit.checksumsMatchNative ? 'ok' : 'MISMATCH'}`);
  console.log(`  QEMU TCG   ${f(qemuMs, 0)} ms  ${f(result.qemuTcg.mips)} MIPS  checksums ${result.qemuTcg.checksumsMatchNative ? 'ok' : 'MISMATCH'}${qemu.error ? ' ' + qemu.error : ''}`);
  console.log(`  native     ${f(nativeMs, 0)} ms (whole process)  ${f(result.native.mips)} MIPS`);
  console.log(`  ratio JIT/QEMU-TCG throughput ${f(result.ratioJitToQemu, 3)}x, JIT/native ${f(result.ratioJitToNative, 4)}x`);
}
