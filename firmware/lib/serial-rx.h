/*
 * COM1 input: polled, or interrupt-driven through IOAPIC GSI 4 (the
 * microvm wiring with pic=off) into a ring buffer.
 */
#ifndef FW_SERIAL_RX_H
#define FW_SERIAL_RX_H

#include <stdbool.h>
#include <stdint.h>

#define COM1_GSI 4

/* Enable RX interrupts (IER.ERBFI, MCR.OUT2) routed to vector on this CPU. */
void serial_rx_irq_enable(uint8_t vector);
/* One byte, or -1 if none is waiting (interrupt mode: from the ring; else LSR.DR). */
int serial_getc_nonblock(void);
/* Wait for a byte: HLT between interrupts in interrupt mode, else poll. */
char serial_getc(void);
extern volatile uint32_t serial_rx_irqs;
extern volatile uint32_t serial_rx_overruns;

#endif
