// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cscm — the CSCM workloads of bench/cscm, on one kind of memory.
 *
 *   cscm MEMORY BENCH MODE [OPTIONS]
 *   cscm size BENCH [OPTIONS]      bytes a file must have for BENCH
 *
 * MEMORY
 *   scm        the caller's /dev/scm region through libscm ($SCM_DEVICE
 *              names another device or a file): arrays and B-tree nodes
 *              come from scmalloc(); a consistency point is one scmsyncv()
 *              of the touched ranges (ranges closer than 4 KiB merged):
 *              each range's cache lines written back, one host flush
 *   file=PATH  mmap(MAP_SHARED) of the file PATH; a bump allocator whose
 *              state is in the file's first page; a consistency point is
 *              one msync(MS_SYNC) over the pages that cover every range
 *              touched since the last one (the kernel writes back only
 *              the dirty pages in it, and ext4 commits once)
 *   anon       mmap(MAP_PRIVATE|MAP_ANONYMOUS), the same bump allocator;
 *              no persistence, so MODE tx is refused
 * BENCH
 *   array      random updates of an int array (--elems, 20M = 80 MB):
 *              a[i] += v at uniformly drawn i; one op = one update; tx:
 *              a consistency point after every --every (10) updates
 *   stream     STREAM copy c[j] = a[j] over two double arrays of
 *              --bytes (90 MB) each; one op = one element copied
 *              (STREAM counts 16 bytes); the copy goes chunk by chunk
 *              (--chunk, 64 KiB of c), wrapping round; tx: a consistency
 *              point after every chunk (the chunk of c just written)
 *   btree      inserts into a B-tree (minimum degree 16, 8-byte keys and
 *              values, nodes of 768 bytes allocated from the memory)
 *              that already holds --keys (200000) keys; one op = one
 *              insert of a new key; tx: a consistency point after each
 *              insert (every node it changed, and the allocator's state);
 *              on scm each insert is a libscm transaction instead:
 *              scm_tx_begin(), scm_tx_add() of each node (and of the
 *              tree's root word) before it changes, new nodes from
 *              scmalloc() inside it, scm_tx_commit() (a crash leaves the
 *              tree as before the insert or after it, never half split)
 * MODE         plain | tx
 * OPTIONS      --ops N (timed operations), --seed S, and the sizes above;
 *              --writeback-only (scm): a consistency point is scm_flush()
 *              of each range instead of scmsync(): the CPU cache lines are
 *              written back, the host is not asked to flush, so the data
 *              survives a crash of the process, the guest or QEMU but not
 *              of the host (a weaker guarantee than msync on a volume)
 *
 * Each run: map, build the initial data (array filled, a[] of STREAM
 * filled, the tree of --keys keys), make it all durable (not for anon),
 * then the timed phase of --ops operations (including its consistency
 * points), then a check of the result (array sum, c = a, tree order and
 * count), then make everything durable again (so that no run leaves
 * dirty data for the next one to write back), then free everything
 * (scmfree, so the region is empty again).
 * Only the timed phase counts. Output: one line
 *   cscm.result memory=M bench=B mode=P ops=N sec=T ops_per_s=R
 *     syncs=S cps=C open_ms=O setup_ms=U region=NAME check=ok|bad
 * (syncs: scmsyncv, scm_flush or msync calls in the timed phase, or
 * scm_tx_commit calls for btree tx on scm; cps: consistency
 * points; open_ms: open and map, which for a file in an overlayfs
 * includes the copy-up on the first open for writing). Exit status: 0
 * good, 1 the check failed, 2 an error, 3 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "scm.h"

#define PAGE		4096UL
#define MERGE_GAP	4096UL
#define MAX_RANGES	256
#define ROOT_MAGIC	0x4d4353434843424eULL	/* "NBCHCSCM" */
#define FILE_MAGIC	0x454c494648434e42ULL

/* --- options -------------------------------------------------------------- */

enum memory { MEM_SCM, MEM_FILE, MEM_ANON };
enum bench { B_ARRAY, B_STREAM, B_BTREE };

static enum memory mem_kind;
static const char *file_path;
static enum bench bench;
static int tx;
static uint64_t opt_ops;
static uint64_t opt_seed = 1;
static uint64_t opt_elems = 20000000;		/* array: 80 MB of int */
static uint64_t opt_bytes = 90000000;		/* stream: per array */
static uint64_t opt_chunk = 65536;		/* stream: bytes of c */
static uint64_t opt_keys = 200000;		/* btree: initial keys */
static uint64_t opt_every = 10;			/* array: updates per cp */
static int opt_wb_only;				/* scm: scm_flush, no host flush */

static const char *mem_names[] = { "scm", "file", "anon" };
static const char *bench_names[] = { "array", "stream", "btree" };

static void die(const char *what)
{
	fprintf(stderr, "cscm: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cscm scm|file=PATH|anon array|stream|btree plain|tx [--ops N]\n"
		"            [--seed S] [--elems N] [--bytes B] [--chunk B] [--keys N] [--every N]\n"
		"            [--writeback-only]\n"
		"       cscm size array|stream|btree [OPTIONS]\n");
	exit(3);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* splitmix64: key i of a seed, and a fast stream of random numbers. */
static uint64_t mix(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (i + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* uniform in [0, n) (Lemire's multiply-shift, bias below 2^-32) */
static inline uint64_t rnd_below(uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rnd() * n) >> 64);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* --- memory ---------------------------------------------------------------- */

/*
 * File and anonymous memory: the first page holds this header (the bump
 * allocator's state, like a persistent allocator's metadata); blocks
 * follow.
 */
struct file_header {
	uint64_t magic;
	uint64_t next;		/* offset of the first free byte */
};

static unsigned char *base;	/* start of the mapping */
static size_t map_size;
static struct file_header *fh;
static int file_fd = -1;
static char region_name[80] = "-";

/* B-tree node count bound for sizing files: every node but the root holds
 * at least T - 1 keys. */
#define T		16
#define MAXK		(2 * T - 1)

struct node {
	uint32_t n;
	uint32_t leaf;
	uint64_t keys[MAXK];
	uint64_t vals[MAXK];
	uint64_t child[2 * T];	/* offsets from base; 0 = none */
};

_Static_assert(sizeof(struct node) == 760, "node layout");
#define NODE_BYTES	768	/* as allocated: a multiple of 64 */

struct tree {
	uint64_t root;		/* offset of the root node */
};

static uint64_t tree_count;	/* keys inserted (not persistent) */

static uint64_t bytes_needed(void)
{
	uint64_t total = PAGE;		/* header page */

	switch (bench) {
	case B_ARRAY:
		total += align_up(opt_elems * sizeof(int32_t), PAGE);
		break;
	case B_STREAM:
		total += 2 * align_up(opt_bytes, PAGE);
		break;
	case B_BTREE: {
		uint64_t keys = opt_keys + opt_ops;

		total += 64 + (keys / (T - 1) + 2) * NODE_BYTES;
		break;
	}
	}
	return align_up(total + PAGE, PAGE);
}

static void mem_open(void)
{
	if (mem_kind == MEM_SCM) {
		if (scm_open(NULL))
			die("scm_open");
		base = scm_base();
		map_size = scm_size();
		snprintf(region_name, sizeof(region_name), "%s", scm_name());
		return;
	}
	map_size = bytes_needed();
	if (mem_kind == MEM_FILE) {
		struct stat st;

		file_fd = open(file_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (file_fd < 0)
			die(file_path);
		if (fstat(file_fd, &st))
			die("fstat");
		if ((uint64_t)st.st_size < map_size && ftruncate(file_fd, map_size))
			die("ftruncate");
		base = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    file_fd, 0);
		snprintf(region_name, sizeof(region_name), "%s", file_path);
	} else {
		base = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (base == MAP_FAILED)
		die("mmap");
	fh = (struct file_header *)base;
	fh->magic = FILE_MAGIC;
	fh->next = PAGE;
}

static void *mem_alloc(size_t len)
{
	void *p;

	if (mem_kind == MEM_SCM) {
		p = scmalloc(len);
		if (!p)
			die("scmalloc");
		return p;
	}
	/* arrays page aligned, nodes 64-byte aligned, as scmalloc's */
	fh->next = align_up(fh->next, len >= PAGE ? PAGE : 64);
	if (fh->next + len > map_size) {
		errno = ENOMEM;
		die("allocator");
	}
	p = base + fh->next;
	fh->next += align_up(len, 64);
	return p;
}

static void mem_free(void *p)
{
	if (mem_kind == MEM_SCM && p)
		scmfree(p);
}

/* --- consistency points ----------------------------------------------------- */

struct range {
	uintptr_t lo, hi;
};

static struct range ranges[MAX_RANGES];
static unsigned int nranges;
static uint64_t nsyncs, ncps;

static void cp_commit(void);

/* Note [p, p + len) as changed since the last consistency point. */
static inline void cp_touch(const void *p, size_t len)
{
	if (nranges == MAX_RANGES)
		cp_commit();
	ranges[nranges].lo = (uintptr_t)p;
	ranges[nranges].hi = (uintptr_t)p + len;
	nranges++;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void sync_file(uintptr_t lo, uintptr_t hi)
{
	lo &= ~(PAGE - 1);
	hi = align_up(hi, PAGE);
	if (msync((void *)lo, hi - lo, MS_SYNC))
		die("msync");
	nsyncs++;
}

/* scmsyncv() of the first @n ranges, LIBSCM_SYNCV_MAX at a time. */
static void sync_scm(unsigned int n)
{
	static struct iovec iov[LIBSCM_SYNCV_MAX];
	unsigned int i, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < LIBSCM_SYNCV_MAX && i + k < n; k++)
			iov[k] = (struct iovec){
				.iov_base = (void *)ranges[i + k].lo,
				.iov_len = ranges[i + k].hi - ranges[i + k].lo,
			};
		if (scmsyncv(iov, k))
			die("scmsyncv");
		nsyncs++;
	}
}

/* A consistency point: everything touched since the last one is durable. */
static void cp_commit(void)
{
	unsigned int i, m = 0;

	if (!nranges)
		return;
	ncps++;
	if (mem_kind == MEM_FILE) {
		uintptr_t lo = ranges[0].lo, hi = ranges[0].hi;

		for (i = 1; i < nranges; i++) {
			if (ranges[i].lo < lo)
				lo = ranges[i].lo;
			if (ranges[i].hi > hi)
				hi = ranges[i].hi;
		}
		sync_file(lo, hi);
		nranges = 0;
		return;
	}
	if (nranges > 1)
		qsort(ranges, nranges, sizeof(ranges[0]), range_cmp);
	for (i = 1; i < nranges; i++) {
		if (ranges[i].lo <= ranges[m].hi + MERGE_GAP) {
			if (ranges[i].hi > ranges[m].hi)
				ranges[m].hi = ranges[i].hi;
		} else {
			ranges[++m] = ranges[i];
		}
	}
	if (opt_wb_only) {
		for (i = 0; i <= m; i++, nsyncs++)
			if (scm_flush((void *)ranges[i].lo,
				      ranges[i].hi - ranges[i].lo))
				die("scm_flush");
	} else {
		sync_scm(m + 1);
	}
	nranges = 0;
}

/* Make [p, p + len) durable outside the timed phase (setup). */
static void make_durable(const void *p, size_t len)
{
	if (mem_kind == MEM_ANON || !len)
		return;
	if (mem_kind == MEM_FILE) {
		if (msync(base, map_size, MS_SYNC))
			die("msync");
		return;
	}
	if (scmsync(p, len))
		die("scmsync");
}

/*
 * The scm root object: offsets of what a run allocated, so that a run
 * killed half way does not leave the next one without room.
 */
struct root {
	uint64_t magic;
	uint64_t blk[2];
	uint64_t tree;
};

static struct root *root;

static void tree_free(struct node *x);

static void root_open(void)
{
	unsigned int i;

	if (mem_kind != MEM_SCM)
		return;
	root = scm_root();
	if (root && root->magic == ROOT_MAGIC) {
		for (i = 0; i < 2; i++)
			if (root->blk[i])
				scmfree(scm_pointer(root->blk[i]));
		if (root->tree) {
			struct tree *t = scm_pointer(root->tree);

			if (t->root)
				tree_free(scm_pointer(t->root));
			scmfree(t);
		}
		memset(root->blk, 0, sizeof(root->blk));
		root->tree = 0;
		scmsync(root, sizeof(*root));
		return;
	}
	root = scmalloc(sizeof(*root));
	if (!root)
		die("scmalloc root");
	memset(root, 0, sizeof(*root));
	root->magic = ROOT_MAGIC;
	if (scmsync(root, sizeof(*root)) || scm_set_root(root))
		die("scm root");
}

static void root_note(int slot, void *p)
{
	if (!root)
		return;
	if (slot < 2)
		root->blk[slot] = p ? scm_offset(p) : 0;
	else
		root->tree = p ? scm_offset(p) : 0;
	if (scmsync(root, sizeof(*root)))
		die("scmsync root");
}

/* --- array ------------------------------------------------------------------- */

static int run_array(double *sec, double *setup)
{
	uint64_t n = opt_elems, k, every = opt_every;
	int64_t sum = 0, want = 0;
	double t0 = now(), t1;
	int32_t *a;

	a = mem_alloc(n * sizeof(*a));
	root_note(0, a);
	for (k = 0; k < n; k++)
		a[k] = (int32_t)k;
	for (k = 0; k < n; k++)
		want += (int32_t)k;
	make_durable(a, n * sizeof(*a));
	rng_state = mix(opt_seed, 0) | 1;
	t1 = now();
	*setup = t1 - t0;
	if (tx) {
		for (k = 0; k < opt_ops; k++) {
			uint64_t i = rnd_below(n);

			a[i] += 1;
			cp_touch(&a[i], sizeof(a[i]));
			if ((k + 1) % every == 0)
				cp_commit();
		}
		cp_commit();
	} else {
		for (k = 0; k < opt_ops; k++)
			a[rnd_below(n)] += 1;
	}
	*sec = now() - t1;
	for (k = 0; k < n; k++)
		sum += a[k];
	want += (int64_t)opt_ops;
	make_durable(a, n * sizeof(*a));	/* settle: nothing left dirty */
	root_note(0, NULL);
	mem_free(a);
	if (sum != want)
		fprintf(stderr, "cscm: array: sum %" PRId64 ", want %" PRId64 "\n",
			sum, want);
	return sum == want;
}

/* --- stream ------------------------------------------------------------------- */

static int run_stream(double *sec, double *setup)
{
	uint64_t n = opt_bytes / sizeof(double), ce = opt_chunk / sizeof(double);
	uint64_t done = 0, pos = 0, j;
	double t0 = now(), t1, *a, *c;
	int ok = 1;

	if (!ce)
		ce = 1;
	a = mem_alloc(n * sizeof(double));
	root_note(0, a);
	c = mem_alloc(n * sizeof(double));
	root_note(1, c);
	for (j = 0; j < n; j++) {
		a[j] = (double)j;
		c[j] = 0.0;
	}
	make_durable(a, n * sizeof(double));
	make_durable(c, n * sizeof(double));
	t1 = now();
	*setup = t1 - t0;
	while (done < opt_ops) {
		uint64_t m = ce;

		if (m > n - pos)
			m = n - pos;
		if (m > opt_ops - done)
			m = opt_ops - done;
		for (j = pos; j < pos + m; j++)
			c[j] = a[j];
		if (tx) {
			cp_touch(&c[pos], m * sizeof(double));
			cp_commit();
		}
		done += m;
		pos += m;
		if (pos == n)
			pos = 0;
	}
	*sec = now() - t1;
	for (j = 0; j < n && j < opt_ops; j++)
		if (c[j] != a[j]) {
			fprintf(stderr, "cscm: stream: c[%" PRIu64 "] = %g, want %g\n",
				j, c[j], a[j]);
			ok = 0;
			break;
		}
	make_durable(a, n * sizeof(double));	/* settle */
	make_durable(c, n * sizeof(double));
	root_note(1, NULL);
	mem_free(c);
	root_note(0, NULL);
	mem_free(a);
	return ok;
}

/* --- btree -------------------------------------------------------------------- */

static struct tree *tree;
/* The inserts are libscm transactions (scm, tx, not --writeback-only). */
static int btree_tx;

/* Before [p, p + len) changes: its old contents into the undo log. */
static void tx_snapshot(const void *p, size_t len)
{
	if (btree_tx && scm_tx_add((void *)p, len))
		die("scm_tx_add");
}

/* After [p, p + len) changed: a range for the next consistency point. */
static void tx_touched(const void *p, size_t len)
{
	if (tx && !btree_tx)
		cp_touch(p, len);
}

static inline struct node *nd(uint64_t off)
{
	return (struct node *)(base + off);
}

static inline uint64_t off_of(const void *p)
{
	return (const unsigned char *)p - base;
}

static struct node *node_new(int leaf)
{
	struct node *x = mem_alloc(sizeof(struct node));

	/* new in the transaction: freed by a rollback, flushed by the commit */
	x->n = 0;
	x->leaf = leaf;
	memset(x->child, 0, sizeof(x->child));
	tx_touched(x, sizeof(*x));
	if (mem_kind == MEM_FILE)
		tx_touched(fh, sizeof(*fh));	/* the allocator's state */
	return x;
}

/* Split the full child i of x (CLRS B-TREE-SPLIT-CHILD). */
static void split_child(struct node *x, unsigned int i)
{
	struct node *y = nd(x->child[i]), *z = node_new(y->leaf);
	unsigned int j;

	tx_snapshot(x, sizeof(*x));
	tx_snapshot(y, sizeof(*y));
	z->n = T - 1;
	for (j = 0; j < T - 1; j++) {
		z->keys[j] = y->keys[j + T];
		z->vals[j] = y->vals[j + T];
	}
	if (!y->leaf)
		for (j = 0; j < T; j++)
			z->child[j] = y->child[j + T];
	y->n = T - 1;
	for (j = x->n; j > i; j--)
		x->child[j + 1] = x->child[j];
	x->child[i + 1] = off_of(z);
	for (j = x->n; j > i; j--) {
		x->keys[j] = x->keys[j - 1];
		x->vals[j] = x->vals[j - 1];
	}
	x->keys[i] = y->keys[T - 1];
	x->vals[i] = y->vals[T - 1];
	x->n++;
	tx_touched(x, sizeof(*x));
	tx_touched(y, sizeof(*y));
}

static void tree_insert(uint64_t key, uint64_t val)
{
	struct node *x = nd(tree->root);
	unsigned int i;

	if (btree_tx && scm_tx_begin())
		die("scm_tx_begin");
	if (x->n == MAXK) {
		struct node *s = node_new(0);

		s->child[0] = tree->root;
		tx_snapshot(tree, sizeof(*tree));
		tree->root = off_of(s);
		tx_touched(tree, sizeof(*tree));
		split_child(s, 0);
		x = s;
	}
	for (;;) {
		i = x->n;
		if (x->leaf) {
			tx_snapshot(x, sizeof(*x));
			while (i > 0 && key < x->keys[i - 1]) {
				x->keys[i] = x->keys[i - 1];
				x->vals[i] = x->vals[i - 1];
				i--;
			}
			x->keys[i] = key;
			x->vals[i] = val;
			x->n++;
			tx_touched(x, sizeof(*x));
			break;
		}
		while (i > 0 && key < x->keys[i - 1])
			i--;
		if (nd(x->child[i])->n == MAXK) {
			split_child(x, i);
			if (key > x->keys[i])
				i++;
		}
		x = nd(x->child[i]);
	}
	if (btree_tx) {
		if (scm_tx_commit())
			die("scm_tx_commit");
		ncps++;
		nsyncs++;	/* one commit: its host flushes are libscm's */
	}
	tree_count++;
}

/* In-order walk: keys strictly increasing; returns how many. */
static uint64_t tree_check(const struct node *x, uint64_t *last, int *ok)
{
	uint64_t count = 0;
	unsigned int i;

	for (i = 0; i <= x->n; i++) {
		if (!x->leaf)
			count += tree_check(nd(x->child[i]), last, ok);
		if (i == x->n)
			break;
		if (*last != UINT64_MAX && x->keys[i] <= *last)
			*ok = 0;
		*last = x->keys[i];
		count++;
	}
	return count;
}

static void tree_free(struct node *x)
{
	unsigned int i;

	if (!x->leaf)
		for (i = 0; i <= x->n; i++)
			if (x->child[i])
				tree_free(nd(x->child[i]));
	scmfree(x);
}

/* The span of memory the nodes live in, for making the setup durable. */
static void tree_span(const struct node *x, uintptr_t *lo, uintptr_t *hi)
{
	unsigned int i;

	if ((uintptr_t)x < *lo)
		*lo = (uintptr_t)x;
	if ((uintptr_t)x + sizeof(*x) > *hi)
		*hi = (uintptr_t)x + sizeof(*x);
	if (!x->leaf)
		for (i = 0; i <= x->n; i++)
			tree_span(nd(x->child[i]), lo, hi);
}

static int run_btree(double *sec, double *setup)
{
	double t0 = now(), t1;
	uint64_t k, last = UINT64_MAX, count;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	int ok = 1, saved_tx = tx;

	tree = mem_alloc(sizeof(*tree));
	tx = 0;				/* the initial tree: no consistency points */
	btree_tx = 0;
	tree->root = off_of(node_new(1));
	tree_count = 0;
	root_note(2, tree);
	for (k = 0; k < opt_keys; k++)
		tree_insert(mix(opt_seed, k), k);
	tx = saved_tx;
	btree_tx = tx && mem_kind == MEM_SCM && !opt_wb_only;
	tree_span(nd(tree->root), &lo, &hi);
	make_durable((void *)lo, hi - lo);
	make_durable(tree, sizeof(*tree));
	t1 = now();
	*setup = t1 - t0;
	for (k = opt_keys; k < opt_keys + opt_ops; k++) {
		tree_insert(mix(opt_seed, k), k);
		if (tx && !btree_tx)
			cp_commit();
	}
	btree_tx = 0;
	*sec = now() - t1;
	lo = UINTPTR_MAX;
	hi = 0;
	tree_span(nd(tree->root), &lo, &hi);
	make_durable((void *)lo, hi - lo);	/* settle */
	count = tree_check(nd(tree->root), &last, &ok);
	if (count != opt_keys + opt_ops || tree_count != count) {
		fprintf(stderr, "cscm: btree: %" PRIu64 " keys (count %" PRIu64
			"), want %" PRIu64 "\n", count, tree_count,
			opt_keys + opt_ops);
		ok = 0;
	}
	if (!ok)
		fprintf(stderr, "cscm: btree: the tree is not in order\n");
	if (mem_kind == MEM_SCM) {
		root_note(2, NULL);
		tree_free(nd(tree->root));
		scmfree(tree);
	}
	return ok;
}

/* --- main ------------------------------------------------------------------------ */

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

static void parse_bench(const char *s)
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (!strcmp(s, bench_names[i])) {
			bench = i;
			return;
		}
	usage();
}

static void parse_options(int argc, char **argv, int i)
{
	for (; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--writeback-only")) {
			opt_wb_only = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(o, "--ops"))
			opt_ops = num(argv[++i]);
		else if (!strcmp(o, "--seed"))
			opt_seed = num(argv[++i]);
		else if (!strcmp(o, "--elems"))
			opt_elems = num(argv[++i]);
		else if (!strcmp(o, "--bytes"))
			opt_bytes = num(argv[++i]);
		else if (!strcmp(o, "--chunk"))
			opt_chunk = num(argv[++i]);
		else if (!strcmp(o, "--keys"))
			opt_keys = num(argv[++i]);
		else if (!strcmp(o, "--every"))
			opt_every = num(argv[++i]);
		else
			usage();
	}
	if (!opt_elems || !opt_bytes || !opt_every || !opt_keys ||
	    opt_chunk < sizeof(double) || opt_chunk % PAGE)
		usage();
}

int main(int argc, char **argv)
{
	double open_s, sec = 0, setup = 0, t0;
	int ok;

	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "size")) {
		parse_bench(argv[2]);
		parse_options(argc, argv, 3);
		printf("%" PRIu64 "\n", bytes_needed());
		return 0;
	}
	if (argc < 4)
		usage();
	if (!strcmp(argv[1], "scm"))
		mem_kind = MEM_SCM;
	else if (!strncmp(argv[1], "file=", 5) && argv[1][5])
		mem_kind = MEM_FILE, file_path = argv[1] + 5;
	else if (!strcmp(argv[1], "anon"))
		mem_kind = MEM_ANON;
	else
		usage();
	parse_bench(argv[2]);
	if (!strcmp(argv[3], "tx"))
		tx = 1;
	else if (strcmp(argv[3], "plain"))
		usage();
	parse_options(argc, argv, 4);
	if (opt_wb_only && mem_kind != MEM_SCM)
		usage();
	if (tx && mem_kind == MEM_ANON) {
		fprintf(stderr, "cscm: anonymous memory has no consistency points\n");
		return 3;
	}

	t0 = now();
	mem_open();
	open_s = now() - t0;
	root_open();
	switch (bench) {
	case B_ARRAY:
		ok = run_array(&sec, &setup);
		break;
	case B_STREAM:
		ok = run_stream(&sec, &setup);
		break;
	default:
		ok = run_btree(&sec, &setup);
		break;
	}
	printf("cscm.result memory=%s%s bench=%s mode=%s ops=%" PRIu64
	       " sec=%.6f ops_per_s=%.1f syncs=%" PRIu64 " cps=%" PRIu64
	       " open_ms=%.1f setup_ms=%.1f region=%s check=%s\n",
	       mem_names[mem_kind], opt_wb_only ? "-wb" : "",
	       bench_names[bench], tx ? "tx" : "plain",
	       opt_ops, sec, sec > 0 ? opt_ops / sec : 0.0, nsyncs, ncps,
	       open_s * 1e3, setup * 1e3, region_name, ok ? "ok" : "bad");
	fflush(stdout);
	if (mem_kind == MEM_SCM)
		scm_close();
	else if (mem_kind == MEM_FILE) {
		munmap(base, map_size);
		close(file_fd);
	}
	return ok ? 0 : 1;
}
