/* The bundle in force, and its hand-over from the reporter thread to the tracer thread when a
 * console policy is applied or reverted (docs/enforcer.md, "Console policy").
 *
 * Ownership: the baked bundle belongs to main and outlives everything. A merged bundle is built
 * by the reporter thread; policy_offer passes it to this module, and from then on the tracer
 * thread owns it: policy_poll swaps it in between two stops and frees the bundle it replaces. A
 * merged bundle offered but never taken (a newer offer came first) is freed by that offer. */
#ifndef INLAY_POLICY_H
#define INLAY_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"

/* Main thread, once, before the filter is built: picks the bundle the workload starts under (a
 * merged bundle offered by now, as with wait-for-policy, else baked), decides the filter's traps
 * from it (rtctl_init) and sets up the verdict (verdict_init). Returns that bundle; baked must
 * outlive the process's use of it. */
const struct bundle *policy_start(struct bundle *baked, int64_t start_realtime_ns);

/* Reporter thread: hands over merged (malloc'ed, parsed or merged; ownership passes), or NULL to
 * revert to the baked bundle. Returns the traps (rtctl.h TRAP_*) the offered bundle's controls
 * need but the installed filter lacks: 0 when the filter is not built yet (policy_start builds
 * it from this offer). */
unsigned policy_offer(struct bundle *merged);

/* Tracer thread, at every stop: one atomic load, and a swap when something was offered. */
extern _Atomic(struct bundle *) policy_pending_;
void policy_swap_(void);
static inline void policy_poll(void)
{
	if (atomic_load_explicit(&policy_pending_, memory_order_acquire))
		policy_swap_();
}

#endif
