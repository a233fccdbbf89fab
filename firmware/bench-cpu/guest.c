/*
 * bench-cpu: the CPU-bound workload as a guest. Command line: n=<count>
 * (default BENCH_DEFAULT_N). Prints one line per phase:
 *   bench <phase> n=<n> checksum=<16 hex digits> tsc_cycles=<decimal>
 * then "BENCH-CPU DONE" and exits through isa-debug-exit value 0 (host
 * status 1) or a triple fault.
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "exit.h"
#include "workload.h"

extern char __image_end[];
static uintptr_t heap_next, heap_end;

static void *bump_alloc(size_t bytes)
{
	uintptr_t p = (heap_next + 15) & ~(uintptr_t)15;
	if (p + bytes > heap_end || p + bytes < p) {
		kprintf("bench-cpu: out of memory (need more RAM for this n)\n");
		guest_exit(GUEST_EXIT_FAILURE);
	}
	heap_next = p + bytes;
	return (void *)p;
}

static void report(const char *phase, uint32_t n, uint64_t checksum, uint64_t cycles)
{
	kprintf("bench %s n=%u checksum=%016lx tsc_cycles=%lu\n", phase, n, checksum, cycles);
}

int guest_main(void)
{
	uint64_t n = cmdline_u64("n", BENCH_DEFAULT_N);
	if (n < BENCH_MIN_N || n > BENCH_MAX_N) {
		kprintf("bench-cpu: n=%lu out of range [%u, %u]\n", n, BENCH_MIN_N, BENCH_MAX_N);
		return GUEST_EXIT_FAILURE;
	}
	heap_next = (uintptr_t)__image_end;
	/* RAM end from the memmap; without one assume the QEMU default 128 MiB */
	uint64_t end = pvh_ram_end_containing(heap_next);
	heap_end = end ? end : 128u << 20;
	if (heap_end > 0xc0000000u)
		heap_end = 0xc0000000u;

	kprintf("bench-cpu: n=%lu, %lu KiB of work memory\n", n, bench_memory_bytes((uint32_t)n) >> 10);
	struct bench_env env = { bump_alloc, report };
	bench_run((uint32_t)n, &env);
	kprintf("BENCH-CPU DONE\n");
	return GUEST_EXIT_SUCCESS;
}
