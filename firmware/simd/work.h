/*
 * SIMD and crypto workloads with a portable path and an accelerated path
 * (SHA-NI, AES-NI + PCLMULQDQ, SSE4.2 CRC32, POPCNT, AVX2), shared by the
 * simd guest and the Linux program simd-native. Both paths must give the
 * same results; the accelerated ones run only when the CPU reports them.
 */
#ifndef SIMD_WORK_H
#define SIMD_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simd_features {
	bool ssse3, sse41, sse42, popcnt, aes, pclmul, avx, avx2, sha;
};

/* Reads CPUID; avx/avx2 also need the OS (XCR0) to enable AVX state. */
struct simd_features simd_detect(void);

struct simd_env {
	void *(*alloc)(size_t bytes);
	void (*print)(const char *line);
	uint64_t (*cycles)(void);
};

/*
 * Runs every workload over n bytes (1 KiB .. 64 MiB) with the portable
 * path and, where use_accel and the feature exist, the accelerated path.
 * Prints "simd ..." result lines (identical whatever the CPU) and "time ..."
 * lines. Returns the number of failures (self-tests, path mismatches).
 */
unsigned simd_run(size_t n, const struct simd_features *f, bool use_accel, const struct simd_env *env);

#endif
