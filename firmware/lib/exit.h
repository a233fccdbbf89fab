/*
 * Ending a guest. QEMU's isa-debug-exit (-device isa-debug-exit,iobase=0xf4,
 * iosize=4; hw/misc/debugexit.c) ends the emulator with status
 * ((value << 1) | 1) & 0xff for a write of value. Without that device the
 * write is ignored and the guest triple-faults: microvm has no reset
 * device, so with -no-reboot QEMU (and microvm-ts) exit with status 0, and
 * without -no-reboot the machine resets and boots the guest again.
 */
#ifndef FW_EXIT_H
#define FW_EXIT_H

#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4

/* Values written to isa-debug-exit; the host status is (value << 1) | 1. */
#define GUEST_EXIT_SUCCESS   0u /* host status 1 */
#define GUEST_EXIT_FAILURE   1u /* host status 3 */
#define GUEST_EXIT_EXCEPTION 2u /* host status 5: an unexpected CPU exception */

/* Write value to isa-debug-exit, then triple-fault if we are still running. */
__attribute__((noreturn)) void guest_exit(uint32_t value);
/* Shut down the way TamaGo does on microvm: an IDT with limit 0, then a fault. */
__attribute__((noreturn)) void triple_fault(void);
/* Stop this CPU for good (interrupts off, HLT loop). */
__attribute__((noreturn)) void halt_forever(void);

#endif
