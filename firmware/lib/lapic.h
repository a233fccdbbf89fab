/*
 * Local APIC in xAPIC mode at its reset base 0xfee00000 (Intel SDM vol. 3A
 * chapter 11, "Advanced Programmable Interrupt Controller").
 */
#ifndef FW_LAPIC_H
#define FW_LAPIC_H

#include <stdint.h>
#include <stdbool.h>
#include "io.h"

#define LAPIC_BASE 0xfee00000u

#define LAPIC_ID        0x020 /* bits 31:24 */
#define LAPIC_VER       0x030
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define LAPIC_ICRL      0x300
#define LAPIC_ICRH      0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_ICR 0x380 /* initial count */
#define LAPIC_TIMER_CCR 0x390 /* current count */
#define LAPIC_TIMER_DCR 0x3e0 /* divide configuration */

#define SVR_ENABLE          (1u << 8)
#define ICR_DLV_FIXED       (0u << 8)
#define ICR_DLV_NMI         (4u << 8)
#define ICR_DLV_INIT        (5u << 8)
#define ICR_DLV_SIPI        (6u << 8)
#define ICR_DLV_STATUS      (1u << 12) /* send pending */
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_DST_SELF        (1u << 18)
#define ICR_DST_ALL         (2u << 18)
#define ICR_DST_ALL_BUT_SELF (3u << 18)

#define LVT_MASKED             (1u << 16)
#define LVT_TIMER_ONE_SHOT     (0u << 17)
#define LVT_TIMER_PERIODIC     (1u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)

static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

/*
 * Send an IPI as TamaGo's lapic.IPI does: destination in ICRH[31:24], then
 * ICRL = flags | vector, then wait for the delivery status to clear
 * (bounded by spins). Returns false if it never cleared.
 */
bool lapic_ipi(uint32_t apic_id, uint8_t vector, uint32_t flags);

#endif
