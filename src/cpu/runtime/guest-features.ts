/**
 * The decoder feature set of a JIT machine, derived from the CPU model's
 * CPUID so that exactly the advertised instructions decode (CPU-JIT.md:
 * "CPUID reports exactly what is implemented"). The single source of truth
 * is features.ts JIT_IMPLEMENTED_FEATURES: it decides what CPUID may report,
 * and the decoder follows from what CPUID reports. An extension the model
 * leaves out (`-cpu qemu64`, `-cpu max,-popcnt`) then decodes to #UD, and
 * encodings whose meaning depends on a feature fall back to their older
 * form, as hardware does: F3 0F BD is LZCNT only with CPUID.80000001H:ECX.ABM,
 * BSR otherwise; F3 0F BC is TZCNT only with BMI1, BSF otherwise (SDM LZCNT,
 * TZCNT: "on processors that do not support [it], the instruction byte
 * encoding is executed as BSR/BSF").
 */
import { featuresFromCpuid, makeFeatureSet } from '../decoder/features.js';
import { Feature, type FeatureSet } from '../decoder/types.js';
import { createCpuidPolicy, type CpuidPolicy } from '../cpuid.js';

/**
 * Decoded whatever CPUID says: VMCALL (VMX) and VMMCALL (SVM) are the KVM
 * hypercall instructions (Documentation/virt/kvm/x86/hypercalls.rst); the
 * executor runs them as hypercalls and the other VMX/SVM instructions #UD there.
 */
export const JIT_ALWAYS_DECODED: readonly Feature[] = [Feature.VMX, Feature.SVM];

/** Decoder features the executor does not implement even though featuresFromCpuid always includes them. */
const NOT_IMPLEMENTED: readonly Feature[] = [Feature.RDPMC];

function fromPolicy(policy: CpuidPolicy): FeatureSet {
  return featuresFromCpuid((leaf, subleaf) => policy.lookup(0, leaf, subleaf));
}

function combine(a: FeatureSet, b: FeatureSet, op: (x: number, y: number) => number): FeatureSet {
  const words = new Uint32Array(a.words.length);
  for (let i = 0; i < words.length; i++) words[i] = op(a.words[i] ?? 0, b.words[i] ?? 0);
  return { words };
}

/**
 * Every decoder feature the JIT executes: what the `max` model (all of
 * JIT_IMPLEMENTED_FEATURES) reports, plus JIT_ALWAYS_DECODED.
 */
export const JIT_DECODER_FEATURES: FeatureSet = (() => {
  const max = fromPolicy(createCpuidPolicy({ model: 'max', accel: 'jit' }));
  const withAlways = combine(max, makeFeatureSet(JIT_ALWAYS_DECODED), (x, y) => x | y);
  return combine(withAlways, makeFeatureSet(NOT_IMPLEMENTED), (x, y) => x & ~y);
})();

/**
 * The decoder feature set for a machine whose vCPUs all see `policy` (every
 * vCPU of a machine shares the CPU model; only APIC IDs differ): what its
 * CPUID reports, limited to what the JIT executes, plus JIT_ALWAYS_DECODED.
 */
export function jitDecoderFeatures(policy: CpuidPolicy): FeatureSet {
  const reported = combine(fromPolicy(policy), makeFeatureSet(JIT_ALWAYS_DECODED), (x, y) => x | y);
  return combine(reported, JIT_DECODER_FEATURES, (x, y) => x & y);
}
