/* A tiny test harness: CHECK counts and reports failures, tap_done() turns them into the exit
 * status. Header-only so each unit test file stays one self-contained program. */
#ifndef INLAY_TAP_H
#define INLAY_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_checks, tap_failures;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		tap_checks++;                                                              \
		if (!(cond)) {                                                             \
			tap_failures++;                                                    \
			printf("not ok %d - %s:%d: %s: ", tap_checks, __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                               \
			printf("\n");                                                      \
		}                                                                          \
	} while (0)

#define CHECK_STR(got, want)                                                                     \
	do {                                                                                     \
		const char *g_ = (got), *w_ = (want);                                            \
		CHECK(g_ && strcmp(g_, w_) == 0, "got \"%s\", want \"%s\"", g_ ? g_ : "(null)", w_); \
	} while (0)

static inline int tap_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, tap_checks, tap_failures);
	return tap_failures ? 1 : 0;
}

/* Reads a whole file (tests only; small files). Returns a malloc'd buffer or NULL. */
static inline char *tap_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;
	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

#endif
