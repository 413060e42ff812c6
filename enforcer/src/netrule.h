/* Network rules of the bundle (docs/bundle-format.md, "Runtime controls"): an address prefix and
 * a port range. Pure: no syscalls; shared by the bundle parser and the network control.
 *
 * Every address is kept in IPv6 form; an IPv4 address a.b.c.d is the IPv4-mapped ::ffff:a.b.c.d
 * and an IPv4 prefix /n becomes /96+n. So one compare serves both families, and a connect to
 * ::ffff:10.0.0.1 on an AF_INET6 socket matches a rule written for 10.0.0.0/8. */
#ifndef INLAY_NETRULE_H
#define INLAY_NETRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { NET_ALLOW, NET_AUDIT, NET_BLOCK };
/* The protocol a rule is limited to: any inet socket, stream sockets (tcp) or datagram sockets (udp). */
enum { NET_PROTO_ANY, NET_PROTO_TCP, NET_PROTO_UDP };

struct net_rule {
	uint8_t addr[16];  /* prefix in IPv6 form, host bits zero */
	uint8_t prefix;    /* 0..128 */
	uint16_t port_lo;  /* inclusive range; 0-65535 for "*" */
	uint16_t port_hi;
	uint8_t action;    /* net-connect: NET_ALLOW, NET_AUDIT or NET_BLOCK; unused for net-listen */
	uint8_t proto;     /* NET_PROTO_ANY, NET_PROTO_TCP or NET_PROTO_UDP */
	const char *text;  /* the rule as written ("10.0.0.0/8 3333-3334", "0.0.0.0/0 53 udp"); owned by the bundle */
};

/* Parses "A.B.C.D/N" (N 0..32) or an IPv6 address "/N" (N 0..128) from s[0..n). Host bits must be
 * zero. Returns 0, or -1 with *why set to a static explanation. */
int netrule_parse_cidr(const char *s, size_t n, uint8_t addr[16], uint8_t *prefix, const char **why);

/* Parses "*", "N" or "N-M" (1..65535, N <= M) from s[0..n). Returns 0 or -1 with *why set. */
int netrule_parse_ports(const char *s, size_t n, uint16_t *lo, uint16_t *hi, const char **why);

/* True when addr (IPv6 form) is inside r's prefix and port in its range. */
bool netrule_match(const struct net_rule *r, const uint8_t addr[16], uint16_t port);

/* "tcp" or "udp" (s[0..n)) as NET_PROTO_TCP / NET_PROTO_UDP; -1 for anything else. */
int netrule_parse_proto(const char *s, size_t n);

/* Whether r applies to a socket of this type (SOCK_STREAM, SOCK_DGRAM, another type, or -1 when
 * the type could not be read). A rule without a protocol applies to every socket; "tcp" to stream
 * sockets, "udp" to datagram sockets. An unknown type fails closed: a protocol-limited block or
 * audit rule applies, a protocol-limited allow rule does not. */
bool netrule_proto_match(const struct net_rule *r, int sock_type);

/* Writes the IPv4-mapped form of a 4-byte IPv4 address. */
void netrule_map_v4(const uint8_t v4[4], uint8_t out[16]);

#endif
