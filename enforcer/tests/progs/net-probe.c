/* Network attempts for the runtime-control suites. Every mode first listens on ADDR:PORT in this
 * process (so the attempt can succeed on loopback, in a container with --network=none too), then
 * makes the attempt. Exit 0 when the attempt succeeded, 100 + errno when it failed.
 *
 *   net-probe connect ADDR PORT       TCP connect (ADDR "127.0.0.2", "::1", "::ffff:127.0.0.2")
 *   net-probe connect-nb ADDR PORT    the same with a non-blocking socket (EINPROGRESS path)
 *   net-probe sendto ADDR PORT        UDP sendto with a destination
 *   net-probe sendmsg ADDR PORT       UDP sendmsg with msg_name
 *   net-probe connect-race SAFE EVIL PORT  connect to SAFE while another thread rewrites the
 *                                     sockaddr to EVIL, until the kernel connects to EVIL
 *                                     (exit 0 with "raced") or 5 s pass (exit 3)
 *   net-probe udp-connect ADDR PORT   UDP connect (no listener needed)
 *   net-probe connect-flip ADDR PORT  connect descriptor 100 to ADDR:PORT while another thread
 *                                     points it alternately at a fresh TCP and a fresh UDP socket
 *                                     (dup2), until the kernel connects the UDP one (exit 0 with
 *                                     "raced") or 5 s pass (exit 3)
 *   net-probe bind PORT               TCP bind to 127.0.0.1:PORT, then listen
 *   net-probe bind-udp PORT           UDP bind to 127.0.0.1:PORT
 *   net-probe revshell ADDR PORT PROG [ARGS...]  connect, make the socket stdin/stdout/stderr,
 *                                     exec PROG (what `nc -e` does)
 *
 * An IPv6 ADDR gets an AF_INET6 socket; "::ffff:a.b.c.d" is a v4-mapped address on that socket
 * and its listener is an IPv4 one on a.b.c.d. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	int e = errno;
	fprintf(stderr, "net-probe: %s: %s\n", what, strerror(e));
	return 100 + e;
}

static socklen_t make_addr(const char *text, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (strchr(text, ':')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
			exit(2);
		return sizeof *s6;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
		exit(2);
	return sizeof *s4;
}

static int last_listener;

/* Accepts and closes connections forever, so a long race never fills the backlog. */
static void *acceptor(void *arg)
{
	int s = (int)(intptr_t)arg;
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
	}
	return NULL;
}

/* A listener (TCP or UDP) the attempt can reach; returns its port. */
static int listen_on(const char *text, int port, int type)
{
	const char *v4 = strncmp(text, "::ffff:", 7) == 0 ? text + 7 : text;
	struct sockaddr_storage ss;
	socklen_t len = make_addr(v4, port, &ss);
	int s = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	int one = 1;
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(s, 64) < 0)) {
		perror("net-probe: listener");
		exit(2);
	}
	len = sizeof ss;
	if (getsockname(s, (struct sockaddr *)&ss, &len) < 0)
		exit(2);
	last_listener = s;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

static struct sockaddr_storage race_addr, race_evil, race_safe;
static volatile int race_stop;

static void *flipper(void *arg)
{
	(void)arg;
	while (!race_stop) {
		/* the barriers keep the compiler from dropping the first copy as a dead store */
		memcpy(&race_addr, &race_evil, sizeof race_addr);
		__asm__ volatile("" ::: "memory");
		memcpy(&race_addr, &race_safe, sizeof race_addr);
		__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

static volatile int flip_tcp = -1, flip_udp = -1, flip_stop;
static volatile unsigned flips;
#define FLIP_FD 100

static void *fd_flipper(void *arg)
{
	(void)arg;
	while (!flip_stop) {
		/* EBADF while main replaces the sockets is harmless */
		(void)dup2(flip_udp, FLIP_FD);
		(void)dup2(flip_tcp, FLIP_FD);
		flips++;
	}
	return NULL;
}

static int connect_flip(const char *addr, int want_port)
{
	pthread_t acc, t;
	int port = listen_on(addr, want_port, SOCK_STREAM);
	if (pthread_create(&acc, NULL, acceptor, (void *)(intptr_t)last_listener) != 0)
		return 2;
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	if (pthread_create(&t, NULL, fd_flipper, NULL) != 0)
		return 2;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0;; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 5)
			break;
		int tcp = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int udp = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (tcp < 0 || udp < 0)
			return fail("socket");
		if (dup2(tcp, FLIP_FD) < 0)
			return fail("dup2");
		flip_tcp = tcp;
		flip_udp = udp;
		/* connect only while the flipper is running (it may get no CPU on a loaded machine) */
		unsigned f0 = flips;
		for (long spin = 0; flips == f0 && spin < 100000000L; spin++)
			__asm__ volatile("" ::: "memory");
		int r = connect(FLIP_FD, (struct sockaddr *)&ss, len);
		int e = errno;
		struct sockaddr_storage peer;
		socklen_t pl = sizeof peer;
		if (r == 0 && getpeername(udp, (struct sockaddr *)&peer, &pl) == 0) {
			printf("raced after %d tries: the UDP socket is connected\n", i + 1);
			fflush(stdout);
			flip_stop = 1;
			return 0;
		}
		if (r < 0 && e == EACCES)
			usleep(1000); /* refused at entry (it saw the UDP socket): let the event writer keep up */
		else if (r < 0 && e != ECONNREFUSED && e != EISCONN && e != EBADF) {
			errno = e;
			return fail("connect");
		}
		flip_tcp = flip_udp = -1;
		close(tcp);
		close(udp);
	}
	flip_stop = 1;
	printf("no race won\n");
	return 3;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *mode = argv[1];
	struct sockaddr_storage ss;
	if (strcmp(mode, "bind-udp") == 0) {
		socklen_t len = make_addr("127.0.0.1", atoi(argv[2]), &ss);
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return fail("socket");
		if (bind(s, (struct sockaddr *)&ss, len) < 0)
			return fail("bind");
		printf("bound\n");
		return 0;
	}
	if (strcmp(mode, "bind") == 0) {
		socklen_t len = make_addr("127.0.0.1", atoi(argv[2]), &ss);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return fail("socket");
		if (bind(s, (struct sockaddr *)&ss, len) < 0)
			return fail("bind");
		if (listen(s, 1) < 0)
			return fail("listen");
		printf("listening\n");
		return 0;
	}
	if (argc < 4)
		return 2;
	if (strcmp(mode, "connect-flip") == 0)
		return connect_flip(argv[2], atoi(argv[3]));
	if (strcmp(mode, "udp-connect") == 0) {
		socklen_t len = make_addr(argv[2], atoi(argv[3]), &ss);
		int s = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return fail("socket");
		if (connect(s, (struct sockaddr *)&ss, len) < 0)
			return fail("connect");
		printf("connected\n");
		return 0;
	}
	if (strcmp(mode, "connect-race") == 0) {
		pthread_t acc;
		int port = listen_on(argv[3], atoi(argv[4]), SOCK_STREAM);
		if (pthread_create(&acc, NULL, acceptor, (void *)(intptr_t)last_listener) != 0)
			return 2;
		(void)listen_on(argv[2], port, SOCK_STREAM);
		if (pthread_create(&acc, NULL, acceptor, (void *)(intptr_t)last_listener) != 0)
			return 2;
		socklen_t len = make_addr(argv[2], port, &race_safe);
		make_addr(argv[3], port, &race_evil);
		memcpy(&race_addr, &race_safe, sizeof race_addr);
		pthread_t t;
		if (pthread_create(&t, NULL, flipper, NULL) != 0)
			return 2;
		struct timespec t0, now;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0;; i++) {
			/* a time budget, not a try count: the flipper thread may get no CPU for a while */
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec >= 5)
				break;
			int s = socket(race_safe.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (s < 0)
				return fail("socket");
			if (connect(s, (struct sockaddr *)&race_addr, len) == 0) {
				struct sockaddr_storage peer;
				socklen_t pl = sizeof peer;
				getpeername(s, (struct sockaddr *)&peer, &pl);
				if (memcmp(&peer, &race_evil, len) == 0) {
					printf("raced after %d tries\n", i + 1);
					fflush(stdout);
					race_stop = 1;
					return 0;
				}
			} else if (errno == EACCES) {
				/* the enforcer saw the blocked address at entry: let its event writer keep up */
				usleep(1000);
			} else if (errno != ECONNREFUSED) {
				return fail("connect");
			}
			close(s);
		}
		race_stop = 1;
		printf("no race won\n");
		return 3;
	}
	int type = strcmp(mode, "sendto") == 0 || strcmp(mode, "sendmsg") == 0 ? SOCK_DGRAM : SOCK_STREAM;
	int port = listen_on(argv[2], atoi(argv[3]), type);
	socklen_t len = make_addr(argv[2], port, &ss);
	int s = socket(ss.ss_family, type | SOCK_CLOEXEC | (strcmp(mode, "connect-nb") == 0 ? SOCK_NONBLOCK : 0), 0);
	if (s < 0)
		return fail("socket");
	if (strcmp(mode, "sendto") == 0) {
		if (sendto(s, "x", 1, 0, (struct sockaddr *)&ss, len) < 0)
			return fail("sendto");
		return 0;
	}
	if (strcmp(mode, "sendmsg") == 0) {
		struct iovec iov = { "x", 1 };
		struct msghdr mh = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1 };
		if (sendmsg(s, &mh, 0) < 0)
			return fail("sendmsg");
		return 0;
	}
	if (connect(s, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		return fail("connect");
	if (strcmp(mode, "revshell") == 0 && argc > 4) {
		/* the listener survives the exec: closing it would reset the unaccepted connection */
		if (fcntl(last_listener, F_SETFD, 0) < 0 || dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
			return fail("dup2");
		execv(argv[4], argv + 4);
		return fail("execv");
	}
	printf("connected\n");
	return 0;
}
