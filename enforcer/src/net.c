/* HTTP exchanges over TCP and BearSSL; contracts in net.h. */
#include "net.h"

#include <bearssl.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct net_ca {
	br_x509_trust_anchor *ta;
	size_t n;
};

/* ---- trust anchors ---- */

struct bytes {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void bytes_append(void *ctx, const void *data, size_t len)
{
	struct bytes *b = ctx;
	if (b->oom)
		return;
	if (b->len + len > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 1024) + len;
		unsigned char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void *dup_bytes(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

static int add_anchor(struct net_ca *ca, const struct bytes *der, size_t index, char *err, size_t errlen)
{
	br_x509_decoder_context dc;
	struct bytes dn = { 0 };
	br_x509_decoder_init(&dc, bytes_append, &dn);
	br_x509_decoder_push(&dc, der->p, der->len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || dn.oom) {
		snprintf(err, errlen, "certificate %zu of the console CA cannot be decoded (BearSSL error %d)", index,
			 br_x509_decoder_last_error(&dc));
		free(dn.p);
		return -1;
	}
	br_x509_trust_anchor *grown = realloc(ca->ta, (ca->n + 1) * sizeof *ca->ta);
	if (!grown) {
		free(dn.p);
		snprintf(err, errlen, "out of memory for the console CA");
		return -1;
	}
	ca->ta = grown;
	br_x509_trust_anchor *t = &ca->ta[ca->n];
	memset(t, 0, sizeof *t);
	t->dn.data = dn.p;
	t->dn.len = dn.len;
	t->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	t->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		t->pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
		t->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		t->pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
		t->pkey.key.rsa.elen = pk->key.rsa.elen;
		if (!t->pkey.key.rsa.n || !t->pkey.key.rsa.e)
			goto oom;
	} else if (pk->key_type == BR_KEYTYPE_EC) {
		t->pkey.key.ec.curve = pk->key.ec.curve;
		t->pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
		t->pkey.key.ec.qlen = pk->key.ec.qlen;
		if (!t->pkey.key.ec.q)
			goto oom;
	} else {
		snprintf(err, errlen, "certificate %zu of the console CA has a key type BearSSL cannot use", index);
		free(dn.p);
		return -1;
	}
	ca->n++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory for the console CA");
	return -1;
}

int net_ca_load(const char *pem, size_t len, struct net_ca **out, char *err, size_t errlen)
{
	br_pem_decoder_context pc;
	struct bytes der = { 0 };
	bool in_cert = false;
	struct net_ca *ca = calloc(1, sizeof *ca);
	if (!ca) {
		snprintf(err, errlen, "out of memory for the console CA");
		return -1;
	}
	br_pem_decoder_init(&pc);
	const unsigned char *p = (const unsigned char *)pem;
	/* A final newline lets the decoder see the end line of a PEM without one. */
	bool fed_newline = false;
	for (;;) {
		size_t k = len ? br_pem_decoder_push(&pc, p, len) : 0;
		p += k;
		len -= k;
		int ev = br_pem_decoder_event(&pc);
		if (ev == BR_PEM_BEGIN_OBJ) {
			in_cert = strcmp(br_pem_decoder_name(&pc), "CERTIFICATE") == 0 ||
				  strcmp(br_pem_decoder_name(&pc), "X509 CERTIFICATE") == 0;
			der.len = 0;
			br_pem_decoder_setdest(&pc, in_cert ? bytes_append : NULL, in_cert ? &der : NULL);
		} else if (ev == BR_PEM_END_OBJ) {
			if (in_cert) {
				if (der.oom) {
					snprintf(err, errlen, "out of memory for the console CA");
					goto fail;
				}
				if (add_anchor(ca, &der, ca->n + 1, err, errlen) != 0)
					goto fail;
			}
			in_cert = false;
		} else if (ev == BR_PEM_ERROR) {
			snprintf(err, errlen, "the console CA is not valid PEM (after byte %zu)",
				 (size_t)(p - (const unsigned char *)pem));
			goto fail;
		} else if (len == 0) {
			if (fed_newline)
				break;
			fed_newline = true;
			p = (const unsigned char *)"\n";
			len = 1;
		}
	}
	free(der.p);
	if (ca->n == 0) {
		snprintf(err, errlen, "the console CA has no \"BEGIN CERTIFICATE\" block");
		free(ca->ta);
		free(ca);
		return -1;
	}
	*out = ca;
	return 0;
fail:
	/* Start-up only: the anchors parsed so far are leaked with ca on this error path. */
	free(der.p);
	return -1;
}

/* ---- transport ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static br_ssl_client_context cc;
static br_x509_minimal_context xc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

struct conn {
	int fd;
	int64_t deadline_ms;
	bool timed_out;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for ev until the deadline. 0 ready, -1 timeout or error. */
static int wait_fd(struct conn *c, short ev)
{
	for (;;) {
		int64_t left = c->deadline_ms - mono_ms();
		if (left <= 0) {
			c->timed_out = true;
			return -1;
		}
		struct pollfd pfd = { .fd = c->fd, .events = ev };
		int r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno == EINTR) /* tolerated: retry */
			continue;
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;
	}
}

static int sock_read(void *ctx, unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	for (;;) {
		ssize_t n = read(c->fd, buf, len);
		if (n > 0)
			return (int)n;
		if (n == 0)
			return -1;
		if (errno == EINTR) /* tolerated */
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_fd(c, POLLIN) != 0)
			return -1;
	}
}

static int sock_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	for (;;) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0)
			return (int)n;
		if (n < 0 && errno == EINTR) /* tolerated */
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || wait_fd(c, POLLOUT) != 0)
			return -1;
	}
}

static int connect_to(const struct http_url *u, struct conn *c, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[8];
	snprintf(port, sizeof port, "%u", (unsigned)u->port);
	int rc = getaddrinfo(u->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	int saved = ETIMEDOUT;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		c->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c->fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && wait_fd(c, POLLOUT) == 0) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			saved = soerr ? soerr : errno;
		} else {
			saved = c->timed_out ? ETIMEDOUT : errno;
		}
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		snprintf(err, errlen, "cannot connect to %s:%u: %s", u->host, (unsigned)u->port, strerror(saved));
		return -1;
	}
	return 0;
}

/* Reads until the answer parses as complete. rd returns > 0 bytes, 0 at a clean end of stream,
 * -1 on an error. Returns 0 or -1. */
typedef int (*read_fn)(void *ctx, unsigned char *buf, size_t len);

static int read_answer(read_fn rd, void *ctx, char *resp, size_t cap, struct http_response *r)
{
	size_t got = 0;
	for (;;) {
		if (got == cap)
			return -1;
		int n = rd(ctx, (unsigned char *)resp + got, cap - got);
		bool eof = n == 0;
		if (n < 0)
			return -1;
		if (n > 0)
			got += (size_t)n;
		enum http_parse_result pr = http_parse_response(resp, got, eof, r);
		if (pr == HTTP_COMPLETE)
			return 0;
		if (pr == HTTP_MALFORMED || eof)
			return -1;
	}
}

static int plain_read(void *ctx, unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	for (;;) {
		ssize_t n = read(c->fd, buf, len);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR) /* tolerated */
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_fd(c, POLLIN) != 0)
			return -1;
	}
}

static int write_all_plain(struct conn *c, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n) {
		int k = sock_write(c, b, n);
		if (k < 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int tls_read(void *ctx, unsigned char *buf, size_t len)
{
	int n = br_sslio_read(ctx, buf, len);
	if (n < 0)
		return br_ssl_engine_last_error(&cc.eng) == BR_ERR_OK ? 0 : -1; /* OK: close_notify */
	return n;
}

enum net_result net_exchange(const struct http_url *u, const struct net_ca *ca, const char *head, size_t head_len,
			     const void *body, size_t body_len, char *resp, size_t cap, struct http_response *r,
			     int timeout_ms, char *err, size_t errlen)
{
	struct conn c = { .fd = -1, .deadline_ms = mono_ms() + timeout_ms };
	enum net_result res = NET_ERROR;

	if (u->tls && (!ca || ca->n == 0)) {
		snprintf(err, errlen, "https://%s needs a pinned CA (console-ca)", u->host);
		return NET_ERROR;
	}
	if (connect_to(u, &c, err, errlen) != 0)
		return NET_ERROR;
	if (!u->tls) {
		if (write_all_plain(&c, head, head_len) != 0 || (body_len && write_all_plain(&c, body, body_len) != 0)) {
			snprintf(err, errlen, "cannot send to %s:%u: %s", u->host, (unsigned)u->port,
				 c.timed_out ? "timed out" : strerror(errno));
		} else if (read_answer(plain_read, &c, resp, cap, r) != 0) {
			snprintf(err, errlen, "no valid HTTP answer from %s:%u%s", u->host, (unsigned)u->port,
				 c.timed_out ? " (timed out)" : "");
		} else {
			res = NET_OK;
		}
		close(c.fd);
		return res;
	}

	pthread_mutex_lock(&lock);
	br_sslio_context io;
	br_ssl_client_init_full(&cc, &xc, ca->ta, ca->n);
	br_ssl_engine_set_versions(&cc.eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_buffer(&cc.eng, iobuf, sizeof iobuf, 1);
	if (!br_ssl_client_reset(&cc, u->host, 0)) {
		snprintf(err, errlen, "cannot start TLS to %s: BearSSL error %d", u->host, br_ssl_engine_last_error(&cc.eng));
		goto out;
	}
	br_sslio_init(&io, &cc.eng, sock_read, &c, sock_write, &c);
	if (br_sslio_write_all(&io, head, head_len) != 0 || (body_len && br_sslio_write_all(&io, body, body_len) != 0) ||
	    br_sslio_flush(&io) != 0 || read_answer(tls_read, &io, resp, cap, r) != 0) {
		int e = br_ssl_engine_last_error(&cc.eng);
		if (e >= BR_ERR_X509_OK && e < BR_ERR_X509_OK + 32) {
			res = NET_UNTRUSTED;
			snprintf(err, errlen, "the certificate of %s:%u is not trusted by the pinned console CA (BearSSL X.509 error %d)",
				 u->host, (unsigned)u->port, e);
		} else {
			snprintf(err, errlen, "TLS exchange with %s:%u failed: %s (BearSSL error %d)", u->host, (unsigned)u->port,
				 c.timed_out ? "timed out" : "no valid answer", e);
		}
		goto out;
	}
	res = NET_OK;
out:
	pthread_mutex_unlock(&lock);
	close(c.fd);
	return res;
}
