/* Hashes FILE with the enforcer's SHA-256 (enforcer/src/sha256.c), the way the exec verdict does:
 * open, sha256_fd, close. Prints "<impl> <hex> <nanoseconds>" for one pass.
 * Usage: sha256-file [--portable] FILE */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

int main(int argc, char **argv)
{
	struct timespec a, b;
	uint8_t d[32];
	char hex[65];
	int i = 1;

	if (argc > 1 && strcmp(argv[1], "--portable") == 0) {
		sha256_force_portable();
		i++;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: sha256-file [--portable] FILE\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || sha256_fd(fd, d) != 0) {
		perror(argv[i]);
		return 1;
	}
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	sha256_hex_encode(d, hex);
	printf("%s %s %lld\n", sha256_impl(), hex, (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	return 0;
}
