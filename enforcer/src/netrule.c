/* Network rule parsing and matching (see netrule.h). */
#include "netrule.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

void netrule_map_v4(const uint8_t v4[4], uint8_t out[16])
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

static int parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int netrule_parse_cidr(const char *s, size_t n, uint8_t addr[16], uint8_t *prefix, const char **why)
{
	char text[64];
	const char *slash = memchr(s, '/', n);
	if (!slash) {
		*why = "needs an address prefix ADDRESS/LENGTH (e.g. 10.0.0.0/8, 127.0.0.1/32, ::1/128)";
		return -1;
	}
	size_t alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof text) {
		*why = "has no valid address before \"/\"";
		return -1;
	}
	memcpy(text, s, alen);
	text[alen] = '\0';
	unsigned len;
	uint8_t v4[4];
	if (strchr(text, ':') == NULL) {
		if (inet_pton(AF_INET, text, v4) != 1) {
			*why = "has no valid IPv4 address (dotted decimal) before \"/\"";
			return -1;
		}
		if (parse_uint(slash + 1, n - alen - 1, 32, &len) != 0) {
			*why = "needs an IPv4 prefix length 0..32 after \"/\"";
			return -1;
		}
		netrule_map_v4(v4, addr);
		len += 96;
	} else {
		if (inet_pton(AF_INET6, text, addr) != 1) {
			*why = "has no valid IPv6 address before \"/\"";
			return -1;
		}
		if (parse_uint(slash + 1, n - alen - 1, 128, &len) != 0) {
			*why = "needs an IPv6 prefix length 0..128 after \"/\"";
			return -1;
		}
	}
	for (unsigned bit = len; bit < 128; bit++) {
		if (addr[bit / 8] & (0x80u >> (bit % 8))) {
			*why = "has host bits set after the prefix length (write the network address, e.g. 10.0.0.0/8)";
			return -1;
		}
	}
	*prefix = (uint8_t)len;
	return 0;
}

int netrule_parse_ports(const char *s, size_t n, uint16_t *lo, uint16_t *hi, const char **why)
{
	unsigned a, b;
	*why = "needs ports as \"*\", \"PORT\" or \"LOW-HIGH\" (1..65535, decimal without leading zeros, LOW <= HIGH)";
	if (n == 1 && s[0] == '*') {
		*lo = 0;
		*hi = 65535;
		return 0;
	}
	const char *dash = memchr(s, '-', n);
	if (!dash) {
		if (parse_uint(s, n, 65535, &a) != 0 || a == 0)
			return -1;
		*lo = *hi = (uint16_t)a;
		return 0;
	}
	size_t an = (size_t)(dash - s);
	if (parse_uint(s, an, 65535, &a) != 0 || parse_uint(dash + 1, n - an - 1, 65535, &b) != 0 || a == 0 ||
	    a > b)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

bool netrule_match(const struct net_rule *r, const uint8_t addr[16], uint16_t port)
{
	if (port < r->port_lo || port > r->port_hi)
		return false;
	unsigned full = r->prefix / 8, rest = r->prefix % 8;
	if (memcmp(r->addr, addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));
		if ((r->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

int netrule_parse_proto(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "tcp", 3) == 0)
		return NET_PROTO_TCP;
	if (n == 3 && memcmp(s, "udp", 3) == 0)
		return NET_PROTO_UDP;
	return -1;
}

bool netrule_proto_match(const struct net_rule *r, int sock_type)
{
	if (r->proto == NET_PROTO_ANY)
		return true;
	if (sock_type < 0)
		return r->action != NET_ALLOW;
	return r->proto == NET_PROTO_TCP ? sock_type == SOCK_STREAM : sock_type == SOCK_DGRAM;
}
