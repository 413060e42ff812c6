/* Failing a syscall from its seccomp stop, per architecture (memo §2.6). */
#ifndef INLAY_SYSCALL_DENY_H
#define INLAY_SYSCALL_DENY_H

#include <sys/types.h>

/* tid is in a PTRACE_EVENT_SECCOMP stop. Makes the kernel skip the syscall and return -err to
 * the caller once tid is resumed. Returns 0 or -1 with errno from ptrace (ESRCH: tid died). */
int syscall_deny(pid_t tid, int err);

/* "x86_64" or "aarch64": the architecture this enforcer was built for. */
const char *syscall_arch_name(void);

#endif
