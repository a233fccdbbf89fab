// The command line as the README documents it: `-S -gdb tcp:HOST:PORT` (or
// `-s` for port 1234), then gdb's `target remote`. Runs the CLI's main() in
// this process on the JIT (and on KVM when it is there).
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { kvmAvailability } from '../../src/kvm/accelerator.js';
import { fw, gdbPath } from './gdb-helpers.js';
import { execFile } from 'node:child_process';


function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function runGdb(port: number, commands: string[]): Promise<string> {
  const args = ['-batch', '-nx', '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c]), fw('hello.elf')];
  return new Promise((resolve) => execFile(gdbPath ?? 'gdb', args, { timeout: 60_000, encoding: 'utf8' }, (_e, so, se) => resolve(`${so}\n${se}`)));
}

const accels: Array<'jit' | 'kvm'> = kvmAvailability().ok ? ['jit', 'kvm'] : ['jit'];

describe.skipIf(!gdbPath)('microvm-ts -S -gdb tcp::PORT', () => {
  for (const accel of accels) {
    test(`${accel}: gdb attaches to the paused machine, continue runs the guest to its end`, async () => {
      const port = await freePort();
      const out = new PassThrough();
      const serialFile = join(mkdtempSync(join(tmpdir(), 'gdb-cli-')), 'serial.txt');
      const status = main([
        '-kernel', fw('hello.elf'), '-m', '256M', '-no-reboot', '-display', 'none', '-serial', `file:${serialFile}`,
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-S', '-gdb', `tcp:127.0.0.1:${port}`,
        ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : []),
      ], out, out);
      // gdb retries until the listener is up (the machine stays paused until gdb says continue).
      let session = '';
      for (let i = 0; i < 100; i++) {
        session = await runGdb(port, ['info registers rip', 'continue']);
        if (!/Connection refused/.test(session)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(session).toMatch(/rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <pvh_start32>/);
      expect(session).toContain('[Inferior 1 (Remote target) exited with code 01]');
      expect(await status).toBe(1);
      expect(readFileSync(serialFile, 'latin1')).toContain('Hello from microvm-ts guest');
    });
  }
});
