#include "lapic.h"

bool lapic_ipi(uint32_t apic_id, uint8_t vector, uint32_t flags)
{
	uint32_t icrh = lapic_read(LAPIC_ICRH);
	icrh = (icrh & 0x00ffffffu) | (apic_id << 24);
	lapic_write(LAPIC_ICRH, icrh);
	lapic_write(LAPIC_ICRL, (flags & 0xffffff00u) | vector);
	for (unsigned spins = 0; spins < 100000; spins++) {
		if (!(lapic_read(LAPIC_ICRL) & ICR_DLV_STATUS))
			return true;
		cpu_relax();
	}
	return false;
}
