import { describe, expect, test } from 'vitest';
import { Bus } from '../../../src/memory/bus.js';
import {
  DebugExit, DebugExitConfigError, debugExitCode, debugExitStatus, DEBUG_EXIT_DEFAULT_IOBASE, DEBUG_EXIT_DEFAULT_IOSIZE,
} from '../../../src/devices/debug-exit.js';

describe('isa-debug-exit (QEMU hw/misc/debugexit.c)', () => {
  const codeCases = [
    { value: 0, size: 1 as const, code: 1, status: 1 },
    { value: 1, size: 1 as const, code: 3, status: 3 },
    { value: 0x10, size: 1 as const, code: 0x21, status: 0x21 },
    { value: 0x7f, size: 1 as const, code: 0xff, status: 0xff },
    { value: 0x80, size: 1 as const, code: 0x101, status: 0x01 },
    { value: 0xff, size: 1 as const, code: 0x1ff, status: 0xff },
    { value: 0x1234, size: 2 as const, code: 0x2469, status: 0x69 },
    { value: 0x1234, size: 1 as const, code: 0x69, status: 0x69 }, // a byte write carries only the low byte
    { value: 0x80000000, size: 4 as const, code: 1, status: 1 }, // C int truncation
  ];
  for (const c of codeCases) {
    test(`write 0x${c.value.toString(16)} (${c.size} byte) -> code 0x${c.code.toString(16)}, status ${c.status}`, () => {
      const codes: number[] = [];
      const dev = new DebugExit((code) => codes.push(code), { iobase: 0xf4, iosize: 4 });
      dev.write(0, c.size, c.value);
      expect(codes).toEqual([c.code]);
      expect(debugExitCode(c.value, c.size)).toBe(c.code);
      expect(debugExitStatus(codes[0] ?? -1)).toBe(c.status);
    });
  }

  test('reads return 0 at every offset and width', () => {
    const dev = new DebugExit(() => {});
    for (const size of [1, 2, 4] as const) for (const off of [0, 1]) expect(dev.read(off, size)).toBe(0);
  });

  test('wired on a PIO bus at iobase=0xf4,iosize=4, every port in the range exits', () => {
    const codes: number[] = [];
    const bus = new Bus('pio');
    const dev = new DebugExit((code) => codes.push(code), { iobase: 0xf4, iosize: 4 });
    bus.register(dev.config.iobase, dev.config.iosize, dev, 'isa-debug-exit');
    for (const port of [0xf4, 0xf5, 0xf6, 0xf7]) bus.write(port, 1, 2);
    bus.write(0xf8, 1, 2); // outside
    expect(codes).toEqual([5, 5, 5, 5]);
    expect(dev.exitRequests).toBe(4);
  });

  test('QEMU defaults: iobase 0x501, iosize 2', () => {
    const dev = new DebugExit(() => {});
    expect(dev.config).toEqual({ iobase: DEBUG_EXIT_DEFAULT_IOBASE, iosize: DEBUG_EXIT_DEFAULT_IOSIZE });
    expect(dev.config).toEqual({ iobase: 0x501, iosize: 2 });
  });

  const badConfigs = [
    { cfg: { iobase: -1, iosize: 1 }, code: 'IOBASE_RANGE' },
    { cfg: { iobase: 0x10000, iosize: 1 }, code: 'IOBASE_RANGE' },
    { cfg: { iobase: 0xf4, iosize: 0 }, code: 'IOSIZE_RANGE' },
    { cfg: { iobase: 0xfffe, iosize: 4 }, code: 'IOSIZE_RANGE' },
    { cfg: { iobase: 0xf4, iosize: 1.5 }, code: 'IOSIZE_RANGE' },
  ];
  for (const c of badConfigs) {
    test(`rejects ${JSON.stringify(c.cfg)} with ${c.code}`, () => {
      let err: unknown;
      try {
        new DebugExit(() => {}, c.cfg);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DebugExitConfigError);
      expect((err as DebugExitConfigError).code).toBe(c.code);
    });
  }
});
