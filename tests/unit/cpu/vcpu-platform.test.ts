import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import { VcpuPlatform } from '../../../src/cpu/system/vcpu-platform.js';
import { deliverIpi, APIC_SVR, APIC_LVT_TIMER, APIC_ICR_LOW } from '../../../src/devices/lapic.js';
import { pvclockScaleDelta } from '../../../src/cpu/pvclock.js';

function machine(cpus = 1) {
  const mem = new GuestMemory(1 << 20);
  const policy = createCpuidPolicy({ cpus, tscKhz: 2_400_000 });
  let now = 1_000_000n;
  const clock = { nowNs: () => now, wallClockNs: () => 1_700_000_000_000_000_000n + now };
  const vcpus: VcpuPlatform[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    vcpus.push(new VcpuPlatform({
      cpu, policy, memory: mem, clock, epochNs: 1_000_000n, cr0: () => 0x80000011n,
      ipiBus: { send: (from, msg) => deliverIpi(vcpus.map((v) => v.lapic), from, msg) },
    }));
  }
  return { mem, policy, vcpus, advance: (ns: bigint) => { now += ns; }, now: () => now };
}

describe('VcpuPlatform: the TamaGo timer path', () => {
  test('TSC frequency from 0x40000010, kvmclock via MSR 0x4b564d01, TSC-deadline alarm', () => {
    const { mem, vcpus, advance, now } = machine();
    const v = vcpus[0]!;
    expect(v.cpuid(0x40000010, 0, 0n).eax).toBe(2_400_000);
    expect(v.cpuid(0x40000001, 0, 0n).eax & 0b1001).toBe(0b1001);
    advance(5_000_000n);
    expect(v.rdtsc()).toBe(12_000_000n); // 5 ms at 2.4 GHz
    expect(v.wrmsr(0x4b564d01, 0x9001n)).toEqual({ ok: true });
    expect(mem.readU64(0x9010)).toBe(5_000_000n);
    // The guest's view of time one second later matches.
    advance(1_000_000_000n);
    const shift = (mem.readU8(0x901c) << 24) >> 24;
    const ns = mem.readU64(0x9010) + pvclockScaleDelta(v.rdtsc() - mem.readU64(0x9008), mem.readU32(0x9018), shift);
    expect(ns - (now() - 1_000_000n)).toBeLessThanOrEqual(1n);
    // SetAlarm: LVT timer in TSC-deadline mode, then the MSR.
    v.lapic.write(APIC_SVR, 4, 0x1ff);
    v.lapic.write(APIC_LVT_TIMER, 4, (2 << 17) | 0xfe);
    expect(v.wrmsr(0x6e0, v.rdtsc() + 2_400_000n)).toEqual({ ok: true }); // 1 ms ahead
    expect(v.lapic.nextDeadlineNs()).toBe(now() + 1_000_000n);
    advance(1_000_000n);
    v.lapic.tick(now());
    expect(v.lapic.acknowledge()).toBe(0xfe);
  });
  test('IA32_TSC write moves RDTSC and republishes kvmclock', () => {
    const { mem, vcpus } = machine();
    const v = vcpus[0]!;
    v.wrmsr(0x4b564d01, 0xa001n);
    expect(v.wrmsr(0x10, 1_000_000n)).toEqual({ ok: true });
    expect(v.rdtsc()).toBe(1_000_000n);
    expect(mem.readU64(0xa008)).toBe(1_000_000n);
    expect(mem.readU32(0xa000)).toBe(4);
  });
  test('an armed TSC-deadline follows an IA32_TSC write', () => {
    const { vcpus, now } = machine();
    const v = vcpus[0]!;
    v.lapic.write(APIC_SVR, 4, 0x1ff);
    v.lapic.write(APIC_LVT_TIMER, 4, (2 << 17) | 0xfe);
    v.wrmsr(0x6e0, 2_400_000n); // TSC 2.4e6 = 1 ms after the epoch at 2.4 GHz
    expect(v.lapic.nextDeadlineNs()).toBe(2_000_000n);
    v.wrmsr(0x10, 0n); // TSC restarts from 0 now
    expect(v.lapic.nextDeadlineNs()).toBe(now() + 1_000_000n);
  });
  test('KVM_HC_CLOCK_PAIRING through hypercall()', () => {
    const { mem, vcpus } = machine();
    expect(vcpus[0]!.hypercall(9n, 0xb000n, 0n, 0)).toBe(0n);
    expect(mem.readU64(0xb000)).toBe(1_700_000_000n);
    expect(mem.readU64(0xb008)).toBe(1_000_000n);
    expect(vcpus[0]!.hypercall(12345n, 0n, 0n, 0)).toBe(BigInt.asUintN(64, -1000n));
  });
  test('RDTSCP returns TSC_AUX; CPUID APIC bit follows IA32_APIC_BASE', () => {
    const { vcpus } = machine(2);
    const v = vcpus[1]!;
    v.wrmsr(0xc0000103, 1n);
    expect(v.rdtscp().aux).toBe(1);
    expect(v.cpuid(1, 0, 0n).ebx >>> 24).toBe(1);
    expect(v.wrmsr(0x1b, 0xfee00000n)).toEqual({ ok: true });
    expect((v.cpuid(1, 0, 0n).edx >>> 9) & 1).toBe(0);
  });
  test('SMP: BSP INIT/SIPI reaches the AP; x2APIC ICR works through wrmsr', () => {
    const { vcpus } = machine(2);
    const [bsp, ap] = [vcpus[0]!, vcpus[1]!];
    bsp.lapic.write(APIC_SVR, 4, 0x1ff);
    bsp.lapic.write(APIC_ICR_LOW, 4, 0x000c4500);
    bsp.lapic.write(APIC_ICR_LOW, 4, 0x000c4604);
    expect(ap.lapic.takeInit()).toBe(true);
    expect(ap.lapic.takeSipi()).toBe(4);
    ap.lapic.initReset();
    ap.lapic.write(APIC_SVR, 4, 0x1ff);
    expect(bsp.wrmsr(0x1b, 0xfee00d00n)).toEqual({ ok: true });
    expect(bsp.wrmsr(0x830, (1n << 32n) | 0x40ffn)).toEqual({ ok: true });
    expect(ap.lapic.getPendingVector()).toBe(0xff);
  });
});
