/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_vssd: the kernel API differences between the two guest kernels
 * the driver supports, Debian 13's 6.12 and Debian 12's 6.1.
 *
 * The driver is written against 6.12's API. For 6.1 this header provides
 * the few 6.12 interfaces the driver uses on top of what 6.1 has; with
 * 6.12 it adds only vssd_lim_set_features(). Dropping 6.1 means deleting
 * the 6.1 branch below, and nothing else. What changed since 6.1:
 *
 *   6.3   vm_flags_set() (vm_flags became read-only)
 *   6.9   blk_mq_alloc_disk() takes the queue limits
 *   6.11  virtio_find_vqs() takes struct virtqueue_info; the write cache
 *         and FUA became queue_limits.features
 *
 * The kernels in between (6.2 to 6.11) are not supported: they have some
 * of these changes and not the others.
 */
#ifndef VSSD_COMPAT_H
#define VSSD_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

/*
 * 6.11 and later define BLK_FEAT_WRITE_CACHE (in linux/blkdev.h, included
 * above); 6.1 does not: the test is on that rather than on
 * LINUX_VERSION_CODE.
 */
#ifdef BLK_FEAT_WRITE_CACHE
/**
 * vssd_lim_set_features - set features in queue limits
 * @lim: the limits the disk is allocated with
 * @features: BLK_FEAT_* flags
 */
static inline void vssd_lim_set_features(struct queue_limits *lim,
					 blk_features_t features)
{
	lim->features |= features;
}
#else /* 6.1 */
static inline void vm_flags_set(struct vm_area_struct *vma,
				unsigned long flags)
{
	vma->vm_flags |= flags;
}

#define BLK_FEAT_WRITE_CACHE	BIT(0)
#define BLK_FEAT_FUA		BIT(1)

/*
 * In 6.1 these are queue flags, set after allocation: the disk gets vssd's
 * one feature set in blk_mq_alloc_disk() below: a write cache with FUA,
 * non-rotational and no entropy source (what 6.12 makes of a queue with
 * these features and without BLK_FEAT_ROTATIONAL and BLK_FEAT_ADD_RANDOM).
 */
#define vssd_lim_set_features(lim, features)				\
	BUILD_BUG_ON((features) != (BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA))

struct virtqueue_info {
	const char *name;
	vq_callback_t *callback;
	bool ctx;
};

static inline int vssd_compat_find_vqs(struct virtio_device *vdev,
				       unsigned int nvqs,
				       struct virtqueue *vqs[],
				       struct virtqueue_info vqs_info[],
				       struct irq_affinity *desc)
{
	vq_callback_t **callbacks;
	const char **names;
	unsigned int i;
	int err = -ENOMEM;

	callbacks = kcalloc(nvqs, sizeof(*callbacks), GFP_KERNEL);
	names = kcalloc(nvqs, sizeof(*names), GFP_KERNEL);
	if (callbacks && names) {
		for (i = 0; i < nvqs; i++) {
			callbacks[i] = vqs_info[i].callback;
			names[i] = vqs_info[i].name;
		}
		err = virtio_find_vqs(vdev, nvqs, vqs, callbacks, names, desc);
	}
	kfree(names);
	kfree(callbacks);
	return err;
}

#define virtio_find_vqs(vdev, nvqs, vqs, vqs_info, desc)		\
	vssd_compat_find_vqs(vdev, nvqs, vqs, vqs_info, desc)

static inline struct gendisk *
vssd_compat_alloc_disk(struct blk_mq_tag_set *set,
		       const struct queue_limits *lim, void *queuedata)
{
	struct request_queue *q;
	struct gendisk *disk;

	disk = blk_mq_alloc_disk(set, queuedata);
	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, lim->logical_block_size);
	blk_queue_physical_block_size(q, lim->physical_block_size);
	blk_queue_max_segments(q, lim->max_segments);
	blk_queue_max_segment_size(q, lim->max_segment_size);
	blk_queue_max_hw_sectors(q, lim->max_hw_sectors);
	q->limits.discard_granularity = lim->discard_granularity;
	blk_queue_max_discard_sectors(q, lim->max_hw_discard_sectors);
	blk_queue_max_discard_segments(q, lim->max_discard_segments);
	blk_queue_max_write_zeroes_sectors(q, lim->max_write_zeroes_sectors);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	blk_queue_write_cache(q, true, true);
	return disk;
}

#undef blk_mq_alloc_disk
#define blk_mq_alloc_disk(set, lim, queuedata)				\
	vssd_compat_alloc_disk(set, lim, queuedata)
#endif /* 6.1 */

#endif /* VSSD_COMPAT_H */
