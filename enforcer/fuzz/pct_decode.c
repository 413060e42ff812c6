/* libFuzzer target: pct_decode on arbitrary bytes. Accepted input must decode to a string
 * without NUL whose canonical re-encoding (the writer's form) decodes to the same bytes; rejected
 * input must report a position inside the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pctenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = malloc(size + 1);
	char *re = malloc(size * 3 + 1);
	size_t len = 0, pos = 0, r = 0;
	enum pct_error e = pct_decode((const char *)data, size, out, size + 1, &len, &pos);

	if (e != PCT_OK) {
		if (e != PCT_EMPTY && pos >= size)
			abort();
		goto done;
	}
	if (len > size || strlen(out) != len)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x21 || c > 0x7e || c == '%')
			r += (size_t)sprintf(re + r, "%%%02X", c);
		else
			re[r++] = (char)c;
	}
	/* Over-encoded input ("%41" for "A") is accepted, so compare decoded values: decoding the
	 * canonical re-encoding must give the same bytes back. */
	char *again = malloc(r + 1);
	size_t len2 = 0;
	if (pct_decode(re, r, again, r + 1, &len2, &pos) != PCT_OK || len2 != len || memcmp(again, out, len) != 0)
		abort();
	free(again);
done:
	free(out);
	free(re);
	return 0;
}
