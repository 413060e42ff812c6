/* Finds an inet socket by inode in /proc/PID/net/{tcp,tcp6,udp,udp6} (see rtctl.h).
 *
 * Line format (net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c, udp likewise):
 *   "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt   uid  timeout inode"
 *   "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 ..."
 * IPv4 addresses are the 32-bit network-order value printed as a host-order hex word; IPv6
 * addresses are four such words. Ports are host-order hex. The files are read in 16 KiB chunks;
 * lines are bounded (a line longer than the buffer is skipped). */
#include "rtctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netrule.h"
#include "pctenc.h"
#include "procfs.h"

uint64_t sockinfo_fd_inode(pid_t pid, int fd)
{
	char name[32], link[64];
	snprintf(name, sizeof name, "fd/%d", fd);
	if (procfs_readlink(pid, name, link, sizeof link) < 0)
		return 0;
	if (strncmp(link, "socket:[", 8) != 0)
		return 0;
	return strtoull(link + 8, NULL, 10);
}

/* Parses n hex digits into a host-order word. */
static int hexword(const char *s, unsigned n, uint32_t *out)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < n; i++) {
		int h = hex_value((unsigned char)s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return 0;
}

/* "ADDR:PORT" of the given family width (8 or 32 hex digits). */
static int parse_endpoint(const char *s, bool v6, uint8_t addr[16], uint16_t *port)
{
	unsigned words = v6 ? 4 : 1;
	uint8_t raw[16];
	for (unsigned w = 0; w < words; w++) {
		uint32_t v;
		if (hexword(s + 8 * w, 8, &v) != 0)
			return -1;
		memcpy(raw + 4 * w, &v, 4); /* host order back to the kernel's bytes */
	}
	if (s[8 * words] != ':')
		return -1;
	uint32_t p;
	if (hexword(s + 8 * words + 1, 4, &p) != 0)
		return -1;
	if (v6)
		memcpy(addr, raw, 16);
	else
		netrule_map_v4(raw, addr);
	*port = (uint16_t)p;
	return 0;
}

/* Scans one table; 1 found, 0 not found, -1 error. */
static int scan(pid_t pid, const char *table, bool v6, uint64_t ino, uint8_t addr[16], uint16_t *port)
{
	char path[64], buf[16384];
	snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, table);
	int fd = open_cloexec(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* ENOENT: no IPv6 in this kernel */
	size_t have = 0;
	int found = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			found = -1;
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			/* fields: sl local rem st queues tr retr uid timeout inode */
			char *f[10];
			unsigned k = 0;
			for (char *t = line; k < 10;) {
				while (*t == ' ')
					t++;
				if (!*t)
					break;
				f[k++] = t;
				while (*t && *t != ' ')
					t++;
			}
			if (k == 10 && strtoull(f[9], NULL, 10) == ino && f[0][0] != 's') {
				found = parse_endpoint(f[2], v6, addr, port) == 0 ? 1 : -1;
				break;
			}
			line = nl + 1;
		}
		if (found || n == 0)
			break;
		/* keep the unfinished line; a line filling the buffer is dropped */
		size_t rest = have - (size_t)(line - buf);
		if (rest >= sizeof buf - 1)
			rest = 0;
		memmove(buf, line, rest);
		have = rest;
	}
	close(fd); /* read-only */
	return found;
}

int sockinfo_peer(pid_t pid, uint64_t ino, uint8_t addr[16], uint16_t *port)
{
	static const struct {
		const char *name;
		bool v6;
	} tables[] = { { "tcp", false }, { "tcp6", true }, { "udp", false }, { "udp6", true } };
	int err = 0;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		int r = scan(pid, tables[i].name, tables[i].v6, ino, addr, port);
		if (r == 1)
			return 1;
		if (r < 0)
			err = -1;
	}
	return err;
}
