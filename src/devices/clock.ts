/**
 * Time for devices: a clock and one-shot timers, in the shape of QEMU's
 * `timer_new_ns` / `timer_mod` / `timer_del`.
 *
 * Devices never call `setTimeout` or `Date.now()` themselves; they are given a
 * `TimeSource`. The machine passes `HostTimeSource` (real time, timers on the
 * Node event loop) or `ManualTimeSource` (virtual time that only moves when
 * told to: unit tests and the deterministic single-thread mode).
 *
 * All deadlines are absolute, in the `nowNs()` time base (monotonic ns).
 */

export interface Clock {
  /** Monotonic nanoseconds; the base of every timer deadline. */
  nowNs(): bigint;
  /** Host wall-clock time, ms since the Unix epoch (UTC), as `Date.now()`. */
  wallClockMs(): number;
}

/** A one-shot timer owned by a device. Re-arming moves the deadline. */
export interface DeviceTimer {
  /** Arm (or re-arm) to fire once at `deadlineNs`. A deadline in the past fires soon. */
  mod(deadlineNs: bigint): void;
  /** Disarm; a disarmed timer never fires. */
  del(): void;
  /** The armed deadline, or undefined. */
  readonly deadlineNs: bigint | undefined;
}

export interface TimerScheduler {
  /** A new, disarmed timer whose expiry calls `cb`. */
  createTimer(cb: () => void): DeviceTimer;
}

export interface TimeSource extends Clock, TimerScheduler {}

export const NS_PER_SEC = 1_000_000_000n;
export const NS_PER_MS = 1_000_000n;

/**
 * Real time: `process.hrtime.bigint()` and `Date.now()`, timers on the event
 * loop. Timers are unref'd so an idle device never keeps the process alive
 * (the machine's run loop does that).
 */
export class HostTimeSource implements TimeSource {
  nowNs(): bigint {
    return process.hrtime.bigint();
  }

  wallClockMs(): number {
    return Date.now();
  }

  createTimer(cb: () => void): DeviceTimer {
    return new HostTimer(this, cb);
  }
}

class HostTimer implements DeviceTimer {
  private handle: ReturnType<typeof setTimeout> | undefined;
  deadlineNs: bigint | undefined;

  constructor(private readonly clock: Clock, private readonly cb: () => void) {}

  mod(deadlineNs: bigint): void {
    this.del();
    this.deadlineNs = deadlineNs;
    this.schedule();
  }

  del(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.deadlineNs = undefined;
  }

  private schedule(): void {
    const deadline = this.deadlineNs;
    if (deadline === undefined) return;
    const delayNs = deadline - this.clock.nowNs();
    // setTimeout has 1 ms granularity and may fire early by a fraction of a
    // ms; `fire` re-checks and re-schedules rather than firing early.
    const delayMs = delayNs <= 0n ? 0 : Number((delayNs + NS_PER_MS - 1n) / NS_PER_MS);
    this.handle = setTimeout(() => this.fire(), Math.min(delayMs, 0x7fffffff));
    this.handle.unref();
  }

  private fire(): void {
    this.handle = undefined;
    const deadline = this.deadlineNs;
    if (deadline === undefined) return;
    if (this.clock.nowNs() < deadline) {
      this.schedule();
      return;
    }
    this.deadlineNs = undefined;
    this.cb();
  }
}

/**
 * Virtual time that moves only through `advance`/`advanceTo`; due timers fire
 * in deadline order (ties in arming order) while time moves. The wall clock is
 * `wallBaseMs` plus elapsed virtual time, so a pinned base gives a fully
 * reproducible RTC.
 */
export class ManualTimeSource implements TimeSource {
  private now: bigint;
  private seq = 0;
  private readonly timers = new Set<ManualTimer>();

  constructor(private readonly wallBaseMs = Date.UTC(2024, 0, 1), startNs = 0n) {
    this.now = startNs;
  }

  nowNs(): bigint {
    return this.now;
  }

  wallClockMs(): number {
    return this.wallBaseMs + Number(this.now / NS_PER_MS);
  }

  createTimer(cb: () => void): DeviceTimer {
    return new ManualTimer(this, cb);
  }

  /** The earliest armed deadline, or undefined (lets a run loop sleep until then). */
  nextDeadlineNs(): bigint | undefined {
    let best: bigint | undefined;
    for (const t of this.timers) if (best === undefined || t.deadline < best) best = t.deadline;
    return best;
  }

  advance(ns: bigint | number): void {
    this.advanceTo(this.now + BigInt(ns));
  }

  /**
   * Move time forward without running any timer, as a blocked event loop
   * would; the next `advance` fires what became overdue (late, at the new time).
   */
  stall(ns: bigint | number): void {
    this.now += BigInt(ns);
  }

  /** Move time to `target`, firing every timer due on the way at its own deadline. */
  advanceTo(target: bigint): void {
    // Bounded: a device that re-arms at or before `now` forever is a bug; stop it.
    for (let steps = 0; steps < 10_000_000; steps++) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.deadline > target) continue;
        if (!next || t.deadline < next.deadline || (t.deadline === next.deadline && t.seq < next.seq)) next = t;
      }
      if (!next) break;
      if (next.deadline > this.now) this.now = next.deadline;
      this.timers.delete(next);
      next.armed = false;
      next.cb();
    }
    if (target > this.now) this.now = target;
  }

  /** @internal */
  arm(t: ManualTimer): void {
    t.seq = this.seq++;
    this.timers.add(t);
  }

  /** @internal */
  disarm(t: ManualTimer): void {
    this.timers.delete(t);
  }
}

class ManualTimer implements DeviceTimer {
  deadline = 0n;
  seq = 0;
  armed = false;

  constructor(private readonly src: ManualTimeSource, readonly cb: () => void) {}

  get deadlineNs(): bigint | undefined {
    return this.armed ? this.deadline : undefined;
  }

  mod(deadlineNs: bigint): void {
    this.deadline = deadlineNs;
    this.armed = true;
    this.src.arm(this);
  }

  del(): void {
    this.armed = false;
    this.src.disarm(this);
  }
}
