/* Blocking every signal, 32-34 included.
 *
 * musl keeps signals 32-34 for itself (pthread_cancel and __synccall; glibc keeps 32-33):
 * sigfillset leaves them out, sigaddset refuses them, and pthread_sigmask clears them from the
 * old mask it returns. Left unblocked they keep their default action (terminate): `kill -34`
 * (SIGRTMIN as glibc and Go number it, e.g. `podman kill --signal RTMIN`) killed a non-PID-1
 * enforcer and with it the workload (PTRACE_O_EXITKILL), and as PID 1 the kernel dropped it
 * (init's default-action signals are ignored), so it was never forwarded. The enforcer calls
 * neither pthread_cancel nor any user of __synccall (set*id, setrlimit's fallback), so it blocks
 * these three like every other signal, through the raw syscall. */
#ifndef INLAY_SIGMASK_H
#define INLAY_SIGMASK_H

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* sigfillset plus 32-34, set in the kernel's layout (bit N-1 of an array of longs). */
static inline void sigmask_fill(sigset_t *set)
{
	sigfillset(set);
	unsigned long *w = (unsigned long *)(void *)set;
	for (unsigned s = 32; s <= 34; s++)
		w[(s - 1) / (8 * sizeof *w)] |= 1UL << ((s - 1) % (8 * sizeof *w));
}

/* rt_sigprocmask(SIG_SETMASK) of the calling thread, without libc's filtering of 32-34 in `set`
 * or in `old` (which must be NULL or a full sigset_t). Returns 0, or -1 with errno: EFAULT or
 * EINVAL only, which valid pointers rule out. */
static inline int sigmask_set(const sigset_t *set, sigset_t *old)
{
	if (old)
		sigemptyset(old);
	return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, set, old, (size_t)(_NSIG / 8));
}

/* First statement of every thread the enforcer starts: whatever the creator's mask, musl's
 * pthread_create starts the new thread with 33 and 34 unblocked (seen in /proc/PID/task/N/status;
 * musl wants SIGCANCEL deliverable there). Blocks every signal in the calling thread. A signal of
 * 33-34 arriving in the few instructions before this call can still take its default action
 * there: the threads start while the enforcer starts up. */
static inline void sigmask_block_all(void)
{
	sigset_t all;
	sigmask_fill(&all);
	(void)sigmask_set(&all, NULL); /* cannot fail: valid pointers */
}

#endif
