/* The gzip writer against zlib's inflater: round trips of empty, tiny, repetitive (NDJSON-like),
 * random and long-run inputs; the CRC against zlib's; refusal when the output does not fit. */
#include <zlib.h>

#include "gzip.h"
#include "tap.h"

static int roundtrip(const char *what, const unsigned char *in, size_t n, size_t *zlen_out)
{
	size_t cap = n + n / 8 + 64;
	unsigned char *z = malloc(cap), *back = malloc(n + 1);
	size_t zlen = gzip_compress(in, n, z, cap);
	int ok = zlen > 0;
	CHECK(zlen > 0, "%s: nothing written", what);
	if (ok) {
		z_stream s;
		memset(&s, 0, sizeof s);
		inflateInit2(&s, 16 + 15);
		s.next_in = z;
		s.avail_in = (uInt)zlen;
		s.next_out = back;
		s.avail_out = (uInt)(n + 1);
		int rc = inflate(&s, Z_FINISH);
		ok = rc == Z_STREAM_END && s.total_out == n && memcmp(back, in, n) == 0 && s.avail_in == 0;
		CHECK(ok, "%s: zlib rc %d, %lu of %zu bytes, %u left over", what, rc, s.total_out, n, s.avail_in);
		inflateEnd(&s);
	}
	if (zlen_out)
		*zlen_out = zlen;
	free(z);
	free(back);
	return ok;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	size_t zlen;
	roundtrip("empty", (const unsigned char *)"", 0, NULL);
	roundtrip("one byte", (const unsigned char *)"x", 1, NULL);
	roundtrip("three bytes", (const unsigned char *)"abc", 3, NULL);

	size_t n = 0, cap = 600000;
	unsigned char *nd = malloc(cap);
	for (int i = 0; n + 400 < cap; i++)
		n += (size_t)snprintf((char *)nd + n, cap - n,
				      "{\"schema\":1,\"id\":\"0123456789abcdef0123456789abcdef-%d\",\"kind\":\"process.exec\",\"process\":"
				      "{\"pid\":%d,\"exe\":\"/usr/bin/tool%d\"},\"bundle\":\"sha256:5e5e5e5e5e5e\"}\n",
				      i, 1000 + i * 7, i % 13);
	roundtrip("ndjson", nd, n, &zlen);
	CHECK(zlen * 4 < n, "ndjson compresses at least 4x: %zu -> %zu", n, zlen);

	unsigned char *rnd = malloc(200000);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		rnd[i] = (unsigned char)x;
	}
	roundtrip("random", rnd, 200000, NULL);
	memset(rnd, 'a', 200000);
	roundtrip("one long run", rnd, 200000, &zlen);
	CHECK(zlen < 2000, "a run compresses to almost nothing: %zu", zlen);

	CHECK(gzip_crc32(0, "123456789", 9) == 0xcbf43926u, "check value");
	CHECK(gzip_crc32(0, nd, n) == (uint32_t)crc32(0, nd, (uInt)n), "same CRC as zlib");
	unsigned char small[40];
	CHECK(gzip_compress(nd, n, small, sizeof small) == 0, "refuses when the output does not fit");
	free(nd);
	free(rnd);
	return tap_done("gzip");
}
