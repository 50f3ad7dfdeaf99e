/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vssd guest driver: /dev/scm, a client of the persistent-memory
 * region.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * File map:
 *   vssd_scm_ident.c  which region a process gets
 *   vssd_scm_table.c  the on-media table of container regions (its layout
 *                     is in vssd_pmem.h)
 *   vssd_scm.c        /dev/scm (the container demux), /proc/scm/
 *
 * Everything here that touches the table or region memory runs with
 * pmem->sem held (for writing where it changes them).
 */
#ifndef _VSSD_SCM_H
#define _VSSD_SCM_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/types.h>
#include <linux/vssd_scm.h>
#include "vssd_pmem.h"

struct vssd_device;

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

/* /dev/scm on one device's persistent-memory region. */
struct vssd_scm {
	/* The device (until remove), and each open /dev/scm file, hold one. */
	struct kref ref;
	/* The region; a reference held. Its sem covers the fields below. */
	struct vssd_pmem *pmem;
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

/* vssd_scm_table.c */
int vssd_scm_table_load(struct vssd_scm *scm);
int vssd_scm_table_save(struct vssd_scm *scm);
struct vssd_scm_entry *vssd_scm_find(struct vssd_scm *scm,
				     const char *name);
struct vssd_scm_entry *vssd_scm_find_id(struct vssd_scm *scm, u64 id);
int vssd_scm_create(struct vssd_scm *scm, const char *name, u64 size,
		    const char *owner, u32 flags,
		    struct vssd_scm_entry **entryp);
unsigned int vssd_scm_count_implicit(struct vssd_scm *scm, u32 uid);
int vssd_scm_resize(struct vssd_scm *scm, struct vssd_scm_entry *e,
		    u64 size);
int vssd_scm_delete(struct vssd_scm *scm, struct vssd_scm_entry *e);
bool vssd_scm_block_used(struct vssd_scm *scm, u64 block);

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
int vssd_scm_probe(struct vssd_device *vssd);
void vssd_scm_remove(struct vssd_device *vssd);
int vssd_scm_proc_init(void);
void vssd_scm_proc_exit(void);

#endif /* _VSSD_SCM_H */
