/* The console's policy answer (docs/console-protocol.md, "Policy"), read by the reporter thread:
 * the overlay is parsed and merged with the baked bundle and handed to the tracer (policy.h), or
 * the baked bundle is put back, or the answer is refused; each outcome is an enforcer.policy event
 * (docs/enforcer.md, "Console policy"). Never touches ptrace.
 *
 * Threads: policy_answer_init on the main thread before the reporter thread starts;
 * policy_answer_refusal from any thread; everything else on the reporter thread only. */
#ifndef INLAY_POLICY_ANSWER_H
#define INLAY_POLICY_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#include "bundle.h"

/* baked: the image's bundle; it must outlive the reporter thread (merges read it). */
void policy_answer_init(const struct bundle *baked);

/* The body of a 200 answer. Returns true when the policy in force changed (applied or reverted). */
bool policy_answer_handle(const char *doc, size_t n);

/* policy_in_force for register and heartbeat: "baked" or the applied policy's sha256. */
const char *policy_answer_in_force(void);

/* The overall mode of the bundle in force: "enforce", "audit", "mixed" or "off". */
const char *policy_answer_mode(void);

/* 1 and why (naming the overlay line) when the last answer was refused, else 0 and "". */
int policy_answer_refusal(char *why, size_t cap);

#endif
