/* Bundle format v1 parser (docs/bundle-format.md).
 *
 * Two passes over the same text: the first validates everything and counts entries and decoded
 * string bytes, the second stores them into one allocation sized exactly from those counts. So
 * a bundle costs one malloc, every failure is found before anything is allocated, and the
 * stored form cannot disagree with the validated one (both passes run the same code). */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "match.h"
#include "pctenc.h"
#include "http.h"
#include "sha256.h"

#define HEADER "inlay-bundle 1"
#define OVERLAY_HEADER "inlay-policy 1"
#define MAX_TOKENS 6 /* keyword + at most 4 arguments; a 6th token means "too many" */

static const char *const CONTROL_NAMES[CTL_COUNT] = { "drift",     "fileless", "loader", "blocklist",     "allowlist",
						       "network",   "files",    "reverse-shell", "privilege" };
static const char *const MODE_NAMES[] = { "off", "audit", "enforce" };

const char *control_name(enum inlay_control c)
{
	return (unsigned)c < CTL_COUNT ? CONTROL_NAMES[c] : "?";
}

const char *mode_name(enum inlay_mode m)
{
	return (unsigned)m <= INLAY_ENFORCE ? MODE_NAMES[m] : "?";
}

struct token {
	const char *p;
	size_t n;
};

/* Per-list counters; in the store pass they double as fill positions. */
struct counts {
	size_t env, dpath, bname, bglob, bsha, aname, aglob, asha, exe, str_bytes;
	size_t qname, qglob, qsha; /* block-list entries with the "audit" token */
	size_t conn, listen, ro, aud, shell; /* runtime controls */
};

struct parser {
	struct bundle *b;
	bool store;
	bool overlay;               /* a policy overlay: policy directives only (DIR_POLICY) */
	struct counts n;
	char *strp;                 /* store pass: next free byte of the string area */
	size_t lineno;
	char *err;
	size_t errlen;
	/* line on which each single-use directive was first seen (0: not yet) */
	size_t seen_fail_mode, seen_activation, seen_drift_source, seen_report_execs;
	size_t seen_control[CTL_COUNT], seen_enforce_after[CTL_COUNT];
	/* console link directives */
	size_t seen_console, seen_console_ca, seen_enrol_token, seen_plain_http, seen_wait_policy;
	struct token console_url;   /* the encoded URL argument, for the whole-file rules */
	size_t seen_net_default, seen_listen_default;
	size_t seen_drift_path_strict;
};

static int parse_runtime_directive(struct parser *ps, const struct token *tok, size_t ntok);

__attribute__((format(printf, 2, 3))) static int fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ps->errlen)
		return -1;
	n = snprintf(ps->err, ps->errlen, "line %zu: ", ps->lineno);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Shows untrusted bytes in an error: printable ASCII as is, anything else as \xNN, at most 64
 * input bytes. out must hold 64 * 4 + 4 bytes. */
#define SHOW_MAX 64
#define SHOW_CAP (SHOW_MAX * 4 + 4)
static const char *show(const struct token *t, char out[SHOW_CAP])
{
	size_t o = 0;
	for (size_t i = 0; i < t->n && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)t->p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, SHOW_CAP - o, "\\x%02x", c);
	}
	if (t->n > SHOW_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static bool tok_is(const struct token *t, const char *s)
{
	size_t n = strlen(s);
	return t->n == n && memcmp(t->p, s, n) == 0;
}

/* Index of t in names[0..count), or -1. */
static int tok_lookup(const struct token *t, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (tok_is(t, names[i]))
			return i;
	return -1;
}

static int want_args(struct parser *ps, const struct token *tok, size_t ntok, size_t want, const char *usage)
{
	char shown[SHOW_CAP];
	if (ntok - 1 == want)
		return 0;
	if (ntok > want + 1)
		return fail(ps, "\"%s\" takes %zu argument%s (%s), found more", show(&tok[0], shown), want,
			    want == 1 ? "" : "s", usage);
	return fail(ps, "\"%s\" takes %zu argument%s (%s), found %zu", show(&tok[0], shown), want,
		    want == 1 ? "" : "s", usage, ntok - 1);
}

/* want_args for a directive whose last argument is optional: min or min + 1 arguments. */
static int want_args_opt(struct parser *ps, const struct token *tok, size_t ntok, size_t min, const char *usage)
{
	char shown[SHOW_CAP], found[24];
	if (ntok - 1 == min || ntok - 1 == min + 1)
		return 0;
	if (ntok == MAX_TOKENS) /* the tokenizer stopped counting */
		snprintf(found, sizeof found, "more");
	else
		snprintf(found, sizeof found, "%zu", ntok - 1);
	return fail(ps, "\"%s\" takes %zu or %zu arguments (%s), found %s", show(&tok[0], shown), min, min + 1, usage,
		    found);
}

static int once(struct parser *ps, size_t *seen, const char *what)
{
	if (*seen)
		return fail(ps, "repeated \"%s\" (first on line %zu); it may appear at most once", what, *seen);
	*seen = ps->lineno;
	return 0;
}

/* A choice among fixed words; returns the index or fails naming the choices. */
static int choose(struct parser *ps, const char *kw, const struct token *t, const char *const *words, int count,
		  const char *choices)
{
	char shown[SHOW_CAP];
	int i = tok_lookup(t, words, count);
	if (i < 0)
		return fail(ps, "\"%s\" must be %s, found \"%s\"", kw, choices, show(t, shown)), -1;
	return i;
}

static int parse_hex64(struct parser *ps, const char *kw, const struct token *t, uint8_t out[32])
{
	char shown[SHOW_CAP];
	if (sha256_hex_decode(t->p, t->n, out) != 0)
		return fail(ps, "\"%s\" needs a SHA-256 as 64 lower-case hex digits, found \"%s\"", kw, show(t, shown));
	return 0;
}

/* show() for a decoded, NUL-terminated value (it may hold any byte but NUL). */
static const char *show_str(const char *s, char out[SHOW_CAP])
{
	struct token t = { s, strlen(s) };
	return show(&t, out);
}

static int check_absolute(struct parser *ps, const char *kw, const char *decoded)
{
	char shown[SHOW_CAP];
	if (decoded[0] != '/')
		return fail(ps, "the path of \"%s\" must be absolute (start with \"/\"), found \"%s\"", kw,
			    show_str(decoded, shown));
	return 0;
}

/* Decodes argument t (number argno of keyword kw) and counts its bytes. The store pass decodes
 * into the string area (sized by the count pass plus one line of slack) and keeps it there; the
 * count pass decodes into the caller's scratch buffer so the value can still be validated. */
static int decode_value(struct parser *ps, const char *kw, int argno, const struct token *t, char *scratch,
			char **value)
{
	char *dst = ps->store ? ps->strp : scratch;
	size_t outlen = 0, errpos = 0;
	enum pct_error e = pct_decode(t->p, t->n, dst, BUNDLE_MAX_LINE + 1, &outlen, &errpos);

	if (e != PCT_OK) {
		char shown[SHOW_CAP];
		return fail(ps, "argument %d of \"%s\": %s at byte %zu of \"%s\"", argno, kw, pct_strerror(e),
			    errpos + 1, show(t, shown));
	}
	ps->n.str_bytes += outlen + 1;
	*value = dst;
	if (ps->store)
		ps->strp += outlen + 1;
	return 0;
}

static int add_list_entry(struct parser *ps, struct exelist *l, size_t *n_names, size_t *n_globs, size_t *n_sha,
			  const char *kw, const struct token *arg)
{
	char scratch[BUNDLE_MAX_LINE + 1];
	char *v;
	const char *kind = strchr(kw, '-') + 1;

	if (strcmp(kind, "sha256") == 0) {
		uint8_t d[32];
		if (parse_hex64(ps, kw, arg, d) != 0)
			return -1;
		if (ps->store)
			memcpy(l->sha[*n_sha], d, 32);
		(*n_sha)++;
		return 0;
	}
	if (decode_value(ps, kw, 1, arg, scratch, &v) != 0)
		return -1;
	if (strcmp(kind, "name") == 0) {
		if (strchr(v, '/')) {
			char shown[SHOW_CAP];
			return fail(ps, "\"%s\" takes a basename without \"/\", found \"%s\"; use %s-path for paths", kw,
				    show_str(v, shown), kw[0] == 'b' ? "block" : "allow");
		}
		if (ps->store)
			l->names[*n_names] = v;
		(*n_names)++;
		return 0;
	}
	if (check_absolute(ps, kw, v) != 0)
		return -1;
	if (ps->store)
		l->globs[*n_globs] = v;
	(*n_globs)++;
	return 0;
}

static int parse_epoch(struct parser *ps, const struct token *t, int64_t *out)
{
	char shown[SHOW_CAP];
	int64_t v = 0;

	if (t->n == 0 || t->n > 18 || t->p[0] == '0')
		goto bad;
	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			goto bad;
		v = v * 10 + (t->p[i] - '0');
	}
	*out = v;
	return 0;
bad:
	return fail(ps, "\"enforce-after\" needs EPOCH_SECONDS as a positive decimal integer without leading "
			"zeros, found \"%s\"", show(t, shown));
}

/* ---- Console link directives (docs/bundle-format.md, "Console link") ----
 * Returns 1 when kw is not one of them, else 0 or -1 like parse_directive. */
static int parse_console_directive(struct parser *ps, const struct token *tok, size_t ntok)
{
	struct bundle *b = ps->b;
	const struct token *kw = &tok[0];
	char scratch[BUNDLE_MAX_LINE + 1], shown[SHOW_CAP], uerr[320];
	char *v;
	int i;

	if (tok_is(kw, "console")) {
		struct http_url u;
		if (want_args(ps, tok, ntok, 1, "URL") || once(ps, &ps->seen_console, "console") ||
		    decode_value(ps, "console", 1, &tok[1], scratch, &v))
			return -1;
		if (http_url_parse(v, &u, uerr, sizeof uerr) != 0)
			return fail(ps, "\"console\": %s", uerr);
		ps->console_url = tok[1];
		if (ps->store)
			b->console_url = v;
		return 0;
	}
	if (tok_is(kw, "console-ca")) {
		if (want_args(ps, tok, ntok, 1, "PEM or PATH") || once(ps, &ps->seen_console_ca, "console-ca") ||
		    decode_value(ps, "console-ca", 1, &tok[1], scratch, &v))
			return -1;
		if (v[0] != '/' && strncmp(v, "-----BEGIN CERTIFICATE-----", 27) != 0)
			return fail(ps, "\"console-ca\" needs a percent-encoded PEM certificate (\"-----BEGIN CERTIFICATE-----...\") "
					"or an absolute path to one, found \"%s\"", show_str(v, shown));
		if (ps->store)
			b->console_ca = v;
		return 0;
	}
	if (tok_is(kw, "enrol-token")) {
		if (want_args(ps, tok, ntok, 1, "TOKEN") || once(ps, &ps->seen_enrol_token, "enrol-token"))
			return -1;
		bool ok = tok[1].n <= 200;
		for (size_t k = 0; ok && k < tok[1].n; k++) {
			char c = tok[1].p[k];
			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
		}
		if (!ok)
			return fail(ps, "\"enrol-token\" must be 1-200 characters of [A-Za-z0-9_-], found \"%s\"",
				    show(&tok[1], shown));
		if (decode_value(ps, "enrol-token", 1, &tok[1], scratch, &v))
			return -1;
		if (ps->store)
			b->enrol_token = v;
		return 0;
	}
	if (tok_is(kw, "console-plain-http")) {
		static const char *const onoff[] = { "off", "on" };
		if (want_args(ps, tok, ntok, 1, "on|off") || once(ps, &ps->seen_plain_http, "console-plain-http") ||
		    (i = choose(ps, "console-plain-http", &tok[1], onoff, 2, "\"on\" or \"off\"")) < 0)
			return -1;
		b->console_plain_http = i == 1;
		return 0;
	}
	if (tok_is(kw, "wait-for-policy")) {
		static const char *const modes[] = { "fail-closed", "fail-open" };
		int64_t secs;
		if (want_args(ps, tok, ntok, 2, "SECONDS fail-open|fail-closed") ||
		    once(ps, &ps->seen_wait_policy, "wait-for-policy"))
			return -1;
		if (parse_epoch(ps, &tok[1], &secs) != 0)
			return -1;
		if (secs > 3600)
			return fail(ps, "\"wait-for-policy\" waits at most 3600 seconds, found %lld", (long long)secs);
		if ((i = choose(ps, "wait-for-policy", &tok[2], modes, 2, "\"fail-open\" or \"fail-closed\"")) < 0)
			return -1;
		b->wait_for_policy_s = (int)secs;
		b->wait_fail_open = i == 1;
		return 0;
	}
	return 1;
}

/* Cross-line rules of the console link, checked in both passes on the URL decoded again from
 * its token (the count pass keeps no decoded strings). */
static int check_console(struct parser *ps)
{
	const struct bundle *b = ps->b;
	char url[BUNDLE_MAX_LINE + 1];
	size_t ulen = 0, upos = 0;
	size_t deps[4] = { ps->seen_console_ca, ps->seen_enrol_token, ps->seen_plain_http, ps->seen_wait_policy };
	static const char *const names[4] = { "console-ca", "enrol-token", "console-plain-http", "wait-for-policy" };
	if (!ps->seen_console) {
		for (int k = 0; k < 4; k++) {
			if (deps[k]) {
				ps->lineno = deps[k];
				return fail(ps, "\"%s\" needs a \"console URL\" line", names[k]);
			}
		}
		return 0;
	}
	struct http_url u;
	char uerr[320];
	ps->lineno = ps->seen_console;
	if (pct_decode(ps->console_url.p, ps->console_url.n, url, sizeof url, &ulen, &upos) != PCT_OK ||
	    http_url_parse(url, &u, uerr, sizeof uerr) != 0)
		return fail(ps, "\"console\": %s", uerr);
	if (u.tls && !ps->seen_console_ca)
		return fail(ps, "\"console https://...\" needs a \"console-ca\" line: the console's certificate is "
				"verified against a pinned CA only");
	if (u.tls && strspn(u.host, "0123456789.") == strlen(u.host))
		return fail(ps, "\"console\": name the host by its DNS name, not an IP address (the certificate is "
				"checked against DNS names)");
	if (u.tls && strchr(u.host, ':'))
		return fail(ps, "\"console\": name the host by its DNS name, not an IPv6 address (the certificate is "
				"checked against DNS names)");
	if (!u.tls && !b->console_plain_http && !http_host_is_loopback(u.host))
		return fail(ps, "\"console http://%s...\" sends events unencrypted; use https with console-ca, or say "
				"\"console-plain-http on\" explicitly", u.host);
	return 0;
}

/* Every directive and its class (docs/bundle-format.md, "Policy overlay"). A policy overlay may
 * hold only DIR_POLICY directives; image and link directives come from the image's bundle. A
 * directive missing from this table is refused in an overlay, so a new directive must be classed
 * here before a console policy can use it. */
enum directive_class { DIR_POLICY, DIR_IMAGE };
static const struct {
	const char *kw;
	enum directive_class cls;
} DIRECTIVES[] = {
	{ "control", DIR_POLICY },       { "enforce-after", DIR_POLICY },
	{ "drift-source", DIR_POLICY },  { "report-execs", DIR_POLICY },
	{ "block-name", DIR_POLICY },    { "block-path", DIR_POLICY },
	{ "block-sha256", DIR_POLICY },  { "allow-name", DIR_POLICY },
	{ "allow-path", DIR_POLICY },    { "allow-sha256", DIR_POLICY },
	{ "net-default", DIR_POLICY },   { "net-connect", DIR_POLICY },
	{ "net-listen-default", DIR_POLICY }, { "net-listen", DIR_POLICY },
	{ "file-readonly", DIR_POLICY }, { "file-audit", DIR_POLICY },
	{ "shell-name", DIR_POLICY },    { "drift-path-strict", DIR_POLICY },
	{ "exe", DIR_IMAGE },            { "fail-mode", DIR_IMAGE },
	{ "activation", DIR_IMAGE },     { "dormant-env", DIR_IMAGE },
	{ "dormant-path", DIR_IMAGE },   { "console", DIR_IMAGE },
	{ "console-ca", DIR_IMAGE },     { "enrol-token", DIR_IMAGE },
	{ "console-plain-http", DIR_IMAGE }, { "wait-for-policy", DIR_IMAGE },
};

/* In an overlay, refuses every directive that is not classed DIR_POLICY. */
static int check_directive_class(struct parser *ps, const struct token *kw)
{
	char shown[SHOW_CAP];
	for (size_t k = 0; k < sizeof DIRECTIVES / sizeof DIRECTIVES[0]; k++) {
		if (!tok_is(kw, DIRECTIVES[k].kw))
			continue;
		if (DIRECTIVES[k].cls == DIR_POLICY)
			return 0;
		return fail(ps, "\"%s\" is not allowed in a policy overlay (image and console-link directives come "
				"from the image's bundle)", DIRECTIVES[k].kw);
	}
	return fail(ps, "unknown directive \"%s\" in a policy overlay", show(kw, shown));
}

static int parse_directive(struct parser *ps, const struct token *tok, size_t ntok)
{
	struct bundle *b = ps->b;
	char shown[SHOW_CAP];
	const struct token *kw = &tok[0];
	static const char *const fail_modes[] = { "closed", "open" };
	static const char *const activations[] = { "always", "serverless" };
	static const char *const sources[] = { "manifest", "ctime" };
	static const char *const onoff[] = { "off", "on" };
	int i;

	if (ps->overlay && check_directive_class(ps, kw) != 0)
		return -1;
	if (tok_is(kw, "fail-mode")) {
		if (want_args(ps, tok, ntok, 1, "closed|open") || once(ps, &ps->seen_fail_mode, "fail-mode") ||
		    (i = choose(ps, "fail-mode", &tok[1], fail_modes, 2, "\"closed\" or \"open\"")) < 0)
			return -1;
		b->fail_open = i == 1;
		return 0;
	}
	if (tok_is(kw, "activation")) {
		if (want_args(ps, tok, ntok, 1, "always|serverless") || once(ps, &ps->seen_activation, "activation") ||
		    (i = choose(ps, "activation", &tok[1], activations, 2, "\"always\" or \"serverless\"")) < 0)
			return -1;
		b->serverless_only = i == 1;
		return 0;
	}
	if (tok_is(kw, "drift-source")) {
		if (want_args(ps, tok, ntok, 1, "manifest|ctime") || once(ps, &ps->seen_drift_source, "drift-source") ||
		    (i = choose(ps, "drift-source", &tok[1], sources, 2, "\"manifest\" or \"ctime\"")) < 0)
			return -1;
		b->drift_ctime = i == 1;
		return 0;
	}
	if (tok_is(kw, "report-execs")) {
		if (want_args(ps, tok, ntok, 1, "on|off") || once(ps, &ps->seen_report_execs, "report-execs") ||
		    (i = choose(ps, "report-execs", &tok[1], onoff, 2, "\"on\" or \"off\"")) < 0)
			return -1;
		b->report_execs = i == 1;
		return 0;
	}
	if (tok_is(kw, "drift-path-strict")) {
		if (want_args(ps, tok, ntok, 1, "on|off") ||
		    once(ps, &ps->seen_drift_path_strict, "drift-path-strict") ||
		    (i = choose(ps, "drift-path-strict", &tok[1], onoff, 2, "\"on\" or \"off\"")) < 0)
			return -1;
		b->drift_path_strict = i == 1;
		return 0;
	}
	if (tok_is(kw, "control") || tok_is(kw, "enforce-after")) {
		bool is_control = tok_is(kw, "control");
		const char *name = is_control ? "control" : "enforce-after";
		char what[48];
		int c;
		if (want_args(ps, tok, ntok, 2, is_control ? "NAME MODE" : "NAME EPOCH_SECONDS"))
			return -1;
		c = tok_lookup(&tok[1], CONTROL_NAMES, CTL_COUNT);
		if (c < 0)
			return fail(ps, "unknown control \"%s\" (known: drift, fileless, loader, blocklist, allowlist, "
					"network, files, reverse-shell, privilege)",
				    show(&tok[1], shown));
		snprintf(what, sizeof what, "%s %s", name, CONTROL_NAMES[c]);
		if (once(ps, is_control ? &ps->seen_control[c] : &ps->seen_enforce_after[c], what))
			return -1;
		if (is_control) {
			if ((i = choose(ps, what, &tok[2], MODE_NAMES, 3, "\"off\", \"audit\" or \"enforce\"")) < 0)
				return -1;
			b->mode[c] = (enum inlay_mode)i;
			return 0;
		}
		return parse_epoch(ps, &tok[2], &b->enforce_after[c]);
	}
	if (tok_is(kw, "dormant-env") || tok_is(kw, "dormant-path")) {
		bool env = tok_is(kw, "dormant-env");
		const char *name = env ? "dormant-env" : "dormant-path";
		char scratch[BUNDLE_MAX_LINE + 1];
		char *v;
		if (want_args(ps, tok, ntok, 1, env ? "NAME or NAME=VALUE" : "PATH") ||
		    decode_value(ps, name, 1, &tok[1], scratch, &v))
			return -1;
		if (env) {
			if (v[0] == '=')
				return fail(ps, "\"dormant-env\" needs NAME or NAME=VALUE with a non-empty NAME, found \"%s\"",
					    show_str(v, shown));
			if (ps->store)
				b->dormant_env[ps->n.env] = v;
			ps->n.env++;
			return 0;
		}
		if (check_absolute(ps, name, v))
			return -1;
		if (ps->store)
			b->dormant_path[ps->n.dpath] = v;
		ps->n.dpath++;
		return 0;
	}
	if (tok_is(kw, "block-name") || tok_is(kw, "block-path") || tok_is(kw, "block-sha256")) {
		/* An optional trailing mode: "audit" files the entry in block_audit (it alerts and never
		 * blocks); "enforce" is the same as no token (the control's mode). */
		static const char *const entry_modes[] = { "enforce", "audit" };
		char kwbuf[16];
		memcpy(kwbuf, kw->p, kw->n);
		kwbuf[kw->n] = '\0';
		if (want_args_opt(ps, tok, ntok, 1, "ENTRY [audit|enforce]"))
			return -1;
		if (ntok == 3 && tok_lookup(&tok[2], entry_modes, 2) < 0)
			return fail(ps, "argument 2 of \"%s\" is the entry's mode, \"audit\" or \"enforce\" (omit it for the "
					"control's mode), found \"%s\"", kwbuf, show(&tok[2], shown));
		if (ntok == 3 && tok_is(&tok[2], "audit"))
			return add_list_entry(ps, &b->block_audit, &ps->n.qname, &ps->n.qglob, &ps->n.qsha, kwbuf, &tok[1]);
		return add_list_entry(ps, &b->block, &ps->n.bname, &ps->n.bglob, &ps->n.bsha, kwbuf, &tok[1]);
	}
	if (tok_is(kw, "allow-name") || tok_is(kw, "allow-path") || tok_is(kw, "allow-sha256")) {
		char kwbuf[16];
		memcpy(kwbuf, kw->p, kw->n);
		kwbuf[kw->n] = '\0';
		if (want_args(ps, tok, ntok, 1, "one entry"))
			return -1;
		return add_list_entry(ps, &b->allow, &ps->n.aname, &ps->n.aglob, &ps->n.asha, kwbuf, &tok[1]);
	}
	if (tok_is(kw, "exe")) {
		char scratch[BUNDLE_MAX_LINE + 1];
		uint8_t d[32];
		char *v;
		if (want_args(ps, tok, ntok, 2, "HEX64 PATH") || parse_hex64(ps, "exe", &tok[1], d) ||
		    decode_value(ps, "exe", 2, &tok[2], scratch, &v) || check_absolute(ps, "exe", v))
			return -1;
		if (ps->store) {
			memcpy(b->manifest[ps->n.exe].sha, d, 32);
			b->manifest[ps->n.exe].path = v;
		}
		ps->n.exe++;
		return 0;
	}
	if ((i = parse_console_directive(ps, tok, ntok)) != 1)
		return i;
	return parse_runtime_directive(ps, tok, ntok);
}

/* Checks that need the whole file: rules across directives. */
static int check_whole(struct parser *ps)
{
	const struct bundle *b = ps->b;

	for (int c = 0; c < CTL_COUNT; c++) {
		if (b->enforce_after[c] && b->mode[c] != INLAY_AUDIT) {
			ps->lineno = ps->seen_enforce_after[c];
			return fail(ps, "\"enforce-after %s\" needs \"control %s audit\", but %s is %s; switch the control "
					"to audit or remove enforce-after",
				    CONTROL_NAMES[c], CONTROL_NAMES[c], CONTROL_NAMES[c], MODE_NAMES[b->mode[c]]);
		}
	}
	/* An overlay has no manifest: bundle_merge checks this rule on the merged result. */
	if (!ps->overlay && b->mode[CTL_DRIFT] != INLAY_OFF && !b->drift_ctime && ps->n.exe == 0) {
		ps->lineno = ps->seen_control[CTL_DRIFT];
		return fail(ps, "\"control drift %s\" with drift-source manifest needs at least one \"exe\" line (an "
				"empty manifest makes every exec drift); add the image's manifest or use "
				"drift-source ctime",
			    MODE_NAMES[b->mode[CTL_DRIFT]]);
	}
	if (b->drift_path_strict && b->drift_ctime) {
		ps->lineno = ps->seen_drift_path_strict;
		return fail(ps, "\"drift-path-strict on\" needs drift-source manifest (it compares the executed path "
				"with the manifest's paths); remove it or use drift-source manifest");
	}
	if (b->mode[CTL_REVSHELL] != INLAY_OFF && ps->n.shell == 0) {
		ps->lineno = ps->seen_control[CTL_REVSHELL];
		return fail(ps, "\"control reverse-shell %s\" needs at least one \"shell-name\" line (the executables "
				"that count as shells or interpreters)",
			    MODE_NAMES[b->mode[CTL_REVSHELL]]);
	}
	return check_console(ps);
}

/* One pass over the text. */
static int run_pass(struct parser *ps, const char *buf, size_t len)
{
	size_t pos = 0;

	ps->lineno = 0;
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		struct token tok[MAX_TOKENS];
		size_t ntok = 0, start = 0;

		ps->lineno++;
		if (n > BUNDLE_MAX_LINE)
			return fail(ps, "line is %zu bytes long; the limit is %u", n, BUNDLE_MAX_LINE);
		if (memchr(line, '\r', n))
			return fail(ps, "carriage return (CR) in line; bundle lines end with LF only");
		if (!nl)
			return fail(ps, "truncated %s: the last line has no LF and no \"end\" line follows",
				    ps->overlay ? "policy overlay" : "bundle");
		pos += n + 1;
		if (ps->lineno == 1 && ps->overlay) {
			if (n == strlen(OVERLAY_HEADER) && memcmp(line, OVERLAY_HEADER, n) == 0)
				continue;
			return fail(ps, "not an inlay policy overlay: the first line must be \"" OVERLAY_HEADER "\"");
		}
		if (ps->lineno == 1) {
			if (n == strlen(HEADER) && memcmp(line, HEADER, n) == 0)
				continue;
			if (n > 13 && memcmp(line, "inlay-bundle ", 13) == 0) {
				struct token v = { line + 13, n - 13 };
				char shown[SHOW_CAP];
				return fail(ps, "unsupported bundle version \"%s\"; this enforcer reads version 1",
					    show(&v, shown));
			}
			return fail(ps, "not an inlay bundle: the first line must be \"" HEADER "\"");
		}
		if (n == 0 || line[0] == '#')
			continue;
		if (n == 3 && memcmp(line, "end", 3) == 0) {
			if (pos != len) {
				ps->lineno++;
				return fail(ps, "data after the \"end\" line");
			}
			return check_whole(ps);
		}
		for (size_t i = 0; i <= n; i++) {
			if (i < n && line[i] != ' ')
				continue;
			if (i == start)
				return fail(ps, "empty argument or keyword at byte %zu (separate arguments by exactly one "
						"space; encode spaces as %%20)", i + 1);
			if (ntok == MAX_TOKENS)
				break;
			tok[ntok].p = line + start;
			tok[ntok].n = i - start;
			ntok++;
			start = i + 1;
		}
		if (parse_directive(ps, tok, ntok) != 0)
			return -1;
	}
	ps->lineno++;
	if (len == 0)
		return fail(ps, "empty file; not an inlay %s", ps->overlay ? "policy overlay" : "bundle");
	return fail(ps, "truncated %s: the file ends without the final \"end\" line",
		    ps->overlay ? "policy overlay" : "bundle");
}

void bundle_defaults(struct bundle *b)
{
	memset(b, 0, sizeof *b);
	strcpy(b->id, "none");
}

void bundle_free(struct bundle *b)
{
	free(b->arena_);
	free(b->image_arena_);
	bundle_defaults(b);
}

static int cmp_sha(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int cmp_manifest(const void *a, const void *b)
{
	const struct manifest_entry *x = a, *y = b;
	int r = memcmp(x->sha, y->sha, 32);
	if (r)
		return r;
	return strcmp(x->path, y->path);
}

/* Rounds up for the alignment of the next array in the arena. */
static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static int parse_text(const char *buf, size_t len, bool overlay, struct bundle *b, char *err, size_t errlen)
{
	struct parser ps;
	struct counts n;
	size_t off, total;
	char *arena;
	uint8_t digest[32];

	bundle_defaults(b);
	if (errlen)
		err[0] = '\0';
	if (len > (overlay ? OVERLAY_MAX_SIZE : BUNDLE_MAX_SIZE)) {
		snprintf(err, errlen, "%s is %zu bytes; the limit is %u", overlay ? "policy overlay" : "bundle", len,
			 overlay ? OVERLAY_MAX_SIZE : BUNDLE_MAX_SIZE);
		return -1;
	}
	memset(&ps, 0, sizeof ps);
	ps.overlay = overlay;
	ps.b = b;
	ps.err = err;
	ps.errlen = errlen;
	if (run_pass(&ps, buf, len) != 0) {
		bundle_defaults(b);
		return -1;
	}
	n = ps.n;

	/* Layout: manifest entries, then pointer arrays, then hashes, then strings. Sizes are
	 * bounded by the 64 MiB input (each entry needs at least one input line), so no overflow. */
	off = 0;
	size_t o_manifest = off;
	off = align8(off + n.exe * sizeof(struct manifest_entry));
	size_t o_ptrs = off;
	off += (n.env + n.dpath + n.bname + n.bglob + n.qname + n.qglob + n.aname + n.aglob) * sizeof(char *);
	off += (n.ro + n.aud + n.shell) * sizeof(char *);
	off = align8(off);
	size_t o_rules = off;
	off += (n.conn + n.listen) * sizeof(struct net_rule);
	size_t o_sha = off;
	off += (n.bsha + n.qsha + n.asha) * 32;
	size_t o_str = off;
	total = off + n.str_bytes + BUNDLE_MAX_LINE + 1;
	arena = malloc(total);
	if (!arena) {
		snprintf(err, errlen, "cannot allocate %zu bytes for the bundle", total);
		bundle_defaults(b);
		return -1;
	}
	b->arena_ = arena;
	b->manifest = (struct manifest_entry *)(void *)(arena + o_manifest);
	char **ptrs = (char **)(void *)(arena + o_ptrs);
	b->dormant_env = ptrs;
	ptrs += n.env;
	b->dormant_path = ptrs;
	ptrs += n.dpath;
	b->block.names = ptrs;
	ptrs += n.bname;
	b->block.globs = ptrs;
	ptrs += n.bglob;
	b->block_audit.names = ptrs;
	ptrs += n.qname;
	b->block_audit.globs = ptrs;
	ptrs += n.qglob;
	b->allow.names = ptrs;
	ptrs += n.aname;
	b->allow.globs = ptrs;
	ptrs += n.aglob;
	b->rt.readonly = ptrs;
	ptrs += n.ro;
	b->rt.audited = ptrs;
	ptrs += n.aud;
	b->rt.shells = ptrs;
	b->rt.connect = (struct net_rule *)(void *)(arena + o_rules);
	b->rt.listen = b->rt.connect + n.conn;
	b->block.sha = (uint8_t(*)[32])(void *)(arena + o_sha);
	b->block_audit.sha = b->block.sha + n.bsha;
	b->allow.sha = b->block_audit.sha + n.qsha;

	struct parser ps2;
	memset(&ps2, 0, sizeof ps2);
	ps2.overlay = overlay;
	ps2.b = b;
	ps2.store = true;
	ps2.strp = arena + o_str;
	ps2.err = err;
	ps2.errlen = errlen;
	if (run_pass(&ps2, buf, len) != 0) {
		/* Unreachable: the same text passed the first pass. Fail closed anyway. */
		bundle_free(b);
		return -1;
	}
	b->n_dormant_env = n.env;
	b->n_dormant_path = n.dpath;
	b->block.n_names = n.bname;
	b->block.n_globs = n.bglob;
	b->block.n_sha = n.bsha;
	b->block_audit.n_names = n.qname;
	b->block_audit.n_globs = n.qglob;
	b->block_audit.n_sha = n.qsha;
	b->allow.n_names = n.aname;
	b->allow.n_globs = n.aglob;
	b->allow.n_sha = n.asha;
	b->n_manifest = n.exe;
	b->rt.n_connect = n.conn;
	b->rt.n_listen = n.listen;
	b->rt.n_readonly = n.ro;
	b->rt.n_audited = n.aud;
	b->rt.n_shells = n.shell;
	qsort(b->manifest, n.exe, sizeof *b->manifest, cmp_manifest);
	qsort(b->block.sha, n.bsha, 32, cmp_sha);
	qsort(b->block_audit.sha, n.qsha, 32, cmp_sha);
	qsort(b->allow.sha, n.asha, 32, cmp_sha);

	sha256_buf(buf, len, digest);
	memcpy(b->id, "sha256:", 7);
	sha256_hex_encode(digest, b->id + 7);
	return 0;
}

int bundle_parse(const char *buf, size_t len, struct bundle *b, char *err, size_t errlen)
{
	return parse_text(buf, len, false, b, err, errlen);
}

int bundle_parse_overlay(const char *buf, size_t len, struct bundle *b, char *err, size_t errlen)
{
	return parse_text(buf, len, true, b, err, errlen);
}

int bundle_load(const char *path, struct bundle *b, char *err, size_t errlen)
{
	char inner[512];
	struct stat st;
	char *buf;
	size_t cap, got = 0;
	int fd, rc, saved;

	bundle_defaults(b);
	/* O_NONBLOCK: a FIFO at the path would block open() until a writer came, with every signal
	 * blocked and nobody taking them (startstop.h), so not even `docker stop` would end the
	 * wait; now it opens at once and is refused below as not a regular file. On a regular file
	 * the flag changes nothing. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open the bundle: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "%s: cannot stat the bundle: %s", path, strerror(saved));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: the bundle is not a regular file", path);
		return -1;
	}
	if ((uint64_t)st.st_size > BUNDLE_MAX_SIZE) {
		close(fd);
		snprintf(err, errlen, "%s: the bundle is %lld bytes; the limit is %u", path, (long long)st.st_size,
			 BUNDLE_MAX_SIZE);
		return -1;
	}
	/* One spare byte detects a file that grew after fstat. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: cannot allocate %zu bytes to read the bundle", path, cap);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0) {
			if (errno == EINTR) /* tolerated: retry */
				continue;
			saved = errno;
			free(buf);
			close(fd);
			snprintf(err, errlen, "%s: cannot read the bundle: %s", path, strerror(saved));
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == cap) {
			free(buf);
			close(fd);
			snprintf(err, errlen, "%s: the bundle changed while it was being read", path);
			return -1;
		}
	}
	close(fd); /* read-only descriptor: a close error loses nothing */
	rc = bundle_parse(buf, got, b, inner, sizeof inner);
	free(buf);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, inner);
	return rc;
}

enum inlay_mode bundle_mode_now(const struct bundle *b, enum inlay_control c, int64_t now_epoch)
{
	if ((unsigned)c >= CTL_COUNT)
		return INLAY_OFF;
	if (b->mode[c] == INLAY_AUDIT && b->enforce_after[c] > 0 && now_epoch >= b->enforce_after[c])
		return INLAY_ENFORCE;
	return b->mode[c];
}

static const struct manifest_entry *manifest_find(const struct bundle *b, const uint8_t sha[32])
{
	size_t lo = 0, hi = b->n_manifest;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = memcmp(b->manifest[mid].sha, sha, 32);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->n_manifest && memcmp(b->manifest[lo].sha, sha, 32) == 0)
		return &b->manifest[lo];
	return NULL;
}

bool bundle_manifest_has(const struct bundle *b, const uint8_t sha[32])
{
	return manifest_find(b, sha) != NULL;
}

const char *bundle_manifest_path(const struct bundle *b, const uint8_t sha[32])
{
	const struct manifest_entry *e = manifest_find(b, sha);
	return e ? e->path : NULL;
}

bool bundle_manifest_has_at(const struct bundle *b, const uint8_t sha[32], const char *path)
{
	/* manifest_find returns the first entry of the hash; its equals follow it (sorted by sha) */
	const struct manifest_entry *e = manifest_find(b, sha);
	for (; e && e < b->manifest + b->n_manifest && memcmp(e->sha, sha, 32) == 0; e++)
		if (strcmp(e->path, path) == 0)
			return true;
	return false;
}

bool exelist_match(const struct exelist *l, const char *path, const uint8_t *sha, const char **rule)
{
	if (path) {
		const char *base = path_basename(path);
		for (size_t i = 0; i < l->n_names; i++) {
			if (strcmp(l->names[i], base) == 0) {
				if (rule)
					*rule = "name";
				return true;
			}
		}
		for (size_t i = 0; i < l->n_globs; i++) {
			if (match_glob(l->globs[i], path)) {
				if (rule)
					*rule = "path";
				return true;
			}
		}
	}
	if (sha && l->n_sha && bsearch(sha, l->sha, l->n_sha, 32, cmp_sha)) {
		if (rule)
			*rule = "sha256";
		return true;
	}
	return false;
}

bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- Runtime controls (network, files, reverse shell): their directives live in this block,
 * apart from the exec directives above, so either can change without touching the other. */

/* Validates a net rule (cidr NULL for net-listen) and, in the store pass, writes it to *dst with
 * its text ("CIDR PORTS" or "PORTS", then " tcp"/" udp" when given) in the string area. */
static int add_net_rule(struct parser *ps, const char *kw, const struct token *cidr, const struct token *ports,
			const struct token *proto, int action, struct net_rule *dst)
{
	char shown[SHOW_CAP];
	const char *why;
	struct net_rule r;
	memset(&r, 0, sizeof r);
	r.action = (uint8_t)action;
	if (cidr && netrule_parse_cidr(cidr->p, cidr->n, r.addr, &r.prefix, &why) != 0)
		return fail(ps, "\"%s\" %s, found \"%s\"", kw, why, show(cidr, shown));
	if (netrule_parse_ports(ports->p, ports->n, &r.port_lo, &r.port_hi, &why) != 0)
		return fail(ps, "\"%s\" %s, found \"%s\"", kw, why, show(ports, shown));
	if (proto) {
		int p = netrule_parse_proto(proto->p, proto->n);
		if (p < 0)
			return fail(ps, "\"%s\" takes \"tcp\" or \"udp\" as its protocol (omit it for both), found \"%s\"",
				    kw, show(proto, shown));
		r.proto = (uint8_t)p;
	}
	size_t len = (cidr ? cidr->n + 1 : 0) + ports->n + (proto ? proto->n + 1 : 0);
	ps->n.str_bytes += len + 1;
	if (ps->store) {
		char *t = ps->strp;
		size_t o = 0;
		if (cidr) {
			memcpy(t, cidr->p, cidr->n);
			t[cidr->n] = ' ';
			o = cidr->n + 1;
		}
		memcpy(t + o, ports->p, ports->n);
		o += ports->n;
		if (proto) {
			t[o] = ' ';
			memcpy(t + o + 1, proto->p, proto->n);
		}
		t[len] = '\0';
		ps->strp += len + 1;
		r.text = t;
		*dst = r;
	}
	return 0;
}

static int add_path_entry(struct parser *ps, const char *kw, const struct token *arg, char **list, size_t *count,
			  bool basename)
{
	char scratch[BUNDLE_MAX_LINE + 1];
	char shown[SHOW_CAP];
	char *v;
	if (decode_value(ps, kw, 1, arg, scratch, &v) != 0)
		return -1;
	if (basename && strchr(v, '/'))
		return fail(ps, "\"%s\" takes a basename without \"/\", found \"%s\"", kw, show_str(v, shown));
	if (!basename && check_absolute(ps, kw, v) != 0)
		return -1;
	if (ps->store)
		list[*count] = v;
	(*count)++;
	return 0;
}

static int parse_runtime_directive(struct parser *ps, const struct token *tok, size_t ntok)
{
	struct bundle *b = ps->b;
	char shown[SHOW_CAP];
	const struct token *kw = &tok[0];
	static const char *const actions[] = { "allow", "audit", "block" };
	static const char *const defaults[] = { "allow", "audit", "block" };
	int i;

	/* net-connect and net-listen take an optional trailing protocol (tcp|udp) */
	if (tok_is(kw, "net-connect")) {
		if (want_args_opt(ps, tok, ntok, 3, "allow|audit|block CIDR PORTS [tcp|udp]"))
			return -1;
		if ((i = choose(ps, "net-connect", &tok[1], actions, 3, "\"allow\", \"audit\" or \"block\"")) < 0 ||
		    add_net_rule(ps, "net-connect", &tok[2], &tok[3], ntok == 5 ? &tok[4] : NULL, i,
				 ps->store ? &b->rt.connect[ps->n.conn] : NULL) != 0)
			return -1;
		ps->n.conn++;
		return 0;
	}
	if (tok_is(kw, "net-listen")) {
		if (want_args_opt(ps, tok, ntok, 1, "PORTS [tcp|udp]"))
			return -1;
		if (add_net_rule(ps, "net-listen", NULL, &tok[1], ntok == 3 ? &tok[2] : NULL, NET_ALLOW,
				 ps->store ? &b->rt.listen[ps->n.listen] : NULL))
			return -1;
		ps->n.listen++;
		return 0;
	}
	if (tok_is(kw, "net-default")) {
		if (want_args(ps, tok, ntok, 1, "allow|audit|block") || once(ps, &ps->seen_net_default, "net-default") ||
		    (i = choose(ps, "net-default", &tok[1], defaults, 3, "\"allow\", \"audit\" or \"block\"")) < 0)
			return -1;
		b->rt.net_default = (enum net_default)i;
		b->rt.net_default_set = true;
		return 0;
	}
	if (tok_is(kw, "net-listen-default")) {
		if (want_args(ps, tok, ntok, 1, "allow|audit|block") ||
		    once(ps, &ps->seen_listen_default, "net-listen-default") ||
		    (i = choose(ps, "net-listen-default", &tok[1], defaults, 3, "\"allow\", \"audit\" or \"block\"")) < 0)
			return -1;
		b->rt.listen_default = (enum net_default)i;
		b->rt.listen_default_set = true;
		return 0;
	}
	if (tok_is(kw, "file-readonly"))
		return want_args(ps, tok, ntok, 1, "PATH") ||
				       add_path_entry(ps, "file-readonly", &tok[1], b->rt.readonly, &ps->n.ro, false)
			       ? -1
			       : 0;
	if (tok_is(kw, "file-audit"))
		return want_args(ps, tok, ntok, 1, "PATH") ||
				       add_path_entry(ps, "file-audit", &tok[1], b->rt.audited, &ps->n.aud, false)
			       ? -1
			       : 0;
	if (tok_is(kw, "shell-name"))
		return want_args(ps, tok, ntok, 1, "BASENAME") ||
				       add_path_entry(ps, "shell-name", &tok[1], b->rt.shells, &ps->n.shell, true)
			       ? -1
			       : 0;
	return fail(ps, "unknown directive \"%s\"", show(kw, shown));
}
