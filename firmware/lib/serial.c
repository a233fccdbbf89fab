/*
 * Polled 16550A output on COM1. Register offsets and bits from the
 * PC16550D datasheet (National Semiconductor, 1995), table "Register
 * Summary".
 */
#include "serial.h"
#include "io.h"

#define UART_THR 0 /* transmitter holding register (DLAB=0, write) */
#define UART_DLL 0 /* divisor latch LSB (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch MSB (DLAB=1) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_WLS_8    0x03 /* 8 data bits, 1 stop bit, no parity */
#define LCR_DLAB     0x80
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define MCR_DTR      0x01
#define MCR_RTS      0x02
#define MCR_OUT2     0x08 /* gates the INTR pin on PC designs (TamaGo sets it: MCR_INTEN) */
#define LSR_THRE     0x20 /* transmitter holding register empty */

void serial_init(void)
{
	outb(COM1_BASE + UART_IER, 0);                 /* polled: no interrupts */
	outb(COM1_BASE + UART_LCR, LCR_DLAB);
	outb(COM1_BASE + UART_DLL, 1);                 /* 115200 baud from 1.8432 MHz / 16 */
	outb(COM1_BASE + UART_DLM, 0);
	outb(COM1_BASE + UART_LCR, LCR_WLS_8);
	/* keep received bytes: a host may type before the guest is ready */
	outb(COM1_BASE + UART_FCR, FCR_ENABLE | FCR_CLEAR_TX);
	outb(COM1_BASE + UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
}

static void serial_tx(char c)
{
	/*
	 * Wait for THRE, bounded: with no UART at all the port reads all ones
	 * (THRE set) and a broken model must not hang the guest forever.
	 */
	for (unsigned spins = 0; spins < 1000000; spins++) {
		if (inb(COM1_BASE + UART_LSR) & LSR_THRE)
			break;
		cpu_relax();
	}
	outb(COM1_BASE + UART_THR, (uint8_t)c);
}

/* Lines end in "\r\n": the console is a raw terminal under -nographic. */
void serial_putc(char c)
{
	if (c == '\n')
		serial_tx('\r');
	serial_tx(c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
