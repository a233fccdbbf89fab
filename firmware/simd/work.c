/*
 * Algorithms: SHA-256 (FIPS 180-4), AES-128 (FIPS 197), GCM (NIST SP
 * 800-38D), CRC-32C (Castagnoli, reflected 0x82f63b78). The SHA-NI,
 * AES-NI and PCLMULQDQ paths follow the instruction definitions in the
 * Intel SDM vol. 2 (SHA256RNDS2/MSG1/MSG2, AESENC/AESKEYGENASSIST,
 * PCLMULQDQ); the GHASH reduction below is derived in the comments.
 */
#include "work.h"
#include <immintrin.h>

static void out(const struct simd_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* a tiny formatter (the guest has no libc): %s %u %lu %x %lx %016lx %08x %02x */
#include <stdarg.h>
static void out(const struct simd_env *env, const char *fmt, ...)
{
	char buf[256];
	size_t n = 0;
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p && n < sizeof(buf) - 24; p++) {
		if (*p != '%') {
			buf[n++] = *p;
			continue;
		}
		p++;
		int width = 0, zero = 0, lng = 0;
		if (*p == '0') { zero = 1; p++; }
		while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
		while (*p == 'l') { lng = 1; p++; }
		if (*p == 's') {
			for (const char *s = va_arg(ap, const char *); *s && n < sizeof(buf) - 24; s++)
				buf[n++] = *s;
			continue;
		}
		unsigned long v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
		unsigned base = *p == 'x' ? 16 : 10;
		char tmp[24];
		int k = 0;
		do { tmp[k++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
		while (k < width) tmp[k++] = zero ? '0' : ' ';
		while (k) buf[n++] = tmp[--k];
	}
	va_end(ap);
	buf[n] = '\0';
	env->print(buf);
}

struct simd_features simd_detect(void)
{
	struct simd_features f = { 0 };
	unsigned a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	unsigned max = a;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	f.ssse3 = c & (1u << 9);
	f.sse41 = c & (1u << 19);
	f.sse42 = c & (1u << 20);
	f.popcnt = c & (1u << 23);
	f.aes = c & (1u << 25);
	f.pclmul = c & (1u << 1);
	bool osxsave = c & (1u << 27);
	bool avx = c & (1u << 28);
	if (osxsave && avx) {
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		f.avx = (lo & 6) == 6; /* XCR0: SSE and AVX state enabled by the OS */
	}
	if (max >= 7) {
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
		f.avx2 = f.avx && (b & (1u << 5));
		f.sha = b & (1u << 29);
	}
	return f;
}

static inline uint32_t rotr32(uint32_t x, unsigned r) { return (x >> r) | (x << (32 - r)); }
static inline uint32_t load_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void store_be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

/* ---------------- SHA-256 ---------------- */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

typedef void (*sha_blocks_fn)(uint32_t h[8], const uint8_t *p, size_t blocks);

static void sha256_blocks_portable(uint32_t h[8], const uint8_t *p, size_t blocks)
{
	for (; blocks--; p += 64) {
		uint32_t w[64];
		for (int t = 0; t < 16; t++)
			w[t] = load_be32(p + 4 * t);
		for (int t = 16; t < 64; t++) {
			uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
			uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
			w[t] = w[t - 16] + s0 + w[t - 7] + s1;
		}
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
		for (int t = 0; t < 64; t++) {
			uint32_t t1 = hh + (rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
			uint32_t t2 = (rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
			hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
		}
		h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
	}
}

/*
 * SHA-NI: the state lives as ABEF and CDGH (A in bits 127:96 ... F in 31:0);
 * SHA256RNDS2 does two rounds with W+K from the low 64 bits of the third
 * operand and returns the new ABEF; the two registers swap roles each call.
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t blocks)
{
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
	__m128i abef = _mm_set_epi32((int)h[0], (int)h[1], (int)h[4], (int)h[5]);
	__m128i cdgh = _mm_set_epi32((int)h[2], (int)h[3], (int)h[6], (int)h[7]);

	for (; blocks--; p += 64) {
		__m128i save_abef = abef, save_cdgh = cdgh;
		__m128i w[4];
		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int t = 0; t < 64; t += 4) {
			__m128i cur;
			if (t < 16) {
				cur = w[t / 4];
			} else {
				/* W[t..t+3] from W[t-16..t-1]: w[0]=t-16.., w[1]=t-12.., w[2]=t-8.., w[3]=t-4.. */
				__m128i x = _mm_sha256msg1_epu32(w[0], w[1]);
				x = _mm_add_epi32(x, _mm_alignr_epi8(w[3], w[2], 4));
				cur = _mm_sha256msg2_epu32(x, w[3]);
				w[0] = w[1];
				w[1] = w[2];
				w[2] = w[3];
				w[3] = cur;
			}
			__m128i wk = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&K256[t]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);        /* rounds t, t+1 */
			wk = _mm_shuffle_epi32(wk, 0x0e);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);        /* rounds t+2, t+3 */
		}
		abef = _mm_add_epi32(abef, save_abef);
		cdgh = _mm_add_epi32(cdgh, save_cdgh);
	}
	uint32_t o[8];
	_mm_storeu_si128((__m128i *)o, abef);      /* F E B A */
	_mm_storeu_si128((__m128i *)(o + 4), cdgh); /* H G D C */
	h[0] = o[3]; h[1] = o[2]; h[4] = o[1]; h[5] = o[0];
	h[2] = o[7]; h[3] = o[6]; h[6] = o[5]; h[7] = o[4];
}

static void sha256(sha_blocks_fn blocks, const uint8_t *msg, size_t len, uint8_t digest[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	size_t full = len / 64;
	blocks(h, msg, full);
	uint8_t tail[128] = { 0 };
	size_t rem = len - full * 64;
	for (size_t i = 0; i < rem; i++)
		tail[i] = msg[full * 64 + i];
	tail[rem] = 0x80;
	size_t tail_blocks = rem + 9 > 64 ? 2 : 1;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tail_blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
	blocks(h, tail, tail_blocks);
	for (int i = 0; i < 8; i++)
		store_be32(digest + 4 * i, h[i]);
}

/* ---------------- AES-128 ---------------- */

static uint8_t sbox[256];

static uint8_t xtime(uint8_t x) { return (uint8_t)((x << 1) ^ ((x >> 7) * 0x1b)); }

static uint8_t gmul8(uint8_t a, uint8_t b)
{
	uint8_t r = 0;
	while (b) {
		if (b & 1)
			r ^= a;
		a = xtime(a);
		b >>= 1;
	}
	return r;
}

/* FIPS 197 5.1.1: multiplicative inverse in GF(2^8), then the affine map. */
static void sbox_init(void)
{
	for (int x = 0; x < 256; x++) {
		uint8_t inv = 0;
		for (int y = 1; y < 256 && x; y++)
			if (gmul8((uint8_t)x, (uint8_t)y) == 1) {
				inv = (uint8_t)y;
				break;
			}
		uint8_t s = inv;
		uint8_t r = s;
		for (int i = 0; i < 4; i++) {
			s = (uint8_t)((s << 1) | (s >> 7));
			r ^= s;
		}
		sbox[x] = r ^ 0x63;
	}
}

struct aes128 { uint8_t rk[11][16]; };

static void aes128_expand_portable(struct aes128 *k, const uint8_t key[16])
{
	uint8_t rcon = 1;
	for (int i = 0; i < 16; i++)
		k->rk[0][i] = key[i];
	for (int r = 1; r <= 10; r++) {
		const uint8_t *p = k->rk[r - 1];
		uint8_t t[4] = { (uint8_t)(sbox[p[13]] ^ rcon), sbox[p[14]], sbox[p[15]], sbox[p[12]] };
		for (int i = 0; i < 4; i++)
			k->rk[r][i] = p[i] ^ t[i];
		for (int i = 4; i < 16; i++)
			k->rk[r][i] = p[i] ^ k->rk[r][i - 4];
		rcon = xtime(rcon);
	}
}

static void aes128_encrypt_portable(const struct aes128 *k, const uint8_t in[16], uint8_t outb[16])
{
	uint8_t s[16];
	for (int i = 0; i < 16; i++)
		s[i] = in[i] ^ k->rk[0][i];
	for (int r = 1; r <= 10; r++) {
		uint8_t t[16];
		/* SubBytes + ShiftRows: state column-major, row i shifted left by i */
		for (int c = 0; c < 4; c++)
			for (int row = 0; row < 4; row++)
				t[4 * c + row] = sbox[s[4 * ((c + row) & 3) + row]];
		if (r < 10) {
			for (int c = 0; c < 4; c++) { /* MixColumns */
				uint8_t *col = t + 4 * c;
				uint8_t a0 = col[0], a1 = col[1], a2 = col[2], a3 = col[3], all = a0 ^ a1 ^ a2 ^ a3;
				col[0] = a0 ^ all ^ xtime(a0 ^ a1);
				col[1] = a1 ^ all ^ xtime(a1 ^ a2);
				col[2] = a2 ^ all ^ xtime(a2 ^ a3);
				col[3] = a3 ^ all ^ xtime(a3 ^ a0);
			}
		}
		for (int i = 0; i < 16; i++)
			s[i] = t[i] ^ k->rk[r][i];
	}
	for (int i = 0; i < 16; i++)
		outb[i] = s[i];
}

__attribute__((target("aes,sse2")))
static __m128i aes_expand_step(__m128i prev, __m128i assist)
{
	/* AESKEYGENASSIST puts RotWord(SubWord(w3)) ^ rcon in dword 3; spread it, then the running xor */
	assist = _mm_shuffle_epi32(assist, 0xff);
	prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
	prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
	prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
	return _mm_xor_si128(prev, assist);
}

__attribute__((target("aes,sse2")))
static void aes128_expand_ni(struct aes128 *k, const uint8_t key[16])
{
	__m128i r = _mm_loadu_si128((const __m128i *)key);
	_mm_storeu_si128((__m128i *)k->rk[0], r);
#define STEP(i, rc) r = aes_expand_step(r, _mm_aeskeygenassist_si128(r, rc)); _mm_storeu_si128((__m128i *)k->rk[i], r)
	STEP(1, 0x01); STEP(2, 0x02); STEP(3, 0x04); STEP(4, 0x08); STEP(5, 0x10);
	STEP(6, 0x20); STEP(7, 0x40); STEP(8, 0x80); STEP(9, 0x1b); STEP(10, 0x36);
#undef STEP
}

/* ---------------- GCM ---------------- */

struct u128 { uint64_t hi, lo; }; /* hi = bytes 0..7 big-endian */

static struct u128 load128(const uint8_t *p)
{
	struct u128 v = { 0, 0 };
	for (int i = 0; i < 8; i++) {
		v.hi = (v.hi << 8) | p[i];
		v.lo = (v.lo << 8) | p[8 + i];
	}
	return v;
}

static void store128(uint8_t *p, struct u128 v)
{
	for (int i = 0; i < 8; i++) {
		p[7 - i] = (uint8_t)(v.hi >> (8 * i));
		p[15 - i] = (uint8_t)(v.lo >> (8 * i));
	}
}

/* SP 800-38D Algorithm 1: X * Y in GF(2^128), bit 0 = MSB of byte 0, R = 0xe1 || 0^120. */
static struct u128 gf_mul_portable(struct u128 x, struct u128 y)
{
	struct u128 z = { 0, 0 }, v = y;
	for (int i = 0; i < 128; i++) {
		uint64_t bit = i < 64 ? (x.hi >> (63 - i)) & 1 : (x.lo >> (127 - i)) & 1;
		if (bit) {
			z.hi ^= v.hi;
			z.lo ^= v.lo;
		}
		uint64_t lsb = v.lo & 1;
		v.lo = (v.lo >> 1) | (v.hi << 63);
		v.hi >>= 1;
		if (lsb)
			v.hi ^= 0xe100000000000000ull;
	}
	return z;
}

/*
 * With PCLMULQDQ. Read as a big-endian 128-bit integer, a block is the
 * bit-reversal of its polynomial (coefficient of x^0 in the top bit). For
 * reversed inputs the carry-less product is the 255-bit reversal of the
 * product, so after a left shift by one its top 128 bits hold coefficients
 * x^0..x^127 (Lr) and its low 128 bits x^128..x^255 (Hr), both reversed.
 * x^128 = x^7 + x^2 + x + 1, and multiplying by x^k is a right shift by k
 * in reversed form; the bits shifted out (E) are folded the same way once
 * more: R = Lr ^ f(Hr) ^ f(E), f(v) = v ^ v>>1 ^ v>>2 ^ v>>7,
 * E = Hr<<127 ^ Hr<<126 ^ Hr<<121 (mod 2^128).
 */
__attribute__((target("pclmul,sse2")))
static struct u128 gf_mul_clmul(struct u128 x, struct u128 y)
{
	__m128i a = _mm_set_epi64x((long long)x.hi, (long long)x.lo);
	__m128i b = _mm_set_epi64x((long long)y.hi, (long long)y.lo);
	__m128i ll = _mm_clmulepi64_si128(a, b, 0x00);
	__m128i hh = _mm_clmulepi64_si128(a, b, 0x11);
	__m128i m = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10));
	uint64_t w[4]; /* 256-bit product, w[3] most significant */
	w[0] = (uint64_t)_mm_cvtsi128_si64(ll);
	w[1] = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(ll, ll)) ^ (uint64_t)_mm_cvtsi128_si64(m);
	w[2] = (uint64_t)_mm_cvtsi128_si64(hh) ^ (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(m, m));
	w[3] = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(hh, hh));
	/* shift the 256-bit value left by one */
	w[3] = (w[3] << 1) | (w[2] >> 63);
	w[2] = (w[2] << 1) | (w[1] >> 63);
	w[1] = (w[1] << 1) | (w[0] >> 63);
	w[0] <<= 1;
	unsigned __int128 lr = ((unsigned __int128)w[3] << 64) | w[2];
	unsigned __int128 hr = ((unsigned __int128)w[1] << 64) | w[0];
	unsigned __int128 e = (hr << 127) ^ (hr << 126) ^ (hr << 121);
	unsigned __int128 r = lr ^ hr ^ (hr >> 1) ^ (hr >> 2) ^ (hr >> 7) ^ e ^ (e >> 1) ^ (e >> 2) ^ (e >> 7);
	struct u128 z = { (uint64_t)(r >> 64), (uint64_t)r };
	return z;
}

struct gcm_impl {
	const char *name;
	void (*encrypt)(const struct aes128 *, const uint8_t *, uint8_t *);
	void (*expand)(struct aes128 *, const uint8_t *);
	struct u128 (*mul)(struct u128, struct u128);
};

__attribute__((target("aes,sse2")))
static void aes128_encrypt_ni(const struct aes128 *k, const uint8_t in[16], uint8_t outb[16])
{
	__m128i s = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in), _mm_loadu_si128((const __m128i *)k->rk[0]));
	for (int r = 1; r < 10; r++)
		s = _mm_aesenc_si128(s, _mm_loadu_si128((const __m128i *)k->rk[r]));
	s = _mm_aesenclast_si128(s, _mm_loadu_si128((const __m128i *)k->rk[10]));
	_mm_storeu_si128((__m128i *)outb, s);
}

/* AES-128-GCM with a 96-bit IV (SP 800-38D 7.1). */
static void gcm_encrypt(const struct gcm_impl *impl, const uint8_t key[16], const uint8_t iv[12],
			const uint8_t *aad, size_t aad_len, const uint8_t *pt, uint8_t *ct, size_t len, uint8_t tag[16])
{
	struct aes128 k;
	impl->expand(&k, key);
	uint8_t zero[16] = { 0 }, hb[16], j0[16], ctr[16], ks[16];
	impl->encrypt(&k, zero, hb);
	struct u128 h = load128(hb), y = { 0, 0 };
	for (int i = 0; i < 12; i++)
		j0[i] = iv[i];
	j0[12] = 0; j0[13] = 0; j0[14] = 0; j0[15] = 1;
	for (int i = 0; i < 16; i++)
		ctr[i] = j0[i];

	for (size_t off = 0; off < aad_len; off += 16) {
		uint8_t blk[16] = { 0 };
		for (size_t i = 0; i < 16 && off + i < aad_len; i++)
			blk[i] = aad[off + i];
		struct u128 x = load128(blk);
		y.hi ^= x.hi; y.lo ^= x.lo;
		y = impl->mul(y, h);
	}
	for (size_t off = 0; off < len; off += 16) {
		uint32_t c32 = load_be32(ctr + 12) + 1; /* inc32 */
		store_be32(ctr + 12, c32);
		impl->encrypt(&k, ctr, ks);
		uint8_t blk[16] = { 0 };
		for (size_t i = 0; i < 16 && off + i < len; i++)
			blk[i] = ct[off + i] = pt[off + i] ^ ks[i];
		struct u128 x = load128(blk);
		y.hi ^= x.hi; y.lo ^= x.lo;
		y = impl->mul(y, h);
	}
	struct u128 lens = { (uint64_t)aad_len * 8, (uint64_t)len * 8 };
	y.hi ^= lens.hi; y.lo ^= lens.lo;
	y = impl->mul(y, h);
	uint8_t s[16], ej0[16];
	store128(s, y);
	impl->encrypt(&k, j0, ej0);
	for (int i = 0; i < 16; i++)
		tag[i] = s[i] ^ ej0[i];
}

/* ---------------- CRC-32C, popcount, AVX2 ---------------- */

static uint32_t crc32c_table[256];

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0x82f63b78u ^ (c >> 1) : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t crc32c_portable(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++)
		c = crc32c_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(const uint8_t *p, size_t n)
{
	uint64_t c = 0xffffffffu;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		__builtin_memcpy(&v, p + i, 8);
		c = _mm_crc32_u64(c, v);
	}
	for (; i < n; i++)
		c = _mm_crc32_u8((uint32_t)c, p[i]);
	return ~(uint32_t)c;
}

static uint64_t popcount_portable(const uint64_t *w, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t x = w[i];
		x = x - ((x >> 1) & 0x5555555555555555ull);
		x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
		x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
		total += (x * 0x0101010101010101ull) >> 56;
	}
	return total;
}

__attribute__((target("popcnt")))
static uint64_t popcount_hw(const uint64_t *w, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += (uint64_t)__builtin_popcountll(w[i]);
	return total;
}

/* sum of a[i] * b[i] and xor of (a[i] + b[i]) << (i & 7), mod 2^32 */
static uint64_t mix_portable(const uint32_t *a, const uint32_t *b, size_t n)
{
	uint32_t dot = 0, x = 0;
	for (size_t i = 0; i < n; i++) {
		dot += a[i] * b[i];
		x ^= (a[i] + b[i]) << (i & 7);
	}
	return (uint64_t)dot << 32 | x;
}

__attribute__((target("avx2")))
static uint64_t mix_avx2(const uint32_t *a, const uint32_t *b, size_t n)
{
	__m256i dot = _mm256_setzero_si256(), x = _mm256_setzero_si256();
	const __m256i shifts = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
		__m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
		dot = _mm256_add_epi32(dot, _mm256_mullo_epi32(va, vb));
		x = _mm256_xor_si256(x, _mm256_sllv_epi32(_mm256_add_epi32(va, vb), shifts));
	}
	uint32_t d[8], xs[8];
	_mm256_storeu_si256((__m256i *)d, dot);
	_mm256_storeu_si256((__m256i *)xs, x);
	uint32_t dd = 0, xx = 0;
	for (int k = 0; k < 8; k++) {
		dd += d[k];
		xx ^= xs[k];
	}
	for (; i < n; i++) {
		dd += a[i] * b[i];
		xx ^= (a[i] + b[i]) << (i & 7);
	}
	return (uint64_t)dd << 32 | xx;
}

/* ---------------- driver ---------------- */

static void hex(char *dst, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = "0123456789abcdef"[p[i] >> 4];
		dst[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
	}
	dst[2 * n] = '\0';
}

static int eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

unsigned simd_run(size_t n, const struct simd_features *f, bool use_accel, const struct simd_env *env)
{
	unsigned failures = 0;
	char h1[65], h2[65];
	sbox_init();
	crc32c_init();

	const struct gcm_impl portable = { "portable", aes128_encrypt_portable, aes128_expand_portable, gf_mul_portable };
	const struct gcm_impl accel = { "aesni+pclmul", aes128_encrypt_ni, aes128_expand_ni, gf_mul_clmul };
	bool sha_ok = use_accel && f->sha && f->sse41 && f->ssse3;
	bool gcm_ok = use_accel && f->aes && f->pclmul;

	/* self-tests: FIPS 180-4 "abc"; SP 800-38D / McGrew-Viega GCM test case 3 */
	static const uint8_t abc_digest[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const uint8_t tc3_key[16] = { 0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08 };
	static const uint8_t tc3_iv[12] = { 0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88 };
	static const uint8_t tc3_pt[64] = {
		0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26, 0x9a,
		0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72,
		0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
		0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39, 0x1a, 0xaf, 0xd2, 0x55,
	};
	static const uint8_t tc3_tag[16] = { 0x4d, 0x5c, 0x2a, 0xf3, 0x27, 0xcd, 0x64, 0xa6, 0x2c, 0xf3, 0x5a, 0xbd, 0x2b, 0xa6, 0xfa, 0xb4 };
	static const uint8_t tc3_ct0[4] = { 0x42, 0x83, 0x1e, 0xc2 };

	uint8_t d[32], tag[16], ct[64];
	sha256(sha256_blocks_portable, (const uint8_t *)"abc", 3, d);
	int st_sha = eq(d, abc_digest, 32);
	if (sha_ok) {
		sha256(sha256_blocks_shani, (const uint8_t *)"abc", 3, d);
		st_sha &= eq(d, abc_digest, 32);
	}
	gcm_encrypt(&portable, tc3_key, tc3_iv, 0, 0, tc3_pt, ct, 64, tag);
	int st_gcm = eq(tag, tc3_tag, 16) && eq(ct, tc3_ct0, 4);
	if (gcm_ok) {
		gcm_encrypt(&accel, tc3_key, tc3_iv, 0, 0, tc3_pt, ct, 64, tag);
		st_gcm &= eq(tag, tc3_tag, 16) && eq(ct, tc3_ct0, 4);
	}
	out(env, "simd selftest sha256=%s aes-gcm=%s", st_sha ? "ok" : "FAIL", st_gcm ? "ok" : "FAIL");
	failures += !st_sha + !st_gcm;

	/* data: xorshift bytes */
	uint8_t *buf = env->alloc(n + 64);
	uint8_t *enc = env->alloc(n + 64);
	uint64_t s = 0x243f6a8885a308d3ull;
	for (size_t i = 0; i < n; i += 8) {
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		for (int k = 0; k < 8; k++)
			buf[i + k] = (uint8_t)(s >> (8 * k));
	}

	/* SHA-256 */
	uint64_t t0 = env->cycles();
	sha256(sha256_blocks_portable, buf, n, d);
	uint64_t t_sha_p = env->cycles() - t0;
	hex(h1, d, 32);
	out(env, "simd sha256 bytes=%lu digest=%s", (unsigned long)n, h1);
	out(env, "time sha256 portable tsc_cycles=%lu", (unsigned long)t_sha_p);
	if (sha_ok) {
		t0 = env->cycles();
		sha256(sha256_blocks_shani, buf, n, d);
		uint64_t t = env->cycles() - t0;
		hex(h2, d, 32);
		out(env, "time sha256 sha-ni tsc_cycles=%lu speedup_x100=%lu", (unsigned long)t, (unsigned long)(t ? t_sha_p * 100 / t : 0));
		if (!eq((const uint8_t *)h1, (const uint8_t *)h2, 64)) {
			out(env, "simd MISMATCH sha256 sha-ni digest=%s", h2);
			failures++;
		}
	}

	/* AES-128-GCM */
	static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t iv[12] = { 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0, 1, 2, 3, 4, 5 };
	static const uint8_t aad[20] = "microvm-ts simd aad";
	t0 = env->cycles();
	gcm_encrypt(&portable, key, iv, aad, sizeof(aad), buf, enc, n, tag);
	uint64_t t_gcm_p = env->cycles() - t0;
	sha256(sha256_blocks_portable, enc, n, d);
	hex(h1, tag, 16);
	hex(h2, d, 32);
	out(env, "simd aes-128-gcm bytes=%lu tag=%s ciphertext_sha256=%s", (unsigned long)n, h1, h2);
	out(env, "time aes-128-gcm portable tsc_cycles=%lu", (unsigned long)t_gcm_p);
	if (gcm_ok) {
		uint8_t tag2[16];
		t0 = env->cycles();
		gcm_encrypt(&accel, key, iv, aad, sizeof(aad), buf, enc, n, tag2);
		uint64_t t = env->cycles() - t0;
		out(env, "time aes-128-gcm aesni+pclmul tsc_cycles=%lu speedup_x100=%lu", (unsigned long)t, (unsigned long)(t ? t_gcm_p * 100 / t : 0));
		uint8_t d2[32];
		sha256(sha256_blocks_portable, enc, n, d2);
		if (!eq(tag, tag2, 16) || !eq(d, d2, 32)) {
			hex(h1, tag2, 16);
			out(env, "simd MISMATCH aes-128-gcm aesni+pclmul tag=%s", h1);
			failures++;
		}
	}

	/* CRC-32C */
	t0 = env->cycles();
	uint32_t c1 = crc32c_portable(buf, n);
	uint64_t t_crc = env->cycles() - t0;
	out(env, "simd crc32c bytes=%lu crc=%08x", (unsigned long)n, c1);
	out(env, "time crc32c portable tsc_cycles=%lu", (unsigned long)t_crc);
	if (use_accel && f->sse42) {
		t0 = env->cycles();
		uint32_t c2 = crc32c_sse42(buf, n);
		uint64_t t = env->cycles() - t0;
		out(env, "time crc32c sse4.2 tsc_cycles=%lu speedup_x100=%lu", (unsigned long)t, (unsigned long)(t ? t_crc * 100 / t : 0));
		if (c1 != c2) {
			out(env, "simd MISMATCH crc32c sse4.2 crc=%08x", c2);
			failures++;
		}
	}

	/* popcount */
	size_t words = n / 8;
	t0 = env->cycles();
	uint64_t p1 = popcount_portable((const uint64_t *)buf, words);
	uint64_t t_pop = env->cycles() - t0;
	out(env, "simd popcount words=%lu bits=%lu", (unsigned long)words, (unsigned long)p1);
	out(env, "time popcount portable tsc_cycles=%lu", (unsigned long)t_pop);
	if (use_accel && f->popcnt) {
		t0 = env->cycles();
		uint64_t p2 = popcount_hw((const uint64_t *)buf, words);
		uint64_t t = env->cycles() - t0;
		out(env, "time popcount popcnt tsc_cycles=%lu speedup_x100=%lu", (unsigned long)t, (unsigned long)(t ? t_pop * 100 / t : 0));
		if (p1 != p2) {
			out(env, "simd MISMATCH popcount popcnt bits=%lu", (unsigned long)p2);
			failures++;
		}
	}

	/* AVX2 integer mix */
	size_t lanes = n / 8;
	const uint32_t *va = (const uint32_t *)buf, *vb = (const uint32_t *)(buf + lanes * 4);
	t0 = env->cycles();
	uint64_t m1 = mix_portable(va, vb, lanes);
	uint64_t t_mix = env->cycles() - t0;
	out(env, "simd mix32 lanes=%lu result=%016lx", (unsigned long)lanes, (unsigned long)m1);
	out(env, "time mix32 portable tsc_cycles=%lu", (unsigned long)t_mix);
	if (use_accel && f->avx2) {
		t0 = env->cycles();
		uint64_t m2 = mix_avx2(va, vb, lanes);
		uint64_t t = env->cycles() - t0;
		out(env, "time mix32 avx2 tsc_cycles=%lu speedup_x100=%lu", (unsigned long)t, (unsigned long)(t ? t_mix * 100 / t : 0));
		if (m1 != m2) {
			out(env, "simd MISMATCH mix32 avx2 result=%016lx", (unsigned long)m2);
			failures++;
		}
	}
	return failures;
}
