/* Set-associative hash cache (see hashcache.h). */
#include "hashcache.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

#define SETS 256u
#define WAYS 4u

struct slot {
	struct file_key key;
	uint8_t sha[32];
	uint32_t age; /* insertion stamp; 0 = empty */
};

static struct slot table[SETS][WAYS];
static uint32_t stamp;

void file_key_from_stat(struct file_key *k, const struct stat *st)
{
	memset(k, 0, sizeof *k);
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static unsigned set_of(const struct file_key *k)
{
	uint64_t h = k->ino * 0x9e3779b97f4a7c15ull ^ k->dev * 0xc2b2ae3d27d4eb4full;
	return (unsigned)(h >> 56) % SETS;
}

static bool key_eq(const struct file_key *a, const struct file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

bool hashcache_get(const struct file_key *k, uint8_t sha[32])
{
	struct slot *set = table[set_of(k)];
	for (unsigned w = 0; w < WAYS; w++) {
		if (set[w].age != 0 && key_eq(&set[w].key, k)) {
			memcpy(sha, set[w].sha, 32);
			return true;
		}
	}
	return false;
}

static void put(const struct file_key *k, const uint8_t sha[32])
{
	struct slot *set = table[set_of(k)];
	struct slot *victim = &set[0];
	for (unsigned w = 0; w < WAYS; w++) {
		if (set[w].age == 0 || key_eq(&set[w].key, k)) {
			victim = &set[w];
			break;
		}
		if (set[w].age < victim->age)
			victim = &set[w];
	}
	victim->key = *k;
	memcpy(victim->sha, sha, 32);
	if (++stamp == 0)
		stamp = 1; /* wrap: ages become approximate, never "empty" */
	victim->age = stamp;
}

int hashcache_hash_fd(int fd, const struct stat *st, uint8_t sha[32])
{
	struct file_key before, after;
	file_key_from_stat(&before, st);
	if (lseek(fd, 0, SEEK_SET) < 0 || sha256_fd(fd, sha) < 0)
		return -1;
	struct stat st2;
	if (fstat(fd, &st2) < 0)
		return -1;
	file_key_from_stat(&after, &st2);
	if (!key_eq(&before, &after)) {
		errno = ESTALE;
		return -1;
	}
	/* Timestamps are coarse (one tick): a file changed in the current tick could change again
	 * in the same tick, same size, same timestamps, and hit a stale entry. Cache only content
	 * whose last change is in a past tick; every later change then gets a newer ctime. */
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0 &&
	    before.ctime_ns < (int64_t)now.tv_sec * 1000000000 + now.tv_nsec)
		put(&before, sha);
	return 0;
}
