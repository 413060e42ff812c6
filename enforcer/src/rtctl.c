/* Runtime-control dispatcher: which traps, which control judges which syscall, the table of
 * pending exit checks, and the event helper (see rtctl.h). */
#include "rtctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "procfs.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

const struct bundle *rt_bundle;
static unsigned traps;

/* Pending exit checks: open addressing by tid. A thread has at most one syscall in flight, so
 * the table holds at most one entry per thread stopped between entry and exit. When it is full
 * the entry is refused (EAGAIN) instead of being allowed unchecked. */
#define PENDING_SLOTS 4096u
static struct rt_pending pending[PENDING_SLOTS];

void rtctl_init(const struct bundle *b)
{
	rt_bundle = b;
	traps = 0;
	if (b->mode[CTL_NETWORK] != INLAY_OFF) {
		if (b->rt.n_connect || (b->rt.net_default_set && b->rt.net_default != NET_DEFAULT_ALLOW))
			traps |= TRAP_NET_CONNECT;
		if (b->rt.listen_default_set && b->rt.listen_default != NET_DEFAULT_ALLOW)
			traps |= TRAP_NET_BIND;
	}
	netctl_init();
	if (b->mode[CTL_FILES] != INLAY_OFF && (b->rt.n_readonly || b->rt.n_audited))
		traps |= TRAP_FILES;
	if (b->mode[CTL_PRIVILEGE] != INLAY_OFF)
		traps |= TRAP_PRIVILEGE;
}

unsigned rtctl_traps(void)
{
	return traps;
}

enum inlay_mode rt_mode(enum inlay_control c)
{
	return bundle_mode_now(rt_bundle, c, (int64_t)time(NULL));
}

static struct rt_pending *slot_for(pid_t tid, bool create)
{
	unsigned h = (unsigned)tid * 2654435761u % PENDING_SLOTS;
	for (unsigned i = 0; i < PENDING_SLOTS; i++) {
		struct rt_pending *p = &pending[(h + i) % PENDING_SLOTS];
		if (p->tid == tid)
			return p;
		if (p->tid == 0)
			return create ? p : NULL;
	}
	return NULL;
}

/* Removes p keeping every probe chain intact (backward-shift deletion). */
static void slot_free(struct rt_pending *p)
{
	unsigned i = (unsigned)(p - pending);
	pending[i].tid = 0;
	for (unsigned j = (i + 1) % PENDING_SLOTS; pending[j].tid != 0; j = (j + 1) % PENDING_SLOTS) {
		unsigned home = (unsigned)pending[j].tid * 2654435761u % PENDING_SLOTS;
		/* move j back to i when i lies cyclically in [home, j) */
		bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			pending[i] = pending[j];
			pending[j].tid = 0;
			i = j;
		}
	}
}

int rtctl_on_entry(pid_t tid, uint64_t nr, const uint64_t args[6], bool *want_exit)
{
	struct rt_pending p;
	memset(&p, 0, sizeof p);
	int err = privctl_entry(tid, nr, args);
	if (err < 0)
		err = netctl_entry(tid, nr, args, &p);
	if (err < 0)
		err = filectl_entry(tid, nr, args, &p);
	if (err < 0)
		return 0; /* not ours: an exec, or a syscall of a group we do not judge */
	*want_exit = false;
	if (err == 0 && p.kind != RT_NONE) {
		struct rt_pending *s = slot_for(tid, true);
		if (!s)
			return EAGAIN;
		p.tid = tid;
		*s = p;
		*want_exit = true;
	}
	return err;
}

bool rtctl_on_exit(pid_t tid, int64_t rval, bool is_error)
{
	struct rt_pending *s = slot_for(tid, false);
	if (!s)
		return false;
	struct rt_pending p = *s;
	slot_free(s);
	if (is_error)
		return p.kind == RT_CONNECT && rval == -EINPROGRESS ? netctl_exit(&p, rval) : false;
	return p.kind == RT_OPEN ? filectl_exit(&p, rval) : netctl_exit(&p, rval);
}

void rtctl_drop(pid_t tid)
{
	struct rt_pending *s = slot_for(tid, false);
	if (s)
		slot_free(s);
}

bool rtctl_on_exec(pid_t pid, const char *exe_path, unsigned st_mode)
{
	bool kill = false;
	if (rt_bundle->mode[CTL_PRIVILEGE] != INLAY_OFF && privctl_exec(pid, exe_path, st_mode))
		kill = true;
	if (rt_bundle->mode[CTL_REVSHELL] != INLAY_OFF && revshell_exec(pid, exe_path))
		kill = true;
	return kill;
}

/* The thread group of tid, from /proc/TID/status (pidfd_open needs a group leader). */
static pid_t tgid_of(pid_t tid)
{
	char path[48], status[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	int f = open_cloexec(path, O_RDONLY);
	if (f < 0)
		return -1;
	ssize_t n = read(f, status, sizeof status - 1);
	int saved = errno;
	close(f); /* read-only: a close error loses nothing */
	if (n <= 0) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	status[n] = '\0';
	const char *t = strstr(status, "\nTgid:");
	if (!t) {
		errno = EINVAL;
		return -1;
	}
	return (pid_t)strtol(t + 6, NULL, 10);
}

int rt_grab_fd(pid_t tid, int fd)
{
	pid_t tgid = tgid_of(tid);
	if (tgid <= 0)
		return -1;
	int pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
	if (pidfd < 0)
		return -1;
	/* The new fd is O_CLOEXEC by definition of pidfd_getfd. */
	int got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	int saved = errno;
	close(pidfd);
	errno = saved;
	return got;
}

void rt_format_peer(const uint8_t addr[16], uint16_t port, char *out, size_t cap)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char text[INET6_ADDRSTRLEN];
	if (memcmp(addr, mapped, 12) == 0) {
		if (!inet_ntop(AF_INET, addr + 12, text, sizeof text))
			strcpy(text, "?");
		snprintf(out, cap, "%s:%u", text, (unsigned)port);
	} else {
		if (!inet_ntop(AF_INET6, addr, text, sizeof text))
			strcpy(text, "?");
		snprintf(out, cap, "[%s]:%u", text, (unsigned)port);
	}
}

void rt_emit(pid_t pid, const char *kind, const char *severity, enum inlay_mode mode, bool denied,
	     const char *rule, const char *reason, const char *detail_json)
{
	static char exe[PATH_MAX], cwd[PATH_MAX], argbuf[EVENTS_ARGV_MAX_BYTES + 512];
	const char *argv[EVENTS_ARGV_MAX_ITEMS];
	size_t argc = 0;
	int truncated = 0;
	pid_t ppid = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	/* Tolerated: a tracee that died meanwhile leaves these fields zero or empty. */
	(void)procfs_read_ids(pid, &ppid, &uid, &gid);
	struct event_process proc = { .pid = pid, .ppid = ppid, .uid = uid, .exe = "" };
	if (procfs_readlink(pid, "exe", exe, sizeof exe) >= 0)
		proc.exe = exe;
	if (procfs_read_cmdline(pid, argbuf, sizeof argbuf, argv, EVENTS_ARGV_MAX_ITEMS, &argc, &truncated) == 0) {
		proc.argv = argv;
		proc.argc = argc;
	}
	if (procfs_readlink(pid, "cwd", cwd, sizeof cwd) >= 0)
		proc.cwd = cwd;
	struct event ev = {
		.kind = kind, .severity = severity, .action = denied ? "deny" : "alert", .mode = mode_name(mode),
		.rule = rule, .reason = reason, .process = &proc, .detail_json = detail_json,
	};
	events_emit(&ev);
}
