/**
 * Choosing the accelerator: `-enable-kvm`/`-accel kvm` demands KVM and fails
 * clearly without it; the default is the JIT; `auto` (library users) takes KVM
 * when it works and the JIT otherwise. Modules load lazily so a machine
 * without the native addon never touches it.
 */
import type { Accelerator } from '../accel/types.js';
import type { CpuidPolicy } from '../cpu/cpuid.js';
import type { MachineConfig } from './config.js';

export interface AccelSelectOptions {
  cpuid: CpuidPolicy;
  onWarning: (msg: string) => void;
}

/** Models whose feature set under KVM is "what KVM supports" (plus the contract's bits). */
const KVM_HOST_LIKE_MODELS = new Set(['host', 'max', 'microvm-default']);

export async function createAccelerator(config: MachineConfig, opts: AccelSelectOptions): Promise<Accelerator> {
  if (config.accel === 'jit') return newJit();
  const kvm = await import('../kvm/accelerator.js');
  const make = (): Accelerator => new kvm.KvmAccelerator({
    onWarning: opts.onWarning,
    // A named model (qemu64, Haswell, ...) limits KVM's features to the model's.
    ...(KVM_HOST_LIKE_MODELS.has(config.cpu.model) ? {} : { featureMask: (l: number, s: number) => opts.cpuid.lookup(0, l, s) }),
  });
  if (config.accel === 'kvm') {
    const a = kvm.kvmAvailability();
    if (!a.ok) throw a.error;
    return make();
  }
  return kvm.kvmAvailability().ok ? make() : newJit();
}

async function newJit(): Promise<Accelerator> {
  const { JitAccelerator } = await import('../cpu/accelerator.js');
  return new JitAccelerator();
}
