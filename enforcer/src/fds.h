/* Descriptors the enforcer inherits. */
#ifndef INLAY_FDS_H
#define INLAY_FDS_H

/* Closes every inherited descriptor >= 3 except keep (-1: none), which becomes close-on-exec:
 * nothing the enforcer was given leaks into the workload, and the enforcer holds nothing open
 * that a peer waits on. Uses close_range(2) (5.9+), else walks /proc/self/fd. Returns 0 or -1
 * with errno. */
int fds_close_inherited(int keep);

#endif
