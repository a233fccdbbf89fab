// The JIT decodes with the feature set of the machine's CPU model: an
// instruction of an extension the model's CPUID does not report raises #UD
// (vector 6, caught here by an IDT whose handlers record their vector in R15),
// and encodings that change meaning with a feature follow the model (F3 0F BD
// is LZCNT only when CPUID.80000001H:ECX.ABM is set, BSR otherwise; SDM LZCNT).
// Byte encodings from the SDM opcode tables.
import { describe, expect, test } from 'vitest';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import { hasFeature } from '../../../src/cpu/decoder/features.js';
import { Feature } from '../../../src/cpu/decoder/types.js';
import { JIT_DECODER_FEATURES, jitDecoderFeatures } from '../../../src/cpu/runtime/guest-features.js';
import { runOnModel } from './jit-model-harness.js';

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
