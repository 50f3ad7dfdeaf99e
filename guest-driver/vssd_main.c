// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: module, virtio probe/remove, virtqueues and
 * config space.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include "vssd.h"
#include "vssd_compat.h"
#include "vssd_scm.h"
#include "vssd_testing.h"

/* Hands out N in vssdN; shared by disk and /proc names. */
static DEFINE_IDA(vssd_index_ida);

/*
 * Read and check the geometry. Fails with -EINVAL on a config space that
 * no correct device presents; the message names the field.
 */
static int vssd_read_geometry(struct vssd_device *vssd)
{
	struct virtio_device *vdev = vssd->vdev;
	u16 num_queues = 1;
	u32 max_ranges;

	if (virtio_has_feature(vdev, VIRTIO_VSSD_F_MQ))
		virtio_cread_le(vdev, struct virtio_vssd_config, num_queues,
				&num_queues);
	if (num_queues == 0 || num_queues > VSSD_MAX_QUEUES) {
		dev_err(&vdev->dev, "num_queues %u out of range 1..%u\n",
			num_queues, VSSD_MAX_QUEUES);
		return -EINVAL;
	}
	vssd->num_queues = num_queues;

	virtio_cread_le(vdev, struct virtio_vssd_config, max_ranges,
			&max_ranges);
	if (!max_ranges) {
		dev_err(&vdev->dev, "max_ranges is 0\n");
		return -EINVAL;
	}
	vssd->ctrl_nr_ranges = min_t(u32, max_ranges, VSSD_CTRL_RANGES_MAX);

	vssd->has_block_region =
		virtio_has_feature(vdev, VIRTIO_VSSD_F_BLOCK_REGION);
	if (!vssd->has_block_region) {
		if (virtio_has_feature(vdev, VIRTIO_VSSD_F_PMEM_REGION))
			return 0;
		dev_err(&vdev->dev, "device offers neither region\n");
		return -ENODEV;
	}

	virtio_cread_le(vdev, struct virtio_vssd_config, block_size,
			&vssd->block_size);
	virtio_cread_le(vdev, struct virtio_vssd_config, block_region_size,
			&vssd->block_region_size);
	virtio_cread_le(vdev, struct virtio_vssd_config, seg_max,
			&vssd->seg_max);
	virtio_cread_le(vdev, struct virtio_vssd_config, max_sectors,
			&vssd->max_sectors);
	if (!vssd->seg_max || vssd->max_sectors < PAGE_SECTORS) {
		dev_err(&vdev->dev,
			"seg_max %u or max_sectors %u too small (at least 1 and %d)\n",
			vssd->seg_max, vssd->max_sectors, PAGE_SECTORS);
		return -EINVAL;
	}
	if (vssd->block_size < VIRTIO_VSSD_SECTOR_SIZE ||
	    !is_power_of_2(vssd->block_size)) {
		dev_err(&vdev->dev, "block_size %u is not a power of two >= %u\n",
			vssd->block_size, VIRTIO_VSSD_SECTOR_SIZE);
		return -EINVAL;
	}
	if (!vssd->block_region_size ||
	    !IS_ALIGNED(vssd->block_region_size, vssd->block_size)) {
		dev_err(&vdev->dev,
			"block_region_size %llu is not a non-zero multiple of block_size %u\n",
			vssd->block_region_size, vssd->block_size);
		return -EINVAL;
	}
	vssd->block_shift = ilog2(vssd->block_size);
	vssd->nr_blocks = vssd->block_region_size >> vssd->block_shift;
	if (vssd->nr_blocks > VSSD_MAX_BLOCKS) {
		dev_err(&vdev->dev, "block region of %llu blocks, at most %llu\n",
			vssd->nr_blocks, VSSD_MAX_BLOCKS);
		return -EINVAL;
	}
	return 0;
}

/* Config interrupt: flag it and let config_work do the rest. */
static void vssd_config_changed(struct virtio_device *vdev)
{
	struct vssd_device *vssd = vdev->priv;
	unsigned long flags;

	atomic64_inc(&vssd->stats.config_changes);
	spin_lock_irqsave(&vssd->lock, flags);
	if (!vssd->removing) {
		vssd->config_pending = true;
		mod_delayed_work(system_freezable_wq, &vssd->config_work, 0);
	}
	spin_unlock_irqrestore(&vssd->lock, flags);
	/* a resize waiting for its agent looks at the new target at once */
	wake_up(&vssd->agent_wq);
}

/* Let config_work look at the config space (after probe and restore). */
static void vssd_start_config_work(struct vssd_device *vssd)
{
	unsigned long flags;

	spin_lock_irqsave(&vssd->lock, flags);
	vssd->removing = false;
	vssd->config_pending = true;
	mod_delayed_work(system_freezable_wq, &vssd->config_work, 0);
	spin_unlock_irqrestore(&vssd->lock, flags);
}

/* Stop config_work until restore, or for good; safe to call twice. */
static void vssd_stop_config_work(struct vssd_device *vssd)
{
	unsigned long flags;

	spin_lock_irqsave(&vssd->lock, flags);
	vssd->removing = true;
	spin_unlock_irqrestore(&vssd->lock, flags);
	wake_up(&vssd->agent_wq);
	cancel_delayed_work_sync(&vssd->config_work);
}

/*
 * Find the request virtqueues and the control virtqueue (the last one).
 * The request queues get spread interrupt affinity; the control queue's
 * vector is left out of the spreading (post_vectors). vssd->req_vqs is
 * allocated by the caller and outlives the virtqueues: blk-mq hardware
 * contexts point into it across freeze/restore.
 */
static int vssd_find_vqs(struct vssd_device *vssd)
{
	unsigned int nr_vqs = vssd->num_queues + 1;
	struct irq_affinity desc = { .post_vectors = 1 };
	struct virtqueue_info *vqs_info;
	struct virtqueue **vqs;
	unsigned int i;
	int err = -ENOMEM;

	vqs = kcalloc(nr_vqs, sizeof(*vqs), GFP_KERNEL);
	vqs_info = kcalloc(nr_vqs, sizeof(*vqs_info), GFP_KERNEL);
	if (!vqs || !vqs_info)
		goto out_free;

	for (i = 0; i < vssd->num_queues; i++) {
		vqs_info[i].callback = vssd_req_done;
		vqs_info[i].name = vssd->req_vqs[i].name;
	}
	vqs_info[vssd->num_queues].callback = vssd_ctrl_done;
	vqs_info[vssd->num_queues].name = "ctrl";

	err = virtio_find_vqs(vssd->vdev, nr_vqs, vqs, vqs_info, &desc);
	if (err)
		goto out_free;

	for (i = 0; i < vssd->num_queues; i++)
		vssd->req_vqs[i].vq = vqs[i];
	vssd->ctrl_vq = vqs[vssd->num_queues];
	/* a quarter of the ring: the synchronous requests always find room */
	sema_init(&vssd->ctrl_flush_slots,
		  max(1U, virtqueue_get_vring_size(vssd->ctrl_vq) / 4));

out_free:
	kfree(vqs_info);
	kfree(vqs);
	return err;
}

/* Only after a device reset: the device must hold no buffer any more. */
static void vssd_del_vqs(struct vssd_device *vssd)
{
	unsigned int i;

	vssd->vdev->config->del_vqs(vssd->vdev);
	for (i = 0; i < vssd->num_queues; i++)
		vssd->req_vqs[i].vq = NULL;
	vssd->ctrl_vq = NULL;
}

static int vssd_alloc_req_vqs(struct vssd_device *vssd)
{
	unsigned int i;

	vssd->req_vqs = kcalloc(vssd->num_queues, sizeof(*vssd->req_vqs),
				GFP_KERNEL);
	if (!vssd->req_vqs)
		return -ENOMEM;
	for (i = 0; i < vssd->num_queues; i++) {
		spin_lock_init(&vssd->req_vqs[i].lock);
		snprintf(vssd->req_vqs[i].name, sizeof(vssd->req_vqs[i].name),
			 "req.%u", i);
	}
	return 0;
}

static void vssd_free_req_vqs(struct vssd_device *vssd)
{
	kfree(vssd->req_vqs);
	vssd->req_vqs = NULL;
}

static int vssd_probe(struct virtio_device *vdev)
{
	struct vssd_device *vssd;
	int err;

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "config access disabled\n");
		return -EINVAL;
	}

	vssd = kzalloc(sizeof(*vssd), GFP_KERNEL);
	if (!vssd)
		return -ENOMEM;
	vssd->vdev = vdev;
	vdev->priv = vssd;
	spin_lock_init(&vssd->lock);
	spin_lock_init(&vssd->ctrl_lock);
	mutex_init(&vssd->ctrl_mutex);
	init_completion(&vssd->ctrl_call.done);
	init_waitqueue_head(&vssd->agent_wq);
	INIT_DELAYED_WORK(&vssd->config_work, vssd_config_work);
	vssd_hints_init(vssd);
	vssd->state = VSSD_STATE_IDLE;
	vssd->last_resize_ms = -1;

	err = ida_alloc(&vssd_index_ida, GFP_KERNEL);
	if (err < 0)
		goto err_free_vssd;
	vssd->index = err;
	snprintf(vssd->name, sizeof(vssd->name), VSSD_NAME "%d", vssd->index);

	err = vssd_read_geometry(vssd);
	if (err)
		goto err_free_index;
	vssd_read_changing_config(vssd);

	err = vssd_ctrl_alloc(vssd);
	if (err)
		goto err_free_index;

	err = vssd_alloc_req_vqs(vssd);
	if (err)
		goto err_free_ctrl;

	err = vssd_find_vqs(vssd);
	if (err)
		goto err_free_req_vqs;

	/* From here the device may use the queues and raise interrupts. */
	virtio_device_ready(vdev);

	err = vssd_evict_init(vssd);
	if (err)
		goto err_reset;

	err = vssd_blk_init(vssd);
	if (err)
		goto err_free_evict;

	err = vssd_scm_probe(vssd);
	if (err)
		goto err_del_disk;

	err = vssd_proc_add(vssd);
	if (err)
		goto err_scm_remove;

	/* A resize may have been requested before we came (or last time). */
	vssd_start_config_work(vssd);

	if (vssd->has_block_region)
		dev_info(&vdev->dev,
			 "%s: %llu MiB in %u KiB blocks, %llu MiB plugged, %u queue(s)\n",
			 vssd->name, vssd->block_region_size >> 20,
			 vssd->block_size >> 10,
			 vssd->block_plugged_size >> 20, vssd->num_queues);
	return 0;

err_scm_remove:
	vssd_scm_remove(vssd);
err_del_disk:
	/* No request is in flight after del_gendisk(): free before reset. */
	vssd_blk_remove(vssd);
	vssd_blk_free(vssd);
err_free_evict:
	vssd_evict_free(vssd);
err_reset:
	vssd_stop_config_work(vssd);
	virtio_reset_device(vdev);
	vssd_del_vqs(vssd);
err_free_req_vqs:
	vssd_free_req_vqs(vssd);
err_free_ctrl:
	vssd_ctrl_free(vssd);
err_free_index:
	ida_free(&vssd_index_ida, vssd->index);
err_free_vssd:
	vdev->priv = NULL;
	kfree(vssd);
	return err;
}

/*
 * Remove with I/O possibly in flight: del_gendisk() fails new I/O and
 * waits for the requests the device holds, then the device is reset so
 * that it lets go of every buffer, and only then are the virtqueues and
 * the memory behind them freed.
 */
static void vssd_remove(struct virtio_device *vdev)
{
	struct vssd_device *vssd = vdev->priv;

	vssd_stop_config_work(vssd);
	vssd_proc_remove(vssd);
	vssd_scm_remove(vssd);
	vssd_blk_remove(vssd);

	virtio_reset_device(vdev);
	vssd_del_vqs(vssd);

	vssd_blk_free(vssd);
	vssd_free_req_vqs(vssd);
	vssd_hints_free(vssd);
	vssd_evict_free(vssd);
	vssd_ctrl_free(vssd);
	ida_free(&vssd_index_ida, vssd->index);
	vdev->priv = NULL;
	kfree(vssd);
}

#ifdef CONFIG_PM_SLEEP
/*
 * Suspend and hibernation: let the device finish the requests it holds,
 * then reset it and drop the virtqueues. The disk, the plugged map and the
 * request virtqueue array stay; restore finds the virtqueues again.
 */
static int vssd_freeze(struct virtio_device *vdev)
{
	struct vssd_device *vssd = vdev->priv;

	if (vssd->disk)
		blk_mq_freeze_queue(vssd->disk->queue);
	vssd_stop_config_work(vssd);
	virtio_reset_device(vdev);
	vssd_del_vqs(vssd);
	return 0;
}

static int vssd_restore(struct virtio_device *vdev)
{
	struct vssd_device *vssd = vdev->priv;
	int err;

	err = vssd_find_vqs(vssd);
	if (err)
		return err;
	virtio_device_ready(vdev);

	/* The host may have changed the config while we were away. */
	vssd_start_config_work(vssd);

	if (vssd->disk)
		blk_mq_unfreeze_queue(vssd->disk->queue);
	return 0;
}
#endif

static const struct virtio_device_id vssd_id_table[] = {
	{ VIRTIO_ID_VSSD, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vssd_id_table);

static unsigned int vssd_features[] = {
	VIRTIO_VSSD_F_BLOCK_REGION,
	VIRTIO_VSSD_F_PMEM_REGION,
	VIRTIO_VSSD_F_RESIZE,
	VIRTIO_VSSD_F_MQ,
};

static struct virtio_driver vssd_driver = {
	.feature_table		= vssd_features,
	.feature_table_size	= ARRAY_SIZE(vssd_features),
	.driver.name		= KBUILD_MODNAME,
	.driver.owner		= THIS_MODULE,
	.id_table		= vssd_id_table,
	.probe			= vssd_probe,
	.remove			= vssd_remove,
	.config_changed		= vssd_config_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze			= vssd_freeze,
	.restore		= vssd_restore,
#endif
};

static int __init vssd_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct virtio_vssd_config) != 96);
	BUILD_BUG_ON(sizeof(struct virtio_vssd_blk_req) != 16);
	BUILD_BUG_ON(sizeof(struct virtio_vssd_range) != 16);
	BUILD_BUG_ON(sizeof(struct virtio_vssd_ctrl_req) != 24);
	BUILD_BUG_ON(sizeof(struct virtio_vssd_ctrl_resp) != 24);

	err = vssd_proc_init();
	if (err)
		return err;
	vssd_testing_init();

	err = vssd_scm_proc_init();
	if (err)
		goto err_proc_exit;

	err = register_virtio_driver(&vssd_driver);
	if (err)
		goto err_scm_proc_exit;
	return 0;

err_scm_proc_exit:
	vssd_scm_proc_exit();
err_proc_exit:
	vssd_testing_exit();
	vssd_proc_exit();
	return err;
}

static void __exit vssd_exit(void)
{
	unregister_virtio_driver(&vssd_driver);
	vssd_scm_proc_exit();
	vssd_testing_exit();
	vssd_proc_exit();
	ida_destroy(&vssd_index_ida);
}

module_init(vssd_init);
module_exit(vssd_exit);

MODULE_DESCRIPTION("virtio-vssd: elastic SSD and persistent-memory capacity");
MODULE_LICENSE("GPL");
