/* HTTP/1.1 for the reporter; contracts in http.h. */
#include "http.h"
#include "pctenc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#ifndef INLAY_VERSION
#define INLAY_VERSION "0.0.0"
#endif

int http_url_parse(const char *url, struct http_url *u, char *err, size_t errlen)
{
	const char *p;
	memset(u, 0, sizeof *u);
	if (strncmp(url, "https://", 8) == 0) {
		u->tls = true;
		u->port = 443;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		u->port = 80;
		p = url + 7;
	} else {
		snprintf(err, errlen, "URL \"%.200s\" must start with https:// or http://", url);
		return -1;
	}
	const char *host = p, *host_end;
	if (*p == '[') {
		host = ++p;
		while (*p && *p != ']')
			p++;
		if (*p != ']') {
			snprintf(err, errlen, "URL \"%.200s\": unterminated [IPv6] host", url);
			return -1;
		}
		host_end = p++;
	} else {
		while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#' && *p != '@')
			p++;
		host_end = p;
	}
	size_t hn = (size_t)(host_end - host);
	if (hn == 0 || hn >= sizeof u->host) {
		snprintf(err, errlen, "URL \"%.200s\": the host is empty or longer than %zu bytes", url, sizeof u->host - 1);
		return -1;
	}
	for (const char *c = host; c < host_end; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
		      *c == '-' || *c == ':' || *c == '_')) {
			snprintf(err, errlen, "URL \"%.200s\": the host has a character that is not allowed (0x%02x)", url,
				 (unsigned char)*c);
			return -1;
		}
	}
	memcpy(u->host, host, hn);
	if (*p == ':') {
		unsigned long port = 0;
		p++;
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "URL \"%.200s\": the port is not a number", url);
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			port = port * 10 + (unsigned long)(*p++ - '0');
			if (port > 65535)
				break;
		}
		if (port == 0 || port > 65535) {
			snprintf(err, errlen, "URL \"%.200s\": the port must be 1-65535", url);
			return -1;
		}
		u->port = (uint16_t)port;
	}
	if (*p == '@' || *p == '?' || *p == '#' || (*p && *p != '/')) {
		snprintf(err, errlen, "URL \"%.200s\": user info, query and fragment are not supported", url);
		return -1;
	}
	const char *path = *p ? p : "/";
	size_t pn = strlen(path);
	while (pn > 1 && path[pn - 1] == '/')
		pn--;
	if (pn >= sizeof u->path || strpbrk(path, "?# ") != NULL) {
		snprintf(err, errlen, "URL \"%.200s\": the path is too long or has a query, fragment or space", url);
		return -1;
	}
	for (size_t i = 0; i < pn; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c < 0x21 || c > 0x7e) {
			snprintf(err, errlen, "URL \"%.200s\": the path has a byte that must be percent-encoded", url);
			return -1;
		}
	}
	memcpy(u->path, path, pn);
	return 0;
}

bool http_host_is_loopback(const char *host)
{
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	/* 127.0.0.0/8 in dotted-quad form: four decimal parts, the first 127 */
	unsigned a, b, c, d;
	char tail;
	return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 && c < 256 && d < 256;
}

size_t http_format_request(char *buf, size_t cap, const char *method, const struct http_url *u,
			   const char *suffix, const char *extra_headers, size_t body_len)
{
	char hostport[300];
	bool v6 = strchr(u->host, ':') != NULL;
	bool dflt = u->port == (u->tls ? 443 : 80);
	if (dflt)
		snprintf(hostport, sizeof hostport, v6 ? "[%s]" : "%s", u->host);
	else
		snprintf(hostport, sizeof hostport, v6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);
	const char *base = strcmp(u->path, "/") == 0 && suffix && suffix[0] == '/' ? "" : u->path;
	char length[48] = "";
	if (body_len > 0 || strcmp(method, "POST") == 0)
		snprintf(length, sizeof length, "Content-Length: %zu\r\n", body_len);
	int n = snprintf(buf, cap,
			 "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: inlay-enforcer/" INLAY_VERSION
			 "\r\nConnection: close\r\n%s%s\r\n",
			 method, base, suffix ? suffix : "", hostport, length, extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

/* Finds the end of the line starting at i: returns the index of '\n', or len. */
static size_t line_end(const char *buf, size_t len, size_t i)
{
	const char *nl = memchr(buf + i, '\n', len - i);
	return nl ? (size_t)(nl - buf) : len;
}

static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Walks a chunked body in buf[i..len). With out != NULL, copies the data to out (which may
 * overlap behind the read position) and sets *out_len. Returns complete/need-more/malformed. */
static enum http_parse_result walk_chunks(char *buf, size_t len, size_t i, char *out, size_t *out_len)
{
	size_t w = 0;
	for (;;) {
		size_t e = line_end(buf, len, i);
		if (e == len)
			return HTTP_NEED_MORE;
		uint64_t size = 0;
		size_t k = i, digits = 0;
		while (k < e && hex_value((unsigned char)buf[k]) >= 0) {
			if (++digits > 15)
				return HTTP_MALFORMED;
			size = size << 4 | (uint64_t)hex_value((unsigned char)buf[k++]);
		}
		if (digits == 0 || (k < e && buf[k] != ';' && buf[k] != '\r'))
			return HTTP_MALFORMED;
		i = e + 1;
		if (size == 0) {
			/* trailers up to an empty line */
			for (;;) {
				e = line_end(buf, len, i);
				if (e == len)
					return HTTP_NEED_MORE;
				bool empty = e == i || (e == i + 1 && buf[i] == '\r');
				i = e + 1;
				if (empty) {
					if (out_len)
						*out_len = w;
					return HTTP_COMPLETE;
				}
			}
		}
		if (size > len - i)
			return HTTP_NEED_MORE;
		if (out)
			memmove(out + w, buf + i, (size_t)size);
		w += (size_t)size;
		i += (size_t)size;
		if (i < len && buf[i] == '\r')
			i++;
		if (i >= len)
			return HTTP_NEED_MORE;
		if (buf[i] != '\n')
			return HTTP_MALFORMED;
		i++;
	}
}

enum http_parse_result http_parse_response(char *buf, size_t len, bool eof, struct http_response *r)
{
	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	size_t e = line_end(buf, len, 0);
	if (e == len)
		return eof ? HTTP_MALFORMED : HTTP_NEED_MORE;
	/* "HTTP/1.x NNN reason" */
	if (e < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (e > 12 && buf[12] != ' ' && buf[12] != '\r'))
		return HTTP_MALFORMED;
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (r->status < 200)
		return HTTP_MALFORMED; /* interim answers: never asked for (no Expect: 100-continue) */

	bool chunked = false, has_length = false;
	uint64_t length = 0;
	size_t i = e + 1;
	for (;;) {
		e = line_end(buf, len, i);
		if (e == len)
			return eof ? HTTP_MALFORMED : HTTP_NEED_MORE;
		size_t end = e;
		if (end > i && buf[end - 1] == '\r')
			end--;
		if (end == i) {
			i = e + 1;
			break;
		}
		const char *colon = memchr(buf + i, ':', end - i);
		if (!colon || colon == buf + i)
			return HTTP_MALFORMED;
		size_t nlen = (size_t)(colon - (buf + i));
		for (size_t k = i; k < i + nlen; k++)
			if (buf[k] <= ' ' || buf[k] >= 0x7f)
				return HTTP_MALFORMED;
		const char *v = colon + 1, *vend = buf + end;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		size_t vlen = (size_t)(vend - v);
		if (nlen == 14 && strncasecmp(buf + i, "content-length", 14) == 0) {
			uint64_t l;
			if (parse_decimal(v, vlen, (uint64_t)1 << 40, &l) != 0 || (has_length && l != length))
				return HTTP_MALFORMED;
			has_length = true;
			length = l;
		} else if (nlen == 17 && strncasecmp(buf + i, "transfer-encoding", 17) == 0) {
			if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
				return HTTP_MALFORMED; /* no other coding is ever asked for */
			chunked = true;
		} else if (nlen == 11 && strncasecmp(buf + i, "retry-after", 11) == 0) {
			uint64_t s;
			if (parse_decimal(v, vlen, 86400, &s) == 0)
				r->retry_after = (int64_t)s;
		} else if (nlen == 4 && strncasecmp(buf + i, "etag", 4) == 0) {
			if (vlen < sizeof r->etag) {
				memcpy(r->etag, v, vlen);
				r->etag[vlen] = '\0';
			}
		}
		i = e + 1;
	}
	if (chunked && has_length)
		return HTTP_MALFORMED; /* request smuggling shape: refuse */
	r->body_off = i;
	if (r->status == 204 || r->status == 304) {
		r->body_len = 0;
		return HTTP_COMPLETE;
	}
	if (chunked) {
		enum http_parse_result c = walk_chunks(buf, len, i, NULL, NULL);
		if (c != HTTP_COMPLETE)
			return c == HTTP_NEED_MORE && eof ? HTTP_MALFORMED : c;
		walk_chunks(buf, len, i, buf + i, &r->body_len);
		return HTTP_COMPLETE;
	}
	if (has_length) {
		if (length > len - i)
			return eof ? HTTP_MALFORMED : HTTP_NEED_MORE;
		r->body_len = (size_t)length;
		return HTTP_COMPLETE;
	}
	if (!eof)
		return HTTP_NEED_MORE;
	r->body_len = len - i;
	return HTTP_COMPLETE;
}
