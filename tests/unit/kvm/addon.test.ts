/**
 * The addon's guards: it must refuse what could corrupt this process (short
 * buffers, pointer-carrying ioctls, non-KVM ioctls) before calling the kernel.
 * These checks do not need /dev/kvm: a refused call never reaches ioctl(2).
 */
import { describe, expect, test } from 'vitest';
import { KVM, encodeCpuid2 } from '../../../src/kvm/abi.js';
import { loadKvmBindings } from '../../../src/kvm/bindings.js';

const loaded = loadKvmBindings();
const b = loaded.ok ? loaded.bindings : undefined;
if (!b) console.warn(`[kvm addon] skipped: ${loaded.ok ? '' : loaded.reason}`);

describe.skipIf(!b)('kvm-bindings-napi guards', () => {
  test('a buffer shorter than the ioctl structure is refused', () => {
    expect(() => b!.ioctlBuffer(-1, KVM.GET_SREGS, new Uint8Array(100))).toThrow(/smaller than the ioctl's structure/);
  });
  test('a variable-length structure whose count exceeds the buffer is refused', () => {
    const buf = encodeCpuid2([], 2);
    new DataView(buf.buffer).setUint32(0, 3, true);
    expect(() => b!.ioctlBuffer(-1, KVM.GET_SUPPORTED_CPUID, buf)).toThrow(/entry count/);
  });
  test('memory slots only through setUserMemoryRegion', () => {
    expect(() => b!.ioctlBuffer(-1, KVM.SET_USER_MEMORY_REGION, new Uint8Array(32))).toThrow(/not allowed/);
  });
  test('non-KVM ioctls and misuse of integer/buffer forms are refused', () => {
    expect(() => b!.ioctl(-1, 0x5401)).toThrow(/not a KVM ioctl/);
    expect(() => b!.ioctl(-1, KVM.GET_REGS)).toThrow(/takes a buffer/);
    expect(() => b!.ioctlBuffer(-1, KVM.RUN, new Uint8Array(8))).toThrow(/takes an integer/);
  });
  test('unaligned guest memory is refused', () => {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const view = new Uint8Array(m.buffer as unknown as SharedArrayBuffer, 16, 4096);
    expect(() => b!.setUserMemoryRegion(-1, 0, 0, 0n, view)).toThrow(/page aligned/);
  });
  test('kernel errors carry errno and code', () => {
    try {
      b!.ioctl(-1, KVM.GET_API_VERSION);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'EBADF', errno: 9 });
    }
  });
});
