/* The reporter's parsers: URLs, HTTP responses (length, chunked, EOF, malformed heads) and the
 * JSON reader (escapes, nesting, types, limits). Run under ASan+UBSan and valgrind. */
#include "http.h"
#include "jsonr.h"
#include "tap.h"

static enum http_parse_result parse(const char *text, bool eof, struct http_response *r, char *buf)
{
	size_t n = strlen(text);
	memcpy(buf, text, n);
	return http_parse_response(buf, n, eof, r);
}

static void test_url(void)
{
	struct http_url u;
	char err[256];
	CHECK(http_url_parse("https://console.example:8443/base/", &u, err, sizeof err) == 0, "%s", err);
	CHECK(u.tls && u.port == 8443, "tls %d port %u", u.tls, u.port);
	CHECK_STR(u.host, "console.example");
	CHECK_STR(u.path, "/base");
	CHECK(http_url_parse("http://[::1]:80", &u, err, sizeof err) == 0 && !u.tls, "%s", err);
	CHECK_STR(u.host, "::1");
	CHECK_STR(u.path, "/");
	CHECK(http_url_parse("ftp://x", &u, err, sizeof err) < 0 && strstr(err, "https://"), "%s", err);
	CHECK(http_url_parse("https://x:0", &u, err, sizeof err) < 0 && strstr(err, "port"), "%s", err);
	CHECK(http_url_parse("https://x:70000", &u, err, sizeof err) < 0, "port too large");
	CHECK(http_url_parse("https://user@x", &u, err, sizeof err) < 0, "user info");
	CHECK(http_url_parse("https://x/a?b", &u, err, sizeof err) < 0, "query");
	CHECK(http_url_parse("https:///a", &u, err, sizeof err) < 0 && strstr(err, "empty"), "%s", err);
	CHECK(http_host_is_loopback("127.0.0.1") && http_host_is_loopback("127.1.2.3") && http_host_is_loopback("localhost") &&
	      http_host_is_loopback("::1"), "loopback");
	CHECK(!http_host_is_loopback("128.0.0.1") && !http_host_is_loopback("127.0.0.1.example") &&
	      !http_host_is_loopback("10.0.0.1"), "not loopback");

	char head[512];
	CHECK(http_url_parse("https://c.example/base", &u, err, sizeof err) == 0, "%s", err);
	size_t n = http_format_request(head, sizeof head, "POST", &u, "/api/x", "Authorization: Bearer t\r\n", 5);
	CHECK(n > 0 && strncmp(head, "POST /base/api/x HTTP/1.1\r\nHost: c.example\r\n", 43) == 0, "%s", head);
	CHECK(strstr(head, "Content-Length: 5\r\n") && strstr(head, "Authorization: Bearer t\r\n\r\n"), "%s", head);
	CHECK(http_format_request(head, 20, "GET", &u, "/x", NULL, 0) == 0, "too small");
}

static void test_response(void)
{
	struct http_response r;
	char buf[1024];
	CHECK(parse("HTTP/1.1 201 Created\r\nContent-Length: 4\r\nETag: \"e1\"\r\n\r\nbody", false, &r, buf) == HTTP_COMPLETE, "length");
	CHECK(r.status == 201 && r.body_len == 4 && memcmp(buf + r.body_off, "body", 4) == 0, "status %d", r.status);
	CHECK_STR(r.etag, "\"e1\"");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nbody", false, &r, buf) == HTTP_NEED_MORE, "short");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nbody", true, &r, buf) == HTTP_MALFORMED, "short at eof");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Le", false, &r, buf) == HTTP_NEED_MORE, "partial head");
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX: y\r\n\r\n", false,
		    &r, buf) == HTTP_COMPLETE, "chunked");
	CHECK(r.body_len == 5 && memcmp(buf + r.body_off, "abcde", 5) == 0, "chunked body %zu", r.body_len);
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", false, &r, buf) == HTTP_NEED_MORE,
	      "chunked partial");
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, &r, buf) == HTTP_MALFORMED,
	      "bad chunk size");
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", false, &r, buf) ==
		      HTTP_MALFORMED, "both length and chunked");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", false, &r, buf) == HTTP_MALFORMED,
	      "conflicting lengths");
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, &r, buf) == HTTP_MALFORMED, "gzip TE");
	CHECK(parse("HTTP/1.0 200 OK\n\nrest", false, &r, buf) == HTTP_NEED_MORE, "eof body pending");
	CHECK(parse("HTTP/1.0 200 OK\n\nrest", true, &r, buf) == HTTP_COMPLETE && r.body_len == 4, "eof body");
	CHECK(parse("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", false, &r, buf) == HTTP_COMPLETE && r.body_len == 0,
	      "304");
	CHECK(parse("HTTP/1.1 429 Slow\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n", false, &r, buf) == HTTP_COMPLETE &&
		      r.retry_after == 7, "retry-after %lld", (long long)r.retry_after);
	CHECK(parse("HTTP/1.1 100 Continue\r\n\r\n", false, &r, buf) == HTTP_MALFORMED, "1xx");
	CHECK(parse("HTTP/2 200\r\n\r\n", false, &r, buf) == HTTP_MALFORMED, "HTTP/2");
	CHECK(parse("HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", false, &r, buf) == HTTP_MALFORMED, "no colon");
	CHECK(parse("HTTP/1.1 200 OK\r\n: v\r\n\r\n", false, &r, buf) == HTTP_MALFORMED, "empty name");
}

static void test_jsonr(void)
{
	static const char doc[] = "{\"credential\":\"inlay_enf_\\u00e9\\ud83d\\ude00\",\"n\":30,\"neg\":-9223372036854775808,"
				  "\"f\":1.5,\"nested\":{\"credential\":\"inner\"},\"arr\":[1,{\"a\":[]}],\"dup\":1,\"dup\":2}";
	char out[64];
	int64_t v;
	const char *raw;
	size_t rl;
	CHECK(jsonr_string(doc, strlen(doc), "credential", out, sizeof out) == JSONR_OK, "string");
	CHECK_STR(out, "inlay_enf_\xc3\xa9\xf0\x9f\x98\x80");
	CHECK(jsonr_int(doc, strlen(doc), "n", &v) == JSONR_OK && v == 30, "int");
	CHECK(jsonr_int(doc, strlen(doc), "neg", &v) == JSONR_OK && v == INT64_MIN, "min int");
	CHECK(jsonr_int(doc, strlen(doc), "f", &v) == JSONR_TYPE, "fraction is not an int");
	CHECK(jsonr_int(doc, strlen(doc), "dup", &v) == JSONR_OK && v == 2, "last duplicate wins");
	CHECK(jsonr_string(doc, strlen(doc), "n", out, sizeof out) == JSONR_TYPE, "int is not a string");
	CHECK(jsonr_string(doc, strlen(doc), "missing", out, sizeof out) == JSONR_ABSENT, "absent");
	CHECK(jsonr_string(doc, strlen(doc), "credential", out, 5) == JSONR_TOO_LONG && out[0] == '\0', "too long");
	CHECK(jsonr_raw(doc, strlen(doc), "nested", &raw, &rl) == JSONR_OK && rl == 22, "raw %zu", rl);
	CHECK(jsonr_string(raw, rl, "credential", out, sizeof out) == JSONR_OK, "nested lookup");
	CHECK_STR(out, "inner");
	CHECK(jsonr_int("{\"n\":9223372036854775808}", 25, "n", &v) == JSONR_TYPE, "overflow");
	static const char *const bad[] = {
		"{\"a\":1", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00x\"}",
		"{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"a\":1} x", "", "[1,]",
		"{\"a\":\"\\x\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(jsonr_string(bad[i], strlen(bad[i]), "a", out, sizeof out) == JSONR_INVALID, "accepted %s", bad[i]);
	char deep[200];
	size_t d = 0;
	for (int i = 0; i < 40; i++)
		deep[d++] = '[';
	for (int i = 0; i < 40; i++)
		deep[d++] = ']';
	CHECK(jsonr_raw(deep, d, "a", &raw, &rl) == JSONR_INVALID, "too deep");
	CHECK(jsonr_raw("[1]", 3, "a", &raw, &rl) == JSONR_ABSENT, "array top level");
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_url();
	test_response();
	test_jsonr();
	return tap_done("http+jsonr");
}
