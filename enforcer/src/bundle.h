/* Bundle format v1 (docs/bundle-format.md): parsing and the queries the tracer needs.
 *
 * Ownership: bundle_parse fills a struct bundle whose strings and arrays all live in one private
 * allocation owned by the struct; bundle_free releases it. The input buffer is not referenced
 * after bundle_parse returns. A struct bundle is read-only after parsing and can be shared
 * between threads. */
#ifndef INLAY_BUNDLE_H
#define INLAY_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netrule.h"

#define BUNDLE_MAX_SIZE (64u * 1024u * 1024u)
#define BUNDLE_MAX_LINE 8192u
#define OVERLAY_MAX_SIZE (1024u * 1024u)

enum inlay_mode { INLAY_OFF, INLAY_AUDIT, INLAY_ENFORCE };
enum inlay_control {
	CTL_DRIFT, CTL_FILELESS, CTL_LOADER, CTL_BLOCKLIST, CTL_ALLOWLIST,
	/* runtime controls: judged at their own syscalls (reverse-shell at exec) */
	CTL_NETWORK, CTL_FILES, CTL_REVSHELL, CTL_PRIVILEGE,
	CTL_COUNT
};
/* The controls the exec verdict applies to a file: drift .. allowlist. */
#define CTL_EXEC_COUNT (CTL_ALLOWLIST + 1)

/* Executables by basename, by FNM_PATHNAME glob on the absolute path, or by content hash.
 * sha is sorted (memcmp order). */
struct exelist {
	char **names;
	size_t n_names;
	char **globs;
	size_t n_globs;
	uint8_t (*sha)[32];
	size_t n_sha;
};

struct manifest_entry {
	uint8_t sha[32];
	const char *path;   /* absolute path in the image, decoded */
};

/* Runtime controls (network, files, reverse shell): lists as parsed, in file order. */
enum net_default { NET_DEFAULT_ALLOW, NET_DEFAULT_AUDIT, NET_DEFAULT_BLOCK };
struct bundle_runtime {
	struct net_rule *connect;  /* net-connect: block wins over audit, audit over allow */
	size_t n_connect;
	struct net_rule *listen;   /* net-listen: ports a socket may bind/listen on (addr unused) */
	size_t n_listen;
	enum net_default net_default; /* connects matched by no rule */
	bool net_default_set;
	enum net_default listen_default; /* binds/listens on ports not in `listen` */
	bool listen_default_set;
	char **readonly;           /* file-readonly: absolute path prefixes (component-wise) */
	size_t n_readonly;
	char **audited;            /* file-audit */
	size_t n_audited;
	char **shells;             /* shell-name: basenames that count as shells/interpreters */
	size_t n_shells;
};

struct bundle {
	char id[72];          /* "sha256:<64 hex>" of the whole file, or "none" */
	bool fail_open;       /* fail-mode open */
	bool serverless_only; /* activation serverless */
	bool report_execs;    /* report-execs on */
	bool drift_ctime;     /* drift-source ctime (false: manifest) */
	bool drift_path_strict; /* drift-path-strict on: manifest content counts only at a manifest path */
	enum inlay_mode mode[CTL_COUNT];
	int64_t enforce_after[CTL_COUNT]; /* seconds since 1970 UTC; 0 = none. Only set for audit controls */
	char **dormant_env;   /* "NAME" or "NAME=VALUE", decoded */
	size_t n_dormant_env;
	char **dormant_path;  /* absolute paths, decoded */
	size_t n_dormant_path;
	/* The block list by entry mode (docs/bundle-format.md, "Block-list modes"): block holds the
	 * entries without a mode token (or "enforce"), which take the control's mode; block_audit the
	 * entries with "audit", which only alert, whatever the control's mode. Keeping the mode as the
	 * list an entry is in costs nothing per entry and keeps exelist_match as it is. */
	struct exelist block, block_audit, allow;
	struct manifest_entry *manifest; /* sorted by sha (memcmp), duplicates kept */
	size_t n_manifest;
	/* Console link (docs/bundle-format.md, "Console link"); NULL / 0 when absent. */
	const char *console_url;   /* http(s)://host[:port][/path], decoded */
	const char *console_ca;    /* PEM text of the pinned CA(s), or an absolute path to a PEM file */
	const char *enrol_token;   /* overridden by the environment variable INLAY_ENROL_TOKEN */
	bool console_plain_http;   /* console-plain-http on: http:// to a non-loopback host allowed */
	int wait_for_policy_s;     /* 0: the workload never waits for the console */
	bool wait_fail_open;       /* wait-for-policy ... fail-open */
	struct bundle_runtime rt;
	/* A merged bundle (bundle_merge): the overlay's id ("sha256:<hex>" of its bytes); "" otherwise. */
	char overlay_id[72];
	void *arena_;         /* private: owns every string and array above */
	void *image_arena_;   /* private: a merged bundle's copy of the image and link fields */
};

/* Parses buf[0..len) (need not be NUL-terminated). On success returns 0 and fills *b (its id is
 * the SHA-256 of buf). On failure returns -1, leaves *b as bundle_defaults() made it (nothing to
 * free, though bundle_free is harmless) and writes "line N: <what is wrong>" to err (always
 * NUL-terminated when errlen > 0; hostile bytes in the message are shown as \xNN). */
int bundle_parse(const char *buf, size_t len, struct bundle *b, char *err, size_t errlen);

/* Parses a policy overlay (docs/bundle-format.md, "Policy overlay"): first line "inlay-policy 1",
 * at most OVERLAY_MAX_SIZE bytes, policy directives only. Otherwise like bundle_parse; the id is
 * the SHA-256 of buf (the overlay id). The rules that need the image (drift in manifest mode
 * needs "exe" lines) are left to bundle_merge. */
int bundle_parse_overlay(const char *buf, size_t len, struct bundle *b, char *err, size_t errlen);

/* Builds in *out the bundle in force under a console policy: every policy field from *overlay
 * (parsed by bundle_parse_overlay), which it consumes (its allocation moves into *out; *overlay
 * is reset to the defaults, also on failure, when it is freed), and a copy of the image and
 * link fields of *baked (manifest, fail-mode, activation, dormancy, console link), which it only
 * reads. out->id is baked->id; out->overlay_id is the overlay's id. Checks the rules across the
 * two (drift in manifest mode needs the image's manifest). Returns 0, or -1 with err and *out as
 * bundle_defaults() made it. *out is owned by the caller (bundle_free). */
int bundle_merge(const struct bundle *baked, struct bundle *overlay, struct bundle *out, char *err, size_t errlen);

/* Reads path (O_RDONLY|O_CLOEXEC, regular file, at most BUNDLE_MAX_SIZE bytes, EINTR retried)
 * and parses it. Errors are "<path>: <reason>", e.g. "/inlay/bundle: line 3: ...". */
int bundle_load(const char *path, struct bundle *b, char *err, size_t errlen);

/* No bundle: id "none", every control off, fail closed, activation always, no lists. */
void bundle_defaults(struct bundle *b);

/* Releases what bundle_parse allocated and resets *b to the defaults. Safe to call twice. */
void bundle_free(struct bundle *b);

/* The effective mode of control c at now_epoch (seconds since 1970 UTC): an audit control with
 * enforce-after <= now is enforce. */
enum inlay_mode bundle_mode_now(const struct bundle *b, enum inlay_control c, int64_t now_epoch);

/* True when some manifest entry has this content hash. O(log n). */
bool bundle_manifest_has(const struct bundle *b, const uint8_t sha[32]);
/* The path of the first manifest entry with this hash, or NULL. */
const char *bundle_manifest_path(const struct bundle *b, const uint8_t sha[32]);
/* True when some manifest entry has exactly this hash and this path (byte-wise equal). */
bool bundle_manifest_has_at(const struct bundle *b, const uint8_t sha[32], const char *path);

/* Matches an executed file against a list. path: absolute path of the executed file (as
 * resolved by the kernel; NULL skips the name and path rules); sha: its content hash, or NULL
 * when unknown (skips the sha256 rule). Checks name, then path, then sha256. On a match returns
 * true and sets *rule (if rule is non-NULL) to the static string "name", "path" or "sha256". */
bool exelist_match(const struct exelist *l, const char *path, const uint8_t *sha, const char **rule);

/* True when path equals prefix or lies below it ("/etc" covers "/etc/x", not "/etcx"). */
bool path_under(const char *path, const char *prefix);

/* "drift", "fileless", "loader", "blocklist", "allowlist", "network", "files", "reverse-shell",
 * "privilege". */
const char *control_name(enum inlay_control c);
/* "off", "audit", "enforce". */
const char *mode_name(enum inlay_mode m);

#endif
