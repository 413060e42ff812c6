/* A bounded JSON writer into a caller-provided buffer; no allocation.
 *
 * Separators are automatic: a value or key written after a complete value gets a ',' first.
 * Write an object as json_begin_object, then json_key + value pairs, then json_end_object.
 *
 * Escaping (docs/events.md): '"', '\\' and bytes < 0x20 and 0x7f are escaped; valid UTF-8
 * (shortest form, no surrogates, <= U+10FFFF) is copied; every byte of an invalid sequence is
 * written as \u00XX of that byte. So any input yields one line of valid JSON.
 *
 * Overflow is never silent: when something does not fit, nothing partial of it is written,
 * j->overflow becomes true and stays true, and all later writes are ignored. The buffer is
 * always NUL-terminated (cap must be >= 1). */
#ifndef INLAY_JSON_H
#define INLAY_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json {
	char *buf;
	size_t cap;      /* bytes available, including the terminating NUL */
	size_t len;      /* bytes written, excluding the NUL */
	bool overflow;   /* something did not fit; the output is incomplete */
	bool need_sep;   /* private: a ',' precedes the next key or value */
};

void json_init(struct json *j, char *buf, size_t cap);

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);

/* Writes "key": (escaped like any string). */
void json_key(struct json *j, const char *key);

/* A quoted, escaped string. NULL writes null. */
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);

/* A quoted, escaped string whose escaped body is at most max_body bytes. If s needs more, it is
 * cut at a character boundary so that the body plus the marker "[...]" fits max_body, and the
 * function returns true (truncated). Returns false when s was written whole. max_body >= 8. */
bool json_str_capped(struct json *j, const char *s, size_t max_body);

void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* Copies pre-rendered JSON (an object, array, number...) as one value. The caller guarantees it
 * is valid JSON; it is not checked. */
void json_raw_value(struct json *j, const char *raw, size_t n);

/* An array of at most max_items strings whose escaped bodies total at most max_bytes; the entry
 * that crosses the byte budget is cut at a character boundary (the rest are left out). Returns
 * true when anything was left out or cut (docs/events.md `argv_truncated`). NULL entries are
 * written as "". */
bool json_str_array(struct json *j, const char *const *v, size_t n, size_t max_items, size_t max_bytes);

/* Escaped length of s[0..n) without quotes (what json_strn would add between them). */
size_t json_escaped_len(const char *s, size_t n);

#endif
