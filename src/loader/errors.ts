/**
 * Errors raised by the boot loader. Every code names one problem; the message
 * says where (offset, address, field) so a user can fix the image or the
 * command line. Nothing is written to guest memory when one of these is thrown
 * by the planning step (see plan.ts).
 */
export type LoaderErrorCode =
  // ELF container (System V gABI, "ELF header", "Program header", "Note section")
  | 'ELF_BAD_MAGIC'
  | 'ELF_TRUNCATED'
  | 'ELF_BAD_CLASS'
  | 'ELF_BAD_ENDIAN'
  | 'ELF_BAD_VERSION'
  | 'ELF_BAD_TYPE'
  | 'ELF_BAD_MACHINE'
  | 'ELF_BAD_PHDR'
  | 'ELF_BAD_SHDR'
  | 'ELF_BAD_SEGMENT'
  | 'ELF_NO_SEGMENTS'
  | 'ELF_BAD_NOTE'
  // PVH (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY)
  | 'PVH_NOTE_MISSING'
  | 'PVH_NOTE_INVALID'
  | 'ENTRY_OUTSIDE_IMAGE'
  // Multiboot v1
  | 'MULTIBOOT_BAD_HEADER'
  | 'MULTIBOOT_TRUNCATED'
  | 'MULTIBOOT_ELF64'
  // other kernel formats
  | 'BZIMAGE_UNSUPPORTED'
  // placement in guest memory
  | 'SEGMENT_OUTSIDE_RAM'
  | 'SEGMENTS_OVERLAP'
  | 'BOOT_DATA_OVERLAP'
  | 'INITRD_TOO_LARGE'
  | 'INITRD_OVERLAPS_KERNEL'
  | 'RAM_TOO_SMALL'
  // boot configuration
  | 'CMDLINE_TOO_LONG'
  | 'CMDLINE_INVALID'
  | 'TOO_MANY_MODULES'
  | 'WRONG_PROTOCOL'
  | 'ACPI_INVALID_CONFIG'
  | 'ACPI_TABLES_TOO_LARGE';

export class LoaderError extends Error {
  override readonly name = 'LoaderError';
  constructor(readonly code: LoaderErrorCode, msg: string) {
    super(msg);
  }
}

/** `0x1234` formatting for messages. */
export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}
