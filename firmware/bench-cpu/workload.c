/*
 * Four phases, each reporting a checksum: hashing (FNV-1a 64 and CRC-32 over
 * a pseudo-random buffer), sorting (quicksort of n 32-bit keys), an integer
 * matrix product, and string work (tokenising, counting, a word hash table,
 * in-place edits). Integer only, so results are bit-exact everywhere.
 */
#include "workload.h"

static inline uint64_t tsc_now(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint32_t lcg(uint32_t *s)
{
	/* Numerical Recipes' LCG */
	return *s = *s * 1664525u + 1013904223u;
}

/* --- hashing --- */

static uint64_t fnv1a64(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t crc_table[256];

static void crc32_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint64_t phase_hash(uint32_t n, const struct bench_env *env)
{
	size_t len = (size_t)n * 16;
	uint8_t *buf = env->alloc(len);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v = xorshift64(&seed);
		for (int k = 0; k < 8; k++)
			buf[i + k] = (uint8_t)(v >> (8 * k));
	}
	crc32_init();
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t c = 0;
	for (int round = 0; round < 2; round++) {
		h = fnv1a64(buf, len, h);
		c = crc32(buf, len, c);
		buf[(size_t)round * 977 % len] ^= (uint8_t)h; /* make each round differ */
	}
	return h ^ ((uint64_t)c << 32) ^ c;
}

/* --- sorting --- */

static void insertion_sort(uint32_t *a, long lo, long hi)
{
	for (long i = lo + 1; i <= hi; i++) {
		uint32_t v = a[i];
		long j = i - 1;
		while (j >= lo && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static void swap32(uint32_t *a, long i, long j)
{
	uint32_t t = a[i];
	a[i] = a[j];
	a[j] = t;
}

/* Median-of-three quicksort; recurses on the smaller side (depth <= log2 n). */
static void quicksort(uint32_t *a, long lo, long hi)
{
	while (hi - lo > 16) {
		long mid = lo + (hi - lo) / 2;
		if (a[mid] < a[lo]) swap32(a, mid, lo);
		if (a[hi] < a[lo]) swap32(a, hi, lo);
		if (a[hi] < a[mid]) swap32(a, hi, mid);
		uint32_t pivot = a[mid];
		long i = lo, j = hi;
		while (i <= j) {
			while (a[i] < pivot) i++;
			while (a[j] > pivot) j--;
			if (i <= j) {
				swap32(a, i, j);
				i++;
				j--;
			}
		}
		if (j - lo < hi - i) {
			quicksort(a, lo, j);
			lo = i;
		} else {
			quicksort(a, i, hi);
			hi = j;
		}
	}
	insertion_sort(a, lo, hi);
}

static uint64_t phase_sort(uint32_t n, const struct bench_env *env)
{
	uint32_t *a = env->alloc((size_t)n * sizeof(uint32_t));
	uint32_t s = 12345;
	for (uint32_t i = 0; i < n; i++)
		a[i] = lcg(&s);
	quicksort(a, 0, (long)n - 1);
	uint64_t sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i && a[i - 1] > a[i])
			return 0xbadbadbadull; /* not sorted: a wrong result, visibly */
		sum += (uint64_t)a[i] * (i + 1);
	}
	return sum;
}

/* --- matrix multiply --- */

static uint32_t isqrt(uint32_t v)
{
	uint32_t r = 0;
	while ((uint64_t)(r + 1) * (r + 1) <= v)
		r++;
	return r;
}

static uint64_t phase_matmul(uint32_t n, const struct bench_env *env)
{
	uint32_t m = isqrt(n) * 3 / 4;
	if (m < 8)
		m = 8;
	uint32_t *a = env->alloc((size_t)m * m * sizeof(uint32_t));
	uint32_t *b = env->alloc((size_t)m * m * sizeof(uint32_t));
	uint32_t *c = env->alloc((size_t)m * m * sizeof(uint32_t));
	uint32_t s = 777;
	for (uint32_t i = 0; i < m * m; i++) {
		a[i] = lcg(&s) >> 22;
		b[i] = lcg(&s) >> 22;
	}
	for (uint32_t i = 0; i < m; i++) {
		for (uint32_t j = 0; j < m; j++)
			c[i * m + j] = 0;
		for (uint32_t k = 0; k < m; k++) {
			uint32_t aik = a[i * m + k];
			for (uint32_t j = 0; j < m; j++)
				c[i * m + j] += aik * b[k * m + j];
		}
	}
	uint64_t sum = 0;
	for (uint32_t i = 0; i < m * m; i++)
		sum = sum * 31 + c[i];
	return sum ^ m;
}

/* --- strings --- */

static const char *const words[16] = {
	"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
	"microvm", "guest", "kernel", "virtio", "timer", "clock", "page", "thread",
};

#define WORD_TABLE_SIZE 4096u

struct word_slot {
	const char *start;
	uint32_t len;
	uint32_t count;
};

static int same_word(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	if (alen != blen)
		return 0;
	for (uint32_t i = 0; i < alen; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static uint64_t phase_string(uint32_t n, const struct bench_env *env)
{
	size_t cap = (size_t)n * 8 + 16;
	char *text = env->alloc(cap);
	struct word_slot *table = env->alloc(WORD_TABLE_SIZE * sizeof(struct word_slot));
	uint32_t s = 4242;
	size_t len = 0;

	/* build text: words with a random numeric suffix now and then */
	while (len + 12 < cap - 1) {
		const char *w = words[lcg(&s) >> 28];
		while (*w)
			text[len++] = *w++;
		uint32_t r = lcg(&s);
		if ((r >> 24) < 64) {
			uint32_t d = (r >> 8) % 100;
			text[len++] = (char)('0' + d / 10);
			text[len++] = (char)('0' + d % 10);
		}
		text[len++] = ' ';
	}
	text[len] = '\0';

	/* naive substring search */
	uint64_t hits = 0;
	static const char needle[] = "fox jumps";
	for (size_t i = 0; i + sizeof(needle) - 1 <= len; i++) {
		size_t k = 0;
		while (k < sizeof(needle) - 1 && text[i + k] == needle[k])
			k++;
		hits += k == sizeof(needle) - 1;
	}

	/* word frequencies in an open-addressing table */
	for (uint32_t i = 0; i < WORD_TABLE_SIZE; i++)
		table[i].start = 0, table[i].len = 0, table[i].count = 0;
	uint64_t nwords = 0, distinct = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && text[i] == ' ')
			i++;
		size_t st = i;
		while (i < len && text[i] != ' ')
			i++;
		if (i == st)
			continue;
		uint32_t wl = (uint32_t)(i - st);
		uint32_t h = (uint32_t)fnv1a64((const uint8_t *)text + st, wl, 0xcbf29ce484222325ull);
		for (uint32_t probe = 0; probe < WORD_TABLE_SIZE; probe++) {
			struct word_slot *slot = &table[(h + probe) & (WORD_TABLE_SIZE - 1)];
			if (!slot->start) {
				slot->start = text + st;
				slot->len = wl;
				slot->count = 1;
				distinct++;
				break;
			}
			if (same_word(slot->start, slot->len, text + st, wl)) {
				slot->count++;
				break;
			}
		}
		nwords++;
	}
	uint64_t freq = 0;
	for (uint32_t i = 0; i < WORD_TABLE_SIZE; i++)
		if (table[i].start)
			freq = freq * 1000003u + table[i].count * (uint64_t)table[i].len;

	/* reverse every word in place, upper-case vowels */
	for (size_t i = 0; i < len;) {
		size_t st = i;
		while (i < len && text[i] != ' ')
			i++;
		for (size_t l = st, r = i; l + 1 < r; l++, r--) {
			char t = text[l];
			text[l] = text[r - 1];
			text[r - 1] = t;
		}
		i++;
	}
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (ch == 'a' || ch == 'e' || ch == 'i' || ch == 'o' || ch == 'u')
			text[i] = (char)(ch - 'a' + 'A');
	}
	uint64_t h = fnv1a64((const uint8_t *)text, len, 0xcbf29ce484222325ull);
	return h ^ (hits << 48) ^ (nwords << 24) ^ (distinct << 8) ^ freq;
}

size_t bench_memory_bytes(uint32_t n)
{
	uint32_t m = isqrt(n) * 3 / 4;
	if (m < 8)
		m = 8;
	return (size_t)n * 16 + (size_t)n * 4 + 3 * (size_t)m * m * 4 + (size_t)n * 8 + 16 +
	       WORD_TABLE_SIZE * sizeof(struct word_slot) + 6 * 16;
}

uint64_t bench_run(uint32_t n, const struct bench_env *env)
{
	static const struct {
		const char *name;
		uint64_t (*fn)(uint32_t, const struct bench_env *);
	} phases[] = {
		{ "hash", phase_hash },
		{ "sort", phase_sort },
		{ "matmul", phase_matmul },
		{ "string", phase_string },
	};
	uint64_t total = 0, total_cycles = 0;

	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		uint64_t t0 = tsc_now();
		uint64_t sum = phases[i].fn(n, env);
		uint64_t t1 = tsc_now();
		env->report(phases[i].name, n, sum, t1 - t0);
		total = total * 0x100000001b3ull ^ sum;
		total_cycles += t1 - t0;
	}
	env->report("total", n, total, total_cycles);
	return total;
}
