// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libscm unit tests: scmalloc_into/scmfree_from and transactions.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The crash tests keep their state in a root object (struct txroot):
 * records of WORDS words that every transaction writes whole (so a
 * record whose words differ was half applied), accounts (records in
 * blocks of their own, pages apart: a transaction moves an amount from
 * one to another, so a sum that changed means a transaction applied on
 * one page and not on the other), and slots holding block offsets
 * (published with scmalloc_into/scmfree_from). After a crash the heap
 * must pass scm_check(), every record and account be whole, the
 * accounts' sum be unchanged, every slot name an allocated block or be
 * 0, no two slots share a block, and the heap's usage be exactly the
 * blocks the root, the accounts and the slots name (no leak).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "scm.h"
#include "scm_internal.h"

#define KIB 1024
#define RECS 8
#define WORDS 8
#define SLOTS 16
#define TXROOT_MAGIC 0x544f4f5258544353ULL
#define ACCOUNTS 4
#define ACCOUNT_BYTES 8192
#define ACCOUNT_START 1000000

struct txroot {
	uint64_t magic;
	uint64_t rec[RECS][WORDS];
	uint64_t slot[SLOTS];
	/* offsets of the accounts: WORDS equal words each */
	uint64_t account[ACCOUNTS];
	/* transactions of the random workload that committed */
	uint64_t commits;
};

static uint64_t *account(const struct txroot *rt, unsigned int i)
{
	return scm_pointer(rt->account[i]);
}

/* A fresh heap at @path holding a txroot; its usage with no slot set. */
static size_t make_txheap(const char *path)
{
	struct txroot *rt;
	size_t used;
	unsigned int i, w;

	t_open(path);
	rt = scmalloc(sizeof(*rt));
	CHECK(rt != NULL);
	memset(rt, 0, sizeof(*rt));
	rt->magic = TXROOT_MAGIC;
	for (i = 0; i < RECS; i++)
		for (w = 0; w < WORDS; w++)
			rt->rec[i][w] = 1;
	for (i = 0; i < ACCOUNTS; i++) {
		CHECK(scmalloc_into(&rt->account[i], ACCOUNT_BYTES) == 0);
		for (w = 0; w < WORDS; w++)
			account(rt, i)[w] = ACCOUNT_START;
	}
	CHECK(scm_set_root(rt) == 0);
	/* the first transaction allocates the undo log */
	CHECK(scm_tx_begin() == 0);
	CHECK(scm_tx_commit() == 0);
	CHECK(scmsync(scm_base(), scm_size()) == 0);
	used = scm_used();
	CHECK(scm_close() == 0);
	return used;
}

/*
 * The invariants of the file comment, on the open heap; @base is the
 * usage with no slot set.
 */
static void check_txroot(size_t base)
{
	struct txroot *rt = scm_root();
	uint64_t total = 0, *a;
	size_t sum = 0, n;
	unsigned int i, j, w;

	if (scm_check())
		t_note("scm_check: %s", strerror(errno));
	CHECK(scm_check() == 0);
	CHECK(rt != NULL && rt->magic == TXROOT_MAGIC);
	for (i = 0; i < RECS; i++)
		for (w = 1; w < WORDS; w++) {
			if (rt->rec[i][w] != rt->rec[i][0])
				t_note("record %u half applied: word %u is %llu, word 0 %llu",
				       i, w, (unsigned long long)rt->rec[i][w],
				       (unsigned long long)rt->rec[i][0]);
			CHECK(rt->rec[i][w] == rt->rec[i][0]);
		}
	for (i = 0; i < ACCOUNTS; i++) {
		a = account(rt, i);
		CHECK(a != NULL);
		for (w = 1; w < WORDS; w++) {
			if (a[w] != a[0])
				t_note("account %u half applied", i);
			CHECK(a[w] == a[0]);
		}
		total += a[0];
	}
	if (total != ACCOUNTS * ACCOUNT_START)
		t_note("the accounts sum to %llu: a transaction half applied",
		       (unsigned long long)total);
	CHECK(total == ACCOUNTS * ACCOUNT_START);
	for (i = 0; i < SLOTS; i++) {
		if (!rt->slot[i])
			continue;
		n = scm_usable_size(scm_pointer(rt->slot[i]));
		if (!n)
			t_note("slot %u names offset %llu, not a block", i,
			       (unsigned long long)rt->slot[i]);
		CHECK(n > 0);
		for (j = 0; j < i; j++)
			CHECK(rt->slot[j] != rt->slot[i]);
		sum += n;
	}
	if (scm_used() != base + sum)
		t_note("used %zu, want %zu (slots %zu): a leak", scm_used(),
		       base + sum, sum);
	CHECK(scm_used() == base + sum);
}

/* --- scmalloc_into / scmfree_from --- */

static void test_alloc_into(void)
{
	const char *path = t_region(256 * KIB);
	struct txroot *rt;
	uint64_t local = 0, old;
	size_t used;
	char *p;

	CHECK_ERRNO(scmfree_from(&local) == -1, EINVAL);	/* nothing open */
	t_open(path);
	rt = scmalloc(sizeof(*rt));
	CHECK(rt != NULL);
	memset(rt, 0, sizeof(*rt));
	used = scm_used();

	/* bad destinations and sizes: nothing changes */
	CHECK_ERRNO(scmalloc_into(NULL, 10) == -1, EINVAL);
	CHECK_ERRNO(scmalloc_into(&local, 10) == -1, EINVAL);
	CHECK_ERRNO(scmalloc_into((uint64_t *)((char *)&rt->slot[0] + 1), 10) == -1,
		    EINVAL);
	CHECK_ERRNO(scmalloc_into(scm_base(), 10) == -1, EINVAL); /* header */
	CHECK_ERRNO(scmalloc_into((uint64_t *)((char *)scm_base() + scm_size()),
				  10) == -1, EINVAL);
	CHECK_ERRNO(scmalloc_into(&rt->slot[0], 0) == -1, EINVAL);
	CHECK_ERRNO(scmalloc_into(&rt->slot[0], scm_size()) == -1, ENOMEM);
	CHECK(rt->slot[0] == 0 && scm_used() == used);

	/* allocate and publish, free and clear */
	CHECK(scmalloc_into(&rt->slot[0], 1000) == 0);
	CHECK(rt->slot[0] != 0);
	p = scm_pointer(rt->slot[0]);
	CHECK(scm_usable_size(p) == 1024);
	CHECK(scm_used() == used + 1024);
	t_fill(p, 1000, 5);
	/* overwriting: the old block stays allocated (the caller's) */
	old = rt->slot[0];
	CHECK(scmalloc_into(&rt->slot[0], 64) == 0);
	CHECK(rt->slot[0] != old && scm_usable_size(p) == 1024);
	CHECK(scmfree_from(&rt->slot[0]) == 0);
	CHECK(rt->slot[0] == 0);
	CHECK(scmfree_from(&rt->slot[0]) == 0);		/* 0: nothing */
	rt->slot[1] = old;
	CHECK(scmfree_from(&rt->slot[1]) == 0);
	CHECK(rt->slot[1] == 0 && scm_used() == used);

	/* a word that does not name a block: EINVAL, the word kept */
	rt->slot[2] = old + 64;
	CHECK_ERRNO(scmfree_from(&rt->slot[2]) == -1, EINVAL);
	CHECK(rt->slot[2] == old + 64);
	rt->slot[2] = scm_size() + 4096;
	CHECK_ERRNO(scmfree_from(&rt->slot[2]) == -1, EINVAL);
	CHECK_ERRNO(scmfree_from(NULL) == -1, EINVAL);
	CHECK_ERRNO(scmfree_from(&local) == -1, EINVAL);
	CHECK(scm_used() == used);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
}

/* Kill at the @count-th time the library reaches @point. */
static enum scm_hook_point kill_point;
static int kill_count;

static void kill_hook(enum scm_hook_point point)
{
	if (point == kill_point && --kill_count == 0)
		raise(SIGKILL);
}

static void arm(enum scm_hook_point point, int count)
{
	kill_point = point;
	kill_count = count;
	scm_test_hook = kill_hook;
}

/*
 * Run @fn on a copy of @path in a child killed at @point's @count-th
 * time; the copy's path in @copy. Returns 1 when the child was killed,
 * 0 when it finished (no such point).
 */
static int crash_run(const char *path, char *copy, size_t copy_len,
		     void (*fn)(void), enum scm_hook_point point, int count)
{
	int status;
	pid_t pid;

	snprintf(copy, copy_len, "%s", t_path("crash-copy"));
	t_copy_file(path, copy);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		t_open(copy);
		arm(point, count);
		fn();
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status)) {
		CHECK(WEXITSTATUS(status) == 0);
		return 0;
	}
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return 1;
}

static void alloc_into_step(void)
{
	struct txroot *rt = scm_root();

	CHECK(scmalloc_into(&rt->slot[1], 3000) == 0);
}

static void free_from_step(void)
{
	struct txroot *rt = scm_root();

	CHECK(scmfree_from(&rt->slot[0]) == 0);
}

/* A kill at each step of scmalloc_into() and scmfree_from(). */
static void test_alloc_into_crash(void)
{
	static const enum scm_hook_point points[] = {
		SCM_HOOK_INTENT, SCM_HOOK_MAP_WORD, SCM_HOOK_MAP,
		SCM_HOOK_DST, SCM_HOOK_DONE,
	};
	char path[4096], copy[4096];
	struct txroot *rt;
	size_t base;
	unsigned int i, op;
	int k, killed = 0;

	snprintf(path, sizeof(path), "%s", t_region(256 * KIB));
	base = make_txheap(path);
	t_open(path);
	rt = scm_root();
	CHECK(scmalloc_into(&rt->slot[0], 5000) == 0);
	CHECK(scm_close() == 0);

	for (op = 0; op < 2; op++)
		for (i = 0; i < sizeof(points) / sizeof(points[0]); i++)
			for (k = 1; k < 8; k++) {
				if (!crash_run(path, copy, sizeof(copy),
					       op ? free_from_step :
						    alloc_into_step,
					       points[i], k))
					break;
				killed++;
				t_open(copy);
				check_txroot(base);
				rt = scm_root();
				/*
				 * an allocation is done once its intent is
				 * cleared (DONE), else undone; a free is
				 * done once its intent is recorded (the
				 * first point), and recovery completes it
				 */
				if (op)
					CHECK(rt->slot[0] == 0);
				else
					CHECK((rt->slot[1] != 0) ==
					      (points[i] == SCM_HOOK_DONE));
				CHECK(scm_close() == 0);
			}
	CHECK(killed >= 10);
}

/* --- transactions: API --- */

/* Whether an msync covered region offset watch_off. */
static uint64_t watch_off;
static int watch_hit;

static void watch_synced(const void *base, uint64_t off, uint64_t len)
{
	(void)base;
	if (watch_off >= off && watch_off < off + len)
		watch_hit = 1;
}

static void test_tx_basic(void)
{
	const char *path = t_region(256 * KIB);
	struct txroot *rt;
	size_t base, used;
	uint64_t b0;
	void *p, *q;
	int fd;

	base = make_txheap(path);
	t_open(path);
	rt = scm_root();
	CHECK(scmalloc_into(&rt->slot[0], 500) == 0);
	b0 = rt->slot[0];
	used = scm_used();

	/* abort: every added range back, allocations undone, frees not done */
	CHECK(scm_tx_begin() == 0);
	CHECK(scm_tx_add(rt->rec[0], sizeof(rt->rec[0])) == 0);
	memset(rt->rec[0], 0x77, sizeof(rt->rec[0]));
	CHECK(scm_tx_add(&rt->rec[1][3], 8) == 0);
	rt->rec[1][3] = 99;
	CHECK(scm_tx_add(&rt->rec[1][2], 16) == 0);	/* overlaps: older first */
	rt->rec[1][3] = 100;
	rt->rec[1][2] = 100;
	p = scmalloc(2000);
	CHECK(p != NULL);
	CHECK(scmalloc_into(&rt->slot[1], 100) == 0);
	CHECK(scmfree_from(&rt->slot[0]) == 0);
	CHECK(rt->slot[0] == 0);
	CHECK_ERRNO(scmfree_from(&rt->slot[0]) == 0, 0);
	CHECK(scm_set_root(p) == 0);
	CHECK(scm_root() == p);
	CHECK(scm_tx_abort() == 0);
	CHECK(scm_root() == rt);
	CHECK(rt->rec[0][0] == 1 && rt->rec[0][WORDS - 1] == 1);
	CHECK(rt->rec[1][2] == 1 && rt->rec[1][3] == 1);
	CHECK(rt->slot[0] == b0 && rt->slot[1] == 0);
	CHECK_ERRNO(scm_usable_size(p) == 0, EINVAL);
	CHECK(scm_used() == used);
	check_txroot(base);

	/* commit: the changes stay, frees done, allocations kept */
	CHECK(scm_tx_begin() == 0);
	CHECK(scm_tx_add(rt->rec[2], sizeof(rt->rec[2])) == 0);
	memset(rt->rec[2], 0x42, sizeof(rt->rec[2]));
	CHECK(scmalloc_into(&rt->slot[3], 3000) == 0);
	/* a block allocated in the transaction is flushed at its commit */
	memset(scm_pointer(rt->slot[3]), 0x33, 3000);
	watch_off = rt->slot[3] + 2999;
	watch_hit = 0;
	scm_test_synced = watch_synced;
	q = scm_pointer(rt->slot[0]);
	scmfree(q);
	CHECK(scm_usable_size(q) == 512);	/* freed at the commit */
	CHECK_ERRNO((scmfree(q), 1), EINVAL);	/* already freed by the tx */
	rt->slot[0] = 0;			/* (not added: not undone) */
	CHECK(scm_tx_commit() == 0);
	CHECK(watch_hit);
	scm_test_synced = NULL;
	CHECK_ERRNO(scm_usable_size(q) == 0, EINVAL);
	CHECK(rt->rec[2][0] == 0x4242424242424242ULL);
	CHECK(scm_usable_size(scm_pointer(rt->slot[3])) == 3008);
	check_txroot(base);

	/* and it is in the file (msync'd by the commit) */
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(pread(fd, &b0, 8, scm_offset(&rt->rec[2][5])) == 8);
	CHECK(b0 == 0x4242424242424242ULL);
	close(fd);
	CHECK(scm_close() == 0);
	t_open(path);
	check_txroot(base);
	CHECK(scm_close() == 0);
}

static void *other_thread_tx(void *arg)
{
	struct txroot *rt = arg;

	/* not this thread's transaction */
	if (scm_tx_add(rt->rec[0], 8) != -1 || errno != EPERM)
		return (void *)1;
	if (scm_tx_commit() != -1 || errno != EPERM)
		return (void *)2;
	if (scm_tx_abort() != -1 || errno != EPERM)
		return (void *)3;
	/* waits for the transaction to end, then sees the committed value */
	if (scm_tx_begin())
		return (void *)4;
	if (rt->rec[5][0] != 55)
		return (void *)5;
	if (scm_tx_commit())
		return (void *)6;
	return NULL;
}

static void test_tx_errors(void)
{
	const char *path = t_region(256 * KIB);
	unsigned char before[sizeof(struct txroot)], *logp;
	struct txroot *rt;
	uint64_t log, bytes;
	pthread_t tid;
	size_t base, used;
	void *ret;
	char *big;
	int n;

	CHECK_ERRNO(scm_tx_add(&n, 4) == -1, EPERM);	/* nothing open */
	CHECK_ERRNO(scm_tx_commit() == -1, EPERM);
	CHECK_ERRNO(scm_tx_abort() == -1, EPERM);
	base = make_txheap(path);
	t_open(path);
	rt = scm_root();
	memcpy(before, rt, sizeof(before));
	used = scm_used();

	/* no transaction: EPERM, nothing changed */
	CHECK_ERRNO(scm_tx_add(rt->rec[0], 8) == -1, EPERM);
	CHECK_ERRNO(scm_tx_commit() == -1, EPERM);
	CHECK_ERRNO(scm_tx_abort() == -1, EPERM);
	CHECK(memcmp(before, rt, sizeof(before)) == 0);

	CHECK(scm_tx_begin() == 0);
	CHECK_ERRNO(scm_tx_begin() == -1, EBUSY);	/* no nesting */
	CHECK_ERRNO(scm_lock() == -1, EDEADLK);
	CHECK_ERRNO(scm_unlock() == -1, EPERM);
	CHECK_ERRNO(scm_close() == -1, EBUSY);

	/* bad ranges: EINVAL, nothing logged */
	log = scm_tx_log_block(&scm_region, &bytes);
	CHECK(log != 0 && bytes == 256 * KIB / 16);
	logp = (unsigned char *)scm_base() + log;
	CHECK_ERRNO(scm_tx_add(NULL, 8) == -1, EINVAL);
	CHECK_ERRNO(scm_tx_add(rt->rec[0], 0) == -1, EINVAL);
	CHECK_ERRNO(scm_tx_add(&n, sizeof(n)) == -1, EINVAL);
	CHECK_ERRNO(scm_tx_add(scm_base(), 8) == -1, EINVAL);	/* header */
	CHECK_ERRNO(scm_tx_add((char *)scm_base() + 4096, 8) == -1, EINVAL);
	CHECK_ERRNO(scm_tx_add(logp + 64, 8) == -1, EINVAL);	/* the log */
	CHECK_ERRNO(scm_tx_add(logp - 8, 16) == -1, EINVAL);
	CHECK_ERRNO(scm_tx_add((char *)scm_base() + scm_size() - 8, 16) == -1,
		    EINVAL);
	CHECK_ERRNO(scm_tx_add(rt, SIZE_MAX) == -1, EINVAL);
	CHECK(scm_region.tx.tail == 0);

	/* a full log: ENOSPC, nothing added, the transaction goes on */
	CHECK(scm_tx_add(rt->rec[3], 8) == 0);
	rt->rec[3][0] = 33;
	big = scmalloc(bytes);
	CHECK(big != NULL);
	CHECK_ERRNO(scm_tx_add(big, bytes) == -1, ENOSPC);
	/* entries so far: the range above (40 + 8), big's allocation (40);
	 * one word more than the log has left */
	CHECK(scm_region.tx.tail == 48 + 40);
	CHECK_ERRNO(scm_tx_add(big, bytes - 64 - 88 - 40 + 8) == -1, ENOSPC);
	CHECK(scm_region.tx.tail == 88);
	CHECK(scm_tx_add(big, 100) == 0);
	memset(big, 1, 100);
	CHECK(scm_tx_abort() == 0);
	CHECK(rt->rec[3][0] == 1);
	CHECK_ERRNO(scm_usable_size(big) == 0, EINVAL);
	CHECK(scm_used() == used);

	/* another thread: EPERM for this one's transaction, then waits */
	CHECK(scm_tx_begin() == 0);
	CHECK(pthread_create(&tid, NULL, other_thread_tx, rt) == 0);
	usleep(100 * 1000);
	CHECK(scm_tx_add(rt->rec[5], sizeof(rt->rec[5])) == 0);
	for (n = 0; n < WORDS; n++)
		rt->rec[5][n] = 55;
	CHECK(scm_tx_commit() == 0);
	CHECK(pthread_join(tid, &ret) == 0);
	if (ret)
		t_note("the other thread failed at step %ld", (long)ret);
	CHECK(ret == NULL);
	CHECK_ERRNO(scm_tx_commit() == -1, EPERM);
	check_txroot(base);
	CHECK(scm_close() == 0);
}

/* --- transactions: crashes --- */

/* The transaction of the crash-point test: 4 records, a free, an alloc. */
static void tx_scenario(bool commit)
{
	struct txroot *rt = scm_root();
	unsigned int i, w;

	CHECK(scm_tx_begin() == 0);
	for (i = 0; i < 4; i++) {
		CHECK(scm_tx_add(rt->rec[i], sizeof(rt->rec[i])) == 0);
		for (w = 0; w < WORDS; w++)
			rt->rec[i][w] = 2;
	}
	CHECK(scmfree_from(&rt->slot[0]) == 0);
	CHECK(scmalloc_into(&rt->slot[1], 300) == 0);
	if (commit)
		CHECK(scm_tx_commit() == 0);
	else
		CHECK(scm_tx_abort() == 0);
}

static void tx_commit_run(void)
{
	tx_scenario(true);
}

static void tx_abort_run(void)
{
	tx_scenario(false);
}

/* The heap holds the scenario's state before (0) or after (1). */
static int tx_outcome(size_t base)
{
	struct txroot *rt = scm_root();
	unsigned int i;
	int after;

	check_txroot(base);
	after = rt->rec[0][0] == 2;
	for (i = 0; i < 4; i++)
		CHECK(rt->rec[i][0] == (after ? 2u : 1u));
	CHECK((rt->slot[0] == 0) == after);
	CHECK((rt->slot[1] != 0) == after);
	return after;
}

static void open_only(void)
{
}

/*
 * The next open of a crashed heap recovers; a crash in the middle of
 * that recovery (at each rollback step) is recovered again.
 */
static void crash_recovery(const char *crashed, size_t base, int want)
{
	static const enum scm_hook_point points[] = {
		SCM_HOOK_TX_RESTORED, SCM_HOOK_MAP_WORD, SCM_HOOK_TX_ENDED,
	};
	char copy[4096];
	unsigned int i;
	int k;

	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		for (k = 1; k < 8; k++) {
			if (!crash_run(crashed, copy, sizeof(copy), open_only,
				       points[i], k))
				break;
			t_open(copy);
			CHECK(tx_outcome(base) == want || want < 0);
			CHECK(scm_close() == 0);
		}
}

/* The points one run of the scenario passes, in order. */
#define MAX_TRACE 256
struct trace {
	unsigned int n;
	unsigned char point[MAX_TRACE];
};
static struct trace *trace;

static void trace_hook(enum scm_hook_point point)
{
	if (trace->n < MAX_TRACE)
		trace->point[trace->n++] = point;
}

static void record_trace(const char *path)
{
	char copy[4096];
	pid_t pid;

	trace = mmap(NULL, sizeof(*trace), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(trace != MAP_FAILED);
	snprintf(copy, sizeof(copy), "%s", t_path("trace-copy"));
	t_copy_file(path, copy);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		t_open(copy);
		scm_test_hook = trace_hook;
		tx_commit_run();
		_exit(0);
	}
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK(trace->n > 0 && trace->n < MAX_TRACE);
}

/* The @k-th @point of the commit run comes after its commit point. */
static bool after_commit_point(enum scm_hook_point point, int k)
{
	bool committed = false;
	unsigned int i;

	for (i = 0; i < trace->n; i++) {
		if (trace->point[i] == SCM_HOOK_TX_COMMITTED)
			committed = true;
		if (trace->point[i] == point && --k == 0)
			return committed || point == SCM_HOOK_TX_COMMITTED;
	}
	CHECK(0);	/* the run reached it */
	return false;
}

static void test_tx_crash_points(void)
{
	static const enum scm_hook_point points[] = {
		SCM_HOOK_TX_BEGUN, SCM_HOOK_TX_ENTRY, SCM_HOOK_TX_ADDED,
		SCM_HOOK_INTENT, SCM_HOOK_MAP_WORD, SCM_HOOK_MAP,
		SCM_HOOK_DST, SCM_HOOK_DONE, SCM_HOOK_TX_SYNCED,
		SCM_HOOK_TX_COMMITTED, SCM_HOOK_TX_FREED,
		SCM_HOOK_TX_RESTORED, SCM_HOOK_TX_ENDED,
	};
	char path[4096], copy[4096], saved[4096];
	unsigned int i, op, seen[2] = { 0, 0 };
	struct txroot *rt;
	size_t base;
	int k, after, killed = 0;

	snprintf(path, sizeof(path), "%s", t_region(256 * KIB));
	base = make_txheap(path);
	t_open(path);
	rt = scm_root();
	CHECK(scmalloc_into(&rt->slot[0], 5000) == 0);
	CHECK(scm_close() == 0);
	record_trace(path);

	for (op = 0; op < 2; op++)
		for (i = 0; i < sizeof(points) / sizeof(points[0]); i++)
			for (k = 1; k < 16; k++) {
				if (!crash_run(path, copy, sizeof(copy),
					       op ? tx_abort_run : tx_commit_run,
					       points[i], k))
					break;
				killed++;
				snprintf(saved, sizeof(saved), "%s",
					 t_path("crashed"));
				t_copy_file(copy, saved);
				t_open(copy);
				after = tx_outcome(base);
				seen[after]++;
				/* committed once the commit point is */
				if (op)
					CHECK(!after);
				else
					CHECK(after ==
					      after_commit_point(points[i], k));
				CHECK(scm_close() == 0);
				if (k <= 2)
					crash_recovery(saved, base, after);
			}
	t_note("%d kills: %u rolled back, %u committed", killed, seen[0],
	       seen[1]);
	CHECK(killed >= 40 && seen[0] && seen[1]);
}

/* --- transactions: kill -9 and host crashes at random moments --- */

struct tx_progress {
	uint64_t ops;
	/* rt->commits after the last scm_tx_commit() that returned 0 */
	uint64_t committed;
};

/* Random transactions (and, when @plain, publishing outside of them). */
static void __attribute__((noreturn)) tx_workload(const char *path,
						  struct tx_progress *pr,
						  uint64_t rng, bool plain)
{
	struct txroot *rt;
	uint64_t v, *from, *to;
	unsigned int i, n, w, s;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (scm_open(path))
		_exit(2);
	rt = scm_root();
	for (;;) {
		if (scm_tx_begin() || scm_tx_add(&rt->commits, 8))
			_exit(3);
		rt->commits++;
		for (n = 1 + t_rand(&rng) % 3; n; n--) {
			i = t_rand(&rng) % RECS;
			if (scm_tx_add(rt->rec[i], sizeof(rt->rec[i])))
				_exit(4);
			v = t_rand(&rng);
			for (w = 0; w < WORDS; w++)
				__atomic_store_n(&rt->rec[i][w], v,
						 __ATOMIC_RELAXED);
		}
		/* a transfer between two accounts, pages apart */
		i = t_rand(&rng) % ACCOUNTS;
		from = account(rt, i);
		to = account(rt, (i + 1 + t_rand(&rng) % (ACCOUNTS - 1)) %
				 ACCOUNTS);
		v = t_rand(&rng) % 1000;
		if (scm_tx_add(from, WORDS * 8) || scm_tx_add(to, WORDS * 8))
			_exit(9);
		for (w = 0; w < WORDS; w++) {
			__atomic_store_n(&from[w], from[w] - v, __ATOMIC_RELAXED);
			__atomic_store_n(&to[w], to[w] + v, __ATOMIC_RELAXED);
		}
		s = t_rand(&rng) % (SLOTS / 2);
		if (rt->slot[s] ? scmfree_from(&rt->slot[s]) :
		    scmalloc_into(&rt->slot[s], 1 + t_rand(&rng) % 3000))
			if (errno != ENOMEM)
				_exit(5);
		if (t_rand(&rng) % 8 == 0) {
			if (scm_tx_abort())
				_exit(6);
		} else if (scm_tx_commit()) {
			_exit(7);
		} else {
			__atomic_store_n(&pr->committed, rt->commits,
					 __ATOMIC_RELEASE);
		}
		/* atomic publishing outside of transactions */
		s = SLOTS / 2 + t_rand(&rng) % (SLOTS / 2);
		if (plain &&
		    (rt->slot[s] ? scmfree_from(&rt->slot[s]) :
		     scmalloc_into(&rt->slot[s], 1 + t_rand(&rng) % 3000)) &&
		    errno != ENOMEM)
			_exit(8);
		__atomic_store_n(&pr->ops, pr->ops + 1, __ATOMIC_RELEASE);
	}
}

/* Kill a tx_workload() child at a random moment after @target ops. */
static void run_and_kill(const char *path, struct tx_progress *pr,
			 uint64_t *rng, bool plain, uint64_t target)
{
	pid_t pid;

	pr->ops = 0;
	pr->committed = 0;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		tx_workload(path, pr, t_rand(rng), plain);
	while (__atomic_load_n(&pr->ops, __ATOMIC_ACQUIRE) < target) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			t_note("the workload ended early (status %#x)", status);
			CHECK(0);
		}
		usleep(50);
	}
	usleep(t_rand(rng) % 2000);
	CHECK(kill(pid, SIGKILL) == 0);
	t_expect_killed(pid);
}

static void test_tx_random_kills(void)
{
	char path[4096];
	struct tx_progress *pr;
	uint64_t rng = 0xfeedbeef;
	unsigned int rounds;
	double t0 = t_now();
	size_t base;

	snprintf(path, sizeof(path), "%s", t_region(256 * KIB));
	base = make_txheap(path);
	pr = mmap(NULL, sizeof(*pr), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(pr != MAP_FAILED);
	/* the same heap throughout: each round starts from the last crash */
	for (rounds = 0; rounds < 300 && (rounds < 40 || t_now() - t0 < 6);
	     rounds++) {
		run_and_kill(path, pr, &rng, true, 1 + t_rand(&rng) % 20);
		t_open(path);
		check_txroot(base);
		/* what a commit returned for is there */
		CHECK(((struct txroot *)scm_root())->commits >= pr->committed);
		CHECK(scm_close() == 0);
	}
	t_note("%u rounds in %.1f s", rounds, t_now() - t0);
	munmap(pr, sizeof(*pr));
}

/*
 * Host crashes, simulated: the child keeps in a shadow file what its
 * msyncs made durable (scm_test_synced); after the kill, each page of
 * the region that differs from the shadow is taken at random from one
 * or the other (a page the kernel may or may not have written back).
 */
static int shadow_fd = -1;

static void shadow_synced(const void *base, uint64_t off, uint64_t len)
{
	if (pwrite(shadow_fd, (const char *)base + off, len, off) !=
	    (ssize_t)len)
		_exit(9);
}

static void __attribute__((noreturn)) shadowed_workload(const char *path,
							struct tx_progress *pr,
							uint64_t rng)
{
	scm_test_synced = shadow_synced;
	tx_workload(path, pr, rng, false);
}

static void torn_image(const char *current, const char *shadow,
		       const char *out, uint64_t *rng)
{
	char a[4096], b[4096];
	int fa = open(current, O_RDONLY), fb = open(shadow, O_RDONLY);
	int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;
	off_t off;

	CHECK(fa >= 0 && fb >= 0 && fo >= 0);
	for (off = 0; (n = pread(fa, a, sizeof(a), off)) > 0; off += n) {
		CHECK(pread(fb, b, n, off) == n);
		CHECK(pwrite(fo, t_rand(rng) & 1 ? a : b, n, off) == n);
	}
	CHECK(n == 0);
	close(fa);
	close(fb);
	close(fo);
}

static void test_tx_host_crashes(void)
{
	char path[4096], shadow[4096], torn[4096];
	struct tx_progress *pr;
	uint64_t rng = 0xabcdef12345ULL;
	unsigned int rounds;
	double t0 = t_now();
	size_t base;
	pid_t pid;

	snprintf(path, sizeof(path), "%s", t_region(256 * KIB));
	snprintf(shadow, sizeof(shadow), "%s", t_path("shadow"));
	snprintf(torn, sizeof(torn), "%s", t_path("torn"));
	base = make_txheap(path);
	pr = mmap(NULL, sizeof(*pr), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(pr != MAP_FAILED);
	for (rounds = 0; rounds < 200 && (rounds < 30 || t_now() - t0 < 5);
	     rounds++) {
		t_copy_file(path, shadow);
		shadow_fd = open(shadow, O_WRONLY);
		CHECK(shadow_fd >= 0);
		pr->ops = 0;
		pr->committed = 0;
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			shadowed_workload(path, pr, t_rand(&rng));
		close(shadow_fd);
		while (__atomic_load_n(&pr->ops, __ATOMIC_ACQUIRE) <
		       1 + t_rand(&rng) % 10)
			usleep(50);
		usleep(t_rand(&rng) % 2000);
		CHECK(kill(pid, SIGKILL) == 0);
		t_expect_killed(pid);

		torn_image(path, shadow, torn, &rng);
		t_open(torn);
		check_txroot(base);
		if (((struct txroot *)scm_root())->commits < pr->committed)
			t_note("a committed transaction lost: %llu < %llu",
			       (unsigned long long)
			       ((struct txroot *)scm_root())->commits,
			       (unsigned long long)pr->committed);
		CHECK(((struct txroot *)scm_root())->commits >= pr->committed);
		CHECK(scm_close() == 0);
		/* go on from the torn state, as the host would */
		t_copy_file(torn, path);
	}
	t_note("%u rounds in %.1f s", rounds, t_now() - t0);
	munmap(pr, sizeof(*pr));
}

const struct scm_test tx_tests[] = {
	{ "scmalloc_into/scmfree_from publish and refuse bad input",
	  test_alloc_into },
	{ "a kill at each step of scmalloc_into/scmfree_from: done or not",
	  test_alloc_into_crash },
	{ "transactions: abort restores, commit keeps, allocs and frees follow",
	  test_tx_basic },
	{ "transactions: EPERM, EBUSY, EINVAL, ENOSPC change nothing",
	  test_tx_errors },
	{ "a kill at each step of a transaction and of its recovery",
	  test_tx_crash_points },
	{ "kill -9 during random transactions: none half applied, no leak",
	  test_tx_random_kills },
	{ "simulated host crashes during random transactions",
	  test_tx_host_crashes },
	{ NULL, NULL },
};
