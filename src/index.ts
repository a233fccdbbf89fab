/**
 * microvm-ts: a QEMU microvm-compatible x86-64 machine for Node.js.
 *
 * Library entry points:
 * - `startVm(config)` boots a guest for a test harness (console, waitFor,
 *   inspection, breakpoints, snapshots, deterministic mode; docs/library.md);
 * - `Microvm` is the machine itself (buses, devices, lifecycle);
 * - `MachineConfig` is the same typed configuration the CLI builds.
 */
export {
  startVm, Vm, WaitForTimeoutError, VmExitedError, type WaitForOptions, type VmOptions, type RestoreOptions,
} from './machine/vm.js';
export { Microvm, MachineError, type ExitReason, type MachineState, type MachineOptions, type StartOptions } from './machine/microvm.js';
export { NotSupportedError, DebugError, MachineDebugger, type DebugStop } from './machine/inspect.js';
export { parseElfSymbols, SymbolTable, SymbolError, type ElfSymbol, type SymbolType } from './machine/symbols.js';
export { saveMachine, parseSnapshot, restoreMachine, SnapshotError, SNAPSHOT_MAGIC, type MachineSnapshot } from './machine/snapshot.js';
export { DEFAULT_EPOCH_MS, type DeterministicOptions } from './machine/deterministic.js';
export { FramePort, FrameTimeoutError } from './net/stream.js';
export { resolveConfig, DEFAULT_MEMORY_BYTES, DEFAULT_CPU_MODEL, type VmConfigInput } from './machine/defaults.js';
export type {
  MachineConfig, SerialConfig, NetdevConfig, DeviceConfig, MicrovmOptions, CpuConfig,
} from './machine/config.js';
export { GuestMemory, GuestMemoryError } from './memory/guest-memory.js';
export { LoaderError } from './loader/index.js';
export {
  AccelError, type Accelerator, type AcceleratorDebug, type AcceleratorSnapshot, type DeterministicConfig, type VcpuState,
} from './accel/types.js';
export { ManualTimeSource, HostTimeSource, type TimeSource } from './devices/clock.js';
