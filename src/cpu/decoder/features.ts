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
