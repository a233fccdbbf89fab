/**
 * One call that does what QEMU's -kernel/-append/-initrd do for microvm:
 * detect and load the kernel, build ACPI tables (acpi=on), write the boot
 * protocol's structures and produce the BSP's entry state. Everything is
 * planned and validated first, then written in one go: on any LoaderError
 * guest memory is untouched.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import type { VcpuState } from '../accel/types.js';
import { BootPlan } from './plan.js';
import { planKernel, type KernelLoadResult } from './kernel.js';
import { planPvh, type PvhConfigResult } from './pvh.js';
import { planMultibootInfo, type MultibootConfigResult, type MultibootModule } from './multiboot.js';
import { planAcpiTables, type AcpiOptions, type AcpiTablesResult } from './acpi/tables.js';
import { pvhEntryState, multibootEntryState } from './entry-state.js';
import { planMpTable, type MpTableOptions, type MpTableResult } from './mptable.js';

export interface BootOptions {
  /** -append */
  readonly cmdline?: string;
  /** -initrd contents (PVH module 0; multiboot module 0 unless `multibootModules` is given). */
  readonly initrd?: Uint8Array;
  /** -initrd as typed: the multiboot module's command line (QEMU passes "<file> <args>"). */
  readonly initrdName?: string;
  /** -kernel as typed: multiboot kernels see "<kernelName> <cmdline>". */
  readonly kernelName?: string;
  /** Explicit multiboot modules (QEMU's comma-separated -initrd list). */
  readonly multibootModules?: readonly MultibootModule[];
  /** ACPI tables to build (acpi=on); omit for acpi=off. */
  readonly acpi?: AcpiOptions;
  /** The MP table QEMU's microvm firmware always writes at 0x9fc00 (acpi on or off). */
  readonly mptable?: MpTableOptions;
}

export interface BootSetup {
  readonly kernel: KernelLoadResult;
  /** The BSP's state at the kernel entry point. */
  readonly state: VcpuState;
  readonly pvh?: PvhConfigResult;
  readonly multiboot?: MultibootConfigResult;
  readonly acpi?: AcpiTablesResult;
  readonly mptable?: MpTableResult;
}

export function setupBoot(image: Uint8Array, mem: GuestMemory, opts: BootOptions = {}): BootSetup {
  const plan = new BootPlan(mem);
  const kernel = planKernel(plan, image);
  const acpi = opts.acpi ? planAcpiTables(plan, opts.acpi) : undefined;
  const mptable = opts.mptable ? planMpTable(plan, opts.mptable) : undefined;
  const extra = { ...(acpi ? { acpi } : {}), ...(mptable ? { mptable } : {}) };
  let result: BootSetup;
  if (kernel.protocol === 'pvh') {
    const pvh = planPvh(plan, {
      ...(opts.cmdline !== undefined ? { cmdline: opts.cmdline } : {}),
      ...(opts.initrd ? { initrd: opts.initrd } : {}),
      ...(acpi ? { rsdpGpa: acpi.rsdpGpa } : {}),
    });
    result = { kernel, state: pvhEntryState(pvh.startInfoGpa, kernel.entry), pvh, ...extra };
  } else {
    const modules = opts.multibootModules ??
      (opts.initrd ? [{ data: opts.initrd, cmdline: opts.initrdName ?? 'initrd' }] : []);
    const mb = planMultibootInfo(plan, {
      kernel, modules,
      ...(opts.cmdline !== undefined ? { cmdline: opts.cmdline } : {}),
      ...(opts.kernelName !== undefined ? { kernelName: opts.kernelName } : {}),
    });
    result = { kernel, state: multibootEntryState(mb.mbiGpa, kernel.entry), multiboot: mb, ...extra };
  }
  plan.commit();
  return result;
}
