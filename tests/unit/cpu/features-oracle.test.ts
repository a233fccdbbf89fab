/**
 * Oracle test for the feature-bit table: the host CPU's own CPUID, read by a
 * small C helper built at test time, against the flags Linux derives from it
 * (/proc/cpuinfo). A wrong bit position in FEATURE_BITS shows up as a
 * disagreement for a feature this host has (or lacks).
 */
import { describe, expect, test, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, arch } from 'node:os';
import { join } from 'node:path';
import { FEATURE_BITS, type FeatureName } from '../../../src/cpu/features.js';

const HELPER = `#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    unsigned l = strtoul(argv[i], 0, 0), s = strtoul(argv[i + 1], 0, 0), a, b, c, d;
    __cpuid_count(l, s, a, b, c, d);
    printf("%u %u %u %u %u %u\\n", l, s, a, b, c, d);
  }
  return 0;
}
`;

/** Our (QEMU) name -> the Linux /proc/cpuinfo flag for the same CPUID bit (arch/x86/include/asm/cpufeatures.h). */
const LINUX_NAME: Partial<Record<FeatureName, string>> = {
  'sse4.1': 'sse4_1', 'sse4.2': 'sse4_2', 'tsc-deadline': 'tsc_deadline_timer', 'lahf-lm': 'lahf_lm', 'sha-ni': 'sha_ni',
  'fxsr-opt': 'fxsr_opt', 'cmp-legacy': 'cmp_legacy', 'ds-cpl': 'ds_cpl', 'tsc-adjust': 'tsc_adjust',
  'avx512vbmi2': 'avx512_vbmi2', 'avx512vnni': 'avx512_vnni', 'avx512bitalg': 'avx512_bitalg',
  'avx512-vpopcntdq': 'avx512_vpopcntdq', 'intel-pt': 'intel_pt', 'perfctr-core': 'perfctr_core',
  'perfctr-nb': 'perfctr_nb', 'nodeid-msr': 'nodeid_msr', 'cr8legacy': 'cr8_legacy', 'ds': 'dts', 'cid': 'cnxt-id',
  'invtsc': 'nonstop_tsc', 'avx512vbmi': 'avx512vbmi',
};

/**
 * Bits Linux does not mirror 1:1 into /proc/cpuinfo (synthetic, renamed or
 * cleared by the kernel): compared in neither direction.
 */
const NOT_COMPARABLE = new Set<FeatureName>([
  'spec-ctrl', 'stibp', 'ssbd', 'md-clear', 'arch-capabilities', // exposed as ibrs/ibpb/... or in bugs
  'pku', 'la57', 'sgx', 'mpx', 'waitpkg', 'umip', // cleared unless the kernel enables them
  'monitor', 'mce', 'mca', 'ia64', 'pn', 'cx8', 'syscall', // may be masked by kernel config/quirks
  'xtpr', 'pdcm', 'dca', 'est', 'tm2', 'smx', 'vmx', 'acpi', 'tm', 'pbe', 'dtes64', 'ds-cpl', 'ds', 'cid',
  'hle', 'rtm', // TSX may be disabled by the kernel (tsx=off) while CPUID shows it
  'invtsc', // Linux also sets nonstop_tsc from model quirks
]);

const runnable = arch() === 'x64' && process.platform === 'linux';

describe.runIf(runnable)('FEATURE_BITS vs the host CPU', () => {
  const regs = new Map<string, number[]>();
  let flags = new Set<string>();
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'cpuid-oracle-'));
    writeFileSync(join(dir, 'cpuid.c'), HELPER);
    execFileSync('gcc', ['-O1', '-o', join(dir, 'cpuid'), join(dir, 'cpuid.c')]);
    const leaves = new Set<string>();
    for (const bits of Object.values(FEATURE_BITS)) for (const b of bits) leaves.add(`${b.leaf} ${b.subleaf}`);
    const args = [...leaves].flatMap((l) => l.split(' '));
    for (const line of execFileSync(join(dir, 'cpuid'), args, { encoding: 'utf8' }).trim().split('\n')) {
      const [l, s, ...r] = line.split(' ').map(Number);
      regs.set(`${l} ${s}`, r);
    }
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^flags\s*:\s*(.*)$/m.exec(cpuinfo);
    flags = new Set((m?.[1] ?? '').split(/\s+/));
  });

  test('every comparable named bit agrees with /proc/cpuinfo', () => {
    const mismatches: string[] = [];
    let compared = 0;
    let present = 0;
    for (const [name, bits] of Object.entries(FEATURE_BITS) as Array<[FeatureName, readonly { leaf: number; subleaf: number; reg: 'eax' | 'ebx' | 'ecx' | 'edx'; bit: number }[]]>) {
      if (NOT_COMPARABLE.has(name) || name.startsWith('kvm')) continue;
      const b = bits[0]!;
      const r = regs.get(`${b.leaf} ${b.subleaf}`);
      if (!r) continue;
      const value = r[['eax', 'ebx', 'ecx', 'edx'].indexOf(b.reg)]!;
      const set = ((value >>> b.bit) & 1) === 1;
      const flag = flags.has(LINUX_NAME[name] ?? name);
      compared++;
      if (set) present++;
      if (set !== flag) mismatches.push(`${name}: CPUID ${set ? 1 : 0}, cpuinfo ${flag ? 1 : 0}`);
    }
    expect(mismatches).toEqual([]);
    // The comparison must have bite: many features checked, both present and absent ones.
    expect(compared).toBeGreaterThan(80);
    expect(present).toBeGreaterThan(20);
    expect(compared - present).toBeGreaterThan(10);
  });
});
