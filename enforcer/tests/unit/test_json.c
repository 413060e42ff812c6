/* JSON writer: escaping of hostile strings, invalid UTF-8, separators, overflow latching, capped
 * strings and the argv limits of docs/events.md. */
#include "json.h"
#include "tap.h"

static const char *render_str(const char *s, size_t n, char *buf, size_t cap)
{
	struct json j;
	json_init(&j, buf, cap);
	json_strn(&j, s, n);
	return j.overflow ? "(overflow)" : buf;
}

#define ESC(in, want)                                                        \
	do {                                                                 \
		char b_[512];                                                \
		CHECK_STR(render_str(in, sizeof(in) - 1, b_, sizeof b_), want); \
	} while (0)

/* A byte-level check that out is one line of JSON-safe text: no raw control byte, no raw byte
 * that starts an invalid UTF-8 sequence. (Escapes were checked exactly above.) */
static int line_is_clean(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	char buf[1024];
	struct json j;
	(void)argc;
	(void)argv;

	ESC("plain", "\"plain\"");
	ESC("a\"b\\c", "\"a\\\"b\\\\c\"");
	ESC("line\nbreak\r\t", "\"line\\nbreak\\r\\t\"");
	ESC("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	ESC("nul\0x", "\"nul\\u0000x\"");
	ESC("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\"");
	ESC("bad\xff\xfe", "\"bad\\u00ff\\u00fe\"");
	ESC("trunc\xc3", "\"trunc\\u00c3\"");                          /* sequence cut by the end */
	ESC("\xc3(", "\"\\u00c3(\"");                                  /* bad continuation */
	ESC("\xc0\xaf", "\"\\u00c0\\u00af\"");                         /* overlong '/' */
	ESC("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");              /* overlong 3-byte */
	ESC("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");              /* surrogate U+D800 */
	ESC("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"");   /* > U+10FFFF */
	ESC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");               /* U+10FFFF itself is fine */
	ESC("\x80", "\"\\u0080\"");                                    /* lone continuation */

	/* Object with separators, nesting and every value type. */
	json_init(&j, buf, sizeof buf);
	json_begin_object(&j);
	json_key(&j, "a");
	json_int(&j, -5);
	json_key(&j, "b");
	json_begin_array(&j);
	json_uint(&j, 18446744073709551615u);
	json_bool(&j, true);
	json_null(&j);
	json_begin_object(&j);
	json_end_object(&j);
	json_str(&j, NULL);
	json_end_array(&j);
	json_key(&j, "c");
	json_raw_value(&j, "{\"x\":1}", 7);
	json_key(&j, "d\n");
	json_bool(&j, false);
	json_end_object(&j);
	CHECK(!j.overflow, "no overflow");
	CHECK_STR(buf, "{\"a\":-5,\"b\":[18446744073709551615,true,null,{},null],\"c\":{\"x\":1},\"d\\n\":false}");

	/* Overflow: nothing partial, latched, still NUL-terminated. */
	{
		char small[12];
		json_init(&j, small, sizeof small);
		json_begin_array(&j);
		json_str(&j, "abcdef");     /* ["abcdef" = 9 bytes: fits */
		json_str(&j, "xy");         /* ,"xy" would make 14: refused whole */
		CHECK(j.overflow, "overflow reported");
		CHECK_STR(small, "[\"abcdef\"");
		json_end_array(&j);     /* ignored after overflow, even though it would fit */
		CHECK_STR(small, "[\"abcdef\"");
		CHECK(j.len == strlen(small), "len consistent");
	}
	/* An escape is never cut in half. */
	{
		char small[8];
		json_init(&j, small, sizeof small);
		json_str(&j, "\x01\x02");   /* needs 14 bytes */
		CHECK(j.overflow && small[0] == '\0', "escaped string refused whole: \"%s\"", small);
	}

	/* Capped strings: cut at a character boundary, marked. */
	{
		json_init(&j, buf, sizeof buf);
		CHECK(!json_str_capped(&j, "short", 16), "fits whole");
		CHECK_STR(buf, "\"short\"");
		json_init(&j, buf, sizeof buf);
		CHECK(json_str_capped(&j, "/a/very/long/path/name", 12), "cut reported");
		CHECK_STR(buf, "\"/a/very[...]\"");
		json_init(&j, buf, sizeof buf);
		CHECK(json_str_capped(&j, "ab\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5", 10), "cut reported");
		CHECK_STR(buf, "\"ab\xe6\x97\xa5[...]\"");            /* 11 > 10: 2 + 3 + 5 = 10 */
		json_init(&j, buf, sizeof buf);
		CHECK(json_str_capped(&j, "\x01\x01\x01", 16), "cut reported");
		CHECK_STR(buf, "\"\\u0001[...]\""); /* 18 > 16; 6 + 6 + 5 = 17 > 16: only one unit fits */
	}

	/* argv: 32 entries at most, 4096 escaped bytes at most, flag set when cut. */
	{
		static char out[16384];
		const char *v[40];
		char words[40][16];
		for (int i = 0; i < 40; i++) {
			snprintf(words[i], sizeof words[i], "a%d", i);
			v[i] = words[i];
		}
		json_init(&j, out, sizeof out);
		CHECK(!json_str_array(&j, v, 32, 32, 4096), "32 short entries fit");
		CHECK(strstr(out, "\"a31\"]") != NULL, "last entry present: %s", out);
		json_init(&j, out, sizeof out);
		CHECK(json_str_array(&j, v, 33, 32, 4096), "33 entries: truncated");
		CHECK(strstr(out, "\"a31\"]") != NULL && !strstr(out, "a32"), "entry 33 left out");

		static char big[5000];
		memset(big, 'x', sizeof big - 1);
		const char *v2[] = { "first", big, "third" };
		json_init(&j, out, sizeof out);
		CHECK(json_str_array(&j, v2, 3, 32, 4096), "byte budget: truncated");
		CHECK(!strstr(out, "third"), "entries after the cut are left out");
		CHECK(strlen(out) == 2 + 7 + 1 + 2 + (4096 - 5), "budget honoured exactly: %zu", strlen(out));

		const char *v3[] = { "a\nb", NULL, "\xff" };
		json_init(&j, out, sizeof out);
		CHECK(!json_str_array(&j, v3, 3, 32, 4096), "hostile entries not truncated");
		CHECK_STR(out, "[\"a\\nb\",\"\",\"\\u00ff\"]");
		CHECK(line_is_clean(out), "no raw control bytes");
	}
	CHECK(json_escaped_len("a\x01\xc3\xa9", 4) == 1 + 6 + 2, "escaped length");
	return tap_done("json");
}
