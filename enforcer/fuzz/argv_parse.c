/* libFuzzer target: argv_parse_options and argv_split on arbitrary bytes. The input is split at
 * NUL bytes into an argument vector. A successful parse must point the workload's argv inside
 * the input vector and leave it NULL-terminated; an error must come with a message. argv_split
 * must never produce more than max_args strings, each inside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	const char *parts[65];
	size_t n = 0;
	int trunc = 0;
	argv_split(buf, size, parts, 64, &n, &trunc);
	if (n > 64)
		abort();
	for (size_t i = 0; i < n; i++)
		if (parts[i] < buf || parts[i] > buf + size)
			abort();

	char *argv[66];
	argv[0] = "inlay-enforcer";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = (char *)parts[i];
	argv[n + 1] = NULL;
	struct options o;
	char err[256] = "";
	enum argv_action a = argv_parse_options((int)n + 1, argv, &o, err, sizeof err);
	if (a == ARGV_ERROR && err[0] == '\0')
		abort();
	if (a == ARGV_RUN) {
		if (o.argv <= argv || o.argv > argv + n || o.argv[0] == NULL)
			abort();
		size_t k = 0;
		while (o.argv[k])
			k++;
		if (o.argv + k != argv + n + 1)
			abort();
	}
	free(buf);
	return 0;
}
