/* PID-1 signal forwarding on its own thread, so the tracer thread can block in wait4 alone. */
#ifndef INLAY_SIGFWD_H
#define INLAY_SIGFWD_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* Starts a thread that takes every signal in `set` except SIGCHLD (sigwaitinfo) and sends it to
 * `child`, or to its process group when `pgroup`. `set` must be blocked in every thread (the
 * caller's mask is inherited). SIGCHLD stays blocked and pending: wait4 needs no wake-up signal.
 * The thread only calls kill(), never ptrace, and runs until the process exits.
 * Returns 0 or an errno value (pthread_create's). */
int sigfwd_start(pid_t child, bool pgroup, const sigset_t *set);

#endif
