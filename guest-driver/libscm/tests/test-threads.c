// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libscm unit tests: threads.
 *
 * Copyright (c) 2026 The vssd authors.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "scm.h"

#define MIB (1024 * 1024)
#define THREADS 8
#define OPS 6000
#define LIVE 64

struct tblock {
	char *p;
	size_t size;
	uint64_t seed;
};

struct worker {
	unsigned int id;
	struct tblock live[LIVE];
	unsigned int failures;
	unsigned int allocs;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x9876543210ULL + w->id * 1000003ULL;
	unsigned int op;

	for (op = 0; op < OPS; op++) {
		struct tblock *b = &w->live[t_rand(&rng) % LIVE];

		if (b->p) {
			if (!t_verify(b->p, b->size, b->seed))
				w->failures++;
			scmfree(b->p);
			b->p = NULL;
			continue;
		}
		b->size = 1 + t_rand(&rng) % 512;
		if (t_rand(&rng) % 16 == 0)
			b->size = 4096 + t_rand(&rng) % 16384;
		b->p = scmalloc(b->size);
		if (!b->p) {
			if (errno != ENOMEM)
				w->failures++;
			continue;
		}
		if ((uintptr_t)b->p % LIBSCM_ALIGN)
			w->failures++;
		b->seed = ((uint64_t)w->id << 32) | op;
		t_fill(b->p, b->size, b->seed);
		w->allocs++;
		if (op % 64 == 0 && scmsync(b->p, b->size))
			w->failures++;
	}
	return NULL;
}

static int cmp_block(const void *a, const void *b)
{
	const struct tblock *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

static void test_threads(void)
{
	static struct worker w[THREADS];
	static struct tblock all[THREADS * LIVE];
	pthread_t tid[THREADS];
	size_t meta, sum = 0, n = 0, i;
	unsigned int t, allocs = 0;

	t_open(t_region(8 * MIB));
	meta = scm_used();
	for (t = 0; t < THREADS; t++) {
		w[t].id = t;
		CHECK(pthread_create(&tid[t], NULL, worker_run, &w[t]) == 0);
	}
	for (t = 0; t < THREADS; t++)
		CHECK(pthread_join(tid[t], NULL) == 0);
	for (t = 0; t < THREADS; t++) {
		CHECK(w[t].failures == 0);
		allocs += w[t].allocs;
		for (i = 0; i < LIVE; i++)
			if (w[t].live[i].p)
				all[n++] = w[t].live[i];
	}
	CHECK(allocs > THREADS * OPS / 3);
	qsort(all, n, sizeof(all[0]), cmp_block);
	for (i = 0; i < n; i++) {
		size_t usable = scm_usable_size(all[i].p);

		CHECK(usable >= all[i].size);
		CHECK(t_verify(all[i].p, all[i].size, all[i].seed));
		if (i > 0)
			CHECK(all[i - 1].p + scm_usable_size(all[i - 1].p) <=
			      all[i].p);
		sum += usable;
	}
	CHECK(scm_check() == 0);
	CHECK(scm_used() == meta + sum);
	CHECK(scm_close() == 0);
}

static volatile int stop_spinning;

static void *spin_alloc(void *arg)
{
	(void)arg;
	while (!stop_spinning) {
		void *p = scmalloc(100);

		if (p)
			scmfree(p);
	}
	return NULL;
}

/* A fork() while another thread holds the lock does not deadlock the child. */
static void test_fork(void)
{
	pthread_t tid;
	unsigned int i;
	int status;
	pid_t pid;

	t_open(t_region(1 * MIB));
	CHECK(pthread_create(&tid, NULL, spin_alloc, NULL) == 0);
	for (i = 0; i < 50; i++) {
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			/* takes the lock; the heap itself is the parent's */
			alarm(10);
			_exit(scm_used() > 0 ? 0 : 1);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	stop_spinning = 1;
	CHECK(pthread_join(tid, NULL) == 0);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
}

const struct scm_test thread_tests[] = {
	{ "8 threads allocate and free without overlaps", test_threads },
	{ "fork while another thread allocates", test_fork },
	{ NULL, NULL },
};
