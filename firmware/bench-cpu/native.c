/*
 * bench-cpu-native: the bench-cpu workload as a Linux program, the native
 * baseline for bench/. Usage: bench-cpu-native [n=<count>]. Prints the same
 * lines as the guest (same checksums for the same n).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "workload.h"

static void *xalloc(size_t bytes)
{
	void *p = aligned_alloc(16, (bytes + 15) & ~(size_t)15);
	if (!p) {
		fprintf(stderr, "bench-cpu-native: out of memory\n");
		exit(2);
	}
	return p;
}

static void report(const char *phase, uint32_t n, uint64_t checksum, uint64_t cycles)
{
	printf("bench %s n=%" PRIu32 " checksum=%016" PRIx64 " tsc_cycles=%" PRIu64 "\n", phase, n, checksum, cycles);
}

int main(int argc, char **argv)
{
	unsigned long n = BENCH_DEFAULT_N;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (strncmp(argv[i], "n=", 2) != 0 || (n = strtoul(argv[i] + 2, &end, 0), *end)) {
			fprintf(stderr, "usage: %s [n=<count>]\n", argv[0]);
			return 2;
		}
	}
	if (n < BENCH_MIN_N || n > BENCH_MAX_N) {
		fprintf(stderr, "bench-cpu-native: n=%lu out of range [%u, %u]\n", n, BENCH_MIN_N, BENCH_MAX_N);
		return 2;
	}
	printf("bench-cpu: n=%lu, %zu KiB of work memory\n", n, bench_memory_bytes((uint32_t)n) >> 10);
	struct bench_env env = { xalloc, report };
	bench_run((uint32_t)n, &env);
	printf("BENCH-CPU DONE\n");
	return 0;
}
