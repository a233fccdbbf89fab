#ifndef FW_CRT_H
#define FW_CRT_H

#include <stdint.h>

/*
 * Each generic guest defines this. On entry: long mode, 2 MiB identity map
 * of 0..4 GiB, IDT installed (exceptions are reported and end the guest),
 * COM1 initialised, interrupts off. The return value is written to
 * isa-debug-exit (host status (value << 1) | 1), then the guest triple-faults.
 */
int guest_main(void);

#endif
