/* Attempts to escape or disable the tracer from inside the workload.
 *
 *   escape untraced-clone FILE   clone(CLONE_UNTRACED) and execve FILE in the clone; prints
 *                                "clone=OK|<errno name>" and "child-exit=N" when it ran
 *   escape attack PID|parent     ptrace(ATTACH), kill(PID, 0), process_vm_writev (0 bytes),
 *                                open /proc/PID/mem for writing, seccomp NEW_LISTENER,
 *                                io_uring_setup, clone3, and on x86_64 getpid through the ia32
 *                                entry (int $0x80): prints "NAME=OK|<errno name>" each
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

int main(int argc, char **argv)
{
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
