/**
 * What the protocol needs from whatever is being debugged. Only the base
 * operations are required; every extra is an optional member, and the
 * session lists in qSupported (and answers) only what the target has, in the
 * manner of the Rust `gdbstub` crate's `support_*()` extensions.
 *
 * Thread ids are the protocol's: positive integers (0 = "any" and -1 = "all"
 * never reach a target). Addresses are bigints: targets may be 64-bit.
 * Methods may return a value or a promise; the session awaits either, and
 * handles one packet at a time.
 */

export type MaybePromise<T> = T | Promise<T>;

/**
 * A non-fatal target error: the session answers `Exx` with this errno and
 * carries on (E.3 "Standard Replies"). Any other exception is reported as
 * `E01` and logged; `GdbFatalError` ends the session.
 */
export class GdbTargetError extends Error {
  override readonly name = 'GdbTargetError';
  constructor(readonly errno: number, msg?: string) {
    super(msg ?? `target error ${errno}`);
  }
}

export class GdbFatalError extends Error {
  override readonly name = 'GdbFatalError';
}

/** Register contents as the `g` packet carries them; `unavailable` (same length) marks bytes sent as `xx`. */
export interface RegisterBytes {
  bytes: Uint8Array;
  unavailable?: Uint8Array;
}

/** Why the target stopped, as a stop reply describes it (E.3 "Stop Reply Packets"). */
export type StopReason =
  | { kind: 'swbreak' }
  | { kind: 'hwbreak' }
  | { kind: 'watch' | 'rwatch' | 'awatch'; address: bigint };

export type StopEvent =
  /** Stopped with a signal (5 SIGTRAP for breakpoints and steps, 2 SIGINT for Ctrl-C). */
  | { kind: 'signal'; signal: number; thread: number; reason?: StopReason }
  /** The program exited (`Wxx`): the session ends. */
  | { kind: 'exited'; status: number }
  /** The program was terminated by a signal (`Xxx`): the session ends. */
  | { kind: 'terminated'; signal: number };

export const SIGINT = 2;
export const SIGTRAP = 5;

/** What one thread does on a resume (vCont actions c/C, s/S, t, or no action). */
export type ThreadAction =
  | { kind: 'continue'; signal?: number }
  | { kind: 'step'; signal?: number }
  | { kind: 'stop' };

export type WatchKind = 'write' | 'read' | 'access';

export interface BreakpointOps {
  /** `kind` is the gdb breakpoint kind (bytes of the breakpoint instruction; 1 on x86). */
  add(addr: bigint, kind: number): MaybePromise<boolean>;
  remove(addr: bigint, kind: number): MaybePromise<boolean>;
}

export interface WatchpointOps {
  add(kind: WatchKind, addr: bigint, len: number): MaybePromise<boolean>;
  remove(kind: WatchKind, addr: bigint, len: number): MaybePromise<boolean>;
}

export interface GdbTarget {
  /** Live threads, in order. At least one. */
  threads(): number[];
  readRegisters(thread: number): MaybePromise<RegisterBytes>;
  writeRegisters(thread: number, data: Uint8Array): MaybePromise<void>;
  /** Undefined for a register number the target does not have (answered `E`). */
  readRegister(thread: number, regno: number): MaybePromise<RegisterBytes | undefined>;
  writeRegister(thread: number, regno: number, data: Uint8Array): MaybePromise<boolean>;
  /** May return fewer bytes than asked (a partial read); none = error. */
  readMemory(thread: number, addr: bigint, len: number): MaybePromise<Uint8Array>;
  /** Returns false when any byte could not be written. */
  writeMemory(thread: number, addr: bigint, data: Uint8Array): MaybePromise<boolean>;
  /**
   * Resume: `actions` has an entry for every thread. Returns once the target
   * runs; the stop arrives later through the session's `reportStop`.
   */
  resume(actions: ReadonlyMap<number, ThreadAction>): MaybePromise<void>;
  /** Ctrl-C: stop the running target; it reports the stop (SIGINT) through `reportStop`. */
  interrupt(): MaybePromise<void>;
  /** gdb detaches: remove what it inserted and let the target run free. */
  detach(): MaybePromise<void>;
  /** gdb kills the program. */
  kill(): MaybePromise<void>;

  // ---- optional capabilities ----
  /** Target description documents by annex name (`target.xml`): qXfer:features:read. */
  readonly features?: (annex: string) => string | undefined;
  readonly swBreakpoints?: BreakpointOps;
  readonly hwBreakpoints?: BreakpointOps;
  readonly watchpoints?: WatchpointOps;
  /** `monitor CMD`: text written with `out` is sent as O packets. */
  readonly monitor?: (command: string, out: (text: string) => void) => MaybePromise<void>;
  /** Free text for `info threads` (qThreadExtraInfo). */
  readonly threadExtraInfo?: (thread: number) => string;
  /** Whether the target is attached to an existing process (qAttached); default true. */
  readonly attached?: boolean;
}
