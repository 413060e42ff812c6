/* Argument vectors: the enforcer's own command line, and NUL-separated argument blocks
 * (/proc/PID/cmdline). Pure: no syscalls, no allocation; unit-tested and fuzzed on the host. */
#ifndef INLAY_ARGV_H
#define INLAY_ARGV_H

#include <stdbool.h>
#include <stddef.h>

enum argv_action {
	ARGV_ERROR = -1, /* err says what is wrong: exit 124 */
	ARGV_RUN,        /* run the workload */
	ARGV_VERSION,
	ARGV_HELP,
	ARGV_CHECK,      /* --check-bundle: check_bundle names the file */
};

struct options {
	const char *bundle;       /* --bundle, or NULL for the default */
	const char *events;       /* --events, or NULL for stderr */
	const char *check_bundle; /* --check-bundle */
	bool fail_open;
	bool pgroup;
	char **argv;              /* the workload's argv (NULL-terminated, points into the input) */
};

/* Parses argv[1..argc) (argv[argc] must be NULL). Options come first; "--" or the first
 * argument that does not start with '-' begins the workload. --version, --help and
 * --check-bundle act at once (later arguments are ignored). Values may be given as
 * "--opt VALUE" or "--opt=VALUE". On ARGV_ERROR, err (errlen > 0) holds one line. */
enum argv_action argv_parse_options(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Splits buf[0..len) (NUL-separated strings, the last NUL optional) into at most max_args
 * pointers into buf. buf[len] must be writable and is set to NUL. Sets *argc; sets *truncated
 * when strings were left out. */
void argv_split(char *buf, size_t len, const char **argv, size_t max_args, size_t *argc, int *truncated);

#endif
