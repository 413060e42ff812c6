/* The reporter: delivers event lines to the console and keeps this enforcer in its inventory
 * (docs/console-protocol.md; docs/enforcer.md, "Reporter").
 *
 * Threading: one reporter thread, started by reporter_start. It never calls ptrace and never
 * touches a tracee; it only talks to the network, reads the environment and /proc/self, and emits
 * lifecycle events through events_emit. Event lines reach it through the events tap (a bounded
 * in-memory queue; the writer thread never waits for it). All calls below are for the main
 * thread. */
#ifndef INLAY_REPORTER_H
#define INLAY_REPORTER_H

#include <stddef.h>

#include "bundle.h"

/* Bytes of event lines held for the console; beyond that, new lines are dropped and counted.
 * The environment variable INLAY_REPORTER_BUFFER_BYTES sets another size within the bounds. */
#define REPORTER_QUEUE_BYTES (2u * 1024u * 1024u)
#define REPORTER_QUEUE_MIN (64u * 1024u)
#define REPORTER_QUEUE_MAX (256u * 1024u * 1024u)

/* Reads the console settings of b (b must outlive the thread: console policies are merged with it) (and INLAY_ENROL_TOKEN, which it removes from the environment
 * so the workload does not inherit the secret), loads the pinned CA and starts the thread. The
 * thread gathers platform metadata but does not register before reporter_set_tier.
 * Returns 1 when b has no console (nothing started), 0 when started, -1 with err on a
 * configuration error (unreadable or invalid CA, bad INLAY_REPORTER_BUFFER_BYTES). Call after events_init. */
int reporter_start(const struct bundle *b, char *err, size_t errlen);

/* "full", "degraded" or "dormant": what the enforcer does for this workload. The first call lets
 * the thread register. No-op when not started. */
void reporter_set_tier(const char *tier);

/* For wait-for-policy: waits until the console has registered this enforcer and answered the
 * policy request, at most timeout_ms. Returns 1 ready, 0 timed out, -1 the console refused the
 * enrolment (401/403/409) or the reporter is not running. */
int reporter_wait_ready(int timeout_ms);

/* After reporter_wait_ready returned 1: 1 when the console's policy could not be applied (its
 * overlay does not parse or merge; why names the overlay line), else 0. A policy that could be
 * applied was handed over (policy_offer) before the reporter became ready. */
int reporter_policy_refusal(char *why, size_t cap);

/* Delivers what is queued (registering first if needed), then stops the thread; waits at most
 * timeout_ms. Events emitted later are not delivered. No-op when not started. */
void reporter_shutdown(int timeout_ms);

/* reporter_shutdown in two steps, for a caller that must watch for something else meanwhile
 * (startstop.h): reporter_stop asks the thread to deliver what is queued and stop within
 * timeout_ms, and returns at once; reporter_join waits at most timeout_ms for it to end and
 * returns 1 when it ended (or none runs), 0 when it still runs. A later reporter_shutdown
 * finishes the job (and may shorten the deadline). */
void reporter_stop(int timeout_ms);
int reporter_join(int timeout_ms);

#endif
