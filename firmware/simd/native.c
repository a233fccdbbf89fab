/* simd-native: the simd workloads as a Linux program. Usage: simd-native [n=<bytes>] [impl=auto|baseline] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>
#include "work.h"

static void *xalloc(size_t bytes)
{
	void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (!p)
		exit(2);
	return p;
}

static void print_line(const char *line) { printf("%s\n", line); }
static uint64_t cycles(void) { return __rdtsc(); }

int main(int argc, char **argv)
{
	unsigned long n = 256ul << 10;
	int accel = 1;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "n=", 2))
			n = strtoul(argv[i] + 2, 0, 0);
		else if (!strcmp(argv[i], "impl=baseline"))
			accel = 0;
		else if (strcmp(argv[i], "impl=auto")) {
			fprintf(stderr, "usage: %s [n=<bytes>] [impl=auto|baseline]\n", argv[0]);
			return 2;
		}
	}
	if (n < 1024 || n > (64ul << 20))
		return 2;
	n &= ~63ul;
	struct simd_features f = simd_detect();
	printf("time features ssse3=%u sse4.1=%u sse4.2=%u popcnt=%u aes=%u pclmul=%u avx=%u avx2=%u sha=%u xsave=1 impl=%s\n",
	       f.ssse3, f.sse41, f.sse42, f.popcnt, f.aes, f.pclmul, f.avx, f.avx2, f.sha, accel ? "auto" : "baseline");
	struct simd_env env = { xalloc, print_line, cycles };
	unsigned failures = simd_run(n, &f, accel, &env);
	if (failures) {
		printf("SIMD FAIL %u\n", failures);
		return 1;
	}
	printf("SIMD OK\n");
	return 0;
}
