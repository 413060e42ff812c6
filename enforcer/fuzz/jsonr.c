/* libFuzzer target: the JSON reader on arbitrary bytes. The first byte picks the key; every
 * lookup must agree on validity, and a returned string must be NUL-terminated within its buffer
 * and free of NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "credential", "a", "", "heartbeat_seconds", "error" };
	if (size == 0)
		return 0;
	const char *key = keys[data[0] % 5];
	const char *doc = (const char *)data + 1;
	size_t n = size - 1;
	char *copy = malloc(n ? n : 1);
	memcpy(copy, doc, n); /* exact-size heap copy: ASan sees any read past the end */
	char out[64];
	int64_t v;
	const char *raw;
	size_t rl;
	enum jsonr_result s = jsonr_string(copy, n, key, out, sizeof out);
	enum jsonr_result i = jsonr_int(copy, n, key, &v);
	enum jsonr_result r = jsonr_raw(copy, n, key, &raw, &rl);
	if ((s == JSONR_INVALID) != (i == JSONR_INVALID) || (s == JSONR_INVALID) != (r == JSONR_INVALID))
		abort();
	if ((s == JSONR_ABSENT) != (r == JSONR_ABSENT))
		abort();
	if (s == JSONR_OK && strnlen(out, sizeof out) == sizeof out)
		abort();
	if (r == JSONR_OK) {
		if (raw < copy || raw + rl > copy + n || rl == 0)
			abort();
		/* a value found is itself a valid document */
		if (jsonr_raw(raw, rl, "x", &raw, &rl) == JSONR_INVALID)
			abort();
	}
	free(copy);
	return 0;
}
