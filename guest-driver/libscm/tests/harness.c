// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libscm unit tests: the runner (see harness.h).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 *   test-libscm [NAME-SUBSTRING...]
 *
 * Scratch files go to a folder under $TMPDIR (or /tmp), removed at the
 * end. $SCM_TEST_TIMEOUT (seconds, default 120) limits each test.
 */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "scm.h"

static char scratch[4096];
static char path_buf[4096 + 64];
static unsigned int file_seq;
static const char *current;

void t_fail_at(const char *file, int line, const char *what, int err)
{
	fprintf(stderr, "  %s:%d: check failed: %s (errno %d: %s)\n", file,
		line, what, err, strerror(err));
	fflush(stderr);
	_exit(1);
}

void t_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "  %s: ", current);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *t_path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", scratch, name);
	return path_buf;
}

const char *t_region(size_t size)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "region-%d-%u", (int)getpid(), file_seq++);
	t_path(name);
	fd = open(path_buf, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, size) == 0);
	close(fd);
	return path_buf;
}

void t_open(const char *path)
{
	CHECK(scm_open(path) == 0);
}

uint64_t t_file_hash(const char *path)
{
	unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	ssize_t n, i;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	CHECK(n == 0);
	close(fd);
	return h;
}

void t_fill(void *p, size_t len, uint64_t seed)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = t_byte(seed, i);
}

int t_verify(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != t_byte(seed, i))
			return 0;
	return 1;
}

uint64_t t_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void t_copy_file(const char *from, const char *to)
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

void t_expect_killed(pid_t pid)
{
	int status;

	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status))
		t_note("the child exited (%d) instead of being killed",
		       WEXITSTATUS(status));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Run one test in a child; 1 when it passed. */
static int run_one(const struct scm_test *t, unsigned int timeout)
{
	int status;
	pid_t pid;

	current = t->name;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		printf("FAIL: %s: fork: %s\n", t->name, strerror(errno));
		return 0;
	}
	if (pid == 0) {
		/* a group of its own, so that helpers it forks go with it */
		setpgid(0, 0);
		alarm(timeout);
		t->run();
		fflush(stderr);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		printf("FAIL: %s: waitpid: %s\n", t->name, strerror(errno));
		return 0;
	}
	kill(-pid, SIGKILL);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("PASS: %s\n", t->name);
		return 1;
	}
	if (WIFSIGNALED(status))
		printf("FAIL: %s: %s\n", t->name,
		       WTERMSIG(status) == SIGALRM ? "timed out" :
		       strsignal(WTERMSIG(status)));
	else
		printf("FAIL: %s: a check failed\n", t->name);
	return 0;
}

static int selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const struct scm_test *groups[] = {
		alloc_tests, sync_tests, crash_tests, thread_tests,
		lock_tests, tx_tests,
	};
	const char *tmp = getenv("TMPDIR");
	const char *tv = getenv("SCM_TEST_TIMEOUT");
	unsigned int timeout = tv && atoi(tv) > 0 ? (unsigned int)atoi(tv) : 120;
	unsigned int passed = 0, failed = 0, g;
	const struct scm_test *t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(scratch, sizeof(scratch), "%s/libscm-test.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	unsetenv("SCM_DEVICE");
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (t = groups[g]; t->name; t++) {
			if (!selected(t->name, argc, argv))
				continue;
			if (run_one(t, timeout))
				passed++;
			else
				failed++;
		}
	nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
