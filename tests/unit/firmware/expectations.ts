/**
 * Where our firmware guests are and what each one prints and how it ends,
 * for every test that boots them (unit tests here against QEMU; integration
 * tests against microvm-ts). Source of truth: firmware/README.md.
 *
 * Exit statuses follow QEMU: isa-debug-exit (-device isa-debug-exit,
 * iobase=0xf4,iosize=4) ends the process with ((value << 1) | 1) & 0xff;
 * a triple fault under -no-reboot ends it with 0.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIRMWARE_OUT = join(REPO_ROOT, 'firmware', 'out');

export type GuestName = 'hello' | 'exit-code' | 'demo' | 'console' | 'net-echo' | 'virtio-net' | 'tamago-seq' | 'tamago-seq-1g' | 'bench-cpu' | 'simd';

export const GUESTS: readonly GuestName[] = ['hello', 'exit-code', 'demo', 'console', 'net-echo', 'virtio-net', 'tamago-seq', 'tamago-seq-1g', 'bench-cpu', 'simd'];

export function guestPath(name: GuestName): string {
  return join(FIRMWARE_OUT, `${name}.elf`);
}

export const BENCH_NATIVE_PATH = join(FIRMWARE_OUT, 'bench-cpu-native');
export const SIMD_NATIVE_PATH = join(FIRMWARE_OUT, 'simd-native');

/** Builds the guests (incremental; quick when up to date). Throws if the build fails. */
export function buildFirmware(): void {
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-firmware.mjs')], { stdio: 'pipe' });
  for (const g of GUESTS) {
    if (!existsSync(guestPath(g))) throw new Error(`firmware not built: ${guestPath(g)} (is gcc installed?)`);
  }
}

/** The host exit status for an isa-debug-exit write of value. */
export function debugExitStatus(value: number): number {
  return ((value << 1) | 1) & 0xff;
}

/** Values the guests write to isa-debug-exit (firmware/lib/exit.h). */
export const GUEST_EXIT = { success: 0, failure: 1, exception: 2 } as const;

/** Physical addresses the images are linked at (PVH entry = first code after the note). */
export const LOAD_ADDRESS: Record<GuestName, number> = {
  hello: 0x100000,
  'exit-code': 0x100000,
  demo: 0x100000,
  console: 0x100000,
  'net-echo': 0x100000,
  'virtio-net': 0x100000, // the virtio work's own guest (firmware/virtio-net)
  'tamago-seq': 0x10010000, // TamaGo's text address: needs -m >= 512M (QEMU default 128M is too small)
  'tamago-seq-1g': 0x10010000,
  'bench-cpu': 0x100000,
  simd: 0x100000,
};

/** The PVH entry symbol of each image (XEN_ELFNOTE_PHYS32_ENTRY points at it). */
export const ENTRY_SYMBOL: Record<GuestName, string> = {
  hello: 'pvh_start32',
  'exit-code': 'pvh_start32',
  demo: 'pvh_start32',
  console: 'pvh_start32',
  'net-echo': 'pvh_start32',
  'virtio-net': 'pvh_start32',
  'tamago-seq': 'cpuinit',
  'tamago-seq-1g': 'cpuinit',
  'bench-cpu': 'pvh_start32',
  simd: 'pvh_start32',
};

/** Serial output lines end in "\r\n" (raw terminal). Split with this. */
export function serialLines(out: string): string[] {
  return out.split(/\r?\n/);
}

export const HELLO = {
  greeting: 'Hello from microvm-ts guest',
  /** The line showing -append: `cmdline: "<text>"` (empty quotes without -append). */
  cmdlineLine: (cmdline: string): string => `cmdline: "${cmdline}"`,
  /** With isa-debug-exit: value 0. */
  statusWithDebugExit: 1,
  /** Without the device: triple fault; with -no-reboot the process exits 0. */
  statusWithoutDebugExit: 0,
} as const;

export const EXIT_CODE = {
  /** exit=N is written to isa-debug-exit; default 21 (status 43). */
  defaultValue: 21,
  statusFor: (value: number): number => debugExitStatus(value),
  /** how=exception: "#UD" reported, value 2 => status 5. how=triple-fault / no device: status 0. */
  exceptionStatus: 5,
  exceptionLine: /EXCEPTION: vector 6 \(#UD invalid opcode\)/,
} as const;

export const TAMAGO_SEQ = {
  ok: 'TAMAGO-SEQ OK',
  failPrefix: 'TAMAGO-SEQ FAIL',
  okStatus: 1,
  failStatus: 3,
  /** One per AP, printed by the AP itself. */
  cpuOnline: (apicId: number): string => `cpu ${apicId} online`,
  /** One per AP after the BSP's NMI (TamaGo's CPU.Task). */
  cpuTask: (apicId: number): string => `cpu ${apicId} task ${apicId} (woken by NMI)`,
  /** cpus=N timer_ticks=T tsc_khz=K kvmclock_ns=NS rtc=YYYY-MM-DD hh:mm:ss */
  summary: /^cpus=(\d+) timer_ticks=(\d+) tsc_khz=(\d+) kvmclock_ns=(\d+) rtc=(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/m,
  /**
   * QEMU's TCG has no TSC-deadline timer, no invariant TSC and no kvmclock,
   * so there the guest must end with exactly these reasons.
   */
  qemuTcgFailReasons: ['no-tsc-deadline', 'tsc-frequency-unknown', 'could-not-set-system-timer(no-invtsc-no-kvmclock)'],
  /** Minimum RAM: the image is linked at 0x10010000. */
  minimumMemory: '512M',
} as const;

export const DEMO = {
  firstLine: 'Hello from microvm-ts guest: the demo',
  lastLine: 'The demo ends now (isa-debug-exit if present, else a triple fault).',
  statusWithDebugExit: 1,
  statusWithoutDebugExit: 0,
} as const;

export const BENCH_CPU = {
  done: 'BENCH-CPU DONE',
  /** bench <phase> n=<n> checksum=<16 hex> tsc_cycles=<decimal> */
  line: /^bench (hash|sort|matmul|string|total) n=(\d+) checksum=([0-9a-f]{16}) tsc_cycles=(\d+)$/,
  defaultN: 500000,
  /** Checksums for n=1000 (guest and native must agree). */
  checksumsN1000: {
    hash: '81895a8821a9f0fa',
    sort: '00052204218794ed',
    matmul: 'e2125b90bd9b65a5',
    string: '62a1282758789323',
    total: '2fb47b0a2e65f0f7',
  },
} as const;

/** Parse bench lines into phase -> checksum. */
export function benchChecksums(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of serialLines(out)) {
    const r = BENCH_CPU.line.exec(line);
    if (r) m.set(r[1]!, r[3]!);
  }
  return m;
}

export const CONSOLE = {
  /** Printed once input works; type only after it (enabling the FIFOs drops earlier bytes, per the 16550 datasheet). */
  ready: (rx: 'irq' | 'poll'): string => `console ready (rx=${rx})`,
  prompt: '> ',
  /** `echo <text>` prints <text>; `exit <n>` ends with status (n << 1) | 1. */
  byeLine: (n: number): string => `bye (isa-debug-exit value ${n})`,
  unknown: (word: string): string => `unknown command: ${word}`,
  stats: /^rx_irqs=(\d+) overruns=(\d+)$/m,
} as const;

export const NET_ECHO = {
  foundLine: (version: 1 | 2, mode: 'irq' | 'poll', transport = 23): string =>
    `net-echo: virtio-net at 0x${(0xfeb00000 + transport * 0x200).toString(16)} (transport ${transport}, GSI ${24 + transport}), virtio-mmio version ${version}, mode ${mode}`,
  /** With QEMU user networking (gateway 10.0.2.2). */
  pingOk: 'net-echo: ping 10.0.2.2: reply seq=1',
  ready: (port = 7): string => `net-echo: ready, UDP echo on port ${port}`,
  noDevice: 'net-echo: no virtio-net device found',
  /** Groups: rx, tx, arp_replies, icmp_replies, udp_echoes, dropped, irqs. A UDP payload "quit" ends it (status 1). */
  quitLine: /^net-echo: quit after rx=(\d+) tx=(\d+) arp_replies=(\d+) icmp_replies=(\d+) udp_echoes=(\d+) dropped=(\d+) irqs=(\d+)$/m,
  /** QEMU's default virtio-net MAC. */
  defaultMac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
} as const;

export const SIMD = {
  ok: 'SIMD OK',
  failPrefix: 'SIMD FAIL',
  defaultBytes: 262144,
  /** Lines that must be identical on every CPU model and path (timing lines start with "time "). */
  resultLines: (out: string): string[] => serialLines(out).filter((l) => l.startsWith('simd ')),
  selftestOk: 'simd selftest sha256=ok aes-gcm=ok',
} as const;
