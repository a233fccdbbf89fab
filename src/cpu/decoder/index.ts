export * from './types.js';
export { decode, decodeInto, relTarget } from './decoder.js';
export { ALL_FEATURES, makeFeatureSet, hasFeature, withoutFeatures, featuresFromCpuid } from './features.js';
export { formatInstruction, formDescription, registerName, gprName } from './disasm.js';
export { FORMS } from './build.js';
