/*
 * simd: SHA-256, AES-128-GCM, CRC-32C, popcount and a 32-bit integer mix,
 * each with a portable path and (with impl=auto, the default) the path
 * using SHA-NI / AES-NI+PCLMULQDQ / SSE4.2 / POPCNT / AVX2 when CPUID
 * reports them. "simd ..." lines are the same on every CPU model (they
 * come from the portable path, and any accelerated path must agree);
 * "time ..." lines give cycles and speed-ups for bench/.
 *
 * Command line: n=<bytes> (default 262144, 1024..67108864),
 * impl=auto|baseline. Ends with "SIMD OK" (value 0, status 1) or
 * "SIMD FAIL <count>" (value 1, status 3).
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "exit.h"
#include "io.h"
#include "work.h"

extern char __image_end[];
static uintptr_t heap_next, heap_end;

static void *bump_alloc(size_t bytes)
{
	uintptr_t p = (heap_next + 63) & ~(uintptr_t)63;
	if (p + bytes > heap_end || p + bytes < p) {
		kprintf("simd: out of memory\n");
		guest_exit(GUEST_EXIT_FAILURE);
	}
	heap_next = p + bytes;
	return (void *)p;
}

static void print_line(const char *line) { kprintf("%s\n", line); }
static uint64_t cycles(void) { return rdtsc(); }

/* Let the OS side of AVX exist: CR4.OSXSAVE, then XCR0 = x87 | SSE | AVX (Intel SDM vol. 1, 13.3). */
static bool enable_avx_state(void)
{
	struct cpuid_regs r = cpuid(1, 0);
	if (!(r.ecx & (1u << 26)) || !(r.ecx & (1u << 28)))
		return false;
	uint64_t cr4 = read_cr4() | (1u << 18);
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	__asm__ volatile("xsetbv" : : "c"(0), "a"(7), "d"(0));
	return true;
}

int guest_main(void)
{
	uint64_t n = cmdline_u64("n", 256u << 10);
	if (n < 1024 || n > (64u << 20)) {
		kprintf("simd: n=%lu out of range [1024, 67108864]\n", n);
		return GUEST_EXIT_FAILURE;
	}
	n &= ~(uint64_t)63;
	char impl[16] = "auto";
	cmdline_get("impl", impl, sizeof(impl));
	bool accel = impl[0] != 'b';

	heap_next = (uintptr_t)__image_end;
	uint64_t end = pvh_ram_end_containing(heap_next);
	heap_end = end ? end : 128u << 20;

	bool avx_os = enable_avx_state();
	struct simd_features f = simd_detect();
	kprintf("time features ssse3=%u sse4.1=%u sse4.2=%u popcnt=%u aes=%u pclmul=%u avx=%u avx2=%u sha=%u xsave=%u impl=%s\n",
		f.ssse3, f.sse41, f.sse42, f.popcnt, f.aes, f.pclmul, f.avx, f.avx2, f.sha, avx_os, accel ? "auto" : "baseline");
	struct simd_env env = { bump_alloc, print_line, cycles };
	unsigned failures = simd_run((size_t)n, &f, accel, &env);
	if (failures) {
		kprintf("SIMD FAIL %u\n", failures);
		return GUEST_EXIT_FAILURE;
	}
	kprintf("SIMD OK\n");
	return GUEST_EXIT_SUCCESS;
}
