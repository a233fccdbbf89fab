import { describe, expect, test } from 'vitest';
import { RecordingIrqLine } from '../../../src/devices/irq.js';
import { ManualTimeSource } from '../../../src/devices/clock.js';
import {
  Mc146818Rtc, Mc146818StateError, periodicPeriodCycles, setMicrovmCmosMemory,
  RTC_SECONDS, RTC_SECONDS_ALARM, RTC_MINUTES, RTC_MINUTES_ALARM, RTC_HOURS, RTC_HOURS_ALARM, RTC_DAY_OF_WEEK,
  RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_REG_A, RTC_REG_B, RTC_REG_C, RTC_REG_D, RTC_CENTURY,
  REG_B_SET, REG_B_PIE, REG_B_AIE, REG_B_UIE, REG_B_DM, REG_B_24H, REG_B_SQWE,
  REG_C_IRQF, REG_C_PF, REG_C_AF, REG_C_UF,
} from '../../../src/devices/rtc-mc146818.js';

const MS = 1_000_000n;
const SEC = 1_000_000_000n;

/** Thursday 2024-02-29 23:59:58.000 UTC: a leap day, one second from a date, month and weekday rollover. */
const LEAP_EVE = Date.UTC(2024, 1, 29, 23, 59, 58);

function make(wallMs = LEAP_EVE) {
  const time = new ManualTimeSource(wallMs);
  const irq = new RecordingIrqLine();
  const rtc = new Mc146818Rtc(irq, time);
  const rd = (reg: number) => {
    rtc.write(0, 1, reg);
    return rtc.read(1, 1);
  };
  const wr = (reg: number, v: number) => {
    rtc.write(0, 1, reg);
    rtc.write(1, 1, v);
  };
  const clock = () => [RTC_CENTURY, RTC_YEAR, RTC_MONTH, RTC_DAY_OF_MONTH, RTC_DAY_OF_WEEK, RTC_HOURS, RTC_MINUTES, RTC_SECONDS].map(rd);
  return { time, irq, rtc, rd, wr, clock };
}

describe('power-on state (QEMU rtc_realizefn)', () => {
  const cases = [
    { name: 'A = 0x26 (32.768 kHz, 1024 Hz rate)', reg: RTC_REG_A, want: 0x26 },
    { name: 'B = 0x02 (24 h, BCD)', reg: RTC_REG_B, want: 0x02 },
    { name: 'C = 0', reg: RTC_REG_C, want: 0x00 },
    { name: 'D = VRT', reg: RTC_REG_D, want: 0x80 },
  ];
  for (const c of cases) test(c.name, () => expect(make().rd(c.reg)).toBe(c.want));
  test('the index port reads 0xff', () => {
    expect(make().rtc.read(0, 1)).toBe(0xff);
  });
});

describe('time registers from the host clock (UTC)', () => {
  test('BCD, 24 h: 2024-02-29 23:59:58 Thursday, century 20', () => {
    // century, year, month, day, weekday (Thu = 5), hours, minutes, seconds
    expect(make().clock()).toEqual([0x20, 0x24, 0x02, 0x29, 0x05, 0x23, 0x59, 0x58]);
  });
  test('binary mode (DM)', () => {
    const { wr, clock } = make();
    wr(RTC_REG_B, REG_B_24H | REG_B_DM);
    expect(clock()).toEqual([20, 24, 2, 29, 5, 23, 59, 58]);
  });
  const hourCases = [
    { utcHour: 0, b: 0, want: 0x12 }, // 12 AM
    { utcHour: 1, b: 0, want: 0x01 },
    { utcHour: 11, b: 0, want: 0x11 },
    { utcHour: 12, b: 0, want: 0x92 }, // 12 PM
    { utcHour: 13, b: 0, want: 0x81 },
    { utcHour: 23, b: 0, want: 0x91 },
    { utcHour: 23, b: REG_B_DM, want: 0x8b },
    { utcHour: 0, b: REG_B_DM, want: 12 },
    { utcHour: 23, b: REG_B_24H, want: 0x23 },
    { utcHour: 23, b: REG_B_24H | REG_B_DM, want: 23 },
  ];
  for (const c of hourCases) {
    test(`hour ${c.utcHour} with B=0x${c.b.toString(16)} reads 0x${c.want.toString(16)}`, () => {
      const { wr, rd } = make(Date.UTC(2024, 5, 1, c.utcHour, 30, 0));
      wr(RTC_REG_B, c.b);
      expect(rd(RTC_HOURS)).toBe(c.want);
    });
  }
  test('time runs: leap day rolls to Friday 2024-03-01 00:00:00', () => {
    const { time, clock } = make();
    time.advance(2n * SEC);
    expect(clock()).toEqual([0x20, 0x24, 0x03, 0x01, 0x06, 0x00, 0x00, 0x00]);
  });
  test('century rolls: 2099-12-31 23:59:59 -> 2100-01-01', () => {
    const { time, clock } = make(Date.UTC(2099, 11, 31, 23, 59, 59));
    time.advance(SEC);
    expect(clock()).toEqual([0x21, 0x00, 0x01, 0x01, 0x06, 0x00, 0x00, 0x00]);
  });
});

describe('setting the clock', () => {
  test('with SET: registers hold, then run from the written time', () => {
    const { time, wr, rd, clock } = make();
    wr(RTC_REG_B, REG_B_24H | REG_B_SET);
    wr(RTC_YEAR, 0x99);
    wr(RTC_CENTURY, 0x19);
    wr(RTC_MONTH, 0x12);
    wr(RTC_DAY_OF_MONTH, 0x31);
    wr(RTC_HOURS, 0x23);
    wr(RTC_MINUTES, 0x59);
    wr(RTC_SECONDS, 0x59);
    time.advance(5n * SEC);
    expect(rd(RTC_SECONDS)).toBe(0x59); // frozen while SET
    wr(RTC_REG_B, REG_B_24H);
    time.advance(SEC);
    // 1999-12-31 23:59:59 + 1 s = Saturday 2000-01-01
    expect(clock()).toEqual([0x20, 0x00, 0x01, 0x01, 0x07, 0x00, 0x00, 0x00]);
  });
  test('without SET a write takes effect at once (guest offset from host time)', () => {
    const { time, wr, rd } = make();
    wr(RTC_MINUTES, 0x10);
    expect([rd(RTC_HOURS), rd(RTC_MINUTES), rd(RTC_SECONDS)]).toEqual([0x23, 0x10, 0x58]);
    time.advance(3n * SEC);
    expect([rd(RTC_HOURS), rd(RTC_MINUTES), rd(RTC_SECONDS)]).toEqual([0x23, 0x11, 0x01]);
  });
  test('12-hour mode write of 12 AM/PM', () => {
    const { wr, rd } = make();
    wr(RTC_REG_B, REG_B_SET); // 12 h BCD
    wr(RTC_HOURS, 0x92); // 12 PM
    wr(RTC_REG_B, 0);
    expect(rd(RTC_HOURS)).toBe(0x92);
    wr(RTC_REG_B, REG_B_24H);
    expect(rd(RTC_HOURS)).toBe(0x12);
    wr(RTC_REG_B, REG_B_SET);
    wr(RTC_HOURS, 0x12); // 12 AM
    wr(RTC_REG_B, 0);
    expect(rd(RTC_HOURS)).toBe(0x12);
    wr(RTC_REG_B, REG_B_24H);
    expect(rd(RTC_HOURS)).toBe(0x00);
  });
  test('nonsense values roll over instead of failing', () => {
    const { wr, rd } = make();
    wr(RTC_REG_B, REG_B_24H | REG_B_SET);
    wr(RTC_MONTH, 0x00);
    wr(RTC_SECONDS, 0xff);
    wr(RTC_REG_B, REG_B_24H);
    expect(rd(RTC_MONTH)).toBeGreaterThan(0);
  });
});

describe('UIP (register A bit 7)', () => {
  test('set during the last 244 us before each update', () => {
    const { time, rd } = make();
    time.advance(SEC - 244_141n);
    expect(rd(RTC_REG_A) & 0x80).toBe(0);
    time.advance(1n);
    expect(rd(RTC_REG_A) & 0x80).toBe(0x80);
    expect(rd(RTC_SECONDS)).toBe(0x58); // old time until the update
    time.advance(244_140n);
    expect(rd(RTC_REG_A)).toBe(0x26);
    expect(rd(RTC_SECONDS)).toBe(0x59);
  });
  test('never set with SET or the divider stopped; not writable', () => {
    const { time, rd, wr } = make();
    wr(RTC_REG_B, REG_B_24H | REG_B_SET);
    time.advance(SEC - 1000n);
    expect(rd(RTC_REG_A) & 0x80).toBe(0);
    wr(RTC_REG_B, REG_B_24H);
    wr(RTC_REG_A, 0xa6);
    expect(rd(RTC_REG_A) & 0x7f).toBe(0x26);
  });
});

describe('update-ended and alarm interrupts', () => {
  // A = 0x26 selects 1024 Hz, so PF is also set (without IRQ: PIE is off).
  test('UIE: IRQ at each update; reading C returns IRQF|UF, clears it and the line', () => {
    const { time, irq, rd, wr } = make();
    wr(RTC_REG_B, REG_B_24H | REG_B_UIE);
    time.advance(SEC);
    expect(irq.log).toEqual([true]);
    expect(rd(RTC_REG_C)).toBe(REG_C_IRQF | REG_C_UF | REG_C_PF);
    expect(irq.log).toEqual([true, false]);
    expect(rd(RTC_REG_C)).toBe(0);
    time.advance(SEC);
    expect(irq.log).toEqual([true, false, true]);
  });
  test('UF is set without UIE, but no IRQ', () => {
    const { time, irq, rd } = make();
    time.advance(SEC);
    expect(rd(RTC_REG_C)).toBe(REG_C_UF | REG_C_PF);
    expect(irq.log).toEqual([]);
  });
  test('enabling UIE with UF already set interrupts at once', () => {
    const { time, irq, wr } = make();
    time.advance(SEC);
    wr(RTC_REG_B, REG_B_24H | REG_B_UIE);
    expect(irq.log).toEqual([true]);
    wr(RTC_REG_B, REG_B_24H);
    expect(irq.log).toEqual([true, false]);
  });
  test('SET clears UIE', () => {
    const { rd, wr } = make();
    wr(RTC_REG_B, REG_B_24H | REG_B_UIE | REG_B_SET);
    expect(rd(RTC_REG_B)).toBe(REG_B_24H | REG_B_SET);
  });
  test('alarm at hh:mm:ss fires once, at that second', () => {
    const { time, irq, rd, wr } = make();
    wr(RTC_HOURS_ALARM, 0x00);
    wr(RTC_MINUTES_ALARM, 0x00);
    wr(RTC_SECONDS_ALARM, 0x01);
    wr(RTC_REG_B, REG_B_24H | REG_B_AIE);
    time.advance(2n * SEC); // 00:00:00
    expect(irq.log).toEqual([]);
    expect(rd(RTC_REG_C) & REG_C_AF).toBe(0);
    time.advance(SEC); // 00:00:01
    expect(irq.log).toEqual([true]);
    expect(rd(RTC_REG_C)).toBe(REG_C_IRQF | REG_C_AF | REG_C_UF | REG_C_PF);
    time.advance(10n * SEC);
    expect(rd(RTC_REG_C) & REG_C_AF).toBe(0);
  });
  test('don\'t-care alarm bytes (0xC0-0xFF) fire every second', () => {
    const { time, irq, rd, wr } = make();
    wr(RTC_HOURS_ALARM, 0xc0);
    wr(RTC_MINUTES_ALARM, 0xff);
    wr(RTC_SECONDS_ALARM, 0xc0);
    wr(RTC_REG_B, REG_B_24H | REG_B_AIE);
    for (let i = 0; i < 3; i++) {
      time.advance(SEC);
      expect(rd(RTC_REG_C)).toBe(REG_C_IRQF | REG_C_AF | REG_C_UF | REG_C_PF);
    }
    expect(irq.log).toEqual([true, false, true, false, true, false]);
  });
  test('alarm "every hour at mm:ss" with hour don\'t care', () => {
    const { time, rd, wr } = make(Date.UTC(2024, 0, 1, 5, 29, 59));
    wr(RTC_HOURS_ALARM, 0xc0);
    wr(RTC_MINUTES_ALARM, 0x30);
    wr(RTC_SECONDS_ALARM, 0x00);
    time.advance(SEC);
    expect(rd(RTC_REG_C) & REG_C_AF).toBe(REG_C_AF);
  });
  test('alarm compares in 12-hour format (PM bit)', () => {
    const { time, rd, wr } = make(Date.UTC(2024, 0, 1, 14, 59, 59));
    wr(RTC_REG_B, 0); // 12 h, BCD
    wr(RTC_HOURS_ALARM, 0x83); // 3 PM
    wr(RTC_MINUTES_ALARM, 0x00);
    wr(RTC_SECONDS_ALARM, 0x00);
    time.advance(SEC);
    expect(rd(RTC_REG_C) & REG_C_AF).toBe(REG_C_AF);
  });
  test('a late timer still reports an alarm second it skipped', () => {
    const { time, rd, wr } = make();
    wr(RTC_HOURS_ALARM, 0x00);
    wr(RTC_MINUTES_ALARM, 0x00);
    wr(RTC_SECONDS_ALARM, 0x00);
    // Move the clock without letting timers run in between (as a stalled event loop would).
    time.stall(5n * SEC);
    time.advance(0n);
    expect(rd(RTC_REG_C) & REG_C_AF).toBe(REG_C_AF);
  });
});

describe('periodic interrupt (rate select, MC146818A Table 4)', () => {
  const rates = [
    { rs: 0, cycles: 0 },
    { rs: 1, cycles: 128 },
    { rs: 2, cycles: 256 },
    { rs: 3, cycles: 4 },
    { rs: 6, cycles: 32 },
    { rs: 15, cycles: 16384 },
  ];
  for (const r of rates) test(`RS ${r.rs} -> ${r.cycles} cycles`, () => expect(periodicPeriodCycles(r.rs)).toBe(r.cycles));

  const hz = [
    { rs: 3, perSecond: 8192 },
    { rs: 6, perSecond: 1024 },
    { rs: 1, perSecond: 256 },
    { rs: 15, perSecond: 2 },
  ];
  for (const r of hz) {
    test(`RS ${r.rs}: ${r.perSecond} interrupts per second with PIE`, () => {
      const { time, irq, rd, wr } = make();
      wr(RTC_REG_A, 0x20 | r.rs);
      wr(RTC_REG_B, REG_B_24H | REG_B_PIE);
      let count = 0;
      // An interrupt handler: count each rising edge and acknowledge by reading C.
      const step = 50_000n;
      for (let t = 0n; t < SEC; t += step) {
        time.advance(step);
        if (irq.level) {
          count++;
          expect(rd(RTC_REG_C) & (REG_C_IRQF | REG_C_PF)).toBe(REG_C_IRQF | REG_C_PF);
        }
      }
      expect(count).toBe(r.perSecond);
    });
  }
  test('PF is set at the rate with PIE off, without IRQ', () => {
    const { time, irq, rd, wr } = make();
    wr(RTC_REG_A, 0x2f); // 2 Hz
    rd(RTC_REG_C);
    time.advance(100n * MS);
    expect(rd(RTC_REG_C) & REG_C_PF).toBe(0);
    time.advance(500n * MS);
    expect(rd(RTC_REG_C)).toBe(REG_C_PF);
    expect(irq.log).toEqual([]);
  });
  test('RS 0 and a stopped divider give no periodic interrupt', () => {
    const { time, irq, wr } = make();
    wr(RTC_REG_A, 0x20);
    wr(RTC_REG_B, REG_B_24H | REG_B_PIE);
    time.advance(SEC / 2n - MS);
    expect(irq.log).toEqual([]);
    wr(RTC_REG_A, 0x76);
    time.advance(2n * SEC);
    expect(irq.log).toEqual([]);
  });
});

describe('divider control (register A bits 6-4)', () => {
  test('in reset the clock and updates stop; the first update comes 500 ms after release', () => {
    const { time, irq, rd, wr } = make();
    wr(RTC_REG_A, 0x70);
    wr(RTC_REG_B, REG_B_24H | REG_B_UIE);
    time.advance(3n * SEC);
    expect(irq.log).toEqual([]);
    expect(rd(RTC_SECONDS)).toBe(0x58);
    wr(RTC_REG_A, 0x26);
    time.advance(500n * MS - 1n);
    expect(irq.log).toEqual([]);
    time.advance(1n);
    expect(irq.log).toEqual([true]);
    expect(rd(RTC_SECONDS)).toBe(0x59);
  });
});

describe('CMOS RAM and ports', () => {
  test('bytes 0x0e-0x7f are plain RAM; C and D are read-only', () => {
    const { rd, wr } = make();
    for (const a of [0x0e, 0x10, 0x33, 0x7f]) {
      wr(a, a ^ 0x5a);
      expect(rd(a)).toBe(a ^ 0x5a);
    }
    wr(RTC_REG_D, 0);
    wr(RTC_REG_C, 0xff);
    expect([rd(RTC_REG_C), rd(RTC_REG_D)]).toEqual([0, 0x80]);
  });
  test('index bit 7 is the NMI mask, not part of the index', () => {
    const { rtc } = make();
    rtc.write(0, 1, 0x80 | RTC_REG_D);
    expect(rtc.nmiDisabled).toBe(true);
    expect(rtc.read(1, 1)).toBe(0x80);
    rtc.write(0, 1, RTC_REG_D);
    expect(rtc.nmiDisabled).toBe(false);
  });
  test('0x37 aliases the century byte (QEMU)', () => {
    const { rd } = make();
    expect(rd(0x37)).toBe(0x20);
  });
  test('a 2-byte write to 0x70 sets the index and writes the data port', () => {
    const { rtc, rd } = make();
    rtc.write(0, 2, 0x5a0e);
    expect(rd(0x0e)).toBe(0x5a);
  });
  test('microvm memory bytes for 512 MiB', () => {
    const { rtc } = make();
    setMicrovmCmosMemory(rtc, 512 * 1024 * 1024, 0);
    const bytes = [0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x5b, 0x5c, 0x5d].map((a) => rtc.getCmos(a));
    expect(bytes).toEqual([0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x1f, 0, 0, 0]);
  });
  test('microvm memory bytes above 4 GiB (5 GiB guest: 2 GiB high)', () => {
    const { rtc } = make();
    setMicrovmCmosMemory(rtc, 3 * 1024 ** 3, 2 * 1024 ** 3);
    expect([0x5b, 0x5c, 0x5d].map((a) => rtc.getCmos(a))).toEqual([0x00, 0x80, 0x00]);
  });
});

describe('reset, save and restore', () => {
  test('reset clears PIE/AIE/SQWE and the flags, keeps the time', () => {
    const { time, rtc, irq, rd, wr } = make();
    wr(RTC_REG_B, REG_B_24H | REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    time.advance(SEC);
    rtc.reset();
    expect(irq.level).toBe(false);
    expect(rd(RTC_REG_B)).toBe(REG_B_24H | REG_B_UIE);
    expect(rd(RTC_SECONDS)).toBe(0x59);
  });
  test('round trip keeps time, registers and a pending IRQ', () => {
    const a = make();
    a.wr(RTC_REG_B, REG_B_24H | REG_B_UIE | REG_B_DM);
    a.wr(0x40, 0x99);
    a.time.advance(SEC);
    const saved = JSON.parse(JSON.stringify(a.rtc.saveState())) as unknown;
    const b = make(Date.UTC(2030, 0, 1));
    b.rtc.restoreState(saved);
    expect(b.irq.level).toBe(true);
    expect(b.rd(0x40)).toBe(0x99);
    expect(b.rd(RTC_SECONDS)).toBe(59);
    b.time.advance(SEC);
    expect(b.clock()).toEqual([20, 24, 3, 1, 6, 0, 0, 0]);
  });
  const bad = [
    { name: 'version', patch: { version: 9 } },
    { name: 'short cmos', patch: { cmos: [1, 2] } },
    { name: 'cmos byte', patch: { cmos: new Array(128).fill(256) } },
    { name: 'index', patch: { index: 128 } },
    { name: 'rtcNs', patch: { rtcNs: '12abc' } },
  ];
  for (const c of bad) {
    test(`rejects bad ${c.name}`, () => {
      const { rtc, rd } = make();
      expect(() => rtc.restoreState({ ...rtc.saveState(), ...c.patch })).toThrow(Mc146818StateError);
      expect(rd(RTC_REG_D)).toBe(0x80);
    });
  }
});
