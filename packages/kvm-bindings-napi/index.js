'use strict';
// Loads the compiled addon. If it was not built (no compiler, not Linux),
// `loadError` says why and `bindings` is null: callers report KVM as unavailable.
const path = require('node:path');

let bindings = null;
let loadError = null;
for (const dir of ['Release', 'Debug']) {
  try {
    bindings = require(path.join(__dirname, 'build', dir, 'kvm_bindings.node'));
    loadError = null;
    break;
  } catch (e) {
    loadError = loadError ?? e;
  }
}
module.exports = { bindings, loadError };
