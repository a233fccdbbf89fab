#!/usr/bin/env node
/**
 * The `microvm-ts` command: QEMU-style argv -> MachineConfig -> a running
 * machine. Errors print as `microvm-ts: <message>` and exit 1, like QEMU's
 * `qemu-system-x86_64: <message>`.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MachineConfig } from '../machine/config.js';
import { DEFAULT_CPU_MODEL, MICROVM_OPTIONS_DEFAULT } from '../machine/defaults.js';
import { runFromCli } from '../machine/run.js';
import { CliError } from './errors.js';
import { helpText, PROGRAM, versionText } from './help.js';
import { parseArgs } from './parse-args.js';

/** The package root: dist/cli/main.js and src/cli/main.ts are both two levels below it. */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

export function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(`${packageRoot()}package.json`, 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // fall through
  }
  return 'unknown';
}

/**
 * The port our guests use for isa-debug-exit (firmware/lib/exit.h), as in
 * `-device isa-debug-exit,iobase=0xf4,iosize=4`.
 */
const DEMO_DEBUG_EXIT = { driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 } as const;

/**
 * The demo ends with isa-debug-exit value 0 (process status (0 << 1) | 1 = 1,
 * QEMU's semantics) when it ran to the end: `npx microvm-ts` reports that as 0.
 */
export const DEMO_SUCCESS_STATUS = 1;

/** What `npx microvm-ts` with no arguments boots: the bundled demo guest. */
export function demoConfig(root = packageRoot()): MachineConfig {
  return {
    // Equivalent to: -m 256M -no-reboot -nographic -device isa-debug-exit,iobase=0xf4,iosize=4
    //                -kernel firmware/out/demo.elf
    machine: { ...MICROVM_OPTIONS_DEFAULT },
    memory: 256 * 1024 * 1024,
    cpus: 1,
    cpu: { model: DEFAULT_CPU_MODEL, features: {} },
    accel: 'jit',
    kernel: `${root}firmware/out/demo.elf`,
    serial: { kind: 'stdio' },
    noReboot: true,
    devices: [{ ...DEMO_DEBUG_EXIT }],
    netdevs: [],
    globals: [],
    startPaused: false,
  };
}

/** Run the command line; resolves with the process exit status. */
export async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let config: MachineConfig;
  let demo = false;
  try {
    const res = parseArgs(argv);
    if ('config' in res) {
      config = res.config;
    } else {
      switch (res.action) {
        case 'help': out.write(helpText(packageVersion())); return 0;
        case 'version': out.write(`${versionText(packageVersion())}\n`); return 0;
        case 'print': out.write(`${res.text}\n`); return 0;
        case 'demo': config = demoConfig(); demo = true; break;
        default: {
          const never: never = res;
          throw new Error(`unhandled action ${String(never)}`);
        }
      }
    }
  } catch (e) {
    if (e instanceof CliError) {
      err.write(`${PROGRAM}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (config.processName !== undefined) process.title = config.processName;
  try {
    const status = await runFromCli(config);
    return demo && status === DEMO_SUCCESS_STATUS ? 0 : status;
  } catch (e) {
    err.write(`${PROGRAM}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

// Run when executed directly (bin), not when imported by tests.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && fileURLToPath(import.meta.url) === realPath(invokedPath)) {
  main(process.argv.slice(2)).then(
    (status) => { process.exitCode = status; },
    (e: unknown) => {
      process.stderr.write(`${PROGRAM}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
