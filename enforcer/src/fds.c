/* Closing inherited descriptors (see fds.h). */
#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static int close_span(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return 0;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return 0;
	/* ENOSYS (before 5.9, or a seccomp policy that refuses it): walk /proc/self/fd instead. */
	if (errno != ENOSYS && errno != EPERM)
		return -1;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end != '\0' || e->d_name[0] == '\0' || fd == self)
			continue;
		if ((unsigned long)fd >= lo && (unsigned long)fd <= hi)
			(void)close((int)fd); /* EBADF is impossible here; EINTR still closed it on Linux */
	}
	closedir(d);
	return 0;
}

int fds_close_inherited(int keep)
{
	if (keep < 3)
		return close_span(3, ~0u);
	if (close_span(3, (unsigned)keep - 1) < 0 || close_span((unsigned)keep + 1, ~0u) < 0)
		return -1;
	int fl = fcntl(keep, F_GETFD);
	if (fl < 0 || fcntl(keep, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}
