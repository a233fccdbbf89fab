/**
 * The sleep and reset registers of QEMU's ACPI Generic Event Device as
 * microvm maps them (hw/acpi/generic_event_device.c, hw/i386/microvm.h):
 * three byte-wide registers at GED_MMIO_BASE + 0x200 that a hardware-reduced
 * ACPI guest (Linux) uses to power off and reset, named in the FADT's
 * SLEEP_CONTROL_REG / SLEEP_STATUS_REG / RESET_REG.
 *
 * Not modelled: the GED event selector and its interrupt (power button,
 * memory hotplug); the machine has no such events.
 */
import type { AccessSize, BusDevice } from '../memory/bus.js';

export const GED_MMIO_BASE = 0xfea00000;
export const GED_REGS_BASE = GED_MMIO_BASE + 0x200;
export const GED_REGS_SIZE = 3;

export const GED_REG_SLEEP_CTL = 0x00;
export const GED_REG_SLEEP_STS = 0x01;
export const GED_REG_RESET = 0x02;
/** RESET_REG value that requests a reset (FADT RESET_VALUE). */
export const GED_RESET_VALUE = 0x42;
/** SLP_TYP for S5 (soft off), as in the DSDT's \_S5 package. */
export const GED_SLP_TYP_S5 = 0x05;
const SLP_TYP_POS = 2;
const SLP_TYP_MASK = 0x07;
const SLP_EN = 0x20;

export interface GedEvents {
  poweroff(): void;
  reset(): void;
}

export class GedRegisters implements BusDevice {
  /** Accesses that were not one byte wide, or sleep types we do not implement. */
  ignored = 0;

  constructor(private readonly events: GedEvents) {}

  read(_offset: number, _size: AccessSize): number {
    // QEMU's registers read 0 (SLEEP_STS has no wake status to report).
    return 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (size !== 1) {
      this.ignored++;
      return;
    }
    switch (offset) {
      case GED_REG_SLEEP_CTL: {
        const slpTyp = (value >> SLP_TYP_POS) & SLP_TYP_MASK;
        if ((value & SLP_EN) && slpTyp === GED_SLP_TYP_S5) this.events.poweroff();
        else this.ignored++;
        return;
      }
      case GED_REG_RESET:
        if (value === GED_RESET_VALUE) this.events.reset();
        else this.ignored++;
        return;
      default:
        this.ignored++;
    }
  }
}
