/* start-latency RUNS -- WRAPPER... : measures the time from just before fork+exec of
 * `WRAPPER... stamp` to the first line `stamp` prints (its CLOCK_MONOTONIC at main), RUNS times,
 * and prints each delta in nanoseconds, one per line. `stamp` is the first instruction of the
 * workload for a static binary, so the delta is the wrapper's start-up cost plus one exec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--") != 0) { fputs("usage: start-latency RUNS -- CMD...\n", stderr); return 2; }
	long runs = strtol(argv[1], NULL, 10);
	for (long r = 0; r < runs; r++) {
		int fds[2];
		if (pipe(fds) != 0) { perror("pipe"); return 1; }
		long long t0 = now_ns();
		pid_t pid = fork();
		if (pid < 0) { perror("fork"); return 1; }
		if (pid == 0) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
			execv(argv[3], argv + 3);
			_exit(127);
		}
		close(fds[1]);
		char buf[64] = { 0 };
		ssize_t n = read(fds[0], buf, sizeof buf - 1);
		close(fds[0]);
		int st;
		waitpid(pid, &st, 0);
		if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "run %ld failed (status %#x)\n", r, st); return 1; }
		printf("%lld\n", strtoll(buf, NULL, 10) - t0);
	}
	return 0;
}
