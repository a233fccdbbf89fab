#include "print.h"
#include "serial.h"
#include "spinlock.h"

static spinlock_t print_lock;

struct sink {
	char *buf;      /* NULL: the serial port */
	size_t size;
	size_t len;
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_padded(struct sink *s, const char *str, size_t n, int width, int left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left)
		while (fill-- > 0)
			sink_put(s, pad);
	for (size_t i = 0; i < n; i++)
		sink_put(s, str[i]);
	if (left)
		while (fill-- > 0)
			sink_put(s, ' ');
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		fmt++;
		int left = 0;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		int width = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		int longs = 0;
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}

		char tmp[24];
		size_t n = 0;
		unsigned long long u = 0;
		int neg = 0;
		unsigned base = 10;
		const char *digits = "0123456789abcdef";

		switch (*fmt) {
		case '\0':
			return (int)s->len;
		case '%':
			sink_put(s, '%');
			continue;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(s, tmp, 1, width, left, ' ');
			continue;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			size_t len = 0;
			while (str[len])
				len++;
			put_padded(s, str, len, width, left, ' ');
			continue;
		}
		case 'd':
		case 'i': {
			long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
			neg = v < 0;
			u = neg ? 0ull - (unsigned long long)v : (unsigned long long)v;
			break;
		}
		case 'u':
			u = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			break;
		case 'X':
			digits = "0123456789ABCDEF";
			/* fall through */
		case 'x':
			u = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			base = 16;
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			base = 16;
			sink_put(s, '0');
			sink_put(s, 'x');
			break;
		default:
			sink_put(s, '%');
			sink_put(s, *fmt);
			continue;
		}
		do {
			tmp[sizeof(tmp) - 1 - n++] = digits[u % base];
			u /= base;
		} while (u);
		if (neg) {
			if (pad == '0' && width > 0) {
				sink_put(s, '-');
				width--;
			} else {
				tmp[sizeof(tmp) - 1 - n++] = '-';
			}
		}
		put_padded(s, tmp + sizeof(tmp) - n, n, width, left, pad);
	}
	return (int)s->len;
}

int kvprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0, 0, 0 };
	spin_lock(&print_lock);
	int n = format(&s, fmt, ap);
	spin_unlock(&print_lock);
	return n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}

int kprintf_force(const char *fmt, ...)
{
	struct sink s = { 0, 0, 0 };
	int locked = 0;
	for (unsigned i = 0; i < 1000000 && !locked; i++)
		locked = spin_trylock(&print_lock);
	va_list ap;
	va_start(ap, fmt);
	int n = format(&s, fmt, ap);
	va_end(ap);
	if (locked)
		spin_unlock(&print_lock);
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	struct sink s = { buf, size, 0 };
	va_list ap;
	va_start(ap, fmt);
	int n = format(&s, fmt, ap);
	va_end(ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return n;
}
