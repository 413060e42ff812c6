/* List matching helpers. fnmatch(3) is in both glibc and musl and allocates nothing. */
#include "match.h"

#include <fnmatch.h>
#include <string.h>

const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

bool match_glob(const char *glob, const char *path)
{
	/* FNM_NOMATCH and any other non-zero (a malformed pattern) both mean "no match". */
	return fnmatch(glob, path, FNM_PATHNAME) == 0;
}
