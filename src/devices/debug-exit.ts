/**
 * isa-debug-exit: QEMU's test device (hw/misc/debugexit.c) that ends the
 * emulator from inside the guest.
 *
 * `-device isa-debug-exit,iobase=0xf4,iosize=4`: any write of value v, of any
 * width 1-4 at any offset in the range, requests shutdown with exit code
 * (v << 1) | 1, so a guest can report success and failure while never
 * colliding with status 0 (QEMU's own clean exit). QEMU passes the code as a C
 * `int`; the process exit status is its low 8 bits. Reads return 0 (current
 * QEMU's debug_exit_read).
 */
import type { AccessSize, BusDevice } from '../memory/bus.js';

/** QEMU's property defaults: iobase=0x501, iosize=2. */
export const DEBUG_EXIT_DEFAULT_IOBASE = 0x501;
export const DEBUG_EXIT_DEFAULT_IOSIZE = 0x02;

export interface DebugExitConfig {
  iobase: number;
  iosize: number;
}

export class DebugExitConfigError extends Error {
  override readonly name = 'DebugExitConfigError';
  constructor(readonly code: 'IOBASE_RANGE' | 'IOSIZE_RANGE', msg: string) {
    super(msg);
  }
}

/** Check iobase/iosize against the 64 KiB port space; throws DebugExitConfigError. */
export function validateDebugExitConfig(cfg: DebugExitConfig): DebugExitConfig {
  const { iobase, iosize } = cfg;
  if (!Number.isInteger(iobase) || iobase < 0 || iobase > 0xffff) {
    throw new DebugExitConfigError('IOBASE_RANGE', `isa-debug-exit: iobase 0x${iobase.toString(16)} is not a port (0-0xffff)`);
  }
  if (!Number.isInteger(iosize) || iosize < 1 || iobase + iosize > 0x10000) {
    throw new DebugExitConfigError('IOSIZE_RANGE', `isa-debug-exit: iosize ${iosize} does not fit at iobase 0x${iobase.toString(16)}`);
  }
  return { iobase, iosize };
}

/** The exit code QEMU reports for a written value: (v << 1) | 1 as a C int. */
export function debugExitCode(value: number, size: AccessSize = 4): number {
  const v = size >= 4 ? value >>> 0 : value & ((1 << (size * 8)) - 1);
  return (v << 1) | 1;
}

/** The process exit status for a code, as the OS keeps it (low 8 bits). */
export function debugExitStatus(code: number): number {
  return code & 0xff;
}

export class DebugExit implements BusDevice {
  readonly config: DebugExitConfig;
  /** Number of exit requests (a guest may write again before the machine stops). */
  exitRequests = 0;

  constructor(
    private readonly onExit: (code: number) => void,
    config: DebugExitConfig = { iobase: DEBUG_EXIT_DEFAULT_IOBASE, iosize: DEBUG_EXIT_DEFAULT_IOSIZE },
  ) {
    this.config = validateDebugExitConfig(config);
  }

  read(_offset: number, _size: AccessSize): number {
    return 0;
  }

  write(_offset: number, size: AccessSize, value: number): void {
    this.exitRequests++;
    this.onExit(debugExitCode(value, size));
  }
}
