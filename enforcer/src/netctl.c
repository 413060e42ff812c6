/* Network control: outbound connects (connect, sendto with a destination, sendmsg, sendmmsg)
 * judged by the net-connect rules, binds and listens by the net-listen ports (see rtctl.h).
 *
 * Entry: the sockaddr is read from the tracee's memory, which another thread may rewrite before
 * the kernel copies it. So connect and bind are also checked at their exit stop against the
 * kernel's own record (getpeername/getsockname on a duplicate of the socket, or the socket's
 * line in /proc/PID/net tables), and the process is killed when that differs from what was allowed.
 * listen is judged on the kernel's record alone. sendto/sendmsg/sendmmsg leave no record to
 * compare with: best effort (docs/enforcer.md).
 *
 * Protocol rules (net-connect/net-listen ... tcp|udp): the socket's type is read from the kernel on
 * a duplicate of the descriptor (pidfd_getfd + SO_TYPE), only when some rule names a protocol.
 * A socket's type never changes, but the descriptor number can be pointed at another socket by
 * another thread; so connect and bind also remember the socket's inode and the exit check
 * requires the descriptor to still name that socket. */
#include "rtctl.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json.h"
#include "netrule.h"
#include "procfs.h"

enum verdict { V_ALLOW, V_ALERT, V_BLOCK };

/* Whether some net-connect / net-listen rule names a protocol (netctl_init). */
static bool connect_typed, listen_typed;

void netctl_init(void)
{
	const struct bundle_runtime *rt = &rt_bundle->rt;
	connect_typed = listen_typed = false;
	for (size_t i = 0; i < rt->n_connect; i++)
		if (rt->connect[i].proto != NET_PROTO_ANY)
			connect_typed = true;
	for (size_t i = 0; i < rt->n_listen; i++)
		if (rt->listen[i].proto != NET_PROTO_ANY)
			listen_typed = true;
}

/* The kernel's view of socket fd of tid, from a duplicate: its type (SOCK_*; -1 when fd is not a
 * socket or cannot be duplicated) and inode (0 then). */
static void socket_identity(pid_t tid, int fd, int *type, uint64_t *ino)
{
	*type = -1;
	*ino = 0;
	int dup = rt_grab_fd(tid, fd);
	if (dup < 0)
		return; /* EBADF, or no pidfd_getfd: judged as unknown (fail closed) */
	int t = 0;
	socklen_t len = sizeof t;
	struct stat st;
	if (getsockopt(dup, SOL_SOCKET, SO_TYPE, &t, &len) == 0 && fstat(dup, &st) == 0) {
		*type = t;
		*ino = (uint64_t)st.st_ino;
	} /* ENOTSOCK: the kernel fails the call itself */
	close(dup);
}

/* "tcp ", "udp " or "" for a reason text. */
static const char *proto_word(int type)
{
	return type == SOCK_STREAM ? "tcp " : type == SOCK_DGRAM ? "udp " : "";
}

/* The sockaddr at addr (len bytes) as an inet peer. Returns 1 for AF_INET/AF_INET6, 0 for
 * another family, -1 when unreadable. */
static int read_peer(pid_t tid, uint64_t addr, uint64_t len, uint8_t out[16], uint16_t *port)
{
	struct sockaddr_in6 sa;
	memset(&sa, 0, sizeof sa);
	size_t n = len < sizeof sa ? (size_t)len : sizeof sa;
	if (addr == 0 || n < sizeof(sa_family_t) || procfs_read_mem(tid, addr, &sa, n) < 0)
		return -1;
	if (sa.sin6_family == AF_INET && n >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&sa;
		netrule_map_v4((const uint8_t *)&s4->sin_addr, out);
		*port = ntohs(s4->sin_port);
		return 1;
	}
	if (sa.sin6_family == AF_INET6 && n >= sizeof(struct sockaddr_in6)) {
		memcpy(out, &sa.sin6_addr, 16);
		*port = ntohs(sa.sin6_port);
		return 1;
	}
	return 0;
}

/* sock_type: SOCK_* of the socket, or -1 when unknown (see netrule_proto_match). */
static enum verdict judge(const uint8_t a[16], uint16_t port, int sock_type, const char **rule_text)
{
	const struct bundle_runtime *rt = &rt_bundle->rt;
	const struct net_rule *best = NULL;
	for (size_t i = 0; i < rt->n_connect; i++) {
		if (!netrule_match(&rt->connect[i], a, port) || !netrule_proto_match(&rt->connect[i], sock_type))
			continue;
		if (!best || rt->connect[i].action > best->action)
			best = &rt->connect[i];
		if (best->action == NET_BLOCK)
			break;
	}
	if (best) {
		*rule_text = best->text;
		return best->action == NET_BLOCK ? V_BLOCK : best->action == NET_AUDIT ? V_ALERT : V_ALLOW;
	}
	*rule_text = "default";
	switch (rt->net_default) {
	case NET_DEFAULT_AUDIT:
		return V_ALERT;
	case NET_DEFAULT_BLOCK:
		return V_BLOCK;
	case NET_DEFAULT_ALLOW:
	default:
		return V_ALLOW;
	}
}

/* The mode a listen finding gets: net-listen-default audit only ever alerts. */
static enum inlay_mode listen_mode(void)
{
	return rt_bundle->rt.listen_default == NET_DEFAULT_AUDIT ? INLAY_AUDIT : rt_mode(CTL_NETWORK);
}

static bool port_listed(uint16_t port, int sock_type)
{
	const struct bundle_runtime *rt = &rt_bundle->rt;
	for (size_t i = 0; i < rt->n_listen; i++)
		if (port >= rt->listen[i].port_lo && port <= rt->listen[i].port_hi &&
		    netrule_proto_match(&rt->listen[i], sock_type))
			return true;
	return false;
}

static void detail_peer(char *out, size_t cap, const char *call, const uint8_t a[16], uint16_t port,
			int sock_type, const char *rule_text, const char *entry_peer)
{
	char peer[80];
	struct json j;
	rt_format_peer(a, port, peer, sizeof peer);
	json_init(&j, out, cap);
	json_begin_object(&j);
	json_key(&j, "syscall");
	json_str(&j, call);
	json_key(&j, "destination");
	json_str(&j, peer);
	if (sock_type == SOCK_STREAM || sock_type == SOCK_DGRAM) {
		json_key(&j, "protocol");
		json_str(&j, sock_type == SOCK_STREAM ? "tcp" : "udp");
	}
	if (rule_text) {
		json_key(&j, "net_rule");
		json_str(&j, rule_text);
	}
	if (entry_peer) {
		json_key(&j, "checked_at_entry");
		json_str(&j, entry_peer);
	}
	json_end_object(&j);
	if (j.overflow)
		out[0] = '\0';
}

/* {"syscall":CALL,"port":N[,"protocol":"tcp"|"udp"]} */
static void detail_port(char *out, size_t cap, const char *call, int port, int sock_type)
{
	struct json j;
	json_init(&j, out, cap);
	json_begin_object(&j);
	json_key(&j, "syscall");
	json_str(&j, call);
	json_key(&j, "port");
	json_int(&j, port);
	if (sock_type == SOCK_STREAM || sock_type == SOCK_DGRAM) {
		json_key(&j, "protocol");
		json_str(&j, sock_type == SOCK_STREAM ? "tcp" : "udp");
	}
	json_end_object(&j);
	if (j.overflow)
		out[0] = '\0';
}

/* Reports and decides one outbound destination. Returns the errno to fail with, or 0. */
static int judge_destination(pid_t tid, const char *call, const uint8_t a[16], uint16_t port, int sock_type)
{
	const char *text = NULL;
	enum verdict v = judge(a, port, sock_type, &text);
	if (v == V_ALLOW)
		return 0;
	enum inlay_mode m = rt_mode(CTL_NETWORK);
	char detail[512], reason[256], peer[80];
	rt_format_peer(a, port, peer, sizeof peer);
	detail_peer(detail, sizeof detail, call, a, port, sock_type, text, NULL);
	bool dflt = strcmp(text, "default") == 0;
	if (v == V_ALERT) {
		snprintf(reason, sizeof reason, "outbound %sconnection to %s %s", proto_word(sock_type), peer,
			 dflt ? "matches no rule (net-default audit)" : "matches a net-connect audit rule");
		rt_emit(tid, "network.connect", "low", INLAY_AUDIT, false, dflt ? "network.default" : "network.audit", reason,
			detail[0] ? detail : NULL);
		return 0;
	}
	bool deny = m == INLAY_ENFORCE;
	snprintf(reason, sizeof reason, "outbound %sconnection to %s matches %s", proto_word(sock_type), peer,
		 dflt ? "no rule and net-default is block" : "a net-connect block rule");
	rt_emit(tid, "network.connect", "high", m, deny, dflt ? "network.default" : "network.block",
		reason, detail[0] ? detail : NULL);
	return deny ? EACCES : 0;
}

/* One struct msghdr at addr: judge its msg_name when set. */
static int judge_msghdr(pid_t tid, const char *call, uint64_t addr, int sock_type)
{
	struct msghdr mh;
	uint8_t a[16];
	uint16_t port;
	if (procfs_read_mem(tid, addr, &mh, sizeof mh) < 0 || mh.msg_name == NULL)
		return 0; /* unreadable: the kernel fails it with EFAULT too */
	if (read_peer(tid, (uint64_t)(uintptr_t)mh.msg_name, mh.msg_namelen, a, &port) != 1)
		return 0;
	return judge_destination(tid, call, a, port, sock_type);
}

static int entry_bind(pid_t tid, const uint64_t args[6], struct rt_pending *p)
{
	uint8_t a[16];
	uint16_t port = 0;
	int r = read_peer(tid, args[1], args[2], a, &port);
	int type = -1;
	uint64_t ino = 0;
	if (listen_typed && r == 1 && port != 0)
		socket_identity(tid, (int)args[0], &type, &ino);
	p->kind = RT_BIND;
	p->fd = (int)args[0];
	p->port = port;
	p->sock_type = (int8_t)type;
	p->sock_ino = ino;
	if (r != 1 || port == 0 || port_listed(port, type))
		return 0;
	enum inlay_mode m = listen_mode();
	bool deny = m == INLAY_ENFORCE;
	char reason[160], detail[128];
	snprintf(reason, sizeof reason, "binding %sport %u, which is not a net-listen port", proto_word(type),
		 (unsigned)port);
	detail_port(detail, sizeof detail, "bind", port, type);
	rt_emit(tid, "network.listen", "medium", m, deny, "network.listen", reason, detail);
	if (deny) {
		p->kind = RT_NONE;
		return EACCES;
	}
	p->kind = RT_NONE; /* reported already; the exit check only guards allowed binds */
	return 0;
}

/* The local port of socket fd of tid from the kernel, or -1 when it is not an inet socket, -2
 * when it cannot be read. *type and *ino: the socket's SOCK_* type and inode (-1 / 0 unknown). */
static int kernel_local_port(pid_t tid, int fd, int *type, uint64_t *ino)
{
	*type = -1;
	*ino = 0;
	int dup = rt_grab_fd(tid, fd);
	if (dup < 0)
		return -2;
	struct sockaddr_in6 sa;
	socklen_t len = sizeof sa;
	memset(&sa, 0, sizeof sa);
	int r = getsockname(dup, (struct sockaddr *)&sa, &len);
	int t = 0;
	socklen_t tl = sizeof t;
	struct stat st;
	if (r == 0 && getsockopt(dup, SOL_SOCKET, SO_TYPE, &t, &tl) == 0 && fstat(dup, &st) == 0) {
		*type = t;
		*ino = (uint64_t)st.st_ino;
	}
	close(dup);
	if (r < 0)
		return -1; /* ENOTSOCK: not a socket, the kernel fails the call itself */
	if (sa.sin6_family == AF_INET6)
		return ntohs(sa.sin6_port);
	if (sa.sin6_family == AF_INET)
		return ntohs(((struct sockaddr_in *)(void *)&sa)->sin_port);
	return -1;
}

static int entry_listen(pid_t tid, const uint64_t args[6])
{
	int type;
	uint64_t ino;
	int port = kernel_local_port(tid, (int)args[0], &type, &ino);
	enum inlay_mode m = listen_mode();
	bool deny = m == INLAY_ENFORCE;
	char reason[160], detail[128];
	if (port == -2) {
		snprintf(reason, sizeof reason, "cannot read the socket to check its port: %s", strerror(errno));
		rt_emit(tid, "network.listen", "medium", m, deny, "network.unverified", reason, NULL);
		return deny ? EACCES : 0;
	}
	/* port 0: listen binds an ephemeral port, like a client socket */
	if (port <= 0 || port_listed((uint16_t)port, type))
		return 0;
	snprintf(reason, sizeof reason, "listening on %sport %d, which is not a net-listen port", proto_word(type), port);
	detail_port(detail, sizeof detail, "listen", port, type);
	rt_emit(tid, "network.listen", "medium", m, deny, "network.listen", reason, detail);
	return deny ? EACCES : 0;
}

int netctl_entry(pid_t tid, uint64_t nr, const uint64_t args[6], struct rt_pending *p)
{
	unsigned traps = rtctl_traps();
	if (traps & TRAP_NET_CONNECT) {
		if (nr == (uint64_t)__NR_connect) {
			uint8_t a[16];
			uint16_t port = 0;
			int r = read_peer(tid, args[1], args[2], a, &port);
			int type = -1;
			uint64_t ino = 0;
			if (connect_typed)
				socket_identity(tid, (int)args[0], &type, &ino);
			/* Whatever the family read here, the exit check looks at the socket itself. */
			p->kind = RT_CONNECT;
			p->fd = (int)args[0];
			p->sock_type = (int8_t)type;
			p->sock_ino = ino;
			if (r != 1) {
				memset(p->addr, 0xff, 16); /* matches no real peer: any inet peer is re-judged */
				return 0;
			}
			memcpy(p->addr, a, 16);
			p->port = port;
			int err = judge_destination(tid, "connect", a, port, type);
			if (err)
				p->kind = RT_NONE;
			return err;
		}
		/* the datagram calls: best effort (no record after the call), the type read once */
		int type = -1;
		uint64_t ino = 0;
		if (connect_typed && (nr == (uint64_t)__NR_sendto || nr == (uint64_t)__NR_sendmsg ||
				      nr == (uint64_t)__NR_sendmmsg))
			socket_identity(tid, (int)args[0], &type, &ino);
		if (nr == (uint64_t)__NR_sendto) {
			uint8_t a[16];
			uint16_t port;
			if (args[4] == 0 || read_peer(tid, args[4], args[5], a, &port) != 1)
				return 0;
			return judge_destination(tid, "sendto", a, port, type);
		}
		if (nr == (uint64_t)__NR_sendmsg)
			return judge_msghdr(tid, "sendmsg", args[1], type);
		if (nr == (uint64_t)__NR_sendmmsg) {
			/* vlen is capped by the kernel at UIO_MAXIOV (1024); judge every header */
			unsigned vlen = (unsigned)args[2] > 1024 ? 1024 : (unsigned)args[2];
			for (unsigned i = 0; i < vlen; i++) {
				int err = judge_msghdr(tid, "sendmmsg", args[1] + (uint64_t)i * sizeof(struct mmsghdr), type);
				if (err)
					return err;
			}
			return 0;
		}
	}
	if (traps & TRAP_NET_BIND) {
		if (nr == (uint64_t)__NR_bind)
			return entry_bind(tid, args, p);
		if (nr == (uint64_t)__NR_listen)
			return entry_listen(tid, args);
	}
	return -1;
}

/* The kernel's peer of socket fd: 1 inet (addr, port set), 0 not inet or not connected, -1 error.
 * *type and *ino: the socket's SOCK_* type and inode (-1 / 0 when unknown). */
static int kernel_peer(pid_t tid, int fd, uint8_t a[16], uint16_t *port, int *type, uint64_t *ino,
		       uint32_t *segs_out)
{
	*type = -1;
	*ino = 0;
	*segs_out = UINT32_MAX;
	int dup = rt_grab_fd(tid, fd);
	if (dup < 0)
		return -1;
	struct sockaddr_in6 sa;
	socklen_t len = sizeof sa;
	memset(&sa, 0, sizeof sa);
	int r = getpeername(dup, (struct sockaddr *)&sa, &len);
	int saved = errno;
	struct stat st;
	int st_ok = fstat(dup, &st);
	int t = 0;
	socklen_t tl = sizeof t;
	if (st_ok == 0 && getsockopt(dup, SOL_SOCKET, SO_TYPE, &t, &tl) == 0) {
		*type = t;
		*ino = (uint64_t)st.st_ino;
	}
	if (r != 0 && *type == SOCK_STREAM) {
		/* Whether this stream socket ever sent a segment (a SYN at least); reading TCP_INFO has
		 * no side effect on the socket. EOPNOTSUPP for a non-TCP stream leaves UINT32_MAX. */
		struct tcp_info ti;
		socklen_t il = sizeof ti;
		memset(&ti, 0, sizeof ti);
		if (getsockopt(dup, IPPROTO_TCP, TCP_INFO, &ti, &il) == 0 &&
		    il >= offsetof(struct tcp_info, tcpi_segs_out) + sizeof ti.tcpi_segs_out)
			*segs_out = ti.tcpi_segs_out;
	}
	close(dup);
	if (r == 0) {
		if (sa.sin6_family == AF_INET6) {
			memcpy(a, &sa.sin6_addr, 16);
			*port = ntohs(sa.sin6_port);
			return 1;
		}
		if (sa.sin6_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&sa;
			netrule_map_v4((const uint8_t *)&s4->sin_addr, a);
			*port = ntohs(s4->sin_port);
			return 1;
		}
		return 0;
	}
	/* ENOTCONN: a non-blocking connect still in progress; the kernel already holds the
	 * destination, which /proc/PID/net/tcp* shows for the socket's inode. */
	if (saved == ENOTCONN && st_ok == 0) {
		static const uint8_t any4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0 };
		static const uint8_t any6[16] = { 0 };
		int found = sockinfo_peer(tid, (uint64_t)st.st_ino, a, port);
		/* a remote of 0.0.0.0:0 or [::]:0 is an unconnected socket (UDP after AF_UNSPEC) */
		if (found == 1 && *port == 0 && (memcmp(a, any4, 16) == 0 || memcmp(a, any6, 16) == 0))
			return 0;
		return found;
	}
	return saved == ENOTSOCK ? 0 : -1;
}

/* The exit stop found the descriptor naming another socket than the one whose type the entry
 * judged: another thread re-pointed it during the call, so the kernel may have used a socket
 * that was never judged. Reported as a mismatch; killed in enforce mode. */
static bool socket_switched(const struct rt_pending *p, const char *kind, const char *call, enum inlay_mode m,
			    bool enforce)
{
	char reason[256], detail[96];
	snprintf(reason, sizeof reason,
		 "descriptor %d named another socket after %s than the %ssocket checked at entry: it was switched "
		 "during the call%s", p->fd, call, proto_word(p->sock_type), enforce ? "; the process is killed" : "");
	snprintf(detail, sizeof detail, "{\"syscall\":\"%s\",\"fd\":%d}", call, p->fd);
	rt_emit(p->tid, kind, "critical", m, enforce, "network.exit-mismatch", reason, detail);
	return enforce;
}

bool netctl_exit(const struct rt_pending *p, int64_t rval)
{
	enum inlay_mode m = rt_mode(CTL_NETWORK);
	bool enforce = m == INLAY_ENFORCE;
	char reason[320], detail[512];
	if (p->kind == RT_BIND) {
		m = listen_mode();
		enforce = m == INLAY_ENFORCE;
		if (rval != 0)
			return false;
		int type;
		uint64_t ino;
		int port = kernel_local_port(p->tid, p->fd, &type, &ino);
		if (port == -2) {
			snprintf(reason, sizeof reason, "cannot read the bound socket to verify its port: %s", strerror(errno));
			rt_emit(p->tid, "network.listen", "high", m, enforce, "network.unverified", reason, NULL);
			return enforce;
		}
		if (p->sock_ino && ino != p->sock_ino)
			return socket_switched(p, "network.listen", "bind", m, enforce);
		if (port <= 0 || port == p->port || port_listed((uint16_t)port, type))
			return false;
		/* The entry saw port 0 and the kernel chose one: an ephemeral port is fine. A port
		 * named by the caller but not the one checked means the sockaddr was rewritten. */
		if (p->port == 0 && port >= 32768)
			return false;
		snprintf(reason, sizeof reason,
			 "the socket was bound to port %d, not to port %u that was checked: the address was changed "
			 "during the call%s", port, (unsigned)p->port, enforce ? "; the process is killed" : "");
		snprintf(detail, sizeof detail, "{\"syscall\":\"bind\",\"port\":%d,\"checked_port\":%u}", port,
			 (unsigned)p->port);
		rt_emit(p->tid, "network.listen", "critical", m, enforce, "network.exit-mismatch", reason, detail);
		return enforce;
	}
	uint8_t a[16];
	uint16_t port = 0;
	int type;
	uint64_t ino;
	uint32_t segs_out;
	int r = kernel_peer(p->tid, p->fd, a, &port, &type, &ino, &segs_out);
	static const uint8_t none[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	bool unread = memcmp(p->addr, none, 16) == 0;
	if (r < 0) {
		snprintf(reason, sizeof reason, "cannot read the connected socket to verify its peer: %s", strerror(errno));
		rt_emit(p->tid, "network.connect", "high", m, enforce, "network.unverified", reason, NULL);
		return enforce;
	}
	if (p->sock_ino && ino != p->sock_ino)
		return socket_switched(p, "network.connect", "connect", m, enforce);
	if (r == 0) {
		/* The call succeeded (or is in progress) for an inet address, yet the socket judged at
		 * entry is not connected and never was: a datagram socket stays connected after a
		 * successful connect, and a stream socket has at least sent its SYN. So the kernel
		 * connected another socket, which the descriptor named only during the call. */
		if (p->sock_ino && !unread && (type == SOCK_DGRAM || (type == SOCK_STREAM && segs_out == 0)))
			return socket_switched(p, "network.connect", "connect", m, enforce);
		return false;
	}
	if (memcmp(a, p->addr, 16) == 0 && port == p->port)
		return false; /* the kernel connected where the entry check looked, on the socket it judged */
	const char *text = NULL;
	enum verdict v = judge(a, port, type, &text);
	char checked[80];
	if (unread)
		snprintf(checked, sizeof checked, "no inet address");
	else
		rt_format_peer(p->addr, p->port, checked, sizeof checked);
	if (v == V_ALLOW && unread)
		return false; /* read as another family at entry, and the real peer is allowed anyway */
	char peer[80];
	rt_format_peer(a, port, peer, sizeof peer);
	detail_peer(detail, sizeof detail, "connect", a, port, type, v == V_ALLOW ? NULL : text, checked);
	snprintf(reason, sizeof reason,
		 "the socket is connected to %s, not to %s that was checked: the address was changed during the "
		 "call%s", peer, checked, enforce ? "; the process is killed" : "");
	rt_emit(p->tid, "network.connect", "critical", m, enforce, "network.exit-mismatch", reason,
		detail[0] ? detail : NULL);
	return enforce;
}
