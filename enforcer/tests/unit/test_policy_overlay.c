/* Policy overlays (docs/bundle-format.md, "Policy overlay"): the shared overlay vectors
 * (test/vectors/bundle/overlay: valid ones parse, invalid ones fail with the expected message), the directive
 * classes, and bundle_merge:
 * whole replacement of the policy, image and link fields from the baked bundle, ownership. */

#include "bundle.h"
#include "sha256.h"
#include "tap.h"
#include "vector_dir.h"

static char vectors[4096];

/* One overlay vector: a valid one parses, its id is the SHA-256 of its bytes and it is never a
 * bundle; an invalid one fails with its .error text and leaves no state. ctx: "valid" or "invalid". */
static void check_vector(const char *path, const char *name, void *ctx)
{
	struct bundle b;
	char err[1024];
	size_t len;
	char *raw = tap_read_file(path, &len);
	CHECK(raw != NULL, "cannot read %s", path);
	if (!raw)
		return;
	int rc = bundle_parse_overlay(raw, len, &b, err, sizeof err);
	if (strcmp(ctx, "valid") == 0) {
		CHECK(rc == 0, "%s must parse: %s", name, err);
		uint8_t dg[32];
		char hex[72] = "sha256:";
		sha256_buf(raw, len, dg);
		sha256_hex_encode(dg, hex + 7);
		if (rc == 0)
			CHECK_STR(b.id, hex); /* the overlay id */
		/* An overlay is never a bundle. */
		struct bundle nb;
		CHECK(bundle_parse(raw, len, &nb, err, sizeof err) == -1 && strstr(err, "line 1: not an inlay bundle"),
		      "%s as a bundle: %s", name, err);
	} else {
		char *want = vector_expected_error(path, ".overlay");
		if (want) {
			CHECK(rc == -1, "%s must be rejected", name);
			CHECK(strstr(err, want) != NULL, "%s: error \"%s\" lacks \"%s\"", name, err, want);
			CHECK(strcmp(b.id, "none") == 0 && b.arena_ == NULL, "%s: failed parse left state", name);
			free(want);
		}
	}
	free(raw);
	bundle_free(&b);
}

static int run_dir(const char *kind)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/bundle/overlay/%s", vectors, kind);
	int seen = vector_dir_each(dir, ".overlay", check_vector, (void *)kind);
	printf("%s overlay vectors: %d\n", kind, seen);
	return seen;
}

static int overlay_str(const char *text, struct bundle *b, char *err, size_t errlen)
{
	return bundle_parse_overlay(text, strlen(text), b, err, errlen);
}

/* Every image or link directive is refused by name; every policy directive is accepted. */
static void directive_classes(void)
{
	static const char *const image[] = {
		"exe 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 /bin/sh",
		"fail-mode open", "activation serverless", "dormant-env X", "dormant-path /x",
		"console http://127.0.0.1:1", "console-ca /ca.pem", "enrol-token t", "console-plain-http on",
		"wait-for-policy 5 fail-closed",
	};
	struct bundle b;
	char text[512], err[512];
	for (size_t i = 0; i < sizeof image / sizeof image[0]; i++) {
		char kw[32];
		snprintf(kw, sizeof kw, "%.*s", (int)strcspn(image[i], " "), image[i]);
		snprintf(text, sizeof text, "inlay-policy 1\ncontrol loader enforce\n%s\nend\n", image[i]);
		char want[128];
		snprintf(want, sizeof want, "line 3: \"%s\" is not allowed in a policy overlay", kw);
		CHECK(overlay_str(text, &b, err, sizeof err) == -1 && strstr(err, want), "%s: %s", kw, err);
	}
	const char *all = "inlay-policy 1\n"
			  "control drift enforce\ncontrol reverse-shell audit\ncontrol network enforce\n"
			  "control files audit\ncontrol loader audit\nenforce-after loader 1700000000\n"
			  "drift-source manifest\nreport-execs on\n"
			  "block-name nc\nblock-path /tmp/*\n"
			  "block-sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
			  "allow-name sh\nallow-path /bin/*\n"
			  "allow-sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
			  "net-default audit\nnet-connect block 10.0.0.0/8 1-65535\nnet-listen-default block\n"
			  "net-listen 8080\nfile-readonly /etc\nfile-audit /var\nshell-name sh\nend\n";
	/* Drift in manifest mode without exe lines is fine in an overlay: checked after merging. */
	CHECK(overlay_str(all, &b, err, sizeof err) == 0, "every policy directive: %s", err);
	CHECK(b.mode[CTL_DRIFT] == INLAY_ENFORCE && b.block.n_names == 1 && b.rt.n_connect == 1 && b.rt.n_shells == 1,
	      "policy directives stored");
	bundle_free(&b);
	CHECK(overlay_str("inlay-policy 1\nfrobnicate on\nend\n", &b, err, sizeof err) == -1 &&
		      strstr(err, "line 2: unknown directive \"frobnicate\" in a policy overlay"),
	      "%s", err);
	CHECK(overlay_str("inlay-bundle 1\nend\n", &b, err, sizeof err) == -1 &&
		      strstr(err, "line 1: not an inlay policy overlay: the first line must be \"inlay-policy 1\""),
	      "%s", err);
	CHECK(overlay_str("inlay-policy 1\ncontrol loader enforce\n", &b, err, sizeof err) == -1 &&
		      strstr(err, "truncated policy overlay"),
	      "%s", err);
	/* The single-line rules still hold. */
	CHECK(overlay_str("inlay-policy 1\ncontrol reverse-shell enforce\nend\n", &b, err, sizeof err) == -1 &&
		      strstr(err, "needs at least one \"shell-name\" line"),
	      "%s", err);
	CHECK(bundle_parse_overlay("x", (size_t)OVERLAY_MAX_SIZE + 1, &b, err, sizeof err) == -1 &&
		      strstr(err, "policy overlay is 1048577 bytes; the limit is 1048576"),
	      "%s", err);
}

static const char BAKED[] =
	"inlay-bundle 1\n"
	"fail-mode open\nactivation serverless\n"
	"control drift enforce\ncontrol blocklist enforce\nblock-name curl\nblock-name wget\n"
	"file-readonly /etc\ncontrol files enforce\n"
	"dormant-env INLAY_HOST=1\ndormant-path /run/host-enforcer\n"
	"console https://console.example:8443/base\nconsole-ca /etc/inlay/ca.pem\nenrol-token inlay_enr_x\n"
	"wait-for-policy 7 fail-open\n"
	"exe 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 /bin/sh\n"
	"exe 0000000000000000000000000000000000000000000000000000000000000001 /usr/bin/app\n"
	"end\n";

static void merge_cases(void)
{
	struct bundle baked, ov, m;
	char err[512];
	CHECK(bundle_parse(BAKED, strlen(BAKED), &baked, err, sizeof err) == 0, "baked: %s", err);

	const char *text = "inlay-policy 1\ncontrol blocklist enforce\nblock-name nc\ncontrol drift audit\nend\n";
	CHECK(overlay_str(text, &ov, err, sizeof err) == 0, "overlay: %s", err);
	char ovid[72];
	memcpy(ovid, ov.id, sizeof ovid);
	CHECK(bundle_merge(&baked, &ov, &m, err, sizeof err) == 0, "merge: %s", err);
	CHECK(ov.arena_ == NULL && strcmp(ov.id, "none") == 0, "the overlay was consumed");
	CHECK_STR(m.id, baked.id);
	CHECK_STR(m.overlay_id, ovid);
	/* Policy: whole replacement. */
	CHECK(m.block.n_names == 1 && strcmp(m.block.names[0], "nc") == 0, "the overlay's block list only");
	CHECK(exelist_match(&m.block, "/usr/bin/nc", NULL, NULL) && !exelist_match(&m.block, "/usr/bin/curl", NULL, NULL),
	      "curl is no longer blocked");
	CHECK(m.mode[CTL_DRIFT] == INLAY_AUDIT && m.mode[CTL_FILES] == INLAY_OFF && m.rt.n_readonly == 0,
	      "absent control lines mean off");
	CHECK(m.block_audit.n_names == 0, "no audit entries in this overlay");
	/* Image and link: from the baked bundle, as copies. */
	CHECK(m.fail_open && m.serverless_only && m.wait_for_policy_s == 7 && m.wait_fail_open, "baked scalars");
	CHECK(m.n_manifest == 2 && m.manifest != baked.manifest, "manifest copied");
	uint8_t one[32] = { 0 };
	one[31] = 1;
	CHECK_STR(bundle_manifest_path(&m, one), "/usr/bin/app");
	CHECK(m.n_dormant_env == 1 && strcmp(m.dormant_env[0], "INLAY_HOST=1") == 0, "dormant-env");
	CHECK(m.n_dormant_path == 1 && strcmp(m.dormant_path[0], "/run/host-enforcer") == 0, "dormant-path");
	CHECK_STR(m.console_url, "https://console.example:8443/base");
	CHECK_STR(m.console_ca, "/etc/inlay/ca.pem");
	CHECK_STR(m.enrol_token, "inlay_enr_x");
	CHECK(m.console_url != baked.console_url, "console link copied");
	/* The merged bundle does not depend on the baked one. */
	struct bundle baked2;
	CHECK(bundle_parse(BAKED, strlen(BAKED), &baked2, err, sizeof err) == 0, "%s", err);
	bundle_free(&baked);
	CHECK(bundle_manifest_has(&m, one) && strcmp(m.console_ca, "/etc/inlay/ca.pem") == 0, "outlives baked");
	bundle_free(&m);
	bundle_free(&m); /* harmless */

	/* Drift in manifest mode needs the image's manifest: a baked bundle without exe lines. */
	{
		const char *nomanifest = "inlay-bundle 1\ncontrol loader enforce\nend\n";
		CHECK(bundle_parse(nomanifest, strlen(nomanifest), &baked, err, sizeof err) == 0, "%s", err);
	}
	CHECK(overlay_str("inlay-policy 1\ncontrol drift enforce\nend\n", &ov, err, sizeof err) == 0, "%s", err);
	CHECK(bundle_merge(&baked, &ov, &m, err, sizeof err) == -1 &&
		      strstr(err, "\"control drift enforce\" with drift-source manifest needs the image's manifest"),
	      "%s", err);
	CHECK(m.arena_ == NULL && m.image_arena_ == NULL && strcmp(m.id, "none") == 0, "failed merge left nothing");
	CHECK(ov.arena_ == NULL, "the overlay is freed on failure too");
	/* ... and drift-source ctime needs none. */
	CHECK(overlay_str("inlay-policy 1\ncontrol drift enforce\ndrift-source ctime\nend\n", &ov, err, sizeof err) == 0,
	      "%s", err);
	CHECK(bundle_merge(&baked, &ov, &m, err, sizeof err) == 0, "%s", err);
	CHECK(m.drift_ctime && m.n_manifest == 0 && m.mode[CTL_LOADER] == INLAY_OFF, "ctime drift merged");
	bundle_free(&m);
	bundle_free(&baked);
	bundle_free(&baked2);
}

/* The entry modes of an overlay survive the merge: the baked bundle's entries (any mode) are
 * replaced by the overlay's, each in its own mode. */
static void merge_block_modes(void)
{
	struct bundle baked, ov, m;
	char err[512];
	const char *baked_text = "inlay-bundle 1\ncontrol blocklist enforce\nblock-name curl audit\nblock-name wget\nend\n";
	const char *text = "inlay-policy 1\ncontrol blocklist enforce\nblock-name xmrig\nblock-name apt-get audit\nend\n";
	CHECK(bundle_parse(baked_text, strlen(baked_text), &baked, err, sizeof err) == 0, "baked: %s", err);
	CHECK(overlay_str(text, &ov, err, sizeof err) == 0, "overlay: %s", err);
	CHECK(bundle_merge(&baked, &ov, &m, err, sizeof err) == 0, "merge: %s", err);
	CHECK(m.block.n_names == 1 && strcmp(m.block.names[0], "xmrig") == 0, "the overlay's control-mode entries");
	CHECK(m.block_audit.n_names == 1 && strcmp(m.block_audit.names[0], "apt-get") == 0,
	      "the overlay's audit entries, not the baked curl");
	bundle_free(&m);
	bundle_free(&baked);
}

int main(int argc, char **argv)
{
	snprintf(vectors, sizeof vectors, "%s", argc > 1 ? argv[1] : "../test/vectors");
	CHECK(run_dir("valid") >= 3, "the valid overlay vectors are missing");
	CHECK(run_dir("invalid") >= 3, "the invalid overlay vectors are missing");
	directive_classes();
	merge_cases();
	merge_block_modes();
	return tap_done("policy overlay");
}
