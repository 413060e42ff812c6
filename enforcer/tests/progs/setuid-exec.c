/* Switches to UID:GID (needs CAP_SETUID/CAP_SETGID), then executes FILE: the exec of a tracee
 * whose credentials differ from the enforcer's.
 *
 *   setuid-exec UID GID FILE [ARGS...]
 *
 * Exits 100 + errno when a step fails. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: setuid-exec UID GID FILE [ARGS...]\n");
		return 2;
	}
	gid_t g = (gid_t)atoi(argv[2]);
	if (setgroups(1, &g) < 0 || setgid(g) < 0 || setuid((uid_t)atoi(argv[1])) < 0) {
		fprintf(stderr, "setuid-exec: %s\n", strerror(errno));
		return 100 + errno;
	}
	execve(argv[3], argv + 3, environ);
	fprintf(stderr, "setuid-exec: execve %s: %s\n", argv[3], strerror(errno));
	return 100 + errno;
}
