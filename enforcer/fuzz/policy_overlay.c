/* libFuzzer target: bundle_parse_overlay on arbitrary bytes, then bundle_merge of what it
 * accepted with a fixed baked bundle. Beyond "no crash, no leak": every rejection names its line,
 * an accepted overlay holds no image or link field, and the merged bundle takes its policy from
 * the overlay and its manifest and console link from the baked bundle. */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char BAKED[] = "inlay-bundle 1\n"
			    "console http://127.0.0.1:9/x\nenrol-token t\ndormant-path /run/x\nfail-mode open\n"
			    "exe 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 /bin/sh\n"
			    "block-name baked-only\nend\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle ov, baked, m;
	char err[600];

	if (bundle_parse_overlay((const char *)data, size, &ov, err, sizeof err) != 0) {
		if (strncmp(err, "line ", 5) != 0 && strncmp(err, "policy overlay is ", 18) != 0)
			abort();
		if (ov.arena_ || strcmp(ov.id, "none") != 0)
			abort();
		return 0;
	}
	if (ov.n_manifest || ov.n_dormant_env || ov.n_dormant_path || ov.console_url || ov.console_ca ||
	    ov.enrol_token || ov.fail_open || ov.serverless_only || ov.wait_for_policy_s)
		abort();
	if (bundle_parse(BAKED, sizeof BAKED - 1, &baked, err, sizeof err) != 0)
		abort();
	size_t names = ov.block.n_names, audit_names = ov.block_audit.n_names;
	enum inlay_mode drift = ov.mode[CTL_DRIFT];
	char ovid[72];
	memcpy(ovid, ov.id, sizeof ovid);
	if (bundle_merge(&baked, &ov, &m, err, sizeof err) == 0) {
		if (m.block.n_names != names || m.block_audit.n_names != audit_names || m.mode[CTL_DRIFT] != drift || strcmp(m.overlay_id, ovid) != 0 ||
		    strcmp(m.id, baked.id) != 0 || m.n_manifest != 1 || !m.fail_open ||
		    strcmp(m.console_url, "http://127.0.0.1:9/x") != 0 || m.n_dormant_path != 1)
			abort();
		for (size_t i = 0; i < m.block.n_names; i++)
			if (strcmp(m.block.names[i], "baked-only") == 0 && i >= names)
				abort();
		(void)exelist_match(&m.block, "/bin/sh", m.manifest[0].sha, NULL);
		(void)exelist_match(&m.block_audit, "/bin/sh", m.manifest[0].sha, NULL);
		bundle_free(&m);
	} else if (ov.arena_ || m.arena_ || m.image_arena_) {
		abort();
	}
	bundle_free(&baked);
	return 0;
}
