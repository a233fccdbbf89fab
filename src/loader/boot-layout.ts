/**
 * Where the boot structures live in guest memory.
 *
 * QEMU's microvm hands PVH guests an hvm_start_info built by its firmware
 * (qboot + the pvh.bin option ROM), which keeps it in the option-ROM area
 * below 1 MiB; the e820 map qboot reports leaves 0xa0000-0xd0000 out (a hole),
 * marks 0xd0000-0xf0000 as ACPI NVS (where qboot puts the ACPI tables) and
 * 0xf0000-0x100000 as reserved (the firmware). We have no firmware, so we
 * write the same kinds of structures directly, in the same places:
 *
 *   0x9000  .. 0x9500   multiboot memory map   (QEMU hw/i386/multiboot.c ADDR_E820_MAP)
 *   0x9500  .. 0x9558   multiboot_info         (QEMU ADDR_MBI)
 *   0xc0000 .. 0xd0000  PVH boot area (a hole in the e820 map, so a guest never
 *                       reuses it as RAM): boot GDT, hvm_start_info, module
 *                       list, memory map, command line
 *   0xe0000 .. 0xf0000  ACPI: RSDP at 0xe0000 (the range Linux and QEMU's
 *                       pvh.bin scan for "RSD PTR "), then the tables
 *
 * Every placement is claimed in a BootPlan, so a kernel segment that lands
 * on one of these ranges gives BOOT_DATA_OVERLAP instead of a corrupt boot.
 */
export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Boot GDT: null, null, code (0x10)... see entry-state.ts. */
export const BOOT_GDT_GPA = 0xc0000;
export const BOOT_GDT_ENTRIES = 4;

export const PVH_START_INFO_GPA = 0xc0040;
export const PVH_MODLIST_GPA = 0xc0080;
export const PVH_MAX_MODULES = 8;
export const PVH_MEMMAP_GPA = 0xc0200;
export const PVH_MEMMAP_MAX_ENTRIES = 64;
export const PVH_CMDLINE_GPA = 0xc1000;
/** Bytes available for the command line including its NUL terminator. */
export const PVH_CMDLINE_MAX = 0xd0000 - PVH_CMDLINE_GPA;

export const MULTIBOOT_MMAP_GPA = 0x9000;
export const MULTIBOOT_MMAP_MAX = 0x500;
export const MULTIBOOT_INFO_GPA = 0x9500;

export const ACPI_AREA_GPA = 0xe0000;
export const ACPI_AREA_SIZE = 0x10000;
export const ACPI_RSDP_GPA = ACPI_AREA_GPA;

/** The lowest RAM size these placements allow (everything above lives below 1 MiB). */
export const MIN_BOOT_RAM = 1 * MiB;
