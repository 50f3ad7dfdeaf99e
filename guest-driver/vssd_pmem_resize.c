// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: resizing the persistent-memory region.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * One step of a pmem resize, called by config_work (vssd_resize.c) with
 * nothing held. It takes pmem->sem for writing, so no /dev/scm fault and
 * no region table change runs meanwhile, then the control queue.
 *
 *   shrink, policy GUEST  gives back only blocks that neither the region
 *                         table nor any container region uses, highest
 *                         first. When there are fewer than asked it gives
 *                         what it can and stops short: pending keeps
 *                         showing what is left, and pmem_short_blocks in
 *                         status says how many could not be given.
 *   shrink, policy HOST   revokes every /dev/scm mapping first, then lets
 *                         the device pick; a process touching a taken page
 *                         afterwards gets SIGBUS (faults check the plugged
 *                         map), never another block's data. The device
 *                         never takes the region table's blocks (they lie
 *                         in VIRTIO_VSSD_PMEM_RESERVED_BYTES), so a shrink
 *                         to less stops short as under policy GUEST.
 *   grow                  plugs the lowest unplugged blocks.
 */

#include <linux/bitmap.h>
#include "vssd.h"
#include "vssd_pmem.h"

/* Choose up to @want free plugged blocks, from the top. */
static u64 vssd_pmem_choose_free(struct vssd_pmem *pmem, u64 want)
{
	u64 first = pmem->data_start >> pmem->block_shift;
	u64 b = pmem->nr_blocks, n = 0;

	bitmap_zero(pmem->chosen, pmem->nr_blocks);
	while (b-- > first && n < want) {
		if (test_bit(b, pmem->plugged) && !vssd_scm_block_used(pmem, b)) {
			__set_bit(b, pmem->chosen);
			n++;
		}
	}
	return n;
}

/* Choose up to @want unplugged blocks, from the bottom. */
static u64 vssd_pmem_choose_unplugged(struct vssd_pmem *pmem, u64 want)
{
	u64 b = 0, n = 0;

	bitmap_zero(pmem->chosen, pmem->nr_blocks);
	while (n < want) {
		b = find_next_zero_bit(pmem->plugged, pmem->nr_blocks, b);
		if (b >= pmem->nr_blocks)
			break;
		__set_bit(b, pmem->chosen);
		b++;
		n++;
	}
	return n;
}

/*
 * Send pmem->chosen as @type lists; acked ranges leave chosen and, for a
 * PLUG, enter the plugged map. *@done counts the acked blocks.
 */
static int vssd_pmem_send_chosen(struct vssd_device *vssd, u16 type,
				 u32 generation, u64 *done)
{
	struct vssd_pmem *pmem = vssd->pmem;
	unsigned int nr, i;
	u64 from = 0;
	int err;

	*done = 0;
	while ((nr = vssd_bitmap_to_ranges(vssd, pmem->chosen,
					   pmem->nr_blocks, &from)) != 0) {
		err = vssd_resize_request(vssd, VIRTIO_VSSD_REGION_PMEM, type,
					  generation, nr, nr, NULL);
		if (err)
			return err;
		for (i = 0; i < nr; i++) {
			u64 first = le64_to_cpu(vssd->ctrl_ranges[i].first);
			u64 count = le64_to_cpu(vssd->ctrl_ranges[i].count);

			bitmap_clear(pmem->chosen, first, count);
			if (type == VIRTIO_VSSD_CTRL_PLUG)
				bitmap_set(pmem->plugged, first, count);
			*done += count;
		}
	}
	return 0;
}

static int vssd_pmem_shrink_guest(struct vssd_device *vssd, u32 generation,
				  u64 want)
{
	struct vssd_pmem *pmem = vssd->pmem;
	u64 n, done;
	int err;

	n = vssd_pmem_choose_free(pmem, want);
	atomic64_set(&vssd->stats.pmem_short_blocks, want - n);
	if (!n) {
		dev_info(&vssd->vdev->dev,
			 "pmem: every plugged block is in use; %llu blocks not given back\n",
			 want);
		return -ENOSPC;
	}
	/* free blocks: no mapping can reach them, no need to revoke */
	bitmap_andnot(pmem->plugged, pmem->plugged, pmem->chosen,
		      pmem->nr_blocks);
	err = vssd_pmem_send_chosen(vssd, VIRTIO_VSSD_CTRL_UNPLUG, generation,
				    &done);
	if (err)
		bitmap_or(pmem->plugged, pmem->plugged, pmem->chosen,
			  pmem->nr_blocks);
	atomic64_add(done, &vssd->stats.pmem_evicted_blocks);
	return err;
}

static int vssd_pmem_shrink_host(struct vssd_device *vssd, u32 generation,
				 u64 want)
{
	struct vssd_pmem *pmem = vssd->pmem;
	unsigned int nr, i;
	u64 total;
	int err;

	vssd_scm_revoke(pmem);
	err = vssd_resize_request(vssd, VIRTIO_VSSD_REGION_PMEM,
				  VIRTIO_VSSD_CTRL_UNPLUG_HOST, generation, want,
				  0, &nr);
	if (err)
		return err;
	err = vssd_check_host_ranges(vssd, nr, pmem->nr_blocks, want, &total);
	if (err == -ENOSPC)
		atomic64_set(&vssd->stats.pmem_short_blocks, want);
	if (err)
		return err;
	for (i = 0; i < nr; i++)
		bitmap_clear(pmem->plugged,
			     le64_to_cpu(vssd->ctrl_ranges[i].first),
			     le64_to_cpu(vssd->ctrl_ranges[i].count));
	atomic64_add(total, &vssd->stats.pmem_evicted_blocks);
	return 0;
}

static int vssd_pmem_grow(struct vssd_device *vssd, u32 generation, u64 want)
{
	u64 done;
	int err;

	if (!vssd_pmem_choose_unplugged(vssd->pmem, want))
		return -ENOSPC;
	err = vssd_pmem_send_chosen(vssd, VIRTIO_VSSD_CTRL_PLUG, generation,
				    &done);
	atomic64_add(done, &vssd->stats.pmem_granted_blocks);
	return err;
}

/**
 * vssd_pmem_resize_step - one step of a persistent-memory resize
 * @vssd: the device (vssd->pmem set)
 * @grow: plug blocks (else unplug)
 * @host: policy HOST (the device picks the blocks to unplug)
 * @generation: resize_generation answered
 * @blocks: blocks still to move
 *
 * Return: as the block region's steps (0, -EAGAIN for STALE, -EBUSY, ...),
 * -ENOSPC when nothing more can be given back or taken.
 */
int vssd_pmem_resize_step(struct vssd_device *vssd, bool grow, bool host,
			  u32 generation, u64 blocks)
{
	struct vssd_pmem *pmem = vssd->pmem;
	int err;

	BUILD_BUG_ON(VSSD_SCM_META_BYTES > VIRTIO_VSSD_PMEM_RESERVED_BYTES);
	if (grow)
		atomic64_set(&vssd->stats.pmem_short_blocks, 0);

	down_write(&pmem->sem);
	mutex_lock(&vssd->ctrl_mutex);
	if (grow)
		err = vssd_pmem_grow(vssd, generation, blocks);
	else if (host)
		err = vssd_pmem_shrink_host(vssd, generation, blocks);
	else
		err = vssd_pmem_shrink_guest(vssd, generation, blocks);
	mutex_unlock(&vssd->ctrl_mutex);
	up_write(&pmem->sem);
	return err;
}
