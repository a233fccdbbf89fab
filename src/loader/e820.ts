/**
 * The memory map a microvm guest is given. QEMU's microvm registers one e820
 * RAM entry per RAM block (hw/i386/microvm.c microvm_memory_init: [0, low) and
 * [4 GiB, 4 GiB + high)); qboot, its firmware, then reports the legacy areas
 * below 1 MiB (qboot main.c extract_e820), and that map is what PVH's
 * memmap and multiboot's mmap carry. We reproduce the result.
 */
import { ramRanges, HIGH_RAM_BASE } from '../memory/layout.js';
import { LoaderError, hex } from './errors.js';
import { MIN_BOOT_RAM, MiB, KiB } from './boot-layout.js';

/** E820 / hvm_memmap_table_entry types (ACPI 6.5 §15, xen start_info.h XEN_HVM_MEMMAP_TYPE_*). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;
export const E820_UNUSABLE = 5;

export interface E820Entry {
  readonly addr: number;
  readonly size: number;
  readonly type: number;
}

/** The e820 map for a microvm guest with `ramSize` bytes of RAM. */
export function microvmE820(ramSize: number): E820Entry[] {
  const [low, high] = ramRanges(ramSize);
  if (!low || low.size < MIN_BOOT_RAM) {
    throw new LoaderError('RAM_TOO_SMALL', `guest RAM of ${ramSize} bytes is too small to boot: at least ${hex(MIN_BOOT_RAM)} (1 MiB) is needed`);
  }
  const map: E820Entry[] = [
    { addr: 0, size: 639 * KiB, type: E820_RAM },            // conventional memory
    { addr: 639 * KiB, size: 1 * KiB, type: E820_RESERVED },  // EBDA
    { addr: 0xd0000, size: 128 * KiB, type: E820_NVS },       // ACPI tables
    { addr: 0xf0000, size: 64 * KiB, type: E820_RESERVED },   // firmware
  ];
  if (low.size > MiB) map.push({ addr: MiB, size: low.size - MiB, type: E820_RAM });
  if (high) map.push({ addr: HIGH_RAM_BASE, size: high.size, type: E820_RAM });
  return map;
}
