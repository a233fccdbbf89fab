/**
 * `-cpu model[,+feat][,-feat][,feat=on|off][,prop=value]` as QEMU parses it
 * (target/i386/cpu.c x86_cpu_parse_featurestr, QEMU 7.2):
 * - the string is split on every ',' (no `,,` escaping in -cpu);
 * - `feat=value` and bare `feat` (= on) are applied in order, last wins;
 * - the legacy `+feat` list is applied after them, then the `-feat` list, so
 *   `-feat` beats `+feat` beats `feat=on` whatever the order.
 * Feature names follow QEMU's spelling, with `_` and `-` interchangeable and
 * QEMU's aliases (sse3, sse4_1, lahf_lm, ...), via src/cpu/features.ts.
 */
import { CPU_MODEL_NAMES } from '../cpu/cpuid.js';
import { ALL_FEATURES, canonicalFeatureName } from '../cpu/features.js';
import type { CpuConfig } from '../machine/config.js';
import { CliError } from './errors.js';
import { parseBool, parseUint } from './qemu-opts.js';

/** QEMU x86 model names we do not implement: named so the error can say so rather than "unknown". */
const QEMU_ONLY_MODELS = [
  '486', 'athlon', 'base', 'core2duo', 'coreduo', 'Conroe', 'Penryn', 'Nehalem', 'Westmere', 'SandyBridge',
  'IvyBridge', 'Haswell', 'Broadwell', 'Skylake-Client', 'Skylake-Server', 'Cascadelake-Server', 'Cooperlake',
  'Icelake-Server', 'SapphireRapids', 'Snowridge', 'Denverton', 'Dhyana', 'EPYC', 'EPYC-Rome', 'EPYC-Milan',
  'EPYC-Genoa', 'Opteron_G1', 'Opteron_G2', 'Opteron_G3', 'Opteron_G4', 'Opteron_G5', 'kvm32', 'qemu32',
  'pentium', 'pentium2', 'pentium3', 'phenom', 'n270', 'KnightsMill', 'GraniteRapids', 'SierraForest',
];

/** Models accepted by `-cpu`: the CPUID policy's (src/cpu/cpuid.ts). */
export function supportedCpuModels(): readonly string[] {
  return CPU_MODEL_NAMES;
}

const VENDORS = new Set(['GenuineIntel', 'AuthenticAMD']);

/** Non-feature properties accepted after the model. */
const CPU_PROPS = new Set(['tsc-frequency', 'vendor', 'phys-bits', 'pmu', 'check']);

export function parseCpuOption(text: string): CpuConfig {
  const where = `-cpu ${text}`;
  const parts = text.split(',');
  const model = parts[0] ?? '';
  if (model === '') throw new CliError('BAD_VALUE', `unable to find CPU model ''`);
  if (!supportedCpuModels().includes(model)) {
    const qemuOnly = QEMU_ONLY_MODELS.find((m) => m.toLowerCase() === model.toLowerCase().replace(/-v[0-9]+$/, ''));
    if (qemuOnly !== undefined) {
      throw new CliError('UNSUPPORTED', `CPU model '${model}' is not supported by microvm-ts ` +
        `(models: ${supportedCpuModels().join(', ')}; add features with +feat)`);
    }
    throw new CliError('BAD_VALUE', `unable to find CPU model '${model}'`);
  }
  const cpu: CpuConfig = { model, features: {} };
  const assigned = new Map<string, boolean>();
  const plus: string[] = [];
  const minus: string[] = [];
  const feature = (raw: string): string => {
    const canon = canonicalFeatureName(raw);
    if (canon === undefined) {
      throw new CliError('BAD_VALUE', `${where}: CPU feature '${raw}' not found (see -cpu help)`);
    }
    return canon;
  };
  for (const p of parts.slice(1)) {
    if (p === '') continue;
    if (p.startsWith('+')) { plus.push(feature(p.slice(1))); continue; }
    if (p.startsWith('-')) { minus.push(feature(p.slice(1))); continue; }
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? 'on' : p.slice(eq + 1);
    const prop = key.replace(/_/g, '-');
    if (CPU_PROPS.has(prop)) {
      applyCpuProp(cpu, prop, value, where);
      continue;
    }
    const canon = feature(key);
    assigned.delete(canon);
    assigned.set(canon, parseBool(value, key, where));
  }
  for (const f of plus) { assigned.delete(f); assigned.set(f, true); }
  for (const f of minus) { assigned.delete(f); assigned.set(f, false); }
  for (const [k, v] of assigned) cpu.features[k] = v;
  return cpu;
}

function applyCpuProp(cpu: CpuConfig, prop: string, value: string, where: string): void {
  switch (prop) {
    case 'tsc-frequency': {
      // Hz, as QEMU; the guest sees kHz (CPUID 0x40000010), so sub-kHz digits are dropped as KVM does.
      const hz = parseUint(value, 'tsc-frequency', where, 1_000_000, 0xffffffff * 1000);
      cpu.tscKhz = Math.floor(hz / 1000);
      return;
    }
    case 'vendor':
      if (!VENDORS.has(value)) {
        throw new CliError('BAD_VALUE', `${where}: Parameter 'vendor' expects GenuineIntel or AuthenticAMD`);
      }
      cpu.vendor = value as 'GenuineIntel' | 'AuthenticAMD';
      return;
    case 'phys-bits':
      cpu.physBits = parseUint(value, 'phys-bits', where, 36, 52);
      return;
    case 'pmu':
      // We implement no performance counters; pmu=off is what we are anyway.
      if (parseBool(value, 'pmu', where)) {
        throw new CliError('UNSUPPORTED', `${where}: pmu=on is not supported (no performance monitoring unit)`);
      }
      return;
    case 'check':
      // QEMU's default: warn about requested features the accelerator lacks. We always warn.
      parseBool(value, 'check', where);
      return;
    default:
      throw new CliError('BAD_VALUE', `${where}: Invalid parameter '${prop}'`);
  }
}

export function cpuHelpText(): string {
  const lines = ['Available CPU models:'];
  for (const m of supportedCpuModels()) lines.push(`  ${m}`);
  lines.push('', 'Default (no -cpu): microvm-default, see --help.', '', 'Recognized CPUID flags:');
  const names = [...ALL_FEATURES].sort();
  for (let i = 0; i < names.length; i += 8) lines.push(`  ${names.slice(i, i + 8).join(' ')}`);
  lines.push('', "Other properties: tsc-frequency=HZ, vendor=GenuineIntel|AuthenticAMD, phys-bits=36..52, pmu=off, check=on|off");
  return lines.join('\n');
}
