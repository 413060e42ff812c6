/* Privilege control: setuid/setgid/capset calls and execs of setuid/setgid files are reported
 * (alert in audit mode; in enforce mode the calls fail with EPERM and the exec is killed). Under
 * the enforcer's no_new_privs a setuid bit grants nothing, so an exec of such a file is a sign
 * of someone trying, not a privilege gained. */
#include "rtctl.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static const char *setid_name(uint64_t nr)
{
	switch (nr) {
	case __NR_setuid: return "setuid";
	case __NR_setgid: return "setgid";
	case __NR_setreuid: return "setreuid";
	case __NR_setregid: return "setregid";
	case __NR_setresuid: return "setresuid";
	case __NR_setresgid: return "setresgid";
	case __NR_setfsuid: return "setfsuid";
	case __NR_setfsgid: return "setfsgid";
	case __NR_setgroups: return "setgroups";
	case __NR_capset: return "capset";
	default: return NULL;
	}
}

int privctl_entry(pid_t tid, uint64_t nr, const uint64_t args[6])
{
	if (!(rtctl_live_traps() & TRAP_PRIVILEGE))
		return -1;
	const char *call = setid_name(nr);
	if (!call)
		return -1;
	enum inlay_mode m = rt_mode(CTL_PRIVILEGE);
	bool deny = m == INLAY_ENFORCE;
	char reason[160], detail[160];
	snprintf(reason, sizeof reason, "the process called %s to change its identity or capabilities", call);
	snprintf(detail, sizeof detail, "{\"syscall\":\"%s\",\"arg0\":%lld}", call, (long long)args[0]);
	rt_emit(tid, "privilege.setid-call", "medium", m, deny, "privilege.setid-call", reason, detail);
	return deny ? EPERM : 0;
}

bool privctl_exec(pid_t pid, const char *exe_path, unsigned st_mode)
{
	(void)exe_path;
	if (!(st_mode & (S_ISUID | S_ISGID)))
		return false;
	enum inlay_mode m = rt_mode(CTL_PRIVILEGE);
	bool deny = m == INLAY_ENFORCE;
	char reason[160];
	snprintf(reason, sizeof reason, "executed a %s file", (st_mode & S_ISUID) ? "setuid" : "setgid");
	rt_emit(pid, "privilege.setuid-exec", "medium", m, deny, "privilege.setuid-exec", reason, NULL);
	return deny;
}
