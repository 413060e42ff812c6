/* SHA-256 known answers (FIPS 180-2 examples and NIST CAVS lengths), both block functions,
 * every split of an input across update calls, sha256_fd, and hex encoding. */
#include <fcntl.h>
#include <unistd.h>

#include "sha256.h"
#include "tap.h"

static void hex_of(const void *data, size_t len, char out[65])
{
	uint8_t d[32];
	sha256_buf(data, len, d);
	sha256_hex_encode(d, out);
}

static void known_answers(const char *impl)
{
	static const struct {
		const char *msg;
		size_t repeat;
		const char *hex;
	} kat[] = {
		{ "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  1, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
		{ "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	};
	char hex[65];

	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		size_t n = strlen(kat[i].msg) * kat[i].repeat;
		char *buf = malloc(n + 1);
		for (size_t r = 0; r < kat[i].repeat; r++)
			memcpy(buf + r * strlen(kat[i].msg), kat[i].msg, strlen(kat[i].msg));
		hex_of(buf, n, hex);
		CHECK(strcmp(hex, kat[i].hex) == 0, "[%s] vector %zu: got %s", impl, i, hex);

		/* Same digest whatever the split into update calls (exercises the partial-block path). */
		if (n > 0 && n < 200) {
			for (size_t cut = 0; cut <= n; cut++) {
				struct sha256_ctx c;
				uint8_t d[32];
				sha256_init(&c);
				sha256_update(&c, buf, cut);
				sha256_update(&c, buf + cut, n - cut);
				sha256_final(&c, d);
				sha256_hex_encode(d, hex);
				CHECK(strcmp(hex, kat[i].hex) == 0, "[%s] vector %zu split at %zu", impl, i, cut);
			}
		}
		free(buf);
	}
	/* Lengths around the padding boundary (55, 56, 63, 64 bytes) against the one-byte-at-a-time
	 * digest: both must agree for every length up to 300. */
	for (size_t n = 0; n <= 300; n++) {
		uint8_t buf[300], d1[32], d2[32];
		struct sha256_ctx c;
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)(k * 7 + 3);
		sha256_buf(buf, n, d1);
		sha256_init(&c);
		for (size_t k = 0; k < n; k++)
			sha256_update(&c, buf + k, 1);
		sha256_final(&c, d2);
		CHECK(memcmp(d1, d2, 32) == 0, "[%s] length %zu bytewise differs", impl, n);
	}
	/* 55 and 56 'a's: the two padding cases, from an independent implementation (sha256sum). */
	hex_of("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55, hex);
	CHECK_STR(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	hex_of("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56, hex);
	CHECK_STR(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

static void fd_hash(void)
{
	char path[] = "/tmp/inlay-sha-XXXXXX";
	int fd = mkstemp(path);
	uint8_t d[32], want[32];
	static uint8_t big[200000];

	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 31 + (i >> 8));
	CHECK(write(fd, big, sizeof big) == (ssize_t)sizeof big, "write");
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	CHECK(sha256_fd(fd, d) == 0, "sha256_fd");
	sha256_buf(big, sizeof big, want);
	CHECK(memcmp(d, want, 32) == 0, "sha256_fd differs from sha256_buf over 200000 bytes");
	close(fd);
	unlink(path);
	CHECK(sha256_fd(fd, d) == -1, "sha256_fd on a closed descriptor must fail");
}

static void hex_codec(void)
{
	uint8_t d[32], back[32];
	char hex[65];
	for (int i = 0; i < 32; i++)
		d[i] = (uint8_t)(i * 9 + 250);
	sha256_hex_encode(d, hex);
	CHECK(strlen(hex) == 64, "hex length");
	CHECK(sha256_hex_decode(hex, 64, back) == 0 && memcmp(d, back, 32) == 0, "round trip");
	CHECK(sha256_hex_decode(hex, 63, back) == -1, "63 digits rejected");
	hex[10] = 'A';
	CHECK(sha256_hex_decode(hex, 64, back) == -1, "upper case rejected");
	hex[10] = 'g';
	CHECK(sha256_hex_decode(hex, 64, back) == -1, "non-hex rejected");
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("sha256 implementation on this CPU: %s\n", sha256_impl());
	known_answers(sha256_impl());
	fd_hash();
	hex_codec();
	if (strcmp(sha256_impl(), "portable") != 0) {
		sha256_force_portable();
		known_answers(sha256_impl());
		fd_hash();
	}
	return tap_done("sha256");
}
