/*
 * exit-code: ends the way the command line asks, so tests can check how
 * the machine reports each guest-initiated end.
 *
 *   exit=N        value written to isa-debug-exit (default 21, host status
 *                 ((N << 1) | 1) & 0xff = 43); without the device the guest
 *                 then triple-faults.
 *   how=debug-exit  (default) as above
 *   how=triple-fault  no debug-exit write: IDT limit 0 + #UD -> triple fault
 *   how=halt      CLI; HLT forever (the host must be stopped from outside)
 *   how=exception #UD with our IDT installed: reported on COM1, then
 *                 isa-debug-exit value 2 (host status 5)
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "exit.h"

#define DEFAULT_EXIT_VALUE 21

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int guest_main(void)
{
	uint64_t value = cmdline_u64("exit", DEFAULT_EXIT_VALUE);
	char how[32] = "debug-exit";
	cmdline_get("how", how, sizeof(how));

	kprintf("exit-code guest: cmdline \"%s\"\n", pvh_cmdline());
	if (streq(how, "triple-fault")) {
		kprintf("exit-code: triple fault\n");
		triple_fault();
	} else if (streq(how, "halt")) {
		kprintf("exit-code: halting forever\n");
		halt_forever();
	} else if (streq(how, "exception")) {
		kprintf("exit-code: raising #UD\n");
		__asm__ volatile("ud2");
	} else if (!streq(how, "debug-exit")) {
		kprintf("exit-code: unknown how=%s, using debug-exit\n", how);
	}
	kprintf("exit-code: isa-debug-exit value %lu (host status %lu)\n", value, ((value << 1) | 1) & 0xff);
	guest_exit((uint32_t)value);
}
