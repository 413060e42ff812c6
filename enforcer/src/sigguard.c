/* The trapped kill family (see sigguard.h).
 *
 * "Is n one of our threads?" is asked of the kernel at the stop: /proc/self/task/<n> exists
 * exactly when n is a thread of our thread group (procfs checks the group, not only the
 * number). Every enforcer thread is started before the workload is released and none is started
 * later, so no number can become ours between the check and the syscall; a number that was ours
 * (the platform fetch thread ends) is judged by what it names now. Nothing here allocates: one
 * stat, or one pidfd_getfd and a couple of small reads, per trapped call. */
#include "sigguard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs.h"
#include "rtctl.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#define PROC_ROOT_INO 1
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* 6.9+: a pidfd for one thread, any tid */
#endif
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1u << 2) /* 6.9+: signal the target's whole process group */
#endif

bool sigguard_handles(uint64_t nr)
{
	return nr == (uint64_t)__NR_kill || nr == (uint64_t)__NR_tkill || nr == (uint64_t)__NR_rt_sigqueueinfo ||
	       nr == (uint64_t)__NR_pidfd_open || nr == (uint64_t)__NR_pidfd_send_signal;
}

/* 1 when n (a number of the enforcer's pid namespace) is one of our threads, 0 when not. Any
 * error other than ENOENT means we cannot tell: 1 (fail closed). */
static int our_thread(long n)
{
	if (n <= 0)
		return 0;
	char path[48];
	snprintf(path, sizeof path, "/proc/self/task/%ld", n);
	struct stat st;
	if (stat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : 1;
}

/* 0 when tid lives in another pid namespace than ours (a descendant: the numbers it passes do
 * not name our threads, none of which is visible there), 1 otherwise, and 1 when its ns link
 * cannot be read (EACCES for a tracee with other credentials; fail closed: judge the number). */
static int same_pidns(pid_t tid)
{
	static struct stat ours;
	static bool have;
	if (!have) {
		if (stat("/proc/self/ns/pid", &ours) < 0)
			return 1;
		have = true;
	}
	char path[48];
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)tid);
	struct stat st;
	if (stat(path, &st) < 0)
		return 1;
	return st.st_dev == ours.st_dev && st.st_ino == ours.st_ino;
}

/* Reads the first cap - 1 bytes of f into buf, NUL-terminated, and closes f (f < 0: the open
 * failed, errno is its). Returns the length or -1 with errno. */
static ssize_t read_close(int f, char *buf, size_t cap)
{
	if (f < 0)
		return -1;
	ssize_t n = read(f, buf, cap - 1);
	int saved = errno;
	close(f); /* read-only: a close error loses nothing */
	if (n < 0) {
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	return n;
}

/* The "Pid:" line of an fdinfo text: 1 and *pid when there is one (a pidfd), 0 when not. */
static int fdinfo_pid(const char *text, long *pid)
{
	const char *p = strstr(text, "\nPid:");
	if (!p)
		return 0;
	*pid = strtol(p + 5, NULL, 10);
	return 1;
}

/* fd (ours) is a pidfd: 1 and *pid = the "Pid:" of its fdinfo, our namespace's number of the
 * process or thread it names (0 or -1 when that is gone or not visible here). 0 when fd is not
 * a pidfd, -1 when its fdinfo cannot be read. */
static int pidfd_target(int fd, long *pid)
{
	char path[48], buf[512];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	if (read_close(open_cloexec(path, O_RDONLY), buf, sizeof buf) < 0)
		return -1;
	return fdinfo_pid(buf, pid);
}

/* fd (ours) is a directory of a procfs, as pidfd_send_signal accepts /proc/<pid>. Whose is it?
 * Numbers in that procfs belong to its own pid namespace, so compare there: the "Tgid:" of its
 * status with what that procfs's "self" says we are. Returns 1 (ours), 0 (not ours), -1 (cannot
 * tell: its parent is not that procfs's root, e.g. a bind mount of the directory alone). Sets
 * *pid to the thread group's number in our namespace when that procfs is of our namespace. */
static int procdir_owner(int fd, long *pid)
{
	struct stat d, root;
	if (fstat(fd, &d) < 0)
		return -1;
	int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		return -1;
	int r = -1;
	char self[24], status[1024];
	if (fstat(up, &root) == 0 && root.st_dev == d.st_dev && root.st_ino == PROC_ROOT_INO) {
		ssize_t n = readlinkat(up, "self", self, sizeof self - 1);
		if (n < 0 && errno == ENOENT) {
			r = 0; /* we have no number in that namespace, so no thread of ours is in it */
		} else if (n > 0 && read_close(openat(fd, "status", O_RDONLY | O_CLOEXEC), status, sizeof status) > 0) {
			self[n] = '\0';
			const char *t = strstr(status, "\nTgid:");
			long me = strtol(self, NULL, 10), tgid = t ? strtol(t + 6, NULL, 10) : 0;
			if (tgid > 0) {
				r = tgid == me;
				if (me == (long)getpid())
					*pid = tgid;
			}
		}
	}
	close(up);
	return r;
}

/* When pidfd_getfd is refused (EPERM: a tracee with another uid, and we lack CAP_SYS_PTRACE,
 * the usual case after `su-exec app ...` in a container), its fdinfo can still be read under its
 * uid (procfs_open_as_tracee): enough for a pidfd. Returns like pidfd_target. */
static int tracee_pidfd_target(pid_t tid, int fd, long *pid)
{
	char name[32], buf[512];
	snprintf(name, sizeof name, "fdinfo/%d", fd);
	if (read_close(procfs_open_as_tracee(tid, name, O_RDONLY), buf, sizeof buf) < 0)
		return -1;
	return fdinfo_pid(buf, pid);
}

/* got, a descriptor duplicated into the enforcer: 1 when it names one of our threads, 0 when
 * not, -1 when that cannot be told. Sets *target to its process in our namespace when known. */
static int owner_of(int got, long *target)
{
	struct statfs sf;
	int k = pidfd_target(got, target);
	if (k == 1)
		return our_thread(*target);
	if (k < 0 || fstatfs(got, &sf) < 0)
		return -1;
	if (sf.f_type == (typeof(sf.f_type))PROC_SUPER_MAGIC)
		return procdir_owner(got, target);
	return 0; /* neither a pidfd nor a /proc/<pid> directory: the kernel refuses it (EBADF) */
}

/* pidfd_send_signal(fd, sig, info, flags) of tid: which process does tid's fd name? */
static int judge_pidfd_send(pid_t tid, const uint64_t args[6])
{
	long target = 0;
	int ours;
	int got = rt_grab_fd(tid, (int)args[0]);
	if (got >= 0) {
		ours = owner_of(got, &target);
		close(got); /* a duplicate we only read: a close error loses nothing */
	} else if (errno == EBADF) {
		return EBADF; /* tid has no such descriptor: the kernel would say so too */
	} else if (tracee_pidfd_target(tid, (int)args[0], &target) == 1) {
		ours = our_thread(target);
	} else {
		/* Only a pidfd read from its fdinfo can be judged without the duplicate; a /proc/<pid>
		 * directory or an unreadable descriptor cannot: fail closed. */
		return EPERM;
	}
	if (ours != 0)
		return EPERM;
	if ((unsigned)args[3] & PIDFD_SIGNAL_PROCESS_GROUP) {
		/* The target's group, which may be ours (on the host: the shell's that started us). */
		if (target <= 0)
			return EPERM;
		pid_t g = getpgid((pid_t)target);
		if (g < 0 ? errno != ESRCH : g == getpgrp())
			return EPERM;
	}
	return 0;
}

int sigguard_on_entry(pid_t tid, uint64_t nr, const uint64_t args[6])
{
	if (nr == (uint64_t)__NR_pidfd_send_signal)
		return judge_pidfd_send(tid, args);
	/* kill, tkill, rt_sigqueueinfo, pidfd_open(PIDFD_THREAD): the first argument is a pid_t */
	long n = (long)(int32_t)(uint32_t)args[0];
	return same_pidns(tid) && our_thread(n) ? EPERM : 0;
}
