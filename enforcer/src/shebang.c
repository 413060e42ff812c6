/* The kernel's binfmt_script rules (load_script, Linux 5.1 and later, unchanged through 6.18 as
 * checked against the kernel this was written on):
 *   - the file must start with "#!";
 *   - the buffer is the first BINPRM_BUF_SIZE bytes, NUL-padded for a shorter file;
 *   - with a newline in the buffer, the line ends there; without one, the interpreter path must
 *     be followed by a space, tab or NUL inside the buffer, or the kernel assumes it was cut and
 *     fails the exec (ENOEXEC) rather than run a truncated name;
 *   - spaces and tabs after "#!" are skipped; the path ends at a space, tab, NUL or the line's
 *     end; an empty path fails (no name, or open_exec("") fails with ENOENT).
 * Everything after the path (the optional argument) does not choose a file and is ignored. */
#include "shebang.h"

#include <stdbool.h>
#include <string.h>

static bool spacetab(char c)
{
	return c == ' ' || c == '\t';
}

enum shebang shebang_parse(const char *head, size_t n, char *name)
{
	char buf[SHEBANG_BUF];
	name[0] = '\0';
	if (n > sizeof buf)
		n = sizeof buf;
	memset(buf, 0, sizeof buf);
	memcpy(buf, head, n);
	if (buf[0] != '#' || buf[1] != '!')
		return SHEBANG_NONE;
	const char *nl = memchr(buf, '\n', sizeof buf);
	size_t end = nl ? (size_t)(nl - buf) : sizeof buf; /* the line is buf[2, end) */
	size_t p = 2;
	while (p < end && spacetab(buf[p]))
		p++;
	size_t q = p;
	while (q < end && !spacetab(buf[q]) && buf[q] != '\0')
		q++;
	if (q == p)
		return SHEBANG_BAD; /* only spaces and tabs, or a NUL where the name starts */
	if (!nl && q == sizeof buf)
		return SHEBANG_BAD; /* no terminator in the buffer: the name may be cut */
	memcpy(name, buf + p, q - p);
	name[q - p] = '\0';
	return SHEBANG_OK;
}
