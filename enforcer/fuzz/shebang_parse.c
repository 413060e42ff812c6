/* libFuzzer target: shebang_parse on arbitrary bytes, checked against the kernel's rules stated
 * in shebang.c: a name is returned only for "#!" input, is non-empty, fits the buffer, holds no
 * space, tab, NUL or newline, and is the text that follows "#!" and its spaces and tabs; the
 * result does not depend on bytes past SHEBANG_BUF. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shebang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[SHEBANG_BUF], again[SHEBANG_BUF];
	const char *head = (const char *)data;
	enum shebang r = shebang_parse(head, size, name);
	size_t cut = size < SHEBANG_BUF ? size : SHEBANG_BUF;

	if (shebang_parse(head, cut, again) != r || strcmp(name, again) != 0)
		abort(); /* only the first SHEBANG_BUF bytes may matter */
	if (r != SHEBANG_OK) {
		if (name[0] != '\0')
			abort();
		if (r == SHEBANG_NONE && cut >= 2 && data[0] == '#' && data[1] == '!')
			abort();
		return 0;
	}
	size_t len = strlen(name);
	if (cut < 2 || data[0] != '#' || data[1] != '!' || len == 0 || len >= SHEBANG_BUF)
		abort();
	size_t p = 2;
	while (p < cut && (data[p] == ' ' || data[p] == '\t'))
		p++;
	if (p + len > cut || memcmp(data + p, name, len) != 0)
		abort();
	if (strpbrk(name, " \t\n") != NULL)
		abort();
	/* The name ends at a terminator inside the buffer, or at the padding of a short file. */
	if (p + len < cut) {
		char t = (char)data[p + len];
		if (t != ' ' && t != '\t' && t != '\n' && t != '\0')
			abort();
	} else if (cut == SHEBANG_BUF && memchr(data, '\n', cut) == NULL) {
		abort(); /* a name running to the end of a full buffer may be cut: refused */
	}
	return 0;
}
