// Builds the optional KVM addon (packages/kvm-bindings-napi) with node-gyp.
//
// Run from the root package's `build` script: npm runs the root package's
// lifecycle scripts on install, but not the install scripts of dependencies
// (npm 11 asks for approval first), so the addon is built here.
// A failed build is not an error: the KVM accelerator then reports itself
// unavailable (AccelError KVM_UNAVAILABLE) and the JIT still works. We print
// one warning line and exit 0. Set MICROVM_NATIVE_VERBOSE=1 to see the
// compiler output, MICROVM_SKIP_NATIVE=1 to skip the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'packages', 'kvm-bindings-napi');
const verbose = process.env.MICROVM_NATIVE_VERBOSE === '1';

function warn(msg) {
  console.warn(`build-native: warning: ${msg}; the KVM accelerator will be unavailable`);
  process.exit(0);
}

if (process.env.MICROVM_SKIP_NATIVE === '1') {
  console.log('build-native: skipped (MICROVM_SKIP_NATIVE=1)');
  process.exit(0);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  warn(`KVM addon needs linux/x64, this is ${process.platform}/${process.arch}`);
}
if (!existsSync(join(pkgDir, 'binding.gyp'))) warn('packages/kvm-bindings-napi/binding.gyp is missing');

/** node-gyp: the one npm gives its scripts, a local install, or the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  return candidates.find((c) => existsSync(c));
}

const gyp = findNodeGyp();
if (!gyp) warn('node-gyp not found');

const args = [gyp, 'rebuild', '--loglevel=' + (verbose ? 'info' : 'error')];
// Build against the headers of the running node when they are installed
// (Debian's nodejs ships them in /usr/include/node), so nothing is downloaded.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h') && process.execPath.startsWith('/usr/')) {
  args.push('--nodedir=/usr');
}
const r = spawnSync(process.execPath, args, {
  cwd: pkgDir,
  stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
  env: { ...process.env, JOBS: process.env.JOBS ?? '1' },
});
if (r.status !== 0) {
  const out = `${r.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l))?.trim();
  warn(`node-gyp rebuild failed${out ? `: ${out.slice(0, 200)}` : ''} (MICROVM_NATIVE_VERBOSE=1 for details)`);
}
console.log('build-native: built packages/kvm-bindings-napi/build/Release/kvm_bindings.node');
