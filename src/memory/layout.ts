// The QEMU microvm physical memory map (hw/i386/microvm.c, MICROVM-CONTRACT.md).

export const GiB = 1024 * 1024 * 1024;
export const MiB = 1024 * 1024;

/** Low RAM ends at 3 GiB at most; the rest of RAM is placed at 4 GiB. */
export const LOW_RAM_LIMIT = 3 * GiB;
export const HIGH_RAM_BASE = 4 * GiB;

export const VIRTIO_MMIO_BASE = 0xfeb00000;
export const VIRTIO_MMIO_STRIDE = 0x200;
export const VIRTIO_MMIO_COUNT = 24;
export const VIRTIO_MMIO_GSI_BASE = 24;

export const IOAPIC0_BASE = 0xfec00000;
export const IOAPIC1_BASE = 0xfec10000;
export const IOAPIC_SIZE = 0x1000;
export const LAPIC_BASE = 0xfee00000;
export const LAPIC_SIZE = 0x1000;

export const COM1_PORT = 0x3f8;
export const COM1_IRQ = 4;
export const RTC_PORT = 0x70;
export const RTC_IRQ = 8;

export interface RamRange { readonly gpa: number; readonly size: number }

/** The RAM ranges for a guest of `ramSize` bytes, as microvm lays them out. */
export function ramRanges(ramSize: number): RamRange[] {
  const low = Math.min(ramSize, LOW_RAM_LIMIT);
  const ranges: RamRange[] = [{ gpa: 0, size: low }];
  if (ramSize > low) ranges.push({ gpa: HIGH_RAM_BASE, size: ramSize - low });
  return ranges;
}
