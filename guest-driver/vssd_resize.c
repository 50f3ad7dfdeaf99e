// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the resize protocol (VIRTIO_VSSD_F_RESIZE).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The host sets a requested size and raises a config interrupt;
 * config_work then runs steps until the plugged size equals the requested
 * size. Each step rereads the config space and answers the current
 * resize_generation with one kind of list:
 *
 *   shrink, policy GUEST  choose blocks (vssd_evict.c), quiesce them (they
 *                         leave the plugged map, so new requests to them
 *                         fail with EIO, and the requests to them in
 *                         flight complete), then UNPLUG them;
 *   shrink, policy HOST   UNPLUG_HOST: the device names the blocks;
 *   grow                  PLUG the lowest unplugged blocks.
 *
 * Lists go out VSSD_CTRL_RANGES ranges per request: a resize whose list
 * fits takes one round trip. A refused list changes nothing on the device,
 * so the blocks it held are put back into the plugged map. STALE (the host
 * moved the target meanwhile) just starts the next step at once; BUSY and
 * host errors retry after VSSD_RESIZE_RETRY; any other refusal, a broken
 * control queue or a reply we cannot trust is logged and the resize waits
 * for the next config change.
 *
 * Before the first step of a new target the driver announces it: `pending`
 * in /proc, a KOBJ_CHANGE uevent on the disk (VSSD_PENDING=shrink|grow,
 * VSSD_BLOCKS, VSSD_GENERATION), and, when agent_timeout_ms is set, a
 * bounded wait for a userspace agent to write "ready" to `pending` (for
 * example after it wrote hints, or moved dm-cache blocks out of the way).
 */

#include <linux/bitmap.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/virtio_config.h>
#include "vssd.h"

/* Delay before a step that was BUSY, or failed on the host, is retried. */
#define VSSD_RESIZE_RETRY	HZ

/* Steps in one run of config_work before it yields (and requeues). */
#define VSSD_RESIZE_MAX_STEPS	64

static unsigned int agent_timeout_ms;
module_param(agent_timeout_ms, uint, 0644);
MODULE_PARM_DESC(agent_timeout_ms,
		 "How long a resize waits for an agent's \"ready\" in /proc/vssd/*/pending (ms, 0 = no wait)");

static const char * const vssd_pending_names[] = {
	[VSSD_PENDING_NONE]	= "none",
	[VSSD_PENDING_SHRINK]	= "shrink",
	[VSSD_PENDING_GROW]	= "grow",
};

const char *vssd_pending_name(enum vssd_pending_op op)
{
	if (op >= ARRAY_SIZE(vssd_pending_names))
		return "unknown";
	return vssd_pending_names[op];
}

/* The config as one step sees it. */
struct vssd_resize_target {
	/* VIRTIO_VSSD_REGION_* */
	u16 region;
	u32 generation;
	u32 policy;
	enum vssd_pending_op op;
	/* Blocks still to give back or take. */
	u64 blocks;
};

static bool vssd_removing(struct vssd_device *vssd)
{
	unsigned long flags;
	bool removing;

	spin_lock_irqsave(&vssd->lock, flags);
	removing = vssd->removing;
	spin_unlock_irqrestore(&vssd->lock, flags);
	return removing;
}

/* @t for @region from the config space as last read. */
static void vssd_resize_target(struct vssd_device *vssd, u16 region,
			       struct vssd_resize_target *t)
{
	unsigned long flags;
	u64 plugged = 0, requested = 0;

	spin_lock_irqsave(&vssd->lock, flags);
	if (region == VIRTIO_VSSD_REGION_BLOCK && vssd->has_block_region) {
		plugged = vssd->block_plugged_size >> vssd->block_shift;
		requested = vssd->block_requested_size >> vssd->block_shift;
		t->policy = vssd->block_policy;
	} else if (region == VIRTIO_VSSD_REGION_PMEM && vssd->pmem) {
		plugged = vssd->pmem_plugged_size >> vssd->pmem_block_shift;
		requested = vssd->pmem_requested_size >>
			    vssd->pmem_block_shift;
		t->policy = vssd->pmem_policy;
	}
	t->region = region;
	t->generation = vssd->resize_generation;
	spin_unlock_irqrestore(&vssd->lock, flags);

	if (plugged > requested) {
		t->op = VSSD_PENDING_SHRINK;
		t->blocks = plugged - requested;
	} else if (plugged < requested) {
		t->op = VSSD_PENDING_GROW;
		t->blocks = requested - plugged;
	} else {
		t->op = VSSD_PENDING_NONE;
		t->blocks = 0;
	}
}

/* The agent may go on: it said ready, a new target came, or we leave. */
static bool vssd_agent_done(struct vssd_device *vssd)
{
	unsigned long flags;
	bool done;

	spin_lock_irqsave(&vssd->lock, flags);
	done = vssd->agent_ready || vssd->config_pending || vssd->removing;
	spin_unlock_irqrestore(&vssd->lock, flags);
	return done;
}

/* /proc/vssd/vssdN/pending got "ready". */
void vssd_agent_ready(struct vssd_device *vssd)
{
	unsigned long flags;

	spin_lock_irqsave(&vssd->lock, flags);
	vssd->agent_ready = true;
	spin_unlock_irqrestore(&vssd->lock, flags);
	wake_up(&vssd->agent_wq);
}

/*
 * Publish @t as the pending step. The first time a generation is seen,
 * tell userspace (uevent) and give the agent its time.
 */
static void vssd_announce(struct vssd_device *vssd,
			  const struct vssd_resize_target *t)
{
	unsigned int timeout = READ_ONCE(agent_timeout_ms);
	char op_env[32], blocks_env[40], gen_env[40], region_env[32];
	char *envp[] = { op_env, blocks_env, gen_env, region_env, NULL };
	struct kobject *kobj = vssd->disk ? &disk_to_dev(vssd->disk)->kobj :
					    &vssd->vdev->dev.kobj;
	unsigned long flags;
	bool is_new;

	spin_lock_irqsave(&vssd->lock, flags);
	if (vssd->pending_op == VSSD_PENDING_NONE)
		vssd->resize_start = jiffies;
	vssd->pending_op = t->op;
	vssd->pending_blocks = t->blocks;
	vssd->pending_region = t->region;
	is_new = vssd->agent_generation != t->generation;
	if (is_new) {
		vssd->agent_generation = t->generation;
		vssd->agent_ready = false;
	}
	spin_unlock_irqrestore(&vssd->lock, flags);
	if (!is_new)
		return;

	snprintf(op_env, sizeof(op_env), "VSSD_PENDING=%s",
		 vssd_pending_name(t->op));
	snprintf(blocks_env, sizeof(blocks_env), "VSSD_BLOCKS=%llu",
		 t->blocks);
	snprintf(gen_env, sizeof(gen_env), "VSSD_GENERATION=%u",
		 t->generation);
	snprintf(region_env, sizeof(region_env), "VSSD_REGION=%s",
		 t->region == VIRTIO_VSSD_REGION_PMEM ? "pmem" : "block");
	kobject_uevent_env(kobj, KOBJ_CHANGE, envp);
	dev_dbg(&vssd->vdev->dev, "resize: generation %u: %s %llu blocks\n",
		t->generation, vssd_pending_name(t->op), t->blocks);

	if (timeout &&
	    !wait_event_timeout(vssd->agent_wq, vssd_agent_done(vssd),
				msecs_to_jiffies(timeout)))
		dev_dbg(&vssd->vdev->dev, "resize: no agent answer in %u ms\n",
			timeout);
}

/* The target is reached: nothing pending, and remember how long it took. */
static void vssd_resize_finished(struct vssd_device *vssd)
{
	unsigned long flags;

	spin_lock_irqsave(&vssd->lock, flags);
	if (vssd->pending_op != VSSD_PENDING_NONE)
		vssd->last_resize_ms =
			jiffies_to_msecs(jiffies - vssd->resize_start);
	vssd->pending_op = VSSD_PENDING_NONE;
	vssd->pending_blocks = 0;
	spin_unlock_irqrestore(&vssd->lock, flags);
}

/*
 * Send one resize request in ctrl_req (with @nr_out ranges of ctrl_ranges)
 * and map the answer: 0 (ACK), -EAGAIN (STALE), -EBUSY, -EPROTO (any
 * other NACK), -EREMOTEIO (host error) or the transport's error (-EIO,
 * -ETIMEDOUT: the control queue is broken).
 */
int vssd_resize_request(struct vssd_device *vssd, u16 region, u16 type,
			u32 generation, u64 arg0, unsigned int nr_out,
			unsigned int *nr_in)
{
	struct virtio_vssd_ctrl_req *req = vssd->ctrl_req;
	struct virtio_vssd_ctrl_resp *resp = vssd->ctrl_resp;
	struct vssd_counters *c = &vssd->stats;
	u16 status, reason;
	int err;

	memset(req, 0, sizeof(*req));
	req->type = cpu_to_le16(type);
	req->region = cpu_to_le16(region);
	req->generation = cpu_to_le32(generation);
	req->arg0 = cpu_to_le64(arg0);

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

/*
 * Encode the set bits of @map (@nbits) from *@from on as ranges in
 * ctrl_ranges, as many as fit. Returns the number of ranges and moves
 * *@from past them.
 */
unsigned int vssd_bitmap_to_ranges(struct vssd_device *vssd,
				   const unsigned long *map, u64 nbits,
				   u64 *from)
{
	unsigned int nr = 0;
	u64 start, end = *from;

	while (nr < VSSD_CTRL_RANGES) {
		start = find_next_bit(map, nbits, end);
		if (start >= nbits)
			break;
		end = find_next_zero_bit(map, nbits, start);
		vssd->ctrl_ranges[nr].first = cpu_to_le64(start);
		vssd->ctrl_ranges[nr].count = cpu_to_le64(end - start);
		nr++;
	}
	*from = end;
	return nr;
}

/*
 * The device acked the @nr ranges in ctrl_ranges: they leave the chosen
 * set; a plug (@plug) also puts them into the plugged map as unused.
 * Returns the blocks they hold.
 */
static u64 vssd_ranges_acked(struct vssd_device *vssd, unsigned int nr,
			     bool plug)
{
	unsigned int i;
	u64 total = 0;

	mutex_lock(&vssd->map_mutex);
	for (i = 0; i < nr; i++) {
		u64 first = le64_to_cpu(vssd->ctrl_ranges[i].first);
		u64 count = le64_to_cpu(vssd->ctrl_ranges[i].count);

		bitmap_clear(vssd->chosen, first, count);
		if (plug) {
			memset(&vssd->last_use[first], 0,
			       count * sizeof(*vssd->last_use));
			bitmap_set(vssd->plugged, first, count);
		}
		total += count;
	}
	mutex_unlock(&vssd->map_mutex);
	return total;
}

/*
 * Send the chosen blocks as UNPLUG or PLUG lists until all are acked or
 * one is refused. Returns 0 or the error of the refused list; *@done
 * counts the acked blocks. Acked blocks are cleared from vssd->chosen.
 */
static int vssd_send_chosen(struct vssd_device *vssd, u16 type, u32 generation,
			    u64 *done)
{
	bool plug = type == VIRTIO_VSSD_CTRL_PLUG;
	unsigned int nr;
	u64 from = 0;
	int err;

	*done = 0;
	while ((nr = vssd_bitmap_to_ranges(vssd, vssd->chosen, vssd->nr_blocks,
					   &from)) != 0) {
		err = vssd_resize_request(vssd, VIRTIO_VSSD_REGION_BLOCK, type,
					  generation, nr, nr, NULL);
		if (err)
			return err;
		*done += vssd_ranges_acked(vssd, nr, plug);
	}
	return 0;
}

/*
 * Take the chosen blocks out of the plugged map, then wait for the
 * requests to them that are in flight: later ones fail in queue_rq.
 */
static void vssd_quiesce_chosen(struct vssd_device *vssd)
{
	mutex_lock(&vssd->map_mutex);
	bitmap_andnot(vssd->plugged, vssd->plugged, vssd->chosen,
		      vssd->nr_blocks);
	mutex_unlock(&vssd->map_mutex);
	vssd_blk_wait_idle(vssd, vssd->chosen);
}

/* Policy GUEST: choose, quiesce and UNPLUG @t->blocks blocks. */
static int vssd_shrink_guest(struct vssd_device *vssd,
			     const struct vssd_resize_target *t)
{
	u64 done;
	int err;

	if (!vssd_choose_evict(vssd, t->blocks))
		return -ENOSPC;
	vssd_quiesce_chosen(vssd);
	err = vssd_send_chosen(vssd, VIRTIO_VSSD_CTRL_UNPLUG, t->generation,
			       &done);
	if (err) {
		/* the device kept what it refused: usable again */
		mutex_lock(&vssd->map_mutex);
		bitmap_or(vssd->plugged, vssd->plugged, vssd->chosen,
			  vssd->nr_blocks);
		mutex_unlock(&vssd->map_mutex);
	}
	atomic64_add(done, &vssd->stats.evicted_blocks);
	if (done)
		vssd_hints_prune(vssd);
	return err;
}

/**
 * vssd_check_host_ranges - check the list of an UNPLUG_HOST reply
 * @vssd: the device; the @nr ranges are in ctrl_ranges
 * @nr: ranges in the reply
 * @nr_blocks: blocks in the region
 * @want: blocks asked for
 * @total: receives the blocks listed
 *
 * A reply that names blocks outside the region or more than asked is a
 * broken device: the caller keeps its map rather than trust it.
 * Return: 0, -EIO, or -ENOSPC when the device took nothing (it keeps some
 * blocks back, so the shrink stops short).
 */
int vssd_check_host_ranges(struct vssd_device *vssd, unsigned int nr,
			   u64 nr_blocks, u64 want, u64 *total)
{
	struct device *dev = &vssd->vdev->dev;
	unsigned int i;

	*total = 0;
	for (i = 0; i < nr; i++) {
		u64 first = le64_to_cpu(vssd->ctrl_ranges[i].first);
		u64 count = le64_to_cpu(vssd->ctrl_ranges[i].count);

		if (!count || first >= nr_blocks || count > nr_blocks - first) {
			dev_err(dev, "UNPLUG_HOST: bad range %llu+%llu\n",
				first, count);
			atomic64_inc(&vssd->stats.resize_errors);
			return -EIO;
		}
		*total += count;
	}
	if (*total > want) {
		dev_err(dev, "UNPLUG_HOST: %llu blocks for %llu asked\n",
			*total, want);
		atomic64_inc(&vssd->stats.resize_errors);
		return -EIO;
	}
	/* the device had nothing it may take (e.g. reserved pmem blocks) */
	return *total ? 0 : -ENOSPC;
}

/* Policy HOST: UNPLUG_HOST; the device names the blocks it took. */
static int vssd_shrink_host(struct vssd_device *vssd,
			    const struct vssd_resize_target *t)
{
	unsigned int nr, i;
	u64 total = 0;
	int err;

	err = vssd_resize_request(vssd, VIRTIO_VSSD_REGION_BLOCK,
				  VIRTIO_VSSD_CTRL_UNPLUG_HOST, t->generation,
				  t->blocks, 0, &nr);
	if (err)
		return err;
	err = vssd_check_host_ranges(vssd, nr, vssd->nr_blocks, t->blocks,
				     &total);
	if (err)
		return err;

	mutex_lock(&vssd->map_mutex);
	for (i = 0; i < nr; i++)
		bitmap_clear(vssd->plugged,
			     le64_to_cpu(vssd->ctrl_ranges[i].first),
			     le64_to_cpu(vssd->ctrl_ranges[i].count));
	mutex_unlock(&vssd->map_mutex);
	atomic64_add(total, &vssd->stats.evicted_blocks);
	dev_dbg(&vssd->vdev->dev,
		"UNPLUG_HOST: host took %llu blocks in %u ranges\n", total, nr);
	return 0;
}

/* Grow: PLUG the lowest @t->blocks unplugged blocks. */
static int vssd_grow(struct vssd_device *vssd,
		     const struct vssd_resize_target *t)
{
	u64 done;
	int err;

	if (!vssd_choose_grant(vssd, t->blocks))
		return -ENOSPC;
	err = vssd_send_chosen(vssd, VIRTIO_VSSD_CTRL_PLUG, t->generation,
			       &done);
	atomic64_add(done, &vssd->stats.granted_blocks);
	return err;
}

static int vssd_resize_step(struct vssd_device *vssd,
			    const struct vssd_resize_target *t)
{
	int err;

	if (t->region == VIRTIO_VSSD_REGION_PMEM)
		return vssd_pmem_resize_step(vssd, t->op == VSSD_PENDING_GROW,
					     t->policy == VIRTIO_VSSD_POLICY_HOST,
					     t->generation, t->blocks);

	mutex_lock(&vssd->ctrl_mutex);
	if (t->op == VSSD_PENDING_GROW)
		err = vssd_grow(vssd, t);
	else if (t->policy == VIRTIO_VSSD_POLICY_HOST)
		err = vssd_shrink_host(vssd, t);
	else
		err = vssd_shrink_guest(vssd, t);
	mutex_unlock(&vssd->ctrl_mutex);
	return err;
}

/* Run again after @delay, unless we are going away. */
static void vssd_resize_retry(struct vssd_device *vssd, unsigned long delay)
{
	unsigned long flags;

	spin_lock_irqsave(&vssd->lock, flags);
	if (!vssd->removing)
		mod_delayed_work(system_freezable_wq, &vssd->config_work,
				 delay);
	spin_unlock_irqrestore(&vssd->lock, flags);
}

/*
 * Runs after config interrupts (and once after probe): steps towards the
 * requested size until it is reached, a step is refused, or the device
 * asks us to wait.
 */
void vssd_config_work(struct work_struct *work)
{
	struct vssd_device *vssd =
		container_of(to_delayed_work(work), struct vssd_device,
			     config_work);
	struct vssd_resize_target t;
	unsigned long flags;
	unsigned int step;
	int err;

	for (step = 0; step < VSSD_RESIZE_MAX_STEPS; step++) {
		spin_lock_irqsave(&vssd->lock, flags);
		if (vssd->removing) {
			spin_unlock_irqrestore(&vssd->lock, flags);
			return;
		}
		vssd->config_pending = false;
		spin_unlock_irqrestore(&vssd->lock, flags);

		vssd_read_changing_config(vssd);
		vssd_resize_target(vssd, VIRTIO_VSSD_REGION_BLOCK, &t);
		if (t.op == VSSD_PENDING_NONE)
			vssd_resize_target(vssd, VIRTIO_VSSD_REGION_PMEM, &t);
		if (t.op == VSSD_PENDING_NONE ||
		    !virtio_has_feature(vssd->vdev, VIRTIO_VSSD_F_RESIZE)) {
			/* nothing is short of a target that is reached */
			atomic64_set(&vssd->stats.pmem_short_blocks, 0);
			vssd_resize_finished(vssd);
			return;
		}
		vssd_announce(vssd, &t);
		if (vssd_removing(vssd))
			return;

		err = vssd_resize_step(vssd, &t);
		switch (err) {
		case 0:
		case -EAGAIN:
			continue;
		case -EBUSY:
		case -EREMOTEIO:
			vssd_resize_retry(vssd, VSSD_RESIZE_RETRY);
			return;
		default:
			dev_warn(&vssd->vdev->dev,
				 "resize to generation %u stopped: %d\n",
				 t.generation, err);
			return;
		}
	}
	/* a device that keeps moving the target: do not spin */
	vssd_resize_retry(vssd, VSSD_RESIZE_RETRY);
}
