/* The console's policy answer: parse, merge, hand over, report (contracts in policy_answer.h). */
#include "policy_answer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "json.h"
#include "jsonr.h"
#include "policy.h"
#include "rtctl.h"

static const struct bundle *baked;
static char overlay_text[OVERLAY_MAX_SIZE + 1]; /* BSS: pages are touched only by an overlay */
static char in_force_sha[72] = "baked";         /* "baked" or the applied policy's sha256 */
static char in_force_overlay[80];               /* its overlay id, "" when baked */
static char mode[8];
/* Why the last answer was refused ("" = it was not); main reads it for wait-for-policy. */
static pthread_mutex_t refusal_mu = PTHREAD_MUTEX_INITIALIZER;
static char refusal[640];

struct policy_ref {
	char name[128];
	int64_t version;
	char sha256[72];
	char overlay_id[80];
};

static void set_refusal(const char *why)
{
	pthread_mutex_lock(&refusal_mu);
	snprintf(refusal, sizeof refusal, "%s", why);
	pthread_mutex_unlock(&refusal_mu);
}

/* Emits enforcer.policy. action: "applied", "reverted" or "refused"; missing: the traps the
 * filter lacks for the bundle now in force (its controls become pending_restart). */
static void emit_policy(const char *action, const char *severity, const char *reason, const struct policy_ref *p,
			unsigned missing, const char *error)
{
	char detail[2048];
	struct json j;
	json_init(&j, detail, sizeof detail);
	json_begin_object(&j);
	json_key(&j, "action");
	json_str(&j, action);
	json_key(&j, "policy_in_force");
	json_str(&j, in_force_sha);
	if (p) {
		json_key(&j, "policy");
		json_begin_object(&j);
		json_key(&j, "name");
		json_str_capped(&j, p->name, 120);
		json_key(&j, "version");
		json_int(&j, p->version);
		json_key(&j, "sha256");
		json_str(&j, p->sha256);
		json_end_object(&j);
		json_key(&j, "overlay_id");
		json_str(&j, p->overlay_id);
	}
	json_key(&j, "pending_restart");
	json_begin_array(&j);
	if (missing & (TRAP_NET_CONNECT | TRAP_NET_BIND))
		json_str(&j, "network");
	if (missing & TRAP_FILES)
		json_str(&j, "files");
	if (missing & TRAP_PRIVILEGE)
		json_str(&j, "privilege");
	json_end_array(&j);
	if (error) {
		json_key(&j, "error");
		json_str_capped(&j, error, 600);
	}
	json_end_object(&j);
	struct event ev = {
		.kind = "enforcer.policy", .severity = severity, .action = "info", .mode = "none", .rule = "",
		.reason = reason, .detail_json = j.overflow ? NULL : detail,
	};
	events_emit(&ev);
}

static void refuse_policy(const struct policy_ref *p, const char *why)
{
	char msg[640];
	snprintf(msg, sizeof msg, "console policy %s version %lld: %s", p->name[0] ? p->name : "?", (long long)p->version,
		 why);
	set_refusal(msg);
	emit_policy("refused", "high",
		    "the console policy cannot be applied; the policy in force stays unchanged", p, 0, msg);
}

static void update_mode(const struct bundle *b)
{
	bool enforce = false, audit = false;
	for (int c = 0; c < CTL_COUNT; c++) {
		enforce |= b->mode[c] == INLAY_ENFORCE;
		audit |= b->mode[c] == INLAY_AUDIT;
	}
	snprintf(mode, sizeof mode, "%s", enforce && audit ? "mixed" : enforce ? "enforce" : audit ? "audit" : "off");
}

/* override:false (or no policy assigned): the baked bundle. */
static void revert_policy(void)
{
	set_refusal("");
	if (strcmp(in_force_sha, "baked") == 0)
		return;
	unsigned missing = policy_offer(NULL);
	snprintf(in_force_sha, sizeof in_force_sha, "baked");
	in_force_overlay[0] = '\0';
	update_mode(baked);
	emit_policy("reverted", missing ? "medium" : "info",
		    "the group no longer overrides the baked policy: the image's policy is in force again", NULL, missing,
		    NULL);
}

/* Parses the overlay in overlay_text[0..len), merges it with the baked bundle and hands it over. */
static void apply_overlay(const struct policy_ref *p, size_t len)
{
	char err[600];
	struct bundle ov;
	if (bundle_parse_overlay(overlay_text, len, &ov, err, sizeof err) != 0) {
		char why[640];
		snprintf(why, sizeof why, "overlay %s", err);
		refuse_policy(p, why);
		return;
	}
	if (strcmp(ov.id, p->overlay_id) != 0) {
		bundle_free(&ov);
		refuse_policy(p, "the overlay's bytes do not match its overlay_id");
		return;
	}
	struct bundle *m = malloc(sizeof *m);
	if (!m) {
		bundle_free(&ov);
		refuse_policy(p, "cannot allocate the merged policy");
		return;
	}
	if (bundle_merge(baked, &ov, m, err, sizeof err) != 0) {
		free(m);
		char why[640];
		snprintf(why, sizeof why, "overlay merged with the image's bundle: %s", err);
		refuse_policy(p, why);
		return;
	}
	update_mode(m);
	unsigned missing = policy_offer(m); /* m belongs to the tracer from here on */
	set_refusal("");
	snprintf(in_force_sha, sizeof in_force_sha, "%s", p->sha256);
	snprintf(in_force_overlay, sizeof in_force_overlay, "%s", p->overlay_id);
	emit_policy("applied", missing ? "medium" : "info",
		    missing ? "a console policy is in force; some of its controls need a container restart"
			    : "a console policy is in force",
		    p, missing, NULL);
}

/* {"override":bool,"policy":null|{name,version,sha256,document,overlay,overlay_id}}. */
static void handle(const char *doc, size_t n)
{
	struct policy_ref p;
	const char *v, *pol;
	size_t vl, pl;
	memset(&p, 0, sizeof p);
	if (jsonr_raw(doc, n, "override", &v, &vl) != JSONR_OK || !((vl == 4 && !memcmp(v, "true", 4)) ||
								     (vl == 5 && !memcmp(v, "false", 5)))) {
		refuse_policy(&p, "the console's policy answer has no boolean \"override\"");
		return;
	}
	bool override = vl == 4;
	if (jsonr_raw(doc, n, "policy", &pol, &pl) != JSONR_OK || (pl == 4 && !memcmp(pol, "null", 4)) || !override) {
		revert_policy();
		return;
	}
	if (jsonr_string(pol, pl, "name", p.name, sizeof p.name) != JSONR_OK ||
	    jsonr_int(pol, pl, "version", &p.version) != JSONR_OK ||
	    jsonr_string(pol, pl, "sha256", p.sha256, sizeof p.sha256) != JSONR_OK) {
		refuse_policy(&p, "the console's policy answer lacks name, version or sha256");
		return;
	}
	char cerr[480] = "";
	enum jsonr_result ovr = jsonr_string(pol, pl, "overlay", overlay_text, sizeof overlay_text);
	if (ovr != JSONR_OK) {
		char why[640];
		if (ovr == JSONR_TOO_LONG)
			snprintf(why, sizeof why, "the overlay is larger than %u bytes", OVERLAY_MAX_SIZE);
		else if (jsonr_string(pol, pl, "overlay_error", cerr, sizeof cerr) == JSONR_OK)
			snprintf(why, sizeof why, "the console could not compile it: %s", cerr);
		else
			snprintf(why, sizeof why, "the console's answer has no overlay");
		refuse_policy(&p, why);
		return;
	}
	if (jsonr_string(pol, pl, "overlay_id", p.overlay_id, sizeof p.overlay_id) != JSONR_OK) {
		refuse_policy(&p, "the console's answer has no overlay_id");
		return;
	}
	if (strcmp(p.overlay_id, in_force_overlay) == 0) {
		/* Already in force (a new ETag for the same overlay: renamed, or the document changed
		 * without changing a directive): only policy_in_force follows the version. */
		snprintf(in_force_sha, sizeof in_force_sha, "%s", p.sha256);
		set_refusal("");
		return;
	}
	apply_overlay(&p, strlen(overlay_text));
}

void policy_answer_init(const struct bundle *b)
{
	baked = b;
	update_mode(b);
}

bool policy_answer_handle(const char *doc, size_t n)
{
	char before[72];
	snprintf(before, sizeof before, "%s", in_force_sha);
	handle(doc, n);
	return strcmp(before, in_force_sha) != 0;
}

const char *policy_answer_in_force(void)
{
	return in_force_sha;
}

const char *policy_answer_mode(void)
{
	return mode;
}

int policy_answer_refusal(char *why, size_t cap)
{
	pthread_mutex_lock(&refusal_mu);
	int refused = refusal[0] != '\0';
	snprintf(why, cap, "%s", refusal);
	pthread_mutex_unlock(&refusal_mu);
	return refused;
}
