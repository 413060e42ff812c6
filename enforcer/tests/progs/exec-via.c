/* Executes a program by one of the routes the enforcer must see through.
 *
 *   exec-via plain    FILE [ARGS...]   execve(FILE)
 *   exec-via execveat FILE [ARGS...]   execveat(open(FILE, O_PATH), "", AT_EMPTY_PATH)
 *   exec-via memfd    FILE [ARGS...]   copy FILE into a memfd, execveat(memfd, "", AT_EMPTY_PATH)
 *   exec-via deleted  FILE DIR [ARGS...]  copy FILE to DIR/inlay-deleted-XXXXXX, unlink, exec the fd
 *   exec-via thread   FILE [ARGS...]   execve(FILE) from a second thread (the tid changes)
 *   exec-via fd-name  NAME FILE        open FILE as descriptor 200 (inherited), execve(NAME): NAME is
 *                                      a spelling of that descriptor, e.g. //proc/self/fd/200
 *   exec-via stale    NAME FILE FIRST same|thread
 *                                      as fd-name, but first a failed execve(FIRST) (E2BIG: one
 *                                      4 MiB argument), then execve(NAME) from this thread or a
 *                                      second one
 *
 * argv[0] of the new program is FILE. On exec failure prints "exec-via: MODE: <errno name>" and
 * exits 100 + errno (so a test can tell EACCES from ENOENT). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *mode, const char *what)
{
	int e = errno;
	fprintf(stderr, "exec-via: %s: %s: %s\n", mode, what, strerror(e));
	return 100 + e;
}

static int copy_fd(const char *src, int dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(dst, buf, (size_t)n) != n)
			return -1;
	close(in);
	return n < 0 ? -1 : 0;
}

static int exec_fd(int fd, char **argv)
{
	return (int)syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
}

static char **thread_argv;

static void *exec_thread(void *arg)
{
	(void)arg;
	execve(thread_argv[0], thread_argv, environ);
	exit(fail("thread", "execve"));
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: exec-via plain|execveat|memfd|deleted FILE [DIR] [ARGS...]\n");
		return 2;
	}
	const char *mode = argv[1], *file = argv[2];
	if (strcmp(mode, "plain") == 0) {
		execve(file, argv + 2, environ);
		return fail(mode, "execve");
	}
	if ((strcmp(mode, "fd-name") == 0 && argc >= 4) || (strcmp(mode, "stale") == 0 && argc >= 6)) {
		int fd = open(argv[3], O_RDONLY);
		if (fd < 0 || dup2(fd, 200) < 0)
			return fail(mode, "open");
		char *named[] = { argv[2], NULL };
		if (strcmp(mode, "stale") == 0) {
			size_t big = 4u << 20;
			char *arg = malloc(big);
			if (!arg)
				return 2;
			memset(arg, 'a', big - 1);
			arg[big - 1] = '\0';
			char *first[] = { argv[4], arg, NULL };
			execve(argv[4], first, environ);
			if (errno != E2BIG)
				return fail(mode, "first execve");
			if (strcmp(argv[5], "thread") == 0) {
				thread_argv = named;
				pthread_t t;
				if (pthread_create(&t, NULL, exec_thread, NULL) != 0)
					return 2;
				for (;;)
					pause();
			}
		}
		execve(argv[2], named, environ);
		return fail(mode, "execve");
	}
	if (strcmp(mode, "thread") == 0) {
		thread_argv = argv + 2;
		pthread_t t;
		if (pthread_create(&t, NULL, exec_thread, NULL) != 0)
			return 2;
		for (;;)
			pause(); /* the exec replaces us, or the thread exits the process */
	}
	if (strcmp(mode, "execveat") == 0) {
		int fd = open(file, O_PATH | O_CLOEXEC);
		if (fd < 0)
			return fail(mode, "open");
		exec_fd(fd, argv + 2);
		return fail(mode, "execveat");
	}
	if (strcmp(mode, "memfd") == 0) {
		int fd = (int)syscall(SYS_memfd_create, "payload", 0);
		if (fd < 0 || copy_fd(file, fd) < 0)
			return fail(mode, "memfd");
		exec_fd(fd, argv + 2);
		return fail(mode, "execveat");
	}
	if (strcmp(mode, "deleted") == 0 && argc >= 4) {
		char tmpl[4096];
		snprintf(tmpl, sizeof tmpl, "%s/inlay-deleted-XXXXXX", argv[3]);
		int w = mkstemp(tmpl);
		if (w < 0 || copy_fd(file, w) < 0 || fchmod(w, 0755) < 0 || close(w) < 0)
			return fail(mode, "copy");
		int fd = open(tmpl, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || unlink(tmpl) < 0)
			return fail(mode, "reopen");
		argv[3] = argv[2]; /* argv[0] of the new program: FILE */
		exec_fd(fd, argv + 3);
		return fail(mode, "execveat");
	}
	fprintf(stderr, "exec-via: unknown mode %s\n", mode);
	return 2;
}
