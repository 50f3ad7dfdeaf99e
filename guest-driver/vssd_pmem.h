/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vssd guest driver: the persistent-memory region and CSCM.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * File map:
 *   vssd_pmem.c       the region itself: shared memory window, plugged map,
 *                     write-back + PMEM_FLUSH
 *   vssd_scm_table.c  the on-media table of container regions
 *   vssd_scm.c        /dev/scm (the container demux), /proc/scm/regions
 *
 * Media layout (offsets in the persistent-memory region):
 *
 *   [0, VSSD_SCM_META_BYTES)   two copies of the region table, each
 *                              VSSD_SCM_TABLE_BYTES; the valid copy with
 *                              the higher sequence number is the table
 *   [data_start, size)         container regions, each a run of whole
 *                              persistent-memory blocks
 *
 * data_start is VSSD_SCM_META_BYTES rounded up to the block size, so that
 * the blocks of the table are never given back to the host.
 *
 * Locking: pmem->sem (rw_semaphore) covers the table, the plugged map and
 * the page tables of every /dev/scm mapping: faults take it for reading
 * and insert their page under it; anything that moves, shrinks, deletes or
 * unplugs region memory takes it for writing and revokes mappings first.
 * The control queue (ctrl_mutex) nests inside it.
 */
#ifndef _VSSD_PMEM_H
#define _VSSD_PMEM_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/vssd_scm.h>
#include "vssd_region.h"

struct vssd_device;

/* "VSCM" */
#define VSSD_SCM_MAGIC		0x4d435356
#define VSSD_SCM_VERSION	2
/* Container regions one table holds. */
#define VSSD_SCM_MAX_REGIONS	64
/* One copy of the table. */
#define VSSD_SCM_TABLE_BYTES	16384
/* Both copies. */
#define VSSD_SCM_META_BYTES	(2 * VSSD_SCM_TABLE_BYTES)
/* Longest owner string kept (the creator's cgroup path, cut). */
#define VSSD_SCM_OWNER_MAX	24

/* The region of processes outside every container. */
#define VSSD_SCM_HOST		"host"

/* Flags an entry may carry. */
#define VSSD_SCM_ENTRY_FLAGS	(CSCM_REGION_IMAGE | CSCM_REGION_IMPLICIT)

/* One container region on the media (little endian, 128 bytes). */
struct vssd_scm_entry {
	/* NUL-padded region name; empty = free slot. */
	char name[CSCM_NAME_MAX];
	/* Unique id, never reused (files refer to regions by id). */
	__le64 id;
	/* Byte offset in the persistent-memory region, block aligned. */
	__le64 offset;
	/* Size in bytes, a multiple of the block size. */
	__le64 size;
	/* Bytes in use, as the region's user reported (CSCM_IOC_SET_USED). */
	__le64 used;
	/* Creator: its cgroup path (its tail if long), or "scmctl". */
	char owner[VSSD_SCM_OWNER_MAX];
	/* CSCM_REGION_* */
	__le32 flags;
	/* Who made an implicit region: its effective uid (initial ns). */
	__le32 uid;
};

/* Header of one table copy; the entries follow (little endian, 64 bytes). */
struct vssd_scm_header {
	__le32 magic;
	__le32 version;
	/* Bumped by every update; the higher valid copy wins. */
	__le64 seq;
	/* Size of the persistent-memory region the table was made for. */
	__le64 region_size;
	/* Next region id to hand out. */
	__le64 next_id;
	/* Entries that follow (slots, used or free). */
	__le32 nr_entries;
	/* crc32 of the header (this field 0) and the entries. */
	__le32 crc;
	__u8 reserved[24];
};

/* The table as kept in memory (host byte order where it matters). */
struct vssd_scm_table {
	u64 seq;
	u64 next_id;
	struct vssd_scm_entry entries[VSSD_SCM_MAX_REGIONS];
};

struct vssd_pmem {
	/* The device (until remove), and each open /dev/scm file, hold one. */
	struct kref ref;
	/* The device. */
	struct vssd_device *vssd;
	/* Guest-physical address and length of the shared memory window. */
	u64 phys;
	u64 size;
	/* Kernel mapping of the window, write-back cached; NULL once removed. */
	void *virt;
	/* Bytes per persistent-memory block, its log2, and the block count. */
	u32 block_size;
	unsigned int block_shift;
	u64 nr_blocks;
	/* First byte that container regions may use. */
	u64 data_start;

	/*
	 * Held for reading across the device round trip of a container's
	 * flush, which runs without @sem so that no writer of @sem waits
	 * behind it; removal takes it for writing before the device goes.
	 */
	struct rw_semaphore flush_sem;
	/* Covers everything below (see the comment at the top). */
	struct rw_semaphore sem;
	/* Its plugged blocks; region.plugged is written under @sem too. */
	struct vssd_region region;
	/* The region table. */
	struct vssd_scm_table table;
	/* Which copy holds table.seq (0 or 1). */
	unsigned int table_copy;

	/*
	 * An inode of our own pseudo file system whose i_mapping every
	 * /dev/scm file uses, whichever device node it was opened through,
	 * so that one unmap_mapping_range() revokes all their mappings.
	 */
	struct inode *inode;
	/* /dev/scm; registered for the first device with persistent memory. */
	struct miscdevice misc;
	bool misc_registered;
};

/* vssd_pmem.c */
int vssd_pmem_probe(struct vssd_device *vssd);
void vssd_pmem_remove(struct vssd_device *vssd);
int vssd_pmem_flush(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_writeback(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_flush_release(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_persist(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_copy(struct vssd_pmem *pmem, u64 dst, u64 src, u64 len);
bool vssd_pmem_range_plugged(struct vssd_pmem *pmem, u64 offset, u64 len);
void vssd_pmem_free(struct vssd_pmem *pmem);
int vssd_pmem_resize(struct vssd_pmem *pmem, bool grow, bool host,
		     u32 generation, u64 blocks);

/* vssd_scm_table.c */
int vssd_scm_table_load(struct vssd_pmem *pmem);
int vssd_scm_table_save(struct vssd_pmem *pmem);
struct vssd_scm_entry *vssd_scm_find(struct vssd_pmem *pmem,
				     const char *name);
struct vssd_scm_entry *vssd_scm_find_id(struct vssd_pmem *pmem, u64 id);
int vssd_scm_create(struct vssd_pmem *pmem, const char *name, u64 size,
		    const char *owner, u32 flags,
		    struct vssd_scm_entry **entryp);
unsigned int vssd_scm_count_implicit(struct vssd_pmem *pmem, u32 uid);
int vssd_scm_resize(struct vssd_pmem *pmem, struct vssd_scm_entry *e,
		    u64 size);
int vssd_scm_delete(struct vssd_pmem *pmem, struct vssd_scm_entry *e);
bool vssd_scm_block_used(struct vssd_pmem *pmem, u64 block);

/* Who a process is, for /dev/scm (vssd_scm_ident.c). */
struct vssd_scm_ident {
	/* The region it gets. */
	char name[CSCM_NAME_MAX];
	/* Its container cgroup's path (cut), or "host". */
	char owner[VSSD_SCM_OWNER_MAX];
	/* Size of the region if it is created now (0: the default). */
	u64 size;
	/* Through an administrator's binding; the host. */
	bool bound;
	bool host;
};

/* vssd_scm_ident.c */
struct cgroup;
struct seq_file;
int vssd_scm_ident_current(struct vssd_scm_ident *id);
int vssd_scm_ident_of_cgroup(struct cgroup *cgrp, char *name);
bool vssd_scm_caller_is_admin(void);
bool vssd_scm_admin_name_valid(const char *name, size_t max);
bool vssd_scm_name_valid(const char *name, size_t max);
int vssd_scm_bind(struct cgroup *cgrp, const char *name, u64 size);
int vssd_scm_unbind(const char *name);
bool vssd_scm_name_bound(const char *name);
int vssd_scm_bindings_show(struct seq_file *m, void *v);
void vssd_scm_bindings_clear(void);

/* vssd_scm.c */
int vssd_scm_init(struct vssd_pmem *pmem);
void vssd_scm_exit(struct vssd_pmem *pmem);
void vssd_scm_put(struct vssd_pmem *pmem);
void vssd_scm_inode_put(struct vssd_pmem *pmem);
void vssd_scm_revoke(struct vssd_pmem *pmem);
unsigned int vssd_scm_nr_regions(struct vssd_pmem *pmem);
int vssd_scm_proc_init(void);
void vssd_scm_proc_exit(void);

#endif /* _VSSD_PMEM_H */
