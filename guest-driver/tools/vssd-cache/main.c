// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: dm-cache whose cache device is a vSSD's block region, kept
 * hot across the host's resizes of that region.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 *   vssd-cache create NAME --origin DEV --cache DEV [--mode M] [--block-size S]
 *   vssd-cache status NAME [--json]
 *   vssd-cache remove NAME
 *   vssd-cache agent NAME          (the resize agent; create starts it)
 *
 * Errors: one line "vssd-cache: ..." on stderr, exit status 1 (2 for
 * usage errors), and nothing changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vssd-cache.h"

extern char vc_dm_last_error[256];

#define VC_DEFAULT_CBLOCK	(64ULL << 10)
#define VC_MIN_CBLOCK		(32ULL << 10)
#define VC_MAX_CBLOCK		(1ULL << 30)
/* dm-cache metadata: about 4 MiB plus 44 bytes per cache block
 * (cache_metadata_size); we keep a margin (64) */
#define VC_META_FIXED		(4ULL << 20)
#define VC_META_PER_CBLOCK	64ULL

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"    vssd-cache - dm-cache on a vSSD, kept hot when the host resizes it\n"
"\n"
"SYNOPSIS\n"
"    vssd-cache create NAME --origin DEV --cache DEV\n"
"                      [--mode writethrough|writeback] [--block-size SIZE]\n"
"    vssd-cache status NAME [--json]\n"
"    vssd-cache remove NAME\n"
"\n"
"DESCRIPTION\n"
"    vssd-cache builds a device-mapper cache (the kernel's dm-cache with\n"
"    the smq policy) whose fast device is the block region of a\n"
"    virtio-vssd device (/dev/vssd0) and whose origin is a slower disk,\n"
"    and keeps it running while the host shrinks and grows that region.\n"
"    On a shrink its agent chooses which vSSD blocks go back: blocks the\n"
"    cache does not use first, then the coldest clean ones; hot blocks\n"
"    keep their place (the cache blocks are renumbered, not copied); only\n"
"    dirty blocks in the given-up part are written back to the origin.\n"
"    On a grow the new blocks join the cache at once.\n"
"\n"
"COMMANDS\n"
"    create NAME --origin DEV --cache DEV [--mode M] [--block-size SIZE]\n"
"        Make /dev/mapper/NAME, the origin's size, cached on the vSSD DEV\n"
"        (its plugged blocks; a few are kept for the cache's metadata),\n"
"        and start the resize agent. Both devices must be unused. The\n"
"        vSSD's old contents are lost; the origin's are kept. Returns\n"
"        once /dev/mapper/NAME is usable.\n"
"        If the vSSD holds the cache NAME already (after a reboot, a\n"
"        crash or a restart of QEMU: its layout is kept on the vSSD),\n"
"        create attaches it again with its data; --mode and --block-size\n"
"        must then match or be left out. A vSSD holding a cache of\n"
"        another name is refused.\n"
"\n"
"    status NAME [--json]\n"
"        key: value lines (--json: one JSON object): read_hits,\n"
"        read_misses, write_hits, write_misses, dirty_blocks, cache_bytes\n"
"        (the vSSD bytes holding cache data), cache_blocks, used_blocks,\n"
"        block_size, mode, state, resizes, last_kept_hot (the fraction of\n"
"        the hottest cache blocks the last shrink kept), and the bytes it\n"
"        wrote back against the dirty bytes in the part it gave up.\n"
"        Counters add up over the cache's rebuilds.\n"
"\n"
"    remove NAME\n"
"        Stop the agent, write every dirty block back to the origin, and\n"
"        remove /dev/mapper/NAME and the devices below it. The origin then\n"
"        holds every write. Fails, changing nothing, while NAME is open.\n"
"\n"
"OPTIONS\n"
"    --origin DEV\n"
"        The slow device whose data the cache holds.\n"
"    --cache DEV\n"
"        The vSSD block device (/dev/vssdN).\n"
"    --mode writethrough|writeback\n"
"        writethrough (default): writes reach the origin before they\n"
"        complete; writeback: they complete on the vSSD and reach the\n"
"        origin later (on a shrink that gives their block up, or on\n"
"        remove).\n"
"    --block-size SIZE\n"
"        dm-cache block size: a power of two from 32K up to the vSSD\n"
"        block size (default 64K, or the vSSD block size if smaller).\n"
"        Suffixes K, M, G.\n"
"    --json\n"
"        status as JSON.\n"
"    -h, --help\n"
"        This text.\n"
"\n"
"DEVICES\n"
"    NAME is linear over NAME-cache-G, the dm-cache target; its cache\n"
"    device NAME-cdata-G maps the vSSD blocks that hold cache data, in\n"
"    cache-block order; NAME-meta0 and NAME-meta1 are two metadata areas\n"
"    on vSSD blocks the agent never gives back (one in use, the other the\n"
"    target of the next shrink's renumbered metadata). G counts rebuilds.\n"
"    The layout is kept in /run/vssd-cache/NAME and, for attaching again,\n"
"    in a header at the end of each metadata area (written alternately,\n"
"    with a sequence number and a checksum).\n"
"\n"
"RESIZES\n"
"    The agent waits for the driver's pending shrink or grow\n"
"    (/proc/vssd/DEV/pending). On a shrink it moves hot cache blocks out\n"
"    of the vSSD blocks it gives up (cache_dump, rewrite, cache_restore\n"
"    into the other metadata area, while the cache is suspended), writes\n"
"    the freed vSSD blocks to /proc/vssd/DEV/hints and answers ready.\n"
"    create sets the driver's agent_timeout_ms to 20000 when it is 0; a\n"
"    guest that attaches a cache at boot should set it on the kernel\n"
"    command line (virtio_vssd.agent_timeout_ms=20000), or a shrink\n"
"    pending at boot is carried out before the agent runs.\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 1 on errors, 2 on usage errors; errors are one line\n"
"    on standard error and change nothing.\n"
"\n"
"EXAMPLE\n"
"    vssd-cache create fast --origin /dev/vdb --cache /dev/vssd0 \\\n"
"        --mode writeback\n"
"    mkfs.ext4 /dev/mapper/fast\n"
"    vssd-cache status fast\n"
"    vssd-cache remove fast\n", f);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vssd-cache: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (see vssd-cache --help)\n", stderr);
	va_end(ap);
	exit(2);
}

/* The kernel's reason for the last device-mapper failure, or errno's. */
static const char *vc_reason(void)
{
	return vc_dm_last_error[0] ? vc_dm_last_error : strerror(errno);
}

/* --- create --- */

struct vc_create_args {
	const char *name, *origin, *cache;
	bool writeback, mode_set;
	uint64_t cblock;	/* 0: default */
};

/* Check the origin: an unused block device that is not the vSSD. */
static int vc_check_origin(struct vc_layout *l, const char *origin)
{
	uint64_t bytes;
	unsigned int omaj, omin, cmaj, cmin;

	if (vc_blockdev_size(origin, &bytes, &omaj, &omin)) {
		vc_err("origin %s: %s", origin, strerror(errno));
		return -1;
	}
	if (!vc_blockdev_size(l->cache_dev, &bytes, &cmaj, &cmin) &&
	    cmaj == omaj && cmin == omin) {
		vc_err("origin %s: it is the cache device", origin);
		return -1;
	}
	if (vc_blockdev_size(origin, &bytes, NULL, NULL) || bytes < l->cblock) {
		vc_err("origin %s: smaller than one cache block", origin);
		return -1;
	}
	if (vc_blockdev_unused(origin)) {
		vc_err("origin %s: in use (%s)", origin, strerror(errno));
		return -1;
	}
	snprintf(l->origin, sizeof(l->origin), "%s", origin);
	l->origin_sectors = bytes / VC_SECTOR;
	return 0;
}

/* Check the vSSD and choose the cache block size. */
static int vc_check_cache(struct vc_layout *l, const char *dev, uint64_t cblock)
{
	if (vc_vssd_name(dev, l->vssd, sizeof(l->vssd))) {
		vc_err("cache %s: not a vSSD block device (no /proc/vssd entry)", dev);
		return -1;
	}
	snprintf(l->cache_dev, sizeof(l->cache_dev), "%s", dev);
	if (vc_vssd_block_size(l->vssd, &l->vssd_block)) {
		vc_err("cache %s: cannot read its block size", dev);
		return -1;
	}
	if (l->vssd_block < VC_MIN_CBLOCK) {
		vc_err("cache %s: vSSD block size %" PRIu64 " is below dm-cache's 32K",
		       dev, l->vssd_block);
		return -1;
	}
	if (!cblock)
		cblock = l->vssd_block < VC_DEFAULT_CBLOCK ? l->vssd_block :
			 VC_DEFAULT_CBLOCK;
	if (cblock > l->vssd_block) {
		vc_err("--block-size %" PRIu64 " is larger than the vSSD block size %"
		       PRIu64, cblock, l->vssd_block);
		return -1;
	}
	l->cblock = cblock;
	if (vc_blockdev_unused(dev)) {
		vc_err("cache %s: in use (%s)", dev, strerror(errno));
		return -1;
	}
	return 0;
}

/* Pin the metadata blocks (the lowest plugged ones), the rest is data. */
static int vc_plan_blocks(struct vc_layout *l)
{
	uint64_t *plugged, n, max_bytes, meta_bytes, hdr_bytes;
	unsigned int maj, min;

	if (vc_blockdev_size(l->cache_dev, &max_bytes, &maj, &min) ||
	    vc_vssd_plugged(l->vssd, &plugged, &n)) {
		vc_err("cache %s: cannot read its plugged map", l->cache_dev);
		return -1;
	}
	meta_bytes = VC_META_FIXED + VC_META_PER_CBLOCK * (max_bytes / l->cblock);
	/* a header copy: about 8 bytes per vSSD block, and a margin */
	hdr_bytes = 8 * (max_bytes / l->vssd_block) + (16 << 10);
	l->hdr_blocks = (uint32_t)((hdr_bytes + l->vssd_block - 1) / l->vssd_block);
	l->meta_blocks = (uint32_t)((meta_bytes + l->vssd_block - 1) / l->vssd_block) +
			 l->hdr_blocks;
	if (n < 2ULL * l->meta_blocks + 1) {
		vc_err("cache %s: %" PRIu64 " plugged blocks, need at least %" PRIu64
		       " (2 x %u for metadata, 1 for data)", l->cache_dev, n,
		       (uint64_t)2 * l->meta_blocks + 1, l->meta_blocks);
		free(plugged);
		return -1;
	}
	l->pinned = malloc(2ULL * l->meta_blocks * sizeof(uint64_t));
	l->nslots = n - 2ULL * l->meta_blocks;
	l->slots = malloc(l->nslots * sizeof(uint64_t));
	if (!l->pinned || !l->slots) {
		free(plugged);
		vc_err("out of memory");
		return -1;
	}
	memcpy(l->pinned, plugged, 2ULL * l->meta_blocks * sizeof(uint64_t));
	memcpy(l->slots, plugged + 2ULL * l->meta_blocks, l->nslots * sizeof(uint64_t));
	free(plugged);
	return 0;
}

/*
 * Make NAME-meta0/1 (without the header blocks at their ends); with
 * zero, wipe the first 4 KiB of each (a blank superblock: dm-cache
 * formats it).
 */
static int vc_make_meta(const struct vc_layout *l, bool zero_it)
{
	char dev[VC_NAME_MAX + 32], path[PATH_MAX], vssd[32];
	struct vc_seg *segs;
	unsigned int maj, min;
	uint64_t bytes;
	size_t nsegs;
	void *zero;
	int s, fd, r;

	if (vc_blockdev_size(l->cache_dev, &bytes, &maj, &min))
		return -1;
	snprintf(vssd, sizeof(vssd), "%u:%u", maj, min);
	if (posix_memalign(&zero, 4096, 4096))
		return -1;
	memset(zero, 0, 4096);
	for (s = 0; s < 2; s++) {
		vc_dev_name(dev, sizeof(dev), l->name, "meta", s);
		if (vc_blocks_to_segs(l, l->pinned + (uint64_t)s * l->meta_blocks,
				      l->meta_blocks - l->hdr_blocks, &segs, &nsegs))
			break;
		r = vc_dm_create_linear(dev, vssd, segs, nsegs);
		free(segs);
		if (r)
			break;
		if (!zero_it)
			continue;
		snprintf(path, sizeof(path), "/dev/mapper/%s", dev);
		fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
		r = fd < 0 || pwrite(fd, zero, 4096, 0) != 4096 || fsync(fd);
		if (fd >= 0)
			close(fd);
		if (r)
			break;
	}
	free(zero);
	return s == 2 ? 0 : -1;
}

static void vc_remove_meta(const char *name)
{
	char dev[VC_NAME_MAX + 32];
	int s;

	for (s = 0; s < 2; s++) {
		vc_dev_name(dev, sizeof(dev), name, "meta", s);
		if (vc_dm_exists(dev))
			vc_dm_remove(dev);
	}
}

/* Are all the vSSD blocks the layout uses plugged? */
static bool vc_all_plugged(const struct vc_layout *l)
{
	uint64_t *plugged, n, i, j, top = 0;
	bool *is, ok = true;

	if (vc_vssd_plugged(l->vssd, &plugged, &n))
		return false;
	for (i = 0; i < n; i++)
		top = plugged[i] + 1 > top ? plugged[i] + 1 : top;
	is = calloc(top + 1, sizeof(*is));
	for (i = 0; is && i < n; i++)
		is[plugged[i]] = true;
	for (j = 0; is && ok && j < 2ULL * l->meta_blocks; j++)
		ok = l->pinned[j] < top && is[l->pinned[j]];
	for (j = 0; is && ok && j < l->nslots; j++)
		ok = l->slots[j] < top && is[l->slots[j]];
	free(is);
	free(plugged);
	return is && ok;
}

/*
 * Attach the cache that the vSSD's header h describes again (after a
 * reboot or a restart of QEMU): its metadata and data are used as they
 * are; dm-cache treats every block as dirty after an unclean stop.
 */
static int vc_reattach(const struct vc_create_args *a, struct vc_layout *h)
{
	uint64_t sectors = h->origin_sectors;

	if ((a->cblock && a->cblock != h->cblock) ||
	    (a->mode_set && a->writeback != h->writeback)) {
		vc_err("%s: the cache on %s was made with --mode %s --block-size %"
		       PRIu64 "K", a->name, a->cache,
		       h->writeback ? "writeback" : "writethrough", h->cblock >> 10);
		return 1;
	}
	snprintf(h->cache_dev, sizeof(h->cache_dev), "%s", a->cache);
	if (vc_check_origin(h, a->origin))
		return 1;
	if (h->origin_sectors != sectors) {
		vc_err("%s: origin %s has %" PRIu64 " sectors, the cache's had %" PRIu64,
		       a->name, a->origin, h->origin_sectors, sectors);
		return 1;
	}
	if (!vc_all_plugged(h)) {
		vc_err("%s: the host took vSSD blocks the cache uses; it cannot be "
		       "attached", a->name);
		return 1;
	}
	h->agent_pid = 0;
	if (vc_make_meta(h, false) || vc_build_cache(h, h->meta_slot, h->gen, h->slots,
						       h->nslots)) {
		vc_err("%s: cannot attach the cache: %s", a->name, vc_reason());
		vc_drop_cache(h, h->gen);
		vc_remove_meta(a->name);
		return 1;
	}
	if (vc_point_top(h, h->gen, true) || vc_layout_save(h)) {
		vc_err("%s: cannot make /dev/mapper/%s: %s", a->name, a->name, vc_reason());
		vc_dm_remove(a->name);
		vc_layout_unlink(a->name, "");
		vc_drop_cache(h, h->gen);
		vc_remove_meta(a->name);
		return 1;
	}
	return 0;
}

/* Does NAME or any device of its stack exist already? */
static bool vc_stack_exists(const char *name)
{
	char dev[VC_NAME_MAX + 32];

	vc_dev_name(dev, sizeof(dev), name, "meta", 0);
	if (vc_dm_exists(name) || vc_dm_exists(dev))
		return true;
	vc_dev_name(dev, sizeof(dev), name, "meta", 1);
	return vc_dm_exists(dev);
}

static int vc_create(const struct vc_create_args *a)
{
	struct vc_layout l, old;
	char path[PATH_MAX];
	struct stat st;
	bool other;
	int lock, rc = 1;

	memset(&l, 0, sizeof(l));
	l.kept_hot = -1;
	snprintf(l.name, sizeof(l.name), "%s", a->name);
	l.writeback = a->writeback;
	lock = vc_lock(a->name, false);
	if (lock < 0) {
		vc_err("%s: busy (another vssd-cache command holds it)", a->name);
		return 1;
	}
	snprintf(path, sizeof(path), VC_STATE_DIR "/%s", a->name);
	if (!stat(path, &st) || vc_stack_exists(a->name)) {
		vc_err("%s: exists already", a->name);
		goto out;
	}
	if (vc_check_cache(&l, a->cache, a->cblock))
		goto out;
	if (vc_header_find(l.vssd, l.cache_dev, a->name, &old, &other) == 0) {
		rc = vc_reattach(a, &old);
		vc_layout_free(&old);
		if (rc)
			goto out;
		vc_unlock(lock);	/* the agent takes it */
		lock = -1;
		if (vc_agent_start(a->name)) {
			vc_err("%s: cannot start the resize agent: %s", a->name,
			       strerror(errno));
			rc = 1;
		}
		goto out;
	}
	if (other) {
		vc_err("cache %s: holds another vssd-cache cache (attach it by its "
		       "name, or wipe the device first)", a->cache);
		goto out;
	}
	if (vc_check_origin(&l, a->origin) || vc_plan_blocks(&l))
		goto out;
	if (vc_make_meta(&l, true)) {
		vc_err("%s: cannot make the metadata devices: %s", a->name, vc_reason());
		goto undo_meta;
	}
	if (vc_build_cache(&l, 0, 0, l.slots, l.nslots)) {
		vc_err("%s: cannot make the cache: %s", a->name, vc_reason());
		goto undo_meta;
	}
	if (vc_point_top(&l, 0, true)) {
		vc_err("%s: cannot make /dev/mapper/%s: %s", a->name, a->name, vc_reason());
		goto undo_cache;
	}
	if (vc_header_write(&l)) {
		vc_err("%s: cannot write the header on %s: %s", a->name, a->cache,
		       strerror(errno));
		goto undo_top;
	}
	if (vc_layout_save(&l)) {
		vc_err("%s: cannot write " VC_STATE_DIR "/%s: %s", a->name, a->name,
		       strerror(errno));
		goto undo_top;
	}
	vc_unlock(lock);
	lock = -1;
	if (vc_agent_start(a->name)) {
		vc_err("%s: cannot start the resize agent: %s", a->name, strerror(errno));
		goto undo_state;
	}
	rc = 0;
	goto out;
undo_state:
	unlink(path);
undo_top:
	vc_dm_remove(a->name);
undo_cache:
	vc_drop_cache(&l, 0);
undo_meta:
	vc_remove_meta(a->name);
out:
	if (rc && lock >= 0 && stat(path, &st) != 0)
		vc_layout_unlink(a->name, ".lock");	/* leave no trace */
	vc_unlock(lock);
	vc_layout_free(&l);
	return rc;
}

/* --- status --- */

/* Does NAME's state file exist? (so that a typo leaves no lock file) */
static bool vc_known(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), VC_STATE_DIR "/%s", name);
	if (stat(path, &st) == 0)
		return true;
	vc_err("%s: no such cache", name);
	return false;
}

static int vc_load_or_fail(const char *name, struct vc_layout *l)
{
	if (vc_layout_load(name, l) == 0)
		return 0;
	if (errno == ENOENT)
		vc_err("%s: no such cache", name);
	else
		vc_err("%s: cannot read " VC_STATE_DIR "/%s: %s", name, name,
		       strerror(errno));
	return -1;
}

static bool vc_agent_alive(const struct vc_layout *l)
{
	return l->agent_pid > 0 && kill(l->agent_pid, 0) == 0;
}

static int vc_status(const char *name, bool json)
{
	struct vc_layout l;
	struct vc_status st;
	struct vc_stats t;
	char hot[32];
	int lock;

	if (!vc_known(name))
		return 1;
	lock = vc_lock(name, true);
	if (vc_load_or_fail(name, &l)) {
		vc_unlock(lock);
		return 1;
	}
	if (vc_cache_status(&l, &st)) {
		vc_err("%s: cannot read the cache's status: %s", name, vc_reason());
		vc_unlock(lock);
		vc_layout_free(&l);
		return 1;
	}
	vc_unlock(lock);
	t = l.base;
	t.read_hits += st.stats.read_hits;
	t.read_misses += st.stats.read_misses;
	t.write_hits += st.stats.write_hits;
	t.write_misses += st.stats.write_misses;
	t.promotions += st.stats.promotions;
	t.demotions += st.stats.demotions;
	if (l.kept_hot < 0)
		snprintf(hot, sizeof(hot), json ? "null" : "none");
	else
		snprintf(hot, sizeof(hot), "%.4f", l.kept_hot);
	if (json) {
		printf("{\"name\": \"%s\", \"mode\": \"%s\", \"state\": \"%s\", "
		       "\"read_hits\": %" PRIu64 ", \"read_misses\": %" PRIu64
		       ", \"write_hits\": %" PRIu64 ", \"write_misses\": %" PRIu64
		       ", \"dirty_blocks\": %" PRIu64 ", \"cache_bytes\": %" PRIu64
		       ", \"cache_blocks\": %" PRIu64 ", \"used_blocks\": %" PRIu64
		       ", \"block_size\": %" PRIu64 ", \"promotions\": %" PRIu64
		       ", \"demotions\": %" PRIu64 ", \"resizes\": %" PRIu64
		       ", \"last_kept_hot\": %s, \"last_writeback_bytes\": %" PRIu64
		       ", \"last_dirty_given_up_bytes\": %" PRIu64
		       ", \"last_short_blocks\": %" PRIu64 ", \"agent\": %d}\n",
		       l.name, l.writeback ? "writeback" : "writethrough",
		       st.failed ? "failed" : "ok", t.read_hits, t.read_misses,
		       t.write_hits, t.write_misses, st.dirty,
		       l.nslots * l.vssd_block, st.total_cblocks, st.used_cblocks,
		       l.cblock, t.promotions, t.demotions, l.resizes, hot,
		       l.wb_bytes, l.dirty_gone_bytes, l.short_blocks,
		       vc_agent_alive(&l) ? l.agent_pid : 0);
	} else {
		printf("name: %s\nmode: %s\nstate: %s\norigin: %s\ncache_device: %s\n",
		       l.name, l.writeback ? "writeback" : "writethrough",
		       st.failed ? "failed" : "ok", l.origin, l.cache_dev);
		printf("read_hits: %" PRIu64 "\nread_misses: %" PRIu64
		       "\nwrite_hits: %" PRIu64 "\nwrite_misses: %" PRIu64
		       "\ndirty_blocks: %" PRIu64 "\ncache_bytes: %" PRIu64
		       "\ncache_blocks: %" PRIu64 "\nused_blocks: %" PRIu64
		       "\nblock_size: %" PRIu64 "\npromotions: %" PRIu64
		       "\ndemotions: %" PRIu64 "\nresizes: %" PRIu64
		       "\nlast_kept_hot: %s\nlast_writeback_bytes: %" PRIu64
		       "\nlast_dirty_given_up_bytes: %" PRIu64
		       "\nlast_short_blocks: %" PRIu64 "\nagent: %s\n",
		       t.read_hits, t.read_misses, t.write_hits, t.write_misses,
		       st.dirty, l.nslots * l.vssd_block, st.total_cblocks,
		       st.used_cblocks, l.cblock, t.promotions, t.demotions,
		       l.resizes, hot, l.wb_bytes, l.dirty_gone_bytes,
		       l.short_blocks, vc_agent_alive(&l) ? "running" : "stopped");
	}
	vc_layout_free(&l);
	return 0;
}

/* --- remove --- */

/* Switch the cache to the cleaner policy and wait until nothing is dirty. */
static int vc_clean_all(struct vc_layout *l)
{
	char dev[VC_NAME_MAX + 32], params[512];
	struct vc_status st;

	if (vc_cache_status(l, &st))
		return -1;
	if (st.dirty == 0)
		return 0;
	vc_dev_name(dev, sizeof(dev), l->name, "cache", (long)l->gen);
	if (vc_cache_params(l, l->meta_slot, l->gen, "cleaner", params, sizeof(params)) ||
	    vc_dm_reload(dev, l->origin_sectors, "cache", params) ||
	    vc_dm_suspend(dev, true) || vc_dm_resume(dev))
		return -1;
	for (;;) {
		if (vc_cache_status(l, &st))
			return -1;
		if (st.failed) {
			errno = EIO;
			return -1;
		}
		if (st.dirty == 0)
			return 0;
		usleep(20000);
	}
}

static int vc_remove(const char *name)
{
	struct vc_layout l;
	char path[PATH_MAX];
	int lock, rc = 1, open_count;

	if (!vc_known(name))
		return 1;
	lock = vc_lock(name, true);
	if (vc_load_or_fail(name, &l)) {
		vc_unlock(lock);
		return 1;
	}
	open_count = vc_dm_open_count(name);
	if (open_count != 0) {
		vc_err("%s: %s", name, open_count > 0 ?
		       "in use (open or mounted)" : "its device is gone");
		goto out;
	}
	if (vc_agent_stop(&l)) {
		vc_err("%s: cannot stop the resize agent (pid %d)", name, l.agent_pid);
		goto out;
	}
	vc_dm_last_error[0] = '\0';
	/* an agent that died mid-resize may have left things half-done */
	vc_layout_free(&l);
	if (vc_repair(name) || vc_layout_load(name, &l)) {
		memset(&l, 0, sizeof(l));
		goto out;
	}
	if (vc_clean_all(&l)) {
		vc_err("%s: cannot write the dirty blocks back: %s", name, vc_reason());
		goto out;
	}
	if (vc_dm_remove(name)) {
		vc_err("%s: cannot remove /dev/mapper/%s: %s", name, name, vc_reason());
		goto out;
	}
	vc_drop_cache(&l, l.gen);
	vc_header_erase(&l);
	vc_remove_meta(name);
	vc_layout_unlink(name, "");
	vc_layout_unlink(name, ".worker");
	rc = 0;
out:
	vc_layout_free(&l);
	vc_unlock(lock);
	if (rc == 0) {
		snprintf(path, sizeof(path), VC_STATE_DIR "/%s.lock", name);
		unlink(path);
	}
	return rc;
}

/* --- command line --- */

static const char *vc_need_name(int argc, char **argv, const char *cmd)
{
	if (optind >= argc)
		die_usage("%s: NAME missing", cmd);
	if (optind + 1 < argc)
		die_usage("%s: unexpected argument '%s'", cmd, argv[optind + 1]);
	if (!vc_name_ok(argv[optind]))
		die_usage("%s: bad NAME '%s' (1-%d of A-Z a-z 0-9 _ . + -, not "
			  "starting with - or .)", cmd, argv[optind], VC_NAME_MAX);
	return argv[optind];
}

static uint64_t vc_parse_block_size(const char *s)
{
	uint64_t v;

	if (vc_parse_size(s, &v) || v < VC_MIN_CBLOCK || v > VC_MAX_CBLOCK ||
	    (v & (v - 1)))
		die_usage("--block-size '%s': need a power of two from 32K to 1G", s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ "cache", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vc_create_args a = { 0 };
	const char *cmd;
	bool json = false, mode_set = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) == 'h') {
		usage(stdout);
		return 0;
	}
	if (c != -1)
		die_usage("unknown option '%s'", argv[optind - 1]);
	if (optind >= argc)
		die_usage("no command");
	cmd = argv[optind++];
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "create") && strcmp(cmd, "status") &&
	    strcmp(cmd, "remove") && strcmp(cmd, "agent"))
		die_usage("unknown command '%s'", cmd);
	optind--;	/* getopt skips argv[0]: let it see the command as that */
	argv += optind;
	argc -= optind;
	optind = 0;	/* 0: glibc starts afresh (the first loop left state) */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (a.origin)
				die_usage("%s: --origin given twice", cmd);
			a.origin = optarg;
			break;
		case 'c':
			if (a.cache)
				die_usage("%s: --cache given twice", cmd);
			a.cache = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "writeback") && strcmp(optarg, "writethrough"))
				die_usage("--mode '%s': writethrough or writeback", optarg);
			if (mode_set)
				die_usage("%s: --mode given twice", cmd);
			mode_set = true;
			a.mode_set = true;
			a.writeback = !strcmp(optarg, "writeback");
			break;
		case 'b':
			if (a.cblock)
				die_usage("%s: --block-size given twice", cmd);
			a.cblock = vc_parse_block_size(optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			die_usage("%s: unknown option or missing value '%s'", cmd,
				  argv[optind - 1]);
		}
	}
	a.name = vc_need_name(argc, argv, cmd);
	if (strcmp(cmd, "create") && (a.origin || a.cache || mode_set || a.cblock))
		die_usage("%s: --origin, --cache, --mode, --block-size are for create", cmd);
	if (strcmp(cmd, "status") && json)
		die_usage("%s: --json is for status", cmd);
	if (geteuid() != 0) {
		vc_err("%s: needs root (device-mapper)", cmd);
		return 1;
	}
	vc_dm_init();
	if (!strcmp(cmd, "create")) {
		if (!a.origin || !a.cache)
			die_usage("create: --origin DEV and --cache DEV are required");
		return vc_create(&a);
	}
	if (!strcmp(cmd, "status"))
		return vc_status(a.name, json);
	if (!strcmp(cmd, "remove"))
		return vc_remove(a.name);
	return vc_agent_main(a.name);
}
