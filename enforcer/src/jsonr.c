/* A bounded JSON reader; contracts in jsonr.h. Recursive descent with an explicit depth limit. */
#include "jsonr.h"

#include <stdbool.h>
#include <string.h>

struct scan {
	const char *s;
	size_t n, i;
};

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' || sc->s[sc->i] == '\n' ||
				 sc->s[sc->i] == '\r'))
		sc->i++;
}

static int hex4(struct scan *sc, unsigned *v)
{
	*v = 0;
	if (sc->n - sc->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		char c = sc->s[sc->i++];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* Appends bytes to out while they fit; *len counts every byte, so the caller sees overflow. */
static void put(char *out, size_t cap, size_t *len, const char *b, size_t k)
{
	if (out && *len + k < cap)
		memcpy(out + *len, b, k);
	*len += k;
}

static size_t utf8_encode(unsigned cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at sc->i (the opening quote). Decodes into out (may be NULL) and sets *len to the
 * decoded length (which may exceed cap). Raw bytes >= 0x80 are copied as they are: the reader
 * passes UTF-8 through and never needs to judge it. */
static int scan_string(struct scan *sc, char *out, size_t cap, size_t *len)
{
	*len = 0;
	if (sc->i >= sc->n || sc->s[sc->i] != '"')
		return -1;
	sc->i++;
	while (sc->i < sc->n) {
		unsigned char c = (unsigned char)sc->s[sc->i++];
		if (c == '"') {
			if (out && *len < cap)
				out[*len] = '\0';
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			put(out, cap, len, (const char *)&c, 1);
			continue;
		}
		if (sc->i >= sc->n)
			return -1;
		char e = sc->s[sc->i++], b[4];
		switch (e) {
		case '"': case '\\': case '/':
			put(out, cap, len, &e, 1);
			break;
		case 'b': put(out, cap, len, "\b", 1); break;
		case 'f': put(out, cap, len, "\f", 1); break;
		case 'n': put(out, cap, len, "\n", 1); break;
		case 'r': put(out, cap, len, "\r", 1); break;
		case 't': put(out, cap, len, "\t", 1); break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(sc, &cp) != 0 || cp == 0)
				return -1; /* NUL cannot live in a C string: refuse rather than cut */
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (sc->n - sc->i < 6 || sc->s[sc->i] != '\\' || sc->s[sc->i + 1] != 'u')
					return -1;
				sc->i += 2;
				if (hex4(sc, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put(out, cap, len, b, utf8_encode(cp, b));
			break;
		}
		default:
			return -1;
		}
	}
	return -1;
}

static int scan_number(struct scan *sc)
{
	size_t start = sc->i;
	if (sc->i < sc->n && sc->s[sc->i] == '-')
		sc->i++;
	if (sc->i >= sc->n)
		return -1;
	if (sc->s[sc->i] == '0')
		sc->i++;
	else if (sc->s[sc->i] >= '1' && sc->s[sc->i] <= '9')
		while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
			sc->i++;
	else
		return -1;
	if (sc->i < sc->n && sc->s[sc->i] == '.') {
		sc->i++;
		size_t d = sc->i;
		while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
			sc->i++;
		if (sc->i == d)
			return -1;
	}
	if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
			sc->i++;
		size_t d = sc->i;
		while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
			sc->i++;
		if (sc->i == d)
			return -1;
	}
	return sc->i > start ? 0 : -1;
}

static int scan_literal(struct scan *sc, const char *lit)
{
	size_t k = strlen(lit);
	if (sc->n - sc->i < k || memcmp(sc->s + sc->i, lit, k) != 0)
		return -1;
	sc->i += k;
	return 0;
}

static int scan_value(struct scan *sc, int depth);

/* An object or array at sc->i; for the top-level object, records the last value of key. */
static int scan_container(struct scan *sc, int depth, const char *key, size_t *vs, size_t *ve)
{
	bool obj = sc->s[sc->i] == '{';
	char close = obj ? '}' : ']';
	if (depth >= JSONR_MAX_DEPTH)
		return -1;
	sc->i++;
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == close) {
		sc->i++;
		return 0;
	}
	for (;;) {
		bool match = false;
		if (obj) {
			char kb[128];
			size_t klen;
			skip_ws(sc);
			if (scan_string(sc, key ? kb : NULL, sizeof kb, &klen) != 0)
				return -1;
			match = key && klen < sizeof kb && strlen(key) == klen && memcmp(kb, key, klen) == 0;
			skip_ws(sc);
			if (sc->i >= sc->n || sc->s[sc->i] != ':')
				return -1;
			sc->i++;
		}
		skip_ws(sc);
		size_t start = sc->i;
		if (scan_value(sc, depth + 1) != 0)
			return -1;
		if (match) {
			*vs = start;
			*ve = sc->i;
		}
		skip_ws(sc);
		if (sc->i >= sc->n)
			return -1;
		if (sc->s[sc->i] == ',') {
			sc->i++;
			continue;
		}
		if (sc->s[sc->i] == close) {
			sc->i++;
			return 0;
		}
		return -1;
	}
}

static int scan_value(struct scan *sc, int depth)
{
	size_t len;
	skip_ws(sc);
	if (sc->i >= sc->n)
		return -1;
	switch (sc->s[sc->i]) {
	case '{': case '[': return scan_container(sc, depth, NULL, NULL, NULL);
	case '"': return scan_string(sc, NULL, 0, &len);
	case 't': return scan_literal(sc, "true");
	case 'f': return scan_literal(sc, "false");
	case 'n': return scan_literal(sc, "null");
	default: return scan_number(sc);
	}
}

/* Validates doc and finds key's value in the top-level object: [*vs, *ve). */
static enum jsonr_result find(const char *doc, size_t n, const char *key, size_t *vs, size_t *ve)
{
	struct scan sc = { .s = doc, .n = n, .i = 0 };
	bool found;
	*vs = *ve = (size_t)-1;
	skip_ws(&sc);
	if (sc.i < sc.n && sc.s[sc.i] == '{') {
		if (scan_container(&sc, 0, key, vs, ve) != 0)
			return JSONR_INVALID;
	} else if (scan_value(&sc, 0) != 0) {
		return JSONR_INVALID;
	}
	skip_ws(&sc);
	if (sc.i != sc.n)
		return JSONR_INVALID;
	found = *vs != (size_t)-1;
	return found ? JSONR_OK : JSONR_ABSENT;
}

enum jsonr_result jsonr_raw(const char *doc, size_t n, const char *key, const char **val, size_t *vlen)
{
	size_t vs, ve;
	enum jsonr_result r = find(doc, n, key, &vs, &ve);
	if (r != JSONR_OK)
		return r;
	*val = doc + vs;
	*vlen = ve - vs;
	return JSONR_OK;
}

enum jsonr_result jsonr_string(const char *doc, size_t n, const char *key, char *out, size_t cap)
{
	size_t vs, ve, len;
	enum jsonr_result r = find(doc, n, key, &vs, &ve);
	if (cap)
		out[0] = '\0';
	if (r != JSONR_OK)
		return r;
	if (doc[vs] != '"')
		return JSONR_TYPE;
	struct scan sc = { .s = doc, .n = ve, .i = vs };
	if (scan_string(&sc, out, cap, &len) != 0)
		return JSONR_INVALID; /* unreachable: find validated it */
	if (len >= cap) {
		if (cap)
			out[0] = '\0';
		return JSONR_TOO_LONG;
	}
	return JSONR_OK;
}

enum jsonr_result jsonr_int(const char *doc, size_t n, const char *key, int64_t *out)
{
	size_t vs, ve;
	enum jsonr_result r = find(doc, n, key, &vs, &ve);
	if (r != JSONR_OK)
		return r;
	size_t i = vs;
	bool neg = doc[i] == '-';
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (neg)
		i++;
	if (i >= ve || doc[i] < '0' || doc[i] > '9')
		return JSONR_TYPE;
	for (; i < ve; i++) {
		if (doc[i] < '0' || doc[i] > '9')
			return JSONR_TYPE; /* fraction or exponent */
		unsigned d = (unsigned)(doc[i] - '0');
		if (v > (limit - d) / 10)
			return JSONR_TYPE;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return JSONR_OK;
}
