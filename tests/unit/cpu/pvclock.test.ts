import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  kvmGetTimeScale, pvclockScaleDelta, TscClock, KvmClock, writePvclockTimeInfo, pvclockTimeInfo,
  kvmClockPairing, kvmHypercall, writePvclockWallClock, KVM_HC_CLOCK_PAIRING,
} from '../../../src/cpu/pvclock.js';

describe('kvmGetTimeScale (KVM facts)', () => {
  const cases = [
    // 1 GHz: the base must exceed the scaled rate, so it is doubled once: mul = 2^31, shift 1.
    { khz: 1_000_000, mul: 0x80000000, shift: 1 },
    // 2 GHz: base already in (scaled, 2*scaled]: mul = 1/2, shift 0.
    { khz: 2_000_000, mul: 0x80000000, shift: 0 },
    // 3 GHz: halved once to 1.5e9: mul = floor(2^32 / 1.5).
    { khz: 3_000_000, mul: 2863311530, shift: -1 },
    // 100 MHz: doubled 4 times to 1.6e9: mul = floor(2^32 / 1.6).
    { khz: 100_000, mul: 2684354560, shift: 4 },
  ];
  for (const c of cases) {
    test(`${c.khz} kHz -> mul ${c.mul}, shift ${c.shift}`, () => {
      expect(kvmGetTimeScale(1_000_000_000n, BigInt(c.khz) * 1000n)).toEqual({ mul: c.mul, shift: c.shift });
    });
  }
  test('converting one second of TSC ticks gives 1e9 ns within 1 ns, for many frequencies', () => {
    for (let khz = 1000; khz < 6_000_000; khz = Math.floor(khz * 1.37) + 7) {
      const { mul, shift } = kvmGetTimeScale(1_000_000_000n, BigInt(khz) * 1000n);
      expect(mul).toBeGreaterThanOrEqual(0x80000000);
      for (const seconds of [1n, 10n]) {
        const ns = pvclockScaleDelta(BigInt(khz) * 1000n * seconds, mul, shift);
        const err = ns - 1_000_000_000n * seconds;
        expect(err <= seconds && err >= -seconds).toBe(true);
      }
    }
  });
});

describe('TscClock', () => {
  test('linear in ns at the given frequency; nsAtTsc is the inverse (ceil)', () => {
    const t = new TscClock(2_500_000, 1000n);
    expect(t.tscAt(1000n)).toBe(0n);
    expect(t.tscAt(1000n + 1_000_000_000n)).toBe(2_500_000_000n);
    expect(t.tscAt(500n)).toBe(0n);
    expect(t.nsAtTsc(5n)).toBe(1000n + 2n); // 5 ticks = 2 ns at 2.5 GHz
    expect(t.tscAt(t.nsAtTsc(5n))).toBeGreaterThanOrEqual(5n);
    expect(t.tscAt(t.nsAtTsc(5n) - 1n)).toBeLessThan(5n);
  });
  test('IA32_TSC write moves only this clock', () => {
    const t = new TscClock(1_000_000, 0n);
    t.write(100n, 1_000_000n);
    expect(t.tscAt(100n)).toBe(1_000_000n);
    expect(t.tscAt(200n)).toBe(1_000_100n);
    expect(t.nsAtTsc(1_000_150n)).toBe(250n);
  });
});

describe('pvclock structures in guest memory', () => {
  const mem = new GuestMemory(1 << 20);
  test('time info: layout, even version, guest formula reproduces system time', () => {
    const tsc = new TscClock(3_000_000, 0n);
    const now = 5_000_000_123n;
    expect(writePvclockTimeInfo(mem, 0x9000, pvclockTimeInfo(tsc, now, true))).toBe(true);
    expect(mem.readU32(0x9000)).toBe(2);
    expect(mem.readU64(0x9008)).toBe(tsc.tscAt(now));
    expect(mem.readU64(0x9010)).toBe(now);
    expect(mem.readU32(0x9018)).toBe(2863311530);
    expect(mem.readU8(0x901c)).toBe(0xff); // shift -1 as s8
    expect(mem.readU8(0x901d)).toBe(1);
    // The guest's computation one second later:
    const later = now + 1_000_000_000n;
    const shift = (mem.readU8(0x901c) << 24) >> 24;
    const guestNs = mem.readU64(0x9010) + pvclockScaleDelta(tsc.tscAt(later) - mem.readU64(0x9008), mem.readU32(0x9018), shift);
    expect(guestNs - later).toBeGreaterThanOrEqual(-1n);
    expect(guestNs - later).toBeLessThanOrEqual(1n);
    // A second publication bumps the version to the next even number.
    writePvclockTimeInfo(mem, 0x9000, pvclockTimeInfo(tsc, later, true));
    expect(mem.readU32(0x9000)).toBe(4);
  });
  test('non-RAM address is refused', () => {
    const tsc = new TscClock(1_000_000, 0n);
    expect(writePvclockTimeInfo(mem, (1 << 20) - 16, pvclockTimeInfo(tsc, 0n, false))).toBe(false);
  });
  test('wall clock: boot time in sec/nsec', () => {
    expect(writePvclockWallClock(mem, 0xa000, 1_700_000_000_250_000_000n)).toBe(true);
    expect(mem.readU32(0xa000)).toBe(2);
    expect(mem.readU32(0xa004)).toBe(1_700_000_000);
    expect(mem.readU32(0xa008)).toBe(250_000_000);
  });
  test('KvmClock: MSR enable publishes, disable stops, wall clock subtracts uptime', () => {
    const tsc = new TscClock(2_000_000, 1_000_000_000n);
    const kc = new KvmClock(mem, tsc, true);
    kc.setSystemTimeMsr(0xb001n, 3_000_000_000n);
    expect(kc.gpa).toBe(0xb000);
    expect(mem.readU64(0xb010)).toBe(2_000_000_000n);
    expect(mem.readU64(0xb008)).toBe(4_000_000_000n);
    kc.setSystemTimeMsr(0xb000n, 4_000_000_000n);
    expect(kc.gpa).toBeUndefined();
    kc.writeWallClock(0xc000n, 3_000_000_000n, 10_000_000_000n);
    expect(mem.readU32(0xc004)).toBe(8);
    kc.setSystemTimeMsr(0xfffff1n, 0n);
    expect(kc.faults).toBe(1);
  });
  test('clock pairing writes sec/nsec/tsc and returns 0; other clock types EOPNOTSUPP; bad GPA EFAULT', () => {
    mem.writeU32(0xd018, 0xdeadbeef);
    expect(kvmClockPairing(mem, 0xd000n, 0n, 12345n, 1_700_000_001_000_000_007n)).toBe(0n);
    expect(mem.readU64(0xd000)).toBe(1_700_000_001n);
    expect(mem.readU64(0xd008)).toBe(7n);
    expect(mem.readU64(0xd010)).toBe(12345n);
    expect(mem.readU32(0xd018)).toBe(0);
    expect(kvmClockPairing(mem, 0xd000n, 1n, 0n, 0n)).toBe(-95n);
    expect(kvmClockPairing(mem, 0xffff0000n, 0n, 0n, 0n)).toBe(-14n);
  });
  test('hypercall dispatch: CLOCK_PAIRING ok, unknown -> -KVM_ENOSYS, CPL 3 -> -KVM_EPERM', () => {
    const ctx = { mem, cpl: 0, tscNow: () => 1n, wallNowNs: () => 2n };
    expect(kvmHypercall(BigInt(KVM_HC_CLOCK_PAIRING), 0xe000n, 0n, ctx)).toBe(0n);
    expect(kvmHypercall(77n, 0n, 0n, ctx)).toBe(BigInt.asUintN(64, -1000n));
    expect(kvmHypercall(9n, 0xe000n, 0n, { ...ctx, cpl: 3 })).toBe(BigInt.asUintN(64, -1n));
  });
});
