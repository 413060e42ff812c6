/* Workload start-up (see spawn.h).
 *
 * The child is a fork of a process that may already run the event writer thread, so between
 * fork and execve it only makes raw syscalls and writes its messages with write(2). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/syscall.h>

#include "filter.h"

extern char **environ;

/* What runc and the shells use when PATH is unset. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void say(const char *a, const char *b, const char *c)
{
	/* Best effort: stderr may be closed; nothing else can report it. */
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "inlay-enforcer: %s%s%s\n", a, b, c);
	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void say_exec_error(const char *path, int err)
{
	char why[96];
	snprintf(why, sizeof why, ": %s", strerror(err));
	say("cannot execute ", path, why);
}

static int exec_failure_code(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

int spawn_resolve(const char *prog, char *out, size_t cap)
{
	if (prog[0] == '\0') {
		say("cannot execute an empty program name", "", "");
		return 127;
	}
	if (strchr(prog, '/')) {
		if (strlen(prog) >= cap) {
			say("cannot execute ", prog, ": name too long");
			return 126;
		}
		strcpy(out, prog);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = DEFAULT_PATH;
	bool denied = false;
	for (const char *p = path;; ) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		/* an empty entry means the current directory, as in execvp */
		int n = dlen ? snprintf(out, cap, "%.*s/%s", (int)dlen, p, prog) : snprintf(out, cap, "%s", prog);
		if (n > 0 && (size_t)n < cap) {
			struct stat st;
			if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
				if (access(out, X_OK) == 0)
					return 0;
				denied = true;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (denied) {
		say("cannot execute ", prog, ": permission denied (found on PATH, not executable)");
		return 126;
	}
	say("cannot execute ", prog, ": not found on PATH");
	return 127;
}

static void reset_signals(const sigset_t *mask)
{
	/* The enforcer ignores SIGTTIN/SIGTTOU; the workload gets the defaults and the mask the
	 * enforcer was started with. */
	signal(SIGTTIN, SIG_DFL);
	signal(SIGTTOU, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
}

/* CAP_SYS_PTRACE would let a root workload open /proc/<enforcer>/mem for writing despite the
 * enforcer being non-dumpable. The workload cannot use ptrace under the filter anyway, so the
 * capability is dropped from every set. The permitted set needs no privilege to shrink, and with
 * no_new_privs an exec never grows it again; the bounding set needs CAP_SETPCAP (EPERM without
 * it is tolerated: the permitted set already decides). Returns 0 or -1 with errno. */
static int drop_ptrace_capability(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	unsigned idx = CAP_SYS_PTRACE / 32, bit = 1u << (CAP_SYS_PTRACE % 32);
	d[idx].effective &= ~bit;
	d[idx].permitted &= ~bit;
	d[idx].inheritable &= ~bit;
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) < 0 && errno != EPERM)
		return -1;
	/* EINVAL: no ambient capabilities on this kernel (before 4.3) */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_SYS_PTRACE, 0, 0) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

static _Noreturn void child_main(int go_fd, const char *path, char *const argv[],
				 const sigset_t *mask, const struct filter_config *fc)
{
	if (setpgid(0, 0) < 0) {
		say("cannot create the workload's process group: ", strerror(errno), "");
		_exit(125);
	}
	/* Foreground the new group on the terminal, as a shell would. ENOTTY/ENXIO: stdin is no
	 * terminal (the usual case in a container); EBADF: stdin is closed. Anything else is a real
	 * failure of job control set-up. SIGTTOU is still ignored here, so this cannot stop us. */
	if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY && errno != ENXIO && errno != EBADF) {
		say("cannot give the terminal to the workload: ", strerror(errno), "");
		_exit(125);
	}
	char cmd = 0;
	ssize_t n;
	do
		n = read(go_fd, &cmd, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(125); /* the enforcer died or refused: never run unsupervised */
	close(go_fd);
	reset_signals(mask);
	if (cmd == 'T') {
		if (drop_ptrace_capability() < 0) {
			say("cannot drop CAP_SYS_PTRACE: ", strerror(errno), "");
			_exit(125);
		}
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			say("cannot set no_new_privs: ", strerror(errno), "");
			_exit(125);
		}
		/* Last step before execve, so the filter never sees our own set-up. */
		if (filter_install(fc) < 0) {
			say("cannot install the seccomp filter: ", strerror(errno), "");
			_exit(125);
		}
	}
	execve(path, argv, environ);
	int err = errno;
	say_exec_error(path, err);
	_exit(exec_failure_code(err));
}

int spawn_start(const char *path, char *const argv[], const sigset_t *child_mask,
		const struct filter_config *fc, struct spawn *sp)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(p[0]);
		close(p[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		close(p[1]);
		child_main(p[0], path, argv, child_mask, fc);
	}
	close(p[0]);
	/* Also from the parent, so the group exists before any signal is forwarded to it.
	 * EACCES/ESRCH cannot happen before release; tolerated anyway (the child does it too). */
	(void)setpgid(pid, pid);
	sp->pid = pid;
	sp->go_fd = p[1];
	return 0;
}

int spawn_release(struct spawn *sp, bool traced)
{
	char cmd = traced ? 'T' : 'U';
	ssize_t n;
	do
		n = write(sp->go_fd, &cmd, 1);
	while (n < 0 && errno == EINTR);
	int saved = errno;
	close(sp->go_fd);
	sp->go_fd = -1;
	if (n != 1) {
		errno = n < 0 ? saved : EPIPE;
		return -1;
	}
	return 0;
}

void spawn_abort(struct spawn *sp)
{
	if (sp->go_fd >= 0) {
		close(sp->go_fd);
		sp->go_fd = -1;
	}
	(void)kill(sp->pid, SIGKILL); /* ESRCH: already gone */
	int st;
	while (waitpid(sp->pid, &st, __WALL) < 0 && errno == EINTR)
		;
}

int spawn_exec_direct(const char *path, char *const argv[], const sigset_t *child_mask)
{
	reset_signals(child_mask);
	execve(path, argv, environ);
	int err = errno;
	say_exec_error(path, err);
	return exec_failure_code(err);
}
