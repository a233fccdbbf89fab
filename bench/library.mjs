#!/usr/bin/env node
/**
 * The library's figures (issue 8):
 *
 *   first-byte   time from `startVm()` being called to the guest's first
 *                byte on the UART (hello.elf, 64 MiB), on the JIT and on KVM;
 *                median of N runs. Includes creating the machine, loading
 *                the kernel, the accelerator's init and the guest's boot.
 *   snapshot     save and restore of a 512 MiB guest (console.elf at its
 *                prompt), as booted (few pages touched) and after the test
 *                wrote 64 MiB of non-zero data into its RAM: snapshot size,
 *                save time (pause, zero-page scan, copy), restore time
 *                (`Vm.restore` until the new machine runs), and for
 *                comparison a full copy of 512 MiB into a fresh machine's RAM.
 *                Accelerators without saveState are reported as such.
 *
 * Usage: node bench/library.mjs [--json] [--runs N]
 *   (after `npm run build`; MICROVM_DIST=<dir> uses another build of src/)
 */
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = process.env.MICROVM_DIST ?? `${root}dist`;
const { startVm, Vm, parseSnapshot, NotSupportedError } = await import(pathToFileURL(`${dist}/index.js`).href);
const { kvmAvailability } = await import(pathToFileURL(`${dist}/kvm/accelerator.js`).href);
const json = process.argv.includes('--json');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const MiB = 2 ** 20;
const fw = (name) => `${root}firmware/out/${name}`;
const debugExit = { driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 };
const kvm = kvmAvailability();
const accels = ['jit', ...(kvm.ok ? ['kvm'] : [])];
const cpuFor = (accel) => ({ model: accel === 'kvm' ? 'host' : 'microvm-default' });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];

for (const accel of accels) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const vm = await startVm({ kernel: fw('hello.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB, devices: [debugExit] });
    await vm.waitFor('Hello', { timeout: 120_000 });
    times.push(vm.firstOutputAt - t0);
    await vm.stop();
  }
  rows.push({ bench: 'first-byte', accel, runs: RUNS, medianMs: +median(times).toFixed(1), minMs: +Math.min(...times).toFixed(1) });
}

for (const accel of accels) {
  for (const dirtyMiB of [0, 64]) {
    const vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 512 * MiB });
    try {
      await vm.waitFor('> ', { timeout: 120_000 });
      if (dirtyMiB > 0) {
        // Data the guest could have written: non-zero pages above its image.
        const chunk = new Uint8Array(MiB).map((_, i) => (i * 131 + 7) & 0xff | 1);
        for (let m = 0; m < dirtyMiB; m++) vm.writePhysical(64 * MiB + m * MiB, chunk);
      }
      let snap;
      const t0 = performance.now();
      try {
        snap = await vm.snapshot();
      } catch (e) {
        if (!(e instanceof NotSupportedError)) throw e;
        rows.push({ bench: 'snapshot', accel, guestMiB: 512, dirtyMiB, note: e.message });
        continue;
      }
      const saveMs = performance.now() - t0;
      const ramMiB = parseSnapshot(snap).ramBytes / MiB;
      const restores = [];
      for (let i = 0; i < RUNS; i++) {
        const t1 = performance.now();
        const r = await Vm.restore(snap);
        restores.push(performance.now() - t1);
        r.send('echo ok\r');
        await r.waitFor('ok\r\n> ', { timeout: 30_000 });
        await r.stop();
      }
      // Baseline: what a full copy of the guest's RAM into a fresh machine costs.
      const full = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 512 * MiB, startPaused: true });
      const big = new Uint8Array(512 * MiB - 2 * MiB).fill(1);
      const t2 = performance.now();
      full.writePhysical(MiB, big);
      const fullCopyMs = performance.now() - t2;
      await full.stop();
      rows.push({
        bench: 'snapshot', accel, guestMiB: 512, dirtyMiB, snapshotMiB: +(snap.length / MiB).toFixed(2), ramKeptMiB: +ramMiB.toFixed(2),
        saveMs: +saveMs.toFixed(1), restoreMedianMs: +median(restores).toFixed(1), fullCopyMs: +fullCopyMs.toFixed(1),
      });
    } finally {
      await vm.stop();
    }
  }
}

if (json) {
  console.log(JSON.stringify({ kvm: kvm.ok ? 'available' : kvm.reason, rows }, null, 2));
} else {
  if (!kvm.ok) console.log(`KVM unavailable (${kvm.reason}): JIT only`);
  for (const r of rows) console.log(JSON.stringify(r));
}
