/**
 * The TamaGo boot sequence guest (firmware/tamago-seq, 2 MiB pages) on KVM
 * with -smp 2 through the library: long mode, IDT, LAPIC TSC-deadline timer,
 * kvmclock, RTC, INIT/SIPI for the AP, NMI to hand it a task. This is the
 * KVM half of the first-light "done when"; it checks what the guest measured.
 * On PVM (this workplace's KVM) CPL-0 code is emulated, so it takes seconds.
 */
import { describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { startVm } from '../../src/index.js';
import { kvmAvailability } from '../../src/kvm/accelerator.js';

const image = new URL('../../firmware/out/tamago-seq.elf', import.meta.url).pathname;
// Only a missing or inaccessible /dev/kvm skips (TESTING.md).
const kvm = kvmAvailability();
const noKvm = !kvm.ok && (kvm.code === 'KVM_NO_PERMISSION' || !existsSync('/dev/kvm'));
if (noKvm) console.warn(`[kvm-tamago-seq] skipped: ${kvm.ok ? '' : kvm.reason}`);

describe.skipIf(noKvm)('tamago-seq on KVM', () => {
  test('-smp 2: both CPUs, a running timer, kvmclock and TSC agree, RTC matches the host', async () => {
    expect(existsSync(image), `${image} (built by npm run build)`).toBe(true);
    await using vm = await startVm({
      kernel: image, accel: 'kvm', memory: 1536 * 2 ** 20, cpus: 2,
      cpu: { model: 'host', features: { invtsc: true, kvmclock: true } },
      devices: [{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 }],
    });
    await vm.waitFor('TAMAGO-SEQ OK', { timeout: 90_000 });
    const out = vm.output();
    expect(out).toMatch(/hypervisor bit 1, tsc-deadline 1, invariant tsc 1/);
    expect(out).toMatch(/kvm: max leaf 0x40000010/);
    expect(out).toMatch(/cpu 1 online/);
    const summary = /cpus=(\d+) timer_ticks=(\d+) tsc_khz=(\d+) kvmclock_ns=(\d+)/.exec(out);
    expect(summary).not.toBeNull();
    const [, cpus, ticks, tscKhz, kvmclockNs] = summary!.map(Number);
    expect(cpus).toBe(2);
    expect(ticks).toBeGreaterThan(0);
    expect(tscKhz).toBeGreaterThan(100_000);
    expect(kvmclockNs).toBeGreaterThan(0);
    // kvmclock and TSC measured over the same interval agree to 1%.
    const drift = /kvmclock: \+(\d+) ns vs TSC \+(\d+) ns/.exec(out);
    expect(drift).not.toBeNull();
    const [, kc, tsc] = drift!.map(Number);
    expect(Math.abs(kc! - tsc!)).toBeLessThan(tsc! / 100);
    const rtc = /RTC differs by (-?\d+) s/.exec(out);
    expect(rtc).not.toBeNull();
    expect(Math.abs(Number(rtc![1]))).toBeLessThanOrEqual(2);
    const reason = await vm.exited;
    expect(reason).toMatchObject({ kind: 'debug-exit', status: 1 });
  });
});
