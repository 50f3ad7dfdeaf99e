// SPDX-License-Identifier: MIT
/*
 * libscm: the lock between the processes that have a region open.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Why not a process-shared pthread mutex in the region: /dev/scm is
 * mapped VM_PFNMAP, and a futex on such memory does not work across
 * processes (the kernel keys a shared futex by the page, which a PFN
 * mapping does not have). Nor would a dead owner be noticed without the
 * robust-futex list, which needs the same futexes. So the lock is one
 * word of the heap header's lock line, taken with a compare-and-swap, and
 * a waiter backs off (sched_yield(), then nanosleep() up to a millisecond)
 * instead of sleeping in the kernel. It works the same on a regular file.
 *
 * The word names its owner: pid | tag << 22, where tag is 42 bits of a
 * hash of the boot id and the owner's start time (/proc/PID/stat), so
 * that neither a pid reused by another process nor a word left by a
 * previous boot of the guest or host passes for a live owner. Linux pids
 * are below 2^22 (PID_MAX_LIMIT). A waiter that finds the owner gone (no
 * such process, a zombie, or another start time) takes the lock over
 * with a compare-and-swap on the word it judged and repairs the heap the
 * owner left (its heap update and its transaction are rolled back) before
 * going on. Processes that share a region must share a pid namespace, as
 * a container's processes do.
 *
 * A word equal to our own while this process does not hold the lock was
 * left by this process before an exec (same pid, same start time): stale
 * too.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scm_internal.h"

#define SCM_PID_BITS		22
#define SCM_PID_MASK		((1ULL << SCM_PID_BITS) - 1)
/* Tries that only yield the CPU, then sleeps from MIN to MAX, doubling. */
#define SCM_LOCK_YIELDS		64
#define SCM_LOCK_NAP_MIN_NS	2000
#define SCM_LOCK_NAP_MAX_NS	(1000 * 1000)

static pthread_once_t scm_boot_once = PTHREAD_ONCE_INIT;
static uint64_t scm_boot;

static uint64_t scm_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* A hash of this boot's id (the same in every process of the boot). */
static void scm_boot_read(void)
{
	char id[64] = "";
	ssize_t n;
	int fd, i;

	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, id, sizeof(id) - 1);
		id[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	scm_boot = 0x6c62272e07bb0142ULL;
	for (i = 0; id[i]; i++)
		scm_boot = (scm_boot ^ (unsigned char)id[i]) * 0x100000001b3ULL;
}

/*
 * State (third field) and start time (22nd) of process @pid from
 * /proc/PID/stat. -1 with errno when it cannot be read.
 */
static int scm_proc_stat(pid_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		goto bad;
	buf[n] = '\0';
	/* the command name (field 2) may hold spaces and parentheses */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		goto bad;
	p += 2;
	*state = *p;
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			goto bad;
		p++;
	}
	if (sscanf(p, "%llu", &v) != 1)
		goto bad;
	*start = v;
	return 0;
bad:
	errno = EIO;
	return -1;
}

static uint64_t scm_word_of(pid_t pid, uint64_t start)
{
	uint64_t tag = scm_mix(scm_boot, start) >> SCM_PID_BITS;

	return (uint64_t)pid | tag << SCM_PID_BITS;
}

/* The owner word of process @pid (start time 0 when /proc is missing). */
uint64_t scm_owner_word(pid_t pid)
{
	uint64_t start = 0;
	char state;

	pthread_once(&scm_boot_once, scm_boot_read);
	if (scm_proc_stat(pid, &state, &start))
		start = 0;
	return scm_word_of(pid, start);
}

/*
 * The process @word names still runs. When /proc cannot tell (hidden
 * pids), a process that exists counts as the owner: better to wait than
 * to take a lock that is held.
 */
bool scm_owner_alive(uint64_t word)
{
	pid_t pid = (pid_t)(word & SCM_PID_MASK);
	uint64_t start;
	char state;

	if (!pid)
		return false;
	if (kill(pid, 0) && errno == ESRCH)
		return false;
	pthread_once(&scm_boot_once, scm_boot_read);
	if (scm_proc_stat(pid, &state, &start))
		return true;
	/* a zombie or a dying process touches no memory any more */
	if (state == 'Z' || state == 'X' || state == 'x')
		return false;
	return scm_word_of(pid, start) == word;
}

static void scm_nap(unsigned int tries, long *ns)
{
	struct timespec ts;

	if (tries < SCM_LOCK_YIELDS) {
		sched_yield();
		return;
	}
	ts.tv_sec = 0;
	ts.tv_nsec = *ns;
	nanosleep(&ts, NULL);
	if (*ns < SCM_LOCK_NAP_MAX_NS)
		*ns = *ns * 2 > SCM_LOCK_NAP_MAX_NS ? SCM_LOCK_NAP_MAX_NS :
						       *ns * 2;
}

/*
 * Take the region lock for this process (scm_mutex held, not holding it
 * yet). Waits as long as a live process holds it. After a takeover from
 * a dead owner the heap is repaired, unless @at_open (scm_heap_open()
 * repairs it then, and the header may not hold a heap yet); otherwise
 * the cached view of the heap is refreshed if another process changed
 * it. Returns 1 after a takeover, else 0.
 */
int scm_region_acquire(struct scm_region *r, bool at_open)
{
	struct scm_lock_line *l = &scm_heap_header(r)->lock;
	long nap = SCM_LOCK_NAP_MIN_NS;
	unsigned int tries;
	bool takeover = false;
	uint64_t owner;

	if (!r->self_word)
		r->self_word = scm_owner_word(getpid());
	for (tries = 0; ; tries++) {
		owner = 0;
		if (__atomic_compare_exchange_n(&l->owner, &owner, r->self_word,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
		/* checking /proc costs a few microseconds: not on every try */
		if (owner == r->self_word ||
		    (tries >= SCM_LOCK_YIELDS / 2 && !scm_owner_alive(owner))) {
			if (__atomic_compare_exchange_n(&l->owner, &owner,
							r->self_word, false,
							__ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED)) {
				takeover = true;
				break;
			}
			continue;
		}
		scm_nap(tries, &nap);
	}
	r->locked = true;
	if (takeover) {
		scm_debug("took the region lock over from pid %llu, gone",
			  (unsigned long long)(owner & SCM_PID_MASK));
		if (!at_open)
			scm_heap_recover(r);
		return 1;
	}
	if (!at_open &&
	    __atomic_load_n(&l->changes, __ATOMIC_ACQUIRE) != r->changes_seen)
		scm_heap_refresh(r);
	return 0;
}

/* Give the region lock back (scm_mutex held). */
void scm_region_release(struct scm_region *r)
{
	struct scm_lock_line *l = &scm_heap_header(r)->lock;
	uint64_t self = r->self_word;

	if (!r->locked)
		return;
	r->locked = false;
	if (!__atomic_compare_exchange_n(&l->owner, &self, 0, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		scm_debug("the region lock was taken from us (by pid %llu)",
			  (unsigned long long)(self & SCM_PID_MASK));
}

/* A thread keeps the lock across calls (scm_lock(), a transaction). */
bool scm_region_pinned(const struct scm_region *r)
{
	return r->user_lock || r->tx.open;
}

/*
 * In the child of fork(): it holds nothing. The parent may be in the
 * middle of a transaction or hold scm_lock(); the lock word names the
 * parent, and the child, a process of its own, must wait for it like any
 * other. Its owner word is computed again on first use (new pid).
 */
void scm_lock_after_fork(struct scm_region *r)
{
	r->self_word = 0;
	r->locked = false;
	r->user_lock = false;
	memset(&r->tx, 0, sizeof(r->tx));
}
