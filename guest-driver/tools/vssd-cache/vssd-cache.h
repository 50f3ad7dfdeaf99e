/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssd-cache: dm-cache on the block region of a virtio-vssd device.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The devices one cache NAME is made of (all device-mapper devices):
 *
 *   NAME             linear over NAME-cache-G: what users open; its table
 *                    is swapped when the cache below is rebuilt
 *   NAME-cache-G     the dm-cache target: metadata NAME-meta0 or -meta1,
 *                    cache device NAME-cdata-G, origin DEV
 *   NAME-cdata-G     linear over the vSSD blocks that hold cache data, in
 *                    slot order (slot i = cache blocks i*k .. i*k+k-1)
 *   NAME-meta0/1     linear over the pinned vSSD blocks: two metadata
 *                    areas, one in use, the other the target of the next
 *                    rewrite (cache_restore) when a shrink renumbers the
 *                    cache blocks
 *
 * G counts the rebuilds. The layout lives in /run/vssd-cache/NAME and in
 * a header at the end of each metadata area (header.c), from which
 * create attaches the cache again after a reboot or a crash.
 *
 * Files: main.c (commands), agent.c (the resize agent's processes),
 * resize.c (shrink, grow), repair.c (a resize cut short), header.c,
 * layout.c (state file, tables), dm.c (libdevmapper), vssd.c
 * (/proc/vssd), util.c.
 */
#ifndef VSSD_CACHE_H
#define VSSD_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VC_STATE_DIR	"/run/vssd-cache"
#define VC_NAME_MAX	64
#define VC_SECTOR	((uint64_t)512)

/* cumulative dm-cache counters (summed over the rebuilt generations) */
struct vc_stats {
	uint64_t read_hits;	/* reads served by the cache device */
	uint64_t read_misses;	/* reads that went to the origin */
	uint64_t write_hits;	/* writes to cached blocks */
	uint64_t write_misses;	/* writes to blocks not cached */
	uint64_t promotions;	/* blocks copied into the cache */
	uint64_t demotions;	/* blocks dropped from the cache */
};

/* One cache, as its state file describes it. */
struct vc_layout {
	char name[VC_NAME_MAX + 1];	/* the cache's name (/dev/mapper/NAME) */
	char cache_dev[256];		/* the vSSD node, e.g. /dev/vssd0 */
	char vssd[32];			/* its kernel name (/proc/vssd/NAME) */
	char origin[256];		/* the origin device as given */
	uint64_t origin_sectors;	/* size of the origin and of NAME */
	uint64_t vssd_block;		/* vSSD block size, bytes */
	uint64_t cblock;		/* dm-cache block size, bytes */
	bool writeback;			/* mode writeback (else writethrough) */
	uint32_t meta_blocks;		/* vSSD blocks per metadata area */
	uint32_t hdr_blocks;		/* of which the last hold a header copy */
	uint64_t *pinned;		/* 2 * meta_blocks vSSD blocks (meta0, meta1) */
	int meta_slot;			/* metadata area in use (0 or 1) */
	uint64_t gen;			/* generation G of NAME-cache-G */
	uint64_t *slots;		/* data slot -> vSSD block */
	uint64_t nslots;		/* data slots in use */
	uint64_t resizes;		/* shrinks and grows carried out */
	uint64_t hdr_seq;		/* sequence number of the last header */
	uint64_t answered_gen;		/* driver generation of the last shrink done */
	double kept_hot;		/* last shrink's kept-hot fraction, <0: none */
	uint64_t wb_bytes;		/* bytes the last shrink wrote back */
	uint64_t dirty_gone_bytes;	/* dirty bytes in its given-up area */
	uint64_t short_blocks;		/* blocks the last shrink could not free */
	int agent_pid;			/* the resize agent, 0 if none */
	struct vc_stats base;		/* counters of earlier generations */
};

/* dm-cache's status line, parsed */
struct vc_status {
	bool failed;			/* "Fail" or metadata read-only */
	uint64_t used_cblocks;		/* cache blocks holding data */
	uint64_t total_cblocks;		/* cache blocks of the cache device */
	uint64_t dirty;			/* dirty cache blocks */
	struct vc_stats stats;		/* this generation's counters */
	char policy[32];		/* smq or cleaner */
};

/* util.c */
void vc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool vc_daemon;			/* messages go to syslog */
int vc_parse_size(const char *s, uint64_t *out);
bool vc_name_ok(const char *name);
int vc_read_file(const char *path, char *buf, size_t size);
int vc_write_file(const char *path, const char *text);
int vc_write_file_new(const char *path, const char *text);
int vc_blockdev_size(const char *path, uint64_t *bytes, unsigned int *maj,
		     unsigned int *min);
int vc_blockdev_unused(const char *path);
int vc_run(char *const argv[], const char *out_path);

/* vssd.c: /proc/vssd/DEV */
int vc_vssd_name(const char *dev, char *name, size_t size);
int vc_vssd_block_size(const char *vssd, uint64_t *bytes);
int vc_vssd_plugged(const char *vssd, uint64_t **blocks, uint64_t *n);
int vc_vssd_pending(const char *vssd, char *kind, size_t size, uint64_t *n);
int vc_vssd_ready(const char *vssd);
int vc_vssd_hint_and_ready(const char *vssd, const uint64_t *blocks,
			   uint64_t n);

/* dm.c: libdevmapper */
struct vc_seg {
	uint64_t start;		/* sector on the target device */
	uint64_t len;		/* sectors */
};
void vc_dm_init(void);
bool vc_dm_exists(const char *name);
int vc_dm_create(const char *name, const char *uuid, uint64_t len,
		 const char *type, const char *params);
int vc_dm_create_linear(const char *name, const char *dev,
			const struct vc_seg *segs, size_t nsegs);
int vc_dm_reload_linear(const char *name, const char *dev,
			const struct vc_seg *segs, size_t nsegs);
int vc_dm_reload(const char *name, uint64_t len, const char *type,
		 const char *params);
int vc_dm_suspend(const char *name, bool flush);
int vc_dm_resume(const char *name);
int vc_dm_remove(const char *name);
int vc_dm_devno(const char *name, char *out, size_t size);
int vc_dm_status(const char *name, char *params, size_t size);
int vc_dm_table(const char *name, char *params, size_t size);
int vc_dm_open_count(const char *name);
bool vc_dm_suspended(const char *name);
int vc_dm_linear_blocks(const char *name, uint64_t block_sectors,
			uint64_t **blocks, uint64_t *n);

/* layout.c: the state file and the tables built from it */
int vc_layout_load(const char *name, struct vc_layout *l);
int vc_layout_save(const struct vc_layout *l);
int vc_layout_load_from(const char *name, const char *suffix, struct vc_layout *l);
int vc_layout_save_as(const struct vc_layout *l, const char *suffix);
void vc_layout_unlink(const char *name, const char *suffix);
int vc_repair(const char *name);
void vc_layout_free(struct vc_layout *l);
void vc_layout_print(FILE *f, const struct vc_layout *l);
int vc_layout_parse(FILE *f, struct vc_layout *l);

/* header.c: the layout on the vSSD, for reattaching after a restart */
int vc_header_write(struct vc_layout *l);
int vc_header_find(const char *vssd, const char *dev, const char *name,
		   struct vc_layout *l, bool *other);
int vc_header_erase(const struct vc_layout *l);
int vc_lock(const char *name, bool wait);
void vc_unlock(int fd);
void vc_dev_name(char *out, size_t size, const char *name, const char *part,
		 long n);
int vc_blocks_to_segs(const struct vc_layout *l, const uint64_t *blocks,
		      uint64_t n, struct vc_seg **segs, size_t *nsegs);
int vc_cache_params(const struct vc_layout *l, int meta_slot, uint64_t gen,
		    const char *policy, char *out, size_t size);
int vc_cache_status(const struct vc_layout *l, struct vc_status *st);
int vc_build_cache(const struct vc_layout *l, int meta_slot, uint64_t gen,
		   const uint64_t *slots, uint64_t nslots);
void vc_drop_cache(const struct vc_layout *l, uint64_t gen);
int vc_point_top(const struct vc_layout *l, uint64_t gen, bool create);

/* agent.c */
int vc_agent_start(const char *name);
int vc_agent_main(const char *name);
int vc_agent_stop(struct vc_layout *l);
int vc_shrink(struct vc_layout *l, uint64_t blocks, uint64_t **given,
	      uint64_t *ngiven);
int vc_grow(struct vc_layout *l, const uint64_t *plugged, uint64_t nplugged);

#endif
