/* Platform metadata; contracts in platform.h. The sources are tried in order; a later source may
 * fill fields an earlier one left empty. The values are reported, never trusted for a decision:
 * the workload controls its environment. */
#include "platform.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dormancy.h"
#include "http.h"
#include "jsonr.h"
#include "net.h"

void platform_set(struct platform_info *p, const char *name, const char *value)
{
	size_t i, w = 0;
	if (!value || !value[0])
		return;
	for (i = 0; i < p->n; i++)
		if (strcmp(p->names[i], name) == 0)
			break;
	if (i == p->n) {
		if (p->n == PLATFORM_MAX_FIELDS)
			return;
		snprintf(p->names[i], sizeof p->names[i], "%s", name);
		p->n++;
	}
	for (const unsigned char *c = (const unsigned char *)value; *c && w < PLATFORM_VALUE_MAX - 1; c++)
		if (*c >= 0x20 && *c != 0x7f)
			p->values[i][w++] = (char)*c;
	p->values[i][w] = '\0';
}

const char *platform_get(const struct platform_info *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->names[i], name) == 0)
			return p->values[i];
	return "";
}

static void set_env(struct platform_info *p, const char *name, const char *var)
{
	platform_set(p, name, getenv(var));
}

static bool is_digest(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71)
		return false;
	for (const char *c = s + 7; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return true;
}

/* GET url+suffix on plain HTTP (link-local endpoints only); the body NUL-terminated in buf. */
static int http_get(const char *url, const char *suffix, const char *extra, char *buf, size_t cap, const char **body,
		    size_t *blen, int timeout_ms, char *err, size_t errlen)
{
	struct http_url u;
	struct http_response r;
	char head[1024];
	if (http_url_parse(url, &u, err, errlen) != 0)
		return -1;
	if (u.tls) {
		snprintf(err, errlen, "metadata endpoint %.200s: https is not expected here", url);
		return -1;
	}
	size_t hl = http_format_request(head, sizeof head, "GET", &u, suffix, extra, 0);
	if (!hl || net_exchange(&u, NULL, head, hl, NULL, 0, buf, cap - 1, &r, timeout_ms, err, errlen) != NET_OK)
		return -1;
	if (r.status != 200) {
		snprintf(err, errlen, "metadata endpoint %.200s%s answered %d", url, suffix ? suffix : "", r.status);
		return -1;
	}
	buf[r.body_off + r.body_len] = '\0';
	*body = buf + r.body_off;
	*blen = r.body_len;
	return 0;
}

static void copy_json(struct platform_info *p, const char *doc, size_t n, const char *field, const char *key)
{
	char v[PLATFORM_VALUE_MAX];
	if (jsonr_string(doc, n, key, v, sizeof v) == JSONR_OK)
		platform_set(p, field, v);
}

/* "arn:aws:ecs:REGION:ACCOUNT:..." -> part number idx (3 region, 4 account). */
static void arn_part(const char *arn, int idx, char *out, size_t cap)
{
	out[0] = '\0';
	for (int k = 0; k < idx && arn; k++) {
		arn = strchr(arn, ':');
		if (arn)
			arn++;
	}
	if (!arn)
		return;
	size_t n = strcspn(arn, ":");
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), arn);
}

static char meta_buf[65536];

static void gather_ecs(struct platform_info *p, const char *uri, int timeout_ms)
{
	const char *body;
	size_t blen;
	char err[512], v[PLATFORM_VALUE_MAX], part[128];

	platform_set(p, "cloud", "aws");
	if (timeout_ms <= 0)
		return;
	/* The container's own document: its name and image. */
	if (http_get(uri, NULL, NULL, meta_buf, sizeof meta_buf, &body, &blen, timeout_ms, err, sizeof err) == 0) {
		copy_json(p, body, blen, "container", "Name");
		if (jsonr_string(body, blen, "Image", v, sizeof v) == JSONR_OK)
			snprintf(p->image_name, sizeof p->image_name, "%s", v);
		if (jsonr_string(body, blen, "ImageID", v, sizeof v) == JSONR_OK && is_digest(v))
			memcpy(p->image_digest, v, 72); /* is_digest: exactly 71 bytes + NUL */
	} else {
		platform_set(p, "metadata_error", err);
	}
	if (http_get(uri, "/task", NULL, meta_buf, sizeof meta_buf, &body, &blen, timeout_ms, err, sizeof err) != 0) {
		platform_set(p, "metadata_error", err);
		return;
	}
	if (jsonr_string(body, blen, "Cluster", v, sizeof v) == JSONR_OK) {
		const char *slash = strstr(v, ":cluster/");
		platform_set(p, "cluster", slash ? slash + 9 : v);
	}
	if (jsonr_string(body, blen, "TaskARN", v, sizeof v) == JSONR_OK) {
		platform_set(p, "task", v);
		arn_part(v, 3, part, sizeof part);
		platform_set(p, "region", part);
		arn_part(v, 4, part, sizeof part);
		platform_set(p, "account", part);
	}
	copy_json(p, body, blen, "family", "Family");
	copy_json(p, body, blen, "revision", "Revision");
	copy_json(p, body, blen, "availability_zone", "AvailabilityZone");
	copy_json(p, body, blen, "launch_type", "LaunchType");
	copy_json(p, body, blen, "service", "ServiceName");
	if (!platform_get(p, "service")[0])
		platform_set(p, "service", platform_get(p, "family"));
}

static void gather_cloud_run(struct platform_info *p, int timeout_ms)
{
	const char *body, *host = getenv("GCE_METADATA_HOST");
	size_t blen;
	char url[300], err[512];
	static const char flavor[] = "Metadata-Flavor: Google\r\n";

	platform_set(p, "cloud", "gcp");
	set_env(p, "service", "K_SERVICE");
	set_env(p, "task", "K_REVISION");
	set_env(p, "revision", "K_REVISION");
	set_env(p, "configuration", "K_CONFIGURATION");
	set_env(p, "service", "CLOUD_RUN_JOB");
	set_env(p, "task", "CLOUD_RUN_EXECUTION");
	set_env(p, "task_index", "CLOUD_RUN_TASK_INDEX");
	if (timeout_ms <= 0)
		return;
	snprintf(url, sizeof url, "http://%s", host && host[0] ? host : "metadata.google.internal");
	if (http_get(url, "/computeMetadata/v1/instance/region", flavor, meta_buf, sizeof meta_buf, &body, &blen,
		     timeout_ms, err, sizeof err) == 0) {
		/* "projects/NUMBER/regions/REGION" */
		const char *r = strstr(body, "/regions/");
		platform_set(p, "region", r ? r + 9 : body);
	} else {
		platform_set(p, "metadata_error", err);
		return;
	}
	if (http_get(url, "/computeMetadata/v1/project/project-id", flavor, meta_buf, sizeof meta_buf, &body, &blen,
		     timeout_ms, err, sizeof err) == 0)
		platform_set(p, "account", body);
}

/* A 64-hex container id in /proc/self/mountinfo (".../containers/<id>/..." as Docker and Podman
 * mount /etc/hostname) or /proc/self/cgroup ("docker-<id>.scope", "libpod-<id>"). */
static void find_container_id(struct platform_info *p)
{
	static const char *const files[] = { "/proc/self/mountinfo", "/proc/self/cgroup" };
	static char buf[65536];
	for (size_t f = 0; f < 2; f++) {
		int fd = open(files[f], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* tolerated: /proc may be absent or restricted */
		size_t got = 0;
		for (;;) {
			ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
			if (got == sizeof buf - 1)
				break;
		}
		close(fd);
		buf[got] = '\0';
		for (char *s = buf; *s; s++) {
			size_t run = 0;
			while (isxdigit((unsigned char)s[run]) && !isupper((unsigned char)s[run]))
				run++;
			bool bounded = (s == buf || !isxdigit((unsigned char)s[-1])) && run == 64;
			if (bounded && s > buf && (s[-1] == '/' || s[-1] == '-')) {
				char id[65];
				memcpy(id, s, 64);
				id[64] = '\0';
				platform_set(p, "container_id", id);
				return;
			}
			if (run)
				s += run - 1;
		}
	}
}

bool platform_has_endpoint(void)
{
	const char *ecs = getenv("ECS_CONTAINER_METADATA_URI_V4"), *kind = dormancy_platform();
	return (ecs && ecs[0]) ||
	       (!getenv("KUBERNETES_SERVICE_HOST") && kind && strcmp(kind, "cloud-run") == 0);
}

void platform_gather(struct platform_info *p, int timeout_ms)
{
	char host[256];
	const char *kind = dormancy_platform();
	const char *ecs = getenv("ECS_CONTAINER_METADATA_URI_V4");

	memset(p, 0, sizeof *p);
	if (ecs && ecs[0]) {
		platform_set(p, "platform", kind ? kind : "ecs");
		gather_ecs(p, ecs, timeout_ms);
	} else if (getenv("KUBERNETES_SERVICE_HOST")) {
		/* Downward API variables the pod spec sets (docs/enforcer.md, "Reporter"). */
		platform_set(p, "platform", kind ? kind : "kubernetes");
		if (kind && strcmp(kind, "eks-fargate") == 0)
			platform_set(p, "cloud", "aws");
		set_env(p, "task", "INLAY_POD_NAME");
		set_env(p, "namespace", "INLAY_POD_NAMESPACE");
		set_env(p, "node", "INLAY_NODE_NAME");
		set_env(p, "container", "INLAY_CONTAINER_NAME");
		set_env(p, "service", "INLAY_SERVICE_NAME");
		set_env(p, "cluster", "INLAY_CLUSTER_NAME");
	} else if (kind && strcmp(kind, "aci") == 0) {
		platform_set(p, "platform", kind);
		platform_set(p, "cloud", "azure");
		set_env(p, "task", "Fabric_ApplicationName");
		set_env(p, "container", "Fabric_CodePackageName");
		set_env(p, "region", "REGION_NAME");
	} else if (kind && strcmp(kind, "cloud-run") == 0) {
		platform_set(p, "platform", kind);
		gather_cloud_run(p, timeout_ms);
	} else {
		platform_set(p, "platform", "container");
	}
	/* Explicit settings from the task definition win over what was discovered. */
	set_env(p, "cloud", "INLAY_CLOUD");
	set_env(p, "account", "INLAY_ACCOUNT");
	set_env(p, "region", "INLAY_REGION");
	set_env(p, "cluster", "INLAY_CLUSTER_NAME");
	set_env(p, "service", "INLAY_SERVICE_NAME");
	find_container_id(p);
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		platform_set(p, "hostname", host);
	}
	const char *img = getenv("INLAY_IMAGE_NAME"), *dig = getenv("INLAY_IMAGE_DIGEST");
	if (!p->image_name[0] && img)
		snprintf(p->image_name, sizeof p->image_name, "%s", img);
	if (!p->image_digest[0] && dig && is_digest(dig))
		memcpy(p->image_digest, dig, 72);
}
