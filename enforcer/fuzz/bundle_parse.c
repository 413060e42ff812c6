/* libFuzzer target: bundle_parse on arbitrary bytes. Beyond "no crash, no leak", an accepted
 * bundle must satisfy the parser's promises: absolute paths, sorted manifest and hash lists (both
 * block lists, by mode, too),
 * no NUL-truncated strings, and a sane enforce-after. */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle b;
	char err[512];

	if (bundle_parse((const char *)data, size, &b, err, sizeof err) != 0) {
		if (strncmp(err, "line ", 5) != 0 && strncmp(err, "bundle is ", 10) != 0)
			abort(); /* every rejection names its line */
		return 0;
	}
	if (strncmp(b.id, "sha256:", 7) != 0 || strlen(b.id) != 71)
		abort();
	for (size_t i = 0; i < b.n_manifest; i++) {
		if (b.manifest[i].path[0] != '/')
			abort();
		if (i && memcmp(b.manifest[i - 1].sha, b.manifest[i].sha, 32) > 0)
			abort();
		if (!bundle_manifest_has(&b, b.manifest[i].sha))
			abort();
	}
	for (size_t i = 0; i < b.n_dormant_path; i++)
		if (b.dormant_path[i][0] != '/')
			abort();
	const struct exelist *blocks[2] = { &b.block, &b.block_audit };
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < blocks[k]->n_globs; i++)
			if (blocks[k]->globs[i][0] != '/')
				abort();
		for (size_t i = 0; i < blocks[k]->n_names; i++)
			if (strchr(blocks[k]->names[i], '/'))
				abort();
		for (size_t i = 1; i < blocks[k]->n_sha; i++)
			if (memcmp(blocks[k]->sha[i - 1], blocks[k]->sha[i], 32) > 0)
				abort();
	}
	for (int c = 0; c < CTL_COUNT; c++)
		if (b.enforce_after[c] && b.mode[c] != INLAY_AUDIT)
			abort();
	if (b.mode[CTL_DRIFT] != INLAY_OFF && !b.drift_ctime && b.n_manifest == 0)
		abort();
	/* Exercise the queries on whatever was parsed. */
	const char *rule;
	for (size_t i = 0; i < b.n_manifest; i++) {
		(void)exelist_match(&b.block, b.manifest[i].path, b.manifest[i].sha, &rule);
		(void)exelist_match(&b.block_audit, b.manifest[i].path, b.manifest[i].sha, &rule);
		(void)exelist_match(&b.allow, b.manifest[i].path, NULL, &rule);
	}
	bundle_free(&b);
	return 0;
}
