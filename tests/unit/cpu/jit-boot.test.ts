import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { bootElf } from './jit-harness.js';

const FW = new URL('../../../firmware/out/', import.meta.url).pathname;

describe.skipIf(!existsSync(FW + 'hello.elf'))('firmware guests on the JIT', () => {
  test('hello.elf prints and exits', async () => {
    const r = await bootElf(FW + 'hello.elf', { timeoutMs: 60000 });
    console.log(JSON.stringify({ out: r.out, exit: r.exitCode, stop: r.stop, timedOut: r.timedOut, ms: r.ms, stats: r.jit.stats() }, (_k, v) => typeof v === 'bigint' ? v.toString() : v));
    expect(r.timedOut).toBe(false);
    expect(r.out).toContain('Hello');
  });
});

describe.skipIf(!existsSync(FW + 'tamago-seq-1g.elf'))('TamaGo boot sequence on the JIT', () => {
  for (const name of ['tamago-seq-1g.elf', 'tamago-seq.elf', 'exit-code.elf']) {
    test(name, async () => {
      const r = await bootElf(FW + name, { timeoutMs: 60000, ramMiB: 2048, cpus: name.startsWith('tamago') ? 2 : 1 });
      console.log(name, JSON.stringify({ out: r.out, exit: r.exitCode, stop: r.stop, timedOut: r.timedOut, ms: r.ms, stats: r.jit.stats() }, (_k, v) => typeof v === 'bigint' ? v.toString() : v));
      expect(r.timedOut).toBe(false);
    });
  }
});
