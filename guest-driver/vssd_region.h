/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vssd guest driver: a region of plugged blocks (vssd_region.c).
 *
 * Copyright (c) 2026 The vssd authors.
 */
#ifndef _VSSD_REGION_H
#define _VSSD_REGION_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct seq_file;
struct vssd_device;
struct vssd_region;

/*
 * What a region's user does at the points of a resize step where the
 * regions differ. Only @choose is required. The user finds its own state
 * with container_of() on the region.
 */
struct vssd_region_ops {
	/*
	 * Set up to @want plugged blocks to give back in r->chosen (zeroed
	 * before the call); returns how many.
	 */
	u64 (*choose)(struct vssd_region *r, u64 want);
	/*
	 * The chosen blocks just left the plugged map: wait until nothing
	 * uses them any more.
	 */
	void (*quiesce)(struct vssd_region *r);
	/* Before UNPLUG_HOST: take away whatever may reach any block. */
	void (*prepare_host)(struct vssd_region *r);
	/* After a guest-policy shrink gave back @done blocks. */
	void (*unplugged)(struct vssd_region *r, u64 done);
	/* Blocks [@first, @first + @count) are plugged again (map_mutex held). */
	void (*plugged)(struct vssd_region *r, u64 first, u64 count);
};

/*
 * A region of the device made of blocks that are plugged or not: the
 * block region and the persistent-memory region. The user fills the
 * fields marked so before vssd_region_init().
 */
struct vssd_region {
	/* The device. */
	struct vssd_device *vssd;
	/* User: VIRTIO_VSSD_REGION_*, its block count and its ops. */
	u16 id;
	u64 nr_blocks;
	const struct vssd_region_ops *ops;
	/*
	 * User: counters in vssd->stats: blocks given back, blocks taken back,
	 * and (may be NULL) blocks the last shrink could not give.
	 */
	atomic64_t *evicted;
	atomic64_t *granted;
	atomic64_t *short_blocks;

	/* Serialises the writers of @plugged. */
	struct mutex map_mutex;
	/* One bit per block, set = plugged. */
	unsigned long *plugged;
	/* Scratch bitmap of the resize work: the blocks of one step. */
	unsigned long *chosen;
};

int vssd_region_init(struct vssd_device *vssd, struct vssd_region *r);
void vssd_region_free(struct vssd_region *r);
u64 vssd_region_weight(struct vssd_region *r);
void vssd_region_show_map(struct vssd_region *r, struct seq_file *m);
int vssd_region_resize(struct vssd_region *r, bool grow, bool host,
		       u32 generation, u64 blocks);

#endif /* _VSSD_REGION_H */
