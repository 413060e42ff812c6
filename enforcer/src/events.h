/* Event emission (docs/events.md): NDJSON lines to a sink, written by one writer thread.
 *
 * Threading: events_emit may be called from any thread after events_init; it formats into a
 * slot of a bounded ring and never blocks on the sink. The writer thread only calls write(2),
 * poll(2) and read(2) on its own descriptors: never ptrace, never anything on a tracee. Before
 * events_init and after events_shutdown, events_emit writes the line synchronously to the sink
 * (stderr before init), so start-up and exit events are not lost. A child process created with
 * fork() must not call events_emit (the writer thread does not exist there).
 *
 * Memory: 32 slots of 16 KiB in .bss (512 KiB virtual), touched only when used. */
#ifndef INLAY_EVENTS_H
#define INLAY_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define EVENTS_SLOTS 32
#define EVENTS_SLOT_SIZE 16384
#define EVENTS_ARGV_MAX_ITEMS 32
#define EVENTS_ARGV_MAX_BYTES 4096

/* sink: NULL or "stderr" (default), "stdout", "fd:N" (N a decimal open descriptor), or
 * "file:PATH" (opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640). Chooses the instance id
 * (getrandom) and starts the writer thread. Returns 0, or -1 with err naming the sink and cause.
 * Call once. */
int events_init(const char *sink, char *err, size_t errlen);

/* Sets the `bundle` field of later events ("sha256:<hex>" or "none", the default). Call before
 * the first event; the string is copied. */
void events_set_bundle_id(const char *bundle_id);

/* The process an event concerns. Every pointer may be NULL except exe (NULL is written as "").
 * Strings are raw bytes (escaped on output); argv has argc entries. */
struct event_process {
	int pid, ppid;
	unsigned uid;
	const char *exe;
	const char *sha256_hex;        /* 64 lower-case hex, or NULL when unknown */
	const char *const *argv;
	size_t argc;
	const char *cwd;               /* NULL: omitted */
	const char *script;            /* NULL: omitted */
	const char *script_sha256_hex; /* NULL: omitted */
};

/* kind, severity, action, mode: the documented literals; rule: "" for lifecycle events (NULL is
 * written as ""); reason: one sentence. process: NULL for lifecycle events. detail_json: a
 * pre-rendered JSON object (e.g. from json.h) or NULL; longer than 2 KiB it is replaced by
 * {"detail_truncated":true}. */
struct event {
	const char *kind, *severity, *action, *mode, *rule, *reason;
	const struct event_process *process;
	const char *detail_json;
};

/* Formats and queues one event. Never blocks, never allocates. When the ring is full the event
 * is dropped and counted; once space returns, the writer emits `enforcer.dropped` with
 * detail.dropped. Over-long strings are cut visibly ("[...]" at the end), argv per docs. */
void events_emit(const struct event *ev);

/* Drains queued events and joins the writer, waiting at most timeout_ms. Call before exit and
 * before a dormant execve. Later events_emit calls write synchronously. Returns the number of
 * events lost in total (dropped on a full ring or refused by the sink). */
uint64_t events_shutdown(int timeout_ms);

/* Where the workload runs: a pre-rendered JSON object of strings (platform metadata,
 * platform_pub.h), written as `platform` on every event formatted after the call. At most
 * EVENTS_PLATFORM_MAX bytes (longer: ignored, returns -1). Two calls take effect: the first
 * (what the environment tells, before the workload starts) and one replacement (completed by
 * the metadata endpoint); later calls return -1. The second call must happen after the first
 * returned. Each object is immutable once published, so formatters on other threads read it
 * without a lock. */
#define EVENTS_PLATFORM_MAX 1024
int events_set_platform(const char *json_object);

/* A second consumer of every event line (the reporter): tap(line, len) is called with each
 * line, '\n' included, after it was offered to the sink, whether the sink took it or not. It
 * runs on the writer thread (or on the emitting thread for synchronous lines, under the sync
 * lock) and must be bounded and non-blocking: copy the line or count it as dropped, never wait
 * for I/O. Must not call events_emit. Set it before events_init; NULL removes it. */
typedef void (*events_tap_fn)(const char *line, size_t len);
void events_set_tap(events_tap_fn tap);

/* 32 lower-case hex chars chosen at events_init (or at the first synchronous event; "" before). */
const char *events_instance(void);

/* The sink descriptor (2 before events_init). A tracer that closes inherited descriptors must do
 * so before events_init, or spare this one and the writer's eventfd (both are O_CLOEXEC; for
 * fd:N with N > 2, FD_CLOEXEC is set on N so the workload does not inherit it). */
int events_sink_fd(void);

/* Renders one event line (with its trailing '\n') into buf as events_emit would, using seq for
 * the id and now_ms (milliseconds since 1970) for the time. Returns the length, or 0 when cap is
 * too small. Exposed for tests and for the synchronous path. */
size_t events_format(const struct event *ev, uint64_t seq, int64_t now_ms, char *buf, size_t cap);

#endif
