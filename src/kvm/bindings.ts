/**
 * Loads the kvm-bindings-napi addon (packages/kvm-bindings-napi). It is an
 * optional dependency: when it is missing or was not built, `loadKvmBindings`
 * says why instead of throwing.
 */
import { createRequire } from 'node:module';
import type { KvmBindings } from 'kvm-bindings-napi';

export type { KvmBindings, VcpuThread } from 'kvm-bindings-napi';

export type BindingsResult = { ok: true; bindings: KvmBindings } | { ok: false; reason: string };

let cached: BindingsResult | undefined;

export function loadKvmBindings(): BindingsResult {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    const mod = require('kvm-bindings-napi') as { bindings: KvmBindings | null; loadError: Error | null };
    cached = mod.bindings
      ? { ok: true, bindings: mod.bindings }
      : { ok: false, reason: `the KVM addon was not built (${mod.loadError?.message.split('\n')[0] ?? 'unknown error'}); run \`npm run build\` with g++, make and python3 installed` };
  } catch (e) {
    cached = { ok: false, reason: `the KVM addon package kvm-bindings-napi is not installed (${(e as Error).message.split('\n')[0]})` };
  }
  return cached;
}
