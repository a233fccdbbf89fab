/** DR0-3/DR7 encoding (Intel SDM Vol. 3B 19.2.4, Figure 19-1). */
import { describe, expect, test } from 'vitest';
import { encodeDebugRegs, validHwSlot } from '../../../src/kvm/debugregs.js';

describe('encodeDebugRegs', () => {
  test('no slots: everything zero', () => {
    expect(encodeDebugRegs([])).toEqual([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
  });
  test('execution breakpoint in slot 0: L0, R/W0 = 00, LEN0 = 00', () => {
    const dr = encodeDebugRegs([{ kind: 'exec', gva: 0x100004n, len: 1 }]);
    expect(dr[0]).toBe(0x100004n);
    expect(dr[7]).toBe(0x401n);
  });
  test('write watchpoint of 4 bytes in slot 1 and an 8-byte access watchpoint in slot 2', () => {
    const dr = encodeDebugRegs([
      { kind: 'exec', gva: 0x1000n, len: 1 },
      { kind: 'write', gva: 0x2000n, len: 4 },
      { kind: 'access', gva: 0x3000n, len: 8 },
    ]);
    expect(dr.slice(0, 3)).toEqual([0x1000n, 0x2000n, 0x3000n]);
    // L0|L1|L2 = 0x15; bit 10; slot 1: R/W 01 at 20, LEN 11 at 22; slot 2: R/W 11 at 24, LEN 10 at 26.
    expect(dr[7]).toBe(0x15n | 0x400n | (1n << 20n) | (3n << 22n) | (3n << 24n) | (2n << 26n));
  });
  test('more than four slots is refused', () => {
    const s = { kind: 'exec' as const, gva: 0n, len: 1 as const };
    expect(() => encodeDebugRegs([s, s, s, s, s])).toThrow(RangeError);
  });
});

describe('validHwSlot', () => {
  test.each([
    [{ kind: 'exec', gva: 0x1001n, len: 1 }, true],
    [{ kind: 'exec', gva: 0x1000n, len: 4 }, false],
    [{ kind: 'write', gva: 0x1002n, len: 4 }, false],
    [{ kind: 'write', gva: 0x1004n, len: 4 }, true],
    [{ kind: 'access', gva: 0x1008n, len: 8 }, true],
    [{ kind: 'access', gva: 0x1008n, len: 3 }, false],
  ] as const)('%o -> %s', (slot, ok) => {
    expect(validHwSlot(slot as Parameters<typeof validHwSlot>[0])).toBe(ok);
  });
});
