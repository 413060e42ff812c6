/* Command-line and argument-block parsing (see argv.h). */
#include "argv.h"

#include <stdio.h>
#include <string.h>

/* "--name VALUE" or "--name=VALUE" at argv[*i]: returns the value and advances *i, or NULL. */
static const char *value_of(int argc, char **argv, int *i, const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "%s needs a value (see --help)", name);
		return NULL;
	}
	return argv[++*i];
}

static bool is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);
	return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

enum argv_action argv_parse_options(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		const char **slot = is_opt(a, "--bundle") ? &o->bundle
				    : is_opt(a, "--events") ? &o->events
				    : is_opt(a, "--check-bundle") ? &o->check_bundle
								: NULL;
		if (slot) {
			const char *name = a[2] == 'b' ? "--bundle" : a[2] == 'e' ? "--events" : "--check-bundle";
			if (!(*slot = value_of(argc, argv, &i, name, err, errlen)))
				return ARGV_ERROR;
			if ((*slot)[0] == '\0') {
				snprintf(err, errlen, "%s needs a non-empty value", name);
				return ARGV_ERROR;
			}
			if (slot == &o->check_bundle)
				return ARGV_CHECK;
		} else if (strcmp(a, "--fail-open") == 0) {
			o->fail_open = true;
		} else if (strcmp(a, "-g") == 0 || strcmp(a, "--pgroup") == 0) {
			o->pgroup = true;
		} else if (strcmp(a, "--version") == 0) {
			return ARGV_VERSION;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			return ARGV_HELP;
		} else {
			snprintf(err, errlen, "unknown option %.200s (see --help)", a);
			return ARGV_ERROR;
		}
	}
	if (i >= argc) {
		snprintf(err, errlen, "no program to run (usage: inlay-enforcer [options] -- PROGRAM [ARGS...])");
		return ARGV_ERROR;
	}
	o->argv = argv + i;
	return ARGV_RUN;
}

void argv_split(char *buf, size_t len, const char **argv, size_t max_args, size_t *argc, int *truncated)
{
	size_t n = 0, i = 0;
	buf[len] = '\0';
	while (i < len) {
		if (n == max_args) {
			*truncated = 1;
			break;
		}
		argv[n++] = buf + i;
		i += strnlen(buf + i, len - i) + 1;
	}
	*argc = n;
}
