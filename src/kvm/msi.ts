/**
 * Interrupt messages -> MSI address/data, the form KVM_SIGNAL_MSI and MSI GSI
 * routes take (Intel SDM Vol. 3A 11.11.1 "Message Address Register Format",
 * 11.11.2 "Message Data Register Format"; KVM reads them back in
 * arch/x86/kvm/irq_comm.c kvm_set_msi_irq).
 */
import type { InterruptMessage } from '../devices/irq.js';
import type { MsiAddressData } from './abi.js';

/** Address bits 31:20 are 0xFEE for an interrupt message. */
export const MSI_ADDR_BASE = 0xfee00000;
export const MSI_ADDR_DEST_ID_SHIFT = 12;
/** Address bit 2: destination mode, 1 = logical. */
export const MSI_ADDR_DM_LOGICAL = 1 << 2;
export const MSI_DATA_DELIVERY_SHIFT = 8;
/** Data bit 14: level, 1 = assert (meaningful for level-triggered messages). */
export const MSI_DATA_LEVEL_ASSERT = 1 << 14;
/** Data bit 15: trigger mode, 1 = level. */
export const MSI_DATA_TRIGGER_LEVEL = 1 << 15;

/**
 * Compose the MSI for `msg`. Values are masked to their fields (an xAPIC
 * destination is 8 bits; vector 8 bits; delivery mode 3 bits), so a
 * guest-programmed IOAPIC entry can never produce an out-of-range message.
 */
export function composeMsi(msg: InterruptMessage): MsiAddressData {
  const addressLo = (MSI_ADDR_BASE
    | ((msg.destination & 0xff) << MSI_ADDR_DEST_ID_SHIFT)
    | (msg.logicalDestination ? MSI_ADDR_DM_LOGICAL : 0)) >>> 0;
  const data = ((msg.vector & 0xff)
    | ((msg.deliveryMode & 0x7) << MSI_DATA_DELIVERY_SHIFT)
    | (msg.level ? MSI_DATA_LEVEL_ASSERT : 0)
    | (msg.triggerLevel ? MSI_DATA_TRIGGER_LEVEL : 0)) >>> 0;
  return { addressLo, addressHi: 0, data };
}

/** Inverse of composeMsi (used by tests and to describe routes in errors). */
export function parseMsi(m: MsiAddressData): InterruptMessage {
  return {
    vector: m.data & 0xff,
    deliveryMode: (m.data >>> MSI_DATA_DELIVERY_SHIFT) & 7,
    destination: (m.addressLo >>> MSI_ADDR_DEST_ID_SHIFT) & 0xff,
    logicalDestination: (m.addressLo & MSI_ADDR_DM_LOGICAL) !== 0,
    level: (m.data & MSI_DATA_LEVEL_ASSERT) !== 0,
    triggerLevel: (m.data & MSI_DATA_TRIGGER_LEVEL) !== 0,
  };
}
