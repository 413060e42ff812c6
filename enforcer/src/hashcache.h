/* Content hashes of executed files, cached by file identity.
 *
 * The key is (dev, ino, size, mtime_ns, ctime_ns), never (dev, ino) alone: overlayfs keeps st_ino
 * across copy-up, so an inode number can name new content (memo §2.5). Any write changes mtime
 * or ctime, so a changed file never hits a stale entry. The table is fixed-size (.bss, no
 * allocation) and set-associative: when a set is full the oldest entry is replaced, so the cache
 * can never be "full" and an eviction only costs a re-hash. Content changed in the current clock
 * tick is hashed but not cached (timestamps have tick granularity; see hashcache_hash_fd). Used
 * by the tracer thread only. */
#ifndef INLAY_HASHCACHE_H
#define INLAY_HASHCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct file_key {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

void file_key_from_stat(struct file_key *k, const struct stat *st);

/* Copies the cached hash of k into sha and returns true, or returns false. */
bool hashcache_get(const struct file_key *k, uint8_t sha[32]);

/* Hashes the readable fd (from offset 0) whose fstat gave st, caches and returns the digest. After
 * hashing, fstat runs again: a file written meanwhile (possible on kernels without ETXTBSY for
 * running executables, 6.11-6.12) fails with ESTALE instead of caching a hash of mixed content.
 * Returns 0, or -1 with errno. */
int hashcache_hash_fd(int fd, const struct stat *st, uint8_t sha[32]);

#endif
