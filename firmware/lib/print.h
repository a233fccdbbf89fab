/*
 * A small printf for the guests: %s %c %d %i %u %x %X %p %%, with
 * flags '-' and '0', a field width, and the l/ll/z length modifiers.
 * Each call prints under a spinlock, so lines from different CPUs do not
 * interleave.
 */
#ifndef FW_PRINT_H
#define FW_PRINT_H

#include <stdarg.h>
#include <stddef.h>

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* For the fatal paths: takes the lock if it can within a bounded time, else prints anyway. */
int kprintf_force(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
