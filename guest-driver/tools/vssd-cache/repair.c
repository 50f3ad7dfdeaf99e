// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: finish or undo a resize that its agent did not live to end.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The state file names generation G; a shrink writes NAME.next (the
 * layout of G+1) before it points NAME at NAME-cache-G+1. So after a
 * crash of the agent:
 *
 *   - NAME points at the cache NAME.next names: the switch happened;
 *     NAME.next becomes the state and G's devices go;
 *   - otherwise G is still the cache: G+1's devices (if any) go, and
 *     G's layout is written to the vSSD's header again (the shrink may
 *     have written G+1's).
 *
 * A grow appends blocks to NAME-cdata-G before it reloads the cache, so
 * the table of NAME-cdata-G, read back, is the truth about the slots
 * when it extends the state's. Then everything is resumed (a cache left
 * suspended gets a fresh table: dm-cache sizes itself to its cache
 * device on the first resume). The caller holds NAME's lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vssd-cache.h"

extern char vc_dm_last_error[256];

/* Is NAME's table "linear over cache-gen"? */
static bool vc_top_points_at(const struct vc_layout *l, uint64_t gen)
{
	char cache[VC_NAME_MAX + 32], devno[32], table[256];

	vc_dev_name(cache, sizeof(cache), l->name, "cache", (long)gen);
	if (vc_dm_devno(cache, devno, sizeof(devno)) ||
	    vc_dm_table(l->name, table, sizeof(table)))
		return false;
	return !strncmp(table, devno, strlen(devno)) && table[strlen(devno)] == ' ';
}

/* Settle which generation is live; l becomes its layout. */
static int vc_repair_switch(struct vc_layout *l)
{
	struct vc_layout next;

	if (vc_layout_load_from(l->name, ".next", &next))
		return 0;
	if (next.gen != l->gen && vc_top_points_at(l, next.gen)) {
		vc_log("%s: adopting generation %llu of a shrink cut short", l->name,
		       (unsigned long long)next.gen);
		next.base = l->base;
		vc_drop_cache(l, l->gen);
		vc_layout_free(l);
		*l = next;
		if (vc_layout_save(l))
			return -1;
	} else {
		if (next.gen != l->gen)
			vc_drop_cache(l, next.gen);
		/* the vSSD's header may name the layout that never went live */
		if (next.hdr_seq > l->hdr_seq)
			l->hdr_seq = next.hdr_seq;
		vc_layout_free(&next);
		if (vc_header_write(l))
			return -1;
	}
	vc_layout_unlink(l->name, ".next");
	return 0;
}

/* Adopt the slots of NAME-cdata-G when a grow extended them. */
static int vc_repair_slots(struct vc_layout *l, bool *changed)
{
	char cdata[VC_NAME_MAX + 32];
	uint64_t *blocks, n;

	*changed = false;
	vc_dev_name(cdata, sizeof(cdata), l->name, "cdata", (long)l->gen);
	if (vc_dm_linear_blocks(cdata, l->vssd_block / VC_SECTOR, &blocks, &n))
		return -1;
	if (n > l->nslots && !memcmp(blocks, l->slots, l->nslots * sizeof(*blocks))) {
		free(l->slots);
		l->slots = blocks;
		l->nslots = n;
		*changed = true;
		return 0;
	}
	free(blocks);
	return 0;
}

int vc_repair(const char *name)
{
	char cache[VC_NAME_MAX + 32], cdata[VC_NAME_MAX + 32], view[VC_NAME_MAX + 32];
	char params[512];
	struct vc_layout l;
	bool grown = false;
	int r = -1;

	if (vc_layout_load(name, &l))
		return -1;
	vc_dev_name(view, sizeof(view), name, "metaview", -1);
	if (vc_dm_exists(view))
		vc_dm_remove(view);
	if (vc_repair_switch(&l) || vc_repair_slots(&l, &grown))
		goto out;
	vc_dev_name(cache, sizeof(cache), name, "cache", (long)l.gen);
	vc_dev_name(cdata, sizeof(cdata), name, "cdata", (long)l.gen);
	if (vc_dm_suspended(cdata) && vc_dm_resume(cdata))
		goto out;
	if (grown || vc_dm_suspended(cache)) {
		if (vc_cache_params(&l, l.meta_slot, l.gen, "smq", params, sizeof(params)) ||
		    vc_dm_reload(cache, l.origin_sectors, "cache", params) ||
		    vc_dm_resume(cache))
			goto out;
	}
	if (vc_dm_suspended(name) && vc_dm_resume(name))
		goto out;
	r = vc_layout_save(&l);
out:
	if (r)
		vc_err("%s: cannot repair the cache after an interrupted resize: %s",
		       name, vc_dm_last_error[0] ? vc_dm_last_error : strerror(errno));
	vc_layout_free(&l);
	return r;
}
