/**
 * CLI errors. The message is what the user sees after `microvm-ts: `, worded
 * like QEMU's (`-foo: invalid option`, `-m: requires an argument`,
 * `-m 4Gb: Parameter 'size' expects ...`) so QEMU users recognise them.
 */
export type CliErrorCode =
  /** An option QEMU does not have either (QEMU: "invalid option"). */
  | 'INVALID_OPTION'
  /** An option that needs an argument came last. */
  | 'MISSING_ARGUMENT'
  /** A value that does not parse or is out of range. */
  | 'BAD_VALUE'
  /** A QEMU option or value that microvm-ts does not implement. */
  | 'UNSUPPORTED'
  /** Options that cannot be combined. */
  | 'CONFLICT'
  /** Something required is missing (e.g. -kernel). */
  | 'MISSING_OPTION'
  /** The assembled configuration failed `validateConfig`. */
  | 'INVALID_CONFIG';

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(readonly code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
