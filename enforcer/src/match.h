/* Name and path-glob matching for block and allow lists. */
#ifndef INLAY_MATCH_H
#define INLAY_MATCH_H

#include <stdbool.h>

/* The part of `path` after its last '/', or `path` itself without one. Never NULL for a
 * non-NULL path; points into `path`. A path ending in '/' yields "". */
const char *path_basename(const char *path);

/* fnmatch(3) with FNM_PATHNAME: '*' and '?' do not cross '/'. True on a match; false on no
 * match or a malformed pattern (a malformed pattern never matches). */
bool match_glob(const char *glob, const char *path);

#endif
