/* libFuzzer target: every input compressed by gzip_compress inflates back to itself with zlib,
 * within the documented worst-case size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = size + size / 8 + 64;
	uint8_t *z = malloc(cap), *back = malloc(size + 1);
	size_t zlen = gzip_compress(data, size, z, cap);
	if (zlen == 0)
		abort();
	z_stream s;
	memset(&s, 0, sizeof s);
	inflateInit2(&s, 16 + 15);
	s.next_in = z;
	s.avail_in = (uInt)zlen;
	s.next_out = back;
	s.avail_out = (uInt)(size + 1);
	if (inflate(&s, Z_FINISH) != Z_STREAM_END || s.total_out != size || memcmp(back, data, size) != 0)
		abort();
	inflateEnd(&s);
	free(z);
	free(back);
	return 0;
}
