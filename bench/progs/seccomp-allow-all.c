/* seccomp-allow-all [--spec-allow] -- PROGRAM ARGS...: installs a one-instruction allow-all
 * seccomp filter and execs PROGRAM. This is the floor any seccomp-based enforcer pays on
 * untrapped syscalls (the kernel's slower entry path, plus the speculative-store-bypass
 * mitigation unless SECCOMP_FILTER_FLAG_SPEC_ALLOW is passed). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int i = 1;
	unsigned flags = 0;
	if (i < argc && strcmp(argv[i], "--spec-allow") == 0) { flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW; i++; }
	if (i < argc && strcmp(argv[i], "--") == 0) i++;
	if (i >= argc) { fputs("usage: seccomp-allow-all [--spec-allow] -- PROGRAM ARGS...\n", stderr); return 2; }
	struct sock_filter insn[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = insn };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("prctl"); return 1; }
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0) { perror("seccomp"); return 1; }
	execv(argv[i], argv + i);
	perror("execv");
	return 127;
}
