// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: /proc/vssd/vssdN/.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * /proc/vssd exists while the module is loaded; each device adds its own
 * folder. Files:
 *   status   key: value lines (sizes in bytes, state, counters)
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include "vssd.h"

/* /proc/vssd */
static struct proc_dir_entry *vssd_proc_root;

static int vssd_proc_status_show(struct seq_file *m, void *v)
{
	struct vssd_device *vssd = m->private;
	struct vssd_counters *c = &vssd->stats;
	u64 plugged, requested;
	enum vssd_state state;
	unsigned long flags;
	u32 generation;

	spin_lock_irqsave(&vssd->lock, flags);
	plugged = vssd->block_plugged_size;
	requested = vssd->block_requested_size;
	generation = vssd->resize_generation;
	state = vssd->state;
	spin_unlock_irqrestore(&vssd->lock, flags);

	seq_printf(m, "block_size: %u\n", vssd->block_size);
	seq_printf(m, "max_size: %llu\n", vssd->block_region_size);
	seq_printf(m, "plugged_size: %llu\n", plugged);
	seq_printf(m, "requested_size: %llu\n", requested);
	seq_printf(m, "map_plugged_blocks: %llu\n", vssd_map_weight(vssd));
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
	return 0;
}

/* Create /proc/vssd/vssdN and its files. */
int vssd_proc_add(struct vssd_device *vssd)
{
	vssd->proc_dir = proc_mkdir(vssd->name, vssd_proc_root);
	if (!vssd->proc_dir)
		return -ENOMEM;

	if (!proc_create_single_data("status", 0444, vssd->proc_dir,
				     vssd_proc_status_show, vssd)) {
		vssd_proc_remove(vssd);
		return -ENOMEM;
	}
	return 0;
}

/* Remove the folder; waits for readers that are inside our show functions. */
void vssd_proc_remove(struct vssd_device *vssd)
{
	proc_remove(vssd->proc_dir);
	vssd->proc_dir = NULL;
}

int vssd_proc_init(void)
{
	vssd_proc_root = proc_mkdir(VSSD_NAME, NULL);
	return vssd_proc_root ? 0 : -ENOMEM;
}

void vssd_proc_exit(void)
{
	proc_remove(vssd_proc_root);
	vssd_proc_root = NULL;
}
