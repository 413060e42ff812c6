/* The bundle in force under a console policy: the baked bundle with every policy directive
 * replaced by the overlay's (docs/bundle-format.md, "Policy overlay"; whole replacement, not a
 * union).
 *
 * The overlay's allocation becomes the merged bundle's: every policy field, including ones added
 * to the parser later, keeps pointing into it, so nothing of the policy needs copying. The image
 * and link fields are copied from the baked bundle into a second allocation, so the merged bundle
 * does not depend on the baked one's lifetime. */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Size of one string copy, NUL included; 0 for NULL. */
static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copies s to *strp and advances it; NULL stays NULL. */
static char *str_copy(const char *s, char **strp)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = *strp;
	memcpy(d, s, n);
	*strp += n;
	return d;
}

static int check_merged(const struct bundle *m, char *err, size_t errlen)
{
	if (m->mode[CTL_DRIFT] != INLAY_OFF && !m->drift_ctime && m->n_manifest == 0) {
		snprintf(err, errlen,
			 "\"control drift %s\" with drift-source manifest needs the image's manifest, but the image's "
			 "bundle has no \"exe\" lines (an empty manifest makes every exec drift); use drift-source ctime "
			 "in the console policy or embed a manifest",
			 mode_name(m->mode[CTL_DRIFT]));
		return -1;
	}
	return 0;
}

int bundle_merge(const struct bundle *baked, struct bundle *overlay, struct bundle *out, char *err, size_t errlen)
{
	size_t ptrs = baked->n_dormant_env + baked->n_dormant_path;
	size_t strs = str_size(baked->console_url) + str_size(baked->console_ca) + str_size(baked->enrol_token);

	bundle_defaults(out);
	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < baked->n_manifest; i++)
		strs += str_size(baked->manifest[i].path);
	for (size_t i = 0; i < baked->n_dormant_env; i++)
		strs += str_size(baked->dormant_env[i]);
	for (size_t i = 0; i < baked->n_dormant_path; i++)
		strs += str_size(baked->dormant_path[i]);
	/* Layout: manifest entries, then the pointer arrays, then the strings. The sizes are bounded by
	 * the baked bundle, which was itself at most BUNDLE_MAX_SIZE bytes of text. */
	size_t o_ptrs = baked->n_manifest * sizeof(struct manifest_entry);
	size_t o_str = o_ptrs + ptrs * sizeof(char *);
	size_t total = o_str + strs + 1;
	char *arena = malloc(total);
	if (!arena) {
		snprintf(err, errlen, "cannot allocate %zu bytes for the merged policy", total);
		bundle_free(overlay);
		return -1;
	}

	*out = *overlay;               /* every policy field and the overlay's allocation */
	bundle_defaults(overlay);      /* ownership moved */
	memcpy(out->overlay_id, out->id, sizeof out->overlay_id);
	memcpy(out->id, baked->id, sizeof out->id);
	out->image_arena_ = arena;
	out->fail_open = baked->fail_open;
	out->serverless_only = baked->serverless_only;
	out->console_plain_http = baked->console_plain_http;
	out->wait_for_policy_s = baked->wait_for_policy_s;
	out->wait_fail_open = baked->wait_fail_open;

	char *strp = arena + o_str;
	char **pp = (char **)(void *)(arena + o_ptrs);
	out->manifest = (struct manifest_entry *)(void *)arena;
	out->n_manifest = baked->n_manifest;
	for (size_t i = 0; i < baked->n_manifest; i++) {
		memcpy(out->manifest[i].sha, baked->manifest[i].sha, 32);
		out->manifest[i].path = str_copy(baked->manifest[i].path, &strp);
	}
	out->dormant_env = pp;
	out->n_dormant_env = baked->n_dormant_env;
	for (size_t i = 0; i < baked->n_dormant_env; i++)
		*pp++ = str_copy(baked->dormant_env[i], &strp);
	out->dormant_path = pp;
	out->n_dormant_path = baked->n_dormant_path;
	for (size_t i = 0; i < baked->n_dormant_path; i++)
		*pp++ = str_copy(baked->dormant_path[i], &strp);
	out->console_url = str_copy(baked->console_url, &strp);
	out->console_ca = str_copy(baked->console_ca, &strp);
	out->enrol_token = str_copy(baked->enrol_token, &strp);

	if (check_merged(out, err, errlen) != 0) {
		bundle_free(out);
		return -1;
	}
	return 0;
}
