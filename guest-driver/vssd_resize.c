// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the resize protocol (VIRTIO_VSSD_F_RESIZE).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The resize policy. The host sets a requested size and raises a config
 * interrupt; config_work then runs steps until the plugged size equals the
 * requested size, the block region first, then the persistent-memory
 * region. Each step rereads the config space and answers the current
 * resize_generation with one kind of list (vssd_region.c: UNPLUG under
 * policy GUEST, UNPLUG_HOST under policy HOST, PLUG to grow; the pmem
 * region's steps go through vssd_pmem_resize()).
 *
 * STALE (the host moved the target meanwhile) just starts the next step
 * at once; BUSY and host errors retry after VSSD_RESIZE_RETRY; any other
 * refusal, a broken control queue or a reply we cannot trust is logged and
 * the resize waits for the next config change.
 *
 * Before the first step of a new target the driver announces it: `pending`
 * in /proc, a KOBJ_CHANGE uevent on the disk (VSSD_PENDING=shrink|grow,
 * VSSD_BLOCKS, VSSD_GENERATION), and, when agent_timeout_ms is set, a
 * bounded wait for a userspace agent to write "ready" to `pending` (for
 * example after it wrote hints, or moved dm-cache blocks out of the way).
 */

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/virtio_config.h>
#include "vssd.h"
#include "vssd_pmem.h"

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

/**
 * vssd_pending_name - the name of a pending operation, for /proc and uevents
 * @op: the pending operation
 */
const char *vssd_pending_name(enum vssd_pending_op op)
{
	if (op >= ARRAY_SIZE(vssd_pending_names))
		return "unknown";
	return vssd_pending_names[op];
}

static const char * const vssd_state_names[] = {
	[VSSD_STATE_IDLE]	= "idle",
	[VSSD_STATE_SHRINKING]	= "shrinking",
	[VSSD_STATE_GROWING]	= "growing",
};

/**
 * vssd_state_name - the name of a block region state, for /proc
 * @state: the state
 *
 * Return: "idle", "shrinking", "growing" or "unknown".
 */
const char *vssd_state_name(enum vssd_state state)
{
	if (state >= ARRAY_SIZE(vssd_state_names))
		return "unknown";
	return vssd_state_names[state];
}

/**
 * vssd_read_changing_config - reread the config fields the host may change
 * @vssd: the device
 *
 * Reads them as one consistent snapshot (retried while the config
 * generation moves) into the cache under vssd->lock.
 */
void vssd_read_changing_config(struct vssd_device *vssd)
{
	struct virtio_device *vdev = vssd->vdev;
	u64 plugged = 0, requested = 0, pm_plugged = 0, pm_requested = 0;
	u32 generation, policy = 0, pm_policy = 0;
	unsigned long flags;
	u32 gen;

	do {
		gen = vdev->config->generation ?
		      vdev->config->generation(vdev) : 0;
		virtio_cread_le(vdev, struct virtio_vssd_config,
				resize_generation, &generation);
		if (vssd->has_block_region) {
			virtio_cread_le(vdev, struct virtio_vssd_config,
					block_plugged_size, &plugged);
			virtio_cread_le(vdev, struct virtio_vssd_config,
					block_requested_size, &requested);
			virtio_cread_le(vdev, struct virtio_vssd_config,
					block_policy, &policy);
		}
		if (virtio_has_feature(vdev, VIRTIO_VSSD_F_PMEM_REGION)) {
			virtio_cread_le(vdev, struct virtio_vssd_config,
					pmem_plugged_size, &pm_plugged);
			virtio_cread_le(vdev, struct virtio_vssd_config,
					pmem_requested_size, &pm_requested);
			virtio_cread_le(vdev, struct virtio_vssd_config,
					pmem_policy, &pm_policy);
		}
	} while (vdev->config->generation &&
		 gen != vdev->config->generation(vdev));

	spin_lock_irqsave(&vssd->lock, flags);
	vssd->resize_generation = generation;
	vssd->block_plugged_size = plugged;
	vssd->block_requested_size = requested;
	vssd->block_policy = policy;
	vssd->pmem_plugged_size = pm_plugged;
	vssd->pmem_requested_size = pm_requested;
	vssd->pmem_policy = pm_policy;
	vssd->state = plugged > requested ? VSSD_STATE_SHRINKING :
		      plugged < requested ? VSSD_STATE_GROWING :
		      VSSD_STATE_IDLE;
	spin_unlock_irqrestore(&vssd->lock, flags);

	dev_dbg(&vdev->dev,
		"config: generation %u plugged %llu requested %llu policy %u\n",
		generation, plugged, requested, policy);
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

/**
 * vssd_agent_ready - /proc/vssd/vssdN/pending got "ready"
 * @vssd: the device
 */
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
	char *envp[5] = { op_env, blocks_env, gen_env, region_env, NULL };
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

/* One step towards @t on its region. */
static int vssd_resize_step(struct vssd_device *vssd,
			    const struct vssd_resize_target *t)
{
	bool grow = t->op == VSSD_PENDING_GROW;
	bool host = t->policy == VIRTIO_VSSD_POLICY_HOST;

	if (t->region == VIRTIO_VSSD_REGION_PMEM)
		return vssd_pmem_resize(vssd->pmem, grow, host, t->generation,
					t->blocks);
	return vssd_region_resize(&vssd->block, grow, host, t->generation,
				  t->blocks);
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

/**
 * vssd_config_work - the resize work
 * @work: config_work
 *
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
