/* Stop requests during start-up (docs/enforcer.md, "PID-1 duties").
 *
 * From the first instruction every signal is blocked, and until the forwarding thread starts
 * (sigfwd.c) nobody takes them: they stay pending. Start-up can wait for long (wait-for-policy:
 * up to an hour; a dormant enforcer's registration: 2 s), and a `docker stop`, Ctrl-C or hang-up
 * in that time must end the container then, not once the workload has been started only to be
 * killed. These calls take SIGTERM, SIGINT, SIGQUIT and SIGHUP from the pending set at the
 * points where start-up waits; every other signal (USR1, WINCH, ...) stays pending for the
 * forwarder, which hands it to the workload once it runs. Main thread only. */
#ifndef INLAY_STARTSTOP_H
#define INLAY_STARTSTOP_H

/* The longest a stop request goes unnoticed during a start-up wait. */
#define STARTSTOP_SLICE_MS 100

/* Chooses the stop signals: the four above, except those the enforcer inherited as ignored
 * (`nohup` sets SIGHUP to SIG_IGN: the caller asked for hang-ups not to stop anything, and the
 * workload inherits that disposition). Call once, after the signals are blocked. Returns 0, or
 * -1 with errno (sigaction's EINVAL, which valid arguments rule out). */
int startstop_init(void);

/* Takes one pending stop signal off the pending set and returns its number; 0 when none is
 * pending. Never waits. */
int startstop_take(void);

/* Waits for something else while watching for stop requests: calls wait(slice_ms) with slices of
 * at most STARTSTOP_SLICE_MS until it returns non-zero or timeout_ms has passed, and between two
 * slices takes a pending stop signal. Returns wait's non-zero result, or 0 on time-out or on a
 * stop request; *stop_signo is the stop signal taken, or 0. wait must return 0 when its slice
 * ran out and must not take signals. */
int startstop_wait(int (*wait)(int slice_ms), int timeout_ms, int *stop_signo);

/* "SIGTERM", "SIGINT", "SIGQUIT" or "SIGHUP" (else "a signal"): for messages. */
const char *startstop_name(int signo);

#endif
