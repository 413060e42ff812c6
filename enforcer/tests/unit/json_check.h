/* A strict JSON syntax checker for tests and fuzzers: RFC 8259 grammar, strings without raw
 * control bytes and with valid UTF-8 only. json_check_value returns the position after one value
 * (leading whitespace allowed), or NULL. Recursion is bounded by `depth`. */
#ifndef INLAY_JSON_CHECK_H
#define INLAY_JSON_CHECK_H

#include <stddef.h>
#include <string.h>

static const char *jc_value(const char *p, const char *end, int depth);

static const char *jc_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static size_t jc_utf8(const unsigned char *s, const unsigned char *end)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(end - s) < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static const char *jc_string(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	p++;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p >= end)
				return NULL;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (p + i >= end || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 5;
			} else if (*p && strchr("\"\\/bfnrt", *p)) {
				p++;
			} else
				return NULL;
			continue;
		}
		size_t n = jc_utf8((const unsigned char *)p, (const unsigned char *)end);
		if (!n)
			return NULL;
		p += n;
	}
	return NULL;
}

static const char *jc_number(const char *p, const char *end)
{
	const char *s;
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else {
		s = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	if (p < end && *p == '.') {
		s = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		s = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	return p;
}

static const char *jc_value(const char *p, const char *end, int depth)
{
	if (depth <= 0)
		return NULL;
	p = jc_ws(p, end);
	if (p >= end)
		return NULL;
	if (*p == '"')
		return jc_string(p, end);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		int obj = *p == '{';
		p = jc_ws(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = jc_string(jc_ws(p, end), end);
				if (!p)
					return NULL;
				p = jc_ws(p, end);
				if (p >= end || *p != ':')
					return NULL;
				p++;
			}
			p = jc_value(p, end, depth - 1);
			if (!p)
				return NULL;
			p = jc_ws(p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p < end && *p == close)
				return p + 1;
			return NULL;
		}
	}
	if ((size_t)(end - p) >= 4 && (!memcmp(p, "true", 4) || !memcmp(p, "null", 4)))
		return p + 4;
	if ((size_t)(end - p) >= 5 && !memcmp(p, "false", 5))
		return p + 5;
	return jc_number(p, end);
}

/* True when [p, end) is exactly one JSON value (with optional surrounding whitespace). */
static inline int json_check(const char *p, size_t n)
{
	const char *end = p + n;
	const char *q = jc_value(p, end, 64);
	return q && jc_ws(q, end) == end;
}

#endif
