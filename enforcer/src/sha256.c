/* SHA-256 per FIPS 180-4. The portable block function is the textbook one; on x86_64 a second
 * one uses the SHA extensions (sha256rnds2/msg1/msg2), chosen at runtime by CPUID, because a
 * first exec of a multi-megabyte interpreter is hashed while that exec waits. */
#include "sha256.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	uint32_t w[64];

	for (; nblocks; nblocks--, p += 64) {
		for (int t = 0; t < 16; t++)
			w[t] = load_be32(p + 4 * t);
		for (int t = 16; t < 64; t++) {
			uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
			uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
			w[t] = w[t - 16] + s0 + w[t - 7] + s1;
		}
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
		for (int t = 0; t < 64; t++) {
			uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
			uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
	}
}

#if defined(__x86_64__)
/* Four rounds on message vector M (holding W[4g..4g+3]) with constants K[4g..4g+3]. */
#define SHANI_ROUNDS(M, g)                                                                   \
	do {                                                                                 \
		__m128i wk = _mm_add_epi32((M), _mm_loadu_si128((const __m128i *)&K[4 * (g)])); \
		s1 = _mm_sha256rnds2_epu32(s1, s0, wk);                                          \
		s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));                 \
	} while (0)
/* Next schedule vector into A from the four previous ones A (oldest), B, C, D (newest). */
#define SHANI_SCHEDULE(A, B, C, D) \
	((A) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((A), (B)), _mm_alignr_epi8((D), (C), 4)), (D)))

__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* CDAB */
	__m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
	__m128i s0 = _mm_alignr_epi8(t, s1, 8);       /* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xF0);            /* CDGH */

	for (; nblocks; nblocks--, p += 64) {
		__m128i abef = s0, cdgh = s1;
		__m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
		__m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
		__m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
		__m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
		SHANI_ROUNDS(m0, 0);
		SHANI_ROUNDS(m1, 1);
		SHANI_ROUNDS(m2, 2);
		SHANI_ROUNDS(m3, 3);
		for (int g = 4; g < 16; g += 4) {
			SHANI_SCHEDULE(m0, m1, m2, m3);
			SHANI_ROUNDS(m0, g);
			SHANI_SCHEDULE(m1, m2, m3, m0);
			SHANI_ROUNDS(m1, g + 1);
			SHANI_SCHEDULE(m2, m3, m0, m1);
			SHANI_ROUNDS(m2, g + 2);
			SHANI_SCHEDULE(m3, m0, m1, m2);
			SHANI_ROUNDS(m3, g + 3);
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);              /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);             /* DCHG */
	s0 = _mm_blend_epi16(t, s1, 0xF0);            /* DCBA */
	s1 = _mm_alignr_epi8(s1, t, 8);               /* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], s0);
	_mm_storeu_si128((__m128i *)&h[4], s1);
}

static int cpu_has_shani(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;
}
#endif

/* 0: not probed yet, 1: portable, 2: SHA-NI. Benign race: every prober stores the same value. */
static int impl_choice;

static int choose_impl(void)
{
	int v = __atomic_load_n(&impl_choice, __ATOMIC_RELAXED);
	if (v)
		return v;
#if defined(__x86_64__)
	v = cpu_has_shani() ? 2 : 1;
#else
	v = 1;
#endif
	__atomic_store_n(&impl_choice, v, __ATOMIC_RELAXED);
	return v;
}

static void blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
#if defined(__x86_64__)
	if (choose_impl() == 2) {
		blocks_shani(h, p, nblocks);
		return;
	}
#endif
	blocks_portable(h, p, nblocks);
}

void sha256_force_portable(void)
{
	__atomic_store_n(&impl_choice, 1, __ATOMIC_RELAXED);
}

const char *sha256_impl(void)
{
	return choose_impl() == 2 ? "sha-ni" : "portable";
}

void sha256_init(struct sha256_ctx *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(c->h, iv, sizeof iv);
	c->total = 0;
	c->fill = 0;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->total += len;
	if (c->fill) {
		size_t take = 64 - c->fill < len ? 64 - c->fill : len;
		memcpy(c->block + c->fill, p, take);
		c->fill += take;
		p += take;
		len -= take;
		if (c->fill < 64)
			return;
		blocks(c->h, c->block, 1);
		c->fill = 0;
	}
	if (len >= 64) {
		blocks(c->h, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	if (len) {
		memcpy(c->block, p, len);
		c->fill = len;
	}
}

void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	uint64_t bits = c->total * 8;

	c->block[c->fill++] = 0x80;
	if (c->fill > 56) {
		memset(c->block + c->fill, 0, 64 - c->fill);
		blocks(c->h, c->block, 1);
		c->fill = 0;
	}
	memset(c->block + c->fill, 0, 56 - c->fill);
	for (int i = 0; i < 8; i++)
		c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	blocks(c->h, c->block, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
	memset(c, 0, sizeof *c);
}

void sha256_buf(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

int sha256_fd(int fd, uint8_t out[SHA256_LEN])
{
	uint8_t buf[65536];
	struct sha256_ctx c;

	sha256_init(&c);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR) /* tolerated: retry */
				continue;
			return -1;
		}
		if (n == 0)
			break;
		sha256_update(&c, buf, (size_t)n);
	}
	sha256_final(&c, out);
	return 0;
}

void sha256_hex_encode(const uint8_t d[SHA256_LEN], char out[SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[SHA256_HEX_LEN] = '\0';
}

static int lower_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sha256_hex_decode(const char *hex, size_t len, uint8_t out[SHA256_LEN])
{
	if (len != SHA256_HEX_LEN)
		return -1;
	for (int i = 0; i < SHA256_LEN; i++) {
		int h = lower_hex((unsigned char)hex[2 * i]);
		int l = lower_hex((unsigned char)hex[2 * i + 1]);
		if (h < 0 || l < 0)
			return -1;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}
