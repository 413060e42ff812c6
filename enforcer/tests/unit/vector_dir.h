/* The shared test vectors (test/vectors/...) as the C unit tests read them: every file of a
 * directory with a given suffix, and for an invalid vector the expected error text kept beside it
 * in NAME.error. Used by the bundle and the policy-overlay tests. */
#ifndef INLAY_VECTOR_DIR_H
#define INLAY_VECTOR_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

/* Called with the vector's full path and its file name; both live only for the call. */
typedef void (*vector_fn)(const char *path, const char *name, void *ctx);

static inline int vector_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Calls fn for every DIR/NAME ending in suffix; returns how many there were (a missing directory
 * is a failed check and 0). */
static inline int vector_dir_each(const char *dir, const char *suffix, vector_fn fn, void *ctx)
{
	char path[8400];
	struct dirent *e;
	int seen = 0;
	DIR *d = opendir(dir);
	CHECK(d != NULL, "cannot open %s", dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (!vector_ends_with(e->d_name, suffix))
			continue;
		seen++;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		fn(path, e->d_name, ctx);
	}
	closedir(d);
	return seen;
}

/* The expected error of the invalid vector at path (its suffix replaced by ".error"), without
 * trailing newlines; NULL (and a failed check) when it is missing. The caller frees it. */
static inline char *vector_expected_error(const char *path, const char *suffix)
{
	char epath[8400];
	size_t len, keep = strlen(path) - strlen(suffix);
	snprintf(epath, sizeof epath, "%.*s.error", (int)keep, path);
	char *want = tap_read_file(epath, &len);
	CHECK(want != NULL, "missing %s", epath);
	while (want && len && want[len - 1] == '\n')
		want[--len] = '\0';
	return want;
}

#endif
