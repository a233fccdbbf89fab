/** kvmAvailability: clear, typed reasons when KVM cannot be used. */
import { describe, expect, test } from 'vitest';
import { AccelError } from '../../../src/accel/types.js';
import { KvmAccelerator, kvmAvailability } from '../../../src/kvm/accelerator.js';
import { loadKvmBindings } from '../../../src/kvm/bindings.js';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';

const built = loadKvmBindings().ok;

describe('kvmAvailability', () => {
  test.skipIf(!built)('a missing device is KVM_UNAVAILABLE and names the path', () => {
    const a = kvmAvailability('/dev/does-not-exist-kvm');
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.code).toBe('KVM_UNAVAILABLE');
    expect(a.reason).toContain('/dev/does-not-exist-kvm does not exist');
    expect(a.error).toBeInstanceOf(AccelError);
    expect(a.error.code).toBe('KVM_UNAVAILABLE');
  });

  test.skipIf(!built)('a device that is not KVM is refused', () => {
    const a = kvmAvailability('/dev/null');
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.reason).toMatch(/not a KVM device/);
  });

  test.skipIf(built)('without the addon the reason says how to build it', () => {
    const a = kvmAvailability();
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.reason).toMatch(/addon/);
  });

  test.skipIf(!built)('init() on a missing device throws the same AccelError', async () => {
    const memory = new GuestMemory(1 << 20);
    const host = {
      memory, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuCount: 1,
      cpuid: { lookup: () => ({ eax: 0, ebx: 0, ecx: 0, edx: 0 }), tscKhz: 1 },
      onStop: () => {}, onEoi: () => {}, nowNs: () => 0n,
    };
    const accel = new KvmAccelerator({ devicePath: '/dev/does-not-exist-kvm' });
    await expect(accel.init(host)).rejects.toMatchObject({ name: 'AccelError', code: 'KVM_UNAVAILABLE' });
  });
});
