/* The reporter thread; contracts in reporter.h, protocol in docs/console-protocol.md.
 *
 * Queue: event lines in one contiguous byte buffer, oldest first. The tap appends whole lines
 * (or drops and counts them when full); the thread copies a prefix of whole lines into its send
 * buffer, posts it, and removes the prefix only after the console acknowledged it (200 after
 * commit) or refused it for good (400). Any other outcome keeps the prefix and resends it; the
 * console de-duplicates on event ids. The lock is held only for copies, never across I/O. */
#include "reporter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "gzip.h"
#include "http.h"
#include "json.h"
#include "jsonr.h"
#include "net.h"
#include "platform.h"
#include "platform_pub.h"
#include "policy_answer.h"
#include "sigmask.h"

#ifndef INLAY_VERSION
#define INLAY_VERSION "0.0.0"
#endif

#define SEND_MAX (1024u * 1024u)     /* one batch on the wire, at most */
#define RESP_MAX 65536u
#define CALL_TIMEOUT_MS 10000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 300000
#define LINGER_MS 200                /* gather a burst into one batch */
#define CA_FILE_MAX 262144
/* A policy answer: the overlay (at most 1 MiB, JSON-escaped) and the policy document beside it. */
#define POLICY_RESP_MAX (6u * 1024u * 1024u)

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started;
	/* guarded by mu */
	size_t qlen, qlines;
	int64_t q_since_ms;          /* when the queue last became non-empty */
	uint64_t dropped_total, dropped_unreported;
	bool tier_set, stopping;
	int64_t stop_deadline_ms;
	int ready;                   /* 0 pending, 1 registered + policy answered, -1 refused */
	char tier[16];
	/* configuration, read-only once the thread runs */
	struct http_url url;
	struct net_ca *ca;
	char token[208];
	char bundle_id[72];
	bool want_policy;
} R = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static char *queue;      /* REPORTER_QUEUE_BYTES, or INLAY_REPORTER_BUFFER_BYTES; allocated once at start */
static size_t queue_cap;
/* Thread-private buffers: the batch being sent, request heads and bodies, answers. */
static char sendbuf[SEND_MAX];
static char gzbuf[SEND_MAX + SEND_MAX / 8 + 64]; /* fixed Huffman grows incompressible data by < 1/8 */
static char head[2048];
static char body[16384];
static char resp[RESP_MAX];
static struct platform_info plat;

/* Thread-private protocol state. */
static char credential[208];
static int64_t heartbeat_ms = 30000;
static size_t max_batch_events = 10000, max_batch_bytes = SEND_MAX;
static size_t batch_limit = SEND_MAX; /* halved on 413 */
static int backoff_ms;
static uint64_t rng;
static const char *last_problem = ""; /* the problem last reported as an event ("" = none) */
/* The ETag of the console's policy answer held ("" = none yet). */
static char policy_etag[96];
/* Policy answers (BSS: pages are touched only when a policy is fetched). */
static char presp[POLICY_RESP_MAX];

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tap(const char *line, size_t len)
{
	pthread_mutex_lock(&R.mu);
	if (len > queue_cap - R.qlen) {
		R.dropped_total++;
		R.dropped_unreported++;
	} else {
		if (R.qlen == 0)
			R.q_since_ms = mono_ms();
		memcpy(queue + R.qlen, line, len);
		R.qlen += len;
		R.qlines++;
		pthread_cond_signal(&R.cv);
	}
	pthread_mutex_unlock(&R.mu);
}

/* ---- events about the link (emitted without holding R.mu: the tap takes it) ---- */

static void emit_link(const char *severity, const char *reason, const char *problem, const char *detail_msg,
		      int status)
{
	char detail[1024];
	struct json j;
	json_init(&j, detail, sizeof detail);
	json_begin_object(&j);
	json_key(&j, "problem");
	json_str(&j, problem);
	if (status) {
		json_key(&j, "status");
		json_int(&j, status);
	}
	json_key(&j, "message");
	json_str_capped(&j, detail_msg, 600);
	json_key(&j, "console");
	json_str(&j, R.url.host);
	json_end_object(&j);
	struct event ev = {
		.kind = "enforcer.console", .severity = severity, .action = "info", .mode = "none", .rule = "",
		.reason = reason, .detail_json = j.overflow ? NULL : detail,
	};
	events_emit(&ev);
}

/* Reports a problem once until the link works again. */
static void problem(const char *key, const char *severity, const char *reason, const char *msg, int status)
{
	if (strcmp(last_problem, key) == 0)
		return;
	last_problem = key;
	emit_link(severity, reason, key, msg, status);
}

/* ---- backoff ---- */

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Next wait after a failure: doubling from 1 s to 5 min, with jitter in [d/2, d]. */
static int64_t backoff_next(bool slowest)
{
	backoff_ms = slowest ? BACKOFF_MAX_MS : backoff_ms ? backoff_ms * 2 : BACKOFF_MIN_MS;
	if (backoff_ms > BACKOFF_MAX_MS)
		backoff_ms = BACKOFF_MAX_MS;
	int half = backoff_ms / 2;
	return half + (int64_t)(next_rand() % (uint64_t)(half + 1));
}

/* ---- one call ---- */

/* Sends a request and returns the status (>= 200), or 0 for a transport failure, or -2 for an
 * untrusted certificate. msg gets the console's error message or the transport error. */
static int call_into(const char *method, const char *path, const char *auth, const char *ctype, const char *data,
		     size_t dlen, const char *more_headers, char *rbuf, size_t rcap, struct http_response *r, char *msg,
		     size_t msglen, int64_t deadline)
{
	char extra[640];
	bool gz = data == gzbuf;
	int n = snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\n%s%s%s%s%s", auth, ctype ? "Content-Type: " : "",
			 ctype ? ctype : "", ctype ? "\r\n" : "", gz ? "Content-Encoding: gzip\r\n" : "",
			 more_headers ? more_headers : "");
	if (n < 0 || (size_t)n >= sizeof extra)
		return 0;
	size_t hl = http_format_request(head, sizeof head, method, &R.url, path, extra, dlen);
	int64_t left = deadline - mono_ms();
	int timeout = left < CALL_TIMEOUT_MS ? (int)(left > 100 ? left : 100) : CALL_TIMEOUT_MS;
	msg[0] = '\0';
	if (!hl)
		return 0;
	enum net_result nr = net_exchange(&R.url, R.ca, head, hl, data, dlen, rbuf, rcap - 1, r, timeout, msg, msglen);
	if (nr == NET_UNTRUSTED)
		return -2;
	if (nr != NET_OK)
		return 0;
	if (r->status >= 300) {
		char m[512];
		rbuf[r->body_off + r->body_len] = '\0';
		const char *e;
		size_t el;
		/* {"error":{"code":..,"message":..}} */
		if (jsonr_raw(rbuf + r->body_off, r->body_len, "error", &e, &el) == JSONR_OK &&
		    jsonr_string(e, el, "message", m, sizeof m) == JSONR_OK)
			snprintf(msg, msglen, "%s", m);
		else
			snprintf(msg, msglen, "HTTP %d", r->status);
	}
	return r->status;
}

static int call(const char *method, const char *path, const char *auth, const char *ctype, const char *data,
		size_t dlen, struct http_response *r, char *msg, size_t msglen, int64_t deadline)
{
	return call_into(method, path, auth, ctype, data, dlen, NULL, resp, sizeof resp, r, msg, msglen, deadline);
}

static const char *body_of(const struct http_response *r, size_t *len)
{
	*len = r->body_len;
	return resp + r->body_off;
}

static void set_ready(int v)
{
	pthread_mutex_lock(&R.mu);
	R.ready = v;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

/* ---- protocol steps; each returns the delay before the next attempt (0: go on) ---- */

static int64_t do_register(int64_t deadline, bool *registered)
{
	struct json j;
	struct http_response r;
	char msg[600], tier[16];

	pthread_mutex_lock(&R.mu);
	snprintf(tier, sizeof tier, "%s", R.tier[0] ? R.tier : "full");
	pthread_mutex_unlock(&R.mu);
	json_init(&j, body, sizeof body);
	json_begin_object(&j);
	json_key(&j, "protocol");
	json_int(&j, 1);
	json_key(&j, "instance");
	json_str(&j, events_instance());
	json_key(&j, "enforcer_version");
	json_str(&j, INLAY_VERSION);
	json_key(&j, "mode");
	json_str(&j, policy_answer_mode());
	json_key(&j, "tier");
	json_str(&j, tier);
	json_key(&j, "bundle");
	json_str(&j, R.bundle_id);
	json_key(&j, "policy_in_force");
	json_str(&j, policy_answer_in_force());
	json_key(&j, "image");
	json_begin_object(&j);
	json_key(&j, "name");
	json_str(&j, plat.image_name);
	json_key(&j, "digest");
	json_str(&j, plat.image_digest);
	json_end_object(&j);
	json_key(&j, "platform");
	json_begin_object(&j);
	for (size_t i = 0; i < plat.n; i++) {
		json_key(&j, plat.names[i]);
		json_str(&j, plat.values[i]);
	}
	json_end_object(&j);
	json_end_object(&j);
	if (j.overflow)
		return backoff_next(true); /* unreachable: the fields are bounded well below the buffer */

	int st = call("POST", "/api/enforcer/v1/register", R.token, "application/json", body, j.len, &r, msg, sizeof msg,
		      deadline);
	if (st == 201) {
		size_t bl;
		const char *b = body_of(&r, &bl);
		int64_t v;
		if (jsonr_string(b, bl, "credential", credential, sizeof credential) != JSONR_OK) {
			problem("bad-answer", "medium", "the console's answer to register is not understood", "no credential", st);
			return backoff_next(false);
		}
		if (jsonr_int(b, bl, "heartbeat_seconds", &v) == JSONR_OK && v >= 1 && v <= 3600)
			heartbeat_ms = v * 1000;
		if (jsonr_int(b, bl, "max_batch_events", &v) == JSONR_OK && v >= 1)
			max_batch_events = (size_t)v;
		if (jsonr_int(b, bl, "max_batch_bytes", &v) == JSONR_OK && v >= 1)
			max_batch_bytes = v < SEND_MAX ? (size_t)v : SEND_MAX;
		*registered = true;
		backoff_ms = 0;
		char id[128] = "";
		jsonr_string(b, bl, "enforcer_id", id, sizeof id);
		last_problem = "";
		emit_link("info", "registered with the console", "none", id, st);
		if (!R.want_policy)
			set_ready(1);
		return 0;
	}
	if (st == -2) {
		problem("untrusted", "high", "the console's certificate is not trusted by the pinned CA; events stay buffered",
			msg, 0);
		return backoff_next(false);
	}
	if (st == 401 || st == 403 || st == 409) {
		problem("refused", "high",
			st == 409 ? "the console refused the registration: this instance is enrolled in another group"
				  : "the console refused the enrolment token (revoked or wrong); protection continues, events stay buffered",
			msg, st);
		set_ready(-1);
		return backoff_next(true);
	}
	if (st == 429 && r.retry_after >= 0)
		return r.retry_after * 1000;
	problem("unreachable", "medium", "the console cannot be reached; events stay buffered and are sent when it returns",
		msg, st > 0 ? st : 0);
	return backoff_next(false);
}

static int64_t do_heartbeat(int64_t deadline, bool *registered, bool *have_policy);

static int64_t do_policy(int64_t deadline, bool *registered, bool *have_policy)
{
	struct http_response r;
	char msg[600], inm[128] = "";
	if (policy_etag[0])
		snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", policy_etag);
	int st = call_into("GET", "/api/enforcer/v1/policy", credential, NULL, NULL, 0, inm[0] ? inm : NULL, presp,
			   sizeof presp, &r, msg, sizeof msg, deadline);
	if (st == 200 || st == 304) {
		if (st == 200) {
			snprintf(policy_etag, sizeof policy_etag, "%s", r.etag);
			/* A change is told to the inventory at once (before a waiting workload starts). */
			bool ignored = true;
			if (policy_answer_handle(presp + r.body_off, r.body_len))
				do_heartbeat(deadline, registered, &ignored);
		}
		*have_policy = true;
		set_ready(1);
		return 0;
	}
	if (st == 401 || st == 403) {
		*registered = false;
		return 0;
	}
	/* While the workload waits for the policy, keep asking; once it runs, the next heartbeat's
	 * policy_etag (still different from the one held) asks again, and events keep flowing. */
	pthread_mutex_lock(&R.mu);
	bool waiting = R.want_policy && R.ready == 0;
	pthread_mutex_unlock(&R.mu);
	if (!waiting)
		*have_policy = true;
	return backoff_next(false);
}

static void report_console_drops(void)
{
	pthread_mutex_lock(&R.mu);
	uint64_t d = R.dropped_unreported;
	R.dropped_unreported = 0;
	pthread_mutex_unlock(&R.mu);
	if (!d)
		return;
	char detail[96];
	snprintf(detail, sizeof detail, "{\"dropped\":%llu,\"sink\":\"console\"}", (unsigned long long)d);
	struct event ev = {
		.kind = "enforcer.dropped", .severity = "medium", .action = "info", .mode = "none", .rule = "",
		.reason = "events were lost because the console was unreachable and the buffer was full",
		.detail_json = detail,
	};
	events_emit(&ev);
}

static int64_t do_batch(int64_t deadline, bool *registered)
{
	struct http_response r;
	char msg[600];
	size_t take = 0, lines = 0;
	size_t limit = batch_limit < max_batch_bytes ? batch_limit : max_batch_bytes;

	pthread_mutex_lock(&R.mu);
	while (take < R.qlen && lines < max_batch_events) {
		const char *nl = memchr(queue + take, '\n', R.qlen - take);
		size_t l = nl ? (size_t)(nl - (queue + take)) + 1 : R.qlen - take;
		if (take + l > limit && lines > 0)
			break;
		if (l > sizeof sendbuf)
			break; /* unreachable: a line is at most one event slot */
		take += l;
		lines++;
	}
	memcpy(sendbuf, queue, take);
	pthread_mutex_unlock(&R.mu);
	if (!take)
		return 0;

	/* gzip when it pays (it nearly always does for NDJSON); else identity. */
	size_t zlen = gzip_compress(sendbuf, take, gzbuf, sizeof gzbuf);
	bool use_gz = zlen > 0 && zlen < take;
	int st = call("POST", "/api/enforcer/v1/events", credential, "application/x-ndjson", use_gz ? gzbuf : sendbuf,
		      use_gz ? zlen : take, &r, msg, sizeof msg, deadline);
	/* A single line the console finds too large can never be accepted: drop it like a 400. */
	if (st == 413 && lines == 1)
		st = 400;
	if (st == 200 || st == 400) {
		pthread_mutex_lock(&R.mu);
		memmove(queue, queue + take, R.qlen - take);
		R.qlen -= take;
		R.qlines -= lines;
		R.q_since_ms = mono_ms();
		if (st == 400) {
			R.dropped_total += lines;
			R.dropped_unreported += lines;
		}
		pthread_mutex_unlock(&R.mu);
		if (st == 400)
			emit_link("medium", "the console refused an event batch; its events are counted as dropped", "refused-batch",
				  msg, st);
		else
			report_console_drops();
		batch_limit = SEND_MAX;
		backoff_ms = 0;
		last_problem = "";
		return 0;
	}
	if (st == 401 || st == 403) {
		*registered = false;
		return 0;
	}
	if (st == 413) {
		batch_limit = take / 2 > 0 ? take / 2 : 1;
		return 0;
	}
	if (st == 429 && r.retry_after >= 0)
		return r.retry_after * 1000;
	if (st == -2)
		problem("untrusted", "high", "the console's certificate is not trusted by the pinned CA; events stay buffered",
			msg, 0);
	else
		problem("unreachable", "medium",
			"the console cannot be reached; events stay buffered and are sent when it returns", msg, st > 0 ? st : 0);
	return backoff_next(false);
}

static int64_t do_heartbeat(int64_t deadline, bool *registered, bool *have_policy)
{
	struct http_response r;
	struct json j;
	char msg[600], tier[16];
	uint64_t dropped;
	size_t buffered;

	pthread_mutex_lock(&R.mu);
	snprintf(tier, sizeof tier, "%s", R.tier[0] ? R.tier : "full");
	dropped = R.dropped_total;
	buffered = R.qlines;
	pthread_mutex_unlock(&R.mu);
	json_init(&j, body, sizeof body);
	json_begin_object(&j);
	json_key(&j, "mode");
	json_str(&j, policy_answer_mode());
	json_key(&j, "tier");
	json_str(&j, tier);
	json_key(&j, "policy_in_force");
	json_str(&j, policy_answer_in_force());
	json_key(&j, "dropped_total");
	json_uint(&j, dropped);
	json_key(&j, "buffered");
	json_uint(&j, buffered);
	json_end_object(&j);
	int st = call("POST", "/api/enforcer/v1/heartbeat", credential, "application/json", body, j.len, &r, msg,
		      sizeof msg, deadline);
	if (st == 200) {
		size_t bl;
		const char *b = body_of(&r, &bl);
		int64_t v;
		char tag[96];
		if (jsonr_int(b, bl, "heartbeat_seconds", &v) == JSONR_OK && v >= 1 && v <= 3600)
			heartbeat_ms = v * 1000;
		if (jsonr_string(b, bl, "policy_etag", tag, sizeof tag) == JSONR_OK && strcmp(tag, policy_etag) != 0)
			*have_policy = false; /* the console's policy changed: fetch it next */
		return 0;
	}
	if (st == 401 || st == 403)
		*registered = false;
	return 0;
}

static void *reporter_main(void *arg)
{
	(void)arg;
	sigmask_block_all(); /* 33-34 too (sigmask.h) */
	bool registered = false, have_policy = false;
	int64_t next_try = 0, next_hb = 0;

	platform_gather(&plat, 1500);
	platform_publish(&plat);
	pthread_mutex_lock(&R.mu);
	while (!R.tier_set && !R.stopping)
		pthread_cond_wait(&R.cv, &R.mu);
	pthread_mutex_unlock(&R.mu);

	for (;;) {
		int64_t now = mono_ms();
		pthread_mutex_lock(&R.mu);
		bool stopping = R.stopping;
		int64_t deadline = stopping ? R.stop_deadline_ms : now + CALL_TIMEOUT_MS;
		bool have = R.qlen > 0;
		if (strcmp(R.tier, "dormant") == 0)
			have_policy = true; /* nothing to apply a policy to: the workload runs without us */
		if (stopping && (now >= deadline || (registered && !have))) {
			pthread_mutex_unlock(&R.mu);
			break;
		}
		/* When the next step is due. */
		int64_t due;
		if (!registered || !have_policy)
			due = next_try;
		else {
			due = next_hb;
			if (have) {
				int64_t send_at = stopping ? next_try : R.q_since_ms + LINGER_MS;
				if (send_at < next_try)
					send_at = next_try;
				if (send_at < due)
					due = send_at;
			}
		}
		if (stopping && due > deadline)
			due = deadline;
		if (now < due) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t wait = due - now;
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&R.cv, &R.mu, &ts);
			pthread_mutex_unlock(&R.mu);
			continue;
		}
		pthread_mutex_unlock(&R.mu);

		int64_t delay;
		if (!registered) {
			delay = do_register(deadline, &registered);
			have_policy = false; /* after every registration: the policy may have changed meanwhile */
			if (registered)
				next_hb = mono_ms() + heartbeat_ms;
		} else if (!have_policy) {
			delay = do_policy(deadline, &registered, &have_policy);
		} else if (have && now >= next_try) {
			delay = do_batch(deadline, &registered);
		} else {
			delay = do_heartbeat(deadline, &registered, &have_policy);
			next_hb = mono_ms() + heartbeat_ms;
		}
		next_try = mono_ms() + delay;
	}
	return NULL;
}

/* ---- main-thread API ---- */

static int read_ca_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "console-ca %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CA_FILE_MAX) {
		snprintf(err, errlen, "console-ca %s: not a regular file of at most %d bytes", path, CA_FILE_MAX);
		close(fd);
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR) /* tolerated */
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		snprintf(err, errlen, "console-ca %s: cannot read it whole", path);
		free(buf);
		return -1;
	}
	*out = buf;
	*len = got;
	return 0;
}

int reporter_start(const struct bundle *b, char *err, size_t errlen)
{
	const char *env_token = getenv("INLAY_ENROL_TOKEN");
	char token[208] = "";

	policy_answer_init(b);

	/* The workload must not inherit the enrolment secret, console or not. */
	if (env_token)
		snprintf(token, sizeof token, "%s", env_token);
	unsetenv("INLAY_ENROL_TOKEN");
	if (!b->console_url)
		return 1;
	if (!token[0] && b->enrol_token)
		snprintf(token, sizeof token, "%s", b->enrol_token);
	if (http_url_parse(b->console_url, &R.url, err, errlen) != 0)
		return -1;
	if (R.url.tls) {
		char *pem = NULL;
		size_t len;
		int rc;
		if (b->console_ca[0] == '/') {
			if (read_ca_file(b->console_ca, &pem, &len, err, errlen) != 0)
				return -1;
			rc = net_ca_load(pem, len, &R.ca, err, errlen);
			free(pem);
		} else {
			rc = net_ca_load(b->console_ca, strlen(b->console_ca), &R.ca, err, errlen);
		}
		if (rc != 0)
			return -1;
	}
	snprintf(R.token, sizeof R.token, "%s", token);
	snprintf(R.bundle_id, sizeof R.bundle_id, "%s", b->id);
	R.want_policy = b->wait_for_policy_s > 0;
	if (!R.token[0]) {
		emit_link("high", "no enrolment token (bundle enrol-token or INLAY_ENROL_TOKEN): events are not sent to the console",
			  "no-token", "", 0);
		return 1;
	}
	/* The thread's timed waits use the monotonic clock: a wall-clock jump must not stall them. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&R.cv);
	pthread_cond_init(&R.cv, &ca);
	pthread_condattr_destroy(&ca);
	queue_cap = REPORTER_QUEUE_BYTES;
	const char *qenv = getenv("INLAY_REPORTER_BUFFER_BYTES");
	if (qenv && qenv[0]) {
		/* Digits only: strtoull would also take leading spaces, a sign, and wrap "-1" round. */
		char *end = NULL;
		errno = 0;
		unsigned long long v = qenv[0] >= '0' && qenv[0] <= '9' ? strtoull(qenv, &end, 10) : 0;
		if (!end || *end || errno == ERANGE || v < REPORTER_QUEUE_MIN || v > REPORTER_QUEUE_MAX) {
			snprintf(err, errlen, "INLAY_REPORTER_BUFFER_BYTES=%.32s: use a byte count from %u to %u", qenv,
				 REPORTER_QUEUE_MIN, REPORTER_QUEUE_MAX);
			return -1;
		}
		queue_cap = (size_t)v;
	}
	queue = malloc(queue_cap); /* pages are touched only as lines arrive */
	if (!queue) {
		snprintf(err, errlen, "cannot allocate the %zu-byte console buffer", queue_cap);
		return -1;
	}
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) /* tolerated: any seed jitters */
		seed = (uint64_t)mono_ms() * 0x9e3779b97f4a7c15u;
	rng = seed | 1;

	events_set_tap(tap);
	sigset_t all, old;
	pthread_attr_t attr;
	sigmask_fill(&all); /* 32-34 too (sigmask.h); signals belong to the forwarding thread */
	(void)sigmask_set(&all, &old); /* cannot fail: valid pointers */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&R.thread, &attr, reporter_main, NULL);
	pthread_attr_destroy(&attr);
	(void)sigmask_set(&old, NULL);
	if (rc != 0) {
		events_set_tap(NULL);
		snprintf(err, errlen, "cannot start the reporter thread: %s", strerror(rc));
		return -1;
	}
	R.started = true;
	return 0;
}

void reporter_set_tier(const char *tier)
{
	if (!R.started)
		return;
	pthread_mutex_lock(&R.mu);
	snprintf(R.tier, sizeof R.tier, "%s", tier);
	R.tier_set = true;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

static void deadline_ts(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int reporter_wait_ready(int timeout_ms)
{
	if (!R.started)
		return -1;
	int64_t end = mono_ms() + timeout_ms;
	pthread_mutex_lock(&R.mu);
	while (R.ready == 0) {
		int64_t left = end - mono_ms();
		if (left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&R.cv, &R.mu, &ts);
	}
	int r = R.ready;
	pthread_mutex_unlock(&R.mu);
	return r;
}

int reporter_policy_refusal(char *why, size_t cap)
{
	if (!R.started)
		return 0;
	return policy_answer_refusal(why, cap);
}

void reporter_stop(int timeout_ms)
{
	if (!R.started)
		return;
	pthread_mutex_lock(&R.mu);
	R.stopping = true;
	R.stop_deadline_ms = mono_ms() + timeout_ms;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

int reporter_join(int timeout_ms)
{
	if (!R.started)
		return 1;
	struct timespec ts;
	deadline_ts(&ts, timeout_ms);
	/* ETIMEDOUT: still in a call; musl retries EINTR itself, and EINVAL needs a bad timespec. */
	if (pthread_timedjoin_np(R.thread, NULL, &ts) != 0)
		return 0;
	events_set_tap(NULL);
	R.started = false;
	return 1;
}

void reporter_shutdown(int timeout_ms)
{
	if (!R.started)
		return;
	reporter_stop(timeout_ms);
	if (reporter_join(timeout_ms + 500))
		return;
	pthread_detach(R.thread); /* stuck in a call past its deadline: the process exits anyway */
	events_set_tap(NULL);
	R.started = false;
}
