// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the block region's resize ops: which blocks
 * to give back, quiescing them, recency.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * A shrink under policy GUEST gives back, in this order:
 *
 *   1. hinted blocks that are plugged, in the order userspace wrote them
 *      (/proc/vssd/vssdN/hints): userspace knows best what is cold;
 *   2. plugged blocks not read or written since the driver was loaded (or
 *      discarded since), highest block first: file systems fill a disk
 *      from the front, and neighbouring blocks make long ranges, so short
 *      lists;
 *   3. the least recently used of the rest.
 *
 * Recency costs one u32 per block (vssd->last_use), stamped by queue_rq
 * with jiffies without a lock: a lost update only makes a hot block look
 * a little older. A grow takes the lowest unplugged blocks.
 *
 * The choice goes into vssd->block.chosen, which belongs to the resize work
 * (ctrl_mutex held); the plugged bitmap does not change meanwhile because
 * the resize work is its only writer after probe.
 */

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/sort.h>
#include "vssd.h"

/* A plugged block that is not chosen yet. */
static bool vssd_evictable(struct vssd_device *vssd, u64 block)
{
	return test_bit(block, vssd->block.plugged) && !test_bit(block, vssd->block.chosen);
}

/* Step 1: the hints, in order. Returns the blocks chosen. */
static u64 vssd_choose_hinted(struct vssd_device *vssd, u64 want)
{
	u64 n = 0;
	u32 i;

	mutex_lock(&vssd->hints_mutex);
	for (i = 0; i < vssd->nr_hints && n < want; i++) {
		u32 block = vssd->hints[i];

		if (vssd_evictable(vssd, block)) {
			__set_bit(block, vssd->block.chosen);
			n++;
		}
	}
	mutex_unlock(&vssd->hints_mutex);
	return n;
}

/* Step 2: blocks never touched, from the top of the region down. */
static u64 vssd_choose_untouched(struct vssd_device *vssd, u64 want)
{
	u64 n = 0, block = vssd->nr_blocks;

	while (block-- > 0 && n < want) {
		if (!READ_ONCE(vssd->last_use[block]) &&
		    vssd_evictable(vssd, block)) {
			__set_bit(block, vssd->block.chosen);
			n++;
		}
	}
	return n;
}

static int vssd_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Step 3: the least recently used of the remaining plugged blocks. Sorts
 * (age, block) keys of the candidates, oldest first. Without memory for
 * the keys it falls back to taking blocks from the top.
 */
static u64 vssd_choose_lru(struct vssd_device *vssd, u64 want)
{
	u32 now = (u32)jiffies | 1;
	u64 nr = 0, n, i, block;
	u64 *keys;

	for (block = 0; block < vssd->nr_blocks; block++)
		nr += vssd_evictable(vssd, block);
	if (!nr)
		return 0;

	keys = kvmalloc_array(nr, sizeof(*keys), GFP_KERNEL);
	if (!keys) {
		for (n = 0, block = vssd->nr_blocks; block-- > 0 && n < want;) {
			if (vssd_evictable(vssd, block)) {
				__set_bit(block, vssd->block.chosen);
				n++;
			}
		}
		return n;
	}

	for (i = 0, block = 0; block < vssd->nr_blocks && i < nr; block++) {
		if (vssd_evictable(vssd, block)) {
			/* unsigned difference: right across a jiffies wrap */
			u32 age = now - READ_ONCE(vssd->last_use[block]);

			keys[i++] = (u64)(U32_MAX - age) << 32 | block;
		}
		cond_resched();
	}
	sort(keys, i, sizeof(*keys), vssd_cmp_u64, NULL);
	for (n = 0; n < i && n < want; n++)
		__set_bit((u32)keys[n], vssd->block.chosen);
	kvfree(keys);
	return n;
}

/*
 * ops->choose: up to @want plugged blocks to give back, into r->chosen.
 * Fewer than @want only when fewer blocks are plugged.
 */
static u64 vssd_choose_evict(struct vssd_region *r, u64 want)
{
	struct vssd_device *vssd = container_of(r, struct vssd_device, block);
	u64 n;

	n = vssd_choose_hinted(vssd, want);
	if (n < want)
		n += vssd_choose_untouched(vssd, want - n);
	if (n < want)
		n += vssd_choose_lru(vssd, want - n);
	dev_dbg(&vssd->vdev->dev, "evict: chose %llu of %llu blocks\n", n,
		want);
	return n;
}

/* ops->quiesce: requests in flight to the chosen blocks complete. */
static void vssd_evict_quiesce(struct vssd_region *r)
{
	vssd_blk_wait_idle(container_of(r, struct vssd_device, block),
			   r->chosen);
}

/* ops->unplugged: blocks given back leave the hint list. */
static void vssd_evict_unplugged(struct vssd_region *r, u64 done)
{
	if (done)
		vssd_hints_prune(container_of(r, struct vssd_device, block));
}

/* ops->plugged: a granted block starts as never used. */
static void vssd_evict_plugged(struct vssd_region *r, u64 first, u64 count)
{
	struct vssd_device *vssd = container_of(r, struct vssd_device, block);

	memset(&vssd->last_use[first], 0, count * sizeof(*vssd->last_use));
}

static const struct vssd_region_ops vssd_block_region_ops = {
	.choose		= vssd_choose_evict,
	.quiesce	= vssd_evict_quiesce,
	.unplugged	= vssd_evict_unplugged,
	.plugged	= vssd_evict_plugged,
};

/**
 * vssd_evict_init - set up the block region's plugged map and recency
 * @vssd: the device, with its control queue up
 *
 * Reads the plugged map from the device (GET_MAP). Nothing to do without
 * a block region.
 *
 * Return: 0, -ENOMEM, or the error of GET_MAP.
 */
int vssd_evict_init(struct vssd_device *vssd)
{
	struct vssd_region *r = &vssd->block;
	int err;

	if (!vssd->has_block_region)
		return 0;
	vssd->last_use = kvcalloc(vssd->nr_blocks, sizeof(*vssd->last_use),
				  GFP_KERNEL);
	if (!vssd->last_use)
		return -ENOMEM;
	r->id = VIRTIO_VSSD_REGION_BLOCK;
	r->nr_blocks = vssd->nr_blocks;
	r->ops = &vssd_block_region_ops;
	r->evicted = &vssd->stats.evicted_blocks;
	r->granted = &vssd->stats.granted_blocks;
	err = vssd_region_init(vssd, r);
	if (err)
		vssd_evict_free(vssd);
	return err;
}

/**
 * vssd_evict_free - undo vssd_evict_init()
 * @vssd: the device
 */
void vssd_evict_free(struct vssd_device *vssd)
{
	vssd_region_free(&vssd->block);
	kvfree(vssd->last_use);
	vssd->last_use = NULL;
}
