/*
 * xsave: the XSAVE feature set and the BMI1/BMI2/ADX/MOVBE/LZCNT
 * instructions as a guest OS uses them, self-checked against the rules of
 * the Intel SDM (Vol. 1 ch. 13; Vol. 2 XSAVE, XRSTOR, XSAVEC, XSETBV, XGETBV,
 * and each bit-manipulation instruction's "Operation").
 *
 * With XSAVE reported: XGETBV is #UD until CR4.OSXSAVE is set; XSETBV
 * refuses illegal XCR0 values (#GP); CPUID.(0DH,0).EBX follows XCR0; an
 * image restored with XRSTOR and saved again with XSAVE / XSAVEOPT / XSAVEC
 * (and restored from the compacted form) gives back every register; XRSTOR
 * of components whose XSTATE_BV bit is clear loads their initial values;
 * bad headers, reserved MXCSR bits and misaligned areas are #GP. Without XSAVE (qemu64): CR4.OSXSAVE cannot be set (#GP) and XGETBV
 * is #UD. The bit-manipulation results are compared with C reference code.
 *
 * "xsave ..." result lines depend only on the architecture (the same on any
 * CPU that reports the feature); "xsave cpuid ..." lines describe the model.
 * Ends with "XSAVE OK" (value 0, status 1) or "XSAVE FAIL <count>" (value 1).
 */
#include "crt.h"
#include "print.h"
#include "exit.h"
#include "io.h"
#include "trap.h"
#include <stddef.h>

/* lib/string.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define VEC_UD 6
#define VEC_GP 13

static unsigned failures;

static void check(int ok, const char *what)
{
	if (ok) {
		kprintf("xsave %s ok\n", what);
	} else {
		kprintf("xsave %s FAIL\n", what);
		failures++;
	}
}

/* The vector a fixed-up instruction raised (RAX = TRAP_FIXUP_RAX(vector)), or -1. */
static int fault_of(uint64_t rax)
{
	return (rax & ~0xffffull) == 0xffffffffdead0000ull ? (int)(rax & 0xff) : -1;
}

static int try_xsetbv(uint32_t ecx, uint64_t v)
{
	uint64_t rax = (uint32_t)v;
	__asm__ volatile("1: xsetbv\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
		: "+a"(rax) : "c"(ecx), "d"((uint32_t)(v >> 32)) : "memory");
	return fault_of(rax);
}

static int try_xgetbv(uint32_t ecx, uint64_t *out)
{
	uint64_t rax = 0;
	uint64_t rdx = 0;
	__asm__ volatile("1: xgetbv\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
		: "+a"(rax), "+d"(rdx) : "c"(ecx) : "memory");
	int f = fault_of(rax);
	if (f < 0)
		*out = (rdx << 32) | (uint32_t)rax;
	return f;
}

static int try_mov_cr4(uint64_t v)
{
	uint64_t rax = 0;
	__asm__ volatile("1: mov %1, %%cr4\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
		: "+a"(rax) : "r"(v) : "memory");
	return fault_of(rax);
}

/* XSAVE-family instruction on `area` with requested-feature mask rfbm; returns the fault vector or -1. */
#define XSAVE_OP(name, insn) \
	static int name(void *area, uint64_t rfbm) \
	{ \
		uint64_t rax = (uint32_t)rfbm; \
		__asm__ volatile("1: " insn " (%1)\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b") \
			: "+a"(rax) : "r"(area), "d"((uint32_t)(rfbm >> 32)) : "memory"); \
		return fault_of(rax); \
	}
XSAVE_OP(try_xsave, "xsave64")
XSAVE_OP(try_xrstor, "xrstor64")

/* XRSTOR src, then save into dst with the given instruction, with nothing in between. */
#define RESTORE_SAVE(name, insn) \
	static int name(void *src, void *dst, uint64_t rfbm) \
	{ \
		uint64_t rax = (uint32_t)rfbm; \
		__asm__ volatile("1: xrstor64 (%1)\n\t" insn " (%2)\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b") \
			: "+a"(rax) : "r"(src), "r"(dst), "d"((uint32_t)(rfbm >> 32)) : "memory"); \
		return fault_of(rax); \
	}
RESTORE_SAVE(restore_xsave, "xsave64")

/* XRSTOR a with mask ma, XRSTOR b with mask mb, XSAVE everything (mask all) to dst: no compiler code in between. */
static int restore2_save(void *a, uint32_t ma, void *b, uint32_t mb, void *dst, uint32_t all)
{
	uint64_t rax = ma;
	__asm__ volatile("1: xrstor64 (%1)\n\tmov %3, %%eax\n\txrstor64 (%2)\n\tmov %4, %%eax\n\txsave64 (%5)\n2:\n\t"
		TRAP_FIXUP_ENTRY("1b", "2b")
		: "+a"(rax) : "r"(a), "r"(b), "r"(mb), "r"(all), "r"(dst), "d"(0) : "memory");
	return fault_of(rax);
}
RESTORE_SAVE(restore_xsaveopt, "xsaveopt64")
RESTORE_SAVE(restore_xsavec, "xsavec64")

/* Standard-format areas: legacy region, header, AVX state. */
static uint8_t area_img[1024] __attribute__((aligned(64)));
static uint8_t area_out[1024] __attribute__((aligned(64)));
static uint8_t area_cmp[1024] __attribute__((aligned(64)));
static uint8_t area_out2[1024] __attribute__((aligned(64)));
static uint8_t area_init[1024] __attribute__((aligned(64)));

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/*
 * A standard-format image: x87 with two registers in use (TOP = 6), all
 * exceptions masked, FOP/FIP/FDP 0 (no x87 instruction runs between restore
 * and save, so they come back as restored); MXCSR 9FC0H (RC = toward zero,
 * FTZ, all masked); XMM and YMM upper halves a byte pattern.
 */
static void make_image(uint8_t *a, uint64_t xstate_bv)
{
	memset(a, 0, 1024);
	a[0] = 0x7f; a[1] = 0x02;            /* FCW 027FH: 53-bit precision */
	a[2] = 0x00; a[3] = 0x30;            /* FSW: TOP = 6 */
	a[4] = 0xc0;                         /* abridged FTW: physical 6 and 7 in use */
	wr32(a + 24, 0x9fc0);                /* MXCSR */
	for (int i = 0; i < 2; i++) {        /* ST0 = 1.0, ST1 = -2.5 */
		uint8_t *st = a + 32 + i * 16;
		st[7] = 0x80 | (i ? 0x20 : 0);
		st[8] = i ? 0x00 : 0xff; st[9] = i ? 0xc0 : 0x3f;
	}
	for (int i = 0; i < 256; i++) a[160 + i] = (uint8_t)(i * 7 + 3);
	for (int i = 0; i < 256; i++) a[576 + i] = (uint8_t)(i * 13 + 101);
	wr64(a + 512, xstate_bv);
}

/* The bytes of a standard image that hold state in `mask` (x87: 0-23 and 32-159, MXCSR 24-27, XMM, YMMH). */
static int same_state(const uint8_t *a, const uint8_t *b, uint64_t mask)
{
	if ((mask & 1) && (memcmp(a, b, 24) || memcmp(a + 32, b + 32, 128)))
		return 0;
	if ((mask & 2) && (memcmp(a + 24, b + 24, 4) || memcmp(a + 160, b + 160, 256)))
		return 0;
	if ((mask & 4) && memcmp(a + 576, b + 576, 256))
		return 0;
	return 1;
}

static void test_absent(void)
{
	uint64_t v;
	check(try_mov_cr4(read_cr4() | (1u << 18)) == VEC_GP, "absent: mov cr4.osxsave #GP");
	check(try_xgetbv(0, &v) == VEC_UD, "absent: xgetbv #UD");
}

static void test_xsave(int avx, int xsavec, int xsaveopt, int xgetbv1)
{
	uint64_t v = 0;
	const uint64_t all = avx ? 7 : 3;

	check(try_xgetbv(0, &v) == VEC_UD, "xgetbv #UD without cr4.osxsave");
	check(try_mov_cr4(read_cr4() | (1u << 18)) < 0, "cr4.osxsave set");
	check((cpuid(1, 0).ecx >> 27 & 1) == 1, "cpuid osxsave follows cr4");
	check(try_xgetbv(0, &v) < 0 && v == 1, "xcr0 reset value 1");
	check(try_xsetbv(0, 0) == VEC_GP, "xsetbv 0 #GP");
	check(try_xsetbv(0, 2) == VEC_GP, "xsetbv sse without x87 #GP");
	check(try_xsetbv(1, 3) == VEC_GP, "xsetbv ecx=1 #GP");
	check(try_xsetbv(0, 1ull << 62) == VEC_GP, "xsetbv reserved bit #GP");
	if (avx)
		check(try_xsetbv(0, 5) == VEC_GP, "xsetbv avx without sse #GP");
	check(try_xsetbv(0, 3) < 0 && try_xgetbv(0, &v) < 0 && v == 3, "xsetbv 3");
	uint32_t ebx3 = cpuid(0xd, 0).ebx;
	check(ebx3 == 576, "cpuid 0dh ebx for x87|sse is 576");
	if (avx) {
		check(try_xsetbv(0, 7) < 0 && try_xgetbv(0, &v) < 0 && v == 7, "xsetbv 7");
		check(cpuid(0xd, 0).ebx == 832, "cpuid 0dh ebx for x87|sse|avx is 832");
		struct cpuid_regs d2 = cpuid(0xd, 2);
		check(d2.eax == 256 && d2.ebx == 576, "cpuid 0dh.2 avx is 256 bytes at 576");
	}
	struct cpuid_regs d0 = cpuid(0xd, 0), d1 = cpuid(0xd, 1);
	kprintf("xsave cpuid 0dh.0 eax=%x ebx=%u ecx=%u; 0dh.1 eax=%x\n", d0.eax, d0.ebx, d0.ecx, d1.eax);

	/* Standard round trip: XRSTOR an image, XSAVE it back. */
	memset(area_init, 0, sizeof(area_init));
	wr32(area_init + 24, 0x1f80);
	make_image(area_img, all);
	memset(area_out, 0xcc, sizeof(area_out));
	wr64(area_out + 512, 0);
	check(restore_xsave(area_img, area_out, all) < 0 && same_state(area_img, area_out, all), "xrstor/xsave round trip");
	check(rd64(area_out + 512) == all && rd32(area_out + 28) != 0, "xsave header xstate_bv and mxcsr_mask");
	check(rd64(area_out + 520) == 0xcccccccccccccccc, "xsave leaves xcomp_bv");
	check(try_xrstor(area_init, all) < 0, "xrstor init");

	/* Init optimisation: XSTATE_BV = 0 restores initial values (standard form still loads MXCSR). */
	make_image(area_img, 0);
	memset(area_out, 0xcc, sizeof(area_out));
	wr64(area_out + 512, 0);
	int f = restore_xsave(area_img, area_out, all);
	int init_ok = f < 0 && rd32(area_out) == 0x037f /* FCW 037FH, FSW 0 */ && area_out[4] == 0 && rd32(area_out + 24) == 0x9fc0;
	for (int i = 0; i < 256 && init_ok; i++)
		init_ok = area_out[160 + i] == 0 && (!avx || area_out[576 + i] == 0);
	check(init_ok, "xrstor of xstate_bv=0 loads initial state");

	/*
	 * Partial RFBM: a second XRSTOR with RFBM = x87 changes only x87 state. (One asm block: the compiler's own
	 * SSE code must not run between the restores and the save.)
	 */
	make_image(area_img, all);
	make_image(area_cmp, all);
	area_cmp[1] = 0x03;                  /* FCW 037FH in the second image */
	memset(area_cmp + 24, 0, 4);         /* an MXCSR the standard form would #GP on... not loaded with RFBM = 1 */
	area_cmp[26] = 1;
	memset(area_cmp + 160, 0x55, 256);
	memset(area_cmp + 576, 0x66, 256);
	memset(area_out, 0, sizeof(area_out));
	check(restore2_save(area_img, (uint32_t)all, area_cmp, 1, area_out, (uint32_t)all) < 0 &&
		area_out[0] == 0x7f && area_out[1] == 0x03 && same_state(area_img, area_out, all & ~1ull), "xrstor rfbm=1 keeps sse/avx");
	try_xrstor(area_init, all);

	if (xsaveopt) {
		make_image(area_img, all);
		memset(area_out, 0, sizeof(area_out));
		check(restore_xsaveopt(area_img, area_out, all) < 0 && same_state(area_img, area_out, all) && rd64(area_out + 512) == all,
			"xrstor/xsaveopt round trip");
		try_xrstor(area_init, all);
	}
	if (xsavec) {
		make_image(area_img, all);
		memset(area_cmp, 0, sizeof(area_cmp));
		int ok = restore_xsavec(area_img, area_cmp, all) < 0 &&
			rd64(area_cmp + 512) == all && rd64(area_cmp + 520) == (all | 1ull << 63);
		try_xrstor(area_init, all);
		memset(area_out2, 0, sizeof(area_out2));
		ok = ok && restore_xsave(area_cmp, area_out2, all) < 0 && same_state(area_img, area_out2, all);
		check(ok, "xsavec compacted round trip");
		try_xrstor(area_init, all);
	}

	/* Faults. */
	check(try_xsave(area_out + 16, all) == VEC_GP, "xsave misaligned #GP");
	make_image(area_img, all | 1ull << 63);
	check(try_xrstor(area_img, all) == VEC_GP, "xrstor xstate_bv bit 63 #GP");
	make_image(area_img, all);
	wr64(area_img + 520, 1);
	check(try_xrstor(area_img, all) == VEC_GP, "xrstor xcomp_bv without bit 63 #GP");
	make_image(area_img, all);
	wr32(area_img + 24, 0x10000 | 0x1f80);
	check(try_xrstor(area_img, all) == VEC_GP, "xrstor reserved mxcsr bit #GP");
	make_image(area_img, all);
	area_img[512 + 20] = 1;
	check(try_xrstor(area_img, all) == VEC_GP, "xrstor nonzero header byte 20 #GP");
	if (xgetbv1) {
		check(try_xgetbv(1, &v) < 0 && (v & ~all) == 0, "xgetbv ecx=1");
		check(try_xgetbv(2, &v) == VEC_GP, "xgetbv ecx=2 #GP");
	}
	/* (CR0.TS -> #NM is in tests/unit/cpu/xsave.test.ts: here the exception handler itself is SSE code.) */
}

/* ---- BMI1, BMI2, ADX, MOVBE, LZCNT against C */

static uint64_t ref_pdep(uint64_t src, uint64_t mask)
{
	uint64_t r = 0;
	for (uint64_t bit = 1; mask; bit <<= 1) {
		uint64_t low = mask & -mask;
		if (src & bit)
			r |= low;
		mask &= mask - 1;
	}
	return r;
}

static uint64_t ref_pext(uint64_t src, uint64_t mask)
{
	uint64_t r = 0, bit = 1;
	while (mask) {
		uint64_t low = mask & -mask;
		if (src & low)
			r |= bit;
		bit <<= 1;
		mask &= mask - 1;
	}
	return r;
}

static unsigned ref_lzcnt(uint64_t v) { unsigned n = 0; while (n < 64 && !(v >> (63 - n) & 1)) n++; return n; }
static unsigned ref_tzcnt(uint64_t v) { unsigned n = 0; while (n < 64 && !(v >> n & 1)) n++; return n; }

static void test_bitmanip(int bmi1, int bmi2, int adx, int movbe, int lzcnt)
{
	static const uint64_t vals[] = { 0, 1, 0x8000000000000000ull, 0xffffffffffffffffull, 0x00f0f0f0f0f0f000ull,
		0x123456789abcdef0ull, 0x00000000ffff0000ull };
	unsigned bad = 0;
	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (unsigned j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
			uint64_t a = vals[i], b = vals[j] ^ (0x0101010101010101ull * j), r, r2;
			if (bmi1) {
				__asm__("andn %2, %1, %0" : "=r"(r) : "r"(a), "rm"(b) : "cc");
				bad += r != (~a & b);
				__asm__("tzcnt %1, %0" : "=r"(r) : "rm"(a) : "cc");
				bad += r != ref_tzcnt(a);
				__asm__("blsr %1, %0" : "=r"(r) : "rm"(b) : "cc");
				bad += r != (b & (b - 1));
				uint64_t ctl = (j * 9) | ((i * 11) << 8);
				__asm__("bextr %2, %1, %0" : "=r"(r) : "rm"(b), "r"(ctl) : "cc");
				uint64_t s = ctl & 0xff, l = ctl >> 8 & 0xff;
				uint64_t want = s >= 64 ? 0 : (b >> s) & (l >= 64 ? ~0ull : (1ull << l) - 1);
				bad += r != want;
			}
			if (bmi2) {
				__asm__("pdep %2, %1, %0" : "=r"(r) : "r"(a), "rm"(b));
				bad += r != ref_pdep(a, b);
				__asm__("pext %2, %1, %0" : "=r"(r) : "r"(a), "rm"(b));
				bad += r != ref_pext(a, b);
				__asm__("mulx %3, %0, %1" : "=r"(r), "=r"(r2) : "d"(a), "rm"(b));
				unsigned __int128 p = (unsigned __int128)a * b;
				bad += r != (uint64_t)p || r2 != (uint64_t)(p >> 64);
				uint64_t n = (i * 7 + j * 5) & 63;
				__asm__("shlx %2, %1, %0" : "=r"(r) : "rm"(a), "r"(n));
				bad += r != a << n;
				__asm__("sarx %2, %1, %0" : "=r"(r) : "rm"(a), "r"(n));
				bad += r != (uint64_t)((int64_t)a >> n);
				__asm__("rorx $13, %1, %0" : "=r"(r) : "rm"(a));
				bad += r != (a >> 13 | a << 51);
				__asm__("bzhi %2, %1, %0" : "=r"(r) : "rm"(a), "r"(n + 1));
				bad += r != (n + 1 >= 64 ? a : a & ((1ull << (n + 1)) - 1));
			}
			if (adx) {
				/* a + b + 1 through CF (ADCX) and OF (ADOX) independently. */
				uint64_t x = a, y = a;
				__asm__("stc; adcx %1, %0" : "+r"(x) : "r"(b) : "cc");
				bad += x != a + b + 1;
				/* OF = 1 from a signed overflow (7FFFFFFFH + 7FFFFFFFH), CF = 0. */
				__asm__("mov $0x7fffffff, %%eax; add %%eax, %%eax; adox %1, %0" : "+r"(y) : "r"(b) : "cc", "rax");
				bad += y != a + b + 1;
			}
			if (movbe) {
				uint64_t m = b;
				__asm__("movbe %1, %0" : "=r"(r) : "m"(m));
				bad += r != __builtin_bswap64(b);
				uint32_t m32;
				__asm__("movbe %1, %0" : "=m"(m32) : "r"((uint32_t)a));
				bad += m32 != __builtin_bswap32((uint32_t)a);
			}
			if (lzcnt) {
				__asm__("lzcnt %1, %0" : "=r"(r) : "rm"(a) : "cc");
				bad += r != ref_lzcnt(a);
			}
		}
	}
	kprintf("xsave bitmanip bmi1=%d bmi2=%d adx=%d movbe=%d lzcnt=%d\n", bmi1, bmi2, adx, movbe, lzcnt);
	check(bad == 0, "bitmanip results match C");
}

int guest_main(void)
{
	struct cpuid_regs l1 = cpuid(1, 0);
	struct cpuid_regs l7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0) : (struct cpuid_regs){ 0, 0, 0, 0 };
	struct cpuid_regs e1 = cpuid(0x80000001, 0);
	int xsave = l1.ecx >> 26 & 1, avx = l1.ecx >> 28 & 1;
	struct cpuid_regs d1 = xsave ? cpuid(0xd, 1) : (struct cpuid_regs){ 0, 0, 0, 0 };
	kprintf("xsave cpuid xsave=%d avx=%d xsaveopt=%d xsavec=%d xgetbv1=%d\n", xsave, avx, d1.eax & 1, d1.eax >> 1 & 1, d1.eax >> 2 & 1);
	if (xsave)
		test_xsave(avx, d1.eax >> 1 & 1, d1.eax & 1, d1.eax >> 2 & 1);
	else
		test_absent();
	test_bitmanip(l7.ebx >> 3 & 1, l7.ebx >> 8 & 1, l7.ebx >> 19 & 1, l1.ecx >> 22 & 1, e1.ecx >> 5 & 1);
	if (failures) {
		kprintf("XSAVE FAIL %u\n", failures);
		return GUEST_EXIT_FAILURE;
	}
	kprintf("XSAVE OK\n");
	return GUEST_EXIT_SUCCESS;
}
