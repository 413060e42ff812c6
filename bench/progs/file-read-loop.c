/* file-read-loop DIR FILES ROUNDS WRITE_EVERY: a read-heavy file workload. Each round opens every
 * file DIR/f0..f(FILES-1) read-only, fstats it, reads up to 4 KiB and closes it; every
 * WRITE_EVERY-th open (0: never) is instead an open for writing (O_WRONLY|O_APPEND) of DIR/log
 * with a one-byte write. Prints the elapsed wall time in nanoseconds of the loop alone and the
 * number of opens. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 5) {
		fputs("usage: file-read-loop DIR FILES ROUNDS WRITE_EVERY\n", stderr);
		return 2;
	}
	int files = atoi(argv[2]), rounds = atoi(argv[3]), write_every = atoi(argv[4]);
	char path[4096], logp[4096], buf[4096];
	snprintf(logp, sizeof logp, "%s/log", argv[1]);
	struct timespec a, b;
	long opens = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < files; i++) {
			opens++;
			if (write_every > 0 && opens % write_every == 0) {
				int w = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
				if (w < 0 || write(w, "x", 1) != 1) {
					perror("file-read-loop: write");
					return 1;
				}
				close(w);
				continue;
			}
			snprintf(path, sizeof path, "%s/f%d", argv[1], i);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			struct stat st;
			if (fd < 0 || fstat(fd, &st) < 0 || read(fd, buf, sizeof buf) < 0) {
				perror("file-read-loop: read");
				return 1;
			}
			close(fd);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld %ld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), opens);
	return 0;
}
