/* Event emission: the exact line format (events_format), hostile strings and argv limits, the
 * ring under a sink that does not keep up (every event is either written or counted in an
 * enforcer.dropped event), a dead sink (EPIPE), and the sink specifications. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "json_check.h"
#include "tap.h"

static const char *const HOSTILE = "/tmp/\"x\"\n\\\x1b[2J\xff\xc3";

static void format_exact(void)
{
	static char buf[EVENTS_SLOT_SIZE];
	const char *argv[] = { "/tmp/x", "--flag" };
	struct event_process p = {
		.pid = 42, .ppid = 1, .uid = 0, .exe = "/tmp/x",
		.sha256_hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		.argv = argv, .argc = 2, .cwd = "/",
	};
	struct event ev = {
		.kind = "exec.drift", .severity = "high", .action = "deny", .mode = "enforce",
		.rule = "drift.manifest", .reason = "executed file is not in the image manifest", .process = &p,
	};
	char want[2048];

	events_set_bundle_id("sha256:0e7c000000000000000000000000000000000000000000000000000000000000");
	/* 2026-11-28T22:40:01.123Z */
	size_t n = events_format(&ev, 7, 1795905601123LL, buf, sizeof buf);
	snprintf(want, sizeof want,
		 "{\"schema\":1,\"id\":\"%s-7\",\"time\":\"2026-11-28T22:40:01.123Z\",\"kind\":\"exec.drift\","
		 "\"severity\":\"high\",\"action\":\"deny\",\"mode\":\"enforce\",\"rule\":\"drift.manifest\","
		 "\"reason\":\"executed file is not in the image manifest\",\"process\":{\"pid\":42,\"ppid\":1,"
		 "\"uid\":0,\"exe\":\"/tmp/x\",\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
		 "\"argv\":[\"/tmp/x\",\"--flag\"],\"argv_truncated\":false,\"cwd\":\"/\"},"
		 "\"enforcer\":{\"version\":\"%s\",\"pid\":%d,\"instance\":\"%s\"},\"bundle\":\"sha256:%s\"}\n",
		 events_instance(), INLAY_VERSION, (int)getpid(), events_instance(),
		 "0e7c000000000000000000000000000000000000000000000000000000000000");
	CHECK(n == strlen(want) && strcmp(buf, want) == 0, "\ngot  %.*s\nwant %s", (int)n, buf, want);

	/* Lifecycle event: no process, a detail object, mode "none". */
	struct event life = { .kind = "enforcer.exit", .severity = "info", .action = "info", .mode = "none",
			      .rule = "", .reason = "the workload ended", .detail_json = "{\"status\":3}" };
	n = events_format(&life, 8, 0, buf, sizeof buf);
	CHECK(n > 0 && buf[n - 1] == '\n' && json_check(buf, n - 1), "lifecycle line is JSON: %s", buf);
	CHECK(strstr(buf, "\"time\":\"1970-01-01T00:00:00.000Z\"") && strstr(buf, "\"detail\":{\"status\":3}") &&
		      !strstr(buf, "\"process\""),
	      "lifecycle fields: %s", buf);

	/* Hostile everything: still one line of valid JSON, argv cut per docs, long fields marked. */
	static char longpath[10000];
	memset(longpath, 'p', sizeof longpath - 1);
	longpath[0] = '/';
	static char longarg[6000];
	memset(longarg, '\x01', sizeof longarg - 1);   /* 6 escaped bytes each */
	const char *many[40];
	for (int i = 0; i < 40; i++)
		many[i] = i == 3 ? longarg : HOSTILE;
	static char bigdetail[3000];
	memset(bigdetail, ' ', sizeof bigdetail - 1);
	bigdetail[0] = '{';
	bigdetail[sizeof bigdetail - 2] = '}';
	struct event_process hp = { .pid = 1, .ppid = 0, .uid = 4294967295u, .exe = longpath, .argv = many,
				    .argc = 40, .cwd = longpath, .script = longpath, .script_sha256_hex = NULL };
	struct event hostile = { .kind = HOSTILE, .severity = "high", .action = "alert", .mode = "audit",
				 .rule = HOSTILE, .reason = longpath, .process = &hp, .detail_json = bigdetail };
	n = events_format(&hostile, 9, 1795905601123LL, buf, sizeof buf);
	CHECK(n > 0, "worst case fits one slot");
	CHECK(memchr(buf, '\n', n) == buf + n - 1, "exactly one newline, at the end");
	CHECK(json_check(buf, n - 1), "hostile line is valid JSON: %.*s", (int)n, buf);
	CHECK(strstr(buf, "\"argv_truncated\":true") != NULL, "argv cut");
	CHECK(strstr(buf, "[...]\"") != NULL, "long field marked");
	CHECK(strstr(buf, "\"detail\":{\"detail_truncated\":true}") != NULL, "oversized detail replaced");
	CHECK(strstr(buf, "\"uid\":4294967295") != NULL, "uid unsigned");
	CHECK(strstr(buf, "\\\"x\\\"\\n\\\\\\u001b[2J\\u00ff\\u00c3") != NULL, "hostile escapes");

	/* Too small a buffer is reported, never a partial line. */
	CHECK(events_format(&ev, 7, 0, buf, 100) == 0, "overflow reported");
}

struct reader {
	int fd;
	char *data;
	size_t len, cap;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	for (;;) {
		if (r->cap - r->len < 65536) {
			r->cap = r->cap * 2 + 65536;
			r->data = realloc(r->data, r->cap);
		}
		ssize_t n = read(r->fd, r->data + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		r->len += (size_t)n;
	}
}

/* Floods the ring while nobody reads the pipe, then reads everything back. */
static void ring_and_drops(void)
{
	int p[2];
	char spec[32], err[256];
	const int total = 3000;
	const char *argv[] = { "sh", "-c", "true" };
	struct event_process proc = { .pid = 7, .ppid = 1, .exe = "/bin/sh", .argv = argv, .argc = 3 };

	CHECK(pipe(p) == 0, "pipe");
	snprintf(spec, sizeof spec, "fd:%d", p[1]);
	CHECK(events_init(spec, err, sizeof err) == 0, "events_init: %s", err);
	CHECK(events_init("stderr", err, sizeof err) == -1 && strstr(err, "already called"), "second init refused: %s", err);
	CHECK(strlen(events_instance()) == 32 && strspn(events_instance(), "0123456789abcdef") == 32, "instance hex");
	CHECK((fcntl(p[1], F_GETFD) & FD_CLOEXEC) != 0, "fd sink made close-on-exec");
	events_set_bundle_id("sha256:1111111111111111111111111111111111111111111111111111111111111111");

	for (int i = 0; i < total; i++) {
		struct event ev = { .kind = "process.exec", .severity = "info", .action = "allow", .mode = "audit",
				    .rule = "", .reason = "allowed exec", .process = &proc };
		events_emit(&ev);
	}
	/* Only now start reading: the pipe (64 KiB) and the ring (32 slots) held a fraction. */
	struct reader r = { .fd = p[0] };
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reader_main, &r) == 0, "reader thread");
	uint64_t lost = events_shutdown(5000);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);

	int lines = 0, normal = 0, dropped_events = 0;
	unsigned long long dropped_sum = 0;
	char *s = r.data, *end = r.data + r.len;
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		CHECK(nl != NULL, "last line complete");
		if (!nl)
			break;
		lines++;
		CHECK(json_check(s, (size_t)(nl - s)), "line %d is JSON", lines);
		*nl = '\0'; /* the string searches below stay inside this line */
		CHECK(strstr(s, "\"bundle\":\"sha256:1111") != NULL, "bundle id set");
		if (strstr(s, "\"kind\":\"process.exec\""))
			normal++;
		if (strstr(s, "\"kind\":\"enforcer.dropped\"")) {
			char *c = strstr(s, "\"dropped\":");
			dropped_events++;
			CHECK(c != NULL, "dropped count present");
			if (c)
				dropped_sum += strtoull(c + 10, NULL, 10);
		}
		s = nl + 1;
	}
	printf("ring: %d written, %d dropped in %d enforcer.dropped events, shutdown reported %llu lost\n", normal,
	       (int)dropped_sum, dropped_events, (unsigned long long)lost);
	CHECK(normal + (int)dropped_sum == total, "written %d + dropped %llu == %d", normal, dropped_sum, total);
	CHECK(dropped_sum > 0 && dropped_events >= 1, "the flood must have dropped some");
	CHECK(lost == dropped_sum, "shutdown counts what was lost: %llu vs %llu", (unsigned long long)lost, dropped_sum);
	free(r.data);

	/* After shutdown events are written synchronously to the same sink (here: closed -> lost). */
	struct event late = { .kind = "enforcer.exit", .severity = "info", .action = "info", .mode = "none",
			      .rule = "", .reason = "late" };
	events_emit(&late);
	CHECK(events_shutdown(100) == lost + 1, "a late event to a closed sink is counted");
}

/* A dead sink (reader gone: EPIPE) must not kill the process; events are counted as lost. */
static void dead_sink(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		int p[2];
		char spec[32], err[256];
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigprocmask(SIG_BLOCK, &set, NULL); /* as the tracer does */
		if (pipe(p) != 0)
			_exit(10);
		close(p[0]);
		snprintf(spec, sizeof spec, "fd:%d", p[1]);
		if (events_init(spec, err, sizeof err) != 0)
			_exit(11);
		for (int i = 0; i < 5; i++) {
			struct event ev = { .kind = "enforcer.start", .severity = "info", .action = "info", .mode = "none",
					    .rule = "", .reason = "x" };
			events_emit(&ev);
		}
		_exit(events_shutdown(2000) == 5 ? 0 : 12);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "dead sink child: status 0x%x", st);
}

static void sink_specs(void)
{
	char err[256];
	pid_t pid = fork();
	if (pid == 0) {
		/* Each failing spec leaves the module uninitialised, so they can be tried in a row. */
		if (events_init("fd:", err, sizeof err) == 0 || !strstr(err, "decimal"))
			_exit(1);
		if (events_init("fd:987", err, sizeof err) == 0 || !strstr(err, "not open"))
			_exit(2);
		if (events_init("file:/nonexistent/dir/ev", err, sizeof err) == 0 || !strstr(err, "/nonexistent/dir/ev"))
			_exit(3);
		if (events_init("syslog", err, sizeof err) == 0 || !strstr(err, "stderr, stdout, fd:N or file:PATH"))
			_exit(4);
		char path[] = "/tmp/inlay-events-XXXXXX";
		int fd = mkstemp(path);
		if (fd < 0)
			_exit(5);
		if (write(fd, "before\n", 7) != 7)
			_exit(6);
		close(fd);
		char spec[64];
		snprintf(spec, sizeof spec, "file:%s", path);
		if (events_init(spec, err, sizeof err) != 0)
			_exit(7);
		struct event ev = { .kind = "enforcer.start", .severity = "info", .action = "info", .mode = "none",
				    .rule = "", .reason = "to a file" };
		events_emit(&ev);
		if (events_shutdown(2000) != 0)
			_exit(8);
		size_t len;
		char *data = tap_read_file(path, &len);
		unlink(path);
		if (!data || strncmp(data, "before\n{\"schema\":1,", 19) != 0 || !strstr(data, "to a file") ||
		    data[len - 1] != '\n')
			_exit(9); /* appended, not truncated */
		free(data);
		_exit(0);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sink specs child: exit %d", WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	events_set_bundle_id("sha256:0e7c000000000000000000000000000000000000000000000000000000000000");
	dead_sink();
	sink_specs();
	ring_and_drops();
	format_exact();
	return tap_done("events");
}
