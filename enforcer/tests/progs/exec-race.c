/* The time-of-check/time-of-use attack on the execve path.
 *
 *   exec-race ALLOWED FORBIDDEN ROUNDS
 *
 * Each round forks a child whose second thread keeps rewriting the path buffer between ALLOWED
 * and FORBIDDEN while the main thread calls execve(buffer). A tracer that trusts the path it
 * read at the syscall entry is fooled whenever the buffer flips between its read and the
 * kernel's. Both programs are run with argv {PATH, "exe-marker"}; the test programs report
 * which file really ran through their exit code (see pid1.c "exe-marker": 42 when
 * /proc/self/exe contains "forbidden").
 *
 * Prints one line: "ran-forbidden=N ran-allowed=N killed=N refused=N other=N" and exits 0. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char path[4096];
static const char *paths[2];
static size_t longest;

static void *flipper(void *arg)
{
	(void)arg;
	for (unsigned i = 0;; i++) {
		/* copy the whole buffer each time so the string is always one of the two */
		memcpy(path, paths[i & 1], longest + 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: exec-race ALLOWED FORBIDDEN ROUNDS\n");
		return 2;
	}
	static char a[4096], b[4096];
	/* pad the shorter path with slashes so both copies have the same length */
	size_t la = strlen(argv[1]), lb = strlen(argv[2]);
	longest = la > lb ? la : lb;
	if (longest >= sizeof a - 1)
		return 2;
	memset(a, '/', longest);
	memset(b, '/', longest);
	memcpy(a + (longest - la), argv[1], la);
	memcpy(b + (longest - lb), argv[2], lb);
	a[longest] = b[longest] = '\0';
	/* leading extra slashes keep both absolute paths valid */
	paths[0] = a;
	paths[1] = b;
	int rounds = atoi(argv[3]);
	int forbidden = 0, allowed = 0, killed = 0, refused = 0, other = 0;
	for (int r = 0; r < rounds; r++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			memcpy(path, a, longest + 1);
			pthread_t t;
			if (pthread_create(&t, NULL, flipper, NULL) != 0)
				_exit(3);
			char *args[] = { path, "exe-marker", NULL };
			for (int k = 0; k < 50; k++)
				execve(path, args, environ);
			_exit(126); /* every attempt refused */
		}
		int st;
		if (waitpid(pid, &st, 0) < 0) {
			perror("waitpid");
			return 1;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
			forbidden++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			allowed++;
		else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			killed++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 126)
			refused++;
		else
			other++;
	}
	printf("ran-forbidden=%d ran-allowed=%d killed=%d refused=%d other=%d\n", forbidden, allowed,
	       killed, refused, other);
	return 0;
}
