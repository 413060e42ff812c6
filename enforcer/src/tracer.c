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
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "exec_hint.h"
#include "json.h"
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

static void on_seccomp_stop(pid_t tid)
{
	if (!start_reported && tid == main_child)
		report_start();
	if (!verdict_active())
		return;
	struct __ptrace_syscall_info info;
	/* Needs 5.3+. On failure (EIO/EINVAL on older kernels) the advisory check is skipped; the
	 * exec stop still judges the exec. */
	long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info);
	if (n <= 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP)
		return;
	int err = verdict_on_entry(tid, info.seccomp.nr, info.seccomp.args);
	if (err != 0 && syscall_deny(tid, err) < 0 && errno != ESRCH)
		fprintf(stderr, "inlay-enforcer: cannot fail the exec of %d: %s\n", (int)tid, strerror(errno));
}

static void on_stop(pid_t tid, int status)
{
	int sig = WSTOPSIG(status);
	switch ((unsigned)status >> 16) {
	case PTRACE_EVENT_SECCOMP:
		on_seccomp_stop(tid);
		resume(tid, 0);
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
		/* A signal-delivery stop: deliver the signal, whatever it is (SIGSTOP included; it then
		 * becomes a group-stop). SIGTRAP|0x80 would be a syscall stop, which we never ask for. */
		resume(tid, sig == (SIGTRAP | 0x80) ? 0 : sig);
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
			on_stop(tid, status);
			continue;
		}
		exec_hint_drop(tid);
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
