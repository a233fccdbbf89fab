// Many machines: 20 guests booted concurrently in one process on the JIT
// (64 MiB each: RAM is committed lazily, so RSS stays far below 20 x 64 MiB),
// machines in worker threads, and nothing left behind after stop (timers,
// handles: process.getActiveResourcesInfo()).
import { describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { startVm } from '../../src/index.js';
import { debugExit, fw, haveFirmware, MiB } from './library-helpers.js';

/** Count of each kind of active resource. */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

const DIST = new URL('../../dist/index.js', import.meta.url);
const haveDist = existsSync(DIST);

describe.skipIf(!haveFirmware)('many machines', () => {
  test('20 guests boot concurrently in one process; each gets its own command line; nothing leaks', async () => {
    const before = resources();
    const rssBefore = process.memoryUsage().rss;
    const vms = await Promise.all(Array.from({ length: 20 }, (_, i) => startVm({
      kernel: fw('hello.elf'), accel: 'jit', memory: 64 * MiB, devices: [debugExit], append: `vm=${i}`,
    })));
    try {
      const reasons = await Promise.all(vms.map((v) => v.exited));
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      expect(reasons.every((r) => r.kind === 'debug-exit' && r.status === 1)).toBe(true);
      vms.forEach((v, i) => expect(v.output()).toContain(`cmdline: "vm=${i}"\r\n`));
      // 20 x 64 MiB of guest RAM would be 1280 MiB if committed eagerly.
      expect(rssGrowth).toBeLessThan(640 * MiB);
    } finally {
      await Promise.all(vms.map((v) => v.stop()));
    }
    await new Promise((r) => setTimeout(r, 100));
    const after = resources();
    for (const [kind, n] of after) expect({ kind, n }).toEqual({ kind, n: Math.min(n, before.get(kind) ?? 0) });
  }, 180_000);

  test('a machine stopped while running leaves no timers or handles behind', async () => {
    const before = resources();
    const vm = await startVm({ kernel: fw('console.elf'), accel: 'jit', memory: 64 * MiB });
    await vm.waitFor('> ', { timeout: 60_000 });
    await vm.stop();
    await new Promise((r) => setTimeout(r, 100));
    const after = resources();
    for (const [kind, n] of after) expect({ kind, n }).toEqual({ kind, n: Math.min(n, before.get(kind) ?? 0) });
  }, 90_000);

  // Workers load the built library (dist/, made by `npm run build`, which `npm test` and CI run first).
  test.skipIf(!haveDist)('machines in two worker threads at once', async () => {
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const { startVm } = await import(workerData.dist);
      const vm = await startVm({ kernel: workerData.kernel, accel: 'jit', memory: 64 * 2 ** 20,
        devices: [{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 }], append: workerData.append });
      const reason = await vm.exited;
      await vm.stop();
      parentPort.postMessage({ output: vm.output(), kind: reason.kind, resources: process.getActiveResourcesInfo() });
    `;
    const run = (append: string): Promise<{ output: string; kind: string; code: number }> => new Promise((resolve, reject) => {
      const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
        workerData: { dist: DIST.href, kernel: fw('hello.elf'), append },
      });
      let msg: { output: string; kind: string } | undefined;
      w.on('message', (m: { output: string; kind: string }) => { msg = m; });
      w.on('error', reject);
      // The worker ends by itself: nothing of the machine keeps its event loop alive.
      w.on('exit', (exitCode) => (msg ? resolve({ ...msg, code: exitCode }) : reject(new Error(`worker exited ${exitCode} without a result`))));
    });
    const [a, b] = await Promise.all([run('worker-a'), run('worker-b')]);
    expect(a).toMatchObject({ kind: 'debug-exit', code: 0 });
    expect(b).toMatchObject({ kind: 'debug-exit', code: 0 });
    expect(a.output).toContain('cmdline: "worker-a"');
    expect(b.output).toContain('cmdline: "worker-b"');
  }, 180_000);
});
