/* The event loop (memo §2.4), single-threaded: every ptrace request must come from the thread
 * that seized the tracees.
 *
 *   loop: block in wait4(-1, __WALL) -> dispatch the status.
 *
 * One syscall per stop to learn about it: signals are forwarded by another thread (sigfwd.c),
 * so nothing else needs to wake this one, and SIGCHLD stays blocked and unread.
 *
 * No per-tracee state is needed to tell stops apart: with PTRACE_SEIZE every stop says what it
 * is (status >> 16). A new child's first stop is PTRACE_EVENT_STOP with SIGTRAP whether or not
 * its parent's fork event was handled yet, so the order of the two does not matter; a group-stop
 * is PTRACE_EVENT_STOP with the stopping signal and is parked with PTRACE_LISTEN. */
#include "tracer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "exec_hint.h"
#include "json.h"
#include "policy.h"
#include "rtctl.h"
#include "sigguard.h"
#include "syscall_deny.h"
#include "verdict.h"

static pid_t main_child;
static bool start_reported;

static void resume(pid_t tid, int sig)
{
	/* ESRCH: the tracee was killed meanwhile (SIGKILL ends any stop); its exit status follows. */
	if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig) < 0 && errno != ESRCH)
		fprintf(stderr, "inlay-enforcer: cannot resume %d: %s\n", (int)tid, strerror(errno));
}

static void report_start(void)
{
	struct utsname u;
	char detail[512];
	struct json j;
	json_init(&j, detail, sizeof detail);
	json_begin_object(&j);
	json_key(&j, "arch");
	json_str(&j, syscall_arch_name());
	json_key(&j, "kernel");
	json_str(&j, uname(&u) == 0 ? u.release : "unknown");
	json_key(&j, "workload_pid");
	json_int(&j, main_child);
	json_end_object(&j);
	struct event ev = {
		.kind = "enforcer.start", .severity = "info", .action = "info", .mode = "none", .rule = "",
		.reason = "protection is active: the workload runs under the seccomp prefilter and the tracer",
		.detail_json = detail,
	};
	events_emit(&ev);
	start_reported = true;
}

/* Returns true when the syscall's exit stop is wanted (a runtime control checks its result). */
static bool on_seccomp_stop(pid_t tid)
{
	if (!start_reported && tid == main_child)
		report_start();
	/* A hint is only for the exec stop right after this thread's exec entry. Any earlier one
	 * belongs to an exec that failed, and an entry that cannot resolve its name leaves none. */
	exec_hint_drop(tid);
	bool runtime = rtctl_traps() != 0;
	struct __ptrace_syscall_info info;
	/* Needs 5.3+. On failure (EIO/EINVAL on older kernels) the advisory exec check is skipped
	 * (the exec stop still judges the exec); a runtime-control or kill-family syscall is failed
	 * with EPERM instead, since nothing else would judge it. The kill family is told apart by the
	 * filter's SECCOMP_RET_DATA, which PTRACE_GETEVENTMSG has on every kernel. Without the exec
	 * check or runtime traps, exec stops are the only ones that skip the call to keep them cheap:
	 * the kill family's TRACE carries its data, the exec's does not. */
	unsigned long data = 0;
	if (!verdict_active() && !runtime) {
		/* ESRCH: killed meanwhile (its exit follows); the 0 left in data resumes it as an exec. */
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &data) < 0 && errno != ESRCH)
			fprintf(stderr, "inlay-enforcer: cannot read the stop of %d: %s\n", (int)tid, strerror(errno));
		if (data != SIGGUARD_TRACE_DATA)
			return false;
	}
	long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info);
	if (n <= 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
		if (data == 0 && ptrace(PTRACE_GETEVENTMSG, tid, NULL, &data) < 0 && errno != ESRCH)
			fprintf(stderr, "inlay-enforcer: cannot read the stop of %d: %s\n", (int)tid, strerror(errno));
		if ((runtime || data == SIGGUARD_TRACE_DATA) && syscall_deny(tid, EPERM) < 0 && errno != ESRCH)
			fprintf(stderr, "inlay-enforcer: cannot fail a syscall of %d: %s\n", (int)tid, strerror(errno));
		return false;
	}
	uint64_t nr = info.seccomp.nr;
	bool want_exit = false;
	int err;
	if (nr == (uint64_t)__NR_execve || nr == (uint64_t)__NR_execveat)
		err = verdict_on_entry(tid, nr, info.seccomp.args);
	else if (info.seccomp.ret_data == SIGGUARD_TRACE_DATA && sigguard_handles(nr))
		/* Refusals are not reported, like the BPF refusals of the same family: the caller
		 * gets EPERM, and an event per attempt would let the workload flood the stream. */
		err = sigguard_on_entry(tid, nr, info.seccomp.args);
	else
		err = rtctl_on_entry(tid, nr, info.seccomp.args, &want_exit);
	if (err != 0 && syscall_deny(tid, err) < 0 && errno != ESRCH)
		fprintf(stderr, "inlay-enforcer: cannot fail a syscall of %d: %s\n", (int)tid, strerror(errno));
	return err == 0 && want_exit;
}

/* A syscall-exit stop we asked for: the runtime control checks what the kernel did. */
static void on_syscall_exit(pid_t tid)
{
	struct __ptrace_syscall_info info;
	long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info);
	bool kill_it;
	if (n <= 0 || info.op != PTRACE_SYSCALL_INFO_EXIT) {
		rtctl_drop(tid);
		kill_it = false;
	} else {
		kill_it = rtctl_on_exit(tid, info.exit.rval, info.exit.is_error != 0);
	}
	if (kill_it) {
		/* Still stopped at the exit: it cannot use the result. ESRCH: already dead. */
		if (kill(tid, SIGKILL) < 0 && errno != ESRCH)
			fprintf(stderr, "inlay-enforcer: cannot kill %d: %s\n", (int)tid, strerror(errno));
		return;
	}
	resume(tid, 0);
}

static void on_stop(pid_t tid, int status)
{
	int sig = WSTOPSIG(status);
	switch ((unsigned)status >> 16) {
	case PTRACE_EVENT_SECCOMP:
		if (on_seccomp_stop(tid)) {
			/* ESRCH: killed meanwhile; its exit status follows. */
			if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0 && errno != ESRCH)
				fprintf(stderr, "inlay-enforcer: cannot resume %d: %s\n", (int)tid, strerror(errno));
		} else {
			resume(tid, 0);
		}
		break;
	case PTRACE_EVENT_EXEC:
		if (verdict_on_exec(tid)) {
			/* Still stopped: no instruction of the new image has run. ESRCH: already dead. */
			if (kill(tid, SIGKILL) < 0 && errno != ESRCH)
				fprintf(stderr, "inlay-enforcer: cannot kill %d: %s\n", (int)tid, strerror(errno));
			break;
		}
		resume(tid, 0);
		break;
	case PTRACE_EVENT_STOP:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			/* group-stop: stay stopped but keep reporting (SIGCONT, SIGKILL) */
			if (ptrace(PTRACE_LISTEN, tid, NULL, NULL) < 0 && errno != ESRCH)
				fprintf(stderr, "inlay-enforcer: cannot park %d: %s\n", (int)tid, strerror(errno));
		} else {
			resume(tid, 0); /* a new tracee's first stop */
		}
		break;
	case 0:
		/* SIGTRAP|0x80: the syscall-exit stop a runtime control asked for. Anything else is a
		 * signal-delivery stop: deliver the signal, whatever it is (SIGSTOP included; it then
		 * becomes a group-stop). */
		if (sig == (SIGTRAP | 0x80))
			on_syscall_exit(tid);
		else
			resume(tid, sig);
		break;
	default:
		/* FORK, VFORK, CLONE, VFORK_DONE: the new tracee is auto-attached and reports itself. */
		resume(tid, 0);
		break;
	}
}

void tracer_run(pid_t child, bool traced, struct tracer_result *out)
{
	main_child = child;
	start_reported = !traced;
	out->exit_code = 125;
	out->status = -1;
	out->signal = 0;
	for (;;) {
		int status;
		pid_t tid = wait4(-1, &status, __WALL, NULL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			/* ECHILD: nothing left to wait for, so the child's status was collected. */
			if (errno != ECHILD)
				fprintf(stderr, "inlay-enforcer: wait4: %s\n", strerror(errno));
			return;
		}
		if (WIFSTOPPED(status)) {
			policy_poll(); /* a console policy applied or reverted: in force from this stop */
			on_stop(tid, status);
			continue;
		}
		exec_hint_drop(tid);
		rtctl_drop(tid);
		if (tid == child) {
			if (WIFEXITED(status)) {
				out->status = WEXITSTATUS(status);
				out->exit_code = out->status;
			} else if (WIFSIGNALED(status)) {
				out->signal = WTERMSIG(status);
				out->exit_code = 128 + out->signal;
			}
			return;
		}
	}
}
