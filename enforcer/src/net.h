/* One HTTP/1.1 exchange over TCP, optionally TLS 1.2 (BearSSL) verified against pinned CAs.
 *
 * Threading: the TLS engine and its buffers are static, guarded by a mutex: exchanges are
 * serialised. Only the reporter thread calls this; it never touches ptrace or a tracee. Every
 * descriptor is O_CLOEXEC and closed before return. Nothing here allocates except net_ca_load. */
#ifndef INLAY_NET_H
#define INLAY_NET_H

#include <stddef.h>

#include "http.h"

struct net_ca;

/* Parses one or more PEM certificates (trust anchors). Returns 0 and *out (owned by the caller
 * for the life of the process), or -1 with err naming what is wrong. */
int net_ca_load(const char *pem, size_t len, struct net_ca **out, char *err, size_t errlen);

enum net_result {
	NET_OK = 0,
	NET_ERROR = -1,       /* DNS, connect, I/O, timeout or a malformed answer */
	NET_UNTRUSTED = -2,   /* TLS: the console's certificate failed verification */
};

/* Sends head (a complete request head from http_format_request) and body, reads the answer into
 * resp[0..cap) and parses it into *r. ca must be non-NULL when u->tls. timeout_ms bounds the
 * whole exchange. On failure err says what and where (host:port, TLS error code). */
enum net_result net_exchange(const struct http_url *u, const struct net_ca *ca, const char *head, size_t head_len,
			     const void *body, size_t body_len, char *resp, size_t cap, struct http_response *r,
			     int timeout_ms, char *err, size_t errlen);

#endif
