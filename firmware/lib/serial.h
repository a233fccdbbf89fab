/* COM1: a 16550A UART at I/O port 0x3f8 (microvm, isa-serial=on). */
#ifndef FW_SERIAL_H
#define FW_SERIAL_H

#include <stddef.h>

#define COM1_BASE 0x3f8

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
void serial_puts(const char *s);

#endif
