/* libFuzzer target: the JSON writer on arbitrary bytes. Whatever the input, the output is valid
 * JSON on one line (no raw control byte), escaped length is predicted exactly, capped strings
 * and string arrays honour their budgets, and a too-small buffer is reported, never overrun. */
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/json_check.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_raw_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t cap = size * 6 + 3;
	char *buf = malloc(cap);
	struct json j;

	/* Whole string: exact size prediction, valid JSON. */
	json_init(&j, buf, cap);
	json_strn(&j, s, size);
	if (j.overflow || j.len != json_escaped_len(s, size) + 2 || !json_check(buf, j.len))
		abort();
	no_raw_controls(buf, j.len);

	/* One byte short: overflow reported, nothing written. */
	json_init(&j, buf, j.len + 1 - 1);
	json_strn(&j, s, size);
	if (!j.overflow || j.len != 0)
		abort();

	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';

	/* Capped at a budget taken from the input (a C string: up to the first NUL). */
	size_t max_body = 8 + (size ? data[0] : 0);
	json_init(&j, buf, cap + max_body);
	(void)json_str_capped(&j, size > 1 ? copy + 1 : "", max_body);
	if (j.overflow || j.len > max_body + 2 || !json_check(buf, j.len))
		abort();
	/* The input split at NUL bytes as an argv. */
	const char *argv[64];
	size_t argc = 0;
	for (size_t i = 0; i <= size && argc < 64; i++) {
		argv[argc++] = copy + i;
		i += strlen(copy + i);
	}
	size_t max_bytes = size ? data[size - 1] * 4u : 0;
	char *abuf = malloc(cap + 64 * 3 + 3);
	json_init(&j, abuf, cap + 64 * 3 + 3);
	json_str_array(&j, argv, argc, 32, max_bytes);
	if (j.overflow || !json_check(abuf, j.len) || j.len > max_bytes + 32 * 3 + 2)
		abort();
	no_raw_controls(abuf, j.len);
	free(abuf);
	free(copy);
	free(buf);
	return 0;
}
