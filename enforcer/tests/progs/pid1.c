/* Workload behaviours for the PID-1 tests (tini's and dumb-init's suites, ported).
 *
 *   pid1 exit N            exit with status N
 *   pid1 kill-self SIG     die by signal SIG
 *   pid1 wait-signal       print "ready" once handlers are in place, exit with the number of the
 *                          first of TERM/USR1/USR2/HUP/INT received
 *   pid1 pgroup            fork a child in our process group; both wait for SIGTERM; exit 0 when
 *                          the child got it too, 3 when only we did (after 1 s)
 *   pid1 zombies N         make N orphans that exit at once (reparented to PID 1 or the nearest
 *                          subreaper), wait 300 ms, print "zombies=K" for the zombie children of
 *                          that reaper, exit 0
 *   pid1 fds               print "fd N -> TARGET" for every open descriptor but the listing's own
 *   pid1 exe-marker        exit 42 when /proc/self/exe contains "forbidden", else 0
 *   pid1 sigmask           print "blocked=HEX" (SigBlk of /proc/self/status)
 *   pid1 tty               print "foreground=yes|no|notty": is our process group the terminal's
 *                          foreground group
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	if (!got)
		got = sig;
}

static void catch_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGUSR1, SIGUSR2, SIGHUP, SIGINT };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int count_zombie_children(pid_t parent)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char p[300], buf[512];
		snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *rp = strrchr(buf, ')');
		char state;
		int ppid;
		if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 && state == 'Z' && ppid == parent)
			n++;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "exit") == 0 && argc > 2)
		return atoi(argv[2]);
	if (strcmp(mode, "kill-self") == 0 && argc > 2) {
		int sig = atoi(argv[2]);
		signal(sig, SIG_DFL);
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, sig);
		sigprocmask(SIG_UNBLOCK, &s, NULL);
		kill(getpid(), sig);
		sleep_ms(2000);
		return 99;
	}
	if (strcmp(mode, "wait-signal") == 0) {
		catch_signals();
		printf("ready\n");
		fflush(stdout);
		for (int i = 0; i < 300 && !got; i++)
			sleep_ms(100);
		return got ? got : 99;
	}
	if (strcmp(mode, "pgroup") == 0) {
		catch_signals();
		pid_t c = fork();
		if (c == 0) {
			for (int i = 0; i < 300 && !got; i++)
				sleep_ms(100);
			_exit(got == SIGTERM ? 7 : 1);
		}
		printf("ready\n");
		fflush(stdout);
		for (int i = 0; i < 300 && !got; i++)
			sleep_ms(100);
		for (int i = 0; i < 10; i++) {
			int st;
			pid_t r = waitpid(c, &st, WNOHANG);
			if (r == c)
				return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 4;
			sleep_ms(100);
		}
		kill(c, SIGKILL);
		return 3;
	}
	if (strcmp(mode, "zombies") == 0 && argc > 2) {
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++) {
			pid_t c = fork();
			if (c == 0) {
				if (fork() == 0) {
					sleep_ms(50); /* outlive the middle process, then die an orphan */
					_exit(0);
				}
				_exit(0);
			}
			waitpid(c, NULL, 0);
		}
		sleep_ms(400);
		pid_t reaper = getpid() == 1 ? 1 : getppid();
		printf("zombies=%d\n", count_zombie_children(reaper));
		return 0;
	}
	if (strcmp(mode, "fds") == 0) {
		DIR *d = opendir("/proc/self/fd");
		if (!d)
			return 1;
		int self = dirfd(d);
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' || atoi(e->d_name) == self)
				continue;
			char p[300], t[4096];
			snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
			ssize_t k = readlink(p, t, sizeof t - 1);
			t[k < 0 ? 0 : k] = '\0';
			printf("fd %s -> %s\n", e->d_name, t);
		}
		closedir(d);
		return 0;
	}
	if (strcmp(mode, "exe-marker") == 0) {
		char t[4096];
		ssize_t k = readlink("/proc/self/exe", t, sizeof t - 1);
		t[k < 0 ? 0 : k] = '\0';
		return strstr(t, "forbidden") ? 42 : 0;
	}
	if (strcmp(mode, "sigmask") == 0) {
		FILE *f = fopen("/proc/self/status", "re");
		char line[256];
		while (f && fgets(line, sizeof line, f))
			if (strncmp(line, "SigBlk:", 7) == 0)
				printf("blocked=%s", line + 8);
		return 0;
	}
	if (strcmp(mode, "tty") == 0) {
		pid_t fg = tcgetpgrp(STDIN_FILENO);
		printf("foreground=%s\n", fg < 0 ? "notty" : fg == getpgrp() ? "yes" : "no");
		return 0;
	}
	fprintf(stderr, "usage: pid1 exit N|kill-self SIG|wait-signal|pgroup|zombies N|fds|exe-marker|sigmask|tty\n");
	return 2;
}
