/* Event emission; contracts in events.h.
 *
 * Ring: producers claim slot `head` with a CAS (dropping when head - tail == EVENTS_SLOTS),
 * format into it, mark it READY and poke an eventfd. The writer thread takes slots in order
 * from `tail`, writes each line with one write(2) where the sink allows, frees the slot and only
 * then advances `tail`, so a claimed slot is never still being written. */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "sigmask.h"

#ifndef INLAY_VERSION
#define INLAY_VERSION "0.0.0"
#endif

/* Escaped-body caps per field, chosen so the worst case fits one slot (see events_format). */
#define CAP_WORD 128      /* kind, severity, action, mode, rule */
#define CAP_REASON 1024
#define CAP_EXE 2048
#define CAP_PATH 1536     /* cwd, script */
#define CAP_DETAIL 2048
#define DETAIL_CUT "{\"detail_truncated\":true}"

enum { SLOT_FREE = 0, SLOT_READY = 1 };

struct slot {
	atomic_int state;
	size_t len;
	char buf[EVENTS_SLOT_SIZE];
};

static struct slot slots[EVENTS_SLOTS];
static atomic_uint_fast64_t ring_head, ring_tail, next_seq, dropped_pending, lost_total;
static atomic_bool running;      /* writer thread accepting events */
static atomic_bool stopping;     /* writer asked to drain and exit */
static atomic_bool sink_dead;    /* the sink refused a write for good (EPIPE, EBADF...) */
static int sink_fd = 2;
static int wake_fd = -1;
static pthread_t writer;
static char instance[33];
static char bundle_id[72] = "none";
static int self_pid;
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static char sync_buf[EVENTS_SLOT_SIZE];
static _Atomic(events_tap_fn) tap_fn;
/* One buffer per accepted call: a published buffer is never written again, so formatters read
 * the current one through the pointer without a lock. */
static char platform_json[2][EVENTS_PLATFORM_MAX + 1];
static _Atomic(const char *) platform_cur;
static atomic_uint platform_calls;

int events_set_platform(const char *json_object)
{
	size_t n = strlen(json_object);
	if (n > EVENTS_PLATFORM_MAX)
		return -1;
	unsigned k = atomic_fetch_add(&platform_calls, 1);
	if (k >= 2)
		return -1;
	memcpy(platform_json[k], json_object, n + 1);
	atomic_store_explicit(&platform_cur, platform_json[k], memory_order_release);
	return 0;
}

void events_set_tap(events_tap_fn tap)
{
	atomic_store(&tap_fn, tap);
}

/* Hands a line to the second consumer, if any (contract in events.h). */
static void tap_line(const char *buf, size_t len)
{
	events_tap_fn t = atomic_load(&tap_fn);
	if (t && len)
		t(buf, len);
}

/* The instance id: 128 random bits. getrandom can be missing (ENOSYS) or interrupted; an id only
 * needs to be unique, so fall back to /dev/urandom, then to time and pid. */
static void ensure_instance(void)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char r[16];
	size_t got = 0;

	if (instance[0])
		return;
	self_pid = getpid();
	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n < 0 && errno == EINTR) /* tolerated: retry */
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof r) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			while (got < sizeof r) {
				ssize_t n = read(fd, r + got, sizeof r - got);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				got += (size_t)n;
			}
			close(fd);
		}
	}
	if (got < sizeof r) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)self_pid << 40;
		for (size_t i = 0; i < sizeof r; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			r[i] = (unsigned char)(x >> 56);
		}
	}
	for (size_t i = 0; i < sizeof r; i++) {
		instance[2 * i] = digits[r[i] >> 4];
		instance[2 * i + 1] = digits[r[i] & 15];
	}
	instance[32] = '\0';
}

const char *events_instance(void)
{
	return instance;
}

int events_sink_fd(void)
{
	return sink_fd;
}

void events_set_bundle_id(const char *id)
{
	snprintf(bundle_id, sizeof bundle_id, "%s", id ? id : "none");
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail for CLOCK_REALTIME with a valid pointer */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t events_format(const struct event *ev, uint64_t seq, int64_t ms, char *buf, size_t cap)
{
	struct json j;
	char id[64], when[96];
	struct tm tm;
	time_t secs = (time_t)(ms / 1000);

	if (!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof tm);
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	snprintf(id, sizeof id, "%s-%llu", instance, (unsigned long long)seq);

	json_init(&j, buf, cap > 0 ? cap - 1 : 0); /* keep one byte for the '\n' */
	json_begin_object(&j);
	json_key(&j, "schema");
	json_int(&j, 1);
	json_key(&j, "id");
	json_str(&j, id);
	json_key(&j, "time");
	json_str(&j, when);
	json_key(&j, "kind");
	json_str_capped(&j, ev->kind ? ev->kind : "", CAP_WORD);
	json_key(&j, "severity");
	json_str_capped(&j, ev->severity ? ev->severity : "", CAP_WORD);
	json_key(&j, "action");
	json_str_capped(&j, ev->action ? ev->action : "", CAP_WORD);
	json_key(&j, "mode");
	json_str_capped(&j, ev->mode ? ev->mode : "none", CAP_WORD);
	json_key(&j, "rule");
	json_str_capped(&j, ev->rule ? ev->rule : "", CAP_WORD);
	json_key(&j, "reason");
	json_str_capped(&j, ev->reason ? ev->reason : "", CAP_REASON);
	if (ev->process) {
		const struct event_process *p = ev->process;
		bool cut;
		json_key(&j, "process");
		json_begin_object(&j);
		json_key(&j, "pid");
		json_int(&j, p->pid);
		json_key(&j, "ppid");
		json_int(&j, p->ppid);
		json_key(&j, "uid");
		json_uint(&j, p->uid);
		json_key(&j, "exe");
		json_str_capped(&j, p->exe ? p->exe : "", CAP_EXE);
		if (p->sha256_hex) {
			json_key(&j, "sha256");
			json_str_capped(&j, p->sha256_hex, 64);
		}
		json_key(&j, "argv");
		cut = json_str_array(&j, p->argv, p->argv ? p->argc : 0, EVENTS_ARGV_MAX_ITEMS, EVENTS_ARGV_MAX_BYTES);
		json_key(&j, "argv_truncated");
		json_bool(&j, cut);
		if (p->cwd) {
			json_key(&j, "cwd");
			json_str_capped(&j, p->cwd, CAP_PATH);
		}
		if (p->script) {
			json_key(&j, "script");
			json_str_capped(&j, p->script, CAP_PATH);
		}
		if (p->script_sha256_hex) {
			json_key(&j, "script_sha256");
			json_str_capped(&j, p->script_sha256_hex, 64);
		}
		json_end_object(&j);
	}
	if (ev->detail_json) {
		size_t n = strlen(ev->detail_json);
		json_key(&j, "detail");
		if (n <= CAP_DETAIL)
			json_raw_value(&j, ev->detail_json, n);
		else
			json_raw_value(&j, DETAIL_CUT, strlen(DETAIL_CUT));
	}
	const char *platform = atomic_load_explicit(&platform_cur, memory_order_acquire);
	if (platform) {
		json_key(&j, "platform");
		json_raw_value(&j, platform, strlen(platform));
	}
	json_key(&j, "enforcer");
	json_begin_object(&j);
	json_key(&j, "version");
	json_str(&j, INLAY_VERSION);
	json_key(&j, "pid");
	json_int(&j, self_pid);
	json_key(&j, "instance");
	json_str(&j, instance);
	json_end_object(&j);
	json_key(&j, "bundle");
	json_str(&j, bundle_id);
	json_end_object(&j);
	if (j.overflow)
		return 0;
	buf[j.len] = '\n';
	return j.len + 1;
}

/* Writes all of buf to the sink. One write(2) normally suffices, which keeps the line whole on a
 * shared stderr. EINTR: retry. EAGAIN (a non-blocking sink): wait for POLLOUT up to wait_ms per
 * attempt (-1: forever). ENOSPC/EDQUOT (a full file system or quota): this line is lost but the
 * sink stays, because space comes back when logs are rotated or cleaned up. Any other error marks
 * the sink dead. Returns 0 or -1 (line lost). */
static int write_line(const char *buf, size_t len, int wait_ms)
{
	size_t off = 0;

	if (atomic_load(&sink_dead))
		return -1;
	while (off < len) {
		ssize_t n = write(sink_fd, buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = sink_fd, .events = POLLOUT };
			int r = poll(&pfd, 1, wait_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0 && !(pfd.revents & (POLLERR | POLLNVAL)))
				continue;
			if (r == 0)
				return -1; /* still full after wait_ms: lose this line, keep the sink */
		}
		if (n < 0 && (errno == ENOSPC || errno == EDQUOT))
			return -1; /* a part already written stays; the next line starts after it */
		atomic_store(&sink_dead, true); /* EPIPE, EBADF, ENOSPC, EIO...: nothing more will get through */
		return -1;
	}
	return 0;
}

/* Returns 0 when the report was written to the sink, -1 otherwise. */
static int emit_dropped(char *buf, size_t cap, uint64_t count, int wait_ms)
{
	char detail[48];
	struct event ev = {
		.kind = "enforcer.dropped",
		.severity = "medium",
		.action = "info",
		.mode = "none",
		.rule = "",
		.reason = "events were lost because the sink could not keep up",
		.detail_json = detail,
	};
	snprintf(detail, sizeof detail, "{\"dropped\":%llu}", (unsigned long long)count);
	size_t len = events_format(&ev, atomic_fetch_add(&next_seq, 1), now_ms(), buf, cap);
	if (!len)
		return -1;
	int rc = write_line(buf, len, wait_ms);
	/* The tap gets the report once: when it was written, or when the sink is dead and no later
	 * attempt will be made (report_drops keeps the count for the next attempt otherwise). */
	if (rc == 0 || atomic_load(&sink_dead))
		tap_line(buf, len);
	return rc;
}

/* Writes every READY slot from tail on; stops at the first slot still being formatted. */
static void drain_ring(int wait_ms)
{
	for (;;) {
		uint64_t t = atomic_load(&ring_tail);
		if (t == atomic_load(&ring_head))
			return;
		struct slot *s = &slots[t % EVENTS_SLOTS];
		if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY)
			return;
		if (s->len == 0 || write_line(s->buf, s->len, wait_ms) != 0) {
			/* A sink that is still alive (full for now) gets an enforcer.dropped report once a
			 * line gets through again; a dead one can never be told. */
			if (atomic_load(&sink_dead))
				atomic_fetch_add(&lost_total, 1);
			else
				atomic_fetch_add(&dropped_pending, 1);
		}
		tap_line(s->buf, s->len);
		atomic_store_explicit(&s->state, SLOT_FREE, memory_order_relaxed);
		atomic_store_explicit(&ring_tail, t + 1, memory_order_release);
	}
}

static void report_drops(int wait_ms)
{
	static char buf[2048];
	uint64_t d = atomic_exchange(&dropped_pending, 0);
	if (!d)
		return;
	/* Not written while the sink is alive: the count waits for the next report, so it is
	 * neither lost nor told twice (events_shutdown counts what is still pending). */
	if (emit_dropped(buf, sizeof buf, d, wait_ms) == 0 || atomic_load(&sink_dead))
		atomic_fetch_add(&lost_total, d);
	else
		atomic_fetch_add(&dropped_pending, d);
}

static void *writer_main(void *arg)
{
	(void)arg;
	sigmask_block_all(); /* 33-34 too (sigmask.h) */
	for (;;) {
		struct pollfd pfd = { .fd = wake_fd, .events = POLLIN };
		uint64_t v;
		drain_ring(-1);
		report_drops(-1);
		if (atomic_load(&stopping) && atomic_load(&ring_tail) == atomic_load(&ring_head))
			return NULL;
		/* A producer between claiming and READY pokes again, so a long timeout is only a
		 * safety net against a lost wake-up. */
		int r = poll(&pfd, 1, 1000);
		if (r < 0 && errno != EINTR) /* tolerated: EINTR; anything else: spin slowly */
			usleep(10000);
		if (r > 0 && read(wake_fd, &v, sizeof v) < 0 && errno != EAGAIN && errno != EINTR)
			usleep(10000); /* tolerated: EAGAIN (already consumed), EINTR */
	}
}

static void poke_writer(void)
{
	uint64_t one = 1;
	/* EAGAIN only when the counter would overflow: the writer is awake anyway. */
	if (write(wake_fd, &one, sizeof one) < 0 && errno != EAGAIN && errno != EINTR)
		return; /* the writer's 1 s poll timeout still picks the event up */
}

static int parse_fd(const char *s, int *fd)
{
	long v = 0;
	if (!*s || strlen(s) > 9)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	*fd = (int)v;
	return 0;
}

int events_init(const char *sink, char *err, size_t errlen)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int rc;

	if (atomic_load(&running)) {
		snprintf(err, errlen, "event sink \"%s\": events_init was already called", sink ? sink : "stderr");
		return -1;
	}
	ensure_instance();
	if (!sink || strcmp(sink, "stderr") == 0) {
		sink_fd = 2;
	} else if (strcmp(sink, "stdout") == 0) {
		sink_fd = 1;
	} else if (strncmp(sink, "fd:", 3) == 0) {
		int fd;
		if (parse_fd(sink + 3, &fd) != 0) {
			snprintf(err, errlen, "event sink \"%s\": fd:N needs a decimal descriptor number", sink);
			return -1;
		}
		int flags = fcntl(fd, F_GETFD);
		if (flags < 0) {
			snprintf(err, errlen, "event sink \"%s\": descriptor %d is not open: %s", sink, fd, strerror(errno));
			return -1;
		}
		/* The workload must not inherit the enforcer's private sink (0-2 are shared on purpose). */
		if (fd > 2 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
			snprintf(err, errlen, "event sink \"%s\": cannot set close-on-exec: %s", sink, strerror(errno));
			return -1;
		}
		sink_fd = fd;
	} else if (strncmp(sink, "file:", 5) == 0 && sink[5]) {
		int fd = open(sink + 5, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		if (fd < 0) {
			snprintf(err, errlen, "event sink \"%s\": cannot open %s: %s", sink, sink + 5, strerror(errno));
			return -1;
		}
		sink_fd = fd;
	} else {
		snprintf(err, errlen, "event sink \"%s\": use stderr, stdout, fd:N or file:PATH", sink);
		return -1;
	}
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0) {
		snprintf(err, errlen, "event sink \"%s\": cannot create an eventfd: %s", sink, strerror(errno));
		return -1;
	}
	/* The writer takes no signals: they belong to the forwarding thread (sigfwd.c). */
	sigmask_fill(&all); /* 32-34 too: a thread that left one unblocked would die of it */
	(void)sigmask_set(&all, &old); /* cannot fail: valid pointers */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	atomic_store(&stopping, false);
	atomic_store(&running, true);
	rc = pthread_create(&writer, &attr, writer_main, NULL);
	pthread_attr_destroy(&attr);
	(void)sigmask_set(&old, NULL);
	if (rc != 0) {
		atomic_store(&running, false);
		close(wake_fd);
		wake_fd = -1;
		snprintf(err, errlen, "event sink \"%s\": cannot start the writer thread: %s", sink, strerror(rc));
		return -1;
	}
	return 0;
}

static void emit_sync(const struct event *ev)
{
	pthread_mutex_lock(&sync_lock);
	ensure_instance();
	size_t len = events_format(ev, atomic_fetch_add(&next_seq, 1), now_ms(), sync_buf, sizeof sync_buf);
	if (!len || write_line(sync_buf, len, 1000) != 0)
		atomic_fetch_add(&lost_total, 1);
	tap_line(sync_buf, len);
	pthread_mutex_unlock(&sync_lock);
}

void events_emit(const struct event *ev)
{
	uint64_t h;

	if (!atomic_load(&running)) {
		emit_sync(ev);
		return;
	}
	h = atomic_load(&ring_head);
	do {
		if (h - atomic_load(&ring_tail) >= EVENTS_SLOTS) {
			atomic_fetch_add(&dropped_pending, 1);
			return;
		}
	} while (!atomic_compare_exchange_weak(&ring_head, &h, h + 1));
	struct slot *s = &slots[h % EVENTS_SLOTS];
	s->len = events_format(ev, atomic_fetch_add(&next_seq, 1), now_ms(), s->buf, sizeof s->buf);
	atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
	poke_writer();
}

uint64_t events_shutdown(int timeout_ms)
{
	struct timespec deadline;
	int rc;

	if (atomic_load(&running)) {
		atomic_store(&stopping, true);
		poke_writer();
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		rc = pthread_timedjoin_np(writer, NULL, &deadline);
		atomic_store(&running, false);
		if (rc != 0) {
			/* Stuck on a sink that does not drain: leave it; what it holds counts as lost. */
			pthread_detach(writer);
			atomic_fetch_add(&lost_total, atomic_load(&ring_head) - atomic_load(&ring_tail));
			atomic_store(&sink_dead, true);
		} else {
			/* Events claimed while the writer was exiting. */
			pthread_mutex_lock(&sync_lock);
			drain_ring(1000);
			report_drops(1000);
			/* A slot still being formatted by another thread now has no writer: count it. */
			atomic_fetch_add(&lost_total, atomic_load(&ring_head) - atomic_load(&ring_tail));
			atomic_store(&ring_tail, atomic_load(&ring_head));
			pthread_mutex_unlock(&sync_lock);
			/* wake_fd stays open (O_CLOEXEC): a producer racing with shutdown may still poke it,
			 * and a closed number could by then belong to another file. */
		}
	}
	return atomic_load(&lost_total) + atomic_load(&dropped_pending);
}
