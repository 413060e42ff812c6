/* The hand-over of the bundle in force (src/policy.c) between the reporter and the tracer thread:
 * an offer before the start is what the filter is built from, an offer after it reports the traps
 * the filter lacks, a revert puts the baked bundle back, an offer never taken is freed by the next
 * one, and under a stream of offers racing with the tracer's polls every bundle is used only while
 * it is alive and freed exactly once (ASan+UBSan and valgrind check the memory).
 *
 * policy.c is compiled into this test with stand-ins for the controls it calls (rtctl, verdict),
 * which record the bundle in use. */
#include <pthread.h>
#include <sched.h>

#include "../../src/policy.c"
#include "tap.h"

static const struct bundle *rt_used, *verdict_used;
static unsigned installed_traps;
static int touched;

unsigned rtctl_traps_for(const struct bundle *b)
{
	return (b->mode[CTL_FILES] != INLAY_OFF ? TRAP_FILES : 0) | (b->mode[CTL_NETWORK] != INLAY_OFF ? TRAP_NET_CONNECT : 0);
}
void rtctl_init(const struct bundle *b)
{
	rt_used = b;
	installed_traps = rtctl_traps_for(b);
}
unsigned rtctl_traps(void)
{
	return installed_traps;
}
void rtctl_use(const struct bundle *b)
{
	rt_used = b;
}
void verdict_init(const struct bundle *b, int64_t start_realtime_ns)
{
	(void)start_realtime_ns;
	verdict_used = b;
}
void verdict_use(const struct bundle *b)
{
	verdict_used = b;
	/* Read the bundle as the controls would: a freed one is a use-after-free under ASan. */
	for (size_t i = 0; i < b->block.n_names; i++)
		touched += b->block.names[i][0];
}

/* A heap bundle as the reporter makes it (parsed; bundle_merge output is owned the same way). */
static struct bundle *make(const char *text)
{
	char err[256];
	struct bundle *b = malloc(sizeof *b);
	if (!b || bundle_parse(text, strlen(text), b, err, sizeof err) != 0) {
		printf("cannot make a test bundle: %s\n", b ? err : "out of memory");
		exit(2);
	}
	return b;
}

static const char FILES_ON[] = "inlay-bundle 1\ncontrol files enforce\nfile-readonly /etc\nblock-name a\nend\n";
static const char NET_ON[] = "inlay-bundle 1\ncontrol network enforce\nnet-default block\nblock-name b\nend\n";

static void sequence(struct bundle *baked)
{
	/* Offered before the start (wait-for-policy): the filter is built from it. */
	struct bundle *m1 = make(FILES_ON);
	CHECK(policy_offer(m1) == 0, "no trap is missing before the filter exists");
	const struct bundle *start = policy_start(baked, 0);
	CHECK(start == m1 && rt_used == m1 && verdict_used == m1, "started under the offered bundle");
	CHECK(installed_traps == TRAP_FILES, "the filter traps what m1 needs");

	/* A revert: the baked bundle needs no trap; m1 is freed by the swap. */
	CHECK(policy_offer(NULL) == 0, "the baked bundle needs nothing the filter lacks");
	policy_poll();
	CHECK(rt_used == baked && verdict_used == baked, "reverted");
	policy_poll(); /* nothing pending: no change */
	CHECK(rt_used == baked, "a poll with nothing offered keeps the bundle");

	/* Two offers before a poll: the first is freed by the second, the tracer takes the second. */
	struct bundle *m2 = make(FILES_ON), *m3 = make(NET_ON);
	CHECK(policy_offer(m2) == 0, "files is trapped");
	CHECK(policy_offer(m3) == TRAP_NET_CONNECT, "the network control needs a trap the filter lacks");
	policy_poll();
	CHECK(rt_used == m3 && verdict_used == m3, "the newest offer is in force");
	/* Revert twice in a row: the second finds the baked bundle already in force. */
	policy_offer(NULL);
	policy_poll();
	policy_offer(NULL);
	policy_poll();
	CHECK(rt_used == baked, "reverted again");
}

static atomic_bool done;
static atomic_long polls;

/*
 * Halfway through, the reporter waits for the tracer's first poll, so the two always overlap: under
 * valgrind, which runs one thread at a time, the reporter could otherwise make all its offers
 * before the tracer polled once.
 */
static void *reporter_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3000; i++) {
		if (i == 1500)
			while (atomic_load(&polls) == 0)
				sched_yield();
		policy_offer(i % 3 == 2 ? NULL : make(i % 2 ? FILES_ON : NET_ON));
	}
	atomic_store(&done, true);
	return NULL;
}

static void race(struct bundle *baked)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reporter_thread, NULL) == 0, "thread");
	while (!atomic_load(&done)) {
		policy_poll();
		atomic_fetch_add(&polls, 1);
	}
	pthread_join(t, NULL);
	policy_poll();
	/* The last offer (i = 2999) was a revert. */
	CHECK(rt_used == baked && current == baked, "the last offer is in force");
	CHECK(atomic_load(&policy_pending_) == NULL, "nothing left pending");
}

int main(void)
{
	struct bundle *baked = make("inlay-bundle 1\ncontrol blocklist enforce\nblock-name z\nend\n");
	sequence(baked);
	race(baked);
	printf("touched %d\n", touched);
	bundle_free(baked);
	free(baked);
	return tap_done("policy hand-over");
}
