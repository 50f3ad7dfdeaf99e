/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vssd guest driver: state shared by the driver's files.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Layers, each calling only the ones below it (README.md has the file
 * table):
 *   vssd_main.c                       module, probe/remove
 *   vssd_proc.c                       /proc/vssd/vssdN/
 *   vssd_resize.c                     resize policy (config_work)
 *   vssd_scm*.c                       /dev/scm, a client of pmem
 *   vssd_blk.c, vssd_evict.c,         the two users of a region: the
 *   vssd_hints.c, vssd_pmem.c         block region, the pmem region
 *   vssd_region.c                     a region of plugged blocks
 *   vssd_ctrl.c                       the control queue
 *   vssd_ranges.c                     range lists (no device state)
 *
 * Locking, outermost first:
 *   pmem->sem    the pmem region (vssd_pmem.h)
 *   ctrl_mutex   one synchronous control request at a time (sleeps); taken
 *                and released by each call of vssd_ctrl.c. Resizes are
 *                serialised by config_work, which never runs twice at once
 *   hints_mutex  the hint list (sleeps)
 *   map_mutex    a region's plugged bitmap's writers (sleeps); queue_rq
 *                reads the block region's bitmap locklessly after starting
 *                the request: a cleared bit is followed by a wait for
 *                started requests on it (vssd_blk_wait_idle), and a set bit
 *                is safe to see late
 *   lock         removing, config_pending, the cached config and the
 *                pending resize (irqsave)
 *   req_vq.lock  one request virtqueue (irqsave)
 *   ctrl_lock    the control virtqueue (irqsave)
 */
#ifndef _VSSD_H
#define _VSSD_H

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/semaphore.h>
#include <linux/cache.h>
#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct seq_file;
struct vssd_pmem;
struct vssd_scm;
#include <linux/virtio_vssd.h>
#include "vssd_region.h"

/* Prefix of disk and /proc folder names: vssd0, vssd1, ... */
#define VSSD_NAME		"vssd"

/* Most request queues we accept from the config space. */
#define VSSD_MAX_QUEUES		256

/* Most blocks in the block region: the bitmap helpers count in unsigned int. */
#define VSSD_MAX_BLOCKS		((u64)UINT_MAX)

/*
 * Most ranges the driver sends or receives in one control request; the
 * device's max_ranges may be lower. 4096 ranges are 64 KiB of buffer.
 */
#define VSSD_CTRL_RANGES_MAX	4096

/* How long a control request may take before the device counts as broken. */
#define VSSD_CTRL_TIMEOUT	(30 * HZ)

/* What the block region is doing, from the config space. */
enum vssd_state {
	VSSD_STATE_IDLE,
	VSSD_STATE_SHRINKING,
	VSSD_STATE_GROWING,
};

/* One request virtqueue, the hardware context of one blk-mq hw queue. */
struct vssd_req_vq {
	/* The virtqueue; its index equals the blk-mq hw queue number. */
	struct virtqueue *vq;
	/* Serialises add_sgs/kick_prepare/get_buf on @vq. */
	spinlock_t lock;
	/* "req.N": names the virtqueue and its interrupt. */
	char name[16];
} ____cacheline_aligned_in_smp;

/* Events worth counting, shown in /proc/vssd/vssdN/status. */
struct vssd_counters {
	/* Requests failed with S_UNPLUGGED: they touched an unplugged block. */
	atomic64_t unplugged_io_errors;
	/* Requests failed with S_RANGE: beyond the end of the region. */
	atomic64_t range_errors;
	/* Requests failed with S_IOERR: the host backend failed. */
	atomic64_t host_io_errors;
	/* Requests failed with S_UNSUPP: the device does not know the type. */
	atomic64_t unsupported_errors;
	/* Requests failed with S_INVALID or a status we do not know. */
	atomic64_t invalid_errors;
	/* Times queue_rq found its ring full and stopped the hw queue. */
	atomic64_t ring_full;
	/* Config change interrupts received. */
	atomic64_t config_changes;
	/* Blocks given back to the host (UNPLUG and UNPLUG_HOST acked). */
	atomic64_t evicted_blocks;
	/* Blocks taken back from the host (PLUG acked). */
	atomic64_t granted_blocks;
	/* Resize requests (UNPLUG, UNPLUG_HOST, PLUG) sent. */
	atomic64_t resize_requests;
	/* Of those, refused by the device (NACK). */
	atomic64_t resize_refused;
	/* Of those, failed on the host (ERROR), or whose reply was broken. */
	atomic64_t resize_errors;
	/* Of those, answered BUSY and retried later. */
	atomic64_t resize_busy;
	/* Persistent memory: blocks given back, blocks taken back. */
	atomic64_t pmem_evicted_blocks;
	atomic64_t pmem_granted_blocks;
	/* Persistent memory: blocks the last shrink could not give (in use). */
	atomic64_t pmem_short_blocks;
};

/* The resize step being negotiated, shown in /proc/vssd/vssdN/pending. */
enum vssd_pending_op {
	VSSD_PENDING_NONE,
	VSSD_PENDING_SHRINK,
	VSSD_PENDING_GROW,
};

/* One virtio-vssd device. */
/* A request on the control queue, until the device answers it. */
struct vssd_ctrl_call {
	struct completion done;
	/* Bytes the device wrote into the reply; set before @done. */
	unsigned int used_len;
};

struct vssd_device {
	/* The virtio device we are bound to. */
	struct virtio_device *vdev;
	/* N in vssdN, from vssd_index_ida. */
	int index;
	/* "vssdN": names the disk and the /proc folder. */
	char name[16];

	/* --- Geometry, read once at probe, never changes --- */

	/* VIRTIO_VSSD_F_BLOCK_REGION was negotiated. */
	bool has_block_region;
	/* Block region: bytes per block, a power of two >= 512. */
	u32 block_size;
	/* Block region: maximum size in bytes, the disk capacity. */
	u64 block_region_size;
	/* Block region: block_region_size / block_size. */
	u64 nr_blocks;
	/* log2(block_size). */
	unsigned int block_shift;
	/* Number of request virtqueues (and blk-mq hw queues). */
	unsigned int num_queues;
	/* Ranges per control request: max_ranges, at most VSSD_CTRL_RANGES_MAX. */
	unsigned int ctrl_nr_ranges;
	/* Block region: most data buffers in one request (seg_max). */
	u32 seg_max;
	/* Block region: most sectors in one READ or WRITE (max_sectors). */
	u32 max_sectors;

	/* --- Config fields that change; protected by @lock --- */

	/* resize_generation as last read. */
	u32 resize_generation;
	/* block_plugged_size as last read. */
	u64 block_plugged_size;
	/* block_requested_size as last read. */
	u64 block_requested_size;
	/* block_policy as last read (VIRTIO_VSSD_POLICY_*). */
	u32 block_policy;
	/* The same for the persistent-memory region (when vssd->pmem). */
	u64 pmem_plugged_size;
	u64 pmem_requested_size;
	u32 pmem_policy;
	/* log2(pmem_block_size); 0 without persistent memory. */
	unsigned int pmem_block_shift;
	/* What the block region is doing. */
	enum vssd_state state;

	/* --- Device life; protected by @lock --- */

	/* Protects the fields marked so; taken with irqsave. */
	spinlock_t lock;
	/* Remove, a failed probe or a freeze has begun: queue no new work. */
	bool removing;
	/* A config interrupt arrived that config_work has not handled. */
	bool config_pending;
	/* Rereads the config space and drives resizes (vssd_resize.c). */
	struct delayed_work config_work;

	/* --- Resize; protected by @lock --- */

	/* What is being negotiated, and how many blocks are left to move. */
	enum vssd_pending_op pending_op;
	u64 pending_blocks;
	/* Which region (VIRTIO_VSSD_REGION_*). */
	u16 pending_region;
	/* Generation whose start the agent was told about (uevent). */
	u32 agent_generation;
	/* The agent wrote "ready" to /proc/vssd/vssdN/pending. */
	bool agent_ready;
	/* Woken by agent_ready, by a config interrupt and by remove. */
	wait_queue_head_t agent_wq;
	/* When the resize being negotiated started (jiffies). */
	unsigned long resize_start;
	/* Duration of the last completed resize, ms; -1 before the first. */
	long last_resize_ms;

	/* --- Block region --- */

	/* Request virtqueues, num_queues entries; lives from probe to remove. */
	struct vssd_req_vq *req_vqs;
	/* blk-mq tag set, one hw queue per request virtqueue. */
	struct blk_mq_tag_set tag_set;
	/* The disk; NULL without a block region. */
	struct gendisk *disk;
	/* Its plugged map (vssd_evict.c sets it up); unused without. */
	struct vssd_region block;
	/*
	 * Per block: jiffies of the last read or write (low bit forced on),
	 * 0 = not touched since probe. Written racily by queue_rq; it only
	 * steers the eviction choice.
	 */
	u32 *last_use;

	/* --- Eviction hints (vssd_hints.c); protected by @hints_mutex --- */

	/* Serialises the hint list below. */
	struct mutex hints_mutex;
	/* Hinted blocks in order of preference, no block twice. */
	u32 *hints;
	/* Entries in @hints. */
	u32 nr_hints;

	/* --- Control queue --- */

	/* The control virtqueue, the last one. */
	struct virtqueue *ctrl_vq;
	/* Serialises add/get_buf on @ctrl_vq; taken with irqsave. */
	spinlock_t ctrl_lock;
	/* One control request in flight at a time; owns the buffers below. */
	struct mutex ctrl_mutex;
	/* The answer to that request (the token it is queued with). */
	struct vssd_ctrl_call ctrl_call;
	/*
	 * PMEM_FLUSH requests (vssd_ctrl_flush()) bring their own buffers and
	 * may be in flight together, as many as this allows.
	 */
	struct semaphore ctrl_flush_slots;
	/*
	 * A control request timed out: the device may still own the buffers
	 * below, so they are never reused nor freed before a device reset.
	 */
	bool ctrl_broken;
	/* Request header (device-readable). */
	struct virtio_vssd_ctrl_req *ctrl_req;
	/* Reply header (device-writable). */
	struct virtio_vssd_ctrl_resp *ctrl_resp;
	/* ctrl_nr_ranges ranges, sent or received after the headers. */
	struct virtio_vssd_range *ctrl_ranges;

	/* --- Persistent-memory region (vssd_pmem.c); NULL without --- */

	struct vssd_pmem *pmem;
	/* /dev/scm on it (vssd_scm.c); NULL without. */
	struct vssd_scm *scm;

	/* --- /proc/vssd/vssdN --- */

	/* Our folder, NULL until created. */
	struct proc_dir_entry *proc_dir;

	/* Counters for /proc. */
	struct vssd_counters stats;
};

/* vssd_resize.c */
const char *vssd_state_name(enum vssd_state state);
void vssd_read_changing_config(struct vssd_device *vssd);
void vssd_config_work(struct work_struct *work);
const char *vssd_pending_name(enum vssd_pending_op op);
void vssd_agent_ready(struct vssd_device *vssd);

/* vssd_evict.c */
int vssd_evict_init(struct vssd_device *vssd);
void vssd_evict_free(struct vssd_device *vssd);

/* Block numbers [first, last] of a request of @nr_sectors from @sector. */
static inline void vssd_sector_blocks(struct vssd_device *vssd, u64 sector,
				      u32 nr_sectors, u64 *first, u64 *last)
{
	unsigned int shift = vssd->block_shift - VIRTIO_VSSD_SECTOR_SHIFT;

	*first = sector >> shift;
	*last = (sector + max(nr_sectors, 1U) - 1) >> shift;
}

/* Remember that blocks [first, last] were used now. */
static inline void vssd_touch_blocks(struct vssd_device *vssd, u64 first,
				     u64 last)
{
	u32 now = (u32)jiffies | 1;
	u64 b;

	for (b = first; b <= last; b++)
		if (READ_ONCE(vssd->last_use[b]) != now)
			WRITE_ONCE(vssd->last_use[b], now);
}

/* vssd_hints.c */
void vssd_hints_init(struct vssd_device *vssd);
void vssd_hints_free(struct vssd_device *vssd);
int vssd_hints_update(struct vssd_device *vssd, char *buf, bool append);
void vssd_hints_show(struct vssd_device *vssd, struct seq_file *m);
void vssd_hints_prune(struct vssd_device *vssd);

/* vssd_blk.c */
int vssd_blk_init(struct vssd_device *vssd);
void vssd_blk_remove(struct vssd_device *vssd);
void vssd_blk_free(struct vssd_device *vssd);
void vssd_req_done(struct virtqueue *vq);
void vssd_blk_wait_idle(struct vssd_device *vssd, const unsigned long *blocks);

/* vssd_ctrl.c */
int vssd_ctrl_alloc(struct vssd_device *vssd);
void vssd_ctrl_free(struct vssd_device *vssd);
void vssd_ctrl_done(struct virtqueue *vq);
int vssd_ctrl_flush(struct vssd_device *vssd, u16 region, u64 offset,
		    u64 len, u16 *status);
int vssd_ctrl_get_map(struct vssd_device *vssd, u16 region,
		      unsigned long *map, u64 nr_blocks);
int vssd_ctrl_plug(struct vssd_device *vssd, u16 region, u32 generation,
		   const unsigned long *map, u64 nr_blocks, u64 *from);
int vssd_ctrl_unplug(struct vssd_device *vssd, u16 region, u32 generation,
		     const unsigned long *map, u64 nr_blocks, u64 *from);
int vssd_ctrl_unplug_host(struct vssd_device *vssd, u16 region,
			  u32 generation, u64 want, unsigned long *taken,
			  u64 nr_blocks, u64 *total);

/* vssd_proc.c */
int vssd_proc_init(void);
void vssd_proc_exit(void);
int vssd_proc_add(struct vssd_device *vssd);
void vssd_proc_remove(struct vssd_device *vssd);

#endif /* _VSSD_H */
