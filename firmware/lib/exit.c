#include "exit.h"
#include "io.h"

void guest_exit(uint32_t value)
{
	cli();
	outl(DEBUG_EXIT_PORT, value);
	triple_fault();
}

/*
 * With IDTR.limit = 0 every exception vector is out of the IDT limit, so
 * the #UD raises #GP, which raises #DF, which shuts the CPU down (Intel
 * SDM vol. 3A 6.15, "Interrupt 8 - Double Fault Exception": a fault while
 * delivering #DF is a triple fault). Weak: tamago-seq has its own,
 * TamaGo's exact sequence.
 */
__attribute__((weak, noreturn)) void triple_fault(void)
{
	static const struct __attribute__((packed)) { uint16_t limit; uint64_t base; } null_idt = { 0, 0 };

	__asm__ volatile("cli; lidt %0; ud2" : : "m"(null_idt));
	halt_forever();
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
