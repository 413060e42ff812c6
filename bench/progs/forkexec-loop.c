/* forkexec-loop N PROGRAM: fork+exec+wait PROGRAM N times and print the loop's wall time in
 * nanoseconds on stdout. Timing inside the process leaves the wrapper's own start-up out, so a
 * ratio against native measures only the per-exec cost. */
#include <stdio.h>
#include <stdlib.h>
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
	if (argc != 3) {
		fputs("usage: forkexec-loop N PROGRAM\n", stderr);
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	char *const child_argv[] = { argv[2], NULL };
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) { perror("fork"); return 1; }
		if (pid == 0) { execv(argv[2], child_argv); _exit(127); }
		int st;
		if (waitpid(pid, &st, 0) < 0) { perror("waitpid"); return 1; }
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "child failed: %#x\n", st); return 1; }
	}
	printf("%lld\n", now_ns() - t0);
	return 0;
}
