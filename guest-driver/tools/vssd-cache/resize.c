// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: the cache-aware shrink and the grow.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Shrink by R vSSD blocks (slots of k = vssd_block / cblock cache blocks):
 *
 *  1. suspend NAME (I/O waits) and NAME-cache-G (dm-cache commits its
 *     metadata: mappings, dirty bits, smq's hotness levels as hints);
 *  2. cache_dump the metadata (through a fresh linear view of it, so
 *     nothing is cached and the open can be exclusive);
 *  3. rank the slots: unused ones first, then clean ones, then dirty
 *     ones, each by hotness (the sum of the smq levels of their cache
 *     blocks); the first R are given up;
 *  4. write the dirty cache blocks of those R slots back to the origin
 *     (only those), then forget them;
 *  5. renumber: the kept slots keep their order and become slots
 *     0..S-R-1, their cache blocks move with them (no data is copied:
 *     the new NAME-cdata-G+1 maps the same vSSD blocks in the new order);
 *     cache_restore the rewritten metadata into the other metadata area;
 *  6. NAME-cache-G+1 over it, NAME pointed at it and resumed; G's devices
 *     are removed. The R vSSD blocks are now unused: the agent hints them.
 *
 * A failure before step 6 resumes the old cache unchanged and gives
 * nothing back. Grow: new slots are appended to NAME-cdata-G and the
 * cache's table is reloaded (dm-cache extends its metadata on resume).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vssd-cache.h"

extern char vc_dm_last_error[256];

#define VC_CACHE_DUMP		"/usr/sbin/cache_dump"
#define VC_CACHE_RESTORE	"/usr/sbin/cache_restore"

/* One cache block of the dump. */
struct vc_cb {
	bool mapped;		/* holds an origin block */
	bool dirty;		/* newer than the origin */
	uint64_t oblock;	/* the origin block it holds */
	uint32_t level;		/* smq hotness (0..63), from the hint */
	char hint[16];		/* the hint as dumped (base64) */
};

/* The dump: superblock attributes and one entry per cache block. */
struct vc_dump {
	char uuid[128], block_size[32], policy[32], hint_width[16];
	char version[16];	/* policy version attributes, verbatim */
	uint64_t ncb;		/* nr_cache_blocks */
	struct vc_cb *cb;
	char *tail;		/* <discards> ... as dumped */
};

/* A slot's rank in the shrink order. */
struct vc_slot_rank {
	uint64_t slot;		/* old slot number */
	uint64_t mapped;	/* mapped cache blocks */
	uint64_t heat;		/* sum of their levels */
	uint64_t dirty;		/* dirty cache blocks */
};

/* attr="value" of an XML element line, into out. */
static bool vc_attr(const char *line, const char *attr, char *out, size_t size)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), " %s=\"", attr);
	p = strstr(line, key);
	if (!p)
		return false;
	p += strlen(key);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= size)
		return false;
	memcpy(out, p, e - p);
	out[e - p] = '\0';
	return true;
}

static uint64_t vc_attr_u64(const char *line, const char *attr, bool *ok)
{
	char v[32];

	if (!vc_attr(line, attr, v, sizeof(v))) {
		*ok = false;
		return 0;
	}
	return strtoull(v, NULL, 10);
}

/* The 32-bit little-endian value of a base64 hint ("AQAAAA=="). */
static uint32_t vc_hint_level(const char *b64)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t bytes[4] = { 0 };
	uint32_t acc = 0;
	int bits = 0, n = 0;
	const char *p, *c;

	for (p = b64; *p && *p != '=' && n < 4; p++) {
		c = strchr(abc, *p);
		if (!c)
			break;
		acc = (acc << 6) | (uint32_t)(c - abc);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			bytes[n++] = (uint8_t)(acc >> bits);
		}
	}
	return bytes[0] | bytes[1] << 8 | bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

/* Parse one line of cache_dump's XML into d. */
static int vc_dump_line(struct vc_dump *d, const char *line, bool *in_tail,
			size_t *tail_len)
{
	bool ok = true;
	uint64_t c;

	if (*in_tail || strstr(line, "<discards")) {
		size_t n = strlen(line);
		char *t;

		if (strstr(line, "</superblock>"))
			return 0;
		*in_tail = true;
		t = realloc(d->tail, *tail_len + n + 1);
		if (!t)
			return -1;
		memcpy(t + *tail_len, line, n + 1);
		d->tail = t;
		*tail_len += n;
		return 0;
	}
	if (strstr(line, "<superblock")) {
		vc_attr(line, "uuid", d->uuid, sizeof(d->uuid));
		vc_attr(line, "version", d->version, sizeof(d->version));
		if (!vc_attr(line, "block_size", d->block_size, sizeof(d->block_size)) ||
		    !vc_attr(line, "policy", d->policy, sizeof(d->policy)) ||
		    !vc_attr(line, "hint_width", d->hint_width, sizeof(d->hint_width)))
			return -1;
		d->ncb = vc_attr_u64(line, "nr_cache_blocks", &ok);
		d->cb = calloc(d->ncb ? d->ncb : 1, sizeof(*d->cb));
		return ok && d->cb ? 0 : -1;
	}
	if (strstr(line, "<mapping ")) {
		c = vc_attr_u64(line, "cache_block", &ok);
		if (!ok || !d->cb || c >= d->ncb)
			return -1;
		d->cb[c].mapped = true;
		d->cb[c].oblock = vc_attr_u64(line, "origin_block", &ok);
		d->cb[c].dirty = strstr(line, "dirty=\"true\"") != NULL;
		return ok ? 0 : -1;
	}
	if (strstr(line, "<hint ")) {
		c = vc_attr_u64(line, "cache_block", &ok);
		if (!ok || !d->cb || c >= d->ncb ||
		    !vc_attr(line, "data", d->cb[c].hint, sizeof(d->cb[c].hint)))
			return -1;
		d->cb[c].level = vc_hint_level(d->cb[c].hint);
	}
	return 0;
}

static int vc_dump_read(const char *path, struct vc_dump *d)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, tail_len = 0;
	bool in_tail = false;
	int r = 0;

	memset(d, 0, sizeof(*d));
	if (!f)
		return -1;
	while (r == 0 && getline(&line, &cap, f) > 0)
		r = vc_dump_line(d, line, &in_tail, &tail_len);
	free(line);
	fclose(f);
	if (r == 0 && !d->cb)
		r = -1;
	return r;
}

static void vc_dump_free(struct vc_dump *d)
{
	free(d->cb);
	free(d->tail);
}

/* Write the metadata of the kept slots, renumbered, as XML. */
static int vc_dump_write(const char *path, const struct vc_dump *d,
			 const uint64_t *kept, uint64_t nkept, uint64_t k)
{
	FILE *f = fopen(path, "w");
	uint64_t j, i, c;

	if (!f)
		return -1;
	fprintf(f, "<superblock uuid=\"%s\" block_size=\"%s\" nr_cache_blocks=\"%"
		PRIu64 "\" policy=\"%s\" hint_width=\"%s\">\n  <mappings>\n",
		d->uuid, d->block_size, nkept * k, d->policy, d->hint_width);
	for (j = 0; j < nkept; j++)
		for (i = 0; i < k; i++) {
			c = kept[j] * k + i;
			if (d->cb[c].mapped)
				fprintf(f, "    <mapping cache_block=\"%" PRIu64
					"\" origin_block=\"%" PRIu64 "\" dirty=\"%s\"/>\n",
					j * k + i, d->cb[c].oblock,
					d->cb[c].dirty ? "true" : "false");
		}
	fputs("  </mappings>\n  <hints>\n", f);
	for (j = 0; j < nkept; j++)
		for (i = 0; i < k; i++) {
			c = kept[j] * k + i;
			if (d->cb[c].mapped && d->cb[c].hint[0])
				fprintf(f, "    <hint cache_block=\"%" PRIu64
					"\" data=\"%s\"/>\n", j * k + i, d->cb[c].hint);
		}
	fputs("  </hints>\n", f);
	if (d->tail)
		fputs(d->tail, f);
	fputs("</superblock>\n", f);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/*
 * dm-cache's superblock (dm-cache-metadata.c): policy_version[3] at byte
 * 272 of its first 4 KiB, a crc32c of bytes 4.. at 0 (xor 9031977).
 * cache_restore writes version 0.0.0, which the kernel takes for another
 * policy and then ignores the hints (the smq levels: every block gets a
 * random hotness). So the version of the dumped superblock is copied into
 * the restored one.
 */
#define VC_SB_SIZE		4096
#define VC_SB_POLICY_VERSION	272
#define VC_SB_CSUM_XOR		9031977u

static uint32_t vc_crc32c(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (crc & 1 ? 0x82f63b78u : 0);
	}
	return crc;
}

/* Read (write) the superblock of device path into (from) sb. */
static int vc_sb_io(const char *path, uint8_t *sb, bool write_it)
{
	int fd = open(path, (write_it ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write_it ? pwrite(fd, sb, VC_SB_SIZE, 0) : pread(fd, sb, VC_SB_SIZE, 0);
	if (n != VC_SB_SIZE || (write_it && fdatasync(fd))) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* The policy version of the dumped metadata (set by vc_dump_meta). */
static uint8_t vc_policy_version[12];

/* Give the restored superblock at path the dumped policy version. */
static int vc_sb_fix_version(const char *path)
{
	uint8_t *sb;
	uint32_t csum;
	int r = -1;

	if (posix_memalign((void **)&sb, 4096, VC_SB_SIZE))
		return -1;
	if (vc_sb_io(path, sb, false) == 0) {
		memcpy(sb + VC_SB_POLICY_VERSION, vc_policy_version, sizeof(vc_policy_version));
		csum = vc_crc32c(sb + 4, VC_SB_SIZE - 4) ^ VC_SB_CSUM_XOR;
		sb[0] = (uint8_t)csum;
		sb[1] = (uint8_t)(csum >> 8);
		sb[2] = (uint8_t)(csum >> 16);
		sb[3] = (uint8_t)(csum >> 24);
		r = vc_sb_io(path, sb, true);
	}
	free(sb);
	return r;
}

/* cache_dump the metadata area in use, through a temporary view device. */
static int vc_dump_meta(const struct vc_layout *l, const char *xml)
{
	char view[VC_NAME_MAX + 32], path[PATH_MAX], vssd[32];
	struct vc_seg *segs;
	unsigned int maj, min;
	uint64_t bytes;
	size_t nsegs;
	int r;

	if (vc_blockdev_size(l->cache_dev, &bytes, &maj, &min))
		return -1;
	snprintf(vssd, sizeof(vssd), "%u:%u", maj, min);
	vc_dev_name(view, sizeof(view), l->name, "metaview", -1);
	if (vc_dm_exists(view))
		vc_dm_remove(view);
	if (vc_blocks_to_segs(l, l->pinned + (uint64_t)l->meta_slot * l->meta_blocks,
			      l->meta_blocks - l->hdr_blocks, &segs, &nsegs))
		return -1;
	r = vc_dm_create_linear(view, vssd, segs, nsegs);
	free(segs);
	if (r)
		return -1;
	snprintf(path, sizeof(path), "/dev/mapper/%s", view);
	{
		char *argv[] = { VC_CACHE_DUMP, path, "-o", (char *)xml, NULL };
		uint8_t *sb;

		r = posix_memalign((void **)&sb, 4096, VC_SB_SIZE) ? -1 : 0;
		if (r == 0) {
			r = vc_sb_io(path, sb, false);
			memcpy(vc_policy_version, sb + VC_SB_POLICY_VERSION,
			       sizeof(vc_policy_version));
			free(sb);
		}
		if (r == 0)
			r = vc_run(argv, NULL);
	}
	vc_dm_remove(view);
	if (r)
		vc_err("%s: cache_dump failed (status %d)", l->name, r);
	return r ? -1 : 0;
}

static int vc_restore_meta(const struct vc_layout *l, int slot, const char *xml)
{
	char dev[VC_NAME_MAX + 32], path[PATH_MAX];
	int r;

	vc_dev_name(dev, sizeof(dev), l->name, "meta", slot);
	snprintf(path, sizeof(path), "/dev/mapper/%s", dev);
	{
		char *argv[] = { VC_CACHE_RESTORE, "-q", "--metadata-version", "1",
				 "-i", (char *)xml, "-o", path, NULL };

		r = vc_run(argv, NULL);
	}
	if (r)
		vc_err("%s: cache_restore failed (status %d)", l->name, r);
	else if (vc_sb_fix_version(path)) {
		vc_err("%s: cannot set the policy version of the restored metadata",
		       l->name);
		r = -1;
	}
	return r ? -1 : 0;
}

static int vc_rank_cmp(const void *a, const void *b)
{
	const struct vc_slot_rank *x = a, *y = b;

	if ((x->mapped > 0) != (y->mapped > 0))
		return x->mapped > 0 ? 1 : -1;
	/*
	 * Clean before dirty: smq keeps clean and dirty blocks in two queues
	 * whose levels are each spread over 0..63, so a dirty (recently
	 * written, mostly hot) block's level says little against a clean
	 * one's; and a clean block costs no write-back.
	 */
	if ((x->dirty > 0) != (y->dirty > 0))
		return x->dirty > 0 ? 1 : -1;
	if (x->heat != y->heat)
		return x->heat < y->heat ? -1 : 1;
	return x->slot < y->slot ? 1 : -1;	/* higher slots first */
}

/* Rank the slots: the first ones in *out go first. */
static struct vc_slot_rank *vc_rank_slots(const struct vc_dump *d, uint64_t nslots,
					  uint64_t k)
{
	struct vc_slot_rank *r = calloc(nslots, sizeof(*r));
	uint64_t s, i;

	if (!r)
		return NULL;
	for (s = 0; s < nslots; s++) {
		r[s].slot = s;
		for (i = 0; i < k && s * k + i < d->ncb; i++) {
			const struct vc_cb *cb = &d->cb[s * k + i];

			if (!cb->mapped)
				continue;
			r[s].mapped++;
			r[s].heat += cb->level + 1;
			r[s].dirty += cb->dirty;
		}
	}
	qsort(r, nslots, sizeof(*r), vc_rank_cmp);
	return r;
}

static int vc_u32_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * The kept-hot fraction: of the H hottest mapped cache blocks (H = what
 * the smaller cache can hold, at most all mapped ones), how many stay.
 * Blocks at the threshold level count as hot up to H.
 */
static double vc_kept_hot(const struct vc_dump *d, const bool *gone_slot,
			  uint64_t k, uint64_t new_cbs)
{
	uint64_t c, n = 0, h, above = 0, at = 0, kept_above = 0, kept_at = 0;
	uint32_t *lv = malloc((d->ncb ? d->ncb : 1) * sizeof(*lv)), thr;

	if (!lv)
		return -1;
	for (c = 0; c < d->ncb; c++)
		if (d->cb[c].mapped)
			lv[n++] = d->cb[c].level;
	if (n == 0) {
		free(lv);
		return 1.0;
	}
	qsort(lv, n, sizeof(*lv), vc_u32_desc);
	h = n < new_cbs ? n : new_cbs;
	if (h == 0) {
		free(lv);
		return 0.0;
	}
	thr = lv[h - 1];
	free(lv);
	for (c = 0; c < d->ncb; c++) {
		bool kept;

		if (!d->cb[c].mapped || d->cb[c].level < thr)
			continue;
		kept = !gone_slot[c / k];
		if (d->cb[c].level > thr) {
			above++;
			kept_above += kept;
		} else {
			at++;
			kept_at += kept;
		}
	}
	if (kept_at > h - above)
		kept_at = h - above;
	return (double)(kept_above + kept_at) / (double)h;
}

/*
 * Copy the dirty cache blocks of the given-up slots to the origin and
 * make them durable there; *bytes counts what was written.
 */
static int vc_write_back(const struct vc_layout *l, const struct vc_dump *d,
			 const bool *gone_slot, uint64_t k, uint64_t *bytes)
{
	char cdata[VC_NAME_MAX + 32], path[PATH_MAX];
	uint64_t c, obytes = l->origin_sectors * VC_SECTOR, len;
	int in = -1, out = -1, r = -1;
	void *buf = NULL;

	*bytes = 0;
	vc_dev_name(cdata, sizeof(cdata), l->name, "cdata", (long)l->gen);
	snprintf(path, sizeof(path), "/dev/mapper/%s", cdata);
	in = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	out = open(l->origin, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (in < 0 || out < 0 || posix_memalign(&buf, 4096, l->cblock))
		goto out;
	for (c = 0; c < d->ncb; c++) {
		if (!d->cb[c].mapped || !d->cb[c].dirty || !gone_slot[c / k])
			continue;
		if (d->cb[c].oblock * l->cblock >= obytes)
			continue;
		len = obytes - d->cb[c].oblock * l->cblock;
		if (len > l->cblock)
			len = l->cblock;
		if (pread(in, buf, l->cblock, (off_t)(c * l->cblock)) != (ssize_t)l->cblock ||
		    pwrite(out, buf, len, (off_t)(d->cb[c].oblock * l->cblock)) != (ssize_t)len)
			goto out;
		*bytes += len;
	}
	r = fdatasync(out);
out:
	free(buf);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

/* Add the counters of generation gen's cache to l->base. */
static void vc_bank_stats(struct vc_layout *l)
{
	struct vc_status st;

	if (vc_cache_status(l, &st))
		return;
	l->base.read_hits += st.stats.read_hits;
	l->base.read_misses += st.stats.read_misses;
	l->base.write_hits += st.stats.write_hits;
	l->base.write_misses += st.stats.write_misses;
	l->base.promotions += st.stats.promotions;
	l->base.demotions += st.stats.demotions;
}

/* Undo: resume the old cache and NAME. */
static void vc_resume_old(const struct vc_layout *l)
{
	char cache[VC_NAME_MAX + 32];

	vc_dev_name(cache, sizeof(cache), l->name, "cache", (long)l->gen);
	vc_dm_resume(cache);
	vc_dm_resume(l->name);
}

/* Steps 3-6 with the cache suspended; returns the new slot order. */
static int vc_shrink_suspended(struct vc_layout *l, uint64_t want,
			       uint64_t **given, uint64_t *ngiven)
{
	char xml[PATH_MAX], xml2[PATH_MAX], cache[VC_NAME_MAX + 32];
	uint64_t k = l->vssd_block / l->cblock, s, j, nkept, *kept = NULL, *gv = NULL;
	uint64_t *newslots = NULL, wb = 0, dirty_gone = 0, c;
	struct vc_slot_rank *rank = NULL;
	struct vc_dump d;
	bool *gone = NULL;
	int other = !l->meta_slot, r = -1;

	snprintf(xml, sizeof(xml), VC_STATE_DIR "/%s.dump.xml", l->name);
	snprintf(xml2, sizeof(xml2), VC_STATE_DIR "/%s.new.xml", l->name);
	if (vc_dump_meta(l, xml) || vc_dump_read(xml, &d))
		return -1;
	if (d.ncb != l->nslots * k) {
		vc_err("%s: the metadata has %" PRIu64 " cache blocks, the layout %"
		       PRIu64, l->name, d.ncb, l->nslots * k);
		goto out;
	}
	rank = vc_rank_slots(&d, l->nslots, k);
	gone = calloc(l->nslots, sizeof(*gone));
	kept = malloc(l->nslots * sizeof(*kept));
	newslots = malloc(l->nslots * sizeof(*newslots));
	gv = malloc(want * sizeof(*gv) + 1);
	if (!rank || !gone || !kept || !newslots || !gv)
		goto out;
	for (j = 0; j < want; j++)
		gone[rank[j].slot] = true;
	for (s = 0, nkept = 0; s < l->nslots; s++)
		if (!gone[s]) {
			kept[nkept] = s;
			newslots[nkept++] = l->slots[s];
		}
	for (c = 0; c < d.ncb; c++)
		if (d.cb[c].mapped && d.cb[c].dirty && gone[c / k])
			dirty_gone += l->cblock;
	l->kept_hot = vc_kept_hot(&d, gone, k, nkept * k);
	if (vc_write_back(l, &d, gone, k, &wb)) {
		vc_err("%s: writing back the given-up dirty blocks failed: %s",
		       l->name, strerror(errno));
		goto out;
	}
	if (vc_dump_write(xml2, &d, kept, nkept, k) || vc_restore_meta(l, other, xml2))
		goto out;
	if (vc_build_cache(l, other, l->gen + 1, newslots, nkept)) {
		vc_err("%s: cannot build the smaller cache: %s", l->name, vc_dm_last_error);
		goto out;
	}
	/* what the switch leads to, for vc_repair() if we die half-way */
	{
		struct vc_layout next = *l;

		next.slots = newslots;
		next.nslots = nkept;
		next.gen = l->gen + 1;
		next.meta_slot = other;
		next.resizes = l->resizes + 1;
		/* the new layout on the vSSD: both are consistent there now */
		if (vc_header_write(&next) || vc_layout_save_as(&next, ".next")) {
			l->hdr_seq = next.hdr_seq;
			vc_header_write(l);
			vc_drop_cache(l, l->gen + 1);
			goto out;
		}
		l->hdr_seq = next.hdr_seq;
	}
	if (vc_point_top(l, l->gen + 1, false) || vc_dm_resume(l->name)) {
		vc_layout_unlink(l->name, ".next");
		vc_header_write(l);	/* the old layout again */
		vc_err("%s: cannot switch to the smaller cache: %s", l->name,
		       vc_dm_last_error);
		vc_drop_cache(l, l->gen + 1);
		goto out;
	}
	/* the new cache serves I/O: retire the old one */
	vc_bank_stats(l);
	vc_dev_name(cache, sizeof(cache), l->name, "cache", (long)l->gen);
	vc_drop_cache(l, l->gen);
	for (s = 0, j = 0; s < l->nslots; s++)
		if (gone[s])
			gv[j++] = l->slots[s];
	memcpy(l->slots, newslots, nkept * sizeof(*newslots));
	l->nslots = nkept;
	l->gen++;
	l->meta_slot = other;
	l->resizes++;
	l->wb_bytes = wb;
	l->dirty_gone_bytes = dirty_gone;
	*given = gv;
	*ngiven = j;
	gv = NULL;
	r = 0;
out:
	unlink(xml);
	unlink(xml2);
	vc_dump_free(&d);
	free(rank);
	free(gone);
	free(kept);
	free(newslots);
	free(gv);
	return r;
}

int vc_shrink(struct vc_layout *l, uint64_t blocks, uint64_t **given,
	      uint64_t *ngiven)
{
	char cache[VC_NAME_MAX + 32];
	uint64_t want = blocks;

	*given = NULL;
	*ngiven = 0;
	if (want > l->nslots - 1)
		want = l->nslots - 1;	/* the cache keeps one slot */
	l->short_blocks = blocks - want;
	if (want == 0)
		return 0;
	vc_dev_name(cache, sizeof(cache), l->name, "cache", (long)l->gen);
	vc_dm_last_error[0] = '\0';
	if (vc_dm_suspend(l->name, true))
		return -1;
	if (vc_dm_suspend(cache, true)) {
		vc_dm_resume(l->name);
		return -1;
	}
	if (vc_shrink_suspended(l, want, given, ngiven)) {
		vc_resume_old(l);
		l->short_blocks = blocks;
		return -1;
	}
	return 0;
}

/* Append the plugged blocks the layout does not know as new slots. */
int vc_grow(struct vc_layout *l, const uint64_t *plugged, uint64_t nplugged)
{
	char cache[VC_NAME_MAX + 32], cdata[VC_NAME_MAX + 32], params[512], vssd[32];
	uint64_t i, j, *slots, n = l->nslots, bytes;
	struct vc_seg *segs;
	unsigned int maj, min;
	size_t nsegs;
	int r;

	slots = malloc((l->nslots + nplugged) * sizeof(*slots));
	if (!slots)
		return -1;
	memcpy(slots, l->slots, l->nslots * sizeof(*slots));
	for (i = 0; i < nplugged; i++) {
		bool known = false;

		for (j = 0; j < 2ULL * l->meta_blocks && !known; j++)
			known = l->pinned[j] == plugged[i];
		for (j = 0; j < l->nslots && !known; j++)
			known = l->slots[j] == plugged[i];
		if (!known)
			slots[n++] = plugged[i];
	}
	if (n == l->nslots) {
		free(slots);
		return 0;
	}
	if (vc_blockdev_size(l->cache_dev, &bytes, &maj, &min) ||
	    vc_blocks_to_segs(l, slots, n, &segs, &nsegs)) {
		free(slots);
		return -1;
	}
	snprintf(vssd, sizeof(vssd), "%u:%u", maj, min);
	vc_dev_name(cache, sizeof(cache), l->name, "cache", (long)l->gen);
	vc_dev_name(cdata, sizeof(cdata), l->name, "cdata", (long)l->gen);
	r = vc_dm_suspend(cache, true);
	if (r == 0) {
		r = vc_dm_suspend(cdata, true) || vc_dm_reload_linear(cdata, vssd, segs, nsegs) ||
		    vc_dm_resume(cdata) ||
		    vc_cache_params(l, l->meta_slot, l->gen, "smq", params, sizeof(params)) ||
		    vc_dm_reload(cache, l->origin_sectors, "cache", params);
		if (vc_dm_resume(cache))
			r = -1;
	}
	free(segs);
	if (r) {
		vc_err("%s: grow failed: %s", l->name, vc_dm_last_error);
		free(slots);
		return -1;
	}
	free(l->slots);
	l->slots = slots;
	l->nslots = n;
	l->resizes++;
	if (vc_header_write(l))
		vc_err("%s: cannot write the header: %s", l->name, strerror(errno));
	return 0;
}
