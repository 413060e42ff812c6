/* Stop requests during start-up; contracts in startstop.h. */
#include "startstop.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

static sigset_t stops;

int startstop_init(void)
{
	static const int candidates[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP };
	sigemptyset(&stops);
	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
		struct sigaction sa;
		if (sigaction(candidates[i], NULL, &sa) < 0)
			return -1;
		if (sa.sa_handler != SIG_IGN)
			sigaddset(&stops, candidates[i]);
	}
	return 0;
}

int startstop_take(void)
{
	static const struct timespec now = { 0, 0 };
	for (;;) {
		/* The set is blocked in every thread (main.c), so a process-directed stop signal stays
		 * pending until someone takes it: here, or the forwarder once the workload runs. */
		int signo = sigtimedwait(&stops, NULL, &now);
		if (signo > 0)
			return signo;
		if (errno == EINTR) /* tolerated: retry; no handler is installed, but be exact */
			continue;
		/* EAGAIN: none pending, the common answer. EINVAL cannot happen with a zero timeout. */
		return 0;
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail: valid clock and pointer */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int startstop_wait(int (*wait)(int slice_ms), int timeout_ms, int *stop_signo)
{
	int64_t end = mono_ms() + timeout_ms;
	*stop_signo = 0;
	/* Slices, not a second thread: the thing waited for has its own wake-up (a condition
	 * variable, a join) that a signal cannot interrupt, and a watcher thread that took a stop
	 * signal at the moment start-up ended would have to hand it back to the forwarder. A
	 * wake-up every STARTSTOP_SLICE_MS, only while start-up waits, costs nothing measurable. */
	for (;;) {
		if ((*stop_signo = startstop_take()) != 0)
			return 0;
		int64_t left = end - mono_ms();
		if (left <= 0)
			return 0;
		int r = wait(left < STARTSTOP_SLICE_MS ? (int)left : STARTSTOP_SLICE_MS);
		if (r != 0)
			return r;
	}
}

const char *startstop_name(int signo)
{
	switch (signo) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGQUIT:
		return "SIGQUIT";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}
