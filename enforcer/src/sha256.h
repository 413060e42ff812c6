/* SHA-256 (FIPS 180-4), our own implementation. On x86_64 the block function uses the SHA
 * extensions when CPUID reports them (checked once, at the first use); otherwise portable C. */
#ifndef INLAY_SHA256_H
#define INLAY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256_ctx {
	uint32_t h[8];
	uint64_t total;      /* bytes fed so far */
	uint8_t block[64];
	size_t fill;         /* bytes pending in block */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Writes the digest; the context must be re-initialised before reuse. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);
/* One-shot digest of a buffer. */
void sha256_buf(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Hashes everything readable from fd (from its current offset to EOF) with a fixed 64 KiB
 * buffer on the stack. Retries EINTR. Returns 0, or -1 with errno set by read(2). */
int sha256_fd(int fd, uint8_t out[SHA256_LEN]);

/* Lower-case hex of a digest into out[65] (NUL-terminated). */
void sha256_hex_encode(const uint8_t d[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);
/* Parses exactly 64 lower-case hex digits (hex[0..len)). Returns 0, or -1 (wrong length,
 * upper case or non-hex byte). */
int sha256_hex_decode(const char *hex, size_t len, uint8_t out[SHA256_LEN]);

/* Which block function is in use: "sha-ni" or "portable". For tests and the start event. */
const char *sha256_impl(void);
/* Makes later hashing use the portable block function (tests and benchmarks compare both). */
void sha256_force_portable(void);

#endif
