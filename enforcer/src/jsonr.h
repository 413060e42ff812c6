/* A bounded JSON reader for the small documents the reporter receives (console answers, cloud
 * metadata): looks up one key among the members of the top-level object.
 *
 * The whole document is validated (RFC 8259 syntax, nesting at most JSONR_MAX_DEPTH) before a
 * value is returned, so a truncated or hostile answer is never half-used. No allocation; the
 * input need not be NUL-terminated. Keys are compared after unescaping; when a key appears twice,
 * the last one wins (as in JavaScript). */
#ifndef INLAY_JSONR_H
#define INLAY_JSONR_H

#include <stddef.h>
#include <stdint.h>

#define JSONR_MAX_DEPTH 32

enum jsonr_result {
	JSONR_OK = 0,
	JSONR_ABSENT = 1,    /* valid document, no such key (or the top level is not an object) */
	JSONR_INVALID = -1,  /* not valid JSON, too deep, or a string with a NUL (\u0000) */
	JSONR_TYPE = -2,     /* the key's value has another type */
	JSONR_TOO_LONG = -3, /* the string does not fit out (out holds "") */
};

/* The unescaped UTF-8 string value of key, NUL-terminated in out[0..cap). */
enum jsonr_result jsonr_string(const char *doc, size_t n, const char *key, char *out, size_t cap);

/* The value of key as an integer: a JSON number without fraction or exponent within int64. */
enum jsonr_result jsonr_int(const char *doc, size_t n, const char *key, int64_t *out);

/* The raw JSON text of key's value (any type), unmodified: *val points into doc. */
enum jsonr_result jsonr_raw(const char *doc, size_t n, const char *key, const char **val, size_t *vlen);

#endif
