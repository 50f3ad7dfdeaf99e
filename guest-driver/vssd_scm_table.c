// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the on-media table of container regions.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Two copies of the table live at the start of the persistent-memory
 * region (vssd_pmem.h). An update writes the copy that is *not* current,
 * entries first and header last, makes it durable (write-back + device
 * flush) and only then counts it as current. A crash at any point leaves
 * one copy whose crc matches: the old one if the update did not finish,
 * the new one if it did. Loading picks the valid copy with the higher
 * sequence number and checks every entry against the region's geometry.
 *
 * Fault injection for the crash test, in a test build only
 * (vssd_testing.c): the debugfs knob scm_table_tear makes the next update
 * stop after the entries (as if the guest died there); the update fails
 * with -EIO and the knob resets.
 *
 * All functions here are called with pmem->sem held (for writing where
 * they change the table).
 */

#include <linux/bitmap.h>
#include <linux/crc32.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "vssd.h"
#include "vssd_scm.h"
#include "vssd_testing.h"

static u32 vssd_scm_crc(const struct vssd_scm_header *hdr,
			const struct vssd_scm_entry *entries)
{
	struct vssd_scm_header h = *hdr;
	u32 crc;

	h.crc = 0;
	crc = crc32_le(~0, (const u8 *)&h, sizeof(h));
	crc = crc32_le(crc, (const u8 *)entries,
		       VSSD_SCM_MAX_REGIONS * sizeof(*entries));
	return ~crc;
}

static bool vssd_scm_entry_used(const struct vssd_scm_entry *e)
{
	return e->name[0] != '\0';
}

/* Entry @i of @t is sane for @scm's region and overlaps no entry before it. */
static bool vssd_scm_entry_valid(struct vssd_scm *scm,
				 const struct vssd_scm_table *t, unsigned int i)
{
	struct vssd_pmem *pmem = scm->pmem;
	const struct vssd_scm_entry *e = &t->entries[i];
	u64 off = le64_to_cpu(e->offset), size = le64_to_cpu(e->size);
	unsigned int j;

	if (!vssd_scm_name_valid(e->name, sizeof(e->name)) ||
	    le64_to_cpu(e->id) >= t->next_id ||
	    !IS_ALIGNED(off, pmem->block_size) || off < pmem->data_start ||
	    !size || !IS_ALIGNED(size, pmem->block_size) ||
	    off > pmem->size || size > pmem->size - off ||
	    le64_to_cpu(e->used) > size ||
	    le32_to_cpu(e->flags) & ~VSSD_SCM_ENTRY_FLAGS ||
	    !memchr(e->owner, 0, sizeof(e->owner)))
		return false;
	for (j = 0; j < i; j++) {
		const struct vssd_scm_entry *o = &t->entries[j];
		u64 o_off = le64_to_cpu(o->offset);

		if (!vssd_scm_entry_used(o))
			continue;
		if (!strncmp(o->name, e->name, sizeof(e->name)) ||
		    o->id == e->id ||
		    (off < o_off + le64_to_cpu(o->size) && o_off < off + size))
			return false;
	}
	return true;
}

/* Read copy @copy into @t; false if it is not a valid table. */
static bool vssd_scm_read_copy(struct vssd_scm *scm, unsigned int copy,
			       struct vssd_scm_table *t)
{
	struct vssd_pmem *pmem = scm->pmem;
	const void *src = pmem->virt + copy * VSSD_SCM_TABLE_BYTES;
	struct vssd_scm_header hdr;
	unsigned int i;

	memcpy(&hdr, src, sizeof(hdr));
	memcpy(t->entries, src + sizeof(hdr), sizeof(t->entries));
	if (le32_to_cpu(hdr.magic) != VSSD_SCM_MAGIC ||
	    le32_to_cpu(hdr.version) != VSSD_SCM_VERSION ||
	    le32_to_cpu(hdr.nr_entries) != VSSD_SCM_MAX_REGIONS ||
	    le64_to_cpu(hdr.region_size) != pmem->size ||
	    le32_to_cpu(hdr.crc) != vssd_scm_crc(&hdr, t->entries))
		return false;
	t->seq = le64_to_cpu(hdr.seq);
	t->next_id = le64_to_cpu(hdr.next_id);
	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
		if (vssd_scm_entry_used(&t->entries[i]) &&
		    !vssd_scm_entry_valid(scm, t, i))
			return false;
	}
	return true;
}

/**
 * vssd_scm_table_load - find the current table on the media
 * @scm: the region; its first blocks are plugged
 *
 * An empty (never written) area gives an empty table. Two unreadable
 * copies give an empty table too, with a warning: the regions' data is
 * still on the media but no longer indexed.
 */
int vssd_scm_table_load(struct vssd_scm *scm)
{
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_table *t[2];
	bool valid[2];
	unsigned int best;
	int err = 0;

	t[0] = kzalloc(sizeof(*t[0]), GFP_KERNEL);
	t[1] = kzalloc(sizeof(*t[1]), GFP_KERNEL);
	if (!t[0] || !t[1]) {
		err = -ENOMEM;
		goto out;
	}
	valid[0] = vssd_scm_read_copy(scm, 0, t[0]);
	valid[1] = vssd_scm_read_copy(scm, 1, t[1]);

	if (!valid[0] && !valid[1]) {
		if (memchr_inv(pmem->virt, 0, VSSD_SCM_META_BYTES))
			dev_warn(&pmem->vssd->vdev->dev,
				 "scm: no valid region table; starting empty\n");
		memset(&scm->table, 0, sizeof(scm->table));
		scm->table.next_id = 1;
		scm->table_copy = 1;
		goto out;
	}
	best = !valid[0] || (valid[1] && t[1]->seq > t[0]->seq);
	scm->table = *t[best];
	scm->table_copy = best;
	dev_dbg(&pmem->vssd->vdev->dev,
		"scm: region table copy %u, seq %llu (other copy %svalid)\n",
		best, scm->table.seq, valid[!best] ? "" : "in");
out:
	kfree(t[1]);
	kfree(t[0]);
	return err;
}

/**
 * vssd_scm_table_commit - make @t the table, durably
 * @scm: the region; pmem->sem held for writing
 * @t: the new table (entries already changed); seq is set here
 *
 * Return: 0 (scm->table is now @t), or an error with the media and
 * scm->table unchanged in meaning: the current copy was not touched.
 */
static int vssd_scm_table_commit(struct vssd_scm *scm,
				 struct vssd_scm_table *t)
{
	struct vssd_pmem *pmem = scm->pmem;
	unsigned int copy = scm->table_copy ^ 1;
	void *dst = pmem->virt + copy * VSSD_SCM_TABLE_BYTES;
	struct vssd_scm_header hdr = {
		.magic = cpu_to_le32(VSSD_SCM_MAGIC),
		.version = cpu_to_le32(VSSD_SCM_VERSION),
		.seq = cpu_to_le64(scm->table.seq + 1),
		.region_size = cpu_to_le64(pmem->size),
		.next_id = cpu_to_le64(t->next_id),
		.nr_entries = cpu_to_le32(VSSD_SCM_MAX_REGIONS),
	};
	int err;

	hdr.crc = cpu_to_le32(vssd_scm_crc(&hdr, t->entries));
	memcpy(dst + sizeof(hdr), t->entries, sizeof(t->entries));
	if (vssd_testing_tear_table()) {
		vssd_pmem_persist(pmem, copy * VSSD_SCM_TABLE_BYTES,
				  VSSD_SCM_TABLE_BYTES);
		dev_warn(&pmem->vssd->vdev->dev,
			 "scm: region table update torn on purpose (scm_table_tear)\n");
		return -EIO;
	}
	memcpy(dst, &hdr, sizeof(hdr));
	err = vssd_pmem_persist(pmem, copy * VSSD_SCM_TABLE_BYTES,
				VSSD_SCM_TABLE_BYTES);
	if (err)
		return err;
	t->seq = scm->table.seq + 1;
	scm->table = *t;
	scm->table_copy = copy;
	return 0;
}

/**
 * vssd_scm_table_save - save the table as it is now (e.g. after `used` changed)
 * @scm: /dev/scm's context
 */
int vssd_scm_table_save(struct vssd_scm *scm)
{
	struct vssd_scm_table *t;
	int err;

	t = kmemdup(&scm->table, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	err = vssd_scm_table_commit(scm, t);
	kfree(t);
	return err;
}

/**
 * vssd_scm_find - the entry of a region by name
 * @scm: /dev/scm's context
 * @name: a region name
 */
struct vssd_scm_entry *vssd_scm_find(struct vssd_scm *scm, const char *name)
{
	unsigned int i;

	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
		struct vssd_scm_entry *e = &scm->table.entries[i];

		if (vssd_scm_entry_used(e) &&
		    !strncmp(e->name, name, sizeof(e->name)))
			return e;
	}
	return NULL;
}

/**
 * vssd_scm_find_id - the entry of a region by id
 * @scm: /dev/scm's context
 * @id: a region id
 */
struct vssd_scm_entry *vssd_scm_find_id(struct vssd_scm *scm, u64 id)
{
	unsigned int i;

	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
		struct vssd_scm_entry *e = &scm->table.entries[i];

		if (vssd_scm_entry_used(e) && le64_to_cpu(e->id) == id)
			return e;
	}
	return NULL;
}

/* Block @block is metadata or belongs to a region of @t other than @skip. */
static bool vssd_scm_block_taken(struct vssd_scm *scm,
				 const struct vssd_scm_table *t, u64 block,
				 const struct vssd_scm_entry *skip)
{
	struct vssd_pmem *pmem = scm->pmem;
	u64 off = block << pmem->block_shift;
	unsigned int i;

	if (off < pmem->data_start)
		return true;
	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
		const struct vssd_scm_entry *e = &t->entries[i];
		u64 e_off = le64_to_cpu(e->offset);

		if (e == skip || !vssd_scm_entry_used(e))
			continue;
		if (off >= e_off && off - e_off < le64_to_cpu(e->size))
			return true;
	}
	return false;
}

/**
 * vssd_scm_block_used - whether a region (or the table) uses a block
 * @scm: /dev/scm's context
 * @block: a block of the region
 */
bool vssd_scm_block_used(struct vssd_scm *scm, u64 block)
{
	return vssd_scm_block_taken(scm, &scm->table, block, NULL);
}

/*
 * The blocks a new or growing region may not use: unplugged ones, the
 * table's, and every region's but @skip's. One pass over the table, so
 * finding a run is linear in the number of blocks.
 */
static unsigned long *vssd_scm_busy_map(struct vssd_scm *scm,
					const struct vssd_scm_entry *skip)
{
	struct vssd_pmem *pmem = scm->pmem;
	unsigned long *busy;
	unsigned int i;

	busy = bitmap_alloc(pmem->nr_blocks, GFP_KERNEL);
	if (!busy)
		return NULL;
	bitmap_complement(busy, pmem->region.plugged, pmem->nr_blocks);
	bitmap_set(busy, 0, pmem->data_start >> pmem->block_shift);
	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
		const struct vssd_scm_entry *e = &scm->table.entries[i];

		if (e == skip || !vssd_scm_entry_used(e))
			continue;
		bitmap_set(busy, le64_to_cpu(e->offset) >> pmem->block_shift,
			   le64_to_cpu(e->size) >> pmem->block_shift);
	}
	return busy;
}

/* First fit in @busy: the first block of @n free ones, or U64_MAX. */
static u64 vssd_scm_find_run(struct vssd_scm *scm, unsigned long *busy,
			     u64 n)
{
	struct vssd_pmem *pmem = scm->pmem;
	unsigned long first;

	first = bitmap_find_next_zero_area(busy, pmem->nr_blocks, 0, n, 0);
	return first + n <= pmem->nr_blocks ? first : U64_MAX;
}

/* @n blocks from @first are free in @busy. */
static bool vssd_scm_run_free(struct vssd_scm *scm, const unsigned long *busy,
			      u64 first, u64 n)
{
	struct vssd_pmem *pmem = scm->pmem;

	if (first > pmem->nr_blocks || n > pmem->nr_blocks - first)
		return false;
	return find_next_bit(busy, first + n, first) >= first + n;
}

/* A free slot of the table, or VSSD_SCM_MAX_REGIONS. */
static unsigned int vssd_scm_free_slot(struct vssd_scm *scm)
{
	unsigned int i;

	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
		if (!vssd_scm_entry_used(&scm->table.entries[i]))
			break;
	}
	return i;
}

/**
 * vssd_scm_count_implicit - count the implicit regions (of one user)
 * @scm: /dev/scm's context
 * @uid: an effective uid (initial user namespace), or U32_MAX for all
 */
unsigned int vssd_scm_count_implicit(struct vssd_scm *scm, u32 uid)
{
	unsigned int i, n = 0;

	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
		const struct vssd_scm_entry *e = &scm->table.entries[i];

		n += vssd_scm_entry_used(e) &&
		     (le32_to_cpu(e->flags) & CSCM_REGION_IMPLICIT) &&
		     (uid == U32_MAX || le32_to_cpu(e->uid) == uid);
	}
	return n;
}

/**
 * vssd_scm_create - add a region
 * @scm: pmem->sem held for writing
 * @name: a valid name that no region has
 * @size: bytes, rounded up to whole blocks
 * @owner: shown in /proc/scm/regions, cut to VSSD_SCM_OWNER_MAX - 1
 * @flags: CSCM_REGION_*
 * @entryp: receives the entry
 *
 * Return: 0, -ENOSPC without a long enough run of free plugged blocks or a
 * free slot, or the error of the table update (nothing created).
 */
int vssd_scm_create(struct vssd_scm *scm, const char *name, u64 size,
		    const char *owner, u32 flags,
		    struct vssd_scm_entry **entryp)
{
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_table *t;
	struct vssd_scm_entry *e = NULL;
	unsigned int slot;
	unsigned long *busy;
	u64 nblocks, first;
	int err;

	if (!size || size > pmem->size)
		return -EINVAL;
	nblocks = DIV_ROUND_UP_ULL(size, pmem->block_size);
	slot = vssd_scm_free_slot(scm);
	if (slot == VSSD_SCM_MAX_REGIONS)
		return -ENOSPC;
	busy = vssd_scm_busy_map(scm, NULL);
	if (!busy)
		return -ENOMEM;
	first = vssd_scm_find_run(scm, busy, nblocks);
	bitmap_free(busy);
	if (first == U64_MAX)
		return -ENOSPC;

	t = kmemdup(&scm->table, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	e = &t->entries[slot];
	memset(e, 0, sizeof(*e));
	strscpy(e->name, name, sizeof(e->name));
	strscpy(e->owner, owner, sizeof(e->owner));
	e->flags = cpu_to_le32(flags);
	e->uid = cpu_to_le32(from_kuid(&init_user_ns, current_euid()));
	e->id = cpu_to_le64(t->next_id++);
	e->offset = cpu_to_le64(first << pmem->block_shift);
	e->size = cpu_to_le64(nblocks << pmem->block_shift);

	/* a new region reads as zeroes, whoever used the blocks before */
	memset(pmem->virt + (first << pmem->block_shift), 0,
	       nblocks << pmem->block_shift);
	err = vssd_pmem_persist(pmem, first << pmem->block_shift,
				nblocks << pmem->block_shift);
	if (!err)
		err = vssd_scm_table_commit(scm, t);
	kfree(t);
	if (err)
		return err;
	*entryp = &scm->table.entries[slot];
	dev_dbg(&pmem->vssd->vdev->dev, "scm: region %s: %llu bytes at %llu\n",
		name, nblocks << pmem->block_shift,
		first << pmem->block_shift);
	return 0;
}

/*
 * Where a region at @off of @old bytes can have @size bytes (@size > @old):
 * in place when the blocks after it are free and plugged, else the first
 * free run of the new size. Returns the byte offset, or U64_MAX.
 */
static u64 vssd_scm_grow_target(struct vssd_scm *scm,
				const struct vssd_scm_entry *e, u64 off,
				u64 old, u64 size)
{
	struct vssd_pmem *pmem = scm->pmem;
	unsigned long *busy;
	u64 first;

	busy = vssd_scm_busy_map(scm, e);
	if (!busy)
		return U64_MAX;
	if (vssd_scm_run_free(scm, busy, (off + old) >> pmem->block_shift,
			      (size - old) >> pmem->block_shift)) {
		first = off >> pmem->block_shift;
	} else {
		/* the region's own blocks are not free for its new place */
		bitmap_set(busy, off >> pmem->block_shift,
			   old >> pmem->block_shift);
		first = vssd_scm_find_run(scm, busy,
					  size >> pmem->block_shift);
	}
	bitmap_free(busy);
	return first == U64_MAX ? U64_MAX : first << pmem->block_shift;
}

/**
 * vssd_scm_resize - change a region's size
 * @scm: pmem->sem held for writing; the region's mappings revoked
 * @e: the region's entry in scm->table
 * @size: new size in bytes, rounded up to whole blocks
 *
 * A region grows in place when the blocks right after it are free and
 * plugged; otherwise it moves to the first free run of the new size (its
 * bytes are copied there and made durable before the table points at
 * them, so a crash leaves it whole at one place or the other). The new
 * part reads as zeroes. Return: 0, -ENOSPC without room, or the error of
 * the flush or the table update (the region unchanged).
 */
int vssd_scm_resize(struct vssd_scm *scm, struct vssd_scm_entry *e,
		    u64 size)
{
	struct vssd_pmem *pmem = scm->pmem;
	unsigned int slot = e - scm->table.entries;
	u64 off = le64_to_cpu(e->offset), old = le64_to_cpu(e->size);
	u64 to = off, keep;
	struct vssd_scm_table *t;
	int err;

	if (!size || size > pmem->size)
		return -EINVAL;
	size = DIV_ROUND_UP_ULL(size, pmem->block_size) << pmem->block_shift;
	keep = min(old, size);
	if (size > old) {
		to = vssd_scm_grow_target(scm, e, off, old, size);
		if (to == U64_MAX)
			return -ENOSPC;
		if (to != off) {
			err = vssd_pmem_copy(pmem, to, off, old);
			if (err)
				return err;
		}
		memset(pmem->virt + to + old, 0, size - old);
		err = vssd_pmem_persist(pmem, to, size);
		if (err)
			return err;
	}

	t = kmemdup(&scm->table, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->entries[slot].offset = cpu_to_le64(to);
	t->entries[slot].size = cpu_to_le64(size);
	if (le64_to_cpu(t->entries[slot].used) > keep)
		t->entries[slot].used = cpu_to_le64(keep);
	err = vssd_scm_table_commit(scm, t);
	kfree(t);
	if (!err && to != off)
		dev_dbg(&pmem->vssd->vdev->dev,
			"scm: region %.*s moved from %llu to %llu (%llu bytes)\n",
			(int)sizeof(e->name), e->name, off, to, size);
	return err;
}

/**
 * vssd_scm_delete - remove a region (pmem->sem held for writing)
 * @scm: /dev/scm's context
 * @e: the region's entry
 */
int vssd_scm_delete(struct vssd_scm *scm, struct vssd_scm_entry *e)
{
	unsigned int slot = e - scm->table.entries;
	struct vssd_scm_table *t;
	int err;

	t = kmemdup(&scm->table, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	memset(&t->entries[slot], 0, sizeof(t->entries[slot]));
	err = vssd_scm_table_commit(scm, t);
	kfree(t);
	return err;
}
