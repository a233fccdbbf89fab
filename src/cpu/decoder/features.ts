/**
 * Feature sets for the decoder: which optional instruction-set extensions
 * decode (absent ones decode to #UD, UdReason.FEATURE).
 */
import { FEATURE_COUNT, Feature, type FeatureSet } from './types.js';

export function makeFeatureSet(features: Iterable<Feature>): FeatureSet {
  const words = new Uint32Array(FEATURE_COUNT >>> 5);
  for (const f of features) words[f >>> 5] = (words[f >>> 5] ?? 0) | (1 << (f & 31));
  return { words };
}

export function hasFeature(set: FeatureSet, f: Feature): boolean {
  return (((set.words[f >>> 5] ?? 0) >>> (f & 31)) & 1) !== 0;
}

/** Every feature the decoder knows (the default of decode/decodeInto). */
export const ALL_FEATURES: FeatureSet = makeFeatureSet(Object.values(Feature));

/** Set minus the given features. */
export function withoutFeatures(set: FeatureSet, remove: Iterable<Feature>): FeatureSet {
  const words = set.words.slice();
  for (const f of remove) words[f >>> 5] = (words[f >>> 5] ?? 0) & ~(1 << (f & 31));
  return { words };
}

/** One CPUID result (same shape as src/cpu/cpuid.ts CpuidResult). */
export interface CpuidRegs { eax: number; ebx: number; ecx: number; edx: number }

/**
 * The feature set a guest was promised by CPUID, so that the decoder accepts
 * exactly the advertised instructions (CPU-JIT.md: "CPUID reports exactly what
 * is implemented"). Bit positions: Intel SDM Vol. 2 "CPUID" (leaves 1, 7, 0Dh),
 * AMD APM Vol. 3 Appendix E (80000001h, 80000008h).
 */
export function featuresFromCpuid(cpuid: (leaf: number, subleaf: number) => CpuidRegs): FeatureSet {
  const f: Feature[] = [Feature.RDPMC];
  const bit = (v: number, b: number): boolean => ((v >>> b) & 1) === 1;
  const maxStd = cpuid(0, 0).eax >>> 0;
  const maxExt = cpuid(0x80000000, 0).eax >>> 0;
  const on = (cond: boolean, ...fs: Feature[]): void => { if (cond) f.push(...fs); };
  if (maxStd >= 1) {
    const l1 = cpuid(1, 0);
    on(bit(l1.edx, 0), Feature.X87); on(bit(l1.edx, 8), Feature.CX8); on(bit(l1.edx, 11), Feature.SYSENTER);
    on(bit(l1.edx, 15), Feature.CMOV); on(bit(l1.edx, 19), Feature.CLFSH); on(bit(l1.edx, 23), Feature.MMX);
    on(bit(l1.edx, 24), Feature.FXSR); on(bit(l1.edx, 25), Feature.SSE); on(bit(l1.edx, 26), Feature.SSE2);
    on(bit(l1.ecx, 0), Feature.SSE3); on(bit(l1.ecx, 1), Feature.PCLMULQDQ); on(bit(l1.ecx, 3), Feature.MONITOR);
    on(bit(l1.ecx, 5), Feature.VMX); on(bit(l1.ecx, 6), Feature.SMX); on(bit(l1.ecx, 9), Feature.SSSE3);
    on(bit(l1.ecx, 12), Feature.FMA); on(bit(l1.ecx, 13), Feature.CX16); on(bit(l1.ecx, 19), Feature.SSE4_1);
    on(bit(l1.ecx, 20), Feature.SSE4_2); on(bit(l1.ecx, 22), Feature.MOVBE); on(bit(l1.ecx, 23), Feature.POPCNT);
    on(bit(l1.ecx, 25), Feature.AES); on(bit(l1.ecx, 26), Feature.XSAVE); on(bit(l1.ecx, 28), Feature.AVX);
    on(bit(l1.ecx, 29), Feature.F16C); on(bit(l1.ecx, 30), Feature.RDRAND);
  }
  if (maxStd >= 7) {
    const l7 = cpuid(7, 0);
    on(bit(l7.ebx, 0), Feature.FSGSBASE); on(bit(l7.ebx, 3), Feature.BMI1); on(bit(l7.ebx, 5), Feature.AVX2);
    on(bit(l7.ebx, 8), Feature.BMI2); on(bit(l7.ebx, 10), Feature.INVPCID); on(bit(l7.ebx, 11), Feature.RTM);
    on(bit(l7.ebx, 18), Feature.RDSEED); on(bit(l7.ebx, 19), Feature.ADX); on(bit(l7.ebx, 20), Feature.SMAP);
    on(bit(l7.ebx, 23), Feature.CLFLUSHOPT); on(bit(l7.ebx, 24), Feature.CLWB); on(bit(l7.ebx, 29), Feature.SHA);
    on(bit(l7.ecx, 0), Feature.PREFETCHWT1); on(bit(l7.ecx, 3), Feature.PKU); on(bit(l7.ecx, 5), Feature.WAITPKG);
    on(bit(l7.ecx, 7), Feature.CET_SS); on(bit(l7.ecx, 22), Feature.RDPID); on(bit(l7.ecx, 25), Feature.CLDEMOTE);
    on(bit(l7.ecx, 27), Feature.MOVDIRI); on(bit(l7.ecx, 28), Feature.MOVDIR64B);
    on(bit(l7.edx, 14), Feature.SERIALIZE); on(bit(l7.edx, 20), Feature.CET_IBT);
  }
  if (maxStd >= 0xd) {
    const ld = cpuid(0xd, 1);
    on(bit(ld.eax, 0), Feature.XSAVEOPT); on(bit(ld.eax, 1), Feature.XSAVEC); on(bit(ld.eax, 3), Feature.XSAVES);
  }
  if (maxExt >= 0x80000001) {
    const e1 = cpuid(0x80000001, 0);
    on(bit(e1.ecx, 0), Feature.LAHF_LM); on(bit(e1.ecx, 2), Feature.SVM); on(bit(e1.ecx, 5), Feature.LZCNT);
    on(bit(e1.ecx, 6), Feature.SSE4A); on(bit(e1.ecx, 8), Feature.PREFETCHW); on(bit(e1.ecx, 29), Feature.MONITORX);
    on(bit(e1.edx, 11), Feature.SYSCALL); on(bit(e1.edx, 27), Feature.RDTSCP);
  }
  if (maxExt >= 0x80000008) {
    const e8 = cpuid(0x80000008, 0);
    on(bit(e8.ebx, 0), Feature.CLZERO); on(bit(e8.ebx, 4), Feature.RDPRU); on(bit(e8.ebx, 9), Feature.WBNOINVD);
  }
  return makeFeatureSet(f);
}
