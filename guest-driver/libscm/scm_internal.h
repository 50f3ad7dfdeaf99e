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
 *   flush.c   cache-line write-back (CPUID picks the instruction)
 *
 * Media layout (offsets from the start of the region, little endian):
 *
 *   [0, 4096)            struct scm_heap_header: magic, version, the
 *                        intent record, the root, the extent table
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
 * scm_lock):
 *   1. write the intent record (extent, first unit, units, the extent's
 *      used count, check word last) and write it back + fence;
 *   2. rewrite the unit map words of the block, the word holding the
 *      HEAD first, then the extent's used count; write back + fence;
 *   3. clear the intent (op = 0), write back + fence.
 * Recovery at open clears the units named by a valid intent and sets the
 * used count from the intent: that undoes an allocation that had not
 * returned and completes a free that had started. Every map word is written whole, so a map word is never torn;
 * BODY units not preceded by a HEAD or BODY (which only a torn host
 * writeback can leave) are freed at open as well.
 *
 * Everything here is for libscm itself and its tests, not an API.
 */
#ifndef SCM_INTERNAL_H
#define SCM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCM_PUBLIC __attribute__((visibility("default")))

/* "SCMHEAP1", and the value it has while a format is under way. */
#define SCM_HEAP_MAGIC		0x31504145484d4353ULL
#define SCM_HEAP_FORMATTING	0x544d52464d4d4353ULL
#define SCM_HEAP_VERSION	1

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
	/* scm_intent_check() of the fields above; written last. */
	uint64_t check;
	uint64_t reserved[2];
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
	uint64_t reserved0[3];
	/* At 64: the update under way. */
	struct scm_intent intent;
	/* At 128: the extent table. */
	struct scm_extent extents[SCM_MAX_EXTENTS];
};

/* Where the open region lives and how it is flushed. */
enum scm_backend {
	SCM_BACKEND_DEVICE,	/* /dev/scm: the SCM_IOC_* ioctls */
	SCM_BACKEND_FILE,	/* a regular file: msync(2) */
};

/* The open region (all of it under scm_lock). */
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
};

extern struct scm_region scm_region;
extern pthread_mutex_t scm_lock;

/* heap.c; all with scm_lock held and the region mapped. */
int scm_heap_open(struct scm_region *r);
void *scm_heap_alloc(struct scm_region *r, size_t size);
int scm_heap_free(struct scm_region *r, void *ptr);
size_t scm_heap_block_size(struct scm_region *r, const void *ptr);
int scm_heap_check(struct scm_region *r);
uint64_t scm_heap_used(const struct scm_region *r);
struct scm_heap_header *scm_heap_header(const struct scm_region *r);
void scm_heap_dirty(struct scm_region *r, uint64_t off, uint64_t len);

/* region.c */
int scm_host_sync(struct scm_region *r, uint64_t off, uint64_t len);
void scm_report_used(struct scm_region *r, bool force);
void scm_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* flush.c: write back [addr, addr + len) from the CPU caches, then fence. */
void scm_flush_range(const void *addr, size_t len);
void scm_fence(void);

/*
 * Test hooks (libscm.a only; hidden in libscm.so).
 *
 * scm_test_hook, when set, is called at each numbered point of a heap
 * update (a test makes it kill the process there). scm_test_flush_method()
 * forces a write-back instruction; it returns -1 when the CPU lacks it.
 */
enum scm_hook_point {
	SCM_HOOK_INTENT = 1,	/* intent recorded, map untouched */
	SCM_HOOK_MAP_WORD,	/* after each map word is stored */
	SCM_HOOK_MAP,		/* map written back, intent still set */
	SCM_HOOK_DONE,		/* intent cleared, before returning */
};
extern void (*scm_test_hook)(enum scm_hook_point point);

enum scm_flush_method {
	SCM_FLUSH_AUTO,
	SCM_FLUSH_CLFLUSH,
	SCM_FLUSH_CLFLUSHOPT,
	SCM_FLUSH_CLWB,
	SCM_FLUSH_FENCE_ONLY,	/* not x86: a full fence, nothing else */
};
int scm_test_flush_method(enum scm_flush_method m);
enum scm_flush_method scm_flush_method(void);

#endif /* SCM_INTERNAL_H */
