/* Percent-decoding of bundle arguments (docs/bundle-format.md, "Encoding").
 *
 * Encoded form: bytes 0x21..0x7e except '%' appear as themselves; every other byte is "%XX"
 * (either hex case accepted). The decoder is strict, because a bundle is always written by our
 * own writer and anything else is corruption. */
#ifndef INLAY_PCTENC_H
#define INLAY_PCTENC_H

#include <stddef.h>

enum pct_error {
	PCT_OK = 0,
	PCT_EMPTY,        /* the argument is empty */
	PCT_BAD_ESCAPE,   /* '%' not followed by two hex digits */
	PCT_RAW_BYTE,     /* a byte outside 0x21..0x7e that should have been encoded */
	PCT_NUL,          /* "%00": a decoded NUL byte */
	PCT_TOO_LONG,     /* output does not fit outcap (including the terminating NUL) */
};

/* Decodes in[0..len) into out (NUL-terminated). outcap must be >= 1; len + 1 always suffices.
 * On success returns PCT_OK and sets *outlen (excluding the NUL). On error returns the code and
 * sets *errpos to the offset in `in` of the offending byte; out is then unspecified. */
enum pct_error pct_decode(const char *in, size_t len, char *out, size_t outcap, size_t *outlen,
			  size_t *errpos);

/* A short English description of an error code, e.g. "bad percent escape". Never NULL. */
const char *pct_strerror(enum pct_error e);

/* Value of one hex digit (either case), or -1 when c is not one. */
int hex_value(unsigned char c);

#endif
