/**
 * Choosing the accelerator: `-enable-kvm`/`-accel kvm` demands KVM and fails
 * clearly without it; the default is the JIT; `auto` (library users) takes KVM
 * when it works and the JIT otherwise. Modules load lazily so a machine
 * without the native addon never touches it.
 */
import type { Accelerator } from '../accel/types.js';
import type { MachineConfig } from './config.js';

export async function createAccelerator(config: MachineConfig): Promise<Accelerator> {
  if (config.accel === 'jit') return newJit();
  const kvm = await import('../kvm/accelerator.js');
  if (config.accel === 'kvm') {
    const a = kvm.kvmAvailability();
    if (!a.ok) throw a.error;
    return new kvm.KvmAccelerator();
  }
  return kvm.kvmAvailability().ok ? new kvm.KvmAccelerator() : newJit();
}

async function newJit(): Promise<Accelerator> {
  const { JitAccelerator } = await import('../cpu/accelerator.js');
  return new JitAccelerator();
}
