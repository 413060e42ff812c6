/* The `platform` object on events: absent until set, then on every line; replaced once (the
 * endpoint's answer after the environment's), then fixed; too large is refused; and the
 * worst-case event with the largest platform object still fits one slot. */
#include <unistd.h>

#include "events.h"
#include "json_check.h"
#include "tap.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static char buf[EVENTS_SLOT_SIZE];
	struct event life = { .kind = "enforcer.exit", .severity = "info", .action = "info", .mode = "none",
			      .rule = "", .reason = "the workload ended", .detail_json = "{\"status\":3}" };
	size_t n = events_format(&life, 1, 0, buf, sizeof buf);
	CHECK(n > 0 && !strstr(buf, "\"platform\""), "no platform before it is set: %s", buf);

	static char big[EVENTS_PLATFORM_MAX + 2];
	memset(big, 'x', sizeof big - 1);
	CHECK(events_set_platform(big) == -1, "over the cap: refused");

	/* The largest accepted object: {"k":"xxxx..."} of exactly EVENTS_PLATFORM_MAX bytes. */
	memset(big, 0, sizeof big);
	memcpy(big, "{\"k\":\"", 6);
	memset(big + 6, 'v', EVENTS_PLATFORM_MAX - 8);
	memcpy(big + EVENTS_PLATFORM_MAX - 2, "\"}", 2);
	CHECK(strlen(big) == EVENTS_PLATFORM_MAX, "test object size %zu", strlen(big));
	CHECK(events_set_platform("{\"k\":\"env\"}") == 0, "the first object (from the environment)");
	n = events_format(&life, 2, 0, buf, sizeof buf);
	CHECK(n > 0 && strstr(buf, ",\"platform\":{\"k\":\"env\"},") != NULL, "the first object is on events: %s", buf);
	CHECK(events_set_platform(big) == 0, "one replacement (from the endpoint) is accepted");
	CHECK(events_set_platform("{\"k\":\"other\"}") == -1, "no second replacement");

	n = events_format(&life, 2, 0, buf, sizeof buf);
	CHECK(n > 0 && json_check(buf, n - 1), "valid JSON: %s", buf);
	CHECK(strstr(buf, "},\"platform\":{\"k\":\"vvv") != NULL && strstr(buf, "\"},\"enforcer\":{") != NULL,
	      "platform between detail and enforcer: %.200s", buf);

	/* Worst case of every capped field (as in test_events.c) plus the largest platform object. */
	static char longpath[10000];
	memset(longpath, 'p', sizeof longpath - 1);
	longpath[0] = '/';
	static char longarg[6000];
	memset(longarg, '\x01', sizeof longarg - 1);
	const char *many[40];
	for (int i = 0; i < 40; i++)
		many[i] = longarg;
	static char bigdetail[2048];
	memset(bigdetail, 'd', sizeof bigdetail - 1);
	memcpy(bigdetail, "{\"a\":\"", 6);
	memcpy(bigdetail + sizeof bigdetail - 3, "\"}", 2);
	const char *word = "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01";
	struct event_process hp = { .pid = 2147483647, .ppid = 2147483647, .uid = 4294967295u, .exe = longpath,
				    .sha256_hex = "0e7c000000000000000000000000000000000000000000000000000000000000",
				    .argv = many, .argc = 40, .cwd = longpath, .script = longpath,
				    .script_sha256_hex = "0e7c000000000000000000000000000000000000000000000000000000000000" };
	struct event worst = { .kind = word, .severity = word, .action = word, .mode = word, .rule = word,
			       .reason = longpath, .process = &hp, .detail_json = bigdetail };
	n = events_format(&worst, UINT64_MAX, 253402300799999LL, buf, sizeof buf);
	CHECK(n > 0, "worst case with the largest platform object fits one slot");
	CHECK(n > 0 && json_check(buf, n - 1), "and is valid JSON");
	printf("worst-case line: %zu of %d bytes\n", n, EVENTS_SLOT_SIZE);
	return tap_done("events-platform");
}
