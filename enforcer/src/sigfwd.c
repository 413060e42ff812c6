/* Signal forwarding thread (see sigfwd.h). */
#include "sigfwd.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sigmask.h"

static pid_t target;
static bool to_group;
static sigset_t waited;

static void *forward_signals(void *unused)
{
	(void)unused;
	/* 33-34 too (sigmask.h): sigwaitinfo takes them, but between two waits they would kill us. */
	sigmask_block_all();
	pid_t self = getpid();
	for (;;) {
		siginfo_t si;
		int signo = sigwaitinfo(&waited, &si);
		if (signo < 0) {
			/* EINTR: a stop or a signal outside the set interrupted the wait. */
			continue;
		}
		/* A signal from ourselves is the kernel's SIGPIPE or SIGXFSZ for one of our own
		 * writes: never the workload's business. */
		if (si.si_pid == self)
			continue;
		/* ESRCH: the child (or its whole group) is gone; the tracer collects its status. */
		if (kill(to_group ? -target : target, signo) < 0 && errno != ESRCH)
			fprintf(stderr, "inlay-enforcer: cannot forward signal %d: %s\n", signo, strerror(errno));
	}
	return NULL;
}

int sigfwd_start(pid_t child, bool pgroup, const sigset_t *set)
{
	target = child;
	to_group = pgroup;
	waited = *set;
	sigdelset(&waited, SIGCHLD);
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);
	if (rc != 0)
		return rc;
	/* fprintf is the deepest call: 32 KiB is ample and keeps RSS down. */
	rc = pthread_attr_setstacksize(&attr, 32 * 1024);
	pthread_t t;
	if (rc == 0)
		rc = pthread_create(&t, &attr, forward_signals, NULL);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		(void)pthread_detach(t); /* cannot fail for a thread just created */
	return rc;
}
