/* File control: writes into read-only path prefixes are refused, writes into audited prefixes
 * are reported (see rtctl.h).
 *
 * The prefilter traps opens only when their flags ask for writing (O_WRONLY, O_RDWR, O_CREAT,
 * O_TRUNC, O_APPEND tested in BPF), plus openat2 (its flags are in memory) and every call that
 * creates, removes, renames, links or changes the mode or owner of a name. The entry check
 * resolves the name the way the kernel will (the tracee's cwd or dirfd through /proc, the final
 * symlink followed when the call follows it) to a canonical path and compares it with the
 * prefixes. For opens, the exit check reads the path of the descriptor the kernel returned and
 * kills the process when that is under a read-only prefix: a thread that swapped the name after
 * the entry check is caught. Calls that return no descriptor have no such check (best effort,
 * docs/enforcer.md). */
#include "rtctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json.h"
#include "procfs.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

#define WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

enum op_err { E_ACCESS = EACCES, E_PERM = EPERM };

/* One name a syscall touches. */
struct target {
	int dirfd;
	uint64_t name;  /* pointer in the tracee */
	bool follow;    /* the call follows a final symlink */
	bool empty_ok;  /* AT_EMPTY_PATH: an empty name means dirfd itself */
};

/* The canonical path of `full` through an O_PATH descriptor (what the kernel resolved). */
static int canonical(const char *full, int flags, char *out, size_t cap)
{
	int fd = open_cloexec(full, O_PATH | flags);
	if (fd < 0)
		return -1;
	char self[48];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(self, out, cap - 1);
	int saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/* Resolves what (dirfd, name) of tid names into out. Returns 0, or -1 when it cannot be
 * resolved (then the kernel's own lookup fails the same way, or the exit check decides). */
static int resolve(pid_t tid, const struct target *t, char *out, size_t cap)
{
	static char name[PATH_MAX], full[PATH_MAX + 64], dir[PATH_MAX];
	if (procfs_read_string(tid, t->name, name, sizeof name) < 0)
		return -1;
	int n;
	if (name[0] == '\0') {
		if (!t->empty_ok || t->dirfd == AT_FDCWD)
			return -1;
		n = snprintf(full, sizeof full, "/proc/%d/fd/%d", (int)tid, t->dirfd);
		if (n < 0 || (size_t)n >= sizeof full)
			return -1;
		return canonical(full, 0, out, cap);
	}
	if (name[0] == '/')
		n = snprintf(full, sizeof full, "%s", name);
	else if (t->dirfd == AT_FDCWD)
		n = snprintf(full, sizeof full, "/proc/%d/cwd/%s", (int)tid, name);
	else
		n = snprintf(full, sizeof full, "/proc/%d/fd/%d/%s", (int)tid, t->dirfd, name);
	if (n < 0 || (size_t)n >= sizeof full)
		return -1;
	if (canonical(full, t->follow ? 0 : O_NOFOLLOW, out, cap) == 0)
		return 0;
	/* The name does not exist (yet): resolve its directory and append the last component. */
	size_t len = (size_t)n;
	while (len > 1 && full[len - 1] == '/')
		full[--len] = '\0';
	char *slash = strrchr(full, '/');
	if (!slash)
		return -1;
	const char *base = slash + 1;
	if (slash == full)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - full), full);
	if (canonical(dir, O_DIRECTORY, out, cap) != 0)
		return -1;
	size_t dl = strlen(out);
	n = snprintf(out + dl, cap - dl, "%s%s", dl > 1 ? "/" : "", base);
	return n < 0 || (size_t)n >= cap - dl ? -1 : 0;
}

static const char *under_any(const char *path, char **prefixes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (path_under(path, prefixes[i]))
			return prefixes[i];
	return NULL;
}

static void detail_file(char *out, size_t cap, const char *op, const char *path, const char *prefix)
{
	struct json j;
	json_init(&j, out, cap);
	json_begin_object(&j);
	json_key(&j, "operation");
	json_str(&j, op);
	json_key(&j, "path");
	json_str(&j, path);
	json_key(&j, "prefix");
	json_str(&j, prefix);
	json_end_object(&j);
	if (j.overflow)
		out[0] = '\0';
}

/* Judges one resolved path. Returns the errno to fail with (0: allowed); sets *reported when a
 * file.audit event was emitted. */
static int judge_path(pid_t tid, const char *op, const char *path, int err, bool *reported)
{
	const struct bundle_runtime *rt = &rt_bundle->rt;
	enum inlay_mode m = rt_mode(CTL_FILES);
	char reason[256], detail[1024];
	const char *pre = under_any(path, rt->readonly, rt->n_readonly);
	if (pre) {
		bool deny = m == INLAY_ENFORCE;
		detail_file(detail, sizeof detail, op, path, pre);
		snprintf(reason, sizeof reason, "%s of a file under the read-only path %s", op, pre);
		rt_emit(tid, "file.write", "high", m, deny, "files.readonly", reason, detail[0] ? detail : NULL);
		if (deny)
			return err;
		*reported = true;
		return 0;
	}
	pre = under_any(path, rt->audited, rt->n_audited);
	if (pre) {
		detail_file(detail, sizeof detail, op, path, pre);
		snprintf(reason, sizeof reason, "%s of a file under the audited path %s", op, pre);
		rt_emit(tid, "file.audit", "low", m, false, "files.audit", reason, detail[0] ? detail : NULL);
		*reported = true;
	}
	return 0;
}

static int judge_targets(pid_t tid, const char *op, const struct target *t, unsigned n, int err, bool *reported)
{
	static char path[PATH_MAX];
	for (unsigned i = 0; i < n; i++) {
		if (resolve(tid, &t[i], path, sizeof path) != 0)
			continue;
		int e = judge_path(tid, op, path, err, reported);
		if (e)
			return e;
	}
	return 0;
}

/* A descriptor's path (fchmod, fchown): the kernel's record, no race. */
static int judge_fd(pid_t tid, const char *op, int fd, int err)
{
	static char path[PATH_MAX];
	char name[32];
	bool reported = false;
	snprintf(name, sizeof name, "fd/%d", fd);
	if (procfs_readlink(tid, name, path, sizeof path) < 0 || path[0] != '/')
		return 0;
	return judge_path(tid, op, path, err, &reported);
}

static int open_entry(pid_t tid, int dirfd, uint64_t name, uint64_t flags, struct rt_pending *p)
{
	if (!(flags & WRITE_FLAGS) || (flags & O_PATH))
		return 0;
	struct target t = { dirfd, name, !(flags & O_NOFOLLOW), false };
	bool reported = false;
	int err = judge_targets(tid, "open for writing", &t, 1, EACCES, &reported);
	if (err == 0) {
		p->kind = RT_OPEN;
		p->reported = reported;
	}
	return err;
}

int filectl_entry(pid_t tid, uint64_t nr, const uint64_t args[6], struct rt_pending *p)
{
	if (!(rtctl_live_traps() & TRAP_FILES))
		return -1;
	const int cwd = AT_FDCWD;
	bool reported = false;
	struct target t[2];
	switch (nr) {
#ifdef __NR_open
	case __NR_open:
		return open_entry(tid, cwd, args[0], args[1], p);
	case __NR_creat:
		return open_entry(tid, cwd, args[0], O_CREAT | O_WRONLY | O_TRUNC, p);
	case __NR_rename:
		t[0] = (struct target){ cwd, args[0], false, false };
		t[1] = (struct target){ cwd, args[1], false, false };
		return judge_targets(tid, "rename", t, 2, EACCES, &reported);
	case __NR_link:
		t[0] = (struct target){ cwd, args[1], false, false };
		return judge_targets(tid, "link", t, 1, EACCES, &reported);
	case __NR_symlink:
		t[0] = (struct target){ cwd, args[1], false, false };
		return judge_targets(tid, "symlink", t, 1, EACCES, &reported);
	case __NR_unlink:
	case __NR_rmdir:
		t[0] = (struct target){ cwd, args[0], false, false };
		return judge_targets(tid, "unlink", t, 1, EACCES, &reported);
	case __NR_mkdir:
	case __NR_mknod:
		t[0] = (struct target){ cwd, args[0], false, false };
		return judge_targets(tid, "create", t, 1, EACCES, &reported);
	case __NR_chmod:
		t[0] = (struct target){ cwd, args[0], true, false };
		return judge_targets(tid, "chmod", t, 1, EPERM, &reported);
	case __NR_chown:
	case __NR_lchown:
		t[0] = (struct target){ cwd, args[0], nr == __NR_chown, false };
		return judge_targets(tid, "chown", t, 1, EPERM, &reported);
#endif
	case __NR_openat:
		return open_entry(tid, (int)args[0], args[1], args[2], p);
	case __NR_openat2: {
		struct open_how how;
		if (args[3] < sizeof how.flags || procfs_read_mem(tid, args[2], &how.flags, sizeof how.flags) < 0)
			return 0; /* the kernel fails it (EFAULT/EINVAL) */
		return open_entry(tid, (int)args[0], args[1], how.flags, p);
	}
	case __NR_truncate:
		t[0] = (struct target){ cwd, args[0], true, false };
		return judge_targets(tid, "truncate", t, 1, EACCES, &reported);
	case __NR_renameat:
	case __NR_renameat2:
		t[0] = (struct target){ (int)args[0], args[1], false, false };
		t[1] = (struct target){ (int)args[2], args[3], false, false };
		return judge_targets(tid, "rename", t, 2, EACCES, &reported);
	case __NR_linkat:
		t[0] = (struct target){ (int)args[2], args[3], false, false };
		return judge_targets(tid, "link", t, 1, EACCES, &reported);
	case __NR_symlinkat:
		t[0] = (struct target){ (int)args[1], args[2], false, false };
		return judge_targets(tid, "symlink", t, 1, EACCES, &reported);
	case __NR_unlinkat:
		t[0] = (struct target){ (int)args[0], args[1], false, false };
		return judge_targets(tid, "unlink", t, 1, EACCES, &reported);
	case __NR_mkdirat:
	case __NR_mknodat:
		t[0] = (struct target){ (int)args[0], args[1], false, false };
		return judge_targets(tid, "create", t, 1, EACCES, &reported);
	case __NR_fchmodat:
		t[0] = (struct target){ (int)args[0], args[1], true, false };
		return judge_targets(tid, "chmod", t, 1, EPERM, &reported);
	case __NR_fchmodat2:
		t[0] = (struct target){ (int)args[0], args[1], !(args[3] & AT_SYMLINK_NOFOLLOW),
					(args[3] & AT_EMPTY_PATH) != 0 };
		return judge_targets(tid, "chmod", t, 1, EPERM, &reported);
	case __NR_fchownat:
		t[0] = (struct target){ (int)args[0], args[1], !(args[4] & AT_SYMLINK_NOFOLLOW),
					(args[4] & AT_EMPTY_PATH) != 0 };
		return judge_targets(tid, "chown", t, 1, EPERM, &reported);
	case __NR_fchmod:
		return judge_fd(tid, "chmod", (int)args[0], EPERM);
	case __NR_fchown:
		return judge_fd(tid, "chown", (int)args[0], EPERM);
	default:
		return -1;
	}
}

bool filectl_exit(const struct rt_pending *p, int64_t rval)
{
	static char path[PATH_MAX];
	char name[32], reason[320], detail[1024];
	if (rval < 0)
		return false;
	snprintf(name, sizeof name, "fd/%d", (int)rval);
	if (procfs_readlink(p->tid, name, path, sizeof path) < 0 || path[0] != '/')
		return false; /* pipes, sockets, anonymous files: not under any prefix */
	const struct bundle_runtime *rt = &rt_bundle->rt;
	enum inlay_mode m = rt_mode(CTL_FILES);
	const char *pre = under_any(path, rt->readonly, rt->n_readonly);
	if (pre) {
		if (p->reported && m != INLAY_ENFORCE)
			return false; /* audit mode: the entry check already alerted on this open */
		bool enforce = m == INLAY_ENFORCE;
		detail_file(detail, sizeof detail, "open for writing", path, pre);
		snprintf(reason, sizeof reason,
			 "the descriptor the kernel opened for writing is under the read-only path %s although the name "
			 "checked at entry was not: the name was changed during the call%s",
			 pre, enforce ? "; the process is killed" : "");
		rt_emit(p->tid, "file.write", "critical", m, enforce, "files.exit-mismatch", reason, detail[0] ? detail : NULL);
		return enforce;
	}
	if (!p->reported && (pre = under_any(path, rt->audited, rt->n_audited)) != NULL) {
		detail_file(detail, sizeof detail, "open for writing", path, pre);
		snprintf(reason, sizeof reason, "open for writing of a file under the audited path %s", pre);
		rt_emit(p->tid, "file.audit", "low", m, false, "files.audit", reason, detail[0] ? detail : NULL);
	}
	return false;
}
