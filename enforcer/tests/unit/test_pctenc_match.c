/* Percent-decoding (accepted and rejected forms, error positions) and list matching helpers. */
#include "match.h"
#include "pctenc.h"
#include "tap.h"

static void decodes(const char *in, const char *want, size_t want_len)
{
	char out[64];
	size_t len = 99, pos = 99;
	enum pct_error e = pct_decode(in, strlen(in), out, sizeof out, &len, &pos);
	CHECK(e == PCT_OK, "\"%s\": %s", in, pct_strerror(e));
	if (e == PCT_OK)
		CHECK(len == want_len && memcmp(out, want, len) == 0 && out[len] == '\0', "\"%s\" decoded wrong", in);
}

static void rejects(const char *in, size_t n, enum pct_error want, size_t want_pos)
{
	char out[64];
	size_t len = 0, pos = 99;
	enum pct_error e = pct_decode(in, n, out, sizeof out, &len, &pos);
	CHECK(e == want, "\"%s\": got \"%s\", want \"%s\"", in, pct_strerror(e), pct_strerror(want));
	CHECK(pos == want_pos, "\"%s\": error at %zu, want %zu", in, pos, want_pos);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	decodes("/usr/bin/my%20app", "/usr/bin/my app", 15);
	decodes("100%25", "100%", 4);
	decodes("caf%C3%A9", "caf\xc3\xa9", 5);
	decodes("caf%c3%a9", "caf\xc3\xa9", 5);           /* lower case accepted */
	decodes("/weird/line%0Abreak", "/weird/line\nbreak", 17);
	decodes("%7F%FF%01", "\x7f\xff\x01", 3);
	decodes("!~", "!~", 2);                            /* the printable range edges pass as is */

	rejects("", 0, PCT_EMPTY, 0);
	rejects("a%G1", 4, PCT_BAD_ESCAPE, 1);
	rejects("a%1G", 4, PCT_BAD_ESCAPE, 1);
	rejects("abc%2", 5, PCT_BAD_ESCAPE, 3);
	rejects("abc%", 4, PCT_BAD_ESCAPE, 3);
	rejects("a%00b", 5, PCT_NUL, 1);
	rejects("a b", 3, PCT_RAW_BYTE, 1);
	rejects("caf\xc3\xa9", 5, PCT_RAW_BYTE, 3);
	rejects("a\x7f", 2, PCT_RAW_BYTE, 1);
	rejects("a\0b", 3, PCT_RAW_BYTE, 1);
	{
		char out[4];
		size_t len, pos;
		CHECK(pct_decode("abcd", 4, out, sizeof out, &len, &pos) == PCT_TOO_LONG, "output bound honoured");
		CHECK(pct_decode("abc", 3, out, sizeof out, &len, &pos) == PCT_OK && len == 3, "exact fit");
	}

	CHECK_STR(path_basename("/usr/bin/nc"), "nc");
	CHECK_STR(path_basename("nc"), "nc");
	CHECK_STR(path_basename("/usr/bin/"), "");
	CHECK(match_glob("/tmp/*", "/tmp/x"), "star matches a name");
	CHECK(!match_glob("/tmp/*", "/tmp/a/x"), "star must not cross '/' (FNM_PATHNAME)");
	CHECK(match_glob("/tmp/*/*", "/tmp/a/x"), "two levels");
	CHECK(match_glob("/usr/bin/python3.?", "/usr/bin/python3.9"), "question mark");
	CHECK(!match_glob("/usr/bin/python3.?", "/usr/bin/python3.11"), "question mark is one char");
	CHECK(match_glob("/opt/[ab]pp", "/opt/app"), "bracket");
	return tap_done("pctenc+match");
}
