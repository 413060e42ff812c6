/* Platform metadata on every event (docs/enforcer.md, "Platform metadata"), console or not.
 *
 * Two steps, so the workload never waits for a metadata endpoint: platform_publish_local, on
 * the main thread before the workload starts, publishes what the environment tells (no I/O that
 * can wait); then whoever may wait for the endpoint (the reporter thread with a console,
 * otherwise the thread of platform_fetch_start) gathers everything and publishes it once more
 * with platform_publish. Events formatted in between carry the first object. */
#ifndef INLAY_PLATFORM_PUB_H
#define INLAY_PLATFORM_PUB_H

#include "platform.h"

/* Renders the location fields of p and hands them to events_set_platform. */
void platform_publish(const struct platform_info *p);

/* Main thread, after events_init and before any thread gathers metadata. */
void platform_publish_local(void);

/* Without a console: when a metadata endpoint applies, starts a detached thread that gathers
 * with each request bounded to timeout_ms and publishes the result. It never touches a tracee
 * and needs no joining (process exit or a dormant execve ends it). Returns 0 (started, or
 * nothing to fetch) or an errno from pthread_create. */
int platform_fetch_start(int timeout_ms);

#endif
