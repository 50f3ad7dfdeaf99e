// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: a region of plugged blocks and its resize step.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Both regions of the device, the block region and the persistent-memory
 * region, are made of blocks the host plugs and unplugs. This file keeps a
 * region's plugged map and runs one resize step on it; what differs
 * between the regions is in their struct vssd_region_ops:
 *
 *   shrink, policy GUEST  choose blocks (ops->choose), take them out of
 *                         the plugged map, wait for their users
 *                         (ops->quiesce), then UNPLUG them; what the
 *                         device refused is plugged again;
 *                         ops->unplugged runs afterwards;
 *   shrink, policy HOST   ops->prepare_host, then UNPLUG_HOST: the device
 *                         names the blocks it took;
 *   grow                  PLUG the lowest unplugged blocks (they read as
 *                         zeroes; ops->plugged is told).
 *
 * Lists go out as many ranges per request as the control queue holds, so
 * that a step whose list fits takes one round trip. r->chosen belongs to
 * the resize work (config_work, which never runs twice at once).
 */

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "vssd.h"
#include "vssd_ranges.h"

/**
 * vssd_region_init - allocate a region's maps and read its plugged map
 * @vssd: the device; its control queue is up
 * @r: the region, with the user's fields filled
 *
 * Return: 0, -ENOMEM, or the error of GET_MAP (nothing left allocated).
 */
int vssd_region_init(struct vssd_device *vssd, struct vssd_region *r)
{
	int err;

	r->vssd = vssd;
	mutex_init(&r->map_mutex);
	r->plugged = kvcalloc(BITS_TO_LONGS(r->nr_blocks),
			      sizeof(unsigned long), GFP_KERNEL);
	r->chosen = kvcalloc(BITS_TO_LONGS(r->nr_blocks),
			     sizeof(unsigned long), GFP_KERNEL);
	if (!r->plugged || !r->chosen) {
		err = -ENOMEM;
		goto err_free;
	}
	err = vssd_ctrl_get_map(vssd, r->id, r->plugged, r->nr_blocks);
	if (err)
		goto err_free;
	dev_dbg(&vssd->vdev->dev, "GET_MAP: region %u: %llu of %llu blocks plugged\n",
		r->id, vssd_region_weight(r), r->nr_blocks);
	return 0;

err_free:
	vssd_region_free(r);
	return err;
}

/**
 * vssd_region_free - free a region's maps
 * @r: the region (also one never initialised, if zeroed)
 */
void vssd_region_free(struct vssd_region *r)
{
	kvfree(r->chosen);
	kvfree(r->plugged);
	r->chosen = NULL;
	r->plugged = NULL;
}

/**
 * vssd_region_weight - the number of plugged blocks according to the map
 * @r: the region
 *
 * Return: that number, 0 for a region without a map.
 */
u64 vssd_region_weight(struct vssd_region *r)
{
	u64 weight;

	if (!r->plugged)
		return 0;
	mutex_lock(&r->map_mutex);
	weight = bitmap_weight(r->plugged, r->nr_blocks);
	mutex_unlock(&r->map_mutex);
	return weight;
}

/**
 * vssd_region_show_map - print the plugged blocks as ranges, one line
 * @r: the region
 * @m: the seq_file
 */
void vssd_region_show_map(struct vssd_region *r, struct seq_file *m)
{
	if (!r->plugged) {
		seq_putc(m, '\n');
		return;
	}
	mutex_lock(&r->map_mutex);
	vssd_seq_bitmap_ranges(m, r->plugged, r->nr_blocks);
	mutex_unlock(&r->map_mutex);
}

/*
 * The device acked the chosen blocks in [@start, @end): they leave the
 * chosen set; a plug (@plug) also puts them into the plugged map. Returns
 * the blocks acked.
 */
static u64 vssd_region_acked(struct vssd_region *r, u64 start, u64 end,
			     bool plug)
{
	u64 first, last, total = 0;

	mutex_lock(&r->map_mutex);
	for (first = find_next_bit(r->chosen, end, start); first < end;
	     first = find_next_bit(r->chosen, end, last)) {
		last = find_next_zero_bit(r->chosen, end, first);
		bitmap_clear(r->chosen, first, last - first);
		if (plug) {
			if (r->ops->plugged)
				r->ops->plugged(r, first, last - first);
			bitmap_set(r->plugged, first, last - first);
		}
		total += last - first;
	}
	mutex_unlock(&r->map_mutex);
	return total;
}

/*
 * Send the chosen blocks as PLUG (@plug) or UNPLUG lists until all are
 * acked or one is refused. Returns 0 or the error of the refused list;
 * *@done counts the acked blocks, which are cleared from r->chosen.
 */
static int vssd_region_send_chosen(struct vssd_region *r, bool plug,
				   u32 generation, u64 *done)
{
	u64 from = 0, start;
	int err;

	*done = 0;
	for (;;) {
		start = from;
		if (plug)
			err = vssd_ctrl_plug(r->vssd, r->id, generation,
					     r->chosen, r->nr_blocks, &from);
		else
			err = vssd_ctrl_unplug(r->vssd, r->id, generation,
					       r->chosen, r->nr_blocks, &from);
		if (err == -ENODATA)
			return 0;
		if (err)
			return err;
		*done += vssd_region_acked(r, start, from, plug);
	}
}

/* Policy GUEST: choose, quiesce and UNPLUG @want blocks. */
static int vssd_region_shrink_guest(struct vssd_region *r, u32 generation,
				    u64 want)
{
	u64 n, done;
	int err;

	bitmap_zero(r->chosen, r->nr_blocks);
	n = r->ops->choose(r, want);
	if (r->short_blocks)
		atomic64_set(r->short_blocks, want - n);
	if (!n)
		return -ENOSPC;

	mutex_lock(&r->map_mutex);
	bitmap_andnot(r->plugged, r->plugged, r->chosen, r->nr_blocks);
	mutex_unlock(&r->map_mutex);
	if (r->ops->quiesce)
		r->ops->quiesce(r);

	err = vssd_region_send_chosen(r, false, generation, &done);
	if (err) {
		/* the device kept what it refused: usable again */
		mutex_lock(&r->map_mutex);
		bitmap_or(r->plugged, r->plugged, r->chosen, r->nr_blocks);
		mutex_unlock(&r->map_mutex);
	}
	atomic64_add(done, r->evicted);
	if (r->ops->unplugged)
		r->ops->unplugged(r, done);
	return err;
}

/* Policy HOST: UNPLUG_HOST; the device names the blocks it took. */
static int vssd_region_shrink_host(struct vssd_region *r, u32 generation,
				   u64 want)
{
	u64 total;
	int err;

	if (r->ops->prepare_host)
		r->ops->prepare_host(r);
	err = vssd_ctrl_unplug_host(r->vssd, r->id, generation, want,
				    r->chosen, r->nr_blocks, &total);
	if (err == -ENOSPC && r->short_blocks)
		atomic64_set(r->short_blocks, want);
	if (err)
		return err;

	mutex_lock(&r->map_mutex);
	bitmap_andnot(r->plugged, r->plugged, r->chosen, r->nr_blocks);
	mutex_unlock(&r->map_mutex);
	atomic64_add(total, r->evicted);
	return 0;
}

/* Choose up to @want unplugged blocks, lowest first. */
static u64 vssd_region_choose_unplugged(struct vssd_region *r, u64 want)
{
	u64 n = 0, block = 0;

	bitmap_zero(r->chosen, r->nr_blocks);
	while (n < want) {
		block = find_next_zero_bit(r->plugged, r->nr_blocks, block);
		if (block >= r->nr_blocks)
			break;
		__set_bit(block, r->chosen);
		block++;
		n++;
	}
	return n;
}

/* Grow: PLUG the lowest @want unplugged blocks. */
static int vssd_region_grow(struct vssd_region *r, u32 generation, u64 want)
{
	u64 done;
	int err;

	if (r->short_blocks)
		atomic64_set(r->short_blocks, 0);
	if (!vssd_region_choose_unplugged(r, want))
		return -ENOSPC;
	err = vssd_region_send_chosen(r, true, generation, &done);
	atomic64_add(done, r->granted);
	return err;
}

/**
 * vssd_region_resize - one step of a resize of a region
 * @r: the region; called by the resize work only
 * @grow: plug blocks (else unplug)
 * @host: policy HOST (the device picks the blocks to unplug)
 * @generation: the resize_generation answered
 * @blocks: blocks still to move
 *
 * Return: 0, -EAGAIN (STALE: the host moved the target), -EBUSY,
 * -EREMOTEIO (retry later), -ENOSPC when nothing more can be given back or
 * taken, or another error (refused, broken control queue).
 */
int vssd_region_resize(struct vssd_region *r, bool grow, bool host,
		       u32 generation, u64 blocks)
{
	if (grow)
		return vssd_region_grow(r, generation, blocks);
	if (host)
		return vssd_region_shrink_host(r, generation, blocks);
	return vssd_region_shrink_guest(r, generation, blocks);
}
