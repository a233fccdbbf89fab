/**
 * The kernel command line QEMU's microvm actually passes.
 *
 * hw/i386/microvm.c microvm_fix_kernel_cmdline: with acpi=off (and the default
 * auto-kernel-cmdline=on) QEMU appends " virtio_mmio.device=512@0x<base>:<gsi>"
 * for every virtio-mmio transport that has a device, so a Linux guest finds
 * them without ACPI. It walks the system bus's children, which qdev keeps
 * newest-first (bus_add_child uses QTAILQ_INSERT_HEAD), so the highest
 * transport comes first. With acpi=on the devices are in the DSDT instead and
 * the command line is left alone.
 */
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE } from '../memory/layout.js';

export interface VirtioTransportIrq {
  /** Transport index n (at VIRTIO_MMIO_BASE + n * 0x200). */
  readonly index: number;
  readonly gsi: number;
}

export function microvmKernelCmdline(cmdline: string, acpi: boolean, transports: readonly VirtioTransportIrq[]): string {
  if (acpi) return cmdline;
  let out = cmdline;
  for (const t of [...transports].sort((a, b) => b.index - a.index)) {
    const base = VIRTIO_MMIO_BASE + t.index * VIRTIO_MMIO_STRIDE;
    out += ` virtio_mmio.device=512@0x${base.toString(16)}:${t.gsi}`;
  }
  return out;
}

/**
 * GSI of virtio-mmio transport n (hw/i386/microvm.c microvm_devices_init):
 * 24 + n with the second IOAPIC (ioapic2 needs acpi=on), 16 + n with ACPI but
 * one IOAPIC, 5 + n without ACPI (8 transports then).
 */
export function microvmVirtioGsi(index: number, acpi: boolean, ioapic2: boolean): number {
  if (acpi && ioapic2) return 24 + index;
  if (acpi) return 16 + index;
  return 5 + index;
}
