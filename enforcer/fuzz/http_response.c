/* libFuzzer target: http_parse_response on arbitrary bytes, with and without EOF. A complete
 * answer's body must lie inside the input; parsing a prefix must never claim completeness with a
 * body that reaches past the prefix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct http_response r;
	for (int eof = 0; eof < 2; eof++) {
		memcpy(buf, data, size);
		enum http_parse_result pr = http_parse_response(buf, size, eof, &r);
		if (pr == HTTP_COMPLETE) {
			if (r.status < 200 || r.status > 599 || r.body_off > size || r.body_len > size - r.body_off)
				abort();
			if (r.etag[sizeof r.etag - 1] != '\0' && strlen(r.etag) >= sizeof r.etag)
				abort();
		} else if (pr != HTTP_NEED_MORE && pr != HTTP_MALFORMED) {
			abort();
		}
		if (eof && pr == HTTP_NEED_MORE)
			abort(); /* at EOF the answer is either complete or malformed */
	}
	free(buf);
	return 0;
}
