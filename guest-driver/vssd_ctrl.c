// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the control queue and the plugged map.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Control requests are synchronous and serialised by ctrl_mutex: one
 * request is in flight at a time, in buffers allocated once at probe (they
 * must be DMA-able, so never on the stack). A request that gets no answer
 * within VSSD_CTRL_TIMEOUT marks the control queue broken: the device may
 * still write the buffers, so they are left alone until remove resets the
 * device.
 *
 * PMEM_FLUSH is the exception: it is what every consistency point of every
 * container waits for, and the device answers flushes out of order as they
 * complete, so each flush brings its own buffers and several may be in
 * flight (up to ctrl_flush_slots). Every request is queued with its
 * struct vssd_ctrl_call as the token, so the callback wakes the right
 * waiter.
 */

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include "vssd.h"

int vssd_ctrl_alloc(struct vssd_device *vssd)
{
	vssd->ctrl_req = kzalloc(sizeof(*vssd->ctrl_req), GFP_KERNEL);
	vssd->ctrl_resp = kzalloc(sizeof(*vssd->ctrl_resp), GFP_KERNEL);
	vssd->ctrl_ranges = kcalloc(VSSD_CTRL_RANGES,
				    sizeof(*vssd->ctrl_ranges), GFP_KERNEL);
	if (!vssd->ctrl_req || !vssd->ctrl_resp || !vssd->ctrl_ranges) {
		vssd_ctrl_free(vssd);
		return -ENOMEM;
	}
	return 0;
}

/* Only after the device was reset (or never made ready). */
void vssd_ctrl_free(struct vssd_device *vssd)
{
	kfree(vssd->ctrl_ranges);
	kfree(vssd->ctrl_resp);
	kfree(vssd->ctrl_req);
	vssd->ctrl_ranges = NULL;
	vssd->ctrl_resp = NULL;
	vssd->ctrl_req = NULL;
}

/* Control virtqueue callback: reap the replies and wake their waiters. */
void vssd_ctrl_done(struct virtqueue *vq)
{
	struct vssd_device *vssd = vq->vdev->priv;
	struct vssd_ctrl_call *call;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&vssd->ctrl_lock, flags);
	do {
		virtqueue_disable_cb(vq);
		while ((call = virtqueue_get_buf(vq, &len))) {
			call->used_len = len;
			complete(&call->done);
		}
		if (unlikely(virtqueue_is_broken(vq)))
			break;
	} while (!virtqueue_enable_cb(vq));
	spin_unlock_irqrestore(&vssd->ctrl_lock, flags);
}

/*
 * Queue the buffers @sgs with @call as the token and wait for the answer.
 * A timeout marks the queue broken (the device may still own the buffers).
 */
static int vssd_ctrl_call(struct vssd_device *vssd, struct vssd_ctrl_call *call,
			  struct scatterlist **sgs, unsigned int nr_out,
			  unsigned int nr_in, u16 type)
{
	unsigned long flags;
	int err;

	reinit_completion(&call->done);
	spin_lock_irqsave(&vssd->ctrl_lock, flags);
	err = vssd->ctrl_broken ? -EIO :
	      virtqueue_add_sgs(vssd->ctrl_vq, sgs, nr_out, nr_in, call,
				GFP_ATOMIC);
	if (!err)
		virtqueue_kick(vssd->ctrl_vq);
	spin_unlock_irqrestore(&vssd->ctrl_lock, flags);
	if (err) {
		dev_warn(&vssd->vdev->dev, "control queue: add failed: %d\n",
			 err);
		return err;
	}

	if (!wait_for_completion_timeout(&call->done, VSSD_CTRL_TIMEOUT)) {
		WRITE_ONCE(vssd->ctrl_broken, true);
		dev_err(&vssd->vdev->dev,
			"control request %u got no answer; control queue disabled\n",
			type);
		return -ETIMEDOUT;
	}
	return 0;
}

/* A PMEM_FLUSH with its own buffers. */
struct vssd_ctrl_flush {
	struct vssd_ctrl_call call;
	struct virtio_vssd_ctrl_req req;
	struct virtio_vssd_ctrl_resp resp;
};

/**
 * vssd_ctrl_flush - PMEM_FLUSH a byte range, concurrently with other flushes
 * @vssd: the device
 * @region: VIRTIO_VSSD_REGION_PMEM
 * @offset: first byte
 * @len: bytes
 * @status: receives the device's VIRTIO_VSSD_RESP_*
 *
 * Does not take ctrl_mutex: flushes of different callers are in flight
 * together, each waiting only for its own answer.
 *
 * Return: 0 when the device answered, -EIO on a malformed answer or a
 * broken queue, -ETIMEDOUT, -EINTR, -ENOMEM.
 */
int vssd_ctrl_flush(struct vssd_device *vssd, u16 region, u64 offset,
		    u64 len, u16 *status)
{
	struct scatterlist req_sg, resp_sg, *sgs[2] = { &req_sg, &resp_sg };
	struct vssd_ctrl_flush *f;
	int err;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	init_completion(&f->call.done);
	f->req.type = cpu_to_le16(VIRTIO_VSSD_CTRL_PMEM_FLUSH);
	f->req.region = cpu_to_le16(region);
	f->req.arg0 = cpu_to_le64(offset);
	f->req.arg1 = cpu_to_le64(len);
	sg_init_one(&req_sg, &f->req, sizeof(f->req));
	sg_init_one(&resp_sg, &f->resp, sizeof(f->resp));

	if (down_killable(&vssd->ctrl_flush_slots)) {
		kfree(f);
		return -EINTR;
	}
	err = vssd_ctrl_call(vssd, &f->call, sgs, 1, 1,
			     VIRTIO_VSSD_CTRL_PMEM_FLUSH);
	up(&vssd->ctrl_flush_slots);
	if (err == -ETIMEDOUT)
		return err;	/* the device may still write *f: leak it */
	if (!err && f->call.used_len < sizeof(f->resp))
		err = -EIO;
	if (!err)
		*status = le16_to_cpu(f->resp.status);
	kfree(f);
	return err;
}

/**
 * vssd_ctrl_request - send vssd->ctrl_req and wait for vssd->ctrl_resp
 * @vssd: the device; the caller holds ctrl_mutex and filled ctrl_req
 * @nr_out_ranges: ranges of ctrl_ranges sent after the request (PLUG, UNPLUG)
 * @nr_in_ranges: NULL, or receives the number of ranges the device wrote
 *                into ctrl_ranges (GET_MAP, UNPLUG_HOST); the whole buffer
 *                is then offered to the device
 *
 * Return: 0 when the device answered (check ctrl_resp->status), -EIO when
 * the answer is malformed or the control queue is broken, -ETIMEDOUT when
 * no answer came (the queue is broken from then on), -ENOSPC or another
 * error from virtqueue_add_sgs().
 */
int vssd_ctrl_request(struct vssd_device *vssd, unsigned int nr_out_ranges,
		      unsigned int *nr_in_ranges)
{
	struct scatterlist req_sg, resp_sg, out_ranges_sg, in_ranges_sg;
	struct scatterlist *sgs[4];
	unsigned int nr_out = 0, nr_in = 0;
	unsigned int nr, len;
	int err;

	lockdep_assert_held(&vssd->ctrl_mutex);
	if (vssd->ctrl_broken)
		return -EIO;
	if (WARN_ON_ONCE(nr_out_ranges > VSSD_CTRL_RANGES ||
			 (nr_out_ranges && nr_in_ranges)))
		return -EINVAL;

	sg_init_one(&req_sg, vssd->ctrl_req, sizeof(*vssd->ctrl_req));
	sgs[nr_out++] = &req_sg;
	if (nr_out_ranges) {
		sg_init_one(&out_ranges_sg, vssd->ctrl_ranges,
			    nr_out_ranges * sizeof(*vssd->ctrl_ranges));
		sgs[nr_out++] = &out_ranges_sg;
	}
	memset(vssd->ctrl_resp, 0, sizeof(*vssd->ctrl_resp));
	sg_init_one(&resp_sg, vssd->ctrl_resp, sizeof(*vssd->ctrl_resp));
	sgs[nr_out + nr_in++] = &resp_sg;
	if (nr_in_ranges) {
		sg_init_one(&in_ranges_sg, vssd->ctrl_ranges,
			    VSSD_CTRL_RANGES * sizeof(*vssd->ctrl_ranges));
		sgs[nr_out + nr_in++] = &in_ranges_sg;
	}

	err = vssd_ctrl_call(vssd, &vssd->ctrl_call, sgs, nr_out, nr_in,
			     le16_to_cpu(vssd->ctrl_req->type));
	if (err)
		return err;
	len = vssd->ctrl_call.used_len;
	if (len < sizeof(*vssd->ctrl_resp)) {
		dev_err(&vssd->vdev->dev,
			"control reply of %u bytes, expected at least %zu\n",
			len, sizeof(*vssd->ctrl_resp));
		return -EIO;
	}
	if (nr_in_ranges) {
		nr = le32_to_cpu(vssd->ctrl_resp->nr_ranges);
		if (nr > VSSD_CTRL_RANGES ||
		    len < sizeof(*vssd->ctrl_resp) +
			  nr * sizeof(*vssd->ctrl_ranges)) {
			dev_err(&vssd->vdev->dev,
				"control reply claims %u ranges in %u bytes (room for %u)\n",
				nr, len, VSSD_CTRL_RANGES);
			return -EIO;
		}
		*nr_in_ranges = nr;
	}
	return 0;
}

/* Readable names of VIRTIO_VSSD_RESP_*, for messages. */
const char *vssd_resp_name(u16 status)
{
	switch (status) {
	case VIRTIO_VSSD_RESP_ACK:
		return "ACK";
	case VIRTIO_VSSD_RESP_NACK:
		return "NACK";
	case VIRTIO_VSSD_RESP_BUSY:
		return "BUSY";
	case VIRTIO_VSSD_RESP_ERROR:
		return "ERROR";
	default:
		return "unknown";
	}
}

/**
 * vssd_map_load_region - read a region's plugged map from the device
 * @vssd: the device; its control queue is up
 * @region: VIRTIO_VSSD_REGION_*
 * @map: bitmap of @nr_blocks bits, zeroed by the caller; filled here
 * @nr_blocks: blocks in the region
 *
 * One GET_MAP round trip per VSSD_CTRL_RANGES ranges. Fails with -EIO on a
 * refused request or on a reply that is out of range or makes no progress.
 */
int vssd_map_load_region(struct vssd_device *vssd, u16 region,
			 unsigned long *map, u64 nr_blocks)
{
	struct device *dev = &vssd->vdev->dev;
	unsigned int nr, i;
	u64 next = 0;
	int err = 0;

	mutex_lock(&vssd->ctrl_mutex);
	mutex_lock(&vssd->map_mutex);
	while (next < nr_blocks) {
		struct virtio_vssd_ctrl_req *req = vssd->ctrl_req;
		struct virtio_vssd_ctrl_resp *resp = vssd->ctrl_resp;
		u64 resp_next;

		memset(req, 0, sizeof(*req));
		req->type = cpu_to_le16(VIRTIO_VSSD_CTRL_GET_MAP);
		req->region = cpu_to_le16(region);
		req->arg0 = cpu_to_le64(next);

		err = vssd_ctrl_request(vssd, 0, &nr);
		if (err)
			break;
		if (le16_to_cpu(resp->status) != VIRTIO_VSSD_RESP_ACK) {
			dev_err(dev, "GET_MAP of region %u from block %llu: %s (reason %u)\n",
				region, next,
				vssd_resp_name(le16_to_cpu(resp->status)),
				le16_to_cpu(resp->reason));
			err = -EIO;
			break;
		}

		for (i = 0; i < nr; i++) {
			u64 first = le64_to_cpu(vssd->ctrl_ranges[i].first);
			u64 count = le64_to_cpu(vssd->ctrl_ranges[i].count);

			if (!count || first >= nr_blocks ||
			    count > nr_blocks - first) {
				dev_err(dev, "GET_MAP: bad range %llu+%llu\n",
					first, count);
				err = -EIO;
				goto out_unlock;
			}
			bitmap_set(map, first, count);
		}

		resp_next = le64_to_cpu(resp->next);
		if (resp_next <= next) {
			dev_err(dev, "GET_MAP: no progress past block %llu\n",
				next);
			err = -EIO;
			break;
		}
		next = resp_next;
	}
out_unlock:
	mutex_unlock(&vssd->map_mutex);
	mutex_unlock(&vssd->ctrl_mutex);
	return err;
}

/* The block region's plugged bitmap, allocated and filled at probe. */
int vssd_map_load(struct vssd_device *vssd)
{
	int err;

	if (!vssd->has_block_region)
		return 0;

	vssd->plugged = kvcalloc(BITS_TO_LONGS(vssd->nr_blocks),
				 sizeof(unsigned long), GFP_KERNEL);
	if (!vssd->plugged)
		return -ENOMEM;
	err = vssd_map_load_region(vssd, VIRTIO_VSSD_REGION_BLOCK,
				   vssd->plugged, vssd->nr_blocks);
	if (err) {
		vssd_map_free(vssd);
		return err;
	}
	dev_dbg(&vssd->vdev->dev, "GET_MAP: %llu of %llu blocks plugged\n",
		vssd_map_weight(vssd), vssd->nr_blocks);
	return 0;
}

void vssd_map_free(struct vssd_device *vssd)
{
	kvfree(vssd->plugged);
	vssd->plugged = NULL;
}

/* Number of plugged blocks according to the map. */
u64 vssd_map_weight(struct vssd_device *vssd)
{
	u64 weight;

	mutex_lock(&vssd->map_mutex);
	weight = vssd->plugged ?
		 bitmap_weight(vssd->plugged, vssd->nr_blocks) : 0;
	mutex_unlock(&vssd->map_mutex);
	return weight;
}
