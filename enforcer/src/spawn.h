/* Starting the workload: PATH lookup, the child's set-up and the hand-over to the tracer. */
#ifndef INLAY_SPAWN_H
#define INLAY_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct filter_config;

/* Finds prog like execvp(3): a name with a '/' is used as is, otherwise each entry of PATH (of
 * the environment the workload gets; unset: the runtimes' default list) is tried. Returns 0 and
 * the path in out, or 127 (not found) / 126 (found but not executable, or too long) after one
 * line on stderr naming the program and the reason. */
int spawn_resolve(const char *prog, char *out, size_t cap);

struct spawn {
	pid_t pid;
	int go_fd; /* write end of the pipe the child waits on; owned */
};

/* Forks the child. It makes itself a process-group leader, takes the terminal's foreground when
 * stdin is one, and then blocks until spawn_release. child_mask: the signal mask to restore
 * before execve. Returns 0 or -1 with errno (fork failed). */
int spawn_start(const char *path, char *const argv[], const sigset_t *child_mask,
		const struct filter_config *fc, struct spawn *sp);

/* Lets the child go on: traced = set PR_SET_NO_NEW_PRIVS, install the filter, execve; otherwise
 * execve untraced (fail-open). Closes go_fd. If the filter cannot be installed the child prints
 * why and exits 125; if execve fails it prints why and exits 127 (ENOENT) or 126. Returns 0 or
 * -1 with errno (EPIPE: the child is gone). */
int spawn_release(struct spawn *sp, bool traced);

/* Kills a child that must not run (SIGKILL) and reaps it. */
void spawn_abort(struct spawn *sp);

/* Replaces the enforcer with path (dormancy): restores child_mask and the default dispositions
 * first. Returns only on failure, with the exit code (126/127) after a line on stderr. */
int spawn_exec_direct(const char *path, char *const argv[], const sigset_t *child_mask);

#endif
