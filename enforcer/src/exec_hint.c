/* Direct-mapped tid -> (dev, ino) table (see exec_hint.h). 64 KiB of .bss. */
#include "exec_hint.h"

#define SLOTS 2048u

static struct {
	pid_t tid; /* 0 = empty */
	uint64_t dev, ino;
} slots[SLOTS];

void exec_hint_put(pid_t tid, uint64_t dev, uint64_t ino)
{
	unsigned i = (unsigned)tid % SLOTS;
	slots[i].tid = tid;
	slots[i].dev = dev;
	slots[i].ino = ino;
}

bool exec_hint_take(pid_t tid, uint64_t *dev, uint64_t *ino)
{
	unsigned i = (unsigned)tid % SLOTS;
	if (slots[i].tid != tid)
		return false;
	*dev = slots[i].dev;
	*ino = slots[i].ino;
	slots[i].tid = 0;
	return true;
}

void exec_hint_drop(pid_t tid)
{
	unsigned i = (unsigned)tid % SLOTS;
	if (slots[i].tid == tid)
		slots[i].tid = 0;
}
