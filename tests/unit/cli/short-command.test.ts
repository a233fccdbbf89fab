// Issue 9: `npx microvm-ts -kernel <guest>` with no other option boots a
// guest that follows TamaGo's boot sequence (firmware/tamago-seq): it needs
// our default RAM (linked at 0x10010000), CPU model (1 GiB pages, invariant
// TSC, TSC-deadline, RDRAND, kvmclock leaves) and machine (RTC, no PIT/PIC).
// Also `npx microvm-ts` with no arguments boots the demo and exits 0.
// Run as a user would: a child process, stdin not a terminal.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const VITE_NODE = `${ROOT}node_modules/.bin/vite-node`;
const RUNNER = `${ROOT}tests/unit/cli/fixtures/run-cli.ts`;

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(VITE_NODE, [RUNNER, '--', ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 100_000, input: '',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the short command line', () => {
  test('-kernel tamago-seq-1g.elf, nothing else', () => {
    const guest = `${ROOT}firmware/out/tamago-seq-1g.elf`;
    expect(existsSync(guest)).toBe(true);
    const r = cli(['-kernel', guest]);
    const lines = r.stdout.split(/\r?\n/);
    // Ends (TamaGo's triple fault) with status 0: -no-reboot is our default.
    expect(r.status, `stderr: ${r.stderr}\nstdout: ${r.stdout}`).toBe(0);
    expect(lines).toContain('tamago-seq: TamaGo boot sequence (1 GiB pages), image at 0x10010000');
    expect(lines).toContain('paging: PML4 at 0x9000, CR0=0x80000013 CR4=0x6a0 EFER=0x500');
    expect(lines.some((l) => /^cpu: vendor (GenuineIntel|AuthenticAMD), hypervisor bit 1, tsc-deadline 1, invariant tsc 1, rdrand 1$/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('kvm: max leaf 0x40000010, features '))).toBe(true);
    expect(lines).toContain('timer: TSC-deadline mode, vector 255, 5 ticks');
    expect(lines).toContain('rdrand: ok');
    expect(lines).toContain('smp: 1 CPUs by CPUID, started 1, semaphore 0 after 0 ms');
    expect(lines.some((l) => /^cpus=1 timer_ticks=5 tsc_khz=\d+ /.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('TAMAGO-SEQ '))).toBe(true);
  });
  test('no arguments: the demo, status 0', () => {
    const r = cli([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Hello from microvm-ts guest: the demo');
    expect(r.stdout).toContain('features   long mode yes, 1 GiB pages yes, TSC-deadline yes, invariant TSC yes, RDRAND yes');
    expect(r.stdout).toContain('The demo ends now (isa-debug-exit if present, else a triple fault).');
  });
});
