/**
 * Our guests under the reference machine, Debian's qemu-system-x86_64
 * -machine microvm: the outputs and exit statuses recorded in
 * expectations.ts are what QEMU produces, so microvm-ts's integration tests
 * can hold our machine to them. TCG always; KVM when /dev/kvm is usable.
 * QEMU is installed by .ci/run (apt-get install qemu-system-x86); without
 * it these tests are skipped and say so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BENCH_CPU, BENCH_NATIVE_PATH, CONSOLE, DEMO, SIMD, EXIT_CODE, GUEST_EXIT, HELLO, TAMAGO_SEQ, benchChecksums, buildFirmware,
  debugExitStatus, guestPath, serialLines, type GuestName,
} from './expectations.js';
import { expectedSimdLines } from './simd-oracle.js';

const QEMU = 'qemu-system-x86_64';

function have(cmd: string): boolean {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const haveQemu = have(QEMU);
const haveKvm = haveQemu && kvmUsable();
if (!haveQemu) console.warn(`firmware QEMU tests skipped: ${QEMU} not installed (apt-get install qemu-system-x86)`);

interface Run { status: number | null; out: string; err: string }

function boot(guest: GuestName, opts: { append?: string; smp?: number; debugExit?: boolean; kvm?: boolean; cpu?: string } = {}): Run {
  const args = [
    '-machine', 'microvm,pit=off,pic=off,rtc=on',
    '-m', '512M', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
    '-smp', String(opts.smp ?? 1),
    '-kernel', guestPath(guest),
  ];
  if (opts.kvm) args.push('-enable-kvm', '-cpu', opts.cpu ?? 'host');
  else args.push('-cpu', opts.cpu ?? 'max');
  if (opts.debugExit !== false) args.push('-device', 'isa-debug-exit,iobase=0xf4,iosize=4');
  if (opts.append !== undefined) args.push('-append', opts.append);
  const r = spawnSync(QEMU, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Boots the console guest and types each line after the next prompt. */
function converse(lines: readonly string[], opts: { append?: string; kvm?: boolean } = {}): Promise<Run> {
  const args = [
    '-machine', 'microvm,pit=off,pic=off,rtc=on', '-m', '128M', '-display', 'none', '-monitor', 'none',
    '-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
    ...(opts.kvm ? ['-enable-kvm', '-cpu', 'host'] : ['-cpu', 'max']),
    '-kernel', guestPath('console'),
    ...(opts.append !== undefined ? ['-append', opts.append] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = 0;
    let prompts = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const seen = out.split(CONSOLE.prompt).length - 1;
      while (prompts < seen) {
        prompts++;
        if (sent < lines.length) child.stdin.write(`${lines[sent++]}\r`);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { err += d; });
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out, err });
    });
  });
}

beforeAll(() => buildFirmware());

describe.skipIf(!haveQemu)('guests under QEMU microvm (TCG)', () => {
  test('hello prints its greeting and the -append text, ends with debug-exit 0 (status 1)', () => {
    const r = boot('hello', { append: 'console=ttyS0 foo=bar' });
    const lines = serialLines(r.out);
    expect(lines).toContain(HELLO.greeting);
    expect(lines).toContain(HELLO.cmdlineLine('console=ttyS0 foo=bar'));
    expect(r.out).toMatch(/\r\n/); // raw-terminal line ends
    expect(r.status).toBe(HELLO.statusWithDebugExit);
  });

  test('hello without isa-debug-exit triple-faults: status 0 under -no-reboot', () => {
    const r = boot('hello', { debugExit: false });
    expect(serialLines(r.out)).toContain(HELLO.cmdlineLine(''));
    expect(r.status).toBe(HELLO.statusWithoutDebugExit);
  });

  test.each([0, 5, 21, 127, 200])('exit-code exit=%i ends with status ((v << 1) | 1) & 0xff', (v) => {
    const r = boot('exit-code', { append: `exit=${v}` });
    expect(r.status).toBe(debugExitStatus(v));
  });

  test('exit-code defaults to 21 (status 43); accepts hex', () => {
    expect(boot('exit-code').status).toBe(EXIT_CODE.statusFor(EXIT_CODE.defaultValue));
    expect(boot('exit-code', { append: 'exit=0x10' }).status).toBe(33);
  });

  test('exit-code how=exception reports #UD and ends with status 5', () => {
    const r = boot('exit-code', { append: 'how=exception' });
    expect(r.out).toMatch(EXIT_CODE.exceptionLine);
    expect(r.status).toBe(EXIT_CODE.exceptionStatus);
    expect(r.status).toBe(debugExitStatus(GUEST_EXIT.exception));
  });

  test('exit-code how=triple-fault ends with status 0 even with the device', () => {
    expect(boot('exit-code', { append: 'how=triple-fault' }).status).toBe(0);
  });

  test('demo tours the machine and ends cleanly', () => {
    const r = boot('demo');
    const lines = serialLines(r.out);
    expect(lines).toContain(DEMO.firstLine);
    expect(lines).toContain(DEMO.lastLine);
    expect(r.out).toMatch(/memory +511 MiB of RAM/);
    expect(r.out).toMatch(/RTC +20\d\d-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(r.status).toBe(DEMO.statusWithDebugExit);
    expect(boot('demo', { debugExit: false }).status).toBe(DEMO.statusWithoutDebugExit);
  });

  test.each(['irq', 'poll'] as const)('console (rx=%s) answers commands typed on COM1', async (rx) => {
    const r = await converse(['echo hello there', 'frobnicate now', 'stats', 'exit 9'], { append: `rx=${rx}` });
    const lines = serialLines(r.out);
    expect(lines[0]).toBe(CONSOLE.ready(rx));
    expect(lines).toContain('> echo hello there'); // echoed input
    expect(lines).toContain('hello there');
    expect(lines).toContain(CONSOLE.unknown('frobnicate'));
    const stats = CONSOLE.stats.exec(r.out);
    expect(stats).not.toBeNull();
    if (rx === 'irq') expect(Number(stats![1])).toBeGreaterThan(0);
    else expect(Number(stats![1])).toBe(0);
    expect(lines).toContain(CONSOLE.byeLine(9));
    expect(r.status).toBe(debugExitStatus(9));
  });

  test.each(['tamago-seq', 'tamago-seq-1g'] as const)(
    '%s with -smp 3 starts the APs and reports exactly TCG\'s missing timer features',
    (g) => {
      const r = boot(g, { smp: 3 });
      const lines = serialLines(r.out);
      for (const id of [1, 2]) {
        expect(lines).toContain(TAMAGO_SEQ.cpuOnline(id));
        expect(lines).toContain(TAMAGO_SEQ.cpuTask(id));
      }
      const s = TAMAGO_SEQ.summary.exec(r.out);
      expect(s).not.toBeNull();
      expect(Number(s![1])).toBe(3); // cpus
      expect(Number(s![2])).toBe(5); // timer ticks (one-shot fallback on TCG)
      expect(Number(s![5])).toBeGreaterThanOrEqual(2024);
      const fail = lines.find((l) => l.startsWith(TAMAGO_SEQ.failPrefix));
      expect(fail).toBe(`${TAMAGO_SEQ.failPrefix} ${TAMAGO_SEQ.qemuTcgFailReasons.join(' ')}`);
      expect(r.status).toBe(TAMAGO_SEQ.failStatus);
    },
  );

  test('tamago-seq: the null page is unmapped, as in TamaGo (fault=null gives #PF, status 5)', () => {
    const r = boot('tamago-seq', { append: 'fault=null' });
    expect(r.out).toMatch(/EXCEPTION: vector 14 \(#PF page fault\) error=0x0 .* cr2=0x0 /);
    expect(r.status).toBe(5);
  });

  test('tamago-seq without isa-debug-exit ends in TamaGo\'s triple fault (status 0)', () => {
    const r = boot('tamago-seq', { debugExit: false, smp: 2 });
    expect(r.out).toContain(TAMAGO_SEQ.failPrefix);
    expect(r.status).toBe(0);
  });

  test.each(['max', 'qemu64'])('simd on -cpu %s: the same results as OpenSSL, every path agreeing', (cpu) => {
    const r = boot('simd', { cpu, append: 'n=16384' });
    expect(SIMD.resultLines(r.out)).toEqual(expectedSimdLines(16384));
    expect(r.out).toContain(SIMD.ok);
    expect(r.status).toBe(1);
    if (cpu === 'max') expect(r.out).toMatch(/time aes-128-gcm aesni\+pclmul/); // TCG implements AES-NI
  });

  test('bench-cpu prints the same checksums as bench-cpu-native', () => {
    const r = boot('bench-cpu', { append: 'n=1000' });
    expect(r.out).toContain(BENCH_CPU.done);
    expect(Object.fromEntries(benchChecksums(r.out))).toEqual(BENCH_CPU.checksumsN1000);
    const native = spawnSync(BENCH_NATIVE_PATH, ['n=3000'], { encoding: 'utf8' }).stdout;
    expect(benchChecksums(boot('bench-cpu', { append: 'n=3000' }).out)).toEqual(benchChecksums(native));
    expect(r.status).toBe(1);
  });
});

describe.skipIf(!haveKvm)('guests under QEMU microvm with -enable-kvm', () => {
  test('hello', () => {
    const r = boot('hello', { kvm: true, append: 'x=1' });
    expect(serialLines(r.out)).toContain(HELLO.cmdlineLine('x=1'));
    expect(r.status).toBe(1);
  });

  test('console: RX interrupts through the IOAPIC wake the HLT loop', async () => {
    const r = await converse(['echo via kvm', 'exit 0'], { kvm: true });
    expect(serialLines(r.out)).toContain('via kvm');
    expect(r.status).toBe(1);
  });

  test('tamago-seq -smp 2: both CPUs, a sane timer and clocks, TAMAGO-SEQ OK', () => {
    const r = boot('tamago-seq', { kvm: true, smp: 2 });
    const lines = serialLines(r.out);
    expect(lines).toContain(TAMAGO_SEQ.cpuOnline(1));
    expect(lines).toContain(TAMAGO_SEQ.ok);
    const s = TAMAGO_SEQ.summary.exec(r.out);
    expect(Number(s![1])).toBe(2);
    expect(Number(s![2])).toBe(5);
    expect(Number(s![3])).toBeGreaterThan(100_000); // > 100 MHz
    expect(Number(s![4])).toBeGreaterThan(0);
    expect(r.status).toBe(TAMAGO_SEQ.okStatus);
  });
});
