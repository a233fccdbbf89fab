export * from './types.js';
export { decode, decodeInto, relTarget } from './decoder.js';
export { ALL_FEATURES, makeFeatureSet, hasFeature, withoutFeatures } from './features.js';
