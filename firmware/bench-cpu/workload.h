/*
 * The CPU-bound workload of bench-cpu, shared by the guest (guest.c) and
 * the Linux program bench-cpu-native (native.c), so the two print the same
 * checksums for the same n.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_DEFAULT_N 500000u
#define BENCH_MIN_N 64u
#define BENCH_MAX_N 4000000u

struct bench_env {
	void *(*alloc)(size_t bytes);   /* 16-byte aligned, never fails (or does not return) */
	void (*report)(const char *phase, uint32_t n, uint64_t checksum, uint64_t tsc_cycles);
};

/* Bytes of memory bench_run(n) allocates in total. */
size_t bench_memory_bytes(uint32_t n);
/* Runs every phase; returns the combined checksum. */
uint64_t bench_run(uint32_t n, const struct bench_env *env);

#endif
