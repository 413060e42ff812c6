/* HTTP/1.1 pieces for the reporter: URL parsing, request heads, and a response parser. Pure: no
 * I/O, no allocation. The transport is in net.c. */
#ifndef INLAY_HTTP_H
#define INLAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_url {
	bool tls;            /* https */
	char host[256];      /* DNS name or IP literal, without IPv6 brackets */
	uint16_t port;
	char path[512];      /* "/" when the URL has none; never ends with '/' unless it is "/" */
};

/* Parses http[s]://host[:port][/path] (no user info, query or fragment). Returns 0, or -1 with
 * err naming the problem. */
int http_url_parse(const char *url, struct http_url *u, char *err, size_t errlen);

/* True when host is a loopback name or address (localhost, 127.0.0.0/8, ::1). */
bool http_host_is_loopback(const char *host);

/* Writes a request head: method, target (path of u joined with suffix), Host, User-Agent,
 * Connection: close, Content-Length when body_len > 0 or method is POST, then extra_headers
 * (complete "Name: value\r\n" lines, may be NULL), then the blank line. Returns the length, or 0
 * when cap is too small. */
size_t http_format_request(char *buf, size_t cap, const char *method, const struct http_url *u,
			   const char *suffix, const char *extra_headers, size_t body_len);

struct http_response {
	int status;
	size_t body_off;     /* body within the buffer (after chunked decoding, when complete) */
	size_t body_len;
	int64_t retry_after; /* seconds; -1 when absent or not a number */
	char etag[96];       /* "" when absent or too long */
};

enum http_parse_result { HTTP_NEED_MORE = 0, HTTP_COMPLETE = 1, HTTP_MALFORMED = -1 };

/* Parses the response in buf[0..len). eof: the peer closed, so a body without a length ends
 * here. On HTTP_COMPLETE with a chunked body, the chunks are decoded in place (buf is modified
 * after the head). The head must fit in len; a response to a HEAD request is not supported. */
enum http_parse_result http_parse_response(char *buf, size_t len, bool eof, struct http_response *r);

#endif
