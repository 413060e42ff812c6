/* Signals aimed at the enforcer that BPF cannot judge from a register value alone.
 *
 * The prefilter refuses the kill family aimed at the enforcer's pid in BPF. That does not cover
 * the enforcer's other threads: kill(tid), tkill(tid) and rt_sigqueueinfo(tid) with the tid of
 * any of its threads signal it too, and those tids are not all known when the filter is built
 * (the signal forwarder starts after the fork). Nor does it cover pidfd_send_signal, whose
 * target is a file (a pidfd, or a /proc/<pid> directory) BPF cannot see. So the prefilter traps
 * the rare members of the family (kill/tkill/rt_sigqueueinfo with a positive target other than
 * the enforcer's pid and a real signal, pidfd_open with PIDFD_THREAD, pidfd_send_signal with a
 * real signal) and the tracer asks here. tgkill and rt_tgsigqueueinfo stay decided in BPF: their
 * first argument is the thread group, and the kernel refuses a tid outside it, so "tgid is the
 * enforcer's pid" already covers every one of its threads. Tracer thread only. */
#ifndef INLAY_SIGGUARD_H
#define INLAY_SIGGUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The SECCOMP_RET_DATA of the filter's TRACE for these syscalls (PTRACE_GETEVENTMSG), so the
 * tracer can tell them apart even where PTRACE_GET_SYSCALL_INFO is missing, and fail closed. */
#define SIGGUARD_TRACE_DATA 0x5347u

/* True for the syscall numbers the prefilter traps on our behalf. */
bool sigguard_handles(uint64_t nr);

/* tid is in the seccomp stop of such a syscall. Returns 0 to let it run, or the errno to fail it
 * with: EPERM when it would signal an enforcer thread, or when that cannot be ruled out. */
int sigguard_on_entry(pid_t tid, uint64_t nr, const uint64_t args[6]);

#endif
