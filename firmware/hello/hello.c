/*
 * hello: the smallest useful guest. Prints a greeting and the command line
 * from hvm_start_info on COM1, then writes 0 to isa-debug-exit (host status
 * 1) or, without that device, triple-faults (status 0 under -no-reboot).
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "exit.h"

int guest_main(void)
{
	kprintf("Hello from microvm-ts guest\n");
	if (!pvh_start_info())
		kprintf("warning: no valid hvm_start_info (bad magic)\n");
	kprintf("cmdline: \"%s\"\n", pvh_cmdline());
	return GUEST_EXIT_SUCCESS;
}
