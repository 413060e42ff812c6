/* inlay-enforcer: runs a workload as PID 1 under a seccomp prefilter and a ptrace supervisor,
 * judges every exec against the bundle, and reports NDJSON events (docs/enforcer.md).
 *
 * Phases (catatonit's rule): until the workload is released, any failure ends the enforcer with
 * a documented code (124 configuration, 125 protection unavailable, 126/127 exec) and the
 * workload never runs unsupervised. Once it runs, the enforcer must survive every recoverable
 * error, because its death kills the workload (PID 1, PTRACE_O_EXITKILL). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "bundle.h"
#include "dormancy.h"
#include "events.h"
#include "fds.h"
#include "filter.h"
#include "rtctl.h"
#include "sigfwd.h"
#include "sigmask.h"
#include "startstop.h"
#include "json.h"
#include "platform_pub.h"
#include "policy.h"
#include "reporter.h"
#include "spawn.h"
#include "syscall_deny.h"
#include "tracer.h"
#include "verdict.h"

#define EXIT_CONFIG 124
#define EXIT_UNPROTECTED 125
/* How long a dormant enforcer may delay the workload to register; how long the last events may
 * delay the container's exit when the console is slow or down. */
#define REPORTER_DORMANT_WAIT_MS 2000
#define REPORTER_EXIT_FLUSH_MS 3000
/* How long the last events may delay an exit that a stop request asked for during start-up:
 * `docker stop` waits 10 s before it kills, and the reporter's join adds 500 ms. */
#define REPORTER_STOP_FLUSH_MS 500
/* Each metadata endpoint request without a console (the reporter uses the same bound). */
#define PLATFORM_FETCH_TIMEOUT_MS 1500

static const char usage[] =
	"usage: inlay-enforcer [options] [--] PROGRAM [ARGS...]\n"
	"\n"
	"Runs PROGRAM as the supervised workload of this container.\n"
	"\n"
	"  --bundle PATH        the policy bundle (default: 'bundle' next to this binary)\n"
	"  --events SINK        stderr (default), stdout, fd:N or file:PATH\n"
	"  --fail-open          run unprotected (with a critical event) when ptrace or\n"
	"                       seccomp is unavailable, instead of refusing to start\n"
	"  -g, --pgroup         forward signals to the workload's process group\n"
	"  --check-bundle FILE  parse FILE, print its id and exit (0 valid, 124 invalid)\n"
	"  --version            print the version and exit\n"
	"  --help               print this help and exit\n"
	"\n"
	"Exit status: the workload's, or 128+N when signal N killed it (or stopped the\n"
	"enforcer before it started the workload); 124 bad configuration; 125 protection\n"
	"unavailable (fail-closed); 126 PROGRAM not executable; 127 PROGRAM not found.\n";

static _Noreturn void die_config(const char *a, const char *b)
{
	fprintf(stderr, "inlay-enforcer: %s%s\n", a, b ? b : "");
	exit(EXIT_CONFIG);
}

/* Set-up that is not the user's configuration failed: the workload cannot be protected. */
static _Noreturn void die_unprotected(const char *a, const char *b)
{
	fprintf(stderr, "inlay-enforcer: %s%s\n", a, b);
	exit(EXIT_UNPROTECTED);
}

static _Noreturn void check_bundle(const char *path)
{
	struct bundle b;
	char err[512];
	bundle_defaults(&b);
	if (bundle_load(path, &b, err, sizeof err) < 0)
		die_config("invalid bundle: ", err);
	printf("%s\n", b.id);
	bundle_free(&b);
	exit(fflush(stdout) == 0 ? 0 : EXIT_CONFIG);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	char err[512];
	switch (argv_parse_options(argc, argv, o, err, sizeof err)) {
	case ARGV_RUN:
		return;
	case ARGV_VERSION:
		printf("inlay-enforcer %s\n", INLAY_VERSION);
		exit(fflush(stdout) == 0 ? 0 : EXIT_CONFIG);
	case ARGV_HELP:
		fputs(usage, stdout);
		exit(fflush(stdout) == 0 ? 0 : EXIT_CONFIG);
	case ARGV_CHECK:
		check_bundle(o->check_bundle);
		break;
	case ARGV_ERROR:
	default:
		die_config(err, NULL);
	}
}

/* The sink's descriptor when it is "fd:N", so closing inherited descriptors keeps it. */
static int events_fd(const char *sink)
{
	if (!sink || strncmp(sink, "fd:", 3) != 0)
		return -1;
	char *end;
	long fd = strtol(sink + 3, &end, 10);
	if (*end != '\0' || sink[3] == '\0' || fd < 0 || fd > INT_MAX)
		die_config("--events fd:N needs a decimal descriptor, got ", sink);
	/* Checked before fds_close_inherited, whose F_GETFD on the kept descriptor would otherwise
	 * report a sink that was never open as a set-up failure (125) instead of a bad event sink
	 * (124). EBADF is the expected error; any other is reported the same way. */
	if (fcntl((int)fd, F_GETFD) < 0) {
		fprintf(stderr, "inlay-enforcer: cannot open the event sink: event sink \"%s\": descriptor %ld is not open: %s\n",
			sink, fd, strerror(errno));
		exit(EXIT_CONFIG);
	}
	return (int)fd;
}

static void load_bundle(const struct options *o, struct bundle *b)
{
	char path[PATH_MAX], err[1024];
	const char *p = o->bundle;
	bundle_defaults(b);
	if (!p) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n < 0)
			die_config("cannot find the default bundle: readlink /proc/self/exe: ", strerror(errno));
		self[n] = '\0';
		snprintf(path, sizeof path, "%s/bundle", dirname(self));
		struct stat st;
		if (stat(path, &st) < 0) {
			fprintf(stderr, "inlay-enforcer: no bundle at %s (%s); pass --bundle PATH\n", path,
				strerror(errno));
			exit(EXIT_CONFIG);
		}
		p = path;
	}
	if (bundle_load(p, b, err, sizeof err) < 0)
		die_config("invalid bundle: ", err);
}

static void emit_lifecycle(const char *kind, const char *severity, const char *reason,
			   const char *detail)
{
	struct event ev = {
		.kind = kind, .severity = severity, .action = "info", .mode = "none", .rule = "",
		.reason = reason, .detail_json = detail,
	};
	events_emit(&ev);
}

static const char *detail_kv(char *buf, size_t cap, const char *k1, const char *v1,
			     const char *k2, const char *v2)
{
	struct json j;
	json_init(&j, buf, cap);
	json_begin_object(&j);
	json_key(&j, k1);
	json_str(&j, v1);
	if (k2) {
		json_key(&j, k2);
		json_str(&j, v2);
	}
	json_end_object(&j);
	return j.overflow ? NULL : buf;
}

/* A stop request (startstop.h) arrived before the workload started: end start-up now without
 * starting it, as `docker stop` expects of an init. Exits 128+N, the status the container would
 * show had signal N killed its PID 1, and the enforcer's code for a workload killed by N. */
static _Noreturn void stop_startup(int signo, const char *phase)
{
	char line[256], reason[160], detail[128];
	/* One write: the event writer shares stderr and must not split the line. */
	snprintf(line, sizeof line, "inlay-enforcer: stopped by %s during start-up (%s); the workload was not started\n",
		 startstop_name(signo), phase);
	fputs(line, stderr);
	snprintf(reason, sizeof reason, "stopped by %s during start-up, before the workload started",
		 startstop_name(signo));
	struct json j;
	json_init(&j, detail, sizeof detail);
	json_begin_object(&j);
	json_key(&j, "stopped_by");
	json_int(&j, signo);
	json_key(&j, "phase");
	json_str(&j, phase);
	json_end_object(&j);
	emit_lifecycle("enforcer.exit", "info", reason, j.overflow ? NULL : detail);
	events_shutdown(2000);
	reporter_shutdown(REPORTER_STOP_FLUSH_MS);
	exit(128 + signo);
}

/* Blocks every signal but the synchronous faults (they must kill us: a crashed enforcer fails
 * closed) and SIGTTIN/SIGTTOU, which are ignored so that terminal job control can never stop
 * PID 1. Everything blocked is taken by the forwarding thread (sigfwd.c) and forwarded. */
static int setup_signals(sigset_t *set, sigset_t *orig)
{
	sigmask_fill(set); /* 32-34 too (sigmask.h) */
	static const int keep[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU };
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		sigdelset(set, keep[i]);
	if (sigmask_set(set, orig) < 0)
		return -1;
	if (signal(SIGTTIN, SIG_IGN) == SIG_ERR || signal(SIGTTOU, SIG_IGN) == SIG_ERR)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	parse_options(argc, argv, &o);

	/* 1. Signals first: the event writer thread started below inherits the mask, so no
	 *    process-directed signal can ever take its default action on it. */
	sigset_t blocked, orig_mask;
	if (setup_signals(&blocked, &orig_mask) < 0 || startstop_init() < 0)
		die_unprotected("cannot set up signal handling: ", strerror(errno));
	/* File timestamps come from the coarse clock (one tick, up to 10 ms, behind CLOCK_REALTIME):
	 * take the start from the same clock, so a file written in the enforcer's first tick is
	 * never older than its start (drift-source ctime compares with >=). */
	struct timespec start;
	clock_gettime(CLOCK_REALTIME_COARSE, &start);

	/* 2. Nothing inherited reaches the workload. */
	int keep = events_fd(o.events);
	if (fds_close_inherited(keep) < 0)
		die_unprotected("cannot close inherited descriptors: ", strerror(errno));

	/* 3. Policy and reporting. */
	struct bundle b;
	load_bundle(&o, &b);
	char err[512];
	events_set_bundle_id(b.id);
	if (events_init(o.events, err, sizeof err) < 0)
		die_config("cannot open the event sink: ", err);
	/* Platform metadata on every event (docs/enforcer.md, "Platform metadata"): what the
	 * environment tells now; what an endpoint tells later, from a thread, so nothing waits. */
	platform_publish_local();
	/* Console link (docs/enforcer.md, "Reporter"): its own thread, never on the workload's path;
	 * it fetches the platform metadata itself. */
	int linked = reporter_start(&b, err, sizeof err);
	if (linked < 0) {
		events_shutdown(2000);
		die_config("cannot configure the console link: ", err);
	}
	if (linked == 1) {
		int prc = platform_fetch_start(PLATFORM_FETCH_TIMEOUT_MS);
		/* Reporting only, never protection: events keep the environment's platform fields. */
		if (prc != 0)
			fprintf(stderr, "inlay-enforcer: cannot start the platform metadata fetch: %s\n", strerror(prc));
	}

	char path[PATH_MAX];
	int rc = spawn_resolve(o.argv[0], path, sizeof path);
	if (rc != 0) {
		events_shutdown(2000);
		return rc;
	}

	/* 4. Dormancy: leave nothing of the enforcer in the process tree. */
	char dsignal[512], detail[1024];
	if (dormancy_check(&b, dsignal, sizeof dsignal)) {
		emit_lifecycle("enforcer.dormant", "info",
			       "a dormancy signal is present: the workload runs without this enforcer",
			       detail_kv(detail, sizeof detail, "signal", dsignal, NULL, NULL));
		reporter_set_tier("dormant");
		events_shutdown(2000);
		/* Registers once, bounded, so the inventory lists us; a stop request meanwhile ends
		 * it (a pending TERM would otherwise reach the exec'd workload, which as PID 1 without a
		 * handler never sees it). */
		reporter_stop(REPORTER_DORMANT_WAIT_MS);
		int stop;
		(void)startstop_wait(reporter_join, REPORTER_DORMANT_WAIT_MS, &stop); /* 1 ended, 0 not yet */
		reporter_shutdown(0); /* no-op when it ended; else at most 500 ms more, as before */
		if (stop != 0 || (stop = startstop_take()) != 0)
			stop_startup(stop, "dormancy");
		return spawn_exec_direct(path, o.argv, &orig_mask);
	}

	/* 5. PID-1 duties when we are not PID 1: adopt orphans so they are reaped. */
	bool pid1 = getpid() == 1;
	if (!pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "inlay-enforcer: cannot become a subreaper: %s\n", strerror(errno));
		events_shutdown(2000);
		return EXIT_UNPROTECTED;
	}

	/* 6. Probe seccomp, start the child (it waits on a pipe), seize it. */
	const char *unavailable = NULL;
	int unavailable_errno = 0;
	if (filter_probe() < 0) {
		unavailable = "seccomp";
		unavailable_errno = errno;
	}
	/* wait-for-policy: the console's policy is merged before the filter is built, so every control
	 * of it is fully in force from the workload's first instruction. The tier is provisional until
	 * the seize below (heartbeats carry the final one). */
	if (b.wait_for_policy_s > 0) {
		reporter_set_tier(unavailable ? "degraded" : "full");
		int stop;
		int ready = startstop_wait(reporter_wait_ready, b.wait_for_policy_s * 1000, &stop);
		if (stop != 0)
			stop_startup(stop, "wait-for-policy");
		if (ready != 1) {
			if (!b.wait_fail_open) {
				fprintf(stderr, "inlay-enforcer: the console did not answer within %d s (wait-for-policy fail-closed); "
					"not starting the workload\n", b.wait_for_policy_s);
				events_shutdown(2000);
				reporter_shutdown(1000);
				return EXIT_UNPROTECTED;
			}
			emit_lifecycle("enforcer.console", "high",
				       "the console did not answer within wait-for-policy; starting the workload with the baked policy (fail-open)",
				       NULL);
		} else {
			char why[640];
			if (reporter_policy_refusal(why, sizeof why)) {
				if (!b.wait_fail_open) {
					/* One write: the event writer shares stderr and must not split the line. */
					char line[900];
					snprintf(line, sizeof line, "inlay-enforcer: cannot apply the console policy: %s; not starting "
						 "the workload (wait-for-policy fail-closed)\n", why);
					fputs(line, stderr);
					emit_lifecycle("enforcer.refused", "critical",
						       "the console policy cannot be applied and wait-for-policy is fail-closed: the workload was not started",
						       detail_kv(detail, sizeof detail, "cause", why, NULL, NULL));
					events_shutdown(2000);
					reporter_shutdown(2000);
					return EXIT_UNPROTECTED;
				}
				emit_lifecycle("enforcer.degraded", "critical",
					       "the console policy cannot be applied and wait-for-policy is fail-open: the workload runs under the baked policy",
					       detail_kv(detail, sizeof detail, "cause", why, NULL, NULL));
			}
		}
	}
	/* The bundle in force: decides which runtime-control syscalls the filter traps. */
	policy_start(&b, (int64_t)start.tv_sec * 1000000000 + start.tv_nsec);
	struct filter_config fc = { .enforcer_pid = getpid(), .enforcer_pgid = getpgrp(), .wrapper = !pid1,
				    .traps = rtctl_traps() };
	struct spawn sp;
	if (spawn_start(path, o.argv, &orig_mask, &fc, &sp) < 0) {
		fprintf(stderr, "inlay-enforcer: cannot start %s: %s\n", path, strerror(errno));
		events_shutdown(2000);
		return EXIT_UNPROTECTED;
	}
	if (!unavailable && ptrace(PTRACE_SEIZE, sp.pid, NULL, (void *)(long)TRACER_PTRACE_OPTIONS) < 0) {
		unavailable = "ptrace";
		unavailable_errno = errno;
	}
	/* The child was forked dumpable (seizing it needs that without CAP_SYS_PTRACE); from now on
	 * nothing in the workload may read or write our memory. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "inlay-enforcer: cannot make the enforcer non-dumpable: %s\n", strerror(errno));
		spawn_abort(&sp);
		events_shutdown(2000);
		return EXIT_UNPROTECTED;
	}

	bool traced = unavailable == NULL;
	if (!traced) {
		char cause[128];
		snprintf(cause, sizeof cause, "%s unavailable: %s", unavailable, strerror(unavailable_errno));
		if (!(o.fail_open || b.fail_open)) {
			fprintf(stderr,
				"inlay-enforcer: cannot protect the workload: %s; not starting it (fail-mode closed; "
				"use --fail-open or 'fail-mode open' to run it unprotected)\n", cause);
			/* The event stream is where operators look (CloudWatch, the console), so the refusal
			 * is reported there too, not only on stderr. */
			emit_lifecycle("enforcer.refused", "critical",
				       "protection is unavailable and fail-mode is closed: the workload was not started",
				       detail_kv(detail, sizeof detail, "cause", cause, NULL, NULL));
			spawn_abort(&sp);
			events_shutdown(2000);
			return EXIT_UNPROTECTED;
		}
		emit_lifecycle("enforcer.degraded", "critical",
			       "protection is unavailable and fail-open was chosen: the workload runs UNPROTECTED",
			       detail_kv(detail, sizeof detail, "cause", cause, "fail_open",
					 o.fail_open ? "option" : "bundle"));
	}

	/* Last look before the workload runs: a stop request that arrived during the quick steps of
	 * start-up still ends it unstarted. From the forwarder's start on, stop signals are the
	 * workload's. */
	int stop = startstop_take();
	if (stop != 0) {
		spawn_abort(&sp);
		stop_startup(stop, "set-up");
	}
	reporter_set_tier(traced ? "full" : "degraded");
	/* Before the release, so no signal sent once the workload runs can be missed (until then
	 * they stay pending, blocked). */
	int frc = sigfwd_start(sp.pid, o.pgroup, &blocked);
	if (frc != 0) {
		fprintf(stderr, "inlay-enforcer: cannot start the signal forwarder: %s\n", strerror(frc));
		spawn_abort(&sp);
		events_shutdown(2000);
		reporter_shutdown(1000);
		return EXIT_UNPROTECTED;
	}
	if (spawn_release(&sp, traced) < 0) {
		fprintf(stderr, "inlay-enforcer: cannot release the workload: %s\n", strerror(errno));
		spawn_abort(&sp);
		events_shutdown(2000);
		return EXIT_UNPROTECTED;
	}

	/* 7. Serve until the workload ends. */
	struct tracer_result res;
	tracer_run(sp.pid, traced, &res);
	struct json j;
	json_init(&j, detail, sizeof detail);
	json_begin_object(&j);
	json_key(&j, res.signal ? "signal" : "status");
	json_int(&j, res.signal ? res.signal : res.status);
	json_end_object(&j);
	emit_lifecycle("enforcer.exit", "info",
		       res.signal ? "the workload was killed by a signal" : "the workload exited", detail);
	events_shutdown(2000);
	reporter_shutdown(REPORTER_EXIT_FLUSH_MS);
	return res.exit_code;
}
