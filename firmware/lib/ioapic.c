#include "ioapic.h"
#include "io.h"

#define IOREGSEL 0x00
#define IOWIN    0x10
#define IOAPICVER 0x01
#define IOREDTBL 0x10

uint32_t ioapic_read(uint32_t base, uint8_t reg)
{
	mmio_write32(base + IOREGSEL, reg);
	return mmio_read32(base + IOWIN);
}

void ioapic_write(uint32_t base, uint8_t reg, uint32_t value)
{
	mmio_write32(base + IOREGSEL, reg);
	mmio_write32(base + IOWIN, value);
}

unsigned ioapic_entries(uint32_t base)
{
	return ((ioapic_read(base, IOAPICVER) >> 16) & 0xff) + 1;
}

static bool locate(unsigned gsi, uint32_t *base, unsigned *pin)
{
	if (gsi < 24) {
		*base = IOAPIC0_BASE;
		*pin = gsi;
	} else if (gsi < 48) {
		*base = IOAPIC1_BASE;
		*pin = gsi - 24;
	} else {
		return false;
	}
	return true;
}

bool ioapic_route(unsigned gsi, uint8_t vector, uint32_t apic_id, uint32_t flags)
{
	uint32_t base;
	unsigned pin;
	if (!locate(gsi, &base, &pin))
		return false;
	/* high word first, entry still masked; then the low word unmasks it */
	ioapic_write(base, (uint8_t)(IOREDTBL + 2 * pin), IOAPIC_REDIR_MASKED);
	ioapic_write(base, (uint8_t)(IOREDTBL + 2 * pin + 1), apic_id << 24);
	ioapic_write(base, (uint8_t)(IOREDTBL + 2 * pin), vector | (flags & (IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_ACTIVE_LOW)));
	return true;
}

void ioapic_mask(unsigned gsi, bool masked)
{
	uint32_t base;
	unsigned pin;
	if (!locate(gsi, &base, &pin))
		return;
	uint8_t reg = (uint8_t)(IOREDTBL + 2 * pin);
	uint32_t lo = ioapic_read(base, reg);
	ioapic_write(base, reg, masked ? lo | IOAPIC_REDIR_MASKED : lo & ~IOAPIC_REDIR_MASKED);
}
