// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: /proc/vssd/vssdN/.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * /proc/vssd exists while the module is loaded; each device adds its own
 * folder. Block numbers are in units of the block region's block size.
 * Files:
 *   status   key: value lines (sizes in bytes, state, counters)
 *   hints    the eviction hints (vssd_hints.c). The first write of an
 *            open() replaces the list, later writes of the same open() and
 *            writes of an O_APPEND open add to it; "clear" empties it. A
 *            write of 1024 bytes or more may end inside a number that the
 *            next write continues. Read: the list as ranges.
 *   map      the plugged blocks as ranges ("0-767 1024-2047")
 *   pending  "none", "shrink N" or "grow N": blocks still to move in the
 *            resize being negotiated, followed by " pmem" when it is the
 *            persistent-memory region's; an agent writes "ready" to let
 *            it go on (see agent_timeout_ms in vssd_resize.c)
 */

#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "vssd.h"
#include "vssd_pmem.h"
#include "vssd_ranges.h"

/* Longest write accepted by hints: about a million single blocks. */
#define VSSD_HINTS_MAX_WRITE	(16 << 20)

/* Writes this long may end in a token that the next write continues. */
#define VSSD_HINTS_CHUNK	1024

/* Longest write accepted by pending. */
#define VSSD_PENDING_MAX_WRITE	16

/* /proc/vssd */
static struct proc_dir_entry *vssd_proc_root;

static int vssd_proc_status_show(struct seq_file *m, void *v)
{
	struct vssd_device *vssd = m->private;
	struct vssd_counters *c = &vssd->stats;
	u64 plugged, requested;
	enum vssd_state state;
	unsigned long flags;
	long last_resize_ms;
	u64 pm_plugged, pm_requested;
	u32 generation, hinted;

	spin_lock_irqsave(&vssd->lock, flags);
	plugged = vssd->block_plugged_size;
	requested = vssd->block_requested_size;
	generation = vssd->resize_generation;
	state = vssd->state;
	last_resize_ms = vssd->last_resize_ms;
	spin_unlock_irqrestore(&vssd->lock, flags);

	mutex_lock(&vssd->hints_mutex);
	hinted = vssd->nr_hints;
	mutex_unlock(&vssd->hints_mutex);

	seq_printf(m, "block_size: %u\n", vssd->block_size);
	seq_printf(m, "max_size: %llu\n", vssd->block_region_size);
	seq_printf(m, "plugged_size: %llu\n", plugged);
	seq_printf(m, "requested_size: %llu\n", requested);
	seq_printf(m, "map_plugged_blocks: %llu\n", vssd_region_weight(&vssd->block));
	seq_printf(m, "state: %s\n", vssd_state_name(state));
	seq_printf(m, "generation: %u\n", generation);
	seq_printf(m, "num_queues: %u\n", vssd->num_queues);
	seq_printf(m, "unplugged_io_errors: %lld\n",
		   atomic64_read(&c->unplugged_io_errors));
	seq_printf(m, "range_errors: %lld\n", atomic64_read(&c->range_errors));
	seq_printf(m, "host_io_errors: %lld\n",
		   atomic64_read(&c->host_io_errors));
	seq_printf(m, "unsupported_errors: %lld\n",
		   atomic64_read(&c->unsupported_errors));
	seq_printf(m, "invalid_errors: %lld\n",
		   atomic64_read(&c->invalid_errors));
	seq_printf(m, "ring_full: %lld\n", atomic64_read(&c->ring_full));
	seq_printf(m, "config_changes: %lld\n",
		   atomic64_read(&c->config_changes));
	seq_printf(m, "evicted_blocks: %lld\n",
		   atomic64_read(&c->evicted_blocks));
	seq_printf(m, "granted_blocks: %lld\n",
		   atomic64_read(&c->granted_blocks));
	seq_printf(m, "resize_requests: %lld\n",
		   atomic64_read(&c->resize_requests));
	seq_printf(m, "resize_refused: %lld\n",
		   atomic64_read(&c->resize_refused));
	seq_printf(m, "resize_busy: %lld\n", atomic64_read(&c->resize_busy));
	seq_printf(m, "resize_errors: %lld\n",
		   atomic64_read(&c->resize_errors));
	seq_printf(m, "hinted_blocks: %u\n", hinted);
	seq_printf(m, "last_resize_ms: %ld\n", last_resize_ms);
	if (vssd->pmem) {
		spin_lock_irqsave(&vssd->lock, flags);
		pm_plugged = vssd->pmem_plugged_size;
		pm_requested = vssd->pmem_requested_size;
		spin_unlock_irqrestore(&vssd->lock, flags);
		seq_printf(m, "pmem_block_size: %u\n", vssd->pmem->block_size);
		seq_printf(m, "pmem_max_size: %llu\n", vssd->pmem->size);
		seq_printf(m, "pmem_plugged_size: %llu\n", pm_plugged);
		seq_printf(m, "pmem_requested_size: %llu\n", pm_requested);
		seq_printf(m, "pmem_evicted_blocks: %lld\n",
			   atomic64_read(&c->pmem_evicted_blocks));
		seq_printf(m, "pmem_granted_blocks: %lld\n",
			   atomic64_read(&c->pmem_granted_blocks));
		seq_printf(m, "pmem_short_blocks: %lld\n",
			   atomic64_read(&c->pmem_short_blocks));
	}
	return 0;
}

/* --- map --- */

static int vssd_proc_map_show(struct seq_file *m, void *v)
{
	struct vssd_device *vssd = m->private;

	vssd_region_show_map(&vssd->block, m);
	return 0;
}

/*
 * Copy a write from userspace as a NUL-terminated string; refuses more
 * than @max bytes.
 */
static char *vssd_proc_copy_write(const char __user *ubuf, size_t count,
				  size_t max)
{
	char *buf;

	if (count > max)
		return ERR_PTR(-EINVAL);
	buf = kvmalloc(count + 1, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(buf, ubuf, count)) {
		kvfree(buf);
		return ERR_PTR(-EFAULT);
	}
	buf[count] = '\0';
	return buf;
}

/* --- hints --- */

/* Per open() of hints. */
struct vssd_hints_file {
	struct vssd_device *vssd;
	/* An update of this open was applied: later ones append. */
	bool written;
	/*
	 * The unfinished last token of the previous write ("92" of a line
	 * that a writer such as busybox printf cut into pieces): it goes in
	 * front of the next write, or is applied on close.
	 */
	char carry[VSSD_TOKEN_MAX + 1];
};

static int vssd_proc_hints_show(struct seq_file *m, void *v)
{
	struct vssd_hints_file *hf = m->private;

	vssd_hints_show(hf->vssd, m);
	return 0;
}

static int vssd_proc_hints_open(struct inode *inode, struct file *file)
{
	struct vssd_hints_file *hf;
	int err;

	hf = kzalloc(sizeof(*hf), GFP_KERNEL);
	if (!hf)
		return -ENOMEM;
	hf->vssd = pde_data(inode);
	err = single_open(file, vssd_proc_hints_show, hf);
	if (err)
		kfree(hf);
	return err;
}

/* Apply the rest of @buf as an update of @hf's open. */
static int vssd_proc_hints_apply(struct file *file, struct vssd_hints_file *hf,
				 char *buf)
{
	bool append = hf->written || (file->f_flags & O_APPEND);
	int err;

	err = vssd_hints_update(hf->vssd, buf, append);
	if (!err)
		hf->written = true;
	return err;
}

static int vssd_proc_hints_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct vssd_hints_file *hf = m->private;

	/* close(2) cannot fail for this: a bad last token is only logged */
	if (hf->carry[0] && vssd_proc_hints_apply(file, hf, hf->carry))
		dev_warn(&hf->vssd->vdev->dev,
			 "hints: last token \"%s\" ignored\n", hf->carry);
	kfree(hf);
	return single_release(inode, file);
}

/*
 * Each write is parsed in full before anything changes, except that a
 * number or range at the very end (no white space after it) of a write of
 * VSSD_HINTS_CHUNK bytes or more may continue in the next write: it is
 * kept back until then, or until close. Writers cut long lines into
 * buffer-sized writes (busybox printf: 1024 bytes); a short write is the
 * whole of what its writer meant, and is judged at once.
 */
static ssize_t vssd_proc_hints_write(struct file *file,
				     const char __user *ubuf, size_t count,
				     loff_t *ppos)
{
	struct seq_file *m = file->private_data;
	struct vssd_hints_file *hf = m->private;
	char *data, *buf, *tail;
	size_t carry_len = strlen(hf->carry);
	int err = 0;

	data = vssd_proc_copy_write(ubuf, count, VSSD_HINTS_MAX_WRITE);
	if (IS_ERR(data))
		return PTR_ERR(data);
	buf = kvmalloc(carry_len + count + 1, GFP_KERNEL);
	if (!buf) {
		kvfree(data);
		return -ENOMEM;
	}
	memcpy(buf, hf->carry, carry_len);
	strcpy(buf + carry_len, data);
	kvfree(data);

	tail = count >= VSSD_HINTS_CHUNK ? vssd_ranges_unfinished(buf) : NULL;
	if (tail && strlen(tail) <= VSSD_TOKEN_MAX) {
		char held[VSSD_TOKEN_MAX + 1];

		strscpy(held, tail, sizeof(held));
		*tail = '\0';
		if (vssd_ranges_has_token(buf))
			err = vssd_proc_hints_apply(file, hf, buf);
		if (!err)
			strscpy(hf->carry, held, sizeof(hf->carry));
	} else {
		err = vssd_proc_hints_apply(file, hf, buf);
		if (!err)
			hf->carry[0] = '\0';
	}
	kvfree(buf);
	return err ?: count;
}

static const struct proc_ops vssd_proc_hints_ops = {
	.proc_open	= vssd_proc_hints_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_write	= vssd_proc_hints_write,
	.proc_release	= vssd_proc_hints_release,
};

/* --- pending --- */

static int vssd_proc_pending_show(struct seq_file *m, void *v)
{
	struct vssd_device *vssd = m->private;
	enum vssd_pending_op op;
	unsigned long flags;
	u16 region;
	u64 blocks;

	spin_lock_irqsave(&vssd->lock, flags);
	op = vssd->pending_op;
	blocks = vssd->pending_blocks;
	region = vssd->pending_region;
	spin_unlock_irqrestore(&vssd->lock, flags);

	if (op == VSSD_PENDING_NONE)
		seq_puts(m, "none\n");
	else if (region == VIRTIO_VSSD_REGION_PMEM)
		seq_printf(m, "%s %llu pmem\n", vssd_pending_name(op), blocks);
	else
		seq_printf(m, "%s %llu\n", vssd_pending_name(op), blocks);
	return 0;
}

static int vssd_proc_pending_open(struct inode *inode, struct file *file)
{
	return single_open(file, vssd_proc_pending_show, pde_data(inode));
}

/* "ready": the agent is done with the pending resize. */
static ssize_t vssd_proc_pending_write(struct file *file,
				       const char __user *ubuf, size_t count,
				       loff_t *ppos)
{
	struct seq_file *m = file->private_data;
	char *buf;
	int err = 0;

	buf = vssd_proc_copy_write(ubuf, count, VSSD_PENDING_MAX_WRITE);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	if (sysfs_streq(buf, "ready"))
		vssd_agent_ready(m->private);
	else
		err = -EINVAL;
	kvfree(buf);
	return err ?: count;
}

static const struct proc_ops vssd_proc_pending_ops = {
	.proc_open	= vssd_proc_pending_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_write	= vssd_proc_pending_write,
	.proc_release	= single_release,
};

/**
 * vssd_proc_add - create /proc/vssd/vssdN and its files
 * @vssd: the device
 *
 * Return: 0 or -ENOMEM.
 */
int vssd_proc_add(struct vssd_device *vssd)
{
	vssd->proc_dir = proc_mkdir(vssd->name, vssd_proc_root);
	if (!vssd->proc_dir)
		return -ENOMEM;

	if (!proc_create_single_data("status", 0444, vssd->proc_dir,
				     vssd_proc_status_show, vssd) ||
	    !proc_create_single_data("map", 0444, vssd->proc_dir,
				     vssd_proc_map_show, vssd) ||
	    !proc_create_data("hints", 0644, vssd->proc_dir,
			      &vssd_proc_hints_ops, vssd) ||
	    !proc_create_data("pending", 0644, vssd->proc_dir,
			      &vssd_proc_pending_ops, vssd)) {
		vssd_proc_remove(vssd);
		return -ENOMEM;
	}
	return 0;
}

/**
 * vssd_proc_remove - remove /proc/vssd/vssdN
 * @vssd: the device
 *
 * Waits for readers that are inside our show functions.
 */
void vssd_proc_remove(struct vssd_device *vssd)
{
	proc_remove(vssd->proc_dir);
	vssd->proc_dir = NULL;
}

/**
 * vssd_proc_init - create /proc/vssd (module init)
 *
 * Return: 0 or -ENOMEM.
 */
int vssd_proc_init(void)
{
	vssd_proc_root = proc_mkdir(VSSD_NAME, NULL);
	return vssd_proc_root ? 0 : -ENOMEM;
}

/**
 * vssd_proc_exit - remove /proc/vssd (module exit)
 */
void vssd_proc_exit(void)
{
	proc_remove(vssd_proc_root);
	vssd_proc_root = NULL;
}
