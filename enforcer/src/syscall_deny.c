/* Skipping a trapped syscall with an error of our choice.
 *
 * x86_64: the entry code runs the syscall numbered orig_rax and leaves rax alone when that is
 * -1, and seccomp skips the call when the tracer set a negative number; so orig_rax = -1 and
 * rax = -err. Two POKEUSERs write exactly those words.
 *
 * aarch64: writing x8 has no effect after entry. The syscall number lives apart and is set with
 * PTRACE_SETREGSET(NT_ARM_SYSTEM_CALL); -1 (NO_SYSCALL) skips the call and x0, set through
 * NT_PRSTATUS, becomes the return value. Compiled into the aarch64 binary; exercised on a real
 * arm64 kernel by a later issue (docs/enforcer.md). */
#include "syscall_deny.h"

#include <errno.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#if defined(__aarch64__)
#include <asm/ptrace.h>
#include <elf.h>
#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif
#endif

const char *syscall_arch_name(void)
{
#if defined(__x86_64__)
	return "x86_64";
#elif defined(__aarch64__)
	return "aarch64";
#endif
}

int syscall_deny(pid_t tid, int err)
{
#if defined(__x86_64__)
	if (ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, orig_rax), (void *)-1L) < 0)
		return -1;
	return (int)ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, rax),
			   (void *)(long)-err);
#elif defined(__aarch64__)
	int nr = -1;
	struct iovec iov = { &nr, sizeof nr };
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &iov) < 0)
		return -1;
	struct user_pt_regs regs;
	iov.iov_base = &regs;
	iov.iov_len = sizeof regs;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -1;
	regs.regs[0] = (unsigned long long)(long long)-err;
	iov.iov_base = &regs;
	iov.iov_len = sizeof regs;
	return (int)ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov);
#endif
}
