// Public API of the boot loader (see ARCHITECTURE.md "loader/"): load is
// separate from configure; setupBoot does both for the machine.
export { LoaderError, type LoaderErrorCode } from './errors.js';
export { BootPlan, type Claim, type ClaimKind } from './plan.js';
export {
  loadKernel, planKernel, type KernelLoadResult, type LoadedSegment, type BootProtocol, type LoadKernelOptions,
} from './kernel.js';
export { parseElf, findPvhEntry, elfNotes, XEN_ELFNOTE_PHYS32_ENTRY, type ElfFile } from './elf.js';
export { findMultibootHeader, MULTIBOOT_HEADER_MAGIC, type MultibootHeader } from './multiboot-header.js';
export {
  configurePvh, planPvh, initrdAddress, XEN_HVM_START_MAGIC_VALUE, type PvhOptions, type PvhConfigResult,
} from './pvh.js';
export {
  configureMultiboot, planMultibootInfo, type MultibootOptions, type MultibootConfigResult, type MultibootModule,
} from './multiboot.js';
export { microvmE820, E820_RAM, E820_RESERVED, E820_ACPI, E820_NVS, type E820Entry } from './e820.js';
export {
  pvhEntryState, multibootEntryState, bootGdt, MULTIBOOT_BOOTLOADER_MAGIC,
  BOOT_CS_SELECTOR, BOOT_DS_SELECTOR, BOOT_TR_SELECTOR,
} from './entry-state.js';
export {
  buildAcpiTables, planAcpiTables, microvmAcpiOptions, acpiChecksum,
  type AcpiOptions, type AcpiTablesResult, type AcpiTable, type MicrovmAcpiConfig,
} from './acpi/tables.js';
export {
  planMpTable, buildMpConfigTable, buildMpFloatingPointer, MPTABLE_GPA, type MpTableOptions, type MpTableResult,
} from './mptable.js';
export { microvmKernelCmdline, microvmVirtioGsi, type VirtioTransportIrq } from './cmdline.js';
export { setupBoot, type BootOptions, type BootSetup } from './boot.js';
export * as bootLayout from './boot-layout.js';
