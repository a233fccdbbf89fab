import { describe, expect, test } from 'vitest';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import {
  MsrFile, type MsrHooks, type LapicMsrPort, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE, PAT_RESET,
  MSR_EFER, MSR_IA32_CR_PAT, MSR_LSTAR, MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_SYSCALL_MASK,
  MSR_IA32_TSC, MSR_TSC_AUX, MSR_MTRRcap, MSR_MTRRdefType, MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW,
  MSR_KVM_SYSTEM_TIME, MSR_IA32_APIC_BASE, MSR_IA32_TSC_DEADLINE, MSR_IA32_MISC_ENABLE, MSR_IA32_SPEC_CTRL,
  isCanonical48,
} from '../../../src/cpu/msr.js';

function setup(opts: Parameters<typeof createCpuidPolicy>[0] = {}) {
  const policy = createCpuidPolicy(opts);
  const log: string[] = [];
  let tsc = 1000n;
  let cr0 = 0x11n;
  const lapicRegs = new Map<number, bigint>([[MSR_IA32_APIC_BASE, 0xfee00900n]]);
  const lapic: LapicMsrPort = {
    readMsr: (i) => (lapicRegs.has(i) ? { ok: true, value: lapicRegs.get(i)! } : { ok: false }),
    writeMsr: (i, v) => { log.push(`lapic ${i.toString(16)}=${v.toString(16)}`); lapicRegs.set(i, v); return { ok: true }; },
  };
  const hooks: MsrHooks = {
    readTsc: () => tsc,
    writeTsc: (v) => { tsc = v; log.push(`tsc=${v}`); },
    cr0: () => cr0,
    lapic,
    onEferWrite: (o, n) => log.push(`efer ${o.toString(16)}->${n.toString(16)}`),
    onKvmSystemTime: (v) => log.push(`systime ${v.toString(16)}`),
    onKvmWallClock: (g) => log.push(`wall ${g.toString(16)}`),
  };
  const m = new MsrFile(policy, hooks);
  return { m, log, setCr0: (v: bigint) => { cr0 = v; } };
}

describe('EFER', () => {
  test('SCE|LME|NXE accepted; reserved bit 1 and SVME (no svm) #GP', () => {
    const { m, log } = setup();
    expect(m.write(MSR_EFER, EFER_SCE | EFER_LME | EFER_NXE)).toEqual({ ok: true });
    expect(m.read(MSR_EFER)).toEqual({ ok: true, value: 0x901n });
    expect(log).toEqual(['efer 0->901']);
    expect(m.write(MSR_EFER, 2n)).toEqual({ ok: false });
    expect(m.write(MSR_EFER, 1n << 12n)).toEqual({ ok: false });
    expect(m.write(MSR_EFER, 1n << 63n)).toEqual({ ok: false });
  });
  test('LMA is read-only: written value ignored, current kept', () => {
    const { m } = setup();
    expect(m.write(MSR_EFER, EFER_LMA | EFER_LME)).toEqual({ ok: true });
    expect(m.efer).toBe(EFER_LME);
    m.setLongModeActive(true);
    expect(m.write(MSR_EFER, EFER_LME | EFER_SCE)).toEqual({ ok: true });
    expect(m.efer).toBe(EFER_LME | EFER_LMA | EFER_SCE);
  });
  test('changing LME while CR0.PG=1 #GPs; NXE may change', () => {
    const { m, setCr0 } = setup();
    m.write(MSR_EFER, EFER_LME);
    setCr0(0x80000011n);
    expect(m.write(MSR_EFER, 0n)).toEqual({ ok: false });
    expect(m.write(MSR_EFER, EFER_LME | EFER_NXE)).toEqual({ ok: true });
  });
  test('NXE #GPs when nx is not reported', () => {
    const { m } = setup({ features: { nx: false } });
    expect(m.write(MSR_EFER, EFER_NXE)).toEqual({ ok: false });
  });
});

describe('SYSCALL and segment base MSRs', () => {
  test('LSTAR/FS/GS/KERNEL_GS accept canonical, #GP on non-canonical', () => {
    const { m } = setup();
    for (const idx of [MSR_LSTAR, MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE]) {
      expect(m.write(idx, 0xffff800000001000n)).toEqual({ ok: true });
      expect(m.read(idx)).toEqual({ ok: true, value: 0xffff800000001000n });
      expect(m.write(idx, 0x0000800000000000n)).toEqual({ ok: false });
      expect(m.read(idx)).toEqual({ ok: true, value: 0xffff800000001000n });
    }
  });
  test('STAR stores 64 bits; FMASK keeps the low 32', () => {
    const { m } = setup();
    m.write(MSR_STAR, 0x0023001000000000n);
    expect(m.read(MSR_STAR)).toEqual({ ok: true, value: 0x0023001000000000n });
    m.write(MSR_SYSCALL_MASK, 0xffffffff00000700n);
    expect(m.read(MSR_SYSCALL_MASK)).toEqual({ ok: true, value: 0x700n });
  });
  test('segmentBase hook owns FS/GS', () => {
    const bases = { fs: 0n, gs: 0n };
    const m = new MsrFile(createCpuidPolicy({}), {
      readTsc: () => 0n, writeTsc: () => {}, cr0: () => 0n,
      segmentBase: { get: (r) => bases[r], set: (r, v) => { bases[r] = v; } },
    });
    m.write(MSR_GS_BASE, 0x1234n);
    expect(bases.gs).toBe(0x1234n);
    bases.fs = 0x42n;
    expect(m.read(MSR_FS_BASE)).toEqual({ ok: true, value: 0x42n });
  });
});

describe('TSC, TSC_AUX, LAPIC delegation', () => {
  test('TSC read/write go through hooks', () => {
    const { m, log } = setup();
    expect(m.read(MSR_IA32_TSC)).toEqual({ ok: true, value: 1000n });
    m.write(MSR_IA32_TSC, 5n);
    expect(log).toContain('tsc=5');
    expect(m.read(MSR_IA32_TSC)).toEqual({ ok: true, value: 5n });
  });
  test('TSC_AUX: 32 bits, upper bits #GP', () => {
    const { m } = setup();
    expect(m.write(MSR_TSC_AUX, 3n)).toEqual({ ok: true });
    expect(m.write(MSR_TSC_AUX, 1n << 32n)).toEqual({ ok: false });
    expect(m.read(MSR_TSC_AUX)).toEqual({ ok: true, value: 3n });
  });
  test('APIC_BASE, TSC_DEADLINE, x2APIC range reach the LAPIC', () => {
    const { m, log } = setup();
    expect(m.read(MSR_IA32_APIC_BASE)).toEqual({ ok: true, value: 0xfee00900n });
    m.write(MSR_IA32_TSC_DEADLINE, 0x99n);
    m.write(0x80b, 0n);
    expect(log).toEqual(['lapic 6e0=99', 'lapic 80b=0']);
  });
  test('TSC_DEADLINE #GPs without tsc-deadline', () => {
    const { m } = setup({ features: { 'tsc-deadline': false } });
    expect(m.write(MSR_IA32_TSC_DEADLINE, 1n)).toEqual({ ok: false });
  });
});

describe('PAT and MTRRs', () => {
  test('PAT reset value and type validation (2, 3 invalid)', () => {
    const { m } = setup();
    expect(m.read(MSR_IA32_CR_PAT)).toEqual({ ok: true, value: PAT_RESET });
    expect(m.write(MSR_IA32_CR_PAT, 0x0007010600070406n)).toEqual({ ok: true });
    expect(m.write(MSR_IA32_CR_PAT, 0x0007040600070402n)).toEqual({ ok: false });
    expect(m.write(MSR_IA32_CR_PAT, 0x0307040600070406n)).toEqual({ ok: false });
    expect(m.read(MSR_IA32_CR_PAT)).toEqual({ ok: true, value: 0x0007010600070406n });
  });
  test('MTRRcap = 8 variable, fixed, WC; read-only', () => {
    const { m } = setup();
    expect(m.read(MSR_MTRRcap)).toEqual({ ok: true, value: 0x508n });
    expect(m.write(MSR_MTRRcap, 0n)).toEqual({ ok: false });
  });
  test('MTRRdefType: E|FE|WB ok, reserved bit 9 and type 2 #GP', () => {
    const { m } = setup();
    expect(m.write(MSR_MTRRdefType, 0xc06n)).toEqual({ ok: true });
    expect(m.write(MSR_MTRRdefType, 0x206n)).toEqual({ ok: false });
    expect(m.write(MSR_MTRRdefType, 0x802n)).toEqual({ ok: false });
  });
  test('variable MTRR base/mask with 40-bit MAXPHYADDR', () => {
    const { m } = setup();
    expect(m.write(0x200, 0x80000006n)).toEqual({ ok: true });
    expect(m.write(0x201, 0xff80000800n)).toEqual({ ok: true });
    expect(m.write(0x201, 0x1ff80000800n)).toEqual({ ok: false }); // bit 40 above MAXPHYADDR
    expect(m.write(0x200, 0x80000106n)).toEqual({ ok: false }); // reserved bit 8
    expect(m.write(0x20f, 0n)).toEqual({ ok: true });
    expect(m.read(0x210)).toEqual({ ok: false });
  });
  test('fixed MTRRs: all-WB ok, type 2 #GP', () => {
    const { m } = setup();
    expect(m.write(0x250, 0x0606060606060606n)).toEqual({ ok: true });
    expect(m.write(0x26f, 0x0606060606060602n)).toEqual({ ok: false });
    expect(m.read(0x250)).toEqual({ ok: true, value: 0x0606060606060606n });
  });
});

describe('kvmclock MSRs', () => {
  test('system time and wall clock writes notify', () => {
    const { m, log } = setup();
    expect(m.write(MSR_KVM_SYSTEM_TIME_NEW, 0x9001n)).toEqual({ ok: true });
    expect(m.write(MSR_KVM_WALL_CLOCK_NEW, 0xa000n)).toEqual({ ok: true });
    expect(m.write(MSR_KVM_SYSTEM_TIME, 0x9041n)).toEqual({ ok: true });
    expect(log).toEqual(['systime 9001', 'wall a000', 'systime 9041']);
    expect(m.read(MSR_KVM_SYSTEM_TIME_NEW)).toEqual({ ok: true, value: 0x9041n });
  });
  test('#GP when kvmclock is not reported (qemu64)', () => {
    const { m } = setup({ model: 'qemu64' });
    expect(m.write(MSR_KVM_SYSTEM_TIME_NEW, 0x9001n)).toEqual({ ok: false });
    expect(m.read(MSR_KVM_WALL_CLOCK_NEW)).toEqual({ ok: false });
  });
});

describe('misc', () => {
  test('unknown MSRs #GP and count', () => {
    const { m } = setup();
    expect(m.read(0x12345678)).toEqual({ ok: false });
    expect(m.write(0xc0011030, 0n)).toEqual({ ok: false });
    expect(m.unknownAccesses).toBe(2);
  });
  test('KVM read-as-zero MSRs (e.g. K8 INT_PENDING_MSG, DE_CFG) read 0 and ignore writes', () => {
    const { m } = setup();
    for (const idx of [0xc0010055, 0xc0011029, 0x2a, 0x1d9]) {
      expect(m.write(idx, 0x1234n)).toEqual({ ok: true });
      expect(m.read(idx)).toEqual({ ok: true, value: 0n });
    }
    expect(m.unknownAccesses).toBe(0);
  });
  test('MISC_ENABLE reset 1 (fast strings); SPEC_CTRL accepts IBRS/STIBP/SSBD only', () => {
    const { m } = setup();
    expect(m.read(MSR_IA32_MISC_ENABLE)).toEqual({ ok: true, value: 1n });
    expect(m.write(MSR_IA32_SPEC_CTRL, 7n)).toEqual({ ok: true });
    expect(m.write(MSR_IA32_SPEC_CTRL, 8n)).toEqual({ ok: false });
  });
  test('save/load round trip; bad input rejected', () => {
    const { m } = setup();
    m.write(MSR_EFER, EFER_SCE | EFER_LME);
    m.write(MSR_LSTAR, 0xffffffff81000000n);
    m.write(0x200, 0x6n);
    const s = m.saveState();
    const { m: m2 } = setup();
    expect(m2.loadState(JSON.parse(JSON.stringify(s)))).toBe(true);
    expect(m2.saveState()).toEqual(s);
    expect(m2.loadState({ ...s, efer: 'zzz' })).toBe(false);
    expect(m2.loadState({ ...s, efer: '0x2' })).toBe(false);
    expect(m2.loadState(null)).toBe(false);
  });
  test('isCanonical48', () => {
    expect(isCanonical48(0x00007fffffffffffn)).toBe(true);
    expect(isCanonical48(0xffff800000000000n)).toBe(true);
    expect(isCanonical48(0x0000800000000000n)).toBe(false);
    expect(isCanonical48(0xfffe800000000000n)).toBe(false);
  });
});
