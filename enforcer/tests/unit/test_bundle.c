/* Bundle parser: every shared vector (test/vectors/bundle: valid ones parse, invalid ones fail
 * with the expected message), the parsed content of the richest vectors, inline edge cases,
 * and the list/manifest queries. */
#include <sys/socket.h>

#include "bundle.h"
#include "sha256.h"
#include "tap.h"
#include "vector_dir.h"

static char vectors[4096];

/* One bundle vector: a valid one parses and its id is the SHA-256 of its bytes; an invalid one
 * fails with its .error text and leaves no state. ctx: "valid" or "invalid". */
static void check_vector(const char *path, const char *name, void *ctx)
{
	struct bundle b;
	char err[1024];
	int rc = bundle_load(path, &b, err, sizeof err);
	if (strcmp(ctx, "valid") == 0) {
		CHECK(rc == 0, "%s must parse: %s", name, err);
		size_t len = 0;
		char *raw = rc == 0 ? tap_read_file(path, &len) : NULL;
		if (raw) {
			uint8_t dg[32];
			char hex[72] = "sha256:";
			sha256_buf(raw, len, dg);
			sha256_hex_encode(dg, hex + 7);
			CHECK_STR(b.id, hex);
			free(raw);
		}
	} else {
		char *want = vector_expected_error(path, ".bundle");
		if (want) {
			CHECK(rc == -1, "%s must be rejected", name);
			CHECK(strstr(err, want) != NULL, "%s: error \"%s\" lacks \"%s\"", name, err, want);
			CHECK(strcmp(b.id, "none") == 0 && b.arena_ == NULL, "%s: failed parse left state", name);
			free(want);
		}
	}
	bundle_free(&b);
}

static void run_dir(const char *kind)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/bundle/%s", vectors, kind);
	int seen = vector_dir_each(dir, ".bundle", check_vector, (void *)kind);
	CHECK(seen >= 3, "only %d %s vectors found in %s", seen, kind, dir);
	printf("%s vectors: %d\n", kind, seen);
}

static int load_vector(const char *name, struct bundle *b)
{
	char path[4300], err[512];
	snprintf(path, sizeof path, "%s/bundle/valid/%s.bundle", vectors, name);
	int rc = bundle_load(path, b, err, sizeof err);
	CHECK(rc == 0, "%s: %s", name, err);
	return rc;
}

static void sha_of(const char *s, uint8_t out[32])
{
	sha256_buf(s, strlen(s), out);
}

static void check_everything(void)
{
	struct bundle b;
	uint8_t d[32];
	const char *rule = NULL;

	if (load_vector("everything", &b) != 0)
		return;
	CHECK(b.fail_open && b.serverless_only && b.report_execs && !b.drift_ctime, "singletons");
	CHECK(b.mode[CTL_DRIFT] == INLAY_AUDIT && b.mode[CTL_FILELESS] == INLAY_ENFORCE &&
		      b.mode[CTL_LOADER] == INLAY_AUDIT && b.mode[CTL_BLOCKLIST] == INLAY_ENFORCE &&
		      b.mode[CTL_ALLOWLIST] == INLAY_AUDIT,
	      "modes");
	CHECK(b.enforce_after[CTL_DRIFT] == 1800000000 && b.enforce_after[CTL_LOADER] == 1767225600 &&
		      b.enforce_after[CTL_FILELESS] == 0,
	      "enforce-after");
	CHECK(bundle_mode_now(&b, CTL_DRIFT, 1799999999) == INLAY_AUDIT, "audit before the switch");
	CHECK(bundle_mode_now(&b, CTL_DRIFT, 1800000000) == INLAY_ENFORCE, "enforce from the switch on");
	CHECK(bundle_mode_now(&b, CTL_ALLOWLIST, 4000000000) == INLAY_AUDIT, "no enforce-after: stays audit");
	CHECK(bundle_mode_now(&b, CTL_FILELESS, 0) == INLAY_ENFORCE, "enforce stays enforce");
	CHECK(b.n_dormant_env == 2 && strcmp(b.dormant_env[1], "MODE=host enforcer") == 0, "dormant-env decoded");
	CHECK(b.n_dormant_path == 2 && strcmp(b.dormant_path[1], "/var/run/my agent/%sock") == 0, "dormant-path decoded");
	CHECK(b.block.n_names == 3 && strcmp(b.block.names[2], "x y") == 0, "block names");
	CHECK(b.block.n_globs == 2 && b.block.n_sha == 2, "block globs and hashes");
	CHECK(b.allow.n_names == 1 && b.allow.n_globs == 2 && b.allow.n_sha == 1, "allow list");
	CHECK(strcmp(b.allow.globs[0], "/opt/app/bin/caf\xc3\xa9*") == 0, "UTF-8 glob decoded");
	CHECK(b.n_manifest == 6, "manifest size %zu", b.n_manifest);

	sha_of("4", d);
	CHECK_STR(bundle_manifest_path(&b, d), "/weird/line\nbreak");
	sha_of("3", d);
	CHECK_STR(bundle_manifest_path(&b, d), "/opt/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");
	sha_of("2", d);
	CHECK_STR(bundle_manifest_path(&b, d), "/opt/100%/run");
	sha_of("1", d);
	CHECK(bundle_manifest_has(&b, d), "duplicate hash present");
	CHECK_STR(bundle_manifest_path(&b, d), "/usr/bin/my app"); /* first of two by path order */
	sha_of("not in the image", d);
	CHECK(!bundle_manifest_has(&b, d) && !bundle_manifest_path(&b, d), "absent hash");
	for (size_t i = 1; i < b.n_manifest; i++)
		CHECK(memcmp(b.manifest[i - 1].sha, b.manifest[i].sha, 32) <= 0, "manifest sorted at %zu", i);

	CHECK(exelist_match(&b.block, "/usr/bin/nc", NULL, &rule) && strcmp(rule, "name") == 0, "block by name");
	CHECK(exelist_match(&b.block, "/opt/x y", NULL, &rule) && strcmp(rule, "name") == 0, "decoded name");
	CHECK(!exelist_match(&b.block, "/usr/bin/ncx", NULL, &rule), "name is exact");
	CHECK(exelist_match(&b.block, "/tmp/payload", NULL, &rule) && strcmp(rule, "path") == 0, "block by glob");
	CHECK(!exelist_match(&b.block, "/tmp/dir/payload", NULL, &rule), "glob does not cross /");
	CHECK(exelist_match(&b.block, "/dev/shm/x", NULL, &rule), "second glob");
	sha_of("miner", d);
	CHECK(exelist_match(&b.block, "/usr/local/bin/ok", d, &rule) && strcmp(rule, "sha256") == 0, "block by hash");
	CHECK(!exelist_match(&b.block, "/usr/local/bin/ok", NULL, &rule), "unknown hash skips the sha rule");
	sha_of("evil", d);
	CHECK(exelist_match(&b.block, NULL, d, NULL), "path NULL, hash matches, rule NULL allowed");
	sha_of("sh", d);
	CHECK(exelist_match(&b.allow, "/opt/app/bin/caf\xc3\xa9-latte", NULL, &rule) && strcmp(rule, "path") == 0,
	      "UTF-8 glob");
	CHECK(exelist_match(&b.allow, "/somewhere/else", d, &rule) && strcmp(rule, "sha256") == 0, "allow by hash");
	bundle_free(&b);
	bundle_free(&b); /* harmless twice */
	CHECK(strcmp(b.id, "none") == 0, "free resets");
}

/* Runtime-control directives of the runtime vector, and the rule matcher on what they hold. */
static void check_runtime(void)
{
	struct bundle b;
	uint8_t a[16], v4[4];
	if (load_vector("runtime", &b) != 0)
		return;
	CHECK(b.mode[CTL_NETWORK] == INLAY_ENFORCE && b.mode[CTL_FILES] == INLAY_AUDIT &&
		      b.mode[CTL_REVSHELL] == INLAY_ENFORCE && b.mode[CTL_PRIVILEGE] == INLAY_AUDIT,
	      "runtime modes");
	CHECK(bundle_mode_now(&b, CTL_FILES, 1800000000) == INLAY_ENFORCE, "enforce-after on a runtime control");
	CHECK(b.rt.net_default == NET_DEFAULT_BLOCK && b.rt.net_default_set, "net-default");
	CHECK(b.rt.n_connect == 7 && b.rt.n_listen == 2, "rule counts %zu %zu", b.rt.n_connect, b.rt.n_listen);
	CHECK_STR(b.rt.connect[0].text, "127.0.0.0/8 *");
	CHECK(b.rt.connect[0].action == NET_ALLOW && b.rt.connect[2].action == NET_AUDIT &&
		      b.rt.connect[4].action == NET_BLOCK,
	      "actions");
	CHECK(b.rt.listen_default == NET_DEFAULT_BLOCK && b.rt.listen_default_set, "net-listen-default");
	CHECK(b.rt.listen[1].port_lo == 9000 && b.rt.listen[1].port_hi == 9010, "listen range");
	CHECK(b.rt.n_readonly == 2 && strcmp(b.rt.readonly[1], "/usr/lib/my app") == 0, "readonly decoded");
	CHECK(b.rt.n_audited == 1 && b.rt.n_shells == 4 && strcmp(b.rt.shells[0], "bash") == 0, "audit, shells");
	/* 127.0.0.2 as IPv4 and as IPv4-mapped IPv6 hits the same block rule (index 4) */
	v4[0] = 127, v4[1] = 0, v4[2] = 0, v4[3] = 2;
	netrule_map_v4(v4, a);
	CHECK(netrule_match(&b.rt.connect[4], a, 1234) && netrule_match(&b.rt.connect[0], a, 1), "127.0.0.2");
	CHECK(netrule_match(&b.rt.connect[5], a, 14445) && !netrule_match(&b.rt.connect[5], a, 14447),
	      "::/0 covers mapped IPv4, port range");
	v4[3] = 1;
	netrule_map_v4(v4, a);
	CHECK(!netrule_match(&b.rt.connect[4], a, 1234), "127.0.0.1 is not 127.0.0.2/32");
	memset(a, 0, 16);
	a[15] = 1;
	CHECK(netrule_match(&b.rt.connect[1], a, 443) && !netrule_match(&b.rt.connect[1], a, 444), "::1 80-443");
	CHECK(!netrule_match(&b.rt.connect[0], a, 1), "::1 is not 127.0.0.0/8");
	CHECK(path_under("/etc/passwd", "/etc") && path_under("/etc", "/etc/") && !path_under("/etcx", "/etc") &&
		      path_under("/x", "/"),
	      "path_under");
	bundle_free(&b);
}

/* Policy rules: path-strict drift (manifest queries by hash and path) and protocol-limited
 * network rules (what each rule's protocol matches, unknown socket types failing closed). */
static void check_policy_rules(void)
{
	struct bundle b;
	uint8_t one[32], two[32], three[32];
	memset(one, 0x11, 32);
	memset(two, 0x22, 32);
	memset(three, 0x33, 32);
	if (load_vector("policy-rules", &b) != 0)
		return;
	CHECK(b.drift_path_strict && !b.drift_ctime, "drift-path-strict on");
	CHECK(bundle_manifest_has_at(&b, one, "/bin/busybox") && bundle_manifest_has_at(&b, one, "/bin/sh"),
	      "content listed under two paths is at home at both");
	CHECK(!bundle_manifest_has_at(&b, one, "/tmp/x") && !bundle_manifest_has_at(&b, one, "/usr/bin/app"),
	      "the same content elsewhere, or at another content's path, is not");
	CHECK(bundle_manifest_has_at(&b, two, "/usr/bin/app") && !bundle_manifest_has_at(&b, three, "/usr/bin/app"),
	      "an unknown hash is at home nowhere");
	CHECK(!bundle_manifest_has_at(&b, one, "/bin/busybo") && !bundle_manifest_has_at(&b, one, "/bin/busybox/"),
	      "paths compare exactly");
	CHECK(b.rt.n_connect == 4 && b.rt.n_listen == 3, "rule counts %zu %zu", b.rt.n_connect, b.rt.n_listen);
	/* file order: allow 10/8 443 tcp, audit 127/8 *, block 0/0 53 udp, block ::/0 53 udp */
	CHECK(b.rt.connect[0].proto == NET_PROTO_TCP && b.rt.connect[1].proto == NET_PROTO_ANY &&
		      b.rt.connect[2].proto == NET_PROTO_UDP && b.rt.connect[3].proto == NET_PROTO_UDP,
	      "protocols");
	CHECK_STR(b.rt.connect[2].text, "0.0.0.0/0 53 udp");
	CHECK_STR(b.rt.connect[1].text, "127.0.0.0/8 *");
	CHECK(netrule_proto_match(&b.rt.connect[2], SOCK_DGRAM) && !netrule_proto_match(&b.rt.connect[2], SOCK_STREAM),
	      "udp block: datagram only");
	CHECK(netrule_proto_match(&b.rt.connect[0], SOCK_STREAM) && !netrule_proto_match(&b.rt.connect[0], SOCK_DGRAM),
	      "tcp allow: stream only");
	CHECK(!netrule_proto_match(&b.rt.connect[2], SOCK_RAW) && netrule_proto_match(&b.rt.connect[1], SOCK_RAW),
	      "another socket type: only rules without a protocol");
	CHECK(netrule_proto_match(&b.rt.connect[2], -1) && !netrule_proto_match(&b.rt.connect[0], -1) &&
		      netrule_proto_match(&b.rt.connect[1], -1),
	      "unknown type: protocol block rules apply, protocol allow rules do not");
	CHECK_STR(b.rt.listen[0].text, "53 udp");
	CHECK(b.rt.listen[0].proto == NET_PROTO_UDP && b.rt.listen[1].proto == NET_PROTO_ANY &&
		      b.rt.listen[2].proto == NET_PROTO_TCP && b.rt.listen[2].port_lo == 9000,
	      "listen protocols");
	CHECK(!netrule_proto_match(&b.rt.listen[0], -1), "an unknown type is not on a protocol listen port");
	bundle_free(&b);

	/* Without the directive: off. "off" is accepted and means off. */
	char err[512];
	const char *text = "inlay-bundle 1\ndrift-path-strict off\nnet-listen 53\nend\n";
	CHECK(bundle_parse(text, strlen(text), &b, err, sizeof err) == 0 && !b.drift_path_strict &&
		      b.rt.listen[0].proto == NET_PROTO_ANY && strcmp(b.rt.listen[0].text, "53") == 0,
	      "off: %s", err);
	bundle_free(&b);
}

/* Block-list modes: entries with the "audit" token land in block_audit, the others (no token or
 * "enforce") in block; both hash lists sorted; the token is only accepted on block lines. */
static void check_block_modes(void)
{
	struct bundle b;
	uint8_t a[32], bb[32];
	const char *rule = NULL;

	memset(a, 0xaa, sizeof a);
	memset(bb, 0xbb, sizeof bb);
	if (load_vector("block-modes", &b) != 0)
		return;
	CHECK(b.mode[CTL_BLOCKLIST] == INLAY_ENFORCE, "control stays the master switch");
	CHECK(b.block.n_names == 2 && strcmp(b.block.names[0], "both") == 0 && strcmp(b.block.names[1], "xmrig") == 0,
	      "names without a token in the control's list");
	CHECK(b.block_audit.n_names == 2 && strcmp(b.block_audit.names[0], "apt-get") == 0 &&
		      strcmp(b.block_audit.names[1], "pip 3") == 0,
	      "audit names decoded and apart");
	CHECK(b.block.n_globs == 1 && b.block_audit.n_globs == 1 && strcmp(b.block_audit.globs[0], "/usr/bin/dpkg*") == 0,
	      "globs by mode");
	CHECK(b.block.n_sha == 1 && b.block_audit.n_sha == 1 && memcmp(b.block.sha[0], a, 32) == 0 &&
		      memcmp(b.block_audit.sha[0], bb, 32) == 0,
	      "hashes by mode");
	CHECK(exelist_match(&b.block_audit, "/usr/bin/apt-get", NULL, &rule) && strcmp(rule, "name") == 0 &&
		      !exelist_match(&b.block, "/usr/bin/apt-get", NULL, NULL),
	      "apt-get is an audit entry only");
	CHECK(exelist_match(&b.block_audit, NULL, bb, &rule) && strcmp(rule, "sha256") == 0 &&
		      !exelist_match(&b.block, NULL, bb, NULL),
	      "an audit hash is not in the control's list");
	CHECK(exelist_match(&b.block, "/opt/miner/x", NULL, &rule) && strcmp(rule, "path") == 0 &&
		      !exelist_match(&b.block_audit, "/opt/miner/x", NULL, NULL),
	      "a glob without a token is the control's");
	bundle_free(&b);

	/* "enforce" is the same as no token; several audit hashes come out sorted; a file that
	 * names an entry in both modes keeps both (the verdict takes the stronger). */
	char err[512], text[1024];
	snprintf(text, sizeof text,
		 "inlay-bundle 1\ncontrol blocklist audit\nblock-name nc enforce\nblock-name nc audit\n"
		 "block-sha256 %s audit\nblock-sha256 %s audit\nend\n",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK(bundle_parse(text, strlen(text), &b, err, sizeof err) == 0, "tokens: %s", err);
	CHECK(b.block.n_names == 1 && b.block_audit.n_names == 1 && b.block_audit.n_sha == 2 &&
		      memcmp(b.block_audit.sha[0], a, 32) == 0 && memcmp(b.block_audit.sha[1], bb, 32) == 0,
	      "enforce token, audit hashes sorted");
	CHECK(b.allow.n_sha == 0 && b.block.n_sha == 0, "hash areas do not overlap");
	bundle_free(&b);
	const char *encoded = "inlay-bundle 1\nblock-name nc aud%69t\nend\n";
	CHECK(bundle_parse(encoded, strlen(encoded), &b, err, sizeof err) == -1 &&
		      strstr(err, "line 2: argument 2 of \"block-name\" is the entry's mode") &&
		      strstr(err, "found \"aud%69t\""),
	      "the token is not percent-decoded: %s", err);
}

static void check_defaults(void)
{
	struct bundle b;
	bundle_defaults(&b);
	CHECK_STR(b.id, "none");
	CHECK(!b.fail_open && !b.serverless_only && !b.report_execs, "defaults");
	for (int c = 0; c < CTL_COUNT; c++)
		CHECK(bundle_mode_now(&b, (enum inlay_control)c, 0) == INLAY_OFF, "control %d off", c);
	CHECK(!exelist_match(&b.block, "/bin/sh", NULL, NULL), "empty list matches nothing");

	if (load_vector("ctime-without-manifest", &b) == 0) {
		CHECK(b.drift_ctime && b.n_manifest == 0 && b.mode[CTL_DRIFT] == INLAY_AUDIT, "ctime drift");
		bundle_free(&b);
	}
}

static int parse_str(const char *text, struct bundle *b, char *err, size_t errlen)
{
	return bundle_parse(text, strlen(text), b, err, errlen);
}

static void inline_cases(void)
{
	struct bundle b;
	char err[512];
	const char *hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	char text[1024];

	/* Comments and empty lines anywhere; lower-case escapes; singletons absent = defaults. */
	snprintf(text, sizeof text, "inlay-bundle 1\n# comment\n\n#\ncontrol drift enforce\n\nexe %s /a%%2fb%%20c\nend\n", hex);
	CHECK(parse_str(text, &b, err, sizeof err) == 0, "comments: %s", err);
	CHECK(b.n_manifest == 1 && strcmp(b.manifest[0].path, "/a/b c") == 0, "lower-case escapes");
	CHECK(!b.fail_open && !b.serverless_only && !b.drift_ctime && !b.report_execs, "defaults");
	bundle_free(&b);

	/* "end" must be the very last bytes. */
	CHECK(parse_str("inlay-bundle 1\nend\n# x\n", &b, err, sizeof err) == -1 && strstr(err, "line 3: data after"),
	      "%s", err);
	/* A NUL byte in the text is never a terminator. */
	CHECK(bundle_parse("inlay-bundle 1\nend\n\0", 20, &b, err, sizeof err) == -1 && strstr(err, "line 3"), "%s", err);
	CHECK(bundle_parse("inlay-bundle 1\nblock-name a\0b\nend\n", 31, &b, err, sizeof err) == -1 &&
		      strstr(err, "must be percent-encoded"),
	      "%s", err);
	/* The maximum line length is accepted; one more is not. */
	{
		static char big[9000 + 64];
		size_t n = (size_t)snprintf(big, sizeof big, "inlay-bundle 1\nblock-name ");
		memset(big + n, 'a', 8192 - 11);
		n += 8192 - 11;
		n += (size_t)snprintf(big + n, sizeof big - n, "\nend\n");
		CHECK(bundle_parse(big, n, &b, err, sizeof err) == 0, "8192-byte line: %s", err);
		CHECK(b.block.n_names == 1 && strlen(b.block.names[0]) == 8192 - 11, "long name kept");
		bundle_free(&b);
	}
	/* Over the size limit: refused before looking at the content. */
	CHECK(bundle_parse("x", (size_t)BUNDLE_MAX_SIZE + 1, &b, err, sizeof err) == -1 && strstr(err, "limit"), "%s", err);
	/* A small error buffer still gets a terminated prefix; errlen 0 is allowed. */
	{
		char tiny[8];
		CHECK(parse_str("nope\n", &b, tiny, sizeof tiny) == -1 && strlen(tiny) == 7, "tiny err \"%s\"", tiny);
		CHECK(parse_str("nope\n", &b, NULL, 0) == -1, "errlen 0");
	}
	/* Not a regular file, missing file. */
	CHECK(bundle_load("/", &b, err, sizeof err) == -1 && strstr(err, "/: the bundle is not a regular file"), "%s", err);
	CHECK(bundle_load("/nonexistent/bundle", &b, err, sizeof err) == -1 &&
		      strstr(err, "/nonexistent/bundle: cannot open the bundle"),
	      "%s", err);
	/* Same control repeated with enforce-after before its control line: order does not matter. */
	CHECK(parse_str("inlay-bundle 1\nenforce-after loader 5\ncontrol loader audit\nend\n", &b, err, sizeof err) == 0,
	      "%s", err);
	CHECK(bundle_mode_now(&b, CTL_LOADER, 4) == INLAY_AUDIT && bundle_mode_now(&b, CTL_LOADER, 5) == INLAY_ENFORCE,
	      "enforce-after 5");
	bundle_free(&b);
	CHECK_STR(control_name(CTL_ALLOWLIST), "allowlist");
	CHECK_STR(mode_name(INLAY_AUDIT), "audit");
}

int main(int argc, char **argv)
{
	snprintf(vectors, sizeof vectors, "%s", argc > 1 ? argv[1] : "../test/vectors");
	run_dir("valid");
	run_dir("invalid");
	check_everything();
	check_runtime();
	check_policy_rules();
	check_block_modes();
	check_defaults();
	inline_cases();
	return tap_done("bundle");
}
