// The microvm-ts command: messages, exit statuses, help, version, the demo config.
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { demoConfig, main, packageRoot, packageVersion } from '../../../src/cli/main.js';
import { SUPPORTED_OPTIONS } from '../../../src/cli/parse-args.js';
import { validateConfig } from '../../../src/machine/validate.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(args: string[]): Promise<{ status: number; out: string; err: string }> {
  const out = new Sink();
  const err = new Sink();
  const status = await main(args, out, err);
  return { status, out: out.text, err: err.text };
}

describe('main', () => {
  const errors: Array<[string[], string]> = [
    [['-foo'], 'microvm-ts: -foo: invalid option\n'],
    [['-kernel'], 'microvm-ts: -kernel: requires an argument\n'],
    [['-m', '4Gb', '-kernel', 'k'], "microvm-ts: -m 4Gb: Parameter 'size' expects a non-negative number below 2^64\n" +
      'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.\n'],
    [['-machine', 'pc', '-kernel', 'k'], "microvm-ts: -machine pc: machine type 'pc' is not supported: microvm-ts emulates only 'microvm'\n"],
    [['-monitor', 'stdio', '-kernel', 'k'], 'microvm-ts: -monitor stdio: monitor not supported (only -monitor none)\n'],
  ];
  for (const [args, msg] of errors) {
    test(`${args.join(' ')} -> status 1`, async () => {
      const r = await run(args);
      expect(r).toEqual({ status: 1, out: '', err: msg });
    });
  }
  test('a missing kernel file is reported, status 1', async () => {
    const r = await run(['-kernel', '/nonexistent/kernel.elf', '-serial', 'none']);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/^microvm-ts: .*\/nonexistent\/kernel\.elf/);
  });
  test('--help lists every supported option and the defaults that differ', async () => {
    const r = await run(['--help']);
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    for (const opt of SUPPORTED_OPTIONS) expect(r.out).toMatch(new RegExp(`(^|\\s|/)-${opt}(\\s|$|,|\\[)`, 'm'));
    expect(r.out).toContain("Defaults that differ from QEMU's, and why:");
    for (const d of ['microvm,x-option-roms=on,pit=off,pic=off,rtc=on,acpi=on,ioapic2=on,isa-serial=on', '4G (QEMU: 128M)',
      'microvm-default (QEMU: qemu64)', '-action reboot=reset', 'TamaGo\'s example Makefile passes -smp $(nproc)']) {
      expect(r.out).toContain(d);
    }
  });
  test('-h and -help print the same help', async () => {
    const a = await run(['-h']);
    const b = await run(['-help']);
    expect(a.out).toBe(b.out);
    expect(a.out.length).toBeGreaterThan(1000);
  });
  test('-version prints the package version', async () => {
    const r = await run(['-version']);
    expect(r.status).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`microvm-ts version ${packageVersion()}`);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
  test('-d help prints the log items, status 0', async () => {
    const r = await run(['-d', 'help']);
    expect(r.status).toBe(0);
    expect(r.out.startsWith('Log items (comma separated):\n')).toBe(true);
  });
});

describe('the demo (no arguments)', () => {
  test('boots the bundled demo guest: -m 256M -no-reboot -nographic -device isa-debug-exit,iobase=0xf4,iosize=4', () => {
    const c = demoConfig();
    expect(c.kernel).toBe(`${packageRoot()}firmware/out/demo.elf`);
    expect(existsSync(c.kernel as string)).toBe(true);
    expect(c.memory).toBe(256 * 1024 * 1024);
    expect(c.noReboot).toBe(true);
    expect(c.serial).toEqual({ kind: 'stdio' });
    expect(c.devices).toEqual([{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 }]);
    expect(() => validateConfig(c)).not.toThrow();
  });
});
