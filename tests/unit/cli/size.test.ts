// Size parsing as QEMU 7.2 does it. Expected values were measured with
// Debian's qemu-system-x86_64 7.2 (`info memory_size_summary` after `-m X`).
import { describe, expect, test } from 'vitest';
import { parseQemuSize } from '../../../src/cli/size.js';
import { parseMemoryOption } from '../../../src/cli/parse-args.js';
import { CliError } from '../../../src/cli/errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('parseQemuSize (util/cutils.c do_strtosz, default unit B)', () => {
  const cases: Array<[string, bigint | undefined]> = [
    ['0', 0n], ['1', 1n], ['512', 512n], ['1k', 1024n], ['1K', 1024n], ['2M', 2n * 1048576n], ['4G', 4n << 30n],
    ['4g', 4n << 30n], ['1T', 1n << 40n], ['1P', 1n << 50n], ['1E', 1n << 60n], ['16E', undefined],
    ['100B', 100n], ['100b', 100n], ['1.5G', 3n << 29n], ['1.5k', 1536n], ['0.5M', 524288n], ['1.k', 1024n],
    ['1.0B', 1n], ['1.5', undefined], ['1.5B', undefined], ['0x100', 256n], ['0x10M', undefined], ['0x1.5', undefined],
    ['-1', undefined], ['1e3', undefined], ['4Gb', undefined], ['', undefined], [' 4G', undefined], ['4 G', undefined],
    ['1.0000000001k', 1024n], // rounds to the nearest byte
    ['0.0009765625k', 1n], ['0.00048828125k', 1n], ['0.00048828124k', 0n], // half a byte rounds up
    ['18446744073709551615', 18446744073709551615n], ['18446744073709551616', undefined],
  ];
  for (const [text, want] of cases) {
    test(`'${text}' -> ${want === undefined ? 'error' : want.toString()}`, () => {
      expect(parseQemuSize(text)).toBe(want);
    });
  }
});

describe('-m (vl.c parse_memory_options, machine_set_mem) vs QEMU 7.2', () => {
  const cases: Array<[string, number | undefined]> = [
    ['1', 1 * MiB], ['512', 512 * MiB], ['512M', 512 * MiB], ['4G', 4 * GiB], ['4g', 4 * GiB], ['size=4G', 4 * GiB],
    ['1.5G', 1610612736], ['100k', 106496], ['4097k', 4202496], ['100B', 8192], ['8191B', 8192], ['8193B', 16384],
    ['1k', 8192], ['0x100', 256 * MiB],
    // -m 0 and -m '' give the machine default (QEMU: 128M; ours: see defaults).
    ['0', undefined], ['', undefined], ['size=0', undefined],
  ];
  for (const [text, want] of cases) {
    test(`-m '${text}' -> ${want ?? 'default'}`, () => expect(parseMemoryOption(text)).toBe(want));
  }
  const bad: Array<[string, string]> = [
    ['4Gb', "-m 4Gb: Parameter 'size' expects a non-negative number below 2^64"],
    ['-1', "-m -1: Parameter 'size' expects a non-negative number below 2^64"],
    ['1e3', "-m 1e3: Parameter 'size' expects"],
    ['1.5', "-m 1.5: Parameter 'size' expects"],
    ['0.5', "-m 0.5: Parameter 'size' expects"],
    ['size=', "-m size=: Parameter 'size' expects"],
    ['4G,foo=1', "-m 4G,foo=1: Invalid parameter 'foo'"],
    ['4G,maxmem=8G', "-m 4G,maxmem=8G: parameter 'maxmem' is not supported"],
  ];
  for (const [text, msg] of bad) {
    test(`-m '${text}' fails`, () => {
      let caught: unknown;
      try { parseMemoryOption(text); } catch (e) { caught = e; }
      expect(caught).toBeInstanceOf(CliError);
      expect((caught as CliError).message.startsWith(msg)).toBe(true);
    });
  }
});
