// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libscm unit tests: allocation, persistence, opening.
 *
 * Copyright (c) 2026 The vssd authors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "scm.h"
#include "scm_internal.h"

#define KIB 1024
#define MIB (1024 * 1024)

/* Blocks [a, a + la) and [b, b + lb) do not overlap. */
static int disjoint(const void *a, size_t la, const void *b, size_t lb)
{
	const char *pa = a, *pb = b;

	return pa + la <= pb || pb + lb <= pa;
}

static void test_alloc_free_reuse(void)
{
	size_t used0, n, i, freed;
	void *a, *b, *c, **blocks;

	t_open(t_region(1 * MIB));
	used0 = scm_used();
	CHECK(used0 > 0 && used0 < 32 * KIB);

	a = scmalloc(100);
	CHECK(a != NULL);
	CHECK(scm_usable_size(a) == 128);
	memset(a, 0xaa, 100);
	b = scmalloc(100);
	CHECK(b != NULL && b != a);
	CHECK(disjoint(a, 128, b, 128));
	CHECK(scm_used() == used0 + 256);

	/* a freed block is the first fit for the next request */
	scmfree(a);
	CHECK(scm_used() == used0 + 128);
	c = scmalloc(64);
	CHECK(c == a);
	scmfree(c);
	scmfree(b);
	CHECK(scm_used() == used0);
	CHECK(scm_check() == 0);

	/* fill the region, free every other block, fill the holes again */
	blocks = calloc(MIB / 1000, sizeof(*blocks));
	CHECK(blocks != NULL);
	for (n = 0; (blocks[n] = scmalloc(1000)) != NULL; n++)
		t_fill(blocks[n], 1000, n);
	CHECK(errno == ENOMEM);
	CHECK(n > 900);
	for (i = 0, freed = 0; i < n; i += 2, freed++)
		scmfree(blocks[i]);
	for (i = 0; i < freed; i++)
		CHECK(scmalloc(1000) != NULL);
	CHECK(scmalloc(1000) == NULL && errno == ENOMEM);
	for (i = 1; i < n; i += 2)
		CHECK(t_verify(blocks[i], 1000, i));
	CHECK(scm_check() == 0);

	/* free everything: neighbours merge into one run again */
	scm_close();
	t_open(t_region(1 * MIB));
	for (n = 0; (blocks[n] = scmalloc(1000)) != NULL; n++)
		;
	for (i = 0; i < n; i++)
		scmfree(blocks[n - 1 - i]);
	CHECK(scm_used() == used0);
	a = scmalloc(n * 1024 - 64);
	CHECK(a != NULL);
	CHECK(scm_check() == 0);
	free(blocks);
	CHECK(scm_close() == 0);
}

static int cmp_ptr(const void *a, const void *b)
{
	const char *pa = *(char *const *)a, *pb = *(char *const *)b;

	return pa < pb ? -1 : pa > pb;
}

static void test_alignment(void)
{
	void *p[400];
	size_t i, n = 0, s;

	t_open(t_region(4 * MIB));
	CHECK(((uintptr_t)scm_base() & 4095) == 0);
	for (s = 1; s < 6000 && n < 400; s += 17, n++) {
		p[n] = scmalloc(s);
		CHECK(p[n] != NULL);
		CHECK(((uintptr_t)p[n] % LIBSCM_ALIGN) == 0);
		CHECK(scm_usable_size(p[n]) >= s);
		CHECK(scm_usable_size(p[n]) < s + LIBSCM_ALIGN);
		CHECK(scm_usable_size(p[n]) % LIBSCM_ALIGN == 0);
		memset(p[n], 0x5a, s);
	}
	qsort(p, n, sizeof(p[0]), cmp_ptr);
	for (i = 1; i < n; i++)
		CHECK((char *)p[i - 1] + scm_usable_size(p[i - 1]) <=
		      (char *)p[i]);
	CHECK(scm_check() == 0);
	scm_close();
}

static void test_full_region(void)
{
	size_t n;
	void *last = NULL, *p;

	t_open(t_region(64 * KIB));
	CHECK_ERRNO(scmalloc(0) == NULL, EINVAL);
	CHECK_ERRNO(scmalloc(SIZE_MAX) == NULL, ENOMEM);
	CHECK_ERRNO(scmalloc(scm_size()) == NULL, ENOMEM);
	for (n = 0; (p = scmalloc(1024)) != NULL; n++)
		last = p;
	CHECK(errno == ENOMEM);
	CHECK(n >= 50 && n < 64);
	CHECK(scm_used() <= scm_size());
	CHECK(scm_check() == 0);
	/* the last units go in small blocks, then nothing fits */
	while (scmalloc(1) != NULL)
		n++;
	CHECK(errno == ENOMEM);
	CHECK(scm_size() - scm_used() < 2 * LIBSCM_ALIGN);
	CHECK_ERRNO(scmalloc(1) == NULL, ENOMEM);
	CHECK(scm_check() == 0);
	/* and usable again after a free */
	scmfree(last);
	CHECK(scmalloc(1024) == last);
	CHECK(scm_check() == 0);
	scm_close();
}

static void test_bad_free(void)
{
	char *a, *b;
	size_t used;

	t_open(t_region(256 * KIB));
	a = scmalloc(1000);
	b = scmalloc(200);
	CHECK(a && b);
	used = scm_used();
	CHECK_ERRNO((scmfree(a + 64), 1), EINVAL);
	CHECK_ERRNO((scmfree(a + 1), 1), EINVAL);
	CHECK_ERRNO((scmfree(scm_base()), 1), EINVAL);
	CHECK_ERRNO((scmfree((char *)scm_base() + scm_size()), 1), EINVAL);
	CHECK_ERRNO((scmfree(&used), 1), EINVAL);
	CHECK_ERRNO(scm_usable_size(a + 64) == 0, EINVAL);
	CHECK(scm_used() == used);
	errno = 1234;
	scmfree(NULL);
	CHECK(errno == 1234);
	scmfree(a);
	CHECK(errno == 1234);
	CHECK_ERRNO((scmfree(a), 1), EINVAL);	/* double free */
	CHECK(scm_used() == used - 1024);
	CHECK(scm_check() == 0);
	scm_close();
	CHECK_ERRNO((scmfree(b), 1), EINVAL);	/* nothing open */
}

struct demo_root {
	uint64_t magic;
	uint64_t count;
	uint64_t head;		/* offset of the first node */
};

struct node {
	uint64_t next;		/* offset */
	uint64_t value;
	char text[40];
};

static void test_root_persists(void)
{
	const char *path = t_region(1 * MIB);
	struct demo_root *root;
	struct node *nd;
	void *old_base, *hold;
	size_t size, used;
	uint64_t i, off;

	t_open(path);
	CHECK(scm_root() == NULL);
	root = scmalloc(sizeof(*root));
	CHECK(root != NULL);
	root->magic = 0x1234abcd;
	root->count = 100;
	root->head = 0;
	for (i = 0; i < 100; i++) {
		nd = scmalloc(sizeof(*nd));
		CHECK(nd != NULL);
		nd->value = i * i;
		snprintf(nd->text, sizeof(nd->text), "node %llu",
			 (unsigned long long)i);
		nd->next = root->head;
		root->head = scm_offset(nd);
		CHECK(scmsync(nd, sizeof(*nd)) == 0);
	}
	CHECK(scmsync(root, sizeof(*root)) == 0);
	CHECK(scm_set_root(root) == 0);
	CHECK(scm_root() == root);
	off = scm_offset(root);
	used = scm_used();
	old_base = scm_base();
	size = scm_size();
	CHECK(scm_close() == 0);

	/* reopen where the old mapping cannot be: offsets must be enough */
	hold = mmap(old_base, size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(hold == old_base);
	t_open(path);
	CHECK(scm_base() != old_base);
	root = scm_root();
	CHECK(root != NULL);
	CHECK(scm_offset(root) == off);
	CHECK(root->magic == 0x1234abcd && root->count == 100);
	CHECK(scm_used() == used);
	for (i = 100, off = root->head; off; off = nd->next) {
		char want[40];

		nd = scm_pointer(off);
		CHECK(nd != NULL);
		i--;
		CHECK(nd->value == i * i);
		snprintf(want, sizeof(want), "node %llu", (unsigned long long)i);
		CHECK(strcmp(nd->text, want) == 0);
		CHECK(scm_usable_size(nd) == 64);
	}
	CHECK(i == 0);
	CHECK(scm_check() == 0);

	/* freeing the root clears it */
	scmfree(root);
	CHECK(scm_root() == NULL);
	CHECK(scm_close() == 0);
	munmap(hold, size);
}

static void test_bad_regions(void)
{
	const char *path = t_region(256 * KIB);
	struct scm_heap_header *h;
	uint64_t hash;
	unsigned char junk[512];
	int fd;
	size_t i;

	/* foreign data at offset 0: refused, not a byte written */
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = t_byte(7, i);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, junk, sizeof(junk), 100) == (ssize_t)sizeof(junk));
	close(fd);
	hash = t_file_hash(path);
	CHECK_ERRNO(scm_open(path) == -1, EUCLEAN);
	CHECK(t_file_hash(path) == hash);
	if (access(LIBSCM_DEFAULT_DEVICE, F_OK))	/* implicit: no /dev/scm here */
		CHECK_ERRNO(scmalloc(10) == NULL, ENOENT);

	/* too small, not a file, missing */
	CHECK_ERRNO(scm_open(t_region(4096)) == -1, EINVAL);
	CHECK_ERRNO(scm_open(t_region(0)) == -1, EINVAL);
	CHECK_ERRNO(scm_open(t_path("")) == -1, EISDIR);
	CHECK_ERRNO(scm_open(t_path("missing")) == -1, ENOENT);
	CHECK_ERRNO(scm_open("/dev/null") == -1, ENOTTY);

	/* another version's heap */
	path = t_region(256 * KIB);
	t_open(path);
	h = scm_base();
	h->version = SCM_HEAP_VERSION + 1;
	scm_close();
	CHECK_ERRNO(scm_open(path) == -1, ENOTSUP);

	/* a corrupt map: a unit state that is never written */
	path = t_region(256 * KIB);
	t_open(path);
	CHECK(scmalloc(100) != NULL);
	h = scm_base();
	*(uint64_t *)((char *)scm_base() + h->extents[0].map) |= 2ULL << 10;
	CHECK_ERRNO(scm_check() == -1, EUCLEAN);
	scm_close();
	CHECK_ERRNO(scm_open(path) == -1, EUCLEAN);
}

static void test_implicit_open(void)
{
	const char *path = t_region(128 * KIB);
	uint64_t off;
	void *p;

	CHECK_ERRNO(scm_close() == -1, EBADF);
	CHECK_ERRNO(scm_check() == -1, EBADF);
	CHECK(setenv("SCM_DEVICE", path, 1) == 0);
	p = scmalloc(10);
	CHECK(p != NULL);
	off = scm_offset(p);
	CHECK(strcmp(scm_name(), path) == 0);
	CHECK(scm_size() == 128 * KIB);
	CHECK_ERRNO(scm_open(path) == -1, EBUSY);
	CHECK(scm_close() == 0);
	CHECK_ERRNO(scm_close() == -1, EBADF);
	/* scm_root() opens too, and finds the same heap */
	CHECK(scm_root() == NULL);
	CHECK(scm_usable_size(scm_pointer(off)) == 64);
	CHECK(scm_close() == 0);
	unsetenv("SCM_DEVICE");
}

static void resize_file(const char *path, off_t size)
{
	CHECK(truncate(path, size) == 0);
}

static void test_grow_shrink(void)
{
	const char *p0 = t_region(64 * KIB);
	char path[4096];
	uint64_t offs[2000], first_ext1 = 0, hash;
	size_t n1, n, i;
	void *p;

	snprintf(path, sizeof(path), "%s", p0);
	t_open(path);
	for (n1 = 0; (p = scmalloc(500)) != NULL; n1++) {
		t_fill(p, 500, n1);
		offs[n1] = scm_offset(p);
	}
	CHECK(scm_close() == 0);

	/* grown: old blocks intact, the new space usable */
	resize_file(path, 1 * MIB);
	t_open(path);
	CHECK(scm_size() == 1 * MIB);
	for (i = 0; i < n1; i++)
		CHECK(t_verify(scm_pointer(offs[i]), 500, i));
	for (n = n1; n < 2000 && (p = scmalloc(500)) != NULL; n++) {
		t_fill(p, 500, n);
		offs[n] = scm_offset(p);
		if (!first_ext1)
			first_ext1 = offs[n];
	}
	CHECK(n > 10 * n1);
	CHECK(first_ext1 >= 64 * KIB);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);

	/* shrunk under a block in use: refused, the file untouched */
	t_open(path);
	for (i = n1; i < n - 1; i++)
		scmfree(scm_pointer(offs[i]));
	CHECK(scm_close() == 0);
	resize_file(path, 64 * KIB + 4096);
	hash = t_file_hash(path);
	CHECK_ERRNO(scm_open(path) == -1, EUCLEAN);
	CHECK(t_file_hash(path) == hash);
	/* (the truncation lost that block's bytes, not its allocation) */
	resize_file(path, 1 * MIB);
	t_open(path);
	CHECK(scm_usable_size(scm_pointer(offs[n - 1])) == 512);
	scmfree(scm_pointer(offs[n - 1]));
	CHECK(scm_close() == 0);

	/* shrunk under free space only: fine, and grows again */
	resize_file(path, 64 * KIB);
	t_open(path);
	CHECK(scm_check() == 0);
	for (i = 0; i < n1; i++)
		CHECK(t_verify(scm_pointer(offs[i]), 500, i));
	CHECK_ERRNO(scmalloc(500) == NULL, ENOMEM);
	CHECK(scm_close() == 0);
	resize_file(path, 2 * MIB);
	t_open(path);
	CHECK(scmalloc(MIB) != NULL);
	CHECK(scm_check() == 0);
	CHECK(scm_close() == 0);
}

static void test_offsets(void)
{
	char *p;

	CHECK_ERRNO(scm_pointer(64) == NULL, EINVAL);	/* nothing open */
	t_open(t_region(64 * KIB));
	p = scmalloc(1);
	CHECK(scm_offset(NULL) == 0);
	CHECK(scm_pointer(0) == NULL);
	CHECK(scm_pointer(scm_offset(p)) == p);
	CHECK(scm_offset(p) == (uint64_t)(p - (char *)scm_base()));
	CHECK_ERRNO(scm_offset(&p) == (uint64_t)-1, EINVAL);
	CHECK_ERRNO(scm_offset((char *)scm_base() + scm_size()) ==
		    (uint64_t)-1, EINVAL);
	CHECK_ERRNO(scm_pointer(scm_size()) == NULL, EINVAL);
	scm_close();
}

static void test_set_root_checks(void)
{
	char *p;

	t_open(t_region(64 * KIB));
	p = scmalloc(100);
	CHECK_ERRNO(scm_set_root(scm_base()) == -1, EINVAL);
	CHECK_ERRNO(scm_set_root(&p) == -1, EINVAL);
	CHECK_ERRNO(scm_set_root((char *)scm_base() + scm_size()) == -1,
		    EINVAL);
	CHECK(scm_root() == NULL);
	CHECK(scm_set_root(p + 10) == 0);
	CHECK(scm_root() == p + 10);
	CHECK(scm_set_root(NULL) == 0);
	CHECK(scm_root() == NULL);
	scm_close();
}

const struct scm_test alloc_tests[] = {
	{ "allocate, free and reuse", test_alloc_free_reuse },
	{ "blocks are 64-byte aligned and disjoint", test_alignment },
	{ "a full region gives ENOMEM", test_full_region },
	{ "scmfree rejects bad pointers and double frees", test_bad_free },
	{ "root object survives close and reopen at another address",
	  test_root_persists },
	{ "foreign, small, corrupt and newer regions are refused untouched",
	  test_bad_regions },
	{ "implicit open from SCM_DEVICE; EBUSY, EBADF", test_implicit_open },
	{ "the heap follows the region growing and shrinking",
	  test_grow_shrink },
	{ "offsets and pointers", test_offsets },
	{ "scm_set_root checks its pointer", test_set_root_checks },
	{ NULL, NULL },
};
