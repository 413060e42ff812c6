/* Exec verdicts (see verdict.h). Controls, in the order they are evaluated: fileless, loader,
 * blocklist, allowlist, drift. Each finding becomes one event (deny in enforce mode, alert in
 * audit mode); any enforce-mode finding kills the exec. docs/enforcer.md has the rules. */
#include "verdict.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "events.h"
#include "exec_hint.h"
#include "hashcache.h"
#include "json.h"
#include "match.h"
#include "procfs.h"
#include "rtctl.h"
#include "sha256.h"
#include "shebang.h"

static const struct bundle *bundle;
static int64_t start_ns;
static bool active;

/* A file an exec concerns: the executed image, or the script an interpreter was started for. */
struct subject {
	int fd;            /* readable fd (owned), or -1 until needed */
	int path_fd;       /* O_PATH fd (owned), or -1 */
	pid_t exe_of;      /* > 0: st is /proc/exe_of/exe, opened only when it must be hashed */
	struct stat st;
	const char *path;  /* absolute path as the kernel resolves it, or NULL when unknown */
	const char *alias; /* the name the caller used (AT_EXECFN or the syscall's path), or NULL */
	uint8_t sha[32];
	int sha_state;     /* 0 not tried, 1 known, -1 failed with sha_errno */
	int sha_errno;
};

/* What a finding is about, for its event: the script (and the name it was reached by) that
 * process.script names, and its place in a #! chain (0: the exe, 1: the script the exec named,
 * 2 and more: an interpreter that is a script itself). */
struct about {
	struct subject *script; /* NULL: none, or a name that could not be opened */
	const char *name;
	unsigned depth;
};

struct finding {
	const char *kind, *severity, *rule;
	enum inlay_mode mode;
	struct about about;
	char reason[200];
};

/* The exe (5 controls) and up to MAX_SCRIPTS scripts (4 each, or one error) fit */
#define MAX_FINDINGS 28
struct findings {
	struct finding f[MAX_FINDINGS];
	unsigned n;
	bool deny;
	struct about cur; /* what add() attributes findings to */
};

/* The kernel runs at most 6 binary handlers per exec (exec_binprm, Linux 5.8 and later: ELOOP
 * past depth 5; checked on 6.18, where a chain of 5 #! scripts runs and one of 6 fails with
 * ELOOP). So at most 5 scripts: the one the exec named and 4 interpreters that are scripts
 * themselves (a binfmt_misc rewrite uses the same budget, so there may be fewer). */
#define MAX_SCRIPTS 5

/* Names of the dynamic loaders of glibc, musl (ld-musl-ARCH.so.1, a link to libc.so on Debian
 * and libc.musl-ARCH.so.1 on Alpine) and older ABIs. Executing one of them directly maps any file
 * as code without an exec of that file (memo §2.5). */
static const char *const loader_globs[] = {
	"ld-linux*.so*", "ld-musl-*.so*", "ld64.so*", "ld.so", "ld.so.*", "libc.musl-*.so*", "libc.so",
};

void verdict_init(const struct bundle *b, int64_t start_realtime_ns)
{
	start_ns = start_realtime_ns;
	verdict_use(b);
}

void verdict_use(const struct bundle *b)
{
	bundle = b;
	active = b->report_execs || b->mode[CTL_REVSHELL] != INLAY_OFF || b->mode[CTL_PRIVILEGE] != INLAY_OFF;
	for (int c = 0; c < CTL_EXEC_COUNT; c++)
		if (b->mode[c] != INLAY_OFF)
			active = true;
}

bool verdict_active(void)
{
	return active;
}

static enum inlay_mode mode_of(enum inlay_control c)
{
	return bundle_mode_now(bundle, c, (int64_t)time(NULL));
}

static void subject_init(struct subject *s)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->path_fd = -1;
}

static void subject_close(struct subject *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->path_fd >= 0)
		close(s->path_fd);
	s->fd = s->path_fd = -1;
}

static const uint8_t *subject_sha(struct subject *s)
{
	if (s->sha_state == 0) {
		struct file_key k;
		file_key_from_stat(&k, &s->st);
		if (hashcache_get(&k, s->sha)) {
			s->sha_state = 1;
		} else {
			if (s->fd < 0 && s->path_fd >= 0) {
				char self[48];
				snprintf(self, sizeof self, "/proc/self/fd/%d", s->path_fd);
				s->fd = open_cloexec(self, O_RDONLY | O_NOCTTY | O_NONBLOCK);
			} else if (s->fd < 0 && s->exe_of > 0) {
				/* hashcache_hash_fd checks the fd against s->st (ESTALE otherwise) */
				s->fd = procfs_open_as_tracee(s->exe_of, "exe", O_RDONLY);
			}
			if (s->fd >= 0 && hashcache_hash_fd(s->fd, &s->st, s->sha) == 0) {
				s->sha_state = 1;
			} else {
				s->sha_state = -1;
				s->sha_errno = errno;
			}
		}
	}
	return s->sha_state == 1 ? s->sha : NULL;
}

static struct finding *add(struct findings *fs, const char *kind, const char *severity,
			   const char *rule, enum inlay_mode m)
{
	static struct finding spare;
	struct finding *f = fs->n < MAX_FINDINGS ? &fs->f[fs->n++] : &spare;
	f->kind = kind;
	f->severity = severity;
	f->rule = rule;
	f->mode = m;
	f->about = fs->cur;
	f->reason[0] = '\0';
	if (m == INLAY_ENFORCE)
		fs->deny = true;
	return f;
}

static void add_error(struct findings *fs, enum inlay_mode m, const char *rule, const char *what,
		      int err)
{
	struct finding *f = add(fs, "exec.error", "medium", rule, m);
	snprintf(f->reason, sizeof f->reason, "cannot %s: %s", what, strerror(err));
}

static bool is_loader_name(const char *path)
{
	if (!path)
		return false;
	const char *base = path_basename(path);
	for (size_t i = 0; i < sizeof loader_globs / sizeof loader_globs[0]; i++)
		if (match_glob(loader_globs[i], base))
			return true;
	return false;
}

static const char *list_rule(const char *prefix, const char *which)
{
	/* exelist_match names "name", "path" or "sha256": map to the documented rule ids */
	if (strcmp(prefix, "blocklist") == 0) {
		if (strcmp(which, "name") == 0)
			return "blocklist.name";
		if (strcmp(which, "path") == 0)
			return "blocklist.path";
		return "blocklist.sha256";
	}
	return "allowlist";
}

/* Matches s against one block list. The caller's name for the file counts for the basename rules
 * only (the applet symlink /bin/nc of busybox): its directories may be relative to a chroot. */
static bool block_match(const struct exelist *l, struct subject *s, const char **which)
{
	const uint8_t *sha = l->n_sha ? subject_sha(s) : NULL;
	struct exelist names_only = *l;
	names_only.n_globs = 0;
	names_only.n_sha = 0;
	return exelist_match(l, s->path, sha, which) || (s->alias && exelist_match(&names_only, s->alias, NULL, which));
}

/* Applies every control to s. script: s is the script of an interpreter (no loader rule).
 * advisory: drop error findings (entry stop: the exec stop decides those). */
static void evaluate(struct subject *s, bool script, bool advisory, struct findings *fs)
{
	const char *what = script ? "script" : "executed file";
	enum inlay_mode m;

	if ((m = mode_of(CTL_FILELESS)) != INLAY_OFF && s->st.st_nlink == 0) {
		bool memfd = s->path && strncmp(s->path, "/memfd:", 7) == 0;
		struct finding *f = add(fs, "exec.fileless", "critical",
					memfd ? "fileless.memfd" : "fileless.deleted", m);
		snprintf(f->reason, sizeof f->reason, "%s has no link on disk (%s)", what,
			 memfd ? "a memfd" : "deleted or never linked");
	}
	if (!script && (m = mode_of(CTL_LOADER)) != INLAY_OFF &&
	    (is_loader_name(s->path) || is_loader_name(s->alias))) {
		struct finding *f = add(fs, "exec.loader", "high", "loader.direct", m);
		snprintf(f->reason, sizeof f->reason,
			 "the dynamic loader was executed directly, which runs a program without executing it");
	}
	if ((m = mode_of(CTL_BLOCKLIST)) != INLAY_OFF) {
		/* Entries without a mode token take the control's mode, "audit" entries only alert; the
		 * strongest matching entry decides, so the control's own list is consulted first. */
		const char *which = NULL;
		enum inlay_mode hit = INLAY_OFF;
		if (block_match(&bundle->block, s, &which))
			hit = m;
		else if (block_match(&bundle->block_audit, s, &which))
			hit = INLAY_AUDIT;
		if (hit != INLAY_OFF) {
			struct finding *f = add(fs, "exec.blocked", "high", list_rule("blocklist", which), hit);
			snprintf(f->reason, sizeof f->reason, "%s matches a block list entry by %s", what, which);
		} else if (!advisory && (bundle->block.n_sha || bundle->block_audit.n_sha) && !subject_sha(s)) {
			/* A hash the block list needed could not be computed: as strong as the strongest
			 * list that has hashes. */
			add_error(fs, bundle->block.n_sha ? m : INLAY_AUDIT, "error.hash", "hash the file for the block list",
				  s->sha_errno);
		}
	}
	if ((m = mode_of(CTL_ALLOWLIST)) != INLAY_OFF) {
		/* Names and globs match the resolved path only: an alias is chosen by the caller
		 * (a symlink named like an allowed program) and would open a bypass. */
		const struct exelist *l = &bundle->allow;
		const uint8_t *sha = l->n_sha ? subject_sha(s) : NULL;
		if (!exelist_match(l, s->path, sha, NULL)) {
			if (l->n_sha && !sha) {
				if (!advisory)
					add_error(fs, m, "error.hash", "hash the file for the allow list", s->sha_errno);
			} else {
				struct finding *f = add(fs, "exec.not-allowed", "high", "allowlist", m);
				snprintf(f->reason, sizeof f->reason, "%s is not on the allow list", what);
			}
		}
	}
	if ((m = mode_of(CTL_DRIFT)) != INLAY_OFF) {
		if (bundle->drift_ctime) {
			int64_t ctime_ns = (int64_t)s->st.st_ctim.tv_sec * 1000000000 + s->st.st_ctim.tv_nsec;
			if (ctime_ns >= start_ns) {
				struct finding *f = add(fs, "exec.drift", "high", "drift.ctime", m);
				snprintf(f->reason, sizeof f->reason,
					 "%s was created or changed after the enforcer started", what);
			}
		} else {
			const uint8_t *sha = subject_sha(s);
			if (!sha) {
				if (!advisory)
					add_error(fs, m, "error.hash", "hash the file for the drift check", s->sha_errno);
			} else if (!bundle_manifest_has(bundle, sha)) {
				struct finding *f = add(fs, "exec.drift", "high", "drift.manifest", m);
				snprintf(f->reason, sizeof f->reason, "%s is not in the image manifest", what);
			} else if (bundle->drift_path_strict && !(s->path && bundle_manifest_has_at(bundle, sha, s->path)) &&
				   (s->path || !advisory)) {
				/* Path-strict: image content counts only at one of its image paths. s->path is
				 * the kernel's name of the file (symlinks resolved, the hard link the exec
				 * used); unknown at the exec stop means drift (fail closed). */
				struct finding *f = add(fs, "exec.drift", "high", "drift.path", m);
				snprintf(f->reason, sizeof f->reason, "content of %s executed from %s",
					 bundle_manifest_path(bundle, sha), s->path ? s->path : "a path that cannot be read");
			}
		}
	}
}

/* The strictest mode among the active controls: what an error that prevents every check gets. */
static enum inlay_mode strictest_mode(void)
{
	enum inlay_mode worst = INLAY_OFF;
	for (int c = 0; c < CTL_EXEC_COUNT; c++) {
		enum inlay_mode m = mode_of((enum inlay_control)c);
		if (m > worst)
			worst = m;
	}
	return worst;
}

struct proc_view {
	const char *stage;
	pid_t pid;
	uint64_t remote_argv; /* entry stage: argv pointer of the pending exec (0: use cmdline) */
	struct subject *exe, *script; /* script may be NULL with script_name set (not opened) */
	const char *script_name;
	unsigned script_depth;        /* >= 2: script is an interpreter in a #! chain */
};

static void emit_one(const struct proc_view *v, const char *kind, const char *severity,
		     const char *action, const char *mode, const char *rule, const char *reason,
		     const char *error_detail)
{
	static char argbuf[EVENTS_ARGV_MAX_BYTES + 512];
	static char cwd[PATH_MAX];
	const char *argv[EVENTS_ARGV_MAX_ITEMS];
	size_t argc = 0;
	int truncated = 0;
	struct event_process p = { 0 };
	pid_t ppid = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	/* Tolerated: a tracee killed meanwhile leaves these fields zero or absent. */
	(void)procfs_read_ids(v->pid, &ppid, &uid, &gid);
	p.pid = v->pid;
	p.ppid = ppid;
	p.uid = uid;
	p.exe = v->exe && v->exe->path ? v->exe->path : "";
	char sha_hex[65], script_hex[65];
	const uint8_t *sha = v->exe ? subject_sha(v->exe) : NULL;
	if (sha) {
		sha256_hex_encode(sha, sha_hex);
		p.sha256_hex = sha_hex;
	}
	if (v->remote_argv)
		(void)procfs_read_remote_argv(v->pid, v->remote_argv, argbuf, sizeof argbuf, argv,
					      EVENTS_ARGV_MAX_ITEMS, &argc, &truncated);
	else
		(void)procfs_read_cmdline(v->pid, argbuf, sizeof argbuf, argv, EVENTS_ARGV_MAX_ITEMS,
					  &argc, &truncated);
	p.argv = argv;
	p.argc = argc;
	if (procfs_readlink(v->pid, "cwd", cwd, sizeof cwd) >= 0)
		p.cwd = cwd;
	if (v->script_name) {
		p.script = v->script_name;
		const uint8_t *ssha = v->script ? subject_sha(v->script) : NULL;
		if (ssha) {
			sha256_hex_encode(ssha, script_hex);
			p.script_sha256_hex = script_hex;
		}
	}
	char detail[512];
	struct json j;
	json_init(&j, detail, sizeof detail);
	json_begin_object(&j);
	json_key(&j, "stage");
	json_str(&j, v->stage);
	if (truncated) {
		json_key(&j, "argv_truncated");
		json_bool(&j, true);
	}
	if (v->script_depth >= 2) {
		json_key(&j, "script_depth");
		json_int(&j, (int64_t)v->script_depth);
	}
	if (error_detail) {
		json_key(&j, "error");
		json_str(&j, error_detail);
	}
	json_end_object(&j);
	struct event ev = {
		.kind = kind, .severity = severity, .action = action, .mode = mode, .rule = rule,
		.reason = reason, .process = &p, .detail_json = j.overflow ? NULL : detail,
	};
	events_emit(&ev);
}

static void emit_findings(const struct proc_view *v, const struct findings *fs)
{
	for (unsigned i = 0; i < fs->n && i < MAX_FINDINGS; i++) {
		const struct finding *f = &fs->f[i];
		bool enforce = f->mode == INLAY_ENFORCE;
		struct proc_view fv = *v;
		if (f->about.depth >= 2) { /* an interpreter of the chain: name it, not the first script */
			fv.script = f->about.script;
			fv.script_name = f->about.name;
			fv.script_depth = f->about.depth;
		}
		emit_one(&fv, f->kind, f->severity, enforce ? "deny" : "alert", mode_name(f->mode), f->rule,
			 f->reason, NULL);
	}
}

/* Names that mean something else for the enforcer than for the caller: "self" in /proc is
 * whoever opens it. Rewritten to the caller's /proc/PID entries (busybox re-executes itself
 * as /proc/self/exe; fexecve and scripts run from an fd use /dev/fd/N). */
static int rewrite_self(char *buf, size_t cap, pid_t pid, const char *name)
{
	static const char *const std[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
	for (int i = 0; i < 3; i++)
		if (strcmp(name, std[i]) == 0)
			return snprintf(buf, cap, "/proc/%d/fd/%d", (int)pid, i);
	if (strncmp(name, "/dev/fd/", 8) == 0)
		return snprintf(buf, cap, "/proc/%d/fd/%s", (int)pid, name + 8);
	if (strncmp(name, "/proc/self/", 11) == 0)
		return snprintf(buf, cap, "/proc/%d/%s", (int)pid, name + 11);
	if (strncmp(name, "/proc/thread-self/", 18) == 0)
		return snprintf(buf, cap, "/proc/%d/task/%d/%s", (int)pid, (int)pid, name + 18);
	return 0;
}

/* Whether rewrite_self maps name to the caller's own /proc entries. */
static bool names_own_entry(pid_t pid, const char *name)
{
	char buf[64];
	return rewrite_self(buf, sizeof buf, pid, name) != 0;
}

/* Opens what `name` (as the tracee pid would resolve it) names, without following it into a
 * device or FIFO: an O_PATH fd, kept only for a regular file. Relative names resolve against
 * the tracee's cwd or dirfd, absolute names against its root, all through /proc/PID. An
 * absolute symlink met on the way resolves against our root, and a symlink into /proc/self
 * names ours (the advisory check may then miss or refuse wrongly; the exec check is exact). */
static int open_as_named(pid_t pid, int dirfd, const char *name, bool empty_path, bool nofollow,
			 struct stat *st)
{
	char buf[PATH_MAX + 64];
	int n;
	bool via_root = false;
	if (empty_path && name[0] == '\0')
		n = snprintf(buf, sizeof buf, "/proc/%d/fd/%d", (int)pid, dirfd);
	else if ((n = rewrite_self(buf, sizeof buf, pid, name)) != 0)
		;
	else if (name[0] == '/') { /* through the tracee's root, which a chroot may have moved */
		n = snprintf(buf, sizeof buf, "/proc/%d/root%s", (int)pid, name);
		via_root = true;
	} else if (dirfd == AT_FDCWD)
		n = snprintf(buf, sizeof buf, "/proc/%d/cwd/%s", (int)pid, name);
	else
		n = snprintf(buf, sizeof buf, "/proc/%d/fd/%d/%s", (int)pid, dirfd, name);
	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open_cloexec(buf, O_PATH | (nofollow ? O_NOFOLLOW : 0));
	/* /proc/PID/root needs ptrace access to a tracee that switched uid: fall back to our root,
	 * which is the workload's unless it chroots (the exec stop is exact either way). */
	if (fd < 0 && via_root && (errno == EACCES || errno == EPERM))
		fd = open_cloexec(name, O_PATH | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		errno = EACCES; /* the kernel refuses to execute anything else */
		return -1;
	}
	return fd;
}

static ssize_t fd_path(int fd, char *buf, size_t cap)
{
	char self[48];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(self, buf, cap - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The exec stop's common case in two syscalls: stat and readlink of /proc/PID/exe, which keep
 * naming the new image while the tracee stays stopped (the mm an exec creates is shared with no
 * one, so nothing can swap its exe file). The file itself is opened only to hash it. Returns
 * false on any failure: the caller then opens it, which handles every error. */
static bool stat_exe(pid_t pid, struct subject *s, char *path, size_t cap)
{
	char link[48];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	if (stat(link, &s->st) < 0)
		return false;
	ssize_t n = readlink(link, path, cap - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	s->path = path;
	s->exe_of = pid;
	return true;
}

/* Reads the first SHEBANG_BUF bytes of s, as the kernel does to pick a binary format. Opens s
 * for reading through its O_PATH fd, keeping the fd for the hash. EINTR is retried; any other
 * error (EACCES for a script that is --x for us, EIO) returns -1 with errno and the caller fails
 * closed: the kernel reads a #! line without read permission, so a script we cannot read may
 * still chain to an interpreter we would never see. */
static ssize_t read_head(struct subject *s, char *buf)
{
	if (s->fd < 0) {
		char self[48];
		snprintf(self, sizeof self, "/proc/self/fd/%d", s->path_fd);
		s->fd = open_cloexec(self, O_RDONLY | O_NOCTTY | O_NONBLOCK);
		if (s->fd < 0)
			return -1;
	}
	size_t got = 0;
	while (got < SHEBANG_BUF) {
		/* pread: the offset stays where hashing expects it (it seeks to 0 anyway) */
		ssize_t n = pread(s->fd, buf + got, SHEBANG_BUF - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue; /* tolerated: retry */
		if (n < 0)
			return -1;
		if (n == 0)
			break; /* end of file: the kernel pads with NUL (shebang_parse does) */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Follows the #! chain from sc[0], the script the exec named (open and judged already), the way
 * the kernel did, and judges every file in it that is not the exe as a script: without this an
 * image script with `#!/writable/interp`, itself a dropped `#!/bin/sh` script, runs interp
 * under drift enforce (the exe, the shell, and the named script both pass). Each interpreter
 * name is resolved like the kernel's open_exec for the tracee (its root, its cwd for relative
 * names). A link we cannot read, parse or open, or a chain longer than the kernel allows, is an
 * error in the strictest active mode: the kernel did get through it, so we would skip a file
 * that runs. A file in the chain that is not a #! script (binfmt_misc's input, or a file that
 * changed since the kernel read it) is judged and ends the walk. Best effort like the script
 * check: each interpreter reopens its script by name. sc[1..] and names are filled here; *used
 * says how many of sc are open. */
static void judge_chain(pid_t pid, const struct stat *exe_st, struct subject sc[MAX_SCRIPTS],
			char names[MAX_SCRIPTS + 1][SHEBANG_BUF], char paths[MAX_SCRIPTS][PATH_MAX],
			const char *first_name, unsigned *used, struct findings *fs)
{
	enum inlay_mode strict = strictest_mode();
	if (strict == INLAY_OFF)
		return; /* only execs are reported: no control would use what we find */
	const char *name = first_name;
	for (unsigned i = 0;; i++) {
		char head[SHEBANG_BUF];
		fs->cur = (struct about){ .script = &sc[i], .name = name, .depth = i + 1 };
		ssize_t n = read_head(&sc[i], head);
		if (n < 0) {
			add_error(fs, strict, "error.open", "read the #! line of the script", errno);
			return;
		}
		char *next = names[i + 1]; /* outlives the findings that name it */
		enum shebang r = shebang_parse(head, (size_t)n, next);
		if (r == SHEBANG_NONE)
			return;
		if (r == SHEBANG_BAD) {
			add_error(fs, strict, "error.open", "parse the #! line of the script", ENOEXEC);
			return;
		}
		struct stat st;
		int fd = open_as_named(pid, AT_FDCWD, next, false, false, &st);
		fs->cur = (struct about){ .script = NULL, .name = next, .depth = i + 2 };
		if (fd < 0) {
			add_error(fs, strict, "error.open", "open the interpreter of the script", errno);
			return;
		}
		if (st.st_dev == exe_st->st_dev && st.st_ino == exe_st->st_ino) {
			close(fd);
			return; /* the chain ends at the executed file, judged as the exe */
		}
		if (i + 1 >= MAX_SCRIPTS) {
			close(fd);
			add_error(fs, strict, "error.open", "follow a #! chain longer than the kernel's",
				  ELOOP);
			return;
		}
		struct subject *s = &sc[i + 1];
		subject_init(s);
		s->path_fd = fd;
		s->st = st;
		if (fd_path(fd, paths[i + 1], PATH_MAX) >= 0)
			s->path = paths[i + 1];
		s->alias = next;
		*used = i + 2;
		fs->cur.script = s;
		evaluate(s, true, false, fs);
		name = next;
	}
}

bool verdict_on_exec(pid_t pid)
{
	if (!active)
		return false;
	static char exe_path[PATH_MAX], alias[PATH_MAX], script_path[MAX_SCRIPTS][PATH_MAX];
	static char interp_name[MAX_SCRIPTS + 1][SHEBANG_BUF];
	struct subject exe, sc[MAX_SCRIPTS]; /* sc[0]: the script the exec named; sc[1..]: its chain */
	struct subject *const script = &sc[0];
	unsigned scripts_open = 1;
	subject_init(&exe);
	subject_init(script);
	struct findings fs = { .n = 0, .deny = false };
	struct proc_view view = { .stage = "exec", .pid = pid, .exe = &exe };

	if (stat_exe(pid, &exe, exe_path, sizeof exe_path))
		goto judge;
	exe.fd = procfs_open_as_tracee(pid, "exe", O_RDONLY);
	if (exe.fd < 0 && (errno == ENOENT || errno == ESRCH)) {
		/* The stopped tracee was SIGKILLed meanwhile (nothing else removes /proc/PID or its exe
		 * before it runs). Kill again, harmlessly, and report nothing about a dead process. */
		return true;
	}
	if (exe.fd < 0 || fstat(exe.fd, &exe.st) < 0) {
		int err = errno;
		enum inlay_mode m = strictest_mode();
		if (m != INLAY_OFF) {
			add_error(&fs, m, "error.open", "open the executed file", err);
			emit_findings(&view, &fs);
		}
		subject_close(&exe);
		return fs.deny;
	}
	if (fd_path(exe.fd, exe_path, sizeof exe_path) >= 0)
		exe.path = exe_path;

judge:;

	/* The entry stop's hint says whether the file named is the file executed; without it, or
	 * when they differ (a script, binfmt_misc, a swapped path), AT_EXECFN tells what was named.
	 * The hint must come from the thread that made this exec: after an exec from a secondary
	 * thread the leader's slot may still hold the hint of an exec of its own that failed (E2BIG,
	 * a denied entry), which would vouch for an inode that was never named here. */
	uint64_t hdev = 0, hino = 0;
	unsigned long former = 0;
	pid_t execer = pid;
	if (ptrace(PTRACE_GETEVENTMSG, pid, NULL, &former) == 0)
		execer = (pid_t)former;
	bool hinted = exec_hint_take(execer, &hdev, &hino);
	if (execer != pid)
		exec_hint_drop(pid);
	bool same = hinted && hdev == (uint64_t)exe.st.st_dev && hino == (uint64_t)exe.st.st_ino;
	bool names_matter = bundle_mode_now(bundle, CTL_BLOCKLIST, (int64_t)time(NULL)) != INLAY_OFF &&
			    (bundle->block.n_names || bundle->block.n_globs || bundle->block_audit.n_names ||
			     bundle->block_audit.n_globs);
	if (!same || names_matter) {
		if (procfs_read_execfn(pid, alias, sizeof alias) >= 0)
			exe.alias = alias;
	}
	if (!same && exe.alias) {
		script->path_fd = open_as_named(pid, AT_FDCWD, exe.alias, false, false, &script->st);
		if (script->path_fd >= 0 &&
		    (script->st.st_dev != exe.st.st_dev || script->st.st_ino != exe.st.st_ino)) {
			if (fd_path(script->path_fd, script_path[0], PATH_MAX) >= 0)
				script->path = script_path[0];
			view.script = script;
			view.script_name = exe.alias;
		} else if (script->path_fd < 0 && (errno != ENOENT || !names_own_entry(pid, exe.alias))) {
			/* The interpreter reopens the script by name; we could not. A missing file is
			 * harmless only for a name of the caller's own /proc entries (a close-on-exec
			 * /dev/fd/N is gone after the exec, for the interpreter too). Anything else that
			 * is missing for us but was there for the kernel resolved differently for us: a
			 * symlink into /proc/self or a spelling like //proc/self/fd/N names our entries,
			 * not the caller's, and would skip the script check. */
			enum inlay_mode m = strictest_mode();
			if (m != INLAY_OFF)
				add_error(&fs, m, "error.open", "open the script", errno);
		}
	}

	evaluate(&exe, false, false, &fs);
	if (view.script) {
		fs.cur = (struct about){ .script = script, .name = exe.alias, .depth = 1 };
		evaluate(script, true, false, &fs);
		judge_chain(pid, &exe.st, sc, interp_name, script_path, exe.alias, &scripts_open, &fs);
	}
	bool rt_kill = rtctl_on_exec(pid, exe.path, (unsigned)exe.st.st_mode);
	if (fs.n > 0)
		emit_findings(&view, &fs);
	else if (bundle->report_execs)
		emit_one(&view, "process.exec", "info", "allow", "none", "", "executed file was allowed", NULL);
	subject_close(&exe);
	for (unsigned i = 0; i < scripts_open; i++)
		subject_close(&sc[i]);
	return fs.deny || rt_kill;
}

int verdict_on_entry(pid_t tid, uint64_t nr, const uint64_t args[6])
{
	if (!active)
		return 0;
	static char name[PATH_MAX], resolved[PATH_MAX];
	int dirfd = AT_FDCWD;
	uint64_t name_ptr, argv_ptr, flags = 0;
	if (nr == (uint64_t)__NR_execve) {
		name_ptr = args[0];
		argv_ptr = args[1];
	} else if (nr == (uint64_t)__NR_execveat) {
		dirfd = (int)args[0];
		name_ptr = args[1];
		argv_ptr = args[2];
		flags = args[4];
	} else {
		return 0;
	}
	if (procfs_read_string(tid, name_ptr, name, sizeof name) < 0)
		return 0; /* the kernel will fail it too (EFAULT, ENAMETOOLONG) or the exec stop decides */

	struct subject s;
	subject_init(&s);
	s.path_fd = open_as_named(tid, dirfd, name, (flags & AT_EMPTY_PATH) != 0,
				  (flags & AT_SYMLINK_NOFOLLOW) != 0, &s.st);
	if (s.path_fd < 0)
		return 0;
	exec_hint_put(tid, (uint64_t)s.st.st_dev, (uint64_t)s.st.st_ino);
	if (fd_path(s.path_fd, resolved, sizeof resolved) >= 0)
		s.path = resolved;
	s.alias = name[0] ? name : NULL;

	struct findings fs = { .n = 0, .deny = false };
	evaluate(&s, false, true, &fs);
	int ret = 0;
	if (fs.deny) {
		struct proc_view view = { .stage = "entry", .pid = tid, .remote_argv = argv_ptr, .exe = &s };
		emit_findings(&view, &fs);
		ret = EACCES;
	}
	subject_close(&s);
	return ret;
}
