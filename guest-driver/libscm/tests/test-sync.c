// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libscm unit tests: scmsync/scm_flush ranges, the write-back
 * instructions, the shared library.
 *
 * Copyright (c) 2026 The vssd authors.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "harness.h"
#include "scm.h"
#include "scm_internal.h"

#define KIB 1024

static void test_sync_ranges(void)
{
	char *base, *end, *p;
	size_t size = 0;

	CHECK_ERRNO(scmsync(&size, 1) == -1, EINVAL);	/* nothing open */
	CHECK_ERRNO(scm_flush(&size, 1) == -1, EINVAL);
	t_open(t_region(256 * KIB));
	base = scm_base();
	size = scm_size();
	end = base + size;
	p = scmalloc(1000);
	CHECK(p != NULL);

	CHECK_ERRNO(scmsync(NULL, 1) == -1, EINVAL);
	CHECK_ERRNO(scmsync(NULL, 0) == -1, EINVAL);
	CHECK_ERRNO(scmsync(base - 1, 2) == -1, EINVAL);
	CHECK_ERRNO(scmsync(base - 4096, 4096) == -1, EINVAL);
	CHECK_ERRNO(scmsync(end, 1) == -1, EINVAL);
	CHECK_ERRNO(scmsync(end + 1, 0) == -1, EINVAL);
	CHECK_ERRNO(scmsync(end - 10, 11) == -1, EINVAL);
	CHECK_ERRNO(scmsync(base, size + 1) == -1, EINVAL);
	CHECK_ERRNO(scmsync(p, SIZE_MAX) == -1, EINVAL);
	CHECK_ERRNO(scmsync(p, SIZE_MAX - (uintptr_t)p + 1) == -1, EINVAL);
	CHECK_ERRNO(scmsync(&size, sizeof(size)) == -1, EINVAL);
	CHECK_ERRNO(scm_flush(end - 10, 11) == -1, EINVAL);
	CHECK_ERRNO(scm_flush(NULL, 8) == -1, EINVAL);

	CHECK(scmsync(p, 1000) == 0);
	CHECK(scmsync(base, size) == 0);
	CHECK(scmsync(end, 0) == 0);
	CHECK(scmsync(end - 1, 1) == 0);
	CHECK(scmsync(p + 3, 5) == 0);
	CHECK(scm_flush(base, size) == 0);
	CHECK(scm_flush(p + 1, 63) == 0);
	scm_close();
	CHECK_ERRNO(scmsync(p, 1000) == -1, EINVAL);	/* closed */
}

/* Data written and synced is in the file, under every instruction. */
static void test_flush_methods(void)
{
	static const struct {
		enum scm_flush_method m;
		const char *name;
	} methods[] = {
		{ SCM_FLUSH_CLWB, "clwb" },
		{ SCM_FLUSH_CLFLUSHOPT, "clflushopt" },
		{ SCM_FLUSH_CLFLUSH, "clflush" },
		{ SCM_FLUSH_FENCE_ONLY, "fence only" },
	};
	const char *path = t_region(256 * KIB);
	unsigned char *p, buf[5000];
	unsigned int i, tried = 0;
	int fd;

	t_open(path);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(scm_flush_method() != SCM_FLUSH_AUTO);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (scm_test_flush_method(methods[i].m)) {
			t_note("the CPU has no %s", methods[i].name);
			continue;
		}
		tried++;
		p = scmalloc(sizeof(buf));
		CHECK(p != NULL);
		t_fill(p, sizeof(buf), i + 1);
		CHECK(scmsync(p + 1, sizeof(buf) - 1) == 0);
		CHECK(scm_flush(p, 1) == 0);
		CHECK(pread(fd, buf, sizeof(buf), scm_offset(p)) ==
		      (ssize_t)sizeof(buf));
		CHECK(t_verify(buf, sizeof(buf), i + 1));
	}
	CHECK(tried >= 2);	/* at least CLFLUSH and the fence */
	CHECK(scm_test_flush_method(SCM_FLUSH_AUTO) == 0);
	close(fd);
	scm_close();
}

/* scmsyncv: every range checked first; scattered data reaches the file. */
static void test_syncv(void)
{
	static struct iovec many[LIBSCM_SYNCV_MAX + 1];
	const char *path = t_region(256 * KIB);
	unsigned char *a, *b, *c, buf[3000];
	uint64_t off;
	struct iovec iov[3];
	size_t size;
	char *base;
	int fd, i;

	CHECK_ERRNO(scmsyncv(iov, 1) == -1, EINVAL);	/* nothing open */
	t_open(path);
	base = scm_base();
	size = scm_size();
	a = scmalloc(sizeof(buf));
	b = scmalloc(sizeof(buf));
	CHECK(a != NULL && b != NULL);
	t_fill(a, sizeof(buf), 11);
	t_fill(b, sizeof(buf), 12);

	iov[0] = (struct iovec){ a, sizeof(buf) };
	iov[1] = (struct iovec){ base + size - 10, 11 };	/* past the end */
	CHECK_ERRNO(scmsyncv(iov, 2) == -1, EINVAL);
	iov[1] = (struct iovec){ NULL, 1 };
	CHECK_ERRNO(scmsyncv(iov, 2) == -1, EINVAL);
	CHECK_ERRNO(scmsyncv(iov, 0) == -1, EINVAL);
	CHECK_ERRNO(scmsyncv(iov, -1) == -1, EINVAL);
	CHECK_ERRNO(scmsyncv(many, LIBSCM_SYNCV_MAX + 1) == -1, EINVAL);

	iov[0] = (struct iovec){ b, sizeof(buf) };
	iov[1] = (struct iovec){ a + 1, sizeof(buf) - 1 };
	iov[2] = (struct iovec){ base + size, 0 };
	CHECK(scmsyncv(iov, 3) == 0);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(pread(fd, buf, sizeof(buf), scm_offset(a)) == (ssize_t)sizeof(buf));
	CHECK(t_verify(buf, sizeof(buf), 11));
	CHECK(pread(fd, buf, sizeof(buf), scm_offset(b)) == (ssize_t)sizeof(buf));
	CHECK(t_verify(buf, sizeof(buf), 12));
	close(fd);

	/*
	 * The most ranges, with heap metadata to flush as well: the device
	 * takes at most CSCM_SYNCV_MAX ranges a request (the test build
	 * refuses more on a file too), so the metadata needs a request of
	 * its own, and must still reach the file.
	 */
	for (i = 0; i < LIBSCM_SYNCV_MAX; i++) {
		a[i % sizeof(buf)] = (unsigned char)i;
		many[i] = (struct iovec){ a + i % sizeof(buf), 1 };
	}
	c = scmalloc(100);
	CHECK(c != NULL);
	scm_test_syncv_max = 0;
	CHECK(scmsyncv(many, LIBSCM_SYNCV_MAX) == 0);
	CHECK(scm_test_syncv_max == LIBSCM_SYNCV_MAX);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(pread(fd, buf, sizeof(buf), scm_offset(a)) == (ssize_t)sizeof(buf));
	CHECK(memcmp(buf, a, sizeof(buf)) == 0);
	/* the allocation made before it is intact after a reopen */
	close(fd);
	off = scm_offset(c);
	scm_close();
	t_open(path);
	CHECK(scm_usable_size(scm_pointer(off)) == 128);
	scm_close();
	CHECK_ERRNO(scmsyncv(iov, 1) == -1, EINVAL);	/* closed */
}

/* The public API, and nothing else, is exported from libscm.so. */
static void test_shared_library(void)
{
	static const char *const api[] = {
		"scm_open", "scm_close", "scmalloc", "scmfree",
		"scm_usable_size", "scmsync", "scmsyncv", "scm_flush", "scm_root",
		"scm_set_root", "scm_offset", "scm_pointer", "scm_base",
		"scm_size", "scm_used", "scm_name", "scm_check",
		"scmalloc_into", "scmfree_from", "scm_lock", "scm_unlock",
		"scm_tx_begin", "scm_tx_add", "scm_tx_commit", "scm_tx_abort",
	};
	static const char *const internal[] = {
		"scm_heap_alloc", "scm_heap_open", "scm_region", "scm_mutex",
		"scm_test_hook", "scm_flush_range", "scm_host_sync",
		"scm_test_syncv_max", "scm_test_flush_method",
		"scm_region_acquire", "scm_tx_start",
	};
	const char *so = getenv("LIBSCM_SO");
	int (*so_open)(const char *);
	void *(*so_alloc)(size_t);
	int (*so_sync)(const void *, size_t);
	int (*so_close)(void);
	unsigned int i;
	void *lib, *p;

	CHECK(so != NULL && *so);
	lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		t_note("dlopen: %s", dlerror());
	CHECK(lib != NULL);
	for (i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
		if (!dlsym(lib, api[i]))
			t_note("%s is not exported", api[i]);
		CHECK(dlsym(lib, api[i]) != NULL);
	}
	for (i = 0; i < sizeof(internal) / sizeof(internal[0]); i++) {
		if (dlsym(lib, internal[i]))
			t_note("%s is exported", internal[i]);
		CHECK(dlsym(lib, internal[i]) == NULL);
	}
	*(void **)&so_open = dlsym(lib, "scm_open");
	*(void **)&so_alloc = dlsym(lib, "scmalloc");
	*(void **)&so_sync = dlsym(lib, "scmsync");
	*(void **)&so_close = dlsym(lib, "scm_close");
	CHECK(so_open(t_region(64 * KIB)) == 0);
	p = so_alloc(100);
	CHECK(p != NULL && (uintptr_t)p % 64 == 0);
	CHECK(so_sync(p, 100) == 0);
	CHECK(so_close() == 0);
	dlclose(lib);
}

const struct scm_test sync_tests[] = {
	{ "scmsync and scm_flush refuse bad ranges with EINVAL",
	  test_sync_ranges },
	{ "scmsync with each write-back instruction the CPU has",
	  test_flush_methods },
	{ "scmsyncv checks every range and makes scattered ranges durable",
	  test_syncv },
	{ "libscm.so exports the API and nothing else", test_shared_library },
	{ NULL, NULL },
};
