// -cpu parsing (target/i386/cpu.c x86_cpu_parse_featurestr, QEMU 7.2).
import { describe, expect, test } from 'vitest';
import { parseCpuOption } from '../../../src/cli/cpu-option.js';
import { CliError, type CliErrorCode } from '../../../src/cli/errors.js';
import type { CpuConfig } from '../../../src/machine/config.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';

describe('-cpu model and features', () => {
  const cases: Array<[string, CpuConfig]> = [
    ['host', { model: 'host', features: {} }],
    ['max', { model: 'max', features: {} }],
    ['qemu64', { model: 'qemu64', features: {} }],
    ['kvm64', { model: 'kvm64', features: {} }],
    ['microvm-default', { model: 'microvm-default', features: {} }],
    ['host,invtsc=on,kvmclock=on', { model: 'host', features: { invtsc: true, kvmclock: true } }],
    ['qemu64,+rdrand', { model: 'qemu64', features: { rdrand: true } }],
    ['qemu64,-rdrand', { model: 'qemu64', features: { rdrand: false } }],
    ['qemu64,rdrand=off', { model: 'qemu64', features: { rdrand: false } }],
    // Bare name = on; QEMU's bool visitor takes yes/no/true/false/y/n too.
    ['qemu64,rdrand', { model: 'qemu64', features: { rdrand: true } }],
    ['qemu64,rdrand=yes,pdpe1gb=no,invtsc=true,x2apic=false', { model: 'qemu64', features: { rdrand: true, pdpe1gb: false, invtsc: true, x2apic: false } }],
    // '_' and '-' are the same; QEMU aliases resolve to the canonical name.
    ['qemu64,tsc_deadline=on,sse4_1=on,lahf_lm=off', { model: 'qemu64', features: { 'tsc-deadline': true, 'sse4.1': true, 'lahf-lm': false } }],
    ['qemu64,sse3=on', { model: 'qemu64', features: { pni: true } }],
    // key=value: last wins.
    ['max,rdrand=off,rdrand=on', { model: 'max', features: { rdrand: true } }],
    // +feat is applied after feat=..., -feat after +feat, whatever the order written.
    ['max,+rdrand,rdrand=off', { model: 'max', features: { rdrand: true } }],
    ['max,-rdrand,+rdrand', { model: 'max', features: { rdrand: false } }],
    ['max,-rdrand,rdrand=on', { model: 'max', features: { rdrand: false } }],
    ['max,,+rdrand', { model: 'max', features: { rdrand: true } }],
    ['max,tsc-frequency=2500000000', { model: 'max', features: {}, tscKhz: 2_500_000 }],
    ['max,tsc_frequency=1000000', { model: 'max', features: {}, tscKhz: 1000 }],
    ['max,vendor=GenuineIntel', { model: 'max', features: {}, vendor: 'GenuineIntel' }],
    ['max,phys-bits=46', { model: 'max', features: {}, physBits: 46 }],
    ['max,pmu=off,check=on', { model: 'max', features: {} }],
  ];
  for (const [text, want] of cases) {
    test(text, () => expect(parseCpuOption(text)).toEqual(want));
  }
  test('feature order is the application order the CPUID policy expects (last write last)', () => {
    expect(Object.keys(parseCpuOption('max,pdpe1gb=on,rdrand=on,invtsc=off,pdpe1gb=off').features))
      .toEqual(['rdrand', 'invtsc', 'pdpe1gb']);
  });
  test('every parsed config is accepted by the CPUID policy', () => {
    for (const [text] of cases) {
      const c = parseCpuOption(text);
      expect(() => createCpuidPolicy({ model: c.model, features: c.features, accel: 'jit' })).not.toThrow();
    }
  });

  const errors: Array<[string, CliErrorCode, string]> = [
    ['foo', 'BAD_VALUE', "unable to find CPU model 'foo'"],
    ['', 'BAD_VALUE', "unable to find CPU model ''"],
    [',+rdrand', 'BAD_VALUE', "unable to find CPU model ''"],
    ['Haswell', 'UNSUPPORTED', "CPU model 'Haswell' is not supported by microvm-ts (models: microvm-default, max, qemu64, kvm64, host; add features with +feat)"],
    ['EPYC-v2', 'UNSUPPORTED', "CPU model 'EPYC-v2' is not supported by microvm-ts (models: microvm-default, max, qemu64, kvm64, host; add features with +feat)"],
    ['qemu64,foobar=on', 'BAD_VALUE', "-cpu qemu64,foobar=on: CPU feature 'foobar' not found (see -cpu help)"],
    ['qemu64,+foobar', 'BAD_VALUE', "-cpu qemu64,+foobar: CPU feature 'foobar' not found (see -cpu help)"],
    ['qemu64,-foobar', 'BAD_VALUE', "-cpu qemu64,-foobar: CPU feature 'foobar' not found (see -cpu help)"],
    ['qemu64,rdrand=maybe', 'BAD_VALUE', "-cpu qemu64,rdrand=maybe: Parameter 'rdrand' expects 'on' or 'off'"],
    ['qemu64,rdrand=On', 'BAD_VALUE', "-cpu qemu64,rdrand=On: Parameter 'rdrand' expects 'on' or 'off'"],
    ['max,tsc-frequency=abc', 'BAD_VALUE', "-cpu max,tsc-frequency=abc: Parameter 'tsc-frequency' expects integer"],
    ['max,tsc-frequency=1000', 'BAD_VALUE', "-cpu max,tsc-frequency=1000: Parameter 'tsc-frequency' expects a value in 1000000..4294967295000, got '1000'"],
    ['max,vendor=Cyrix', 'BAD_VALUE', "-cpu max,vendor=Cyrix: Parameter 'vendor' expects GenuineIntel or AuthenticAMD"],
    ['max,phys-bits=60', 'BAD_VALUE', "-cpu max,phys-bits=60: Parameter 'phys-bits' expects a value in 36..52, got '60'"],
    ['max,pmu=on', 'UNSUPPORTED', '-cpu max,pmu=on: pmu=on is not supported (no performance monitoring unit)'],
    // QEMU's -cpu has no ",," escaping: model-id=foo,,bar is model-id=foo then a feature "bar".
    ['max,model-id=foo,,bar', 'BAD_VALUE', "-cpu max,model-id=foo,,bar: CPU feature 'model-id' not found (see -cpu help)"],
  ];
  for (const [text, code, msg] of errors) {
    test(`${JSON.stringify(text)} -> ${code}`, () => {
      let caught: unknown;
      try { parseCpuOption(text); } catch (e) { caught = e; }
      expect(caught).toBeInstanceOf(CliError);
      expect([(caught as CliError).code, (caught as CliError).message]).toEqual([code, msg]);
    });
  }
});
