/* gzip writer; contracts in gzip.h. */
#include "gzip.h"

#include <stdbool.h>
#include <string.h>

#define WINDOW 32768u
#define MIN_MATCH 3u
#define MAX_MATCH 258u
#define HASH_BITS 15
#define MAX_CHAIN 8u

struct bits {
	uint8_t *out;
	size_t cap, len;
	uint64_t acc;
	unsigned nacc;
	bool overflow;
};

static void put_bits(struct bits *b, uint32_t v, unsigned n)
{
	b->acc |= (uint64_t)v << b->nacc;
	b->nacc += n;
	while (b->nacc >= 8) {
		if (b->len == b->cap)
			b->overflow = true;
		else
			b->out[b->len++] = (uint8_t)b->acc;
		b->acc >>= 8;
		b->nacc -= 8;
	}
}

/* Huffman codes are defined most-significant bit first; the stream is filled LSB first. */
static void put_code(struct bits *b, uint32_t code, unsigned n)
{
	uint32_t r = 0;
	for (unsigned i = 0; i < n; i++)
		r |= ((code >> i) & 1u) << (n - 1 - i);
	put_bits(b, r, n);
}

/* The fixed literal/length code (RFC 1951 3.2.6). */
static void put_litlen(struct bits *b, unsigned sym)
{
	if (sym < 144)
		put_code(b, 0x30 + sym, 8);
	else if (sym < 256)
		put_code(b, 0x190 + (sym - 144), 9);
	else if (sym < 280)
		put_code(b, sym - 256, 7);
	else
		put_code(b, 0xc0 + (sym - 280), 8);
}

static const uint16_t len_base[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
				       35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
					513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static void put_match(struct bits *b, unsigned len, unsigned dist)
{
	unsigned i = 28;
	while (len_base[i] > len)
		i--;
	put_litlen(b, 257 + i);
	if (len_extra[i])
		put_bits(b, len - len_base[i], len_extra[i]);
	unsigned d = 29;
	while (dist_base[d] > dist)
		d--;
	put_code(b, d, 5);
	if (dist_extra[d])
		put_bits(b, dist - dist_base[d], dist_extra[d]);
}

uint32_t gzip_crc32(uint32_t crc, const void *data, size_t n)
{
	static uint32_t table[256];
	static bool ready;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	const uint8_t *p = data;
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Match finder: head[h] is the last position (+1) with hash h, prev[pos % WINDOW] the one before
 * it with the same hash. Positions are 32-bit: inputs are at most a few MiB. */
static uint32_t head[1u << HASH_BITS];
static uint32_t prev[WINDOW];

static unsigned hash3(const uint8_t *p)
{
	uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	return (v * 2654435761u) >> (32 - HASH_BITS);
}

size_t gzip_compress(const void *in, size_t n, void *out, size_t cap)
{
	static const uint8_t header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
	const uint8_t *src = in;
	struct bits b = { .out = out, .cap = cap };

	if (n > 0xffffffffu - WINDOW || cap < sizeof header + 8)
		return 0;
	memcpy(out, header, sizeof header);
	b.len = sizeof header;
	memset(head, 0, sizeof head);
	put_bits(&b, 1, 1); /* BFINAL */
	put_bits(&b, 1, 2); /* BTYPE 01: fixed Huffman */
	size_t i = 0;
	while (i < n && !b.overflow) {
		unsigned best = 0, best_dist = 0;
		if (n - i >= MIN_MATCH) {
			unsigned h = hash3(src + i);
			uint32_t cand = head[h];
			size_t limit = n - i < MAX_MATCH ? n - i : MAX_MATCH;
			for (unsigned chain = 0; cand && chain < MAX_CHAIN; chain++) {
				size_t c = cand - 1;
				if (c >= i || i - c > WINDOW - 1)
					break;
				unsigned l = 0;
				while (l < limit && src[c + l] == src[i + l])
					l++;
				if (l > best) {
					best = l;
					best_dist = (unsigned)(i - c);
					if (l == limit)
						break;
				}
				uint32_t next = prev[c % WINDOW];
				if (next >= cand)
					break; /* the chain must go back in time */
				cand = next;
			}
		}
		size_t step = best >= MIN_MATCH ? best : 1;
		if (best >= MIN_MATCH)
			put_match(&b, best, best_dist);
		else
			put_litlen(&b, src[i]);
		/* Index every position covered, so later matches can start anywhere. */
		for (size_t k = i; k < i + step; k++) {
			if (n - k >= MIN_MATCH) {
				unsigned h = hash3(src + k);
				prev[k % WINDOW] = head[h];
				head[h] = (uint32_t)k + 1;
			}
		}
		i += step;
	}
	put_litlen(&b, 256); /* end of block */
	if (b.nacc)
		put_bits(&b, 0, 8 - b.nacc);
	uint32_t crc = gzip_crc32(0, in, n);
	uint8_t trailer[8] = { (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24),
			       (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24) };
	for (int k = 0; k < 8; k++)
		put_bits(&b, trailer[k], 8);
	return b.overflow ? 0 : b.len;
}
