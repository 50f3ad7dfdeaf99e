// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libscm unit tests: the lock between processes.
 *
 * Copyright (c) 2026 The vssd authors.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "scm.h"
#include "scm_internal.h"

#define KIB 1024
#define WORDS 8

struct shared {
	uint64_t counter;
	uint64_t rec[WORDS];
};

/* A heap whose root is a zeroed struct shared; returns its path. */
static const char *make_shared(void)
{
	const char *path = t_region(256 * KIB);
	struct shared *s;

	t_open(path);
	s = scmalloc(sizeof(*s));
	CHECK(s != NULL);
	memset(s, 0, sizeof(*s));
	CHECK(scm_set_root(s) == 0);
	CHECK(scm_close() == 0);
	return path;
}

static void wait_ok(pid_t pid)
{
	int status;

	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		t_note("child %d: status %#x", (int)pid, status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#define PROCS 3
#define LOCKED_INCS 3000
#define TX_INCS 200

/* Increment the counter racily (read, yield, write) under the lock. */
static int incrementer(const char *path)
{
	struct shared *s;
	uint64_t v;
	int i;

	if (scm_open(path))
		return 2;
	s = scm_root();
	for (i = 0; i < LOCKED_INCS; i++) {
		if (scm_lock())
			return 3;
		v = s->counter;
		if (i % 8 == 0)
			sched_yield();
		s->counter = v + 1;
		if (scm_unlock())
			return 4;
	}
	/* a transaction excludes the other processes too */
	for (i = 0; i < TX_INCS; i++) {
		if (scm_tx_begin() || scm_tx_add(s, sizeof(*s)))
			return 5;
		v = s->counter;
		sched_yield();
		s->counter = v + 1;
		if (scm_tx_commit())
			return 6;
	}
	return scm_close() ? 7 : 0;
}

static void test_lock_counter(void)
{
	const char *path = make_shared();
	pid_t pid[PROCS];
	struct shared *s;
	int i;

	for (i = 0; i < PROCS; i++) {
		pid[i] = fork();
		CHECK(pid[i] >= 0);
		if (pid[i] == 0)
			_exit(incrementer(path));
	}
	for (i = 0; i < PROCS; i++)
		wait_ok(pid[i]);
	t_open(path);
	s = scm_root();
	if (s->counter != PROCS * (LOCKED_INCS + TX_INCS))
		t_note("counter %llu, want %d", (unsigned long long)s->counter,
		       PROCS * (LOCKED_INCS + TX_INCS));
	CHECK(s->counter == PROCS * (LOCKED_INCS + TX_INCS));
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
}

static pid_t victim;

static void *kill_later(void *arg)
{
	(void)arg;
	usleep(300 * 1000);
	kill(victim, SIGKILL);	/* not reaped: a zombie while we wait */
	return NULL;
}

/*
 * A holder killed in the middle of a transaction: the waiter waits while
 * it lives, then takes the lock over and finds the transaction rolled
 * back.
 */
static void test_lock_dead_holder(void)
{
	const char *path = make_shared();
	struct shared *s;
	pthread_t tid;
	int fds[2], w;
	double t0;
	char c;

	CHECK(pipe(fds) == 0);
	t_open(path);
	s = scm_root();
	for (w = 0; w < WORDS; w++)
		s->rec[w] = 7;
	victim = fork();
	CHECK(victim >= 0);
	if (victim == 0) {
		/* the parent's mapping, a process of its own */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (scm_tx_begin() || scm_tx_add(s->rec, sizeof(s->rec)))
			_exit(2);
		for (w = 0; w < WORDS / 2; w++)
			s->rec[w] = 8;
		if (write(fds[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	CHECK(read(fds[0], &c, 1) == 1);
	CHECK(s->rec[0] == 8 && s->rec[WORDS - 1] == 7);
	CHECK(pthread_create(&tid, NULL, kill_later, NULL) == 0);
	t0 = t_now();
	CHECK(scm_lock() == 0);
	t_note("took the lock over after %.2f s", t_now() - t0);
	CHECK(t_now() - t0 > 0.25);	/* waited for the live holder */
	CHECK(t_now() - t0 < 5);
	for (w = 0; w < WORDS; w++)
		CHECK(s->rec[w] == 7);
	CHECK(scm_check() == 0);
	CHECK(scm_unlock() == 0);
	CHECK(pthread_join(tid, NULL) == 0);
	t_expect_killed(victim);
	CHECK(scm_close() == 0);
	close(fds[0]);
	close(fds[1]);
}

/* scm_lock() in a child, which must still be waiting after 300 ms. */
static pid_t lock_in_child(void)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(20);
		_exit(scm_lock() || scm_unlock() ? 1 : 0);
	}
	return pid;
}

static void check_waiting(pid_t pid)
{
	int status;

	usleep(300 * 1000);
	CHECK(waitpid(pid, &status, WNOHANG) == 0);
}

/* Words a crash or a reused pid may leave: which are taken over. */
static void test_lock_stale_words(void)
{
	struct scm_lock_line *l;
	uint64_t parent;
	double t0;
	pid_t pid;

	t_open(make_shared());
	l = &((struct scm_heap_header *)scm_base())->lock;

	/* a live process with another start time (a reused pid, or a
	 * previous boot): stale */
	parent = scm_owner_word(getppid());
	CHECK(scm_owner_alive(parent));
	l->owner = parent ^ (1ULL << 40);
	CHECK(!scm_owner_alive(l->owner));
	t0 = t_now();
	CHECK(scm_lock() == 0 && scm_unlock() == 0);
	CHECK(t_now() - t0 < 2);
	CHECK(l->owner == 0);

	/* a process that has exited and been reaped */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	wait_ok(pid);
	l->owner = scm_owner_word(pid);
	CHECK(!scm_owner_alive(l->owner));
	CHECK(scm_lock() == 0 && scm_unlock() == 0);

	/* our own word while we hold nothing (left before an exec) */
	l->owner = scm_owner_word(getpid());
	CHECK(scm_lock() == 0 && scm_unlock() == 0);

	/* a live holder: waited for, until it lets go */
	l->owner = parent;
	pid = lock_in_child();
	check_waiting(pid);
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELEASE);
	wait_ok(pid);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
}

/* fork(): the child holds neither the parent's lock nor its transaction. */
static void test_lock_fork(void)
{
	struct shared *s;
	pid_t pid;

	t_open(make_shared());
	s = scm_root();

	CHECK(scm_lock() == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(20);
		if (scm_unlock() != -1 || errno != EPERM)
			_exit(2);
		if (scm_tx_commit() != -1 || errno != EPERM)
			_exit(3);
		/* waits for the parent like any other process */
		if (scm_lock())
			_exit(4);
		if (s->counter != 5)
			_exit(5);
		s->counter++;
		_exit(scm_unlock() ? 6 : 0);
	}
	check_waiting(pid);
	s->counter = 5;
	CHECK(scm_unlock() == 0);
	wait_ok(pid);
	CHECK(s->counter == 6);

	/* in the middle of a transaction */
	CHECK(scm_tx_begin() == 0);
	CHECK(scm_tx_add(s, sizeof(*s)) == 0);
	s->counter = 10;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(20);
		if (scm_tx_add(s, 8) != -1 || errno != EPERM)
			_exit(2);
		if (scm_tx_abort() != -1 || errno != EPERM)
			_exit(3);
		if (scm_unlock() != -1 || errno != EPERM)
			_exit(4);
		/* its own transaction: once the parent's has ended */
		if (scm_tx_begin() || s->counter != 11 ||
		    scm_tx_add(s, sizeof(*s)))
			_exit(5);
		s->counter = 12;
		_exit(scm_tx_commit() ? 6 : 0);
	}
	check_waiting(pid);
	s->counter = 11;
	CHECK(scm_tx_commit() == 0);
	wait_ok(pid);
	CHECK(s->counter == 12);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
}

static void *unlock_other(void *arg)
{
	(void)arg;
	return (void *)(long)(scm_unlock() == -1 && errno == EPERM);
}

static void test_lock_errors(void)
{
	pthread_t tid;
	void *ok;

	CHECK_ERRNO(scm_unlock() == -1, EPERM);		/* nothing open */
	t_open(make_shared());
	CHECK_ERRNO(scm_unlock() == -1, EPERM);
	CHECK(scm_lock() == 0);
	CHECK_ERRNO(scm_lock() == -1, EDEADLK);
	CHECK_ERRNO(scm_close() == -1, EBUSY);
	CHECK(pthread_create(&tid, NULL, unlock_other, NULL) == 0);
	CHECK(pthread_join(tid, &ok) == 0);
	CHECK(ok == (void *)1);
	/* a transaction under scm_lock() keeps it after the commit */
	CHECK(scm_tx_begin() == 0);
	CHECK_ERRNO(scm_unlock() == -1, EBUSY);
	CHECK(scm_tx_commit() == 0);
	CHECK(scm_region.locked);
	CHECK(scm_unlock() == 0);
	CHECK(!scm_region.locked);
	CHECK_ERRNO(scm_unlock() == -1, EPERM);
	/* a transaction alone takes it and gives it back */
	CHECK(scm_tx_begin() == 0);
	CHECK(scm_region.locked);
	CHECK(scm_tx_abort() == 0);
	CHECK(!scm_region.locked);
	CHECK(((struct scm_heap_header *)scm_base())->lock.owner == 0);
	CHECK(scm_close() == 0);
}

const struct scm_test lock_tests[] = {
	{ "processes incrementing a counter under scm_lock and in transactions",
	  test_lock_counter },
	{ "a lock holder killed in a transaction is waited for, then rolled back",
	  test_lock_dead_holder },
	{ "stale lock words are taken over, a live holder's is not",
	  test_lock_stale_words },
	{ "a forked child holds neither the lock nor the transaction",
	  test_lock_fork },
	{ "scm_lock/scm_unlock: EDEADLK, EPERM, EBUSY", test_lock_errors },
	{ NULL, NULL },
};
