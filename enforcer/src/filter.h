/* The seccomp-bpf prefilter installed in the workload right before its first execve.
 *
 * It traps execve/execveat, the runtime controls' syscalls and the rare members of the kill
 * family that may name an enforcer thread (SECCOMP_RET_TRACE), refuses the syscalls that would
 * let a tracee escape the tracer (ERRNO, decided in BPF, no stop), and allows everything else
 * without loading an argument, so the kernel's constant-action cache (5.11+) answers untrapped syscalls
 * without running the program. docs/enforcer.md lists every rule and why. */
#ifndef INLAY_FILTER_H
#define INLAY_FILTER_H

#include <stdbool.h>
#include <sys/types.h>

struct filter_config {
	pid_t enforcer_pid;  /* signals aimed at it are refused (EPERM) */
	pid_t enforcer_pgid; /* kill(-pgid) and setpgid into it are refused too */
	bool wrapper;        /* not PID 1: kill(-1) would reach the enforcer, refuse it as well */
	unsigned traps;      /* TRAP_* of rtctl.h: the runtime controls' syscalls to trap */
};

/* 0 when this kernel and the seccomp policy around us let a process install a filter that
 * returns SECCOMP_RET_TRACE; otherwise -1 with errno (ENOSYS, EPERM, EOPNOTSUPP...). Changes
 * nothing in the caller. */
int filter_probe(void);

/* Installs the filter on the calling thread (PR_SET_NO_NEW_PRIVS must already be set). Uses
 * SECCOMP_FILTER_FLAG_SPEC_ALLOW when the kernel knows it (see docs/enforcer.md). Returns 0, or
 * -1 with errno from seccomp(2). */
int filter_install(const struct filter_config *cfg);

#endif
