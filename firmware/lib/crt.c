/* The C side of the generic entry (boot64.S). */
#include "crt.h"
#include "pvh.h"
#include "serial.h"
#include "trap.h"
#include "exit.h"

void lib_start(uint32_t start_info);

void lib_start(uint32_t start_info)
{
	pvh_set_start_info(start_info);
	idt_init();
	serial_init();
	int rc = guest_main();
	guest_exit((uint32_t)rc);
}
