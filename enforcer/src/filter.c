/* Builds and installs the prefilter described in filter.h.
 *
 * Layout (cBPF jumps are forward-only and relative, so every rule is a self-contained block that
 * a non-matching syscall number skips in one jump):
 *
 *   ld arch;  jne NATIVE            -> ERRNO(ENOSYS)   non-native ABIs (ia32, arm32) are refused
 *   ld nr;    [x86_64] jge X32_BIT  -> ERRNO(ENOSYS)   x32 shares AUDIT_ARCH_X86_64
 *   jeq execve/execveat             -> TRACE
 *   jeq clone: args[0] & CLONE_UNTRACED -> ERRNO(EPERM)
 *   jeq clone3                      -> ERRNO(ENOSYS)   libc falls back to clone, whose flags we see
 *   jeq seccomp: op == SET_MODE_FILTER && flags & NEW_LISTENER -> ERRNO(EPERM)
 *   jeq ptrace, process_vm_writev   -> ERRNO(EPERM)
 *   jeq io_uring_setup              -> ERRNO(ENOSYS)
 *   jeq kill-family: target is the enforcer -> ERRNO(EPERM)
 *       kill/tkill/rt_sigqueueinfo of another positive pid with a real signal,
 *       pidfd_open(PIDFD_THREAD), pidfd_send_signal with a real signal -> TRACE (sigguard.c)
 *   jeq setpgid: into the enforcer's process group -> ERRNO(EPERM)
 *   ret ALLOW
 *
 * Only clone, seccomp, setpgid and the kill family load an argument; every other syscall is
 * decided from arch and nr alone, which the kernel caches as "always allow". */
#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rtctl.h"
#include "sigguard.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "inlay-enforcer supports x86_64 and aarch64"
#endif

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif

/* Both supported arches are little-endian: the low 32 bits of an argument come first. */
#define ARG_LO(i) ((uint32_t)offsetof(struct seccomp_data, args[i]))
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define ARG_HI(i) ((uint32_t)offsetof(struct seccomp_data, args[i]) + 4u)
#define MAX_INSNS 256

struct prog {
	struct sock_filter insn[MAX_INSNS];
	unsigned n;
	int overflow;
};

static void emit(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->n >= MAX_INSNS) {
		p->overflow = 1;
		return;
	}
	p->insn[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void emit_ret(struct prog *p, uint32_t action)
{
	emit(p, BPF_RET | BPF_K, 0, 0, action);
}

/* A block for syscall nr: "jeq nr, 0, len(body)" then body. The body is emitted by the caller
 * between rule_begin and rule_end; rule_end patches the skip distance. */
static unsigned rule_begin(struct prog *p, int nr)
{
	unsigned at = p->n;
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint32_t)nr);
	return at;
}

static void rule_end(struct prog *p, unsigned at)
{
	unsigned len = p->n - at - 1;
	if (!p->overflow && len <= 255)
		p->insn[at].jf = (uint8_t)len;
	else
		p->overflow = 1;
}

static void rule_ret(struct prog *p, int nr, uint32_t action)
{
	unsigned at = rule_begin(p, nr);
	emit_ret(p, action);
	rule_end(p, at);
}

/* Refuses the syscall when argument argi (a pid, compared as 32 bits like the kernel's pid_t)
 * equals one of vals[0..n). */
static void rule_pid_arg(struct prog *p, int nr, unsigned argi, const uint32_t *vals, unsigned n)
{
	unsigned at = rule_begin(p, nr);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(argi));
	for (unsigned i = 0; i < n; i++)
		/* on a match jump over the remaining compares and the ALLOW to the ERRNO */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(n - i), 0, vals[i]);
	emit_ret(p, SECCOMP_RET_ALLOW);
	emit_ret(p, RET_ERRNO(EPERM));
	rule_end(p, at);
}

#define RET_TRACE_SIG (SECCOMP_RET_TRACE | SIGGUARD_TRACE_DATA)

/* kill, tkill, rt_sigqueueinfo (pid first, signal second): ERRNO(EPERM) when the pid equals one
 * of vals[0..n); ALLOW when it is 0 or negative (a group other than the enforcer's: threads share
 * their group) or the signal is 0 (a probe delivers nothing); otherwise TRACE, since the pid may
 * be the tid of one of the enforcer's other threads, which signals the enforcer as well
 * (sigguard.c asks). BPF has no signed compare: a negative pid_t is >= 0x80000000. */
static void rule_signal(struct prog *p, int nr, const uint32_t *vals, unsigned n)
{
	unsigned at = rule_begin(p, nr);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(0));
	for (unsigned i = 0; i < n; i++)
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(n + 5 - i), 0, vals[i]); /* -> ERRNO */
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 0);                                /* -> ALLOW */
	emit(p, BPF_JMP | BPF_JGE | BPF_K, 3, 0, 0x80000000u);                      /* -> ALLOW */
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(1));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0); /* -> ALLOW */
	emit_ret(p, RET_TRACE_SIG);
	emit_ret(p, SECCOMP_RET_ALLOW);
	emit_ret(p, RET_ERRNO(EPERM));
	rule_end(p, at);
}

/* TRACE when (low 32 bits of) argument argi has any bit of mask set; otherwise ALLOW. */
static void rule_arg_jset(struct prog *p, int nr, unsigned argi, uint32_t mask)
{
	unsigned at = rule_begin(p, nr);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(argi));
	emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, mask);
	emit_ret(p, SECCOMP_RET_TRACE);
	emit_ret(p, SECCOMP_RET_ALLOW);
	rule_end(p, at);
}

/* TRACE when the 64-bit argument argi is non-zero (a pointer that is set); otherwise ALLOW. */
static void rule_arg_nonzero(struct prog *p, int nr, unsigned argi)
{
	unsigned at = rule_begin(p, nr);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(argi));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_HI(argi));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
	emit_ret(p, SECCOMP_RET_ALLOW);
	emit_ret(p, SECCOMP_RET_TRACE);
	rule_end(p, at);
}

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

/* The runtime controls' traps: only the groups the bundle needs (rtctl.h). Opens are trapped
 * only when their flags ask for writing, so read-only opens never stop. */
static void build_runtime(struct prog *p, unsigned traps)
{
	if (traps & TRAP_FILES) {
		const uint32_t write_flags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
		rule_arg_jset(p, __NR_openat, 2, write_flags);
#ifdef __NR_open
		rule_arg_jset(p, __NR_open, 1, write_flags);
		static const int legacy[] = { __NR_creat, __NR_rename, __NR_link, __NR_symlink, __NR_unlink, __NR_rmdir,
					      __NR_mkdir, __NR_mknod, __NR_chmod, __NR_chown, __NR_lchown };
		for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
			rule_ret(p, legacy[i], SECCOMP_RET_TRACE);
#endif
		static const int calls[] = { __NR_openat2, __NR_truncate, __NR_renameat, __NR_renameat2, __NR_linkat,
					     __NR_symlinkat, __NR_unlinkat, __NR_mkdirat, __NR_mknodat, __NR_fchmodat,
					     __NR_fchmodat2, __NR_fchownat, __NR_fchmod, __NR_fchown };
		for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
			rule_ret(p, calls[i], SECCOMP_RET_TRACE);
	}
	if (traps & TRAP_NET_CONNECT) {
		rule_ret(p, __NR_connect, SECCOMP_RET_TRACE);
		rule_arg_nonzero(p, __NR_sendto, 4);
		rule_ret(p, __NR_sendmsg, SECCOMP_RET_TRACE);
		rule_ret(p, __NR_sendmmsg, SECCOMP_RET_TRACE);
	}
	if (traps & TRAP_NET_BIND) {
		rule_ret(p, __NR_bind, SECCOMP_RET_TRACE);
		rule_ret(p, __NR_listen, SECCOMP_RET_TRACE);
	}
	if (traps & TRAP_PRIVILEGE) {
		static const int calls[] = { __NR_setuid,    __NR_setgid,    __NR_setreuid, __NR_setregid, __NR_setresuid,
					     __NR_setresgid, __NR_setfsuid,  __NR_setfsgid, __NR_setgroups, __NR_capset };
		for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
			rule_ret(p, calls[i], SECCOMP_RET_TRACE);
	}
}

static void build(struct prog *p, const struct filter_config *cfg)
{
	p->n = 0;
	p->overflow = 0;
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, arch));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, NATIVE_ARCH);
	emit_ret(p, RET_ERRNO(ENOSYS));
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0x40000000u); /* __X32_SYSCALL_BIT */
	emit_ret(p, RET_ERRNO(ENOSYS));
#endif
	rule_ret(p, __NR_execve, SECCOMP_RET_TRACE);
	rule_ret(p, __NR_execveat, SECCOMP_RET_TRACE);

	unsigned at = rule_begin(p, __NR_clone);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(0));
	emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, CLONE_UNTRACED);
	emit_ret(p, RET_ERRNO(EPERM));
	emit_ret(p, SECCOMP_RET_ALLOW);
	rule_end(p, at);

	rule_ret(p, __NR_clone3, RET_ERRNO(ENOSYS));

	/* op and flags are unsigned int in the kernel: the high words are ignored there, so here. */
	at = rule_begin(p, __NR_seccomp);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(0));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, SECCOMP_SET_MODE_FILTER);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(1));
	emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, (uint32_t)SECCOMP_FILTER_FLAG_NEW_LISTENER);
	emit_ret(p, RET_ERRNO(EPERM));
	emit_ret(p, SECCOMP_RET_ALLOW);
	rule_end(p, at);

	rule_ret(p, __NR_ptrace, RET_ERRNO(EPERM));
	rule_ret(p, __NR_process_vm_writev, RET_ERRNO(EPERM));
	rule_ret(p, __NR_io_uring_setup, RET_ERRNO(ENOSYS));

	uint32_t self = (uint32_t)cfg->enforcer_pid;
	uint32_t kill_vals[3] = { self, (uint32_t)-cfg->enforcer_pgid, 0xffffffffu };
	/* -1 means "every process I may signal" and includes the enforcer only when it is not
	 * PID 1 (the kernel never delivers kill(-1) to the caller's init). */
	rule_signal(p, __NR_kill, kill_vals, cfg->wrapper ? 3u : 2u);
	rule_signal(p, __NR_tkill, &self, 1);
	rule_signal(p, __NR_rt_sigqueueinfo, &self, 1);
	/* The first argument is the thread group and the kernel refuses a tid outside it (ESRCH),
	 * so this covers every thread of the enforcer, decided here: Go preempts with tgkill. */
	rule_pid_arg(p, __NR_tgkill, 0, &self, 1);
	rule_pid_arg(p, __NR_rt_tgsigqueueinfo, 0, &self, 1);

	/* pidfd_open: the enforcer's pid is refused here; PIDFD_THREAD (6.9+) opens any tid, so
	 * that is asked of the tracer. Without it a tid that is not a group leader is EINVAL. */
	at = rule_begin(p, __NR_pidfd_open);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(0));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 4, 0, self); /* -> ERRNO */
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(1));
	emit(p, BPF_JMP | BPF_JSET | BPF_K, 1, 0, (uint32_t)PIDFD_THREAD); /* -> TRACE */
	emit_ret(p, SECCOMP_RET_ALLOW);
	emit_ret(p, RET_TRACE_SIG);
	emit_ret(p, RET_ERRNO(EPERM));
	rule_end(p, at);

	/* pidfd_send_signal names its target by a file (a pidfd or a /proc/<pid> directory), which
	 * BPF cannot see: every real signal is asked of the tracer; signal 0 delivers nothing. */
	at = rule_begin(p, __NR_pidfd_send_signal);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(1));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0); /* -> ALLOW */
	emit_ret(p, RET_TRACE_SIG);
	emit_ret(p, SECCOMP_RET_ALLOW);
	rule_end(p, at);

	/* A workload process that joined the enforcer's group would reach it with kill(0, sig) or
	 * a terminal's signals; the workload starts in a group of its own and may not join ours. */
	uint32_t pgid = (uint32_t)cfg->enforcer_pgid;
	rule_pid_arg(p, __NR_setpgid, 1, &pgid, 1);
	build_runtime(p, cfg->traps);

	emit_ret(p, SECCOMP_RET_ALLOW);
}

int filter_probe(void)
{
	uint32_t action = SECCOMP_RET_TRACE;
	/* Tolerated failures are the answer itself: ENOSYS/EPERM (blocked by the runtime's policy),
	 * EOPNOTSUPP (action unknown to this kernel), EINVAL (kernel older than 4.14). */
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
		return -1;
	return 0;
}

int filter_install(const struct filter_config *cfg)
{
	struct prog p;
	build(&p, cfg);
	if (p.overflow) {
		errno = E2BIG;
		return -1;
	}
	struct sock_fprog fprog = { .len = (unsigned short)p.n, .filter = p.insn };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog) == 0)
		return 0;
	/* EINVAL: a kernel older than 4.17 does not know SPEC_ALLOW; install without it. */
	if (errno != EINVAL)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}
