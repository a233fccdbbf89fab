/*
 * I/O APIC (Intel 82093AA datasheet): IOREGSEL at +0x00, IOWIN at +0x10;
 * register 0 ID, 1 version (max redirection entry in bits 23:16),
 * redirection entry n at 0x10 + 2n (low) / 0x11 + 2n (high).
 */
#ifndef FW_IOAPIC_H
#define FW_IOAPIC_H

#include <stdint.h>
#include <stdbool.h>

#define IOAPIC0_BASE 0xfec00000u /* GSI 0-23 */
#define IOAPIC1_BASE 0xfec10000u /* GSI 24-47 (microvm ioapic2) */

#define IOAPIC_REDIR_MASKED   (1u << 16)
#define IOAPIC_REDIR_LEVEL    (1u << 15)
#define IOAPIC_REDIR_ACTIVE_LOW (1u << 13)

uint32_t ioapic_read(uint32_t base, uint8_t reg);
void ioapic_write(uint32_t base, uint8_t reg, uint32_t value);
/* Entries of the IOAPIC (max redirection entry + 1). */
unsigned ioapic_entries(uint32_t base);
/* Route GSI (0..47 on microvm) to vector on the CPU with apic_id; flags: LEVEL, ACTIVE_LOW. */
bool ioapic_route(unsigned gsi, uint8_t vector, uint32_t apic_id, uint32_t flags);
void ioapic_mask(unsigned gsi, bool masked);

#endif
