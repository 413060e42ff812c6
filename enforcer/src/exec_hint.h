/* Per-thread hint left by the execve entry stop for the exec stop that follows.
 *
 * The entry stop records which file the caller named (dev, ino). If the exec stop then finds the
 * same inode behind /proc/PID/exe, the file executed is the file named: no script, no loader
 * behind a symlink, and reading AT_EXECFN can be skipped. The hint only ever saves work: a
 * missing or overwritten hint (the table is direct-mapped by tid, collisions overwrite) makes the
 * exec stop read AT_EXECFN. It never relaxes a check (docs/enforcer.md), as long as a hint is
 * only ever taken for the exec entry that put it: every seccomp stop of a thread drops its
 * hint first (one left by an exec that failed would vouch for the next exec), and the exec stop
 * takes the hint of the thread that made the exec, not the leader's. Tracer thread only. */
#ifndef INLAY_EXEC_HINT_H
#define INLAY_EXEC_HINT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

void exec_hint_put(pid_t tid, uint64_t dev, uint64_t ino);
/* Returns the hint for tid and forgets it. */
bool exec_hint_take(pid_t tid, uint64_t *dev, uint64_t *ino);
/* Forgets tid (it exited). */
void exec_hint_drop(pid_t tid);

#endif
