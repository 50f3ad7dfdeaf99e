// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libscm unit tests: crashes in the middle of heap updates.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * A child process opens a heap and is killed (SIGKILL) in the middle of
 * scmalloc()/scmfree(): at each step of the update protocol, through the
 * library's test hook, and at random moments of a random workload. The
 * heap is then reopened: it must pass scm_check(), keep every block the
 * child had finished allocating (contents intact), and account for every
 * unit: an interrupted allocation is undone unless it had completed, an
 * interrupted free is completed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
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

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	CHECK(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		CHECK(write(out, buf, n) == n);
	CHECK(n == 0);
	close(in);
	close(out);
}

/* Wait for @pid and check it died of SIGKILL. */
static void expect_killed(pid_t pid)
{
	int status;

	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status))
		t_note("the child exited (%d) instead of crashing",
		       WEXITSTATUS(status));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* --- a crash at each step --- */

static enum scm_hook_point crash_point;
static int crash_words;

static void crash_hook(enum scm_hook_point point)
{
	if (point != crash_point)
		return;
	if (point == SCM_HOOK_MAP_WORD && --crash_words > 0)
		return;
	raise(SIGKILL);
}

#define BASE_BLOCKS 24

struct base_heap {
	char path[4096];
	uint64_t off[BASE_BLOCKS];
	size_t size[BASE_BLOCKS];
	bool live[BASE_BLOCKS];
	size_t used;
	/* the block the free cases free */
	unsigned int victim;
};

/* A heap with holes, and one block of @victim_size to free. */
static void make_base(struct base_heap *b, size_t victim_size)
{
	uint64_t rng = 42;
	unsigned int i;
	void *p;

	snprintf(b->path, sizeof(b->path), "%s", t_region(512 * KIB));
	t_open(b->path);
	for (i = 0; i < BASE_BLOCKS; i++) {
		b->size[i] = 1 + t_rand(&rng) % 3000;
		if (i == BASE_BLOCKS / 2)
			b->size[i] = victim_size;
		p = scmalloc(b->size[i]);
		CHECK(p != NULL);
		t_fill(p, b->size[i], i);
		b->off[i] = scm_offset(p);
		b->live[i] = true;
	}
	for (i = 1; i < BASE_BLOCKS; i += 5) {
		scmfree(scm_pointer(b->off[i]));
		b->live[i] = false;
	}
	b->victim = BASE_BLOCKS / 2;
	b->used = scm_used();
	CHECK(scm_close() == 0);
}

static void check_base(const struct base_heap *b, bool victim_freed)
{
	unsigned int i;
	void *p;

	for (i = 0; i < BASE_BLOCKS; i++) {
		if (!b->live[i])
			continue;
		p = scm_pointer(b->off[i]);
		if (i == b->victim && victim_freed) {
			CHECK_ERRNO(scm_usable_size(p) == 0, EINVAL);
			continue;
		}
		CHECK(scm_usable_size(p) >= b->size[i]);
		CHECK(t_verify(p, b->size[i], i));
	}
}

static size_t round_unit(size_t n)
{
	return (n + LIBSCM_ALIGN - 1) / LIBSCM_ALIGN * LIBSCM_ALIGN;
}

/*
 * Kill a child at @point (the @words-th map word for SCM_HOOK_MAP_WORD)
 * of one scmalloc(@size) or of the scmfree() of the base's victim.
 */
static void crash_case(bool alloc, size_t size, enum scm_hook_point point,
		       int words)
{
	struct base_heap b;
	char path[4096];
	size_t expect;
	pid_t pid;
	void *p;

	make_base(&b, size);
	snprintf(path, sizeof(path), "%s", t_path("crash-case"));
	copy_file(b.path, path);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		t_open(path);
		crash_point = point;
		crash_words = words;
		scm_test_hook = crash_hook;
		if (alloc)
			p = scmalloc(size);
		else
			scmfree(scm_pointer(b.off[b.victim]));
		_exit(0);
	}
	expect_killed(pid);

	t_open(path);
	if (scm_check())
		t_note("%s of %zu bytes, killed at point %d/%d: heap inconsistent",
		       alloc ? "scmalloc" : "scmfree", size, point, words);
	CHECK(scm_check() == 0);
	check_base(&b, !alloc);
	if (!alloc)
		expect = b.used - round_unit(size);
	else if (point == SCM_HOOK_DONE)
		expect = b.used + round_unit(size);	/* leaked, at most */
	else
		expect = b.used;			/* undone */
	if (scm_used() != expect)
		t_note("%s of %zu bytes, killed at point %d/%d: used %zu, want %zu",
		       alloc ? "scmalloc" : "scmfree", size, point, words,
		       scm_used(), expect);
	CHECK(scm_used() == expect);
	/* and the heap goes on */
	p = scmalloc(size);
	CHECK(p != NULL);
	t_fill(p, size, 99);
	check_base(&b, !alloc);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
	t_open(path);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
}

static void test_crash_points(void)
{
	/* 100 bytes: two units in one map word; 6400: 100 units, 4+ words */
	static const size_t sizes[] = { 100, 6400 };
	unsigned int s, op;

	for (op = 0; op < 2; op++)
		for (s = 0; s < 2; s++) {
			bool alloc = op == 0;

			crash_case(alloc, sizes[s], SCM_HOOK_INTENT, 0);
			crash_case(alloc, sizes[s], SCM_HOOK_MAP_WORD, 1);
			if (sizes[s] > 2048) {
				crash_case(alloc, sizes[s], SCM_HOOK_MAP_WORD, 2);
				crash_case(alloc, sizes[s], SCM_HOOK_MAP_WORD, 3);
			}
			crash_case(alloc, sizes[s], SCM_HOOK_MAP, 0);
			crash_case(alloc, sizes[s], SCM_HOOK_DONE, 0);
		}
}

/* --- kill -9 at random moments --- */

#define SLOTS 128

enum slot_state {
	SLOT_FREE,		/* nothing */
	SLOT_ALLOCATING,	/* scmalloc(size) called, not returned */
	SLOT_ALLOCATED,		/* off known, contents being written */
	SLOT_FILLED,		/* contents = pattern(seed) */
	SLOT_FREEING,		/* scmfree() called, not returned */
};

struct slot {
	uint64_t off, size, seed;
	int state;
};

struct journal {
	struct slot slot[SLOTS];
	uint64_t ops;
};

static void set_state(struct slot *s, int state)
{
	__atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
}

static void __attribute__((noreturn)) random_workload(const char *path,
						      struct journal *j,
						      uint64_t rng)
{
	struct slot *s;
	void *p;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (scm_open(path))
		_exit(2);
	for (;;) {
		s = &j->slot[t_rand(&rng) % SLOTS];
		if (s->state == SLOT_FREE) {
			s->size = 1 + t_rand(&rng) % 2000;
			if (t_rand(&rng) % 16 == 0)
				s->size = 4096 + t_rand(&rng) % 30000;
			set_state(s, SLOT_ALLOCATING);
			p = scmalloc(s->size);
			if (!p) {
				if (errno != ENOMEM)
					_exit(3);
				set_state(s, SLOT_FREE);
				__atomic_store_n(&j->ops, j->ops + 1,
						 __ATOMIC_RELEASE);
				continue;
			}
			s->off = scm_offset(p);
			s->seed = j->ops;
			set_state(s, SLOT_ALLOCATED);
			t_fill(p, s->size, s->seed);
			if (t_rand(&rng) % 8 == 0 && scmsync(p, s->size))
				_exit(4);
			set_state(s, SLOT_FILLED);
		} else {
			set_state(s, SLOT_FREEING);
			scmfree(scm_pointer(s->off));
			set_state(s, SLOT_FREE);
		}
		__atomic_store_n(&j->ops, j->ops + 1, __ATOMIC_RELEASE);
	}
}

static void random_round(unsigned int round)
{
	const char *path = t_region(256 * KIB);
	uint64_t rng = 0x1234567 + round * 7919, target, known = 0, pending = 0;
	struct journal *j;
	size_t meta, n;
	unsigned int i;
	pid_t pid;
	void *p;

	t_open(path);
	meta = scm_used();
	CHECK(scm_close() == 0);
	j = mmap(NULL, sizeof(*j), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(j != MAP_FAILED);

	target = 100 + t_rand(&rng) % 3000;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		random_workload(path, j, rng);
	while (__atomic_load_n(&j->ops, __ATOMIC_ACQUIRE) < target) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			t_note("the workload ended early (status %d)", status);
			CHECK(0);
		}
		usleep(100);
	}
	/* land anywhere, including inside scmalloc()/scmfree() */
	usleep(t_rand(&rng) % 500);
	CHECK(kill(pid, SIGKILL) == 0);
	expect_killed(pid);

	t_open(path);
	CHECK(scm_check() == 0);
	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &j->slot[i];

		switch (s->state) {
		case SLOT_ALLOCATING:
			pending = round_unit(s->size);
			break;
		case SLOT_ALLOCATED:
		case SLOT_FILLED:
			p = scm_pointer(s->off);
			CHECK(scm_usable_size(p) >= s->size);
			if (s->state == SLOT_FILLED)
				CHECK(t_verify(p, s->size, s->seed));
			known += scm_usable_size(p);
			break;
		case SLOT_FREEING:
			/* either way, but whole */
			p = scm_pointer(s->off);
			if (scm_usable_size(p)) {
				CHECK(t_verify(p, s->size, s->seed));
				known += scm_usable_size(p);
			}
			break;
		}
	}
	if (scm_used() != meta + known && scm_used() != meta + known + pending)
		t_note("round %u: used %zu, blocks %llu + pending %llu + meta %zu",
		       round, scm_used(), (unsigned long long)known,
		       (unsigned long long)pending, meta);
	CHECK(scm_used() == meta + known || scm_used() == meta + known + pending);

	/* fill what is free: no live block may be handed out again */
	for (n = 0; (p = scmalloc(1 + n % 700)) != NULL; n++)
		memset(p, 0xee, 1 + n % 700);
	CHECK(errno == ENOMEM);
	for (i = 0; i < SLOTS; i++)
		if (j->slot[i].state == SLOT_FILLED)
			CHECK(t_verify(scm_pointer(j->slot[i].off),
				       j->slot[i].size, j->slot[i].seed));
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
	munmap(j, sizeof(*j));
}

static void test_random_kills(void)
{
	unsigned int round;

	for (round = 0; round < 40; round++)
		random_round(round);
}

const struct scm_test crash_tests[] = {
	{ "a crash at each step of scmalloc/scmfree leaves a consistent heap",
	  test_crash_points },
	{ "kill -9 during random allocations leaves a consistent heap",
	  test_random_kills },
	{ NULL, NULL },
};
