/* Hand-over of the bundle in force (contracts in policy.h). One atomic pointer: the reporter
 * exchanges its offer in, the tracer exchanges it out, so each offered bundle has exactly one
 * owner at any time. A revert is offered as the address of revert_marker, so "nothing pending"
 * (NULL) and "revert" stay distinct. The mutex orders an offer against policy_start only (main
 * and the reporter); the tracer never takes it. */
#include "policy.h"

#include <pthread.h>
#include <stdlib.h>

#include "rtctl.h"
#include "verdict.h"

_Atomic(struct bundle *) policy_pending_;
static struct bundle revert_marker;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct bundle *baked_bundle;  /* guarded by mu until the tracer runs, then read-only */
static bool started;                 /* guarded by mu */
static unsigned installed;           /* guarded by mu: the filter's traps */
static struct bundle *current;       /* tracer thread (main before it) */

/* Frees an offer nobody will use. */
static void drop_offer(struct bundle *b)
{
	if (!b || b == &revert_marker)
		return;
	bundle_free(b);
	free(b);
}

const struct bundle *policy_start(struct bundle *baked, int64_t start_realtime_ns)
{
	pthread_mutex_lock(&mu);
	struct bundle *b = atomic_exchange_explicit(&policy_pending_, NULL, memory_order_acq_rel);
	if (!b || b == &revert_marker)
		b = baked;
	baked_bundle = baked;
	current = b;
	rtctl_init(b);
	installed = rtctl_traps();
	started = true;
	pthread_mutex_unlock(&mu);
	verdict_init(b, start_realtime_ns);
	return b;
}

unsigned policy_offer(struct bundle *merged)
{
	pthread_mutex_lock(&mu);
	struct bundle *b = merged ? merged : &revert_marker;
	unsigned missing = 0;
	if (started) {
		const struct bundle *eff = merged ? merged : baked_bundle;
		missing = rtctl_traps_for(eff) & ~installed;
	}
	/* Before the exchange: once b is published, the tracer may free it at any moment. */
	drop_offer(atomic_exchange_explicit(&policy_pending_, b, memory_order_acq_rel));
	pthread_mutex_unlock(&mu);
	return missing;
}

void policy_swap_(void)
{
	struct bundle *b = atomic_exchange_explicit(&policy_pending_, NULL, memory_order_acq_rel);
	if (!b)
		return;
	if (b == &revert_marker)
		b = baked_bundle;
	if (b == current)
		return;
	struct bundle *old = current;
	current = b;
	verdict_use(b);
	rtctl_use(b);
	/* Nothing keeps a pointer into the old bundle past this point (verdict.h, rtctl.h). */
	if (old != baked_bundle)
		drop_offer(old);
}
