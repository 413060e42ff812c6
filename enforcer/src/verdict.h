/* The exec verdict: every control of the bundle applied to an exec, and the events it causes.
 *
 * verdict_on_exec is binding: it runs at PTRACE_EVENT_EXEC, when the new image is mapped and no
 * instruction of it has run, and judges the file behind /proc/PID/exe, which the tracee cannot
 * swap. verdict_on_entry is advisory: it runs at the execve/execveat seccomp stop on the path the
 * caller passed (which another thread may still change) and only spares an honest caller a
 * SIGKILL by failing the syscall with EACCES. Both run on the tracer thread. */
#ifndef INLAY_VERDICT_H
#define INLAY_VERDICT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct bundle;

/* b must outlive every later call. start_realtime_ns: the enforcer's start (drift ctime). */
void verdict_init(const struct bundle *b, int64_t start_realtime_ns);

/* A new bundle in force (a console policy applied or reverted), tracer thread, between stops.
 * Nothing the verdict keeps across stops points into the previous bundle (the hash cache holds
 * content hashes, not verdicts). b must outlive every later call. */
void verdict_use(const struct bundle *b);

/* True when some control is on or execs are reported: otherwise both hooks return at once. */
bool verdict_active(void);

/* pid is in its PTRACE_EVENT_EXEC stop. Emits the events and returns true when the process must
 * be killed (it is still stopped). */
bool verdict_on_exec(pid_t pid);

/* tid is in the seccomp stop of execve (nr) or execveat with the given arguments. Returns the
 * errno to fail the syscall with (EACCES) when an enforce-mode control would kill the exec, and
 * then has emitted the deny event; otherwise 0. */
int verdict_on_entry(pid_t tid, uint64_t nr, const uint64_t args[6]);

#endif
