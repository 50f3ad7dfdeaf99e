/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libscm unit tests: a small harness.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Every test runs in a child process of its own (libscm keeps one region
 * per process, and a test that crashes must not take the others along),
 * with a time limit. CHECK() ends the test as failed with the condition,
 * the place and errno. The runner prints "PASS: name" or "FAIL: name:
 * why" per test and a last line "N passed, N failed".
 */
#ifndef SCM_TEST_HARNESS_H
#define SCM_TEST_HARNESS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct scm_test {
	const char *name;
	void (*run)(void);
};

/* Each test file defines one table, ended by { NULL, NULL }. */
extern const struct scm_test alloc_tests[];
extern const struct scm_test sync_tests[];
extern const struct scm_test crash_tests[];
extern const struct scm_test thread_tests[];
extern const struct scm_test lock_tests[];
extern const struct scm_test tx_tests[];

void t_fail_at(const char *file, int line, const char *what, int err)
	__attribute__((noreturn));
void t_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond)							\
	do {								\
		int t_errno_ = errno;					\
		if (!(cond))						\
			t_fail_at(__FILE__, __LINE__, #cond, t_errno_);	\
	} while (0)

/* CHECK that an expression failed with the errno @e. */
#define CHECK_ERRNO(cond, e)						\
	do {								\
		errno = 0;						\
		CHECK(cond);						\
		CHECK(errno == (e));					\
	} while (0)

/*
 * A new file of @size bytes (zero) in the run's scratch folder; returns
 * its path (valid until the next call from the same test).
 */
const char *t_region(size_t size);
/* Path of a second scratch file name (not created). */
const char *t_path(const char *name);
/* Open @path with libscm or fail the test. */
void t_open(const char *path);
/* 64-bit FNV-1a of a file's contents. */
uint64_t t_file_hash(const char *path);
/* A fill pattern: byte i of a block seeded @seed. */
static inline unsigned char t_byte(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + i;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return (unsigned char)(x >> 56);
}
void t_fill(void *p, size_t len, uint64_t seed);
int t_verify(const void *p, size_t len, uint64_t seed);
/* Small, fast PRNG (xorshift64*). */
uint64_t t_rand(uint64_t *state);
/* Copy the file @from to @to (created or truncated). */
void t_copy_file(const char *from, const char *to);
/* Wait for @pid and check that it died of SIGKILL. */
void t_expect_killed(pid_t pid);
/* Seconds since some fixed point (CLOCK_MONOTONIC). */
double t_now(void);

#endif /* SCM_TEST_HARNESS_H */
