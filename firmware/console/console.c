/*
 * console: a tiny line-oriented shell on COM1, for tests that talk to a
 * guest. Input is interrupt-driven (UART IER.ERBFI -> IOAPIC GSI 4 ->
 * vector 0x24, HLT while idle) unless the command line says rx=poll.
 *
 * Prints "console ready (rx=irq|poll)" then the prompt "> ". Echoes what
 * it receives; a line ends at CR or LF. Commands:
 *   echo <text>   prints <text>
 *   exit <n>      isa-debug-exit value n (host status (n << 1) | 1)
 *   stats         "rx_irqs=N overruns=N"
 *   help          the list
 * Anything else: "unknown command: <word>".
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "serial.h"
#include "serial-rx.h"
#include "exit.h"

#define RX_VECTOR 0x24

static int word_is(const char *s, const char *w)
{
	while (*w && *s == *w) {
		s++;
		w++;
	}
	return !*w && (!*s || *s == ' ');
}

static const char *arg_of(const char *s)
{
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

static uint32_t parse_u32(const char *s, bool *ok)
{
	uint32_t v = 0;
	*ok = *s != '\0';
	for (; *s && *s != ' '; s++) {
		if (*s < '0' || *s > '9') {
			*ok = false;
			break;
		}
		v = v * 10 + (uint32_t)(*s - '0');
	}
	return v;
}

int guest_main(void)
{
	char mode[8] = "irq";
	cmdline_get("rx", mode, sizeof(mode));
	bool poll = mode[0] == 'p';
	if (!poll)
		serial_rx_irq_enable(RX_VECTOR);
	kprintf("console ready (rx=%s)\n", poll ? "poll" : "irq");

	char line[128];
	for (;;) {
		kprintf("> ");
		size_t n = 0;
		for (;;) {
			char c = serial_getc();
			if (c == '\r' || c == '\n')
				break;
			if ((c == 0x7f || c == 0x08) && n) {
				n--;
				serial_puts("\b \b");
				continue;
			}
			if (n + 1 < sizeof(line) && c >= 0x20 && c < 0x7f) {
				line[n++] = c;
				serial_putc(c);
			}
		}
		line[n] = '\0';
		serial_putc('\n');
		if (!n)
			continue;
		if (word_is(line, "echo")) {
			kprintf("%s\n", arg_of(line));
		} else if (word_is(line, "exit")) {
			bool ok;
			uint32_t v = parse_u32(arg_of(line), &ok);
			if (!ok) {
				kprintf("usage: exit <decimal value>\n");
				continue;
			}
			kprintf("bye (isa-debug-exit value %u)\n", v);
			guest_exit(v);
		} else if (word_is(line, "stats")) {
			kprintf("rx_irqs=%u overruns=%u\n", serial_rx_irqs, serial_rx_overruns);
		} else if (word_is(line, "help")) {
			kprintf("commands: echo <text>, exit <n>, stats, help\n");
		} else {
			char word[32];
			size_t i = 0;
			while (line[i] && line[i] != ' ' && i + 1 < sizeof(word)) {
				word[i] = line[i];
				i++;
			}
			word[i] = '\0';
			kprintf("unknown command: %s\n", word);
		}
	}
}
