/* Test tool: parses a bundle with the enforcer's parser and prints what it understood as one JSON
 * object shaped like the TypeScript BundleSpec (plus "id"), so the writer's tests can check that
 * the C side reads back exactly the spec that was written. Manifest and hash lists come out in
 * the parser's order (sorted by hash). Exit 1 with the parser's message on stderr when rejected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "json.h"
#include "sha256.h"

static void str_list(struct json *j, const char *key, char **v, size_t n)
{
	json_key(j, key);
	json_begin_array(j);
	for (size_t i = 0; i < n; i++)
		json_str(j, v[i]);
	json_end_array(j);
}

static void exe_list(struct json *j, const char *key, const struct exelist *l)
{
	char hex[65];
	json_key(j, key);
	json_begin_object(j);
	str_list(j, "names", l->names, l->n_names);
	str_list(j, "pathGlobs", l->globs, l->n_globs);
	json_key(j, "sha256");
	json_begin_array(j);
	for (size_t i = 0; i < l->n_sha; i++) {
		sha256_hex_encode(l->sha[i], hex);
		json_str(j, hex);
	}
	json_end_array(j);
	json_end_object(j);
}

/* The optional runtime parts of the spec, each only when the bundle has lines for it. */
static void runtime_fields(struct json *j, const struct bundle_runtime *rt)
{
	static const char *const defaults[] = { "allow", "audit", "block" };
	static const char *const protos[] = { "any", "tcp", "udp" };
	if (rt->net_default_set || rt->n_connect || rt->n_listen || rt->listen_default_set) {
		json_key(j, "network");
		json_begin_object(j);
		json_key(j, "connect");
		json_begin_array(j);
		for (size_t i = 0; i < rt->n_connect; i++) {
			/* text: "CIDR PORTS" or "CIDR PORTS PROTO" */
			const char *sp = strchr(rt->connect[i].text, ' ');
			const char *sp2 = strchr(sp + 1, ' ');
			char cidr[64], ports[16];
			snprintf(cidr, sizeof cidr, "%.*s", (int)(sp - rt->connect[i].text), rt->connect[i].text);
			snprintf(ports, sizeof ports, "%.*s", (int)(sp2 ? (size_t)(sp2 - sp - 1) : strlen(sp + 1)), sp + 1);
			json_begin_object(j);
			json_key(j, "action");
			json_str(j, defaults[rt->connect[i].action]);
			json_key(j, "cidr");
			json_str(j, cidr);
			json_key(j, "ports");
			json_str(j, ports);
			if (rt->connect[i].proto != NET_PROTO_ANY) {
				json_key(j, "protocol");
				json_str(j, protos[rt->connect[i].proto]);
			}
			json_end_object(j);
		}
		json_end_array(j);
		json_key(j, "default");
		json_str(j, defaults[rt->net_default]);
		json_key(j, "listenDefault");
		json_str(j, defaults[rt->listen_default]);
		json_key(j, "listen");
		json_begin_array(j);
		for (size_t i = 0; i < rt->n_listen; i++) {
			/* a protocol-less port is a string, else {ports, protocol} */
			if (rt->listen[i].proto == NET_PROTO_ANY) {
				json_str(j, rt->listen[i].text);
				continue;
			}
			char ports[16];
			snprintf(ports, sizeof ports, "%.*s", (int)(strchr(rt->listen[i].text, ' ') - rt->listen[i].text),
				 rt->listen[i].text);
			json_begin_object(j);
			json_key(j, "ports");
			json_str(j, ports);
			json_key(j, "protocol");
			json_str(j, protos[rt->listen[i].proto]);
			json_end_object(j);
		}
		json_end_array(j);
		json_end_object(j);
	}
	if (rt->n_readonly || rt->n_audited) {
		json_key(j, "files");
		json_begin_object(j);
		str_list(j, "readOnly", rt->readonly, rt->n_readonly);
		str_list(j, "audited", rt->audited, rt->n_audited);
		json_end_object(j);
	}
	if (rt->n_shells)
		str_list(j, "shellNames", rt->shells, rt->n_shells);
}

int main(int argc, char **argv)
{
	struct bundle b;
	struct json j;
	char err[1024], hex[65];
	size_t cap = 1 << 20;

	if (argc != 2) {
		fprintf(stderr, "usage: bundle-dump FILE\n");
		return 2;
	}
	if (bundle_load(argv[1], &b, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (;;) {
		char *buf = malloc(cap);
		if (!buf)
			return 3;
		json_init(&j, buf, cap);
		json_begin_object(&j);
		json_key(&j, "id");
		json_str(&j, b.id);
		json_key(&j, "failMode");
		json_str(&j, b.fail_open ? "open" : "closed");
		json_key(&j, "activation");
		json_str(&j, b.serverless_only ? "serverless" : "always");
		json_key(&j, "dormancy");
		json_begin_object(&j);
		str_list(&j, "env", b.dormant_env, b.n_dormant_env);
		str_list(&j, "paths", b.dormant_path, b.n_dormant_path);
		json_end_object(&j);
		json_key(&j, "controls");
		json_begin_object(&j);
		for (int c = 0; c < CTL_COUNT; c++) {
			/* runtime controls are optional in the spec: shown only when on */
			if (c >= CTL_EXEC_COUNT && b.mode[c] == INLAY_OFF)
				continue;
			json_key(&j, control_name((enum inlay_control)c));
			json_str(&j, mode_name(b.mode[c]));
		}
		json_end_object(&j);
		json_key(&j, "enforceAfter");
		json_begin_object(&j);
		for (int c = 0; c < CTL_COUNT; c++) {
			if (b.enforce_after[c]) {
				json_key(&j, control_name((enum inlay_control)c));
				json_int(&j, b.enforce_after[c]);
			}
		}
		json_end_object(&j);
		json_key(&j, "driftSource");
		json_str(&j, b.drift_ctime ? "ctime" : "manifest");
		json_key(&j, "reportExecs");
		json_bool(&j, b.report_execs);
		if (b.drift_path_strict) {
			json_key(&j, "driftPathStrict");
			json_bool(&j, true);
		}
		exe_list(&j, "blockList", &b.block);
		/* optional in the spec: only when some block-list line has the "audit" token */
		if (b.block_audit.n_names || b.block_audit.n_globs || b.block_audit.n_sha)
			exe_list(&j, "blockListAudit", &b.block_audit);
		exe_list(&j, "allowList", &b.allow);
		runtime_fields(&j, &b.rt);
		json_key(&j, "manifest");
		json_begin_array(&j);
		for (size_t i = 0; i < b.n_manifest; i++) {
			json_begin_object(&j);
			json_key(&j, "sha256");
			sha256_hex_encode(b.manifest[i].sha, hex);
			json_str(&j, hex);
			json_key(&j, "path");
			json_str(&j, b.manifest[i].path);
			json_end_object(&j);
		}
		json_end_array(&j);
		if (b.console_url) {
			json_key(&j, "console");
			json_begin_object(&j);
			json_key(&j, "url");
			json_str(&j, b.console_url);
			if (b.console_ca) {
				json_key(&j, "ca");
				json_str(&j, b.console_ca);
			}
			if (b.enrol_token) {
				json_key(&j, "enrolToken");
				json_str(&j, b.enrol_token);
			}
			if (b.console_plain_http) {
				json_key(&j, "plainHttp");
				json_bool(&j, true);
			}
			if (b.wait_for_policy_s) {
				json_key(&j, "waitForPolicy");
				json_begin_object(&j);
				json_key(&j, "seconds");
				json_int(&j, b.wait_for_policy_s);
				json_key(&j, "failMode");
				json_str(&j, b.wait_fail_open ? "open" : "closed");
				json_end_object(&j);
			}
			json_end_object(&j);
		}
		json_end_object(&j);
		if (!j.overflow) {
			printf("%s\n", buf);
			free(buf);
			break;
		}
		free(buf);
		cap *= 4; /* the output is bounded by a few times the bundle size */
	}
	bundle_free(&b);
	return 0;
}
