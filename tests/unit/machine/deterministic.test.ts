// The machine side of deterministic mode without a guest: the clock a
// deterministic machine's devices get, and what the accelerator is handed.
import { describe, expect, test } from 'vitest';
import { deterministicTime, enableDeterminism, DEFAULT_EPOCH_MS } from '../../../src/machine/deterministic.js';
import { NotSupportedError } from '../../../src/machine/inspect.js';
import type { Accelerator, DeterministicConfig } from '../../../src/accel/types.js';
import { ManualTimeSource } from '../../../src/devices/clock.js';

const fakeAccel = (onSet?: (c: DeterministicConfig) => void): Accelerator => ({
  name: 'jit',
  init: async () => {}, setState: () => {}, getState: () => { throw new Error('unused'); }, resume: () => {},
  pause: async () => {}, deliverInterrupt: () => {}, reset: () => {}, destroy: async () => {},
  ...(onSet ? { setDeterministic: onSet } : {}),
});

describe('deterministic mode (machine side)', () => {
  test('virtual time starts at 0 ns and the wall clock at the epoch (default 2024-01-01)', () => {
    const t = deterministicTime({ seed: 1, epochMs: Date.UTC(2031, 5, 7) });
    expect(t).toBeInstanceOf(ManualTimeSource);
    expect(t.nowNs()).toBe(0n);
    expect(new Date(t.wallClockMs()).toISOString()).toBe('2031-06-07T00:00:00.000Z');
    t.advance(1_500_000_000n);
    expect(new Date(t.wallClockMs()).toISOString()).toBe('2031-06-07T00:00:01.500Z');
    expect(deterministicTime({ seed: 1 }).wallClockMs()).toBe(DEFAULT_EPOCH_MS);
    expect(DEFAULT_EPOCH_MS).toBe(Date.parse('2024-01-01T00:00:00Z'));
  });

  test('the accelerator gets the seed as bigint, the clock and ns per instruction', () => {
    let got: DeterministicConfig | undefined;
    const time = deterministicTime({ seed: 0 });
    enableDeterminism(fakeAccel((c) => { got = c; }), { seed: 0xdead_beef, nsPerInstruction: 4 }, time);
    expect(got).toEqual({ seed: 0xdeadbeefn, time, nsPerInstruction: 4n });
    enableDeterminism(fakeAccel((c) => { got = c; }), { seed: 5n }, time);
    expect(got?.nsPerInstruction).toBe(1n);
    expect(() => enableDeterminism(fakeAccel(() => {}), { seed: 1, nsPerInstruction: 0.5 }, time)).toThrow(RangeError);
  });

  test('an accelerator without setDeterministic: NotSupportedError naming the member', () => {
    const err = (() => { try { enableDeterminism(fakeAccel(), { seed: 1 }, deterministicTime({ seed: 1 })); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(NotSupportedError);
    expect(err).toMatchObject({ accel: 'jit', member: 'setDeterministic' });
  });
});
