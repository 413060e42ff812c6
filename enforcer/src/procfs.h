/* Reading a tracee: its memory and the /proc files the exec verdict and events need.
 *
 * Every function is bounded (fixed caller buffers, never allocates) and is meant to be called
 * by the tracer thread while the tracee is in a ptrace-stop, so the tracee cannot change what is
 * read underneath (other threads of a multi-threaded tracee still can: callers treat memory as
 * advisory). Access to /proc/PID/{exe,auxv,mem} of a tracee that changed uid needs the
 * tracee's credentials (memo §2.5): procfs_open_as_tracee does that with setfsuid/setfsgid. */
#ifndef INLAY_PROCFS_H
#define INLAY_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* open(2) with O_CLOEXEC in one syscall: musl's open() follows every O_CLOEXEC open with an
 * fcntl(F_SETFD) for kernels older than 2.6.23, a syscall per open on the exec path for nothing.
 * Returns the fd or -1 with errno. */
int open_cloexec(const char *path, int flags);

/* Copies the NUL-terminated string at addr in pid's memory into buf (always NUL-terminated).
 * Tries process_vm_readv, then pread of /proc/PID/mem, then PTRACE_PEEKDATA (the last one works
 * for any tracer, whatever the credentials). Returns the length, or -1 with errno (ENAMETOOLONG
 * when no NUL was found within cap - 1 bytes, EFAULT for a bad address). */
ssize_t procfs_read_string(pid_t pid, uint64_t addr, char *buf, size_t cap);

/* Copies len bytes at addr (same fallbacks). Returns 0 or -1 with errno. */
int procfs_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);

/* open("/proc/<pid>/<name>", flags | O_CLOEXEC). When that fails with EACCES or EPERM (a
 * tracee with another uid and no CAP_SYS_PTRACE), retries under the tracee's real uid and gid
 * (setfsuid/setfsgid, results verified) and restores ours. Returns the fd or -1 with errno. */
int procfs_open_as_tracee(pid_t pid, const char *name, int flags);

/* readlink("/proc/<pid>/<name>") into buf, NUL-terminated, cut to cap - 1. Returns the length or
 * -1 with errno. */
ssize_t procfs_readlink(pid_t pid, const char *name, char *buf, size_t cap);

/* PPid and the real Uid from /proc/<pid>/status. Returns 0 or -1 with errno. */
int procfs_read_ids(pid_t pid, pid_t *ppid, uid_t *uid, gid_t *gid);

/* The AT_EXECFN string of pid's current image (auxv + memory). Returns its length or -1. */
ssize_t procfs_read_execfn(pid_t pid, char *buf, size_t cap);

/* /proc/<pid>/cmdline split into at most max_args pointers into buf (cap bytes). Sets *argc and
 * *truncated (more arguments or bytes than fit). Returns 0 or -1 with errno. */
int procfs_read_cmdline(pid_t pid, char *buf, size_t cap, const char **argv, size_t max_args,
			size_t *argc, int *truncated);

/* The argv array of a pending execve: pointers at addr in pid's memory, strings copied into buf.
 * Same contract as procfs_read_cmdline. */
int procfs_read_remote_argv(pid_t pid, uint64_t addr, char *buf, size_t cap, const char **argv,
			    size_t max_args, size_t *argc, int *truncated);

#endif
