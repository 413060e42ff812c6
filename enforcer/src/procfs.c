/* Tracee memory and /proc readers (see procfs.h for the contracts). */
#include "procfs.h"

#include "argv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <elf.h>

#define PAGE 4096u

int open_cloexec(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0);
}

static int proc_path(char *out, size_t cap, pid_t pid, const char *name)
{
	int n = snprintf(out, cap, "/proc/%d/%s", (int)pid, name);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* One read that does not cross a page boundary, so a string that ends just before an unmapped
 * page is still read. Returns bytes read (> 0) or -1. */
static ssize_t read_chunk(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n > 0)
		return n;
	/* EPERM (a uid change without CAP_SYS_PTRACE) or ENOSYS (seccomp policy): try the others.
	 * EFAULT is final: the address is bad. */
	if (n < 0 && errno == EFAULT)
		return -1;
	{
		int fd = procfs_open_as_tracee(pid, "mem", O_RDONLY);
		if (fd >= 0) {
			n = pread(fd, buf, len, (off_t)addr);
			int saved = errno;
			close(fd);
			if (n > 0)
				return n;
			errno = saved;
			if (n < 0 && errno == EIO) {
				errno = EFAULT;
				return -1;
			}
		}
	}
	/* PEEKDATA works for any tracer of a stopped tracee; word by word. */
	size_t done = 0;
	uint64_t base = addr & ~(uint64_t)(sizeof(long) - 1);
	size_t skip = (size_t)(addr - base);
	while (done < len) {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)base, NULL);
		if (errno != 0)
			return done > 0 ? (ssize_t)done : -1;
		size_t take = sizeof w - skip;
		if (take > len - done)
			take = len - done;
		memcpy((char *)buf + done, (char *)&w + skip, take);
		done += take;
		base += sizeof w;
		skip = 0;
	}
	return (ssize_t)done;
}

int procfs_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		size_t room = PAGE - (size_t)((addr + done) % PAGE);
		if (room > len - done)
			room = len - done;
		ssize_t n = read_chunk(pid, addr + done, (char *)buf + done, room);
		if (n <= 0) {
			if (n == 0)
				errno = EFAULT;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

ssize_t procfs_read_string(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
	if (cap == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size_t done = 0;
	while (done < cap - 1) {
		size_t room = PAGE - (size_t)((addr + done) % PAGE);
		if (room > cap - 1 - done)
			room = cap - 1 - done;
		ssize_t n = read_chunk(pid, addr + done, buf + done, room);
		if (n <= 0) {
			buf[done] = '\0';
			if (n == 0)
				errno = EFAULT;
			return -1;
		}
		char *nul = memchr(buf + done, '\0', (size_t)n);
		if (nul)
			return nul - buf;
		done += (size_t)n;
	}
	buf[cap - 1] = '\0';
	errno = ENAMETOOLONG;
	return -1;
}

int procfs_read_ids(pid_t pid, pid_t *ppid, uid_t *uid, gid_t *gid)
{
	char path[48], buf[2048];
	if (proc_path(path, sizeof path, pid, "status") < 0)
		return -1;
	int fd = open_cloexec(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n;
	do
		n = read(fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	int saved = errno;
	close(fd);
	if (n <= 0) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	buf[n] = '\0';
	/* The first 2 KiB always hold Name..Gid; the lines we need come before Groups. */
	const char *p = strstr(buf, "\nPPid:");
	const char *u = strstr(buf, "\nUid:");
	const char *g = strstr(buf, "\nGid:");
	long lp, lu, lg;
	if (!p || !u || !g || sscanf(p + 6, "%ld", &lp) != 1 || sscanf(u + 5, "%ld", &lu) != 1 ||
	    sscanf(g + 5, "%ld", &lg) != 1) {
		errno = EIO;
		return -1;
	}
	if (ppid)
		*ppid = (pid_t)lp;
	if (uid)
		*uid = (uid_t)lu;
	if (gid)
		*gid = (gid_t)lg;
	return 0;
}

int procfs_open_as_tracee(pid_t pid, const char *name, int flags)
{
	char path[48];
	if (proc_path(path, sizeof path, pid, name) < 0)
		return -1;
	int fd = open_cloexec(path, flags);
	if (fd >= 0 || (errno != EACCES && errno != EPERM))
		return fd;
	int first_errno = errno;
	uid_t uid;
	gid_t gid;
	if (procfs_read_ids(pid, NULL, &uid, &gid) < 0) {
		errno = first_errno;
		return -1;
	}
	uid_t my_fsuid = (uid_t)setfsuid((uid_t)-1);
	gid_t my_fsgid = (gid_t)setfsgid((gid_t)-1);
	if (uid == my_fsuid && gid == my_fsgid) {
		errno = first_errno; /* same credentials already: nothing to gain */
		return -1;
	}
	/* setfsuid/setfsgid cannot report errors: verify by reading the value back (with -1, an
	 * invalid id, nothing changes). Without CAP_SETUID/CAP_SETGID they silently do nothing. */
	setfsgid(gid);
	setfsuid(uid);
	if ((gid_t)setfsgid((gid_t)-1) != gid || (uid_t)setfsuid((uid_t)-1) != uid) {
		fd = -1;
		errno = first_errno;
	} else {
		fd = open_cloexec(path, flags);
	}
	int saved = errno;
	setfsuid(my_fsuid);
	setfsgid(my_fsgid);
	errno = saved;
	return fd;
}

ssize_t procfs_readlink(pid_t pid, const char *name, char *buf, size_t cap)
{
	char path[48];
	if (proc_path(path, sizeof path, pid, name) < 0)
		return -1;
	ssize_t n = readlink(path, buf, cap - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

ssize_t procfs_read_execfn(pid_t pid, char *buf, size_t cap)
{
	int fd = procfs_open_as_tracee(pid, "auxv", O_RDONLY);
	if (fd < 0)
		return -1;
	/* 64 pairs cover every auxv the kernel writes today (AT_VECTOR_SIZE_BASE is 22). */
	uint64_t av[128];
	ssize_t n;
	do
		n = read(fd, av, sizeof av);
	while (n < 0 && errno == EINTR);
	int saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	for (size_t i = 0; i + 1 < (size_t)n / sizeof av[0]; i += 2) {
		if (av[i] == AT_NULL)
			break;
		if (av[i] == AT_EXECFN)
			return procfs_read_string(pid, av[i + 1], buf, cap);
	}
	errno = ENOENT;
	return -1;
}

int procfs_read_cmdline(pid_t pid, char *buf, size_t cap, const char **argv, size_t max_args,
			size_t *argc, int *truncated)
{
	*argc = 0;
	*truncated = 0;
	int fd = procfs_open_as_tracee(pid, "cmdline", O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap - 1) {
		char extra;
		if (read(fd, &extra, 1) == 1)
			*truncated = 1;
	}
	close(fd);
	argv_split(buf, len, argv, max_args, argc, truncated);
	return 0;
}

int procfs_read_remote_argv(pid_t pid, uint64_t addr, char *buf, size_t cap, const char **argv,
			    size_t max_args, size_t *argc, int *truncated)
{
	*argc = 0;
	*truncated = 0;
	size_t used = 0;
	for (size_t i = 0; addr != 0; i++) {
		uint64_t ptr;
		if (procfs_read_mem(pid, addr + i * sizeof ptr, &ptr, sizeof ptr) < 0)
			return *argc > 0 ? 0 : -1;
		if (ptr == 0)
			break;
		if (*argc == max_args || used + 1 >= cap) {
			*truncated = 1;
			break;
		}
		ssize_t n = procfs_read_string(pid, ptr, buf + used, cap - used);
		if (n < 0) {
			if (errno != ENAMETOOLONG)
				return *argc > 0 ? 0 : -1;
			*truncated = 1;
			argv[(*argc)++] = buf + used;
			break;
		}
		argv[(*argc)++] = buf + used;
		used += (size_t)n + 1;
	}
	return 0;
}
