/**
 * microvm-ts: a QEMU microvm-compatible x86-64 machine for Node.js.
 *
 * Library entry points:
 * - `startVm(config)` boots a guest for a test harness (console, waitFor, stop);
 * - `Microvm` is the machine itself (buses, devices, lifecycle);
 * - `MachineConfig` is the same typed configuration the CLI builds.
 */
export { startVm, Vm, WaitForTimeoutError, VmExitedError, type WaitForOptions } from './machine/vm.js';
export { Microvm, MachineError, type ExitReason, type MachineState, type MachineOptions } from './machine/microvm.js';
export { resolveConfig, DEFAULT_MEMORY_BYTES, DEFAULT_CPU_MODEL, type VmConfigInput } from './machine/defaults.js';
export type {
  MachineConfig, SerialConfig, NetdevConfig, DeviceConfig, MicrovmOptions, CpuConfig,
} from './machine/config.js';
export { GuestMemory, GuestMemoryError } from './memory/guest-memory.js';
export { LoaderError } from './loader/index.js';
export { AccelError, type Accelerator, type VcpuState } from './accel/types.js';
export { ManualTimeSource, HostTimeSource, type TimeSource } from './devices/clock.js';
