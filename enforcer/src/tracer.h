/* The PID-1 event loop: reaps and serves every ptrace stop of the workload. */
#ifndef INLAY_TRACER_H
#define INLAY_TRACER_H

#include <stdbool.h>
#include <sys/types.h>

/* The options every tracee is seized with (see docs/enforcer.md: no TRACEEXIT, no syscall
 * stops: an exit stop would cost a stop per thread for nothing). */
#define TRACER_PTRACE_OPTIONS                                                                   \
	(PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK |   \
	 PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD)

struct tracer_result {
	int exit_code;  /* what the enforcer exits with: the status, or 128 + signal */
	int status;     /* the workload's exit status, or -1 */
	int signal;     /* the signal that killed it, or 0 */
};

/* Runs until the main child `child` ends, reaping every child and serving every stop (signals
 * are forwarded by sigfwd, not here). Must run on the thread that seized the child. traced: the child
 * was seized (emits `enforcer.start` at its first trapped syscall, which proves the filter is on).
 * Only returns; never exits. */
void tracer_run(pid_t child, bool traced, struct tracer_result *out);

#endif
