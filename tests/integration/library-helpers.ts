// Shared by the library-*.test.ts files: firmware paths, which accelerators
// can run here, and the reasons a test is skipped (only ever "this
// accelerator lacks member X" or "no KVM here").
import { existsSync } from 'node:fs';
import { kvmAvailability } from '../../src/kvm/accelerator.js';
import { JitAccelerator } from '../../src/cpu/accelerator.js';
import type { Accelerator } from '../../src/accel/types.js';

export const fw = (name: string): string => new URL(`../../firmware/out/${name}`, import.meta.url).pathname;
export const haveFirmware = ['hello.elf', 'console.elf', 'demo.elf', 'virtio-net.elf'].every((n) => existsSync(fw(n)));
export const debugExit = { driver: 'isa-debug-exit' as const, iobase: 0xf4, iosize: 4 };
export const MiB = 2 ** 20;

const kvm = kvmAvailability();
/** Undefined when KVM works here, else why the KVM variant is skipped. */
export const kvmSkip: string | undefined = kvm.ok ? undefined : `KVM unavailable: ${kvm.reason}`;

/** Undefined when the JIT implements `member`, else the skip reason (the test starts passing once it does). */
export function jitLacks(member: keyof Accelerator): string | undefined {
  const proto = JitAccelerator.prototype as unknown as Record<string, unknown>;
  const has = member === 'debug' ? new JitAccelerator().debug !== undefined : typeof proto[member] === 'function';
  return has ? undefined : `the JIT does not implement Accelerator.${member} yet`;
}

/** The accelerators a library feature is tested on, each with its skip reason (undefined: runs). */
export function acceleratorsFor(member?: keyof Accelerator): Array<{ accel: 'kvm' | 'jit'; skip: string | undefined }> {
  return [
    { accel: 'kvm', skip: kvmSkip },
    { accel: 'jit', skip: member ? jitLacks(member) : undefined },
  ];
}

/** CPU model per accelerator (PVM's KVM runs our guests with the host model). */
export const cpuFor = (accel: 'kvm' | 'jit'): { model: string } => ({ model: accel === 'kvm' ? 'host' : 'microvm-default' });
