// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the control queue.
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
 *
 * This file is the only one that touches the shared request buffers
 * (ctrl_req, ctrl_resp, ctrl_ranges): the layers above use the typed
 * calls vssd_ctrl_get_map(), vssd_ctrl_plug(), vssd_ctrl_unplug(),
 * vssd_ctrl_unplug_host() (which take ctrl_mutex themselves and speak in
 * bitmaps of blocks) and vssd_ctrl_flush().
 */

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include "vssd.h"
#include "vssd_ranges.h"

/**
 * vssd_ctrl_alloc - allocate the buffers of the synchronous requests
 * @vssd: the device
 *
 * Return: 0 or -ENOMEM.
 */
int vssd_ctrl_alloc(struct vssd_device *vssd)
{
	vssd->ctrl_req = kzalloc(sizeof(*vssd->ctrl_req), GFP_KERNEL);
	vssd->ctrl_resp = kzalloc(sizeof(*vssd->ctrl_resp), GFP_KERNEL);
	vssd->ctrl_ranges = kcalloc(vssd->ctrl_nr_ranges,
				    sizeof(*vssd->ctrl_ranges), GFP_KERNEL);
	if (!vssd->ctrl_req || !vssd->ctrl_resp || !vssd->ctrl_ranges) {
		vssd_ctrl_free(vssd);
		return -ENOMEM;
	}
	return 0;
}

/**
 * vssd_ctrl_free - free the buffers of the synchronous requests
 * @vssd: the device, reset (or never made ready)
 */
void vssd_ctrl_free(struct vssd_device *vssd)
{
	kfree(vssd->ctrl_ranges);
	kfree(vssd->ctrl_resp);
	kfree(vssd->ctrl_req);
	vssd->ctrl_ranges = NULL;
	vssd->ctrl_resp = NULL;
	vssd->ctrl_req = NULL;
}

/**
 * vssd_ctrl_done - control virtqueue callback
 * @vq: the control virtqueue
 *
 * Reaps the replies and wakes their waiters.
 */
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
	f->req.u.pmem_flush.offset = cpu_to_le64(offset);
	f->req.u.pmem_flush.length = cpu_to_le64(len);
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

/*
 * Send vssd->ctrl_req and wait for vssd->ctrl_resp (ctrl_mutex held).
 * @nr_out_ranges ranges of ctrl_ranges go after the request (PLUG,
 * UNPLUG); with @nr_in_ranges the whole of ctrl_ranges is offered to the
 * device, and *@nr_in_ranges receives the number it wrote (GET_MAP,
 * UNPLUG_HOST: the two replies keep nr_ranges in the same place).
 *
 * Returns 0 when the device answered (check ctrl_resp->status), -EIO when
 * the answer is malformed or the control queue is broken, -ETIMEDOUT when
 * no answer came (the queue is broken from then on), -ENOSPC or another
 * error from virtqueue_add_sgs().
 */
static int vssd_ctrl_request(struct vssd_device *vssd,
			     unsigned int nr_out_ranges,
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
	if (WARN_ON_ONCE(nr_out_ranges > vssd->ctrl_nr_ranges ||
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
			    vssd->ctrl_nr_ranges * sizeof(*vssd->ctrl_ranges));
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
		nr = le32_to_cpu(vssd->ctrl_resp->u.get_map.nr_ranges);
		if (nr > vssd->ctrl_nr_ranges ||
		    len < sizeof(*vssd->ctrl_resp) +
			  nr * sizeof(*vssd->ctrl_ranges)) {
			dev_err(&vssd->vdev->dev,
				"control reply claims %u ranges in %u bytes (room for %u)\n",
				nr, len, vssd->ctrl_nr_ranges);
			return -EIO;
		}
		*nr_in_ranges = nr;
	}
	return 0;
}

/* Readable names of VIRTIO_VSSD_RESP_*, for messages. */
static const char *vssd_resp_name(u16 status)
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

/*
 * Start ctrl_req as a request of @type on @region, every other byte zero
 * (ctrl_mutex held); the caller fills in the type's arguments.
 */
static struct virtio_vssd_ctrl_req *
vssd_ctrl_prepare(struct vssd_device *vssd, u16 type, u16 region)
{
	struct virtio_vssd_ctrl_req *req = vssd->ctrl_req;

	memset(req, 0, sizeof(*req));
	req->type = cpu_to_le16(type);
	req->region = cpu_to_le16(region);
	return req;
}

/**
 * vssd_ctrl_get_map - read a region's plugged map from the device
 * @vssd: the device; its control queue is up
 * @region: VIRTIO_VSSD_REGION_*
 * @map: bitmap of @nr_blocks bits, zeroed by the caller; filled here
 * @nr_blocks: blocks in the region
 *
 * One GET_MAP round trip per ctrl_nr_ranges ranges. The caller makes
 * sure nobody else looks at @map meanwhile.
 *
 * Return: 0, -EIO on a refused request or on a reply that is out of range
 * or makes no progress, or the transport's error.
 */
int vssd_ctrl_get_map(struct vssd_device *vssd, u16 region,
		      unsigned long *map, u64 nr_blocks)
{
	struct virtio_vssd_ctrl_resp *resp = vssd->ctrl_resp;
	struct device *dev = &vssd->vdev->dev;
	struct virtio_vssd_ctrl_req *req;
	unsigned int nr, bad;
	u64 next = 0, total, resp_next;
	int err = 0;

	mutex_lock(&vssd->ctrl_mutex);
	while (next < nr_blocks) {
		req = vssd_ctrl_prepare(vssd, VIRTIO_VSSD_CTRL_GET_MAP, region);
		req->u.get_map.first_block = cpu_to_le64(next);
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
		bad = vssd_ranges_check(vssd->ctrl_ranges, nr, nr_blocks,
					&total);
		vssd_ranges_to_bitmap(vssd->ctrl_ranges, bad, map);
		if (bad < nr) {
			dev_err(dev, "GET_MAP: bad range %llu+%llu\n",
				le64_to_cpu(vssd->ctrl_ranges[bad].first),
				le64_to_cpu(vssd->ctrl_ranges[bad].count));
			err = -EIO;
			break;
		}

		resp_next = le64_to_cpu(resp->u.get_map.next_block);
		if (resp_next <= next) {
			dev_err(dev, "GET_MAP: no progress past block %llu\n",
				next);
			err = -EIO;
			break;
		}
		next = resp_next;
	}
	mutex_unlock(&vssd->ctrl_mutex);
	return err;
}

/*
 * Send the resize request in ctrl_req (with @nr_out ranges of
 * ctrl_ranges; ctrl_mutex held) and map the answer: 0 (ACK), -EAGAIN
 * (STALE), -EBUSY, -EPROTO (any other NACK), -EREMOTEIO (host error) or
 * the transport's error (-EIO, -ETIMEDOUT: the control queue is broken).
 */
static int vssd_ctrl_resize_request(struct vssd_device *vssd, u32 generation,
				    unsigned int nr_out, unsigned int *nr_in)
{
	struct virtio_vssd_ctrl_resp *resp = vssd->ctrl_resp;
	struct vssd_counters *c = &vssd->stats;
	u16 type = le16_to_cpu(vssd->ctrl_req->type);
	u16 status, reason;
	int err;

	atomic64_inc(&c->resize_requests);
	err = vssd_ctrl_request(vssd, nr_out, nr_in);
	if (err) {
		atomic64_inc(&c->resize_errors);
		return err;
	}

	status = le16_to_cpu(resp->status);
	reason = le16_to_cpu(resp->reason);
	switch (status) {
	case VIRTIO_VSSD_RESP_ACK:
		return 0;
	case VIRTIO_VSSD_RESP_BUSY:
		atomic64_inc(&c->resize_busy);
		return -EBUSY;
	case VIRTIO_VSSD_RESP_NACK:
		atomic64_inc(&c->resize_refused);
		if (reason == VIRTIO_VSSD_R_STALE)
			return -EAGAIN;
		dev_warn(&vssd->vdev->dev,
			 "resize request %u (generation %u) refused, reason %u\n",
			 type, generation, reason);
		return -EPROTO;
	default:
		atomic64_inc(&c->resize_errors);
		dev_warn(&vssd->vdev->dev,
			 "resize request %u (generation %u): %s\n", type,
			 generation, vssd_resp_name(status));
		return -EREMOTEIO;
	}
}

/* PLUG or UNPLUG the set bits of @map from *@from on, one request's worth. */
static int vssd_ctrl_send_list(struct vssd_device *vssd, u16 type,
			       u16 region, u32 generation,
			       const unsigned long *map, u64 nr_blocks,
			       u64 *from)
{
	struct virtio_vssd_ctrl_req *req;
	unsigned int nr;
	u64 next = *from;
	int err;

	mutex_lock(&vssd->ctrl_mutex);
	nr = vssd_ranges_from_bitmap(vssd->ctrl_ranges, vssd->ctrl_nr_ranges, map,
				     nr_blocks, &next);
	if (!nr) {
		err = -ENODATA;
		goto out_unlock;
	}
	req = vssd_ctrl_prepare(vssd, type, region);
	/* UNPLUG and PLUG share their layout */
	req->u.plug.generation = cpu_to_le32(generation);
	req->u.plug.nr_ranges = cpu_to_le32(nr);
	err = vssd_ctrl_resize_request(vssd, generation, nr, NULL);
	if (!err)
		*from = next;
out_unlock:
	mutex_unlock(&vssd->ctrl_mutex);
	return err;
}

/**
 * vssd_ctrl_plug - PLUG blocks of a bitmap, as many as one request holds
 * @vssd: the device
 * @region: VIRTIO_VSSD_REGION_*
 * @generation: the resize_generation answered
 * @map: the blocks to plug
 * @nr_blocks: bits in @map
 * @from: first block to look at; on ACK moved past the blocks sent, so
 *        that the blocks of @map in [old *@from, new *@from) were plugged
 *
 * Return: 0 (ACK), -ENODATA when no block is set from *@from, -EAGAIN
 * (STALE), -EBUSY, -EPROTO (any other refusal), -EREMOTEIO (host error),
 * or the transport's error (-EIO, -ETIMEDOUT).
 */
int vssd_ctrl_plug(struct vssd_device *vssd, u16 region, u32 generation,
		   const unsigned long *map, u64 nr_blocks, u64 *from)
{
	return vssd_ctrl_send_list(vssd, VIRTIO_VSSD_CTRL_PLUG, region,
				   generation, map, nr_blocks, from);
}

/**
 * vssd_ctrl_unplug - UNPLUG blocks of a bitmap, as many as one request holds
 * @vssd: the device
 * @region: VIRTIO_VSSD_REGION_*
 * @generation: the resize_generation answered
 * @map: the blocks to give back
 * @nr_blocks: bits in @map
 * @from: as for vssd_ctrl_plug()
 *
 * Return: as vssd_ctrl_plug().
 */
int vssd_ctrl_unplug(struct vssd_device *vssd, u16 region, u32 generation,
		     const unsigned long *map, u64 nr_blocks, u64 *from)
{
	return vssd_ctrl_send_list(vssd, VIRTIO_VSSD_CTRL_UNPLUG, region,
				   generation, map, nr_blocks, from);
}

/*
 * Check the list of an UNPLUG_HOST reply (ctrl_mutex held). A reply that
 * names blocks outside the region or more than asked is a broken device:
 * the caller keeps its map rather than trust it (-EIO). -ENOSPC when the
 * device took nothing (it keeps some blocks back: a shrink stops short).
 */
static int vssd_ctrl_check_host_ranges(struct vssd_device *vssd,
				       unsigned int nr, u64 nr_blocks,
				       u64 want, u64 *total)
{
	struct device *dev = &vssd->vdev->dev;
	unsigned int bad;

	bad = vssd_ranges_check(vssd->ctrl_ranges, nr, nr_blocks, total);
	if (bad < nr) {
		dev_err(dev, "UNPLUG_HOST: bad range %llu+%llu\n",
			le64_to_cpu(vssd->ctrl_ranges[bad].first),
			le64_to_cpu(vssd->ctrl_ranges[bad].count));
		atomic64_inc(&vssd->stats.resize_errors);
		return -EIO;
	}
	if (*total > want) {
		dev_err(dev, "UNPLUG_HOST: %llu blocks for %llu asked\n",
			*total, want);
		atomic64_inc(&vssd->stats.resize_errors);
		return -EIO;
	}
	if (le64_to_cpu(vssd->ctrl_resp->u.unplug_host.nr_blocks) != *total) {
		dev_err(dev, "UNPLUG_HOST: reply counts %llu blocks, its ranges %llu\n",
			le64_to_cpu(vssd->ctrl_resp->u.unplug_host.nr_blocks),
			*total);
		atomic64_inc(&vssd->stats.resize_errors);
		return -EIO;
	}
	/* the device had nothing it may take (e.g. reserved pmem blocks) */
	return *total ? 0 : -ENOSPC;
}

/**
 * vssd_ctrl_unplug_host - UNPLUG_HOST: the device picks blocks to take back
 * @vssd: the device
 * @region: VIRTIO_VSSD_REGION_*
 * @generation: the resize_generation answered
 * @want: blocks asked for
 * @taken: bitmap of @nr_blocks bits; receives the blocks the device took
 * @nr_blocks: blocks in the region
 * @total: receives the number of blocks taken
 *
 * Return: 0, -ENOSPC when the device took nothing, -EIO for a reply we
 * cannot trust (nothing taken then), or an error as vssd_ctrl_plug().
 */
int vssd_ctrl_unplug_host(struct vssd_device *vssd, u16 region,
			  u32 generation, u64 want, unsigned long *taken,
			  u64 nr_blocks, u64 *total)
{
	struct virtio_vssd_ctrl_req *req;
	unsigned int nr;
	int err;

	mutex_lock(&vssd->ctrl_mutex);
	req = vssd_ctrl_prepare(vssd, VIRTIO_VSSD_CTRL_UNPLUG_HOST, region);
	req->u.unplug_host.generation = cpu_to_le32(generation);
	req->u.unplug_host.nr_blocks = cpu_to_le64(want);
	err = vssd_ctrl_resize_request(vssd, generation, 0, &nr);
	if (!err)
		err = vssd_ctrl_check_host_ranges(vssd, nr, nr_blocks, want,
						  total);
	if (!err) {
		bitmap_zero(taken, nr_blocks);
		vssd_ranges_to_bitmap(vssd->ctrl_ranges, nr, taken);
		dev_dbg(&vssd->vdev->dev,
			"UNPLUG_HOST: host took %llu blocks of region %u in %u ranges\n",
			*total, region, nr);
	}
	mutex_unlock(&vssd->ctrl_mutex);
	return err;
}
