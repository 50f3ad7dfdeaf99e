// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the block region as a blk-mq disk.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * One blk-mq hardware queue per request virtqueue. Every request carries
 * its wire header, status byte and scatter list in the blk-mq PDU, so the
 * I/O path allocates nothing but chained scatter lists for large requests.
 * The disk covers the whole block region. I/O to blocks that are not
 * plugged fails in queue_rq with EIO, without a round trip (or, in the
 * window before the guest knows of a host-policy unplug, on the device with
 * VIRTIO_VSSD_S_UNPLUGGED); both are counted as unplugged_io_errors.
 * queue_rq also stamps the blocks a read or write touches, for the choice
 * of blocks to give back (vssd_evict.c).
 */

#include <linux/blk-mq-virtio.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include "vssd.h"
#include "vssd_compat.h"

/* Scatter list entries kept inline in the PDU; more are chained. */
#define VSSD_INLINE_SG		2

/* Status byte value before the device writes it: no valid VIRTIO_VSSD_S_*. */
#define VSSD_STATUS_UNSET	0xff

/* Per-request driver data (blk-mq PDU, tag_set.cmd_size). */
struct vssd_blk_pdu {
	/* Wire header, device-readable. */
	struct virtio_vssd_blk_req hdr;
	/* Wire status, device-writable, last byte of the chain. */
	u8 status;
	/* The data segments; sgl points at @sg or at a chained table. */
	struct sg_table sg_table;
	/* VSSD_INLINE_SG inline entries. */
	struct scatterlist sg[];
};

/* Requests that move data through the data descriptors. */
static bool vssd_rq_has_data(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
	case REQ_OP_DRV_IN:
		return blk_rq_nr_phys_segments(rq) != 0;
	default:
		return false;
	}
}

/*
 * Map a wire status to a block status, counting every failure. The one
 * place where device errors become errno values.
 */
static blk_status_t vssd_status_to_blk(struct vssd_device *vssd, u8 status)
{
	switch (status) {
	case VIRTIO_VSSD_S_OK:
		return BLK_STS_OK;
	case VIRTIO_VSSD_S_UNPLUGGED:
		atomic64_inc(&vssd->stats.unplugged_io_errors);
		return BLK_STS_IOERR;
	case VIRTIO_VSSD_S_RANGE:
		atomic64_inc(&vssd->stats.range_errors);
		return BLK_STS_IOERR;
	case VIRTIO_VSSD_S_IOERR:
		atomic64_inc(&vssd->stats.host_io_errors);
		return BLK_STS_IOERR;
	case VIRTIO_VSSD_S_UNSUPP:
		atomic64_inc(&vssd->stats.unsupported_errors);
		return BLK_STS_NOTSUPP;
	case VIRTIO_VSSD_S_INVALID:
	default:
		atomic64_inc(&vssd->stats.invalid_errors);
		return BLK_STS_IOERR;
	}
}

/*
 * The blocks [*@first, *@last] a request touches, for the requests that
 * touch blocks (read, write, discard, write zeroes) and have a length.
 * The range may reach past the region; the caller decides.
 */
static bool vssd_rq_block_range(struct vssd_device *vssd, struct request *rq,
				u64 *first, u64 *last)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		break;
	default:
		return false;
	}
	if (!blk_rq_sectors(rq))
		return false;
	vssd_sector_blocks(vssd, blk_rq_pos(rq), blk_rq_sectors(rq), first,
			   last);
	return true;
}

/*
 * Refuse I/O to blocks that are not plugged, and keep recency: reads and
 * writes stamp their blocks, a discard of whole blocks makes them look
 * unused (their data is gone, so they are the cheapest to give back).
 * Reads the plugged bitmap without a lock (see vssd.h).
 */
static blk_status_t vssd_check_blocks(struct vssd_device *vssd,
				      struct request *rq)
{
	u64 first, last, end, b;
	unsigned int shift;

	if (!vssd_rq_block_range(vssd, rq, &first, &last))
		return BLK_STS_OK;
	if (last >= vssd->nr_blocks)
		return BLK_STS_OK;	/* the device answers S_RANGE */

	if (find_next_zero_bit(vssd->block.plugged, last + 1, first) <= last) {
		atomic64_inc(&vssd->stats.unplugged_io_errors);
		return BLK_STS_IOERR;
	}

	if (req_op(rq) != REQ_OP_DISCARD) {
		vssd_touch_blocks(vssd, first, last);
		return BLK_STS_OK;
	}
	/* only the blocks that the discard covers whole */
	shift = vssd->block_shift - VIRTIO_VSSD_SECTOR_SHIFT;
	end = (blk_rq_pos(rq) + blk_rq_sectors(rq)) >> shift;
	for (b = DIV_ROUND_UP_ULL(blk_rq_pos(rq), 1ULL << shift); b < end; b++)
		WRITE_ONCE(vssd->last_use[b], 0);
	return BLK_STS_OK;
}

/* Context of vssd_rq_busy_on(). */
struct vssd_busy_scan {
	struct vssd_device *vssd;
	const unsigned long *blocks;
	bool found;
};

/* Tag iterator: stop at a started request that touches a block of the scan. */
static bool vssd_rq_busy_on(struct request *rq, void *data)
{
	struct vssd_busy_scan *scan = data;
	struct vssd_device *vssd = scan->vssd;
	u64 first, last;

	if (!vssd_rq_block_range(vssd, rq, &first, &last) ||
	    first >= vssd->nr_blocks)
		return true;
	last = min(last, vssd->nr_blocks - 1);
	if (find_next_bit(scan->blocks, last + 1, first) <= last) {
		scan->found = true;
		return false;
	}
	return true;
}

/**
 * vssd_blk_wait_idle - wait until no request touches any of @blocks
 * @vssd: the device
 * @blocks: bitmap of blocks, already cleared from the plugged map
 *
 * Requests started after the bits were cleared fail in queue_rq, so only
 * those already started can touch @blocks: wait for them to complete.
 * Unlike freezing the queue this costs no RCU grace period, and I/O to
 * other blocks goes on meanwhile.
 */
void vssd_blk_wait_idle(struct vssd_device *vssd, const unsigned long *blocks)
{
	struct vssd_busy_scan scan = { .vssd = vssd, .blocks = blocks };

	/* pairs with the barrier in vssd_queue_rq() */
	smp_mb();
	for (;;) {
		scan.found = false;
		blk_mq_tagset_busy_iter(&vssd->tag_set, vssd_rq_busy_on, &scan);
		if (!scan.found)
			return;
		usleep_range(50, 200);
	}
}

/* Fill the wire header from the request. */
static blk_status_t vssd_setup_hdr(struct request *rq,
				   struct virtio_vssd_blk_req *hdr)
{
	u32 num_sectors = 0;
	u64 sector = 0;
	u16 flags = 0;
	u16 type;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		type = VIRTIO_VSSD_T_READ;
		sector = blk_rq_pos(rq);
		break;
	case REQ_OP_WRITE:
		type = VIRTIO_VSSD_T_WRITE;
		sector = blk_rq_pos(rq);
		if (rq->cmd_flags & REQ_FUA)
			flags |= VIRTIO_VSSD_REQ_F_FUA;
		break;
	case REQ_OP_FLUSH:
		type = VIRTIO_VSSD_T_FLUSH;
		break;
	case REQ_OP_DISCARD:
		type = VIRTIO_VSSD_T_DISCARD;
		sector = blk_rq_pos(rq);
		num_sectors = blk_rq_sectors(rq);
		break;
	case REQ_OP_WRITE_ZEROES:
		type = VIRTIO_VSSD_T_WRITE_ZEROES;
		sector = blk_rq_pos(rq);
		num_sectors = blk_rq_sectors(rq);
		if (!(rq->cmd_flags & REQ_NOUNMAP))
			flags |= VIRTIO_VSSD_REQ_F_UNMAP;
		break;
	case REQ_OP_DRV_IN:
		/* The only driver-private request is GET_ID. */
		type = VIRTIO_VSSD_T_GET_ID;
		break;
	default:
		WARN_ON_ONCE(1);
		return BLK_STS_NOTSUPP;
	}

	hdr->type = cpu_to_le16(type);
	hdr->flags = cpu_to_le16(flags);
	hdr->num_sectors = cpu_to_le32(num_sectors);
	hdr->sector = cpu_to_le64(sector);
	return BLK_STS_OK;
}

/* Build the data scatter list. Return: entries used, or -ENOMEM. */
static int vssd_map_data(struct request *rq, struct vssd_blk_pdu *pdu)
{
	int err;

	if (!vssd_rq_has_data(rq))
		return 0;

	pdu->sg_table.sgl = pdu->sg;
	err = sg_alloc_table_chained(&pdu->sg_table,
				     blk_rq_nr_phys_segments(rq),
				     pdu->sg_table.sgl, VSSD_INLINE_SG);
	if (unlikely(err))
		return -ENOMEM;
	return blk_rq_map_sg(rq->q, rq, pdu->sg_table.sgl);
}

static void vssd_unmap_data(struct request *rq, struct vssd_blk_pdu *pdu)
{
	if (vssd_rq_has_data(rq))
		sg_free_table_chained(&pdu->sg_table, VSSD_INLINE_SG);
}

/*
 * Queue header, data and status as one chain. The caller holds the
 * virtqueue lock.
 */
static int vssd_add_req(struct virtqueue *vq, struct request *rq,
			struct vssd_blk_pdu *pdu, unsigned int nents)
{
	struct scatterlist hdr_sg, status_sg, *sgs[3];
	unsigned int num_out = 0, num_in = 0;

	sg_init_one(&hdr_sg, &pdu->hdr, sizeof(pdu->hdr));
	sgs[num_out++] = &hdr_sg;
	if (nents) {
		if (op_is_write(req_op(rq)))
			sgs[num_out++] = pdu->sg_table.sgl;
		else
			sgs[num_out + num_in++] = pdu->sg_table.sgl;
	}
	sg_init_one(&status_sg, &pdu->status, sizeof(pdu->status));
	sgs[num_out + num_in++] = &status_sg;

	return virtqueue_add_sgs(vq, sgs, num_out, num_in, pdu, GFP_ATOMIC);
}

static blk_status_t vssd_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct vssd_device *vssd = hctx->queue->queuedata;
	struct vssd_req_vq *rvq = hctx->driver_data;
	struct request *rq = bd->rq;
	struct vssd_blk_pdu *pdu = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	blk_status_t status;
	bool notify = false;
	int nents, err;

	/*
	 * Started before the plugged bitmap is read: a request that saw a
	 * block plugged is visible to vssd_blk_wait_idle() (barrier pairs
	 * with the one there).
	 */
	blk_mq_start_request(rq);
	/* pairs with the smp_mb() in vssd_blk_wait_idle() */
	smp_mb();
	status = vssd_check_blocks(vssd, rq);
	if (unlikely(status))
		return status;
	status = vssd_setup_hdr(rq, &pdu->hdr);
	if (unlikely(status))
		return status;
	pdu->status = VSSD_STATUS_UNSET;

	nents = vssd_map_data(rq, pdu);
	if (unlikely(nents < 0))
		return BLK_STS_RESOURCE;

	spin_lock_irqsave(&rvq->lock, flags);
	err = vssd_add_req(rvq->vq, rq, pdu, nents);
	if (unlikely(err)) {
		/* Let the device drain what is queued, then retry. */
		virtqueue_kick(rvq->vq);
		if (err == -ENOSPC) {
			blk_mq_stop_hw_queue(hctx);
			atomic64_inc(&vssd->stats.ring_full);
		}
		spin_unlock_irqrestore(&rvq->lock, flags);
		vssd_unmap_data(rq, pdu);

		switch (err) {
		case -ENOSPC:
			return BLK_STS_DEV_RESOURCE;
		case -ENOMEM:
			return BLK_STS_RESOURCE;
		default:
			/* -EIO: the virtqueue is broken. */
			return BLK_STS_IOERR;
		}
	}
	if (bd->last && virtqueue_kick_prepare(rvq->vq))
		notify = true;
	spin_unlock_irqrestore(&rvq->lock, flags);

	if (notify)
		virtqueue_notify(rvq->vq);
	return BLK_STS_OK;
}

/* blk-mq ends a batch whose last request did not have bd->last set. */
static void vssd_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct vssd_req_vq *rvq = hctx->driver_data;
	unsigned long flags;
	bool notify;

	spin_lock_irqsave(&rvq->lock, flags);
	notify = virtqueue_kick_prepare(rvq->vq);
	spin_unlock_irqrestore(&rvq->lock, flags);

	if (notify)
		virtqueue_notify(rvq->vq);
}

static void vssd_complete_rq(struct request *rq)
{
	struct vssd_device *vssd = rq->q->queuedata;
	struct vssd_blk_pdu *pdu = blk_mq_rq_to_pdu(rq);

	vssd_unmap_data(rq, pdu);
	blk_mq_end_request(rq, vssd_status_to_blk(vssd, pdu->status));
}

/**
 * vssd_req_done - request virtqueue callback: complete finished requests
 * @vq: the virtqueue
 */
void vssd_req_done(struct virtqueue *vq)
{
	struct vssd_device *vssd = vq->vdev->priv;
	struct vssd_req_vq *rvq = &vssd->req_vqs[vq->index];
	struct vssd_blk_pdu *pdu;
	bool completed = false;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&rvq->lock, flags);
	do {
		virtqueue_disable_cb(vq);
		while ((pdu = virtqueue_get_buf(vq, &len)) != NULL) {
			struct request *rq = blk_mq_rq_from_pdu(pdu);

			if (likely(!blk_should_fake_timeout(rq->q)))
				blk_mq_complete_request(rq);
			completed = true;
		}
		if (unlikely(virtqueue_is_broken(vq)))
			break;
	} while (!virtqueue_enable_cb(vq));
	spin_unlock_irqrestore(&rvq->lock, flags);

	/* Room in the ring again: restart queues stopped on -ENOSPC. */
	if (completed)
		blk_mq_start_stopped_hw_queues(vssd->disk->queue, true);
}

static int vssd_init_hctx(struct blk_mq_hw_ctx *hctx, void *data,
			  unsigned int hctx_idx)
{
	struct vssd_device *vssd = data;

	hctx->driver_data = &vssd->req_vqs[hctx_idx];
	return 0;
}

static void vssd_map_queues(struct blk_mq_tag_set *set)
{
	struct vssd_device *vssd = set->driver_data;

	blk_mq_virtio_map_queues(&set->map[HCTX_TYPE_DEFAULT], vssd->vdev, 0);
}

static const struct blk_mq_ops vssd_mq_ops = {
	.queue_rq	= vssd_queue_rq,
	.commit_rqs	= vssd_commit_rqs,
	.complete	= vssd_complete_rq,
	.init_hctx	= vssd_init_hctx,
	.map_queues	= vssd_map_queues,
};

static const struct block_device_operations vssd_fops = {
	.owner		= THIS_MODULE,
};

/* /sys/block/vssdN/serial: the device's GET_ID string. */
static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct gendisk *disk = dev_to_disk(dev);
	struct request *rq;
	ssize_t ret;
	char *id;
	int err;

	id = kzalloc(VIRTIO_VSSD_ID_BYTES, GFP_KERNEL);
	if (!id)
		return -ENOMEM;

	rq = blk_mq_alloc_request(disk->queue, REQ_OP_DRV_IN, 0);
	if (IS_ERR(rq)) {
		ret = PTR_ERR(rq);
		goto out_free_id;
	}
	err = blk_rq_map_kern(disk->queue, rq, id, VIRTIO_VSSD_ID_BYTES,
			      GFP_KERNEL);
	if (!err)
		err = blk_status_to_errno(blk_execute_rq(rq, false));
	blk_mq_free_request(rq);

	if (err)
		ret = err;
	else
		ret = sysfs_emit(buf, "%.*s\n", VIRTIO_VSSD_ID_BYTES, id);
out_free_id:
	kfree(id);
	return ret;
}
static DEVICE_ATTR_RO(serial);

static struct attribute *vssd_disk_attrs[] = {
	&dev_attr_serial.attr,
	NULL,
};

static const struct attribute_group vssd_disk_attr_group = {
	.attrs = vssd_disk_attrs,
};

static const struct attribute_group *vssd_disk_attr_groups[] = {
	&vssd_disk_attr_group,
	NULL,
};

/* Smallest ring of the request virtqueues. */
static unsigned int vssd_min_ring_size(struct vssd_device *vssd)
{
	unsigned int i, size = UINT_MAX;

	for (i = 0; i < vssd->num_queues; i++)
		size = min(size, virtqueue_get_vring_size(vssd->req_vqs[i].vq));
	return size;
}

/* Queue limits derived from the geometry and the rings. */
static void vssd_set_limits(struct vssd_device *vssd, struct queue_limits *lim,
			    unsigned int ring_size)
{
	unsigned int bs_sectors = vssd->block_size >> VIRTIO_VSSD_SECTOR_SHIFT;
	unsigned int max_discard;

	lim->logical_block_size = VIRTIO_VSSD_SECTOR_SIZE;
	lim->physical_block_size = min_t(u32, vssd->block_size, PAGE_SIZE);
	/* Without indirect descriptors a chain needs header + data + status. */
	lim->max_segments = min(ring_size - 2, vssd->seg_max);
	lim->max_segment_size = min_t(size_t, UINT_MAX,
				      virtio_max_dma_size(vssd->vdev));
	/* a larger READ or WRITE would end in VIRTIO_VSSD_S_INVALID */
	lim->max_hw_sectors = vssd->max_sectors;

	/* non-rotational, no entropy source: neither feature is set */
	vssd_lim_set_features(lim, BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA);

	/* num_sectors is 32 bits; keep whole blocks per request. */
	max_discard = round_down(UINT_MAX >> VIRTIO_VSSD_SECTOR_SHIFT,
				 bs_sectors);
	lim->discard_granularity = vssd->block_size;
	lim->max_hw_discard_sectors = max_discard;
	lim->max_discard_segments = 1;
	lim->max_write_zeroes_sectors = max_discard;
}

/**
 * vssd_blk_init - create /dev/vssdN
 * @vssd: the device
 *
 * Create /dev/vssdN. Needs the request virtqueues and a ready device (the
 * partition scan reads the disk). On failure everything is undone.
 */
int vssd_blk_init(struct vssd_device *vssd)
{
	struct blk_mq_tag_set *set = &vssd->tag_set;
	unsigned int ring_size = vssd_min_ring_size(vssd);
	struct queue_limits lim = { };
	struct gendisk *disk;
	int err;

	if (!vssd->has_block_region)
		return 0;
	if (ring_size < 3) {
		dev_err(&vssd->vdev->dev, "request ring of %u entries is too small\n",
			ring_size);
		return -EINVAL;
	}

	memset(set, 0, sizeof(*set));
	set->ops = &vssd_mq_ops;
	set->nr_hw_queues = vssd->num_queues;
	set->nr_maps = 1;
	set->queue_depth = ring_size;
	set->numa_node = NUMA_NO_NODE;
	/* a fast virtual disk: no I/O scheduler unless asked, as virtio_blk */
	set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	set->cmd_size = sizeof(struct vssd_blk_pdu) +
			sizeof(struct scatterlist) * VSSD_INLINE_SG;
	set->driver_data = vssd;

	err = blk_mq_alloc_tag_set(set);
	if (err)
		return err;

	vssd_set_limits(vssd, &lim, ring_size);
	disk = blk_mq_alloc_disk(set, &lim, vssd);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto err_free_tag_set;
	}
	vssd->disk = disk;

	/* major 0, minors 0: dynamic dev_t from the extended range. */
	disk->fops = &vssd_fops;
	disk->private_data = vssd;
	strscpy(disk->disk_name, vssd->name, sizeof(disk->disk_name));
	set_capacity(disk, vssd->block_region_size >> VIRTIO_VSSD_SECTOR_SHIFT);

	err = device_add_disk(&vssd->vdev->dev, disk, vssd_disk_attr_groups);
	if (err)
		goto err_put_disk;
	return 0;

err_put_disk:
	put_disk(disk);
	vssd->disk = NULL;
err_free_tag_set:
	blk_mq_free_tag_set(set);
	return err;
}

/**
 * vssd_blk_remove - take the disk away
 * @vssd: the device
 *
 * Take the disk away: fails new I/O and waits for every request the
 * device holds. The device must still be live.
 */
void vssd_blk_remove(struct vssd_device *vssd)
{
	if (vssd->disk)
		del_gendisk(vssd->disk);
}

/**
 * vssd_blk_free - free what vssd_blk_init() allocated
 * @vssd: the device
 */
void vssd_blk_free(struct vssd_device *vssd)
{
	if (!vssd->disk)
		return;
	put_disk(vssd->disk);
	vssd->disk = NULL;
	blk_mq_free_tag_set(&vssd->tag_set);
}
