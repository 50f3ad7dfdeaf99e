/* SPDX-License-Identifier: MIT */
/*
 * libscm internals: the on-media heap layout and what the files share.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Files:
 *   region.c  open/close, mapping /dev/scm or a regular file, the host
 *             flush, usage reports, the public entry points
 *   heap.c    the allocator: format, recovery, alloc/free, check
 *   lock.c    the lock between processes (a word in the heap header)
 *   tx.c      undo-log transactions
 *   flush.c   cache-line write-back (CPUID picks the instruction)
 *
 * Media layout (offsets from the start of the region, little endian):
 *
 *   [0, 4096)            struct scm_heap_header: magic, version, the
 *                        intent record, the root, the extent table,
 *                        the lock line, the undo log's offset
 *   extent i:            [map, map + map bytes)   its unit map
 *                        [data, data + units * 64) its allocation units
 *
 * Extent 0's map starts at 4096; a region that grows gets the new space
 * as a longer last extent (up to the capacity of its map) or as a new
 * extent after it. The unit map holds 2 bits per 64-byte unit:
 * SCM_UNIT_FREE, SCM_UNIT_HEAD (first unit of an allocated block) or
 * SCM_UNIT_BODY (the following units of that block). A block is thus a
 * HEAD followed by BODY units; no header precedes the data.
 *
 * Update protocol of scmalloc()/scmfree() (one at a time, under
 * scm_mutex and the region lock):
 *   1. write the intent record (extent, first unit, units, the extent's
 *      used count, for scmalloc_into()/scmfree_from() the destination
 *      word and its old value, check word last) and write it back + fence;
 *   2. scmfree_from(): clear the destination word;
 *      rewrite the unit map words of the block, the word holding the
 *      HEAD first, then the extent's used count; write back + fence;
 *      scmalloc_into(): store the block's offset in the destination;
 *   3. clear the intent (op = 0), write back + fence.
 * Recovery clears the units named by a valid intent and sets the used
 * count from the intent: that undoes an allocation that had not returned
 * (and puts the destination's old value back) and completes a free that
 * had started (and clears the destination). Every map word is written
 * whole, so a map word is never torn; BODY units not preceded by a HEAD
 * or BODY (which only a torn host writeback can leave) are freed at open
 * as well.
 *
 * The undo log (tx.c) is a heap block whose offset is in the header; it
 * is allocated with the protocol above, its destination word being the
 * header's txlog field.
 *
 * Everything here is for libscm itself and its tests, not an API.
 */
#ifndef SCM_INTERNAL_H
#define SCM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SCM_PUBLIC __attribute__((visibility("default")))

/* "SCMHEAP1", and the value it has while a format is under way. */
#define SCM_HEAP_MAGIC		0x31504145484d4353ULL
#define SCM_HEAP_FORMATTING	0x544d52464d4d4353ULL
/*
 * Version 2 added the lock line, the destination fields of the intent and
 * the undo log. A version 1 heap is upgraded at open (the fields it lacks
 * were reserved and zero); a libscm that knows only version 1 refuses the
 * upgraded heap, since it would neither take the lock nor roll back a
 * transaction.
 */
#define SCM_HEAP_VERSION	2
#define SCM_HEAP_VERSION_MIN	1

#define SCM_HEADER_BYTES	4096
#define SCM_UNIT_SHIFT		6
#define SCM_UNIT_BYTES		(1u << SCM_UNIT_SHIFT)
#define SCM_MAX_EXTENTS		16
/* Smallest region libscm accepts, and smallest extent worth adding. */
#define SCM_MIN_REGION		8192
#define SCM_MIN_EXTENT		65536

/* Unit states, 2 bits each, 32 units per 64-bit map word. */
#define SCM_UNIT_FREE		0x0ULL
#define SCM_UNIT_BODY		0x1ULL
#define SCM_UNIT_BAD		0x2ULL
#define SCM_UNIT_HEAD		0x3ULL
#define SCM_UNITS_PER_WORD	32

/* Intent record operations. */
#define SCM_INTENT_NONE		0
#define SCM_INTENT_ALLOC	1
#define SCM_INTENT_FREE		2

/* One extent of the heap (64 bytes). */
struct scm_extent {
	/* Offset of its unit map. */
	uint64_t map;
	/* Offset of its first unit (64-byte aligned). */
	uint64_t data;
	/* Units the heap uses now (shrinks and grows with the region). */
	uint64_t units;
	/* Units its map has room for. */
	uint64_t capacity;
	/* Units allocated (so that an extent cut off can be dropped). */
	uint64_t used;
	uint64_t reserved[3];
};

/* The update under way (64 bytes, one cache line). */
struct scm_intent {
	/* SCM_INTENT_*; 0 when no update is under way. */
	uint64_t op;
	/* Extent and first unit of the block. */
	uint64_t extent;
	uint64_t unit;
	/* Units of the block. */
	uint64_t units;
	/* The extent's used count before the update. */
	uint64_t used_before;
	/* scm_intent_check() of the fields above and below; written last. */
	uint64_t check;
	/* Offset of the destination word (0: none) and its value before. */
	uint64_t dst;
	uint64_t dst_old;
};

/*
 * The lock between the processes that have the region open (lock.c), in
 * a cache line of its own. Not persistent state: nothing flushes it, and
 * a value left by a crash names a process that no longer exists.
 */
struct scm_lock_line {
	/* 0 when free, else the owner's scm_owner_word(). */
	uint64_t owner;
	/* Bumped by every heap update, so that the next holder knows that
	 * what it cached about the heap may be stale. */
	uint64_t changes;
	uint64_t reserved[6];
};

/* Offset 0 of the region (SCM_HEADER_BYTES reserved). */
struct scm_heap_header {
	/* SCM_HEAP_MAGIC; written last when formatting. */
	uint64_t magic;
	/* SCM_HEAP_VERSION. */
	uint32_t version;
	/* SCM_HEADER_BYTES and SCM_UNIT_BYTES, for sanity checks. */
	uint32_t header_bytes;
	uint32_t unit_bytes;
	/* SCM_MAX_EXTENTS. */
	uint32_t max_extents;
	/* Extents in use; raised only after the new one is written. */
	uint64_t nr_extents;
	/* Offset of the root object; 0 = none. */
	uint64_t root;
	/* Offset of the undo log (a heap block); 0 until the first tx. */
	uint64_t txlog;
	uint64_t reserved0[2];
	/* At 64: the update under way. */
	struct scm_intent intent;
	/* At 128: the extent table. */
	struct scm_extent extents[SCM_MAX_EXTENTS];
	/* At 1152: the lock. */
	struct scm_lock_line lock;
};

/* The undo log: this head, then entries (tx.c). */
struct scm_txlog_head {
	/* SCM_TXLOG_MAGIC once the head is written. */
	uint64_t magic;
	/* Bytes of the whole log block. */
	uint64_t bytes;
	/* Transaction number << 2 | SCM_TX_* (one word: never torn). */
	uint64_t state;
	uint64_t reserved[5];
};

#define SCM_TXLOG_MAGIC		0x31474f4c58544353ULL	/* "SCTXLOG1" */
#define SCM_TX_IDLE		0
#define SCM_TX_ACTIVE		1
#define SCM_TX_COMMITTED	2

/* A transaction of this process (one at a time per region). */
struct scm_tx {
	/* Open, and by which thread. */
	bool open;
	pthread_t thread;
	/* Its number, the bytes of log entries, the last entry's offset in
	 * the log (0: none), and how many frees wait for the commit. */
	uint64_t gen;
	uint64_t tail;
	uint64_t last;
	unsigned int frees;
	/* The log head reached the host since the transaction began. */
	bool head_synced;
};

/* Where the open region lives and how it is flushed. */
enum scm_backend {
	SCM_BACKEND_DEVICE,	/* /dev/scm: the CSCM_IOC_* ioctls */
	SCM_BACKEND_FILE,	/* a regular file: msync(2) */
};

/* The open region (all of it under scm_mutex). */
struct scm_region {
	/* A region is mapped. */
	bool open;
	enum scm_backend backend;
	int fd;
	/* The mapping and its size (the region's size). */
	unsigned char *base;
	size_t size;
	/* Region name, or the file's path. */
	char name[256];

	/* Heap: units allocated, and the metadata's own bytes. */
	uint64_t used_units;
	uint64_t meta_bytes;
	/* Per extent: no free unit below this one (first-fit start). */
	uint64_t hint[SCM_MAX_EXTENTS];
	/* Metadata written since the last host flush: [lo, hi), lo < hi. */
	uint64_t dirty_lo, dirty_hi;
	/* Bytes in use as last reported with CSCM_IOC_SET_USED. */
	uint64_t reported;

	/* The region lock: this process's owner word (0 until computed,
	 * again after fork), whether this process holds the lock, and
	 * whether a thread keeps it across calls (scm_lock(), a
	 * transaction) and which. */
	uint64_t self_word;
	bool locked;
	bool user_lock;
	pthread_t holder;
	/* The lock line's change count when this process last knew the
	 * heap (its hints and counts are stale when that moved). */
	uint64_t changes_seen;
	/* The transaction under way, if any. */
	struct scm_tx tx;
};

extern struct scm_region scm_region;
extern pthread_mutex_t scm_mutex;
extern pthread_cond_t scm_cond;

/* heap.c; all with scm_mutex and the region lock held. */
int scm_heap_open(struct scm_region *r);
bool scm_heap_looks_new(const struct scm_region *r);
bool scm_heap_magic_ok(const struct scm_region *r);
void scm_heap_recover(struct scm_region *r);
void scm_heap_refresh(struct scm_region *r);
int scm_heap_find(struct scm_region *r, size_t size, unsigned int *xp,
		  uint64_t *up, uint64_t *np);
void *scm_heap_commit_alloc(struct scm_region *r, unsigned int x,
			    uint64_t unit, uint64_t n, uint64_t *dst);
void *scm_heap_alloc(struct scm_region *r, size_t size);
int scm_heap_locate(const struct scm_region *r, const void *ptr,
		    unsigned int *xp, uint64_t *up, uint64_t *np);
int scm_heap_free(struct scm_region *r, void *ptr);
int scm_heap_free_from(struct scm_region *r, uint64_t *dst);
bool scm_heap_block_at(struct scm_region *r, uint64_t off, uint64_t units);
void *scm_heap_alloc_into(struct scm_region *r, uint64_t *dst, size_t size);
bool scm_heap_data_range(const struct scm_region *r, uint64_t off,
			 uint64_t len);
size_t scm_heap_block_size(struct scm_region *r, const void *ptr);
int scm_heap_check(struct scm_region *r);
uint64_t scm_heap_used(const struct scm_region *r);
struct scm_heap_header *scm_heap_header(const struct scm_region *r);
void scm_heap_dirty(struct scm_region *r, uint64_t off, uint64_t len);
void scm_persist(struct scm_region *r, const void *p, size_t len);
void scm_heap_changed(struct scm_region *r);

/* lock.c */
int scm_region_acquire(struct scm_region *r, bool at_open);
void scm_region_release(struct scm_region *r);
bool scm_region_pinned(const struct scm_region *r);
uint64_t scm_owner_word(pid_t pid);
bool scm_owner_alive(uint64_t word);
void scm_lock_after_fork(struct scm_region *r);

/* tx.c; with scm_mutex and the region lock held. */
int scm_tx_recover(struct scm_region *r);
int scm_tx_validate(const struct scm_region *r);
bool scm_tx_mine(const struct scm_region *r);
int scm_tx_start(struct scm_region *r);
int scm_tx_finish(struct scm_region *r);
int scm_tx_cancel(struct scm_region *r);
int scm_tx_log_alloc(struct scm_region *r, unsigned int x, uint64_t unit,
		     uint64_t n);
int scm_tx_log_free(struct scm_region *r, uint64_t off, uint64_t n);
int scm_tx_snapshot(struct scm_region *r, uint64_t off, uint64_t len);
uint64_t scm_tx_log_block(const struct scm_region *r, uint64_t *bytes);
bool scm_tx_in_log(const struct scm_region *r, uint64_t off, uint64_t len);

/* region.c */
int scm_host_sync(struct scm_region *r, uint64_t off, uint64_t len);
struct cscm_range;
int scm_host_syncv(struct scm_region *r, struct cscm_range *ranges,
		   unsigned int n);
int scm_sync_metadata(struct scm_region *r);
void scm_report_used(struct scm_region *r, bool force);
void scm_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* flush.c: write back [addr, addr + len) from the CPU caches, then fence. */
void scm_flush_range(const void *addr, size_t len);
void scm_fence(void);

/* The write-back instruction flush.c uses. */
enum scm_flush_method {
	SCM_FLUSH_AUTO,
	SCM_FLUSH_CLFLUSH,
	SCM_FLUSH_CLFLUSHOPT,
	SCM_FLUSH_CLWB,
	SCM_FLUSH_FENCE_ONLY,	/* not x86: a full fence, nothing else */
};
enum scm_flush_method scm_flush_method(void);

/*
 * Test hooks: only in the test build of the library (SCM_TESTING, the
 * objects of $(OUT)/libscm-test.a that the unit tests link), never in
 * libscm.a or libscm.so.
 *
 * scm_test_hook, when set, is called at each numbered point of a heap
 * update or a transaction (a test makes it kill the process there).
 * scm_test_flush_method() forces a write-back instruction; it returns -1
 * when the CPU lacks it. scm_test_syncv_max is the most ranges one host
 * flush was asked for; like the device, the test build refuses more than
 * CSCM_SYNCV_MAX ranges on a regular file too. scm_test_synced, when
 * set, is called after each msync of a regular file with the range it
 * made durable (a test keeps what a host crash would leave).
 */
enum scm_hook_point {
	SCM_HOOK_INTENT = 1,	/* intent recorded, map untouched */
	SCM_HOOK_MAP_WORD,	/* after each map word is stored */
	SCM_HOOK_MAP,		/* map written back, intent still set */
	SCM_HOOK_DST,		/* destination word written, intent set */
	SCM_HOOK_DONE,		/* intent cleared, before returning */
	SCM_HOOK_TX_BEGUN,	/* log state active */
	SCM_HOOK_TX_ENTRY,	/* an entry written, its tail not yet */
	SCM_HOOK_TX_ADDED,	/* an entry durable */
	SCM_HOOK_TX_SYNCED,	/* commit: data and log durable */
	SCM_HOOK_TX_COMMITTED,	/* commit: the commit point is durable */
	SCM_HOOK_TX_FREED,	/* commit: the deferred frees are done */
	SCM_HOOK_TX_RESTORED,	/* rollback: an entry undone */
	SCM_HOOK_TX_ENDED,	/* log state idle, before returning */
};

#ifdef SCM_TESTING
extern void (*scm_test_hook)(enum scm_hook_point point);
extern unsigned int scm_test_syncv_max;
extern void (*scm_test_synced)(const void *base, uint64_t off, uint64_t len);
int scm_test_flush_method(enum scm_flush_method m);
static inline void scm_hook(enum scm_hook_point point)
{
	if (scm_test_hook)
		scm_test_hook(point);
}
#else
static inline void scm_hook(enum scm_hook_point point)
{
	(void)point;
}
#endif

#endif /* SCM_INTERNAL_H */
