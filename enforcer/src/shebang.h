/* The interpreter line of a `#!` script, parsed by the rules of the kernel's binfmt_script. Pure
 * (no syscalls): unit-tested in tests/unit/test_shebang.c. */
#ifndef INLAY_SHEBANG_H
#define INLAY_SHEBANG_H

#include <stddef.h>

/* BINPRM_BUF_SIZE: the kernel reads this many bytes of a file to pick its binary format, and
 * no more; a file shorter than that reads as if padded with NUL bytes. */
#define SHEBANG_BUF 256

enum shebang {
	SHEBANG_NONE, /* not "#!": binfmt_script does not handle the file */
	SHEBANG_OK,   /* name holds the interpreter path */
	SHEBANG_BAD,  /* "#!" but the kernel would fail the exec: no name, or a name that may be cut */
};

/* head: the file's first n bytes (n is cut to SHEBANG_BUF). name: at least SHEBANG_BUF bytes;
 * on SHEBANG_OK it holds the NUL-terminated interpreter path, otherwise "". */
enum shebang shebang_parse(const char *head, size_t n, char *name);

#endif
