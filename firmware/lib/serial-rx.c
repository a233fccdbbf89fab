#include "serial-rx.h"
#include "serial.h"
#include "io.h"
#include "ioapic.h"
#include "lapic.h"
#include "trap.h"

#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_MCR 4
#define UART_LSR 5
#define IER_ERBFI 0x01
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT2  0x08
#define LSR_DR    0x01
#define IIR_NO_INT 0x01

static volatile char ring[256];
static volatile uint32_t head, tail; /* head: next write (IRQ), tail: next read */
static bool irq_mode;
volatile uint32_t serial_rx_irqs;
volatile uint32_t serial_rx_overruns;

static void rx_irq(struct trap_frame *f)
{
	(void)f;
	serial_rx_irqs++;
	/* drain everything the FIFO holds; reading IIR acknowledges THRE-type causes */
	for (unsigned i = 0; i < 64 && (inb(COM1_BASE + UART_LSR) & LSR_DR); i++) {
		char c = (char)inb(COM1_BASE + UART_RBR);
		if (head - tail < sizeof(ring))
			ring[head++ % sizeof(ring)] = c;
		else
			serial_rx_overruns++;
	}
	(void)inb(COM1_BASE + UART_IIR);
	lapic_eoi();
}

void serial_rx_irq_enable(uint8_t vector)
{
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_ENABLE | 0xff);
	trap_set_handler(vector, rx_irq);
	/* ISA IRQ 4 is edge-triggered, active high */
	ioapic_route(COM1_GSI, vector, lapic_id(), 0);
	outb(COM1_BASE + UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	outb(COM1_BASE + UART_IER, IER_ERBFI);
	irq_mode = true;
}

int serial_getc_nonblock(void)
{
	if (!irq_mode)
		return (inb(COM1_BASE + UART_LSR) & LSR_DR) ? (unsigned char)inb(COM1_BASE + UART_RBR) : -1;
	cli();
	int c = -1;
	if (tail != head)
		c = (unsigned char)ring[tail++ % sizeof(ring)];
	sti();
	return c;
}

char serial_getc(void)
{
	for (;;) {
		if (irq_mode) {
			cli();
			if (tail != head) {
				char c = ring[tail++ % sizeof(ring)];
				sti();
				return c;
			}
			sti_hlt(); /* woken by the RX interrupt */
		} else {
			int c = serial_getc_nonblock();
			if (c >= 0)
				return (char)c;
			cpu_relax();
		}
	}
}
