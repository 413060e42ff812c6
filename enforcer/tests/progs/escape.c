/* Attempts to escape or disable the tracer from inside the workload.
 *
 *   escape untraced-clone FILE   clone(CLONE_UNTRACED) and execve FILE in the clone; prints
 *                                "clone=OK|<errno name>" and "child-exit=N" when it ran
 *   escape attack PID|parent     ptrace(ATTACH), kill(PID, 0), process_vm_writev (0 bytes),
 *                                open /proc/PID/mem for writing, seccomp NEW_LISTENER,
 *                                io_uring_setup, clone3, and on x86_64 getpid through the ia32
 *                                entry (int $0x80): prints "NAME=OK|<errno name>" each
 *   escape signal parent|child MODE
 *                                signals every thread but the leader of the parent (the
 *                                enforcer) or of a child made here with one extra thread, with
 *                                SIGKILL (SIGSTOP for tkill-stop), by MODE: kill, tkill,
 *                                tkill-stop, sigqueue (rt_sigqueueinfo), pidfd-thread
 *                                (pidfd_open PIDFD_THREAD + pidfd_send_signal), proc-pid and
 *                                proc-tid (open /proc/<pid or tid> + pidfd_send_signal),
 *                                pgrp-join (setpgid into its group; no signal), or all of them;
 *                                prints "threads=N" and "MODE=OK|<errno name>" (the first
 *                                failure over the threads), and for a child "victim=<signal>"
 *   escape legit                 raise, pthread_kill, kill and sigqueue of itself and a
 *                                pidfd_send_signal to its own child: "NAME=OK|<errno name>"
 *
 * Exit status 0 whatever happened: the test reads the lines. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *errname(long rc)
{
	if (rc >= 0)
		return "OK";
	switch (errno) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOSYS: return "ENOSYS";
	case ESRCH: return "ESRCH";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	default: return strerror(errno);
	}
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static long pidfd_send(int fd, int sig)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* Opens path and pidfd_send_signals it; the open's error when it fails. */
static long send_via_open(const char *path, int sig)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long rc = pidfd_send(fd, sig);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* One attack on thread tid of process pid. */
static long attack_one(const char *mode, pid_t pid, pid_t tid)
{
	char path[64];
	if (strcmp(mode, "kill") == 0)
		return kill(tid, SIGKILL);
	if (strcmp(mode, "tkill") == 0)
		return syscall(SYS_tkill, tid, SIGKILL);
	if (strcmp(mode, "tkill-stop") == 0)
		return syscall(SYS_tkill, tid, SIGSTOP);
	if (strcmp(mode, "sigqueue") == 0) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = SIGKILL;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		return syscall(SYS_rt_sigqueueinfo, tid, SIGKILL, &si);
	}
	if (strcmp(mode, "pidfd-thread") == 0) {
		long fd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
		if (fd < 0)
			return -1;
		long rc = pidfd_send((int)fd, SIGKILL);
		int saved = errno;
		close((int)fd);
		errno = saved;
		return rc;
	}
	if (strcmp(mode, "proc-pid") == 0) {
		snprintf(path, sizeof path, "/proc/%d", (int)pid);
		return send_via_open(path, SIGKILL);
	}
	if (strcmp(mode, "proc-tid") == 0) {
		snprintf(path, sizeof path, "/proc/%d", (int)tid);
		return send_via_open(path, SIGKILL);
	}
	if (strcmp(mode, "pgrp-join") == 0) {
		pid_t g = getpgid(pid);
		return g < 0 ? -1 : setpgid(0, g);
	}
	errno = EINVAL;
	return -1;
}

static void *idle(void *unused)
{
	(void)unused;
	for (;;)
		pause();
	return NULL;
}

/* Every tid of pid but pid itself, up to cap. */
static int other_threads(pid_t pid, pid_t *tids, int cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < cap) {
		pid_t t = (pid_t)atoi(e->d_name);
		if (t > 0 && t != pid)
			tids[n++] = t;
	}
	closedir(d);
	return n;
}

static const char *const modes[] = { "kill", "tkill", "tkill-stop", "sigqueue", "pidfd-thread", "proc-pid", "proc-tid", "pgrp-join" };

static int signal_attack(const char *who, const char *mode)
{
	pid_t pid;
	int ready[2];
	if (strcmp(who, "parent") == 0) {
		pid = getppid();
	} else {
		if (pipe(ready) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			pthread_t t;
			if (pthread_create(&t, NULL, idle, NULL) != 0)
				_exit(1);
			/* wait until the thread is listed */
			for (int i = 0; i < 1000; i++) {
				pid_t tids[4];
				if (other_threads(getpid(), tids, 4) > 0)
					break;
				usleep(1000);
			}
			(void)write(ready[1], "x", 1);
			for (;;)
				pause();
		}
		char c;
		(void)read(ready[0], &c, 1);
	}
	pid_t tids[64];
	int n = other_threads(pid, tids, 64);
	printf("threads=%d\n", n);
	fflush(stdout);
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		if (strcmp(mode, "all") != 0 && strcmp(mode, modes[m]) != 0)
			continue;
		const char *res = "OK";
		/* against a child, one shot kills it: the first thread is enough */
		for (int i = 0; i < (pid == getppid() ? n : 1) && i < n; i++) {
			long rc = attack_one(modes[m], pid, tids[i]);
			if (rc < 0) {
				res = errname(rc);
				break;
			}
		}
		printf("%s=%s\n", modes[m], res);
		fflush(stdout);
	}
	if (pid != getppid()) {
		int st;
		kill(pid, SIGKILL); /* a mode that sends nothing (pgrp-join) leaves it running */
		waitpid(pid, &st, 0);
		printf("victim=%d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	}
	return 0;
}

static volatile sig_atomic_t caught;

static void on_usr1(int sig)
{
	(void)sig;
	caught++;
}

/* What a workload does with signals every day still works under the enforcer. */
static int legit(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	printf("raise=%s\n", raise(SIGUSR1) == 0 && caught == 1 ? "OK" : "FAIL"); /* musl: tkill */
	pthread_t self = pthread_self();
	int rc = pthread_kill(self, SIGUSR1); /* musl: tkill */
	printf("pthread_kill=%s\n", rc == 0 && caught == 2 ? "OK" : strerror(rc));
	printf("kill_self=%s\n", kill(getpid(), SIGUSR1) == 0 && caught == 3 ? "OK" : "FAIL");
	union sigval v = { .sival_int = 7 };
	printf("sigqueue_self=%s\n", sigqueue(getpid(), SIGUSR1, v) == 0 && caught == 4 ? "OK" : "FAIL");
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	long fd = syscall(SYS_pidfd_open, c, 0);
	long sent = fd < 0 ? fd : pidfd_send((int)fd, SIGTERM);
	printf("pidfd_child=%s\n", errname(sent));
	if (sent < 0)
		kill(c, SIGKILL); /* so a refusal fails the test instead of hanging it */
	int st;
	waitpid(c, &st, 0);
	printf("child_signal=%d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "signal") == 0)
		return signal_attack(argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "legit") == 0)
		return legit();
	if (argc == 3 && strcmp(argv[1], "untraced-clone") == 0) {
		long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0) {
			char *args[] = { argv[2], "exe-marker", NULL };
			execve(argv[2], args, environ);
			_exit(126);
		}
		printf("clone=%s\n", errname(pid));
		if (pid > 0) {
			int st;
			waitpid((pid_t)pid, &st, 0);
			printf("child-exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "attack") == 0) {
		pid_t t = strcmp(argv[2], "parent") == 0 ? getppid() : (pid_t)atoi(argv[2]);
		printf("target=%d\n", (int)t);
		long rc = ptrace(PTRACE_ATTACH, t, NULL, NULL);
		printf("ptrace=%s\n", errname(rc));
		if (rc == 0) {
			waitpid(t, NULL, __WALL);
			ptrace(PTRACE_DETACH, t, NULL, NULL);
		}
		printf("kill=%s\n", errname(kill(t, 0)));
		char byte = 0;
		struct iovec l = { &byte, 0 }, r = { (void *)4096, 0 };
		printf("process_vm_writev=%s\n", errname(syscall(SYS_process_vm_writev, t, &l, 1, &r, 1, 0)));
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/mem", (int)t);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		printf("proc_mem=%s\n", errname(fd));
		if (fd >= 0)
			close(fd);
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = { 1, &allow };
		long lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		printf("seccomp_listener=%s\n", errname(lfd));
		long ur = syscall(SYS_io_uring_setup, 1, NULL);
		printf("io_uring_setup=%s\n", errname(ur));
		long c3 = syscall(SYS_clone3, NULL, 0);
		printf("clone3=%s\n", errname(c3));
#if defined(__x86_64__)
		long r32 = 20; /* __NR_getpid of i386 */
		__asm__ volatile("int $0x80" : "+a"(r32) : : "memory");
		if (r32 < 0 && r32 > -4096) {
			errno = (int)-r32;
			r32 = -1;
		}
		printf("ia32_getpid=%s\n", errname(r32));
#endif
		return 0;
	}
	fprintf(stderr, "usage: escape untraced-clone FILE | attack PID\n");
	return 2;
}
