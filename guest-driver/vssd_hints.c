// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the eviction hint list.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Userspace names the blocks it prefers to give back on the next shrink by
 * writing block numbers and inclusive ranges ("12 40-47 90") to
 * /proc/vssd/vssdN/hints; the list keeps their order of preference and no
 * block twice (a block named again keeps its first place). An update is
 * parsed in full before the list changes: a malformed one fails with
 * -EINVAL and leaves the list as it was. Blocks that a shrink gave back
 * leave the list (vssd_hints_prune()).
 *
 * The range syntax is vssd_ranges.c's.
 */

#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "vssd.h"
#include "vssd_ranges.h"

/**
 * vssd_hints_init - an empty hint list
 * @vssd: the device
 */
void vssd_hints_init(struct vssd_device *vssd)
{
	mutex_init(&vssd->hints_mutex);
	vssd->hints = NULL;
	vssd->nr_hints = 0;
}

/**
 * vssd_hints_free - free the hint list
 * @vssd: the device
 */
void vssd_hints_free(struct vssd_device *vssd)
{
	kvfree(vssd->hints);
	vssd->hints = NULL;
	vssd->nr_hints = 0;
}

/*
 * Check every token of @buf (which is left intact). Sets *@clear for a
 * lone "clear" and *@blocks to the blocks the ranges name (at most
 * nr_blocks: the list never holds more).
 */
static int vssd_hints_check(struct vssd_device *vssd, const char *buf,
			    bool *clear, u64 *blocks)
{
	char *copy, *pos, *tok;
	u64 first, last, total = 0;
	unsigned int nr_tok = 0;
	bool saw_clear = false;
	int err = 0;

	copy = kvmalloc(strlen(buf) + 1, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	strcpy(copy, buf);
	pos = copy;
	while ((tok = vssd_next_token(&pos)) != NULL) {
		nr_tok++;
		if (!strcmp(tok, "clear")) {
			saw_clear = true;
			continue;
		}
		err = vssd_parse_range(tok, vssd->nr_blocks, &first, &last);
		if (err)
			break;
		total = min(total + (last - first + 1), vssd->nr_blocks);
	}
	kvfree(copy);
	if (err)
		return err;
	/* nothing at all, or "clear" mixed with blocks */
	if (!nr_tok || (saw_clear && nr_tok > 1))
		return -EINVAL;
	*clear = saw_clear;
	*blocks = total;
	return 0;
}

/**
 * vssd_hints_update - apply a write to /proc/vssd/vssdN/hints
 * @vssd: the device
 * @buf: what was written, NUL-terminated; modified
 * @append: add to the list instead of replacing it
 *
 * Return: 0, -EINVAL for a malformed write (nothing changed), -ENOMEM.
 */
int vssd_hints_update(struct vssd_device *vssd, char *buf, bool append)
{
	u64 blocks, first, last, b, cap;
	unsigned long *seen = NULL;
	u32 *list = NULL, n = 0, i;
	char *pos = buf, *tok;
	bool clear;
	int err;

	err = vssd_hints_check(vssd, buf, &clear, &blocks);
	if (err)
		return err;

	mutex_lock(&vssd->hints_mutex);
	if (clear)
		goto install;

	cap = min_t(u64, vssd->nr_blocks,
		    (append ? vssd->nr_hints : 0) + blocks);
	list = kvmalloc_array(cap, sizeof(*list), GFP_KERNEL);
	seen = kvcalloc(BITS_TO_LONGS(vssd->nr_blocks), sizeof(*seen),
			GFP_KERNEL);
	if (!list || !seen) {
		err = -ENOMEM;
		goto out_unlock;
	}
	if (append) {
		for (i = 0; i < vssd->nr_hints; i++) {
			list[n++] = vssd->hints[i];
			__set_bit(vssd->hints[i], seen);
		}
	}
	/* checked above: every token is a valid range */
	while ((tok = vssd_next_token(&pos)) != NULL) {
		if (vssd_parse_range(tok, vssd->nr_blocks, &first, &last))
			continue;
		for (b = first; b <= last; b++) {
			if (!__test_and_set_bit(b, seen))
				list[n++] = b;
		}
		cond_resched();
	}

install:
	kvfree(vssd->hints);
	vssd->hints = list;
	vssd->nr_hints = n;
	list = NULL;
	dev_dbg(&vssd->vdev->dev, "hints: %u blocks\n", n);
out_unlock:
	mutex_unlock(&vssd->hints_mutex);
	kvfree(seen);
	kvfree(list);
	return err;
}

/**
 * vssd_hints_prune - drop the hinted blocks that are not plugged any more
 * @vssd: the device
 */
void vssd_hints_prune(struct vssd_device *vssd)
{
	u32 i, n = 0;

	mutex_lock(&vssd->hints_mutex);
	for (i = 0; i < vssd->nr_hints; i++) {
		if (test_bit(vssd->hints[i], vssd->block.plugged))
			vssd->hints[n++] = vssd->hints[i];
	}
	vssd->nr_hints = n;
	mutex_unlock(&vssd->hints_mutex);
}

/**
 * vssd_hints_show - the hint list, for /proc/vssd/vssdN/hints
 * @vssd: the device
 * @m: the seq_file
 */
void vssd_hints_show(struct vssd_device *vssd, struct seq_file *m)
{
	mutex_lock(&vssd->hints_mutex);
	vssd_seq_ranges(m, vssd->hints, vssd->nr_hints);
	mutex_unlock(&vssd->hints_mutex);
}
