/* Strict percent-decoding; see pctenc.h for the accepted form. */
#include "pctenc.h"

int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum pct_error pct_decode(const char *in, size_t len, char *out, size_t outcap, size_t *outlen,
			  size_t *errpos)
{
	size_t o = 0;

	*errpos = 0;
	if (len == 0)
		return PCT_EMPTY;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '%') {
			if (len - i < 3) {
				*errpos = i;
				return PCT_BAD_ESCAPE;
			}
			int h = hex_value((unsigned char)in[i + 1]);
			int l = hex_value((unsigned char)in[i + 2]);
			if (h < 0 || l < 0) {
				*errpos = i;
				return PCT_BAD_ESCAPE;
			}
			c = (unsigned char)(h << 4 | l);
			if (c == 0) {
				*errpos = i;
				return PCT_NUL;
			}
			i += 2;
		} else if (c < 0x21 || c > 0x7e) {
			*errpos = i;
			return PCT_RAW_BYTE;
		}
		if (o + 1 >= outcap) {
			*errpos = i;
			return PCT_TOO_LONG;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return PCT_OK;
}

const char *pct_strerror(enum pct_error e)
{
	switch (e) {
	case PCT_OK:
		return "no error";
	case PCT_EMPTY:
		return "empty argument";
	case PCT_BAD_ESCAPE:
		return "bad percent escape (want %XX with two hex digits)";
	case PCT_RAW_BYTE:
		return "byte that must be percent-encoded";
	case PCT_NUL:
		return "percent-encoded NUL byte (%00)";
	case PCT_TOO_LONG:
		return "decoded argument too long";
	default:
		return "unknown percent-decoding error";
	}
}
