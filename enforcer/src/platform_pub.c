/* Publishing platform metadata on events; contracts in platform_pub.h. */
#include "platform_pub.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "events.h"
#include "json.h"
#include "sigmask.h"

void platform_publish(const struct platform_info *p)
{
	/* The inventory keys first, then the rest while they fit the events module's cap. */
	static const char *const keys[] = { "platform", "cloud", "account", "region", "cluster", "service", "task", "container" };
	char buf[EVENTS_PLATFORM_MAX + 1];
	struct json j;
	json_init(&j, buf, sizeof buf);
	json_begin_object(&j);
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		const char *v = platform_get(p, keys[k]);
		if (!v[0])
			continue;
		size_t mark = j.len;
		bool sep = j.need_sep;
		json_key(&j, keys[k]);
		json_str_capped(&j, v, 256);
		if (j.overflow || j.len + 1 > EVENTS_PLATFORM_MAX) {
			j.len = mark; /* leave this field out, keep the object valid */
			j.need_sep = sep;
			j.overflow = false;
			buf[mark] = '\0';
			break;
		}
	}
	json_end_object(&j);
	if (!j.overflow)
		(void)events_set_platform(buf); /* -1 only past the second call: the first answer stays */
}

/* Static (about 18 KiB each), so no stack holds one. The main thread fills the first, the fetch
 * thread the second; pthread_create orders the two platform_gather calls (platform.h: one
 * caller at a time). */
static struct platform_info local_info, fetched_info;
static int fetch_timeout_ms;

void platform_publish_local(void)
{
	platform_gather(&local_info, 0);
	platform_publish(&local_info);
}

static void *fetch_main(void *arg)
{
	(void)arg;
	sigmask_block_all(); /* 33-34 too (sigmask.h) */
	platform_gather(&fetched_info, fetch_timeout_ms);
	platform_publish(&fetched_info);
	return NULL;
}

int platform_fetch_start(int timeout_ms)
{
	if (!platform_has_endpoint())
		return 0;
	fetch_timeout_ms = timeout_ms;
	pthread_attr_t attr;
	pthread_t t;
	int rc = pthread_attr_init(&attr);
	if (rc != 0)
		return rc;
	/* plain HTTP and the JSON reader only (no TLS): far less than the reporter's 256 KiB */
	rc = pthread_attr_setstacksize(&attr, 128 * 1024);
	if (rc == 0)
		rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (rc == 0)
		rc = pthread_create(&t, &attr, fetch_main, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}
