/**
 * The ABI table in src/kvm/abi.ts against the kernel headers. The oracle is
 * the addon's `constants`, compiled as C from <linux/kvm.h>; when the addon
 * is not built, the fixed values below (from a 6.x kernel's headers, which
 * are ABI-stable) still hold the table to account.
 */
import { describe, expect, test } from 'vitest';
import {
  KVM, KVM_CAP, KVM_EXIT, RUN, SIZEOF, decodeCpuid2, decodeExit, decodeMsrs, decodeRegs, decodeSregs, encodeCpuid2,
  encodeGuestDebug, encodeMsiRouting, encodeMsrs, encodeRegs, encodeResetFpu, encodeSregs, type KvmSregs,
} from '../../../src/kvm/abi.js';
import { loadKvmBindings } from '../../../src/kvm/bindings.js';

const loaded = loadKvmBindings();
const headers = loaded.ok ? loaded.bindings.constants : undefined;

describe('ioctl numbers', () => {
  // Values printed by a C program including <linux/kvm.h> (x86-64).
  const fixed: Array<[keyof typeof KVM, number]> = [
    ['GET_API_VERSION', 0xae00], ['CREATE_VM', 0xae01], ['CHECK_EXTENSION', 0xae03], ['GET_VCPU_MMAP_SIZE', 0xae04],
    ['GET_SUPPORTED_CPUID', 0xc008ae05], ['CREATE_VCPU', 0xae41], ['SET_USER_MEMORY_REGION', 0x4020ae46],
    ['RUN', 0xae80], ['GET_REGS', 0x8090ae81], ['SET_REGS', 0x4090ae82], ['GET_SREGS', 0x8138ae83],
    ['SET_SREGS', 0x4138ae84], ['GET_MSRS', 0xc008ae88], ['SET_MSRS', 0x4008ae89], ['SET_CPUID2', 0x4008ae90],
    ['SIGNAL_MSI', 0x4020aea5], ['SET_GSI_ROUTING', 0x4008ae6a], ['ENABLE_CAP', 0x4068aea3],
    ['SET_GUEST_DEBUG', 0x4048ae9b], ['GET_TSC_KHZ', 0xaea3], ['GET_LAPIC', 0x8400ae8e], ['SET_LAPIC', 0x4400ae8f],
    ['GET_MP_STATE', 0x8004ae98], ['SET_MP_STATE', 0x4004ae99], ['SET_FPU', 0x41a0ae8d],
  ];
  for (const [name, value] of fixed) {
    test(`KVM_${name} = 0x${value.toString(16)}`, () => expect(KVM[name]).toBe(value));
  }

  test.skipIf(!headers)('every ioctl number matches <linux/kvm.h> as compiled by the addon', () => {
    for (const [name, value] of Object.entries(KVM)) {
      const h = headers![`KVM_${name}`];
      expect(h, `KVM_${name} in the addon's table`).toBeDefined();
      expect(value, `KVM_${name}`).toBe(h);
    }
    for (const [name, value] of Object.entries(KVM_CAP)) expect(value, `KVM_CAP_${name}`).toBe(headers![`KVM_CAP_${name}`]);
    for (const [name, value] of Object.entries(KVM_EXIT)) {
      const h = headers![`KVM_EXIT_${name}`];
      if (h !== undefined) expect(value, `KVM_EXIT_${name}`).toBe(h);
    }
  });

  test.skipIf(!headers)('struct sizes and kvm_run offsets match the headers', () => {
    for (const [name, size] of Object.entries(SIZEOF)) {
      const h = headers![`sizeof_${name}`];
      if (h !== undefined) expect(size, `sizeof(struct ${name})`).toBe(h);
    }
    for (const [field, off] of Object.entries(RUN)) {
      if (field === 'u') continue;
      expect(off, `offsetof(kvm_run, ${field})`).toBe(headers![`offsetof_kvm_run_${field}`]);
    }
    expect(headers!['offsetof_kvm_sregs_interrupt_bitmap']).toBe(280);
    expect(headers!['offsetof_kvm_fpu_mxcsr']).toBe(408);
    expect(headers!['offsetof_kvm_fpu_fcw']).toBe(128);
  });
});

describe('kvm_regs', () => {
  test('GPRs in encoding order land in kvm_regs order (rax rbx rcx rdx rsi rdi rsp rbp)', () => {
    const gpr = Array.from({ length: 16 }, (_, i) => BigInt(i + 1) * 0x1000n);
    const b = encodeRegs({ gpr, rip: 0xdeadbeefn, rflags: 2n });
    const dv = new DataView(b.buffer);
    // kvm_regs slot 1 is rbx = encoding 3; slot 2 rcx = 1; slot 4 rsi = 6; slot 6 rsp = 4.
    expect(dv.getBigUint64(8, true)).toBe(gpr[3]);
    expect(dv.getBigUint64(16, true)).toBe(gpr[1]);
    expect(dv.getBigUint64(32, true)).toBe(gpr[6]);
    expect(dv.getBigUint64(48, true)).toBe(gpr[4]);
    expect(dv.getBigUint64(128, true)).toBe(0xdeadbeefn);
    expect(decodeRegs(b)).toEqual({ gpr, rip: 0xdeadbeefn, rflags: 2n });
  });
  test('negative values are stored as two\'s complement', () => {
    const gpr = new Array<bigint>(16).fill(0n);
    gpr[0] = -1n;
    expect(decodeRegs(encodeRegs({ gpr, rip: 0n, rflags: 0n })).gpr[0]).toBe(0xffffffffffffffffn);
  });
});

describe('kvm_sregs', () => {
  const seg = (selector: number) => ({
    base: BigInt(selector) << 12n, limit: 0xfffff, selector, type: 0xb, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0,
  });
  const s: KvmSregs = {
    cs: seg(0x10), ds: seg(0x18), es: seg(0x20), fs: seg(0x28), gs: seg(0x30), ss: seg(0x38), tr: seg(0x40), ldt: seg(0x48),
    gdt: { base: 0x1000n, limit: 0x27 }, idt: { base: 0x2000n, limit: 0x7ff },
    cr0: 0x80000011n, cr2: 0x1234n, cr3: 0x9000n, cr4: 0x20n, cr8: 0n, efer: 0x500n, apic_base: 0xfee00900n,
    interrupt_bitmap: [1n, 0n, 0n, 1n << 63n],
  };
  test('round trip', () => expect(decodeSregs(encodeSregs(s))).toEqual(s));
  test('field offsets: cs.selector at 12, ss at 5*24, gdt at 192, cr0 at 224, apic_base at 272', () => {
    const dv = new DataView(encodeSregs(s).buffer);
    expect(dv.getUint16(12, true)).toBe(0x10);
    expect(dv.getUint16(5 * 24 + 12, true)).toBe(0x38);
    expect(dv.getUint8(14)).toBe(0xb);
    expect(dv.getBigUint64(192, true)).toBe(0x1000n);
    expect(dv.getUint16(200, true)).toBe(0x27);
    expect(dv.getBigUint64(224, true)).toBe(0x80000011n);
    expect(dv.getBigUint64(264, true)).toBe(0x500n);
    expect(dv.getBigUint64(272, true)).toBe(0xfee00900n);
  });
});

describe('variable-length structures', () => {
  test('kvm_cpuid2: nent then 40-byte entries', () => {
    const e = { function: 0x40000010, index: 0, flags: 0, eax: 2_500_000, ebx: 1_000_000, ecx: 0, edx: 0 };
    const b = encodeCpuid2([e], 4);
    expect(b.byteLength).toBe(8 + 4 * 40);
    expect(new DataView(b.buffer).getUint32(0, true)).toBe(4);
    new DataView(b.buffer).setUint32(0, 1, true); // as the kernel reports the count back
    expect(decodeCpuid2(b)).toEqual([e]);
  });
  test('kvm_cpuid2 decode never reads past the buffer, whatever nent says', () => {
    const b = encodeCpuid2([], 2);
    new DataView(b.buffer).setUint32(0, 1000, true);
    expect(decodeCpuid2(b)).toHaveLength(2);
  });
  test('kvm_msrs', () => {
    const b = encodeMsrs([{ index: 0x4b564d01, data: 0x1001n }, { index: 0x6e0, data: 5n }]);
    expect(b.byteLength).toBe(8 + 2 * 16);
    expect(decodeMsrs(b, 2)).toEqual([{ index: 0x4b564d01, data: 0x1001n }, { index: 0x6e0, data: 5n }]);
  });
  test('kvm_irq_routing MSI entry: gsi, type 2, address_lo/hi, data in the union at +16', () => {
    const b = encodeMsiRouting([{ gsi: 5, addressLo: 0xfee01000, addressHi: 0, data: 0x8031 }]);
    const dv = new DataView(b.buffer);
    expect(dv.getUint32(0, true)).toBe(1);
    expect(dv.getUint32(8, true)).toBe(5);
    expect(dv.getUint32(12, true)).toBe(2);
    expect(dv.getUint32(8 + 16, true)).toBe(0xfee01000);
    expect(dv.getUint32(8 + 24, true)).toBe(0x8031);
  });
  test('kvm_guest_debug: control then debugreg[8]', () => {
    const dv = new DataView(encodeGuestDebug(0x20003, [0x1000n, 0n, 0n, 0n, 0n, 0n, 0n, 1n]).buffer);
    expect(dv.getUint32(0, true)).toBe(0x20003);
    expect(dv.getBigUint64(8, true)).toBe(0x1000n);
    expect(dv.getBigUint64(8 + 7 * 8, true)).toBe(1n);
  });
  test('reset FPU: FCW 0x37f, MXCSR 0x1f80', () => {
    const dv = new DataView(encodeResetFpu().buffer);
    expect(dv.getUint16(128, true)).toBe(0x37f);
    expect(dv.getUint32(408, true)).toBe(0x1f80);
  });
});

describe('decodeExit', () => {
  const run = (): DataView => new DataView(new ArrayBuffer(12288));
  test('port write: direction, size, port, count, data offset', () => {
    const r = run();
    r.setUint32(RUN.exit_reason, KVM_EXIT.IO, true);
    r.setUint8(RUN.io_direction, 1);
    r.setUint8(RUN.io_size, 2);
    r.setUint16(RUN.io_port, 0x3f8, true);
    r.setUint32(RUN.io_count, 3, true);
    r.setBigUint64(RUN.io_data_offset, 4096n, true);
    expect(decodeExit(r)).toEqual({ kind: 'io', port: 0x3f8, size: 2, write: true, count: 3, dataOffset: 4096 });
  });
  test('an I/O exit whose data would lie outside the mapping is refused', () => {
    const r = run();
    r.setUint32(RUN.exit_reason, KVM_EXIT.IO, true);
    r.setUint8(RUN.io_size, 4);
    r.setUint32(RUN.io_count, 1, true);
    r.setBigUint64(RUN.io_data_offset, 12286n, true);
    expect(decodeExit(r)).toEqual({ kind: 'unknown', reason: KVM_EXIT.IO });
  });
  test('MMIO read of 8 bytes', () => {
    const r = run();
    r.setUint32(RUN.exit_reason, KVM_EXIT.MMIO, true);
    r.setBigUint64(RUN.mmio_phys_addr, 0xfeb02e70n, true);
    r.setUint32(RUN.mmio_len, 8, true);
    expect(decodeExit(r)).toEqual({ kind: 'mmio', gpa: 0xfeb02e70n, len: 8, write: false });
  });
  test('IOAPIC EOI, shutdown, internal error with data', () => {
    const r = run();
    r.setUint32(RUN.exit_reason, KVM_EXIT.IOAPIC_EOI, true);
    r.setUint8(RUN.eoi_vector, 0x31);
    expect(decodeExit(r)).toEqual({ kind: 'ioapic-eoi', vector: 0x31 });
    r.setUint32(RUN.exit_reason, KVM_EXIT.SHUTDOWN, true);
    expect(decodeExit(r)).toEqual({ kind: 'shutdown' });
    r.setUint32(RUN.exit_reason, KVM_EXIT.INTERNAL_ERROR, true);
    r.setUint32(RUN.internal_suberror, 1, true);
    r.setUint32(RUN.internal_ndata, 99, true); // clamped to 16
    expect(decodeExit(r)).toMatchObject({ kind: 'internal-error', suberror: 1 });
    expect((decodeExit(r) as { data: bigint[] }).data).toHaveLength(16);
  });
});
