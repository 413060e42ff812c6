/* File attempts for the runtime-control suites. Exit 0 when the attempt succeeded, 100 + errno
 * when it failed.
 *
 *   file-probe write PATH           open(O_WRONLY|O_CREAT|O_TRUNC) by openat, write "x"
 *   file-probe read PATH            open(O_RDONLY) by openat, read
 *   file-probe openat2 PATH         openat2(O_WRONLY|O_CREAT)
 *   file-probe unlink PATH | rename FROM TO | link FROM TO | symlink TARGET PATH | chmod PATH |
 *              truncate PATH | mkdir PATH | rmdir PATH
 *   file-probe chown PATH           chown to our own uid and gid (allowed for the owner)
 *   file-probe rename2 FROM TO      the renameat2 syscall itself (flags 0), which libcs use only
 *                                   for RENAME_* flags
 *   file-probe open-race SAFE EVIL  open SAFE for writing while another thread rewrites the name
 *                                   to EVIL, until the kernel opens EVIL ("raced", exit 0) or
 *                                   3 s pass (exit 3)
 *   file-probe io_uring             io_uring_setup (must fail with ENOSYS under the enforcer)
 *   file-probe inherit PATH PROG [ARGS...]  open PATH for writing, then exec PROG with it as fd 3 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	int e = errno;
	fprintf(stderr, "file-probe: %s: %s\n", what, strerror(e));
	return 100 + e;
}

static char race_name[4096];
static char race_safe[4096], race_evil[4096];
static volatile int race_stop;

static void *flipper(void *arg)
{
	(void)arg;
	while (!race_stop) {
		/* the barriers keep the compiler from dropping the first copy as a dead store */
		strcpy(race_name, race_evil);
		__asm__ volatile("" ::: "memory");
		strcpy(race_name, race_safe);
		__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *m = argv[1];
	if (strcmp(m, "io_uring") == 0) {
		char params[120] = { 0 };
		if (syscall(425 /* io_uring_setup */, 4, params) < 0)
			return fail("io_uring_setup");
		return 0;
	}
	if (argc < 3)
		return 2;
	const char *p = argv[2];
	if (strcmp(m, "write") == 0 || strcmp(m, "inherit") == 0) {
		int fd = openat(AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail("open");
		if (write(fd, "x", 1) != 1)
			return fail("write");
		if (strcmp(m, "inherit") == 0 && argc > 3) {
			if (dup2(fd, 3) < 0)
				return fail("dup2");
			execv(argv[3], argv + 3);
			return fail("execv");
		}
		return 0;
	}
	if (strcmp(m, "read") == 0) {
		char b[16];
		int fd = openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail("open");
		if (read(fd, b, sizeof b) < 0)
			return fail("read");
		return 0;
	}
	if (strcmp(m, "openat2") == 0) {
		struct open_how how = { .flags = O_WRONLY | O_CREAT | O_CLOEXEC, .mode = 0644 };
		int fd = (int)syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how);
		if (fd < 0)
			return fail("openat2");
		return 0;
	}
	if (strcmp(m, "unlink") == 0)
		return unlink(p) < 0 ? fail("unlink") : 0;
	if (strcmp(m, "chmod") == 0)
		return chmod(p, 0600) < 0 ? fail("chmod") : 0;
	if (strcmp(m, "truncate") == 0)
		return truncate(p, 0) < 0 ? fail("truncate") : 0;
	if (strcmp(m, "mkdir") == 0)
		return mkdir(p, 0755) < 0 ? fail("mkdir") : 0;
	if (strcmp(m, "rmdir") == 0)
		return rmdir(p) < 0 ? fail("rmdir") : 0;
	if (strcmp(m, "chown") == 0)
		return chown(p, getuid(), getgid()) < 0 ? fail("chown") : 0;
	if (argc < 4)
		return 2;
	if (strcmp(m, "rename") == 0)
		return rename(p, argv[3]) < 0 ? fail("rename") : 0;
	if (strcmp(m, "rename2") == 0)
		return syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, argv[3], 0) < 0 ? fail("renameat2") : 0;
	if (strcmp(m, "link") == 0)
		return link(p, argv[3]) < 0 ? fail("link") : 0;
	if (strcmp(m, "symlink") == 0)
		return symlink(p, argv[3]) < 0 ? fail("symlink") : 0;
	if (strcmp(m, "open-race") == 0) {
		snprintf(race_safe, sizeof race_safe, "%s", p);
		snprintf(race_evil, sizeof race_evil, "%s", argv[3]);
		strcpy(race_name, race_safe);
		pthread_t t;
		if (pthread_create(&t, NULL, flipper, NULL) != 0)
			return 2;
		struct stat evil;
		struct timespec t0, now;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0;; i++) {
			/* a time budget, not a try count: the flipper thread may get no CPU for a while */
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec >= 3)
				break;
			int fd = openat(AT_FDCWD, race_name, O_WRONLY | O_CLOEXEC);
			if (fd < 0) {
				/* EACCES: the enforcer saw EVIL at entry; let its event writer keep up */
				if (errno == EACCES)
					usleep(1000);
				continue; /* or a half-written name */
			}
			struct stat st;
			if (fstat(fd, &st) == 0 && stat(race_evil, &evil) == 0 && st.st_ino == evil.st_ino) {
				printf("raced after %d tries\n", i + 1);
				fflush(stdout);
				race_stop = 1;
				return 0;
			}
			close(fd);
		}
		race_stop = 1;
		printf("no race won\n");
		return 3;
	}
	return 2;
}
