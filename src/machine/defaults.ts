/**
 * Defaults for a machine when the user leaves something out. One place for
 * the CLI and the library, so `npx microvm-ts -kernel example` and
 * `startVm({ kernel: 'example' })` boot the same machine.
 *
 * Where we differ from QEMU (issue 9: the short command must boot TamaGo):
 * - memory 4 GiB, not 128 MiB: TamaGo's board needs RAM up to 0x60000000;
 *   RAM is committed lazily, so untouched gigabytes cost nothing;
 * - CPU model `microvm-default`, not qemu64: invariant TSC, kvmclock,
 *   TSC-deadline, RDRAND, 1 GiB pages and the hypervisor bit, which TamaGo
 *   needs, plus everything the JIT implements;
 * - machine options as TamaGo's README sets them (pit=off, pic=off, rtc=on):
 *   we have no PIT or PIC;
 * - the JIT accelerator, not TCG (there is no TCG here).
 */
import { MICROVM_DEFAULTS, type MachineConfig, type MicrovmOptions } from './config.js';

export const DEFAULT_MEMORY_BYTES = 4 * 1024 * 1024 * 1024;
export const DEFAULT_CPU_MODEL = 'microvm-default';

export const MICROVM_OPTIONS_DEFAULT: MicrovmOptions = { ...MICROVM_DEFAULTS, pit: false, pic: false };

/** What a library user must give: the kernel; everything else has a default. */
export type VmConfigInput = Partial<Omit<MachineConfig, 'machine' | 'cpu'>> & {
  kernel: string | Uint8Array;
  machine?: Partial<MicrovmOptions>;
  cpu?: Partial<MachineConfig['cpu']>;
};

export function resolveConfig(input: VmConfigInput): MachineConfig {
  return {
    machine: { ...MICROVM_OPTIONS_DEFAULT, ...input.machine },
    memory: input.memory ?? DEFAULT_MEMORY_BYTES,
    cpus: input.cpus ?? 1,
    cpu: { model: input.cpu?.model ?? DEFAULT_CPU_MODEL, features: { ...input.cpu?.features } },
    accel: input.accel ?? 'jit',
    kernel: input.kernel,
    ...(input.append !== undefined ? { append: input.append } : {}),
    ...(input.initrd !== undefined ? { initrd: input.initrd } : {}),
    serial: input.serial ?? { kind: 'stdio' },
    noReboot: input.noReboot ?? true,
    devices: input.devices ?? [],
    netdevs: input.netdevs ?? [],
    ...(input.filterDumps ? { filterDumps: input.filterDumps } : {}),
    globals: input.globals ?? [],
    ...(input.gdb ? { gdb: input.gdb } : {}),
    startPaused: input.startPaused ?? false,
    ...(input.log ? { log: input.log } : {}),
  };
}
