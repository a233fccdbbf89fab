#!/usr/bin/env node
/**
 * Resident memory of an idle guest with the default memory size (issue 9).
 *
 * `npx microvm-ts -kernel example` gives the guest 4 GiB (TamaGo's board
 * needs RAM up to 0x60000000) although QEMU's default is 128 MiB. That is
 * only acceptable if RAM the guest never touches costs nothing on the host:
 * guest memory is one shared WebAssembly.Memory reserved up front and
 * committed by the kernel page by page on first write. This benchmark shows
 * it: it boots our own guests with the library's defaults (the same defaults
 * as the CLI: 4 GiB, the JIT) and reads the process's VmRSS from
 * /proc/self/status at each step:
 *
 *   baseline    node with the library loaded, no machine
 *   created     the 4 GiB machine booted (before the first serial byte)
 *   idle        console.elf at its prompt, HLTing in irq mode, 2 s later
 *   tamago-seq  tamago-seq-1g.elf (TamaGo's boot sequence, 1 GiB pages,
 *               RAM at 0x10000000) after it ran to its end
 *
 * Usage: node bench/rss-idle.mjs [--json]
 *   (after `npm run build`; MICROVM_DIST=<dir> uses another build of src/)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = process.env.MICROVM_DIST ?? `${root}dist`;
const { startVm, DEFAULT_MEMORY_BYTES } = await import(pathToFileURL(`${dist}/index.js`).href);
const json = process.argv.includes('--json');

/** VmRSS and VmSize of this process, in KiB (Linux proc(5)). */
function procStatus() {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kib = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+) kB`))?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), vmSizeKiB: kib('VmSize') };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rows = [];
function sample(step, extra = {}) {
  const row = { step, ...procStatus(), ...extra };
  rows.push(row);
  return row;
}

globalThis.gc?.();
sample('baseline');

// 1) An idle guest: the console shell waiting for input (HLT, woken by COM1 IRQs).
{
  const t0 = performance.now();
  const vm = await startVm({ kernel: `${root}firmware/out/console.elf`, noReboot: true });
  sample('created', { memoryBytes: DEFAULT_MEMORY_BYTES });
  await vm.waitFor('> ', { timeout: 60_000 });
  const promptMs = performance.now() - t0;
  await sleep(2000);
  sample('idle', { promptMs: Math.round(promptMs) });
  await vm.stop();
}

// 2) TamaGo's boot sequence: page tables with 1 GiB pages, RAM at 0x10000000, SMP 1.
{
  const t0 = performance.now();
  const vm = await startVm({ kernel: `${root}firmware/out/tamago-seq-1g.elf`, noReboot: true });
  let firstByteMs;
  vm.console.once('data', () => { firstByteMs = performance.now() - t0; });
  await vm.waitFor(/TAMAGO-SEQ (OK|FAIL[^\r\n]*)/, { timeout: 120_000 });
  const result = vm.output().match(/TAMAGO-SEQ (OK|FAIL[^\r\n]*)/)?.[0];
  sample('tamago-seq', { firstByteMs: firstByteMs === undefined ? undefined : Math.round(firstByteMs), result });
  await vm.stop();
}

if (json) {
  process.stdout.write(`${JSON.stringify({ memoryBytes: DEFAULT_MEMORY_BYTES, rows }, null, 2)}\n`);
} else {
  const gib = DEFAULT_MEMORY_BYTES / 2 ** 30;
  console.log(`guest RAM ${gib} GiB (the default), accelerator jit`);
  console.log('step         VmRSS MiB   VmSize GiB  notes');
  for (const r of rows) {
    const notes = Object.entries(r).filter(([k]) => !['step', 'rssKiB', 'vmSizeKiB'].includes(k))
      .map(([k, v]) => `${k}=${v}`).join(' ');
    console.log(`${r.step.padEnd(12)} ${(r.rssKiB / 1024).toFixed(1).padStart(9)}   ${(r.vmSizeKiB / 2 ** 20).toFixed(1).padStart(10)}  ${notes}`);
  }
}
process.exit(0);
