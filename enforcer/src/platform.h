/* Where this workload runs: platform metadata for the events and the console's inventory
 * (docs/enforcer.md, "Platform metadata"), from the environment, /proc and the platform's
 * link-local metadata endpoint (ECS task metadata v4, Cloud Run metadata server). */
#ifndef INLAY_PLATFORM_H
#define INLAY_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>

#define PLATFORM_MAX_FIELDS 32
#define PLATFORM_VALUE_MAX 512

struct platform_info {
	/* fields[i][0] = name, fields[i][1] = value; values are printable (no control bytes) */
	char names[PLATFORM_MAX_FIELDS][32];
	char values[PLATFORM_MAX_FIELDS][PLATFORM_VALUE_MAX];
	size_t n;
	char image_name[PLATFORM_VALUE_MAX];
	char image_digest[80]; /* "sha256:<64 hex>" or "" */
};

/* Fills *p; each metadata request is bounded by timeout_ms, and timeout_ms 0 makes no request
 * (the environment, /proc/self and the host name only: no I/O that can wait). Never fails: what
 * cannot be learnt is left out, and a "metadata_error" field says why. Not reentrant (static
 * buffers): one caller at a time. */
void platform_gather(struct platform_info *p, int timeout_ms);

/* Whether platform_gather with a timeout learns more than with 0: a metadata endpoint applies
 * (ECS task metadata, the Cloud Run metadata server). */
bool platform_has_endpoint(void);

/* Sets name to value (replacing an earlier value); ignores empty values, drops control bytes,
 * cuts at PLATFORM_VALUE_MAX - 1 bytes. */
void platform_set(struct platform_info *p, const char *name, const char *value);

/* The value of name, or "". */
const char *platform_get(const struct platform_info *p, const char *name);

#endif
