/* Unit tests of argv.c: the enforcer's command line and NUL-separated argument blocks. */
#include <string.h>

#include "argv.h"
#include "tap.h"

static enum argv_action parse(struct options *o, char *err, const char *const *args)
{
	static char *v[32];
	int n = 0;
	v[n++] = "inlay-enforcer";
	for (; args[n - 1]; n++)
		v[n] = (char *)args[n - 1];
	v[n] = NULL;
	err[0] = '\0';
	return argv_parse_options(n, v, o, err, 256);
}

static void test_options(void)
{
	struct options o;
	char err[256];

	CHECK(parse(&o, err, (const char *[]){ "--bundle", "/b", "--events=fd:3", "-g", "--fail-open", "--", "prog", "-x", NULL }) == ARGV_RUN, "%s", err);
	CHECK_STR(o.bundle, "/b");
	CHECK_STR(o.events, "fd:3");
	CHECK(o.pgroup && o.fail_open, "flags");
	CHECK_STR(o.argv[0], "prog");
	CHECK_STR(o.argv[1], "-x");
	CHECK(o.argv[2] == NULL, "argv ends");

	/* the first non-option starts the workload; its own options are not ours */
	CHECK(parse(&o, err, (const char *[]){ "prog", "--bundle", "x", NULL }) == ARGV_RUN, "%s", err);
	CHECK(o.bundle == NULL, "workload options are left alone");
	CHECK_STR(o.argv[1], "--bundle");

	CHECK(parse(&o, err, (const char *[]){ "--version", "--bogus", NULL }) == ARGV_VERSION, "version acts at once");
	CHECK(parse(&o, err, (const char *[]){ "-h", NULL }) == ARGV_HELP, "help");
	CHECK(parse(&o, err, (const char *[]){ "--check-bundle", "/f", NULL }) == ARGV_CHECK, "check");
	CHECK_STR(o.check_bundle, "/f");

	CHECK(parse(&o, err, (const char *[]){ "--bogus", "--", "p", NULL }) == ARGV_ERROR, "unknown option");
	CHECK(strstr(err, "unknown option --bogus") != NULL, "%s", err);
	CHECK(parse(&o, err, (const char *[]){ "--bundle", NULL }) == ARGV_ERROR, "missing value");
	CHECK(strstr(err, "--bundle needs a value") != NULL, "%s", err);
	CHECK(parse(&o, err, (const char *[]){ "--events=", "p", NULL }) == ARGV_ERROR, "empty value");
	CHECK(parse(&o, err, (const char *[]){ "--bundle", "/b", NULL }) == ARGV_ERROR, "no program");
	CHECK(strstr(err, "no program to run") != NULL, "%s", err);
	CHECK(parse(&o, err, (const char *[]){ "--", NULL }) == ARGV_ERROR, "no program after --");
	CHECK(parse(&o, err, (const char *[]){ "--bundlex", "p", NULL }) == ARGV_ERROR, "a prefix is not the option");
}

static void test_split(void)
{
	const char *v[4];
	size_t argc;
	int trunc = 0;
	char a[] = "ls\0-l\0/tmp\0";
	argv_split(a, sizeof a - 1, v, 4, &argc, &trunc);
	CHECK(argc == 3 && !trunc, "argc %zu", argc);
	CHECK_STR(v[2], "/tmp");

	char b[] = "a\0b\0c\0d\0e\0";
	trunc = 0;
	argv_split(b, sizeof b - 1, v, 4, &argc, &trunc);
	CHECK(argc == 4 && trunc, "cut at max_args: %zu %d", argc, trunc);

	char c[] = "no-final-nul";
	trunc = 0;
	argv_split(c, sizeof c - 1, v, 4, &argc, &trunc);
	CHECK(argc == 1 && !trunc, "last string without NUL");
	CHECK_STR(v[0], "no-final-nul");

	char d[1] = "";
	argv_split(d, 0, v, 4, &argc, &trunc);
	CHECK(argc == 0, "empty block");
}

int main(void)
{
	test_options();
	test_split();
	return tap_done("argv");
}
