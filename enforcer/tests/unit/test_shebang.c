/* The #! line parser against the kernel's binfmt_script rules (src/shebang.c names them). */
#include "shebang.h"
#include "tap.h"

static void parses(const char *head, size_t n, const char *want)
{
	char name[SHEBANG_BUF];
	enum shebang r = shebang_parse(head, n, name);
	CHECK(r == SHEBANG_OK, "\"%.40s\" (%zu bytes): result %d", head, n, (int)r);
	CHECK_STR(name, want);
}

static void refuses(const char *head, size_t n, enum shebang want)
{
	char name[SHEBANG_BUF];
	enum shebang r = shebang_parse(head, n, name);
	CHECK(r == want, "\"%.40s\" (%zu bytes): result %d, want %d", head, n, (int)r, (int)want);
	CHECK_STR(name, "");
}

#define S(lit) lit, sizeof lit - 1

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char big[SHEBANG_BUF + 64];

	parses(S("#!/bin/sh\nexit 0\n"), "/bin/sh");
	parses(S("#! /bin/sh -e\n"), "/bin/sh");
	parses(S("#!\t /bin/busybox sh\n"), "/bin/busybox");
	parses(S("#!/usr/bin/env  python3 -u\n"), "/usr/bin/env");
	parses(S("#!/bin/sh"), "/bin/sh");             /* short file: the NUL padding ends the name */
	parses(S("#!/bin/sh   \n"), "/bin/sh");
	parses(S("#!relative/interp\n"), "relative/interp");
	parses(S("#!/a\0/b\n"), "/a");                  /* a NUL ends the name */
	parses(S("#!/bin/sh\r\n"), "/bin/sh\r");        /* CR is part of the name, as for the kernel */
	parses(S("#!/x\n#!/y\n"), "/x");

	/* a name that ends exactly at the buffer's edge: kept with a terminator inside the buffer */
	memset(big, 'a', sizeof big);
	memcpy(big, "#!/", 3);
	big[SHEBANG_BUF - 1] = ' ';
	char want[SHEBANG_BUF];
	memset(want, 'a', SHEBANG_BUF - 3);
	want[0] = '/';
	want[SHEBANG_BUF - 3] = '\0';
	parses(big, SHEBANG_BUF, want);
	big[SHEBANG_BUF - 1] = '\n';
	parses(big, sizeof big, want);
	/* no terminator in the first 256 bytes: the kernel refuses a name it may have cut, even when
	 * the file goes on and the name would end later */
	big[SHEBANG_BUF - 1] = 'a';
	big[SHEBANG_BUF + 10] = '\n';
	refuses(big, sizeof big, SHEBANG_BAD);
	refuses(big, SHEBANG_BUF, SHEBANG_BAD);
	/* a name after 250 spaces that runs to the edge: cut, refused */
	memset(big, ' ', sizeof big);
	memcpy(big, "#!", 2);
	memcpy(big + SHEBANG_BUF - 2, "/x", 2);
	refuses(big, SHEBANG_BUF, SHEBANG_BAD);
	/* the same file cut to 255 bytes: "/" then the NUL padding, which ends the name */
	parses(big, SHEBANG_BUF - 1, "/");

	refuses(S("#!\n/bin/sh\n"), SHEBANG_BAD);
	refuses(S("#!   \t\n"), SHEBANG_BAD);
	refuses(S("#!"), SHEBANG_BAD);
	refuses(S("#! \0/bin/sh\n"), SHEBANG_BAD);
	memset(big, ' ', sizeof big);
	memcpy(big, "#!", 2);
	refuses(big, sizeof big, SHEBANG_BAD);     /* nothing but spaces */

	refuses(S(""), SHEBANG_NONE);
	refuses(S("#"), SHEBANG_NONE);
	refuses(S("\x7f" "ELF\2\1\1"), SHEBANG_NONE);
	refuses(S(" #!/bin/sh\n"), SHEBANG_NONE);
	refuses(S("!#/bin/sh\n"), SHEBANG_NONE);
	return tap_done("shebang");
}
