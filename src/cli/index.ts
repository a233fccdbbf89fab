/** The CLI as a library: QEMU-style argv to a MachineConfig. */
export { parseArgs, parseMemoryOption, DEFAULT_GDBSTUB_PORT, RAM_SIZE_ALIGN, type ParseResult } from './parse-args.js';
export { CliError, type CliErrorCode } from './errors.js';
export { helpText, versionText, DEFAULTS_THAT_DIFFER } from './help.js';
export { parseQemuSize } from './size.js';
