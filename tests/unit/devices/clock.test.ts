import { describe, expect, test } from 'vitest';
import { HostTimeSource, ManualTimeSource } from '../../../src/devices/clock.js';

describe('ManualTimeSource', () => {
  test('timers fire in deadline order, at their deadlines, ties in arming order', () => {
    const t = new ManualTimeSource(0);
    const log: string[] = [];
    const mk = (name: string) => t.createTimer(() => log.push(`${name}@${t.nowNs()}`));
    const a = mk('a');
    const b = mk('b');
    const c = mk('c');
    a.mod(300n);
    b.mod(100n);
    c.mod(100n);
    t.advance(250n);
    expect(log).toEqual(['b@100', 'c@100']);
    expect(t.nowNs()).toBe(250n);
    t.advance(100n);
    expect(log).toEqual(['b@100', 'c@100', 'a@300']);
  });
  test('del cancels, mod re-arms, deadlineNs reports', () => {
    const t = new ManualTimeSource(0);
    let n = 0;
    const x = t.createTimer(() => n++);
    x.mod(10n);
    expect(x.deadlineNs).toBe(10n);
    x.del();
    expect(x.deadlineNs).toBeUndefined();
    t.advance(20n);
    expect(n).toBe(0);
    x.mod(30n);
    x.mod(40n);
    t.advance(15n);
    expect(n).toBe(0);
    t.advance(5n);
    expect(n).toBe(1);
    expect(t.nextDeadlineNs()).toBeUndefined();
  });
  test('a callback that re-arms runs again within the same advance', () => {
    const t = new ManualTimeSource(0);
    const at: bigint[] = [];
    const x = t.createTimer(() => {
      at.push(t.nowNs());
      x.mod(t.nowNs() + 10n);
    });
    x.mod(10n);
    t.advance(35n);
    expect(at).toEqual([10n, 20n, 30n]);
  });
  test('wall clock = base + elapsed; stall moves time without firing', () => {
    const t = new ManualTimeSource(Date.UTC(2020, 0, 1));
    let fired = false;
    t.createTimer(() => (fired = true)).mod(1_000_000n);
    t.stall(5_000_000n);
    expect(fired).toBe(false);
    expect(t.wallClockMs()).toBe(Date.UTC(2020, 0, 1) + 5);
    t.advance(0n);
    expect(fired).toBe(true);
  });
});

describe('HostTimeSource', () => {
  test('a timer never fires before its deadline; del cancels', async () => {
    const t = new HostTimeSource();
    const deadline = t.nowNs() + 5_000_000n;
    const firedAt = await new Promise<bigint>((resolve) => {
      const cancelled = t.createTimer(() => resolve(-1n));
      cancelled.mod(t.nowNs() + 1_000_000n);
      cancelled.del();
      t.createTimer(() => resolve(t.nowNs())).mod(deadline);
      // The timers are unref'd: keep the test alive.
      setTimeout(() => {}, 50);
    });
    expect(firedAt).toBeGreaterThanOrEqual(deadline);
    expect(Math.abs(t.wallClockMs() - Date.now())).toBeLessThan(5);
  });
});
