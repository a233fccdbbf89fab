// The XSAVE feature set on the JIT (src/cpu/runtime/xsave.ts) against the SDM's
// rules: CR4.OSXSAVE is settable only when CPUID reports XSAVE, every XSAVE
// instruction raises #UD without it; XSETBV's XCR0 rules (SDM Vol. 2 XSETBV);
// XGETBV ECX=1; alignment and CR0.TS faults; XRSTOR's header checks and init
// optimisation; AVX state (YMM_Hi128) in both formats; CPUID leaf 0DH sizes
// following XCR0 (SDM Vol. 1 §13.2, Vol. 2 CPUID leaf 0DH).
// Byte-for-byte agreement with the host CPU is in tests/differential/xsave.test.ts.
import { describe, expect, test } from 'vitest';
import { assemble } from '../../differential/cpu-native-helper.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import { JIT_IMPLEMENTED_FEATURES, type FeatureName } from '../../../src/cpu/features.js';
import { S } from '../../../src/cpu/state.js';
import { DATA, runOnModel, type ModelRunOptions } from './jit-model-harness.js';

const OSXSAVE = 1n << 18n;
const CR4 = 0x620n | OSXSAVE;
const VEC_UD = 6, VEC_NM = 7, VEC_GP = 13;

/** A CPU that reports AVX (and so the AVX XSAVE component) whether or not the JIT lists it yet. */
const withAvx = (): ReturnType<typeof createCpuidPolicy> =>
  createCpuidPolicy({ accel: 'kvm', model: 'max', supported: new Set<FeatureName>([...JIT_IMPLEMENTED_FEATURES, 'avx']) });

async function run(asm: string, opts: ModelRunOptions & { model?: string; gpr?: bigint[] } = {}) {
  const [code] = assemble([asm]);
  return runOnModel(opts.model ?? 'max', {}, [...code!], opts.gpr ?? [], { cr4: CR4, ...opts });
}

describe('CR4.OSXSAVE and #UD', () => {
  test('CR4.OSXSAVE can be set on max', async () => {
    const r = await run('mov rax, cr4; bts rax, 18; mov cr4, rax; mov rbx, cr4', { cr4: 0x620n });
    expect(r.vector).toBeUndefined();
    expect(r.gpr[3]! & OSXSAVE).toBe(OSXSAVE);
  });
  test('setting CR4.OSXSAVE on qemu64 (no XSAVE) is #GP', async () => {
    expect((await run('mov rax, cr4; bts rax, 18; mov cr4, rax', { cr4: 0x620n, model: 'qemu64' })).vector).toBe(VEC_GP);
  });
  test('CPUID.01H:ECX.OSXSAVE follows CR4.OSXSAVE', async () => {
    const code = 'mov eax, 1; cpuid; mov r8, rcx; mov rax, cr4; bts rax, 18; mov cr4, rax; mov eax, 1; cpuid';
    const r = await run(code, { cr4: 0x620n });
    expect((r.gpr[8]! >> 27n) & 1n).toBe(0n);
    expect((r.gpr[1]! >> 27n) & 1n).toBe(1n);
    expect((r.gpr[1]! >> 26n) & 1n).toBe(1n); // XSAVE
  });
  for (const insn of ['xgetbv', 'xsetbv', 'xsave [rsi]', 'xrstor [rsi]', 'xsaveopt [rsi]', 'xsavec [rsi]']) {
    test(`${insn} is #UD while CR4.OSXSAVE = 0`, async () => {
      const r = await run(`xor ecx, ecx; mov eax, 1; xor edx, edx; ${insn}`, { cr4: 0x620n, gpr: [0n, 0n, 0n, 0n, 0n, 0n, BigInt(DATA)] });
      expect(r.vector).toBe(VEC_UD);
    });
  }
});

describe('XSETBV / XGETBV', () => {
  test('XCR0 resets to 1 and XSETBV 3 reads back', async () => {
    const r = await run('xor ecx, ecx; xgetbv; mov r8, rax; mov r9, rdx; mov eax, 3; xor edx, edx; xsetbv; xgetbv');
    expect(r.vector).toBeUndefined();
    expect([r.gpr[8], r.gpr[9], r.gpr[0], r.gpr[2]]).toEqual([1n, 0n, 3n, 0n]);
  });
  const bad: Array<[string, string, ModelRunOptions]> = [
    ['bit 0 clear', 'xor ecx, ecx; mov eax, 2; xor edx, edx; xsetbv', {}],
    ['zero', 'xor ecx, ecx; xor eax, eax; xor edx, edx; xsetbv', {}],
    ['AVX without SSE', 'xor ecx, ecx; mov eax, 5; xor edx, edx; xsetbv', { cpuid: withAvx() }],
    ['AVX on a CPU without AVX', 'xor ecx, ecx; mov eax, 7; xor edx, edx; xsetbv', { cpuid: createCpuidPolicy({ accel: 'jit', model: 'max', features: { avx: false } }) }],
    ['an unsupported bit (3, MPX)', 'xor ecx, ecx; mov eax, 0xb; xor edx, edx; xsetbv', { cpuid: withAvx() }],
    ['a bit in EDX', 'xor ecx, ecx; mov eax, 3; mov edx, 1; xsetbv', {}],
    ['ECX = 1 (XSETBV has only XCR0)', 'mov ecx, 1; mov eax, 3; xor edx, edx; xsetbv', {}],
  ];
  for (const [name, code, opts] of bad) {
    test(`XSETBV #GP: ${name}`, async () => {
      const r = await run(`${code}; xor ecx, ecx; xgetbv`, opts);
      expect(r.vector).toBe(VEC_GP);
      expect(r.vcpu.st.u64(S.XCR0)).toBe(1n); // unchanged
    });
  }
  test('XSETBV 7 with AVX reported', async () => {
    const r = await run('xor ecx, ecx; mov eax, 7; xor edx, edx; xsetbv; xgetbv', { cpuid: withAvx() });
    expect(r.vector).toBeUndefined();
    expect(r.gpr[0]).toBe(7n);
  });
  test('XGETBV ECX=1 is XCR0 AND XINUSE; ECX=2 is #GP', async () => {
    // After FNINIT and with XMM0-15 = 0, MXCSR = 1F80H nothing is in use; FLD1 puts x87 in use, PCMPEQB SSE.
    const r = await run('mov eax, 3; xor edx, edx; xor ecx, ecx; xsetbv; fninit; inc ecx; xgetbv; mov r8, rax; fld1; xgetbv; mov r9, rax; pcmpeqb xmm3, xmm3; xgetbv; mov r10, rax; mov ecx, 2; xgetbv');
    expect([r.gpr[8], r.gpr[9], r.gpr[10]]).toEqual([0n, 1n, 3n]);
    expect(r.vector).toBe(VEC_GP);
  });
});

describe('XSAVE / XRSTOR', () => {
  const rsiRdi = [0n, 0n, 0n, 0n, 0n, 0n, BigInt(DATA), BigInt(DATA + 0x1000)];
  test('an area not 64-byte aligned is #GP', async () => {
    for (const insn of ['xsave [rsi+16]', 'xrstor [rsi+32]', 'xsaveopt [rsi+8]', 'xsavec [rsi+48]']) {
      const r = await run(`mov eax, 3; xor edx, edx; xor ecx, ecx; xsetbv; ${insn}`, { gpr: rsiRdi });
      expect(r.vector, insn).toBe(VEC_GP);
    }
  });
  test('CR0.TS = 1 is #NM (XGETBV is not affected)', async () => {
    const r = await run('xor ecx, ecx; xgetbv; mov r8, rax; xsave [rsi]', { gpr: rsiRdi, cr0: 0x8000003bn });
    expect(r.gpr[8]).toBe(1n);
    expect(r.vector).toBe(VEC_NM);
  });

  test('round trip of x87, SSE and AVX state through the standard and the compacted format', async () => {
    const ymmh = new Uint8Array(256).map((_, i) => (i * 37 + 11) & 0xff);
    const xmm = new Uint8Array(256).map((_, i) => (i * 91 + 5) & 0xff);
    const code = [
      'xor ecx, ecx; mov eax, 7; xor edx, edx; xsetbv',
      'fld1; fldpi; mov dword ptr [rsp-8], 0x9fc0; ldmxcsr [rsp-8]',
      'xsave [rsi]; xsavec [rsi+0x400]',
      // init everything from an all-zero header (the init optimisation), then restore from each image in turn
      'xrstor [rdi]; xrstor [rsi+0x400]; xsave [rsi+0x800]; xrstor [rdi]; and byte ptr [rsi+512], 7; xrstor [rsi]',
    ].join('; ');
    const r = await run(code, {
      cpuid: withAvx(), gpr: rsiRdi,
      setup: (v, mem) => {
        v.st.u8.set(ymmh, v.st.base + S.YMMH);
        v.st.u8.set(xmm, v.st.base + S.XMM);
        mem.fill(DATA, 0x2000, 0xcc);
        mem.fill(DATA + 0x1000, 576, 0); // the init image: zero header, MXCSR field 0x1F80 below
        mem.writeU32(DATA + 0x1000 + 24, 0x1f80);
        mem.fill(DATA + 0x400 + 528, 48, 0); // compacted header bytes 63:16 must be 0 for XRSTOR (XSAVEC leaves them)
        // Standard header: bits of XSTATE_BV outside XCR0 and bytes 23:8 must be 0 for XRSTOR; XSAVE writes only
        // the XSTATE_BV bits of RFBM. Leave byte 512 as 0xcc to see which bits XSAVE writes.
        mem.fill(DATA + 513, 63, 0);
        mem.fill(DATA + 0x800 + 513, 63, 0); mem.writeU8(DATA + 0x800 + 512, 0xcc);
      },
    });
    expect(r.vector).toBeUndefined();
    const st = r.vcpu.st;
    expect(st.u8.slice(st.base + S.YMMH, st.base + S.YMMH + 256)).toEqual(ymmh);
    expect(st.u8.slice(st.base + S.XMM, st.base + S.XMM + 256)).toEqual(xmm);
    expect(st.u32(S.MXCSR)).toBe(0x9fc0);
    expect((st.u16(S.FSW) >> 11) & 7).toBe(6); // two loads: TOP = 6
    const mem = r.mem;
    // Standard format (SDM Vol. 1 §13.4): YMM_Hi128 at 576; XSTATE_BV bits 0-2 written, the rest and XCOMP_BV untouched.
    expect(mem.readBytes(DATA + 576, 256)).toEqual(ymmh);
    expect(mem.readBytes(DATA + 160, 256)).toEqual(xmm);
    expect(mem.readU64(DATA + 512)).toBe(7n); // (the guest masked it to 7 before its last XRSTOR)
    expect(mem.readU64(DATA + 0x800 + 512)).toBe(0xcfn); // bits 2:0 written (all in use), 7:3 untouched (the 0xcc fill)
    expect(mem.readU64(DATA + 520)).toBe(0n);
    expect(mem.readU32(DATA + 24)).toBe(0x9fc0);
    expect(mem.readU32(DATA + 28)).toBe(0xffff); // MXCSR_MASK
    // Compacted: XCOMP_BV = RFBM | bit 63, AVX right after the header.
    expect(mem.readU64(DATA + 0x400 + 512)).toBe(7n);
    expect(mem.readU64(DATA + 0x400 + 520)).toBe(0x8000000000000007n);
    expect(mem.readBytes(DATA + 0x400 + 576, 256)).toEqual(ymmh);
    // The standard image written after restoring the compacted one equals the first (both areas started as 0xcc).
    const again = mem.readBytes(DATA + 0x800, 832);
    again[512] = 7;
    expect(again).toEqual(mem.readBytes(DATA, 832));
  });

  test('XRSTOR of components whose XSTATE_BV bit is 0 loads their initial configuration', async () => {
    const r = await run('xor ecx, ecx; mov eax, 7; xor edx, edx; xsetbv; fld1; pcmpeqb xmm5, xmm5; xrstor [rdi]', {
      cpuid: withAvx(), gpr: rsiRdi,
      setup: (v, mem) => {
        v.st.u8.fill(0xee, v.st.base + S.YMMH, v.st.base + S.YMMH + 256);
        mem.fill(DATA + 0x1000, 576, 0);
        mem.writeU32(DATA + 0x1000 + 24, 0x1f80); // standard form: MXCSR is loaded (RFBM[1]) whatever XSTATE_BV says
        mem.fill(DATA + 0x1000 + 160, 256, 0x77); // XMM bytes are ignored: XSTATE_BV[1] = 0
      },
    });
    expect(r.vector).toBeUndefined();
    const st = r.vcpu.st;
    expect(st.u16(S.FCW)).toBe(0x37f);
    expect(st.u16(S.FTW)).toBe(0xffff);
    expect(st.u8.slice(st.base + S.XMM, st.base + S.XMM + 256).every((b) => b === 0)).toBe(true);
    expect(st.u8.slice(st.base + S.YMMH, st.base + S.YMMH + 256).every((b) => b === 0)).toBe(true);
  });

  test('XRSTOR with RFBM = 1 leaves SSE and AVX state alone', async () => {
    const r = await run('xor ecx, ecx; mov eax, 7; xor edx, edx; xsetbv; pcmpeqb xmm5, xmm5; mov eax, 1; xrstor [rdi]', {
      cpuid: withAvx(), gpr: rsiRdi,
      setup: (v, mem) => { v.st.u8.fill(0xee, v.st.base + S.YMMH, v.st.base + S.YMMH + 16); mem.fill(DATA + 0x1000, 576, 0); },
    });
    expect(r.vector).toBeUndefined();
    expect(r.vcpu.st.xmm(5).every((b) => b === 0xff)).toBe(true);
    expect(r.vcpu.st.u8[r.vcpu.st.base + S.YMMH]).toBe(0xee);
  });

  const headerFaults: Array<[string, (mem: import('../../../src/memory/guest-memory.js').GuestMemory) => void]> = [
    ['XSTATE_BV has a bit XCR0 lacks (AVX with XCR0 = 3)', (m) => m.writeU64(DATA + 512, 4n)],
    ['XCOMP_BV nonzero without bit 63', (m) => m.writeU64(DATA + 520, 3n)],
    ['standard form: header byte 16 nonzero', (m) => m.writeU8(DATA + 528, 1)],
    ['compacted: XSTATE_BV not a subset of XCOMP_BV', (m) => { m.writeU64(DATA + 512, 3n); m.writeU64(DATA + 520, (1n << 63n) | 1n); }],
    ['compacted: XCOMP_BV has a bit XCR0 lacks', (m) => m.writeU64(DATA + 520, (1n << 63n) | 7n)],
    ['compacted: header byte 40 nonzero', (m) => { m.writeU64(DATA + 520, (1n << 63n) | 3n); m.writeU8(DATA + 552, 1); }],
    ['MXCSR reserved bit', (m) => m.writeU32(DATA + 24, 0x11f80)],
  ];
  for (const [name, patch] of headerFaults) {
    test(`XRSTOR #GP: ${name}; nothing changes`, async () => {
      const r = await run('xor ecx, ecx; mov eax, 3; xor edx, edx; xsetbv; pcmpeqb xmm2, xmm2; mov eax, 7; xrstor [rsi]', {
        gpr: rsiRdi, setup: (_v, mem) => { mem.fill(DATA, 1024, 0); mem.writeU32(DATA + 24, 0x1f80); patch(mem); },
      });
      expect(r.vector).toBe(VEC_GP);
      expect(r.vcpu.st.xmm(2).every((b) => b === 0xff)).toBe(true);
    });
  }
  test('standard form ignores header bytes 63:24; compacted XRSTOR on a CPU without XSAVEC is #GP', async () => {
    const ok = await run('xor ecx, ecx; mov eax, 3; xor edx, edx; xsetbv; xrstor [rsi]', {
      gpr: rsiRdi, setup: (_v, mem) => { mem.fill(DATA, 1024, 0); mem.writeU32(DATA + 24, 0x1f80); mem.writeU8(DATA + 560, 9); },
    });
    expect(ok.vector).toBeUndefined();
    const noc = await run('xor ecx, ecx; mov eax, 3; xor edx, edx; xsetbv; xrstor [rsi]', {
      cpuid: createCpuidPolicy({ accel: 'jit', model: 'max', features: { xsavec: false } }),
      gpr: rsiRdi, setup: (_v, mem) => { mem.fill(DATA, 1024, 0); mem.writeU64(DATA + 520, (1n << 63n) | 3n); },
    });
    expect(noc.vector).toBe(VEC_GP);
  });
  test('XSAVEC is #UD on a model without it; XSAVEOPT likewise', async () => {
    for (const [insn, feat] of [['xsavec [rsi]', 'xsavec'], ['xsaveopt [rsi]', 'xsaveopt']] as const) {
      const r = await run(`mov eax, 3; xor edx, edx; ${insn}`, { gpr: rsiRdi, cpuid: createCpuidPolicy({ accel: 'jit', model: 'max', features: { [feat]: false } }) });
      expect(r.vector, insn).toBe(VEC_UD);
    }
  });
  test('a #PF on the second page of the area leaves memory unchanged', async () => {
    const r = await run('xor ecx, ecx; mov eax, 3; xor edx, edx; xsetbv; mov eax, 3; xsave [rsi]', {
      gpr: [0n, 0n, 0n, 0n, 0n, 0n, 0x400000n - 0x200n],
      setup: (_v, mem) => {
        // PML4[0] -> PDPT 0x6000 -> PD 0x7000: 2 MiB page 0 present, PD[1] -> PT 0x8000 with only page 0x3ff000 present.
        mem.writeU64(0x1000, 0x6000n | 3n);
        mem.writeU64(0x6000, 0x7000n | 3n);
        mem.fill(0x7000, 0x1000, 0); mem.fill(0x8000, 0x1000, 0);
        mem.writeU64(0x7000, 0x83n);
        mem.writeU64(0x7008, 0x8000n | 3n);
        mem.writeU64(0x8000 + 0x1ff * 8, 0x3ff000n | 3n);
        mem.fill(0x3ffe00, 0x200, 0xab);
      },
    });
    expect(r.vector).toBe(14);
    expect(r.mem.readBytes(0x3ffe00, 0x200).every((b) => b === 0xab)).toBe(true);
  });
});

describe('CPUID leaf 0DH', () => {
  test('sub-leaves 0, 1, 2 without AVX (x87 | SSE) and with it', () => {
    const p = createCpuidPolicy({ accel: 'jit', model: 'max' });
    const avx = JIT_IMPLEMENTED_FEATURES.includes('avx');
    expect(p.lookup(0, 0xd, 0, { xcr0: 3n })).toEqual({ eax: avx ? 7 : 3, ebx: 576, ecx: avx ? 832 : 576, edx: 0 });
    expect(p.lookup(0, 0xd, 1)).toEqual({ eax: 7, ebx: 0, ecx: 0, edx: 0 }); // XSAVEOPT, XSAVEC, XGETBV1; no XSAVES
    const a = withAvx();
    expect(a.lookup(0, 0xd, 0, { xcr0: 1n })).toEqual({ eax: 7, ebx: 576, ecx: 832, edx: 0 });
    expect(a.lookup(0, 0xd, 0, { xcr0: 7n })).toEqual({ eax: 7, ebx: 832, ecx: 832, edx: 0 });
    // SDM Vol. 1 §13.4.3 / Table 13-1: AVX state is 256 bytes at offset 576 (the host agrees: tests/differential/xsave.test.ts).
    expect(a.lookup(0, 0xd, 2)).toEqual({ eax: 256, ebx: 576, ecx: 0, edx: 0 });
    expect(a.lookup(0, 0xd, 3)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
  });
  test('the guest sees EBX follow XCR0', async () => {
    const r = await run('mov eax, 0xd; xor ecx, ecx; cpuid; mov r8, rbx; xor ecx, ecx; mov eax, 7; xor edx, edx; xsetbv; mov eax, 0xd; xor ecx, ecx; cpuid', { cpuid: withAvx() });
    expect(r.vector).toBeUndefined();
    expect([r.gpr[8], r.gpr[3]]).toEqual([576n, 832n]);
  });
});
