// The JIT decodes with the feature set of the machine's CPU model: an
// instruction of an extension the model's CPUID does not report raises #UD
// (vector 6, caught here by an IDT whose handlers record their vector in R15),
// and encodings that change meaning with a feature follow the model (F3 0F BD
// is LZCNT only when CPUID.80000001H:ECX.ABM is set, BSR otherwise; SDM LZCNT).
// Byte encodings from the SDM opcode tables.
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import { hasFeature } from '../../../src/cpu/decoder/features.js';
import { Feature } from '../../../src/cpu/decoder/types.js';
import { JIT_DECODER_FEATURES, jitDecoderFeatures } from '../../../src/cpu/runtime/guest-features.js';
import type { SegmentState, VcpuState } from '../../../src/accel/types.js';

const CODE = 0x100000;
const IDT = 0x3000;
const HANDLERS = 0x4000;
const GDT = 0x5000;
const NO_VECTOR = 0xdeadn;

function flat(sel: number, code: boolean): SegmentState {
  return { selector: sel, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3, present: true, dpl: 0, db: !code, s: true, l: code, g: true, avl: false, unusable: false };
}

export interface ModelRun { stop: string; vector: number | undefined; gpr: bigint[]; rflags: bigint }

/**
 * Run `code` (then HLT) in 64-bit ring 0 on a JIT whose CPU is `model` with
 * `features` overrides; registers start from `gpr` (RSP is set to a stack).
 * Exceptions 0..31 go to handlers `mov r15d, vector; hlt`.
 */
export async function runOnModel(model: string, features: Record<string, boolean>, code: number[], gpr: bigint[] = [], cr4 = 0x620n): Promise<ModelRun> {
  const mem = new GuestMemory(64 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  const jit = new JitAccelerator();
  await jit.init({
    memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: createCpuidPolicy({ accel: 'jit', model, features }), cpuCount: 1,
    onStop: () => {}, onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  mem.writeU64(0x1000, 0x2000n | 3n);
  mem.writeU64(0x2000, 0x83n);
  // GDT: null, 64-bit code (selector 8), data (selector 16).
  mem.writeU64(GDT, 0n); mem.writeU64(GDT + 8, 0x00209a0000000000n); mem.writeU64(GDT + 16, 0x00cf92000000ffffn);
  for (let v = 0; v < 32; v++) {
    const h = HANDLERS + v * 16;
    mem.writeBytes(h, new Uint8Array([0x41, 0xbf, v, 0, 0, 0, 0xf4])); // mov r15d, v; hlt
    // 64-bit interrupt gate (SDM Vol. 3 Figure 6-8): offset, selector 8, type 0xE, present.
    mem.writeU64(IDT + v * 16, BigInt(h & 0xffff) | (8n << 16n) | (0x8en << 40n) | (BigInt(h >>> 16) << 48n));
    mem.writeU64(IDT + v * 16 + 8, 0n);
  }
  mem.writeBytes(CODE, new Uint8Array([...code, 0xf4]));
  const regs = Array.from({ length: 16 }, (_, i) => gpr[i] ?? 0n);
  regs[4] = 0x80000n;
  regs[15] = NO_VECTOR;
  const nul: SegmentState = { ...flat(0, false), unusable: true, present: false };
  const s: VcpuState = {
    regs: { gpr: regs, rip: BigInt(CODE), rflags: 2n },
    sregs: {
      cs: flat(8, true), ds: flat(16, false), es: flat(16, false), ss: flat(16, false), fs: flat(16, false), gs: flat(16, false),
      tr: { ...flat(0x18, false), type: 0xb, s: false, limit: 0x67 }, ldt: nul, gdt: { base: BigInt(GDT), limit: 0x17 }, idt: { base: BigInt(IDT), limit: 32 * 16 - 1 },
      cr0: 0x80000033n, cr2: 0n, cr3: 0x1000n, cr4, cr8: 0n, efer: 0xd00n, apicBase: 0xfee00900n,
    },
  };
  jit.setState(0, s);
  const v = jit.vcpus[0]!;
  v.runState = 'running';
  const stop = v.run(10000);
  const out = jit.getState(0);
  const r15 = out.regs.gpr[15]!;
  return { stop, vector: r15 === NO_VECTOR ? undefined : Number(r15), gpr: out.regs.gpr, rflags: out.regs.rflags };
}

const POPCNT = [0xf3, 0x48, 0x0f, 0xb8, 0xc3]; // popcnt rax, rbx (POPCNT)
const CRC32 = [0xf2, 0x0f, 0x38, 0xf1, 0xc3]; // crc32 eax, ebx (SSE4.2)
const PCMPGTQ = [0x66, 0x0f, 0x38, 0x37, 0xc1]; // pcmpgtq xmm0, xmm1 (SSE4.2)
const AESENC = [0x66, 0x0f, 0x38, 0xdc, 0xc1]; // aesenc xmm0, xmm1 (AES)
const PCLMUL = [0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00]; // pclmulqdq xmm0, xmm1, 0 (PCLMULQDQ)
const LZCNT = [0xf3, 0x48, 0x0f, 0xbd, 0xc3]; // lzcnt rax, rbx (ABM); BSR rax, rbx without it

describe('the JIT decodes with the CPU model\'s features', () => {
  const cases: Array<[string, number[], string, Record<string, boolean>, number | undefined]> = [
    ['popcnt on qemu64', POPCNT, 'qemu64', {}, 6],
    ['popcnt on max', POPCNT, 'max', {}, undefined],
    ['popcnt on max,-popcnt', POPCNT, 'max', { popcnt: false }, 6],
    ['popcnt on qemu64,+popcnt', POPCNT, 'qemu64', { popcnt: true }, undefined],
    ['crc32 on qemu64', CRC32, 'qemu64', {}, 6],
    ['crc32 on max', CRC32, 'max', {}, undefined],
    ['pcmpgtq on max,-sse4.2', PCMPGTQ, 'max', { 'sse4.2': false }, 6],
    ['aesenc on qemu64', AESENC, 'qemu64', {}, 6],
    ['aesenc on max', AESENC, 'max', {}, undefined],
    ['pclmulqdq on kvm64', PCLMUL, 'kvm64', {}, 6],
    ['pclmulqdq on microvm-default', PCLMUL, 'microvm-default', {}, undefined],
  ];
  for (const [name, code, model, features, vector] of cases) {
    test(name, async () => {
      const r = await runOnModel(model, features, code, [0n, 0n, 0n, 0xf0f0n]);
      expect(r.stop).toBe('halted');
      expect(r.vector).toBe(vector);
    });
  }

  test('popcnt on max computes (rbx = 0xf0f0 has 8 bits set)', async () => {
    const r = await runOnModel('max', {}, POPCNT, [0n, 0n, 0n, 0xf0f0n]);
    expect(r.gpr[0]).toBe(8n);
  });

  test('F3 0F BD is BSR on a model without ABM (qemu64)', async () => {
    const r = await runOnModel('qemu64', {}, LZCNT, [0n, 0n, 0n, 0xf0f0n]);
    expect(r.vector).toBeUndefined();
    expect(r.gpr[0]).toBe(15n); // BSR: index of the highest set bit; LZCNT would give 48
  });

  test('F3 0F BD is LZCNT on max (ABM reported)', async () => {
    const r = await runOnModel('max', {}, LZCNT, [0n, 0n, 0n, 0xf0f0n]);
    expect(r.gpr[0]).toBe(48n);
  });

  test('F3 0F BC is BSF without BMI1 (source 0: destination unchanged, ZF set) and TZCNT with it', async () => {
    const tz = [0xf3, 0x48, 0x0f, 0xbc, 0xc3]; // tzcnt rax, rbx
    const bsf = await runOnModel('max', { bmi1: false }, tz, [0x77n, 0n, 0n, 0n]);
    expect(bsf.gpr[0]).toBe(0x77n);
    const tzcnt = await runOnModel('max', {}, tz, [0x77n, 0n, 0n, 0n]);
    expect(tzcnt.gpr[0]).toBe(64n);
    expect(tzcnt.rflags & 1n).toBe(1n); // CF: source was 0
  });

  const ANDN = [0xc4, 0xe2, 0xe0, 0xf2, 0xc1]; // andn rax, rbx, rcx (BMI1)
  const PDEP = [0xc4, 0xe2, 0xe3, 0xf5, 0xc1]; // pdep rax, rbx, rcx (BMI2)
  const ADCX = [0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc3]; // adcx rax, rbx (ADX)
  const MOVBE = [0x48, 0x0f, 0x38, 0xf0, 0x06]; // movbe rax, [rsi] (MOVBE)
  const RDPID = [0xb9, 0x03, 0x01, 0x00, 0xc0, 0xb8, 0x34, 0x12, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, // mov ecx, 0xc0000103; mov eax, 0x1234; xor edx, edx; wrmsr
    0xf3, 0x0f, 0xc7, 0xfb]; // rdpid rbx
  const gated: Array<[string, number[], string]> = [['andn', ANDN, 'bmi1'], ['pdep', PDEP, 'bmi2'], ['adcx', ADCX, 'adx'], ['movbe', MOVBE, 'movbe']];
  for (const [name, code, feat] of gated) {
    test(`${name}: #UD on qemu64 and on max,-${feat}; runs on max`, async () => {
      const regs = [0n, 0n, 0n, 0n, 0n, 0n, 0x200000n];
      expect((await runOnModel('qemu64', {}, code, regs)).vector).toBe(6);
      expect((await runOnModel('max', { [feat]: false }, code, regs)).vector).toBe(6);
      expect((await runOnModel('max', {}, code, regs)).vector).toBeUndefined();
    });
  }

  test('rdpid reads IA32_TSC_AUX on max and raises #UD on qemu64', async () => {
    const r = await runOnModel('max', {}, RDPID);
    expect(r.vector).toBeUndefined();
    expect(r.gpr[3]).toBe(0x1234n);
    // qemu64 has neither RDTSCP nor RDPID: the WRMSR to TSC_AUX already faults (#GP).
    expect((await runOnModel('qemu64', {}, RDPID.slice(14))).vector).toBe(6);
  });

  test('the decoder set is what CPUID reports, within what the JIT executes', () => {
    const q = jitDecoderFeatures(createCpuidPolicy({ accel: 'jit', model: 'qemu64' }));
    expect(hasFeature(q, Feature.POPCNT)).toBe(false);
    expect(hasFeature(q, Feature.SSE3)).toBe(true); // qemu64 has pni
    expect(hasFeature(q, Feature.SVM)).toBe(true); // VMMCALL: always (KVM hypercall)
    expect(hasFeature(q, Feature.SSE2)).toBe(true);
    const m = jitDecoderFeatures(createCpuidPolicy({ accel: 'jit', model: 'max' }));
    expect(m.words).toEqual(JIT_DECODER_FEATURES.words);
    expect(hasFeature(m, Feature.RDPMC)).toBe(false);
    // A policy that reports more than the JIT implements (KVM's supported set) is cut to the JIT's set.
    const k = jitDecoderFeatures(createCpuidPolicy({ accel: 'kvm', model: 'max' }));
    expect(hasFeature(k, Feature.RTM)).toBe(false);
    expect(hasFeature(JIT_DECODER_FEATURES, Feature.RTM)).toBe(false);
  });
});
