/* Bounded JSON writer; contracts in json.h. */
#include "json.h"

#include <stdio.h>
#include <string.h>

void json_init(struct json *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->len = 0;
	j->overflow = cap == 0;
	j->need_sep = false;
	if (cap)
		buf[0] = '\0';
}

/* True when n more bytes (plus the NUL) fit; otherwise latches overflow. */
static bool reserve(struct json *j, size_t n)
{
	if (j->overflow)
		return false;
	if (n >= j->cap - j->len) {
		j->overflow = true;
		return false;
	}
	return true;
}

static void put(struct json *j, const char *s, size_t n)
{
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Writes s (n bytes, already JSON) as one unit, preceded by ',' when needed. */
static bool put_unit(struct json *j, const char *s, size_t n, bool sep)
{
	size_t extra = sep && j->need_sep ? 1 : 0;
	if (!reserve(j, n + extra))
		return false;
	if (extra)
		put(j, ",", 1);
	put(j, s, n);
	return true;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when the lead byte does not start one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;   /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;   /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;   /* <= U+10FFFF */
	} else
		return 0;
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* The escaped form of the character at s[0..n) into out (<= 6 bytes); returns its length and
 * sets *used to the input bytes it stands for. */
static size_t escape_unit(const unsigned char *s, size_t n, char out[6], size_t *used)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char c = s[0];
	size_t seq;

	*used = 1;
	switch (c) {
	case '"':
		memcpy(out, "\\\"", 2);
		return 2;
	case '\\':
		memcpy(out, "\\\\", 2);
		return 2;
	case '\n':
		memcpy(out, "\\n", 2);
		return 2;
	case '\r':
		memcpy(out, "\\r", 2);
		return 2;
	case '\t':
		memcpy(out, "\\t", 2);
		return 2;
	default:
		break;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	seq = c >= 0x80 ? utf8_seq_len(s, n) : 0;
	if (seq) {
		memcpy(out, s, seq);
		*used = seq;
		return seq;
	}
	/* Control byte, DEL, or a byte of an invalid UTF-8 sequence. */
	memcpy(out, "\\u00", 4);
	out[4] = digits[c >> 4];
	out[5] = digits[c & 15];
	return 6;
}

size_t json_escaped_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t total = 0, i = 0, used;
	char tmp[6];

	while (i < n) {
		total += escape_unit(p + i, n - i, tmp, &used);
		i += used;
	}
	return total;
}

/* Writes the escaped body of s[0..n) but stops before the first character whose escaped form
 * would take the body past limit bytes. Space must have been reserved by the caller. */
static void put_escaped(struct json *j, const char *s, size_t n, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, body = 0, used, k;
	char tmp[6];

	while (i < n) {
		k = escape_unit(p + i, n - i, tmp, &used);
		if (body + k > limit)
			break;
		put(j, tmp, k);
		body += k;
		i += used;
	}
}

/* Writes a quoted string whose body is the escaped prefix of s fitting in limit, then suffix. */
static void put_string(struct json *j, const char *s, size_t n, size_t limit, size_t body_len,
		       const char *suffix)
{
	size_t slen = strlen(suffix);
	size_t extra = j->need_sep ? 1 : 0;

	if (!reserve(j, extra + 2 + body_len + slen))
		return;
	if (extra)
		put(j, ",", 1);
	put(j, "\"", 1);
	put_escaped(j, s, n, limit);
	put(j, suffix, slen);
	put(j, "\"", 1);
	j->need_sep = true;
}

/* Escaped length of the longest prefix of s whose escaped body fits limit. */
static size_t escaped_prefix_len(const char *s, size_t n, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, body = 0, used, k;
	char tmp[6];

	while (i < n) {
		k = escape_unit(p + i, n - i, tmp, &used);
		if (body + k > limit)
			break;
		body += k;
		i += used;
	}
	return body;
}

void json_begin_object(struct json *j)
{
	if (put_unit(j, "{", 1, true))
		j->need_sep = false;
}

void json_end_object(struct json *j)
{
	if (put_unit(j, "}", 1, false))
		j->need_sep = true;
}

void json_begin_array(struct json *j)
{
	if (put_unit(j, "[", 1, true))
		j->need_sep = false;
}

void json_end_array(struct json *j)
{
	if (put_unit(j, "]", 1, false))
		j->need_sep = true;
}

void json_key(struct json *j, const char *key)
{
	size_t n = strlen(key);
	size_t body = json_escaped_len(key, n);

	put_string(j, key, n, body, body, "");
	if (put_unit(j, ":", 1, false))
		j->need_sep = false;
}

void json_strn(struct json *j, const char *s, size_t n)
{
	size_t body = json_escaped_len(s, n);
	put_string(j, s, n, body, body, "");
}

void json_str(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_strn(j, s, strlen(s));
}

#define CUT_MARK "[...]"

bool json_str_capped(struct json *j, const char *s, size_t max_body)
{
	size_t n = s ? strlen(s) : 0;
	size_t body = json_escaped_len(s ? s : "", n);
	size_t limit;

	if (body <= max_body) {
		put_string(j, s ? s : "", n, body, body, "");
		return false;
	}
	limit = max_body > strlen(CUT_MARK) ? max_body - strlen(CUT_MARK) : 0;
	put_string(j, s, n, limit, escaped_prefix_len(s, n, limit), CUT_MARK);
	return true;
}

void json_int(struct json *j, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
	if (put_unit(j, tmp, (size_t)n, true))
		j->need_sep = true;
}

void json_uint(struct json *j, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	if (put_unit(j, tmp, (size_t)n, true))
		j->need_sep = true;
}

void json_bool(struct json *j, bool v)
{
	if (put_unit(j, v ? "true" : "false", v ? 4 : 5, true))
		j->need_sep = true;
}

void json_null(struct json *j)
{
	if (put_unit(j, "null", 4, true))
		j->need_sep = true;
}

void json_raw_value(struct json *j, const char *raw, size_t n)
{
	if (put_unit(j, raw, n, true))
		j->need_sep = true;
}

bool json_str_array(struct json *j, const char *const *v, size_t n, size_t max_items, size_t max_bytes)
{
	size_t used = 0;
	bool truncated = false;

	json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		const char *s = v[i] ? v[i] : "";
		size_t len = strlen(s);
		size_t body = json_escaped_len(s, len);
		if (i == max_items) {
			truncated = true;
			break;
		}
		if (body > max_bytes - used) {
			size_t limit = max_bytes - used;
			truncated = true;
			if (limit)
				put_string(j, s, len, limit, escaped_prefix_len(s, len, limit), "");
			break;
		}
		put_string(j, s, len, body, body, "");
		used += body;
	}
	json_end_array(j);
	return truncated;
}
