/**
 * Can this process use KVM? Answers with a reason a user can act on, in the
 * AccelError vocabulary: no addon or no /dev/kvm (KVM_UNAVAILABLE), no
 * permission (KVM_NO_PERMISSION), a capability we need is missing
 * (KVM_CAP_MISSING).
 */
import { AccelError } from '../accel/types.js';
import { KVM, KVM_API_VERSION, KVM_CAP } from './abi.js';
import { loadKvmBindings, type KvmBindings } from './bindings.js';

export const DEFAULT_KVM_PATH = '/dev/kvm';

/** Capabilities the accelerator cannot work without, and why. */
export const REQUIRED_CAPS: ReadonlyArray<{ cap: number; name: string; why: string }> = [
  { cap: KVM_CAP.USER_MEMORY, name: 'KVM_CAP_USER_MEMORY', why: 'guest RAM slots' },
  { cap: KVM_CAP.EXT_CPUID, name: 'KVM_CAP_EXT_CPUID', why: 'KVM_GET_SUPPORTED_CPUID' },
  { cap: KVM_CAP.SPLIT_IRQCHIP, name: 'KVM_CAP_SPLIT_IRQCHIP', why: 'in-kernel LAPIC with our IOAPICs' },
  { cap: KVM_CAP.IRQ_ROUTING, name: 'KVM_CAP_IRQ_ROUTING', why: 'IOAPIC EOI exits' },
  { cap: KVM_CAP.SIGNAL_MSI, name: 'KVM_CAP_SIGNAL_MSI', why: 'interrupt delivery' },
  { cap: KVM_CAP.MP_STATE, name: 'KVM_CAP_MP_STATE', why: 'SMP start and reset' },
  { cap: KVM_CAP.IMMEDIATE_EXIT, name: 'KVM_CAP_IMMEDIATE_EXIT', why: 'pausing vCPUs' },
];

export type KvmAvailability =
  | { ok: true }
  | { ok: false; code: 'KVM_UNAVAILABLE' | 'KVM_NO_PERMISSION' | 'KVM_CAP_MISSING'; reason: string; error: AccelError };

function notOk(code: 'KVM_UNAVAILABLE' | 'KVM_NO_PERMISSION' | 'KVM_CAP_MISSING', reason: string): KvmAvailability {
  return { ok: false, code, reason, error: new AccelError(code, reason) };
}

function errnoCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : undefined;
}

/** Open the KVM device, turning failures into AccelErrors. */
export function openKvm(b: KvmBindings, path: string): number {
  try {
    return b.open(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO') {
      throw new AccelError('KVM_UNAVAILABLE', `${path} does not exist: KVM is not available on this machine (no hardware virtualisation, the kvm module is not loaded, or the device is not passed into this container)`);
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new AccelError('KVM_NO_PERMISSION', `no permission to open ${path}: add this user to the group that owns it (usually \`kvm\`) or run with access to it`);
    }
    throw new AccelError('KVM_UNAVAILABLE', `cannot open ${path}: ${(e as Error).message}`);
  }
}

/** Check API version and required capabilities on an open /dev/kvm fd. */
export function checkKvm(b: KvmBindings, fd: number, path: string): void {
  let version: number;
  try {
    version = b.ioctl(fd, KVM.GET_API_VERSION);
  } catch (e) {
    throw new AccelError('KVM_UNAVAILABLE', `${path} is not a KVM device (KVM_GET_API_VERSION: ${(e as Error).message})`);
  }
  if (version !== KVM_API_VERSION) {
    throw new AccelError('KVM_UNAVAILABLE', `${path} reports KVM API version ${version}, expected ${KVM_API_VERSION}`);
  }
  const missing = REQUIRED_CAPS.filter((c) => b.ioctl(fd, KVM.CHECK_EXTENSION, c.cap) <= 0);
  if (missing.length > 0) {
    throw new AccelError('KVM_CAP_MISSING', `KVM at ${path} lacks ${missing.map((m) => `${m.name} (${m.why})`).join(', ')}`);
  }
}

/** Whether KVM can be used, without creating a VM. */
export function kvmAvailability(path = DEFAULT_KVM_PATH): KvmAvailability {
  const loaded = loadKvmBindings();
  if (!loaded.ok) return notOk('KVM_UNAVAILABLE', loaded.reason);
  const b = loaded.bindings;
  let fd = -1;
  try {
    fd = openKvm(b, path);
    checkKvm(b, fd, path);
    return { ok: true };
  } catch (e) {
    if (e instanceof AccelError && e.code !== 'KVM_IOCTL_FAILED' && e.code !== 'JIT_UNSUPPORTED') {
      return notOk(e.code, e.message);
    }
    return notOk('KVM_UNAVAILABLE', (e as Error).message);
  } finally {
    if (fd >= 0) b.close(fd);
  }
}
