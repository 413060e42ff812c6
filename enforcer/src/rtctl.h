/* Runtime controls: network, files, privilege (at their syscalls) and reverse shell (at exec).
 *
 * Contract with the tracer: the prefilter traps exactly the syscalls rtctl_traps() asks for. At
 * each such seccomp stop the tracer calls rtctl_on_entry; a non-zero return is the errno to fail
 * the syscall with. When *want_exit is set, the tracer resumes with PTRACE_SYSCALL and calls
 * rtctl_on_exit at the syscall-exit stop, which checks what the kernel actually did (the peer of
 * the connected socket, the port really bound, the file really opened) and returns true when the
 * process must be killed because it differs from what the entry check allowed. Tracer thread
 * only. docs/enforcer.md says which checks are race-free and which are best effort. */
#ifndef INLAY_RTCTL_H
#define INLAY_RTCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bundle.h"

/* Which syscall groups the prefilter traps (filter_config.traps). */
#define TRAP_NET_CONNECT 0x1u /* connect, sendto with a destination, sendmsg, sendmmsg */
#define TRAP_NET_BIND 0x2u    /* bind, listen */
#define TRAP_FILES 0x4u       /* write-opens (flags tested in BPF), openat2, creat, truncate, ... */
#define TRAP_PRIVILEGE 0x8u   /* set*id, capset */

void rtctl_init(const struct bundle *b);
unsigned rtctl_traps(void);

int rtctl_on_entry(pid_t tid, uint64_t nr, const uint64_t args[6], bool *want_exit);
bool rtctl_on_exit(pid_t tid, int64_t rval, bool is_error);
/* tid ended: forget a pending exit check. */
void rtctl_drop(pid_t tid);

/* Exec-time runtime checks (reverse shell, setuid/setgid exec), called by verdict_on_exec with
 * the executed file's path and mode. Emits events; returns true when the exec must be killed. */
bool rtctl_on_exec(pid_t pid, const char *exe_path, unsigned st_mode);

/* ---- shared by the control files (netctl.c, filectl.c, privctl.c, revshell.c) ---- */

enum rt_kind { RT_NONE, RT_CONNECT, RT_BIND, RT_OPEN };

/* What an entry check leaves for the exit check of the same thread. */
struct rt_pending {
	pid_t tid;            /* 0: free slot */
	uint8_t kind;         /* enum rt_kind */
	int fd;               /* RT_CONNECT/RT_BIND: the socket */
	uint8_t addr[16];     /* RT_CONNECT: peer judged at entry (IPv6 form) */
	uint16_t port;        /* RT_CONNECT: peer port; RT_BIND: port */
	int8_t sock_type;     /* RT_CONNECT/RT_BIND with protocol rules: SOCK_* judged at entry, -1 unknown */
	uint64_t sock_ino;    /* ... and the inode of that socket (0: not read) */
	bool reported;        /* RT_OPEN: the entry check already emitted file.audit */
};

extern const struct bundle *rt_bundle;
enum inlay_mode rt_mode(enum inlay_control c);

/* Emits one event about pid (process fields read from /proc). detail_json may be NULL. */
void rt_emit(pid_t pid, const char *kind, const char *severity, enum inlay_mode mode, bool denied,
	     const char *rule, const char *reason, const char *detail_json);

/* Duplicates fd of process tid into the enforcer (pidfd_getfd, 5.6+). Returns the new fd (close
 * it) or -1 with errno. */
int rt_grab_fd(pid_t tid, int fd);

/* Learns whether any network rule names a protocol (only then are sockets read at entry). */
void netctl_init(void);
int netctl_entry(pid_t tid, uint64_t nr, const uint64_t args[6], struct rt_pending *p);
bool netctl_exit(const struct rt_pending *p, int64_t rval);
int filectl_entry(pid_t tid, uint64_t nr, const uint64_t args[6], struct rt_pending *p);
bool filectl_exit(const struct rt_pending *p, int64_t rval);
int privctl_entry(pid_t tid, uint64_t nr, const uint64_t args[6]);
bool privctl_exec(pid_t pid, const char *exe_path, unsigned st_mode);
bool revshell_exec(pid_t pid, const char *exe_path);

/* The IPv4/IPv6 socket with this inode in pid's network namespace (/proc/PID/net/tcp, tcp6, udp, udp6):
 * its remote address (IPv6 form) and port. Returns 1 when found, 0 when not (not an inet
 * socket), -1 on a read error. */
int sockinfo_peer(pid_t pid, uint64_t ino, uint8_t addr[16], uint16_t *port);

/* Socket inode behind /proc/PID/fd/N, or 0 when N is not a socket. */
uint64_t sockinfo_fd_inode(pid_t pid, int fd);

/* Human-readable "addr:port" ("[::1]:80", "127.0.0.1:80" for IPv4-mapped). */
void rt_format_peer(const uint8_t addr[16], uint16_t port, char *out, size_t cap);

#endif
