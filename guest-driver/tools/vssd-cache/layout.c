// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: the state file /run/vssd-cache/NAME and the device-mapper
 * tables built from it (see vssd-cache.h for the stack of devices).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The state file is text, one "key value..." line each; it is replaced
 * atomically (write a temporary file, rename). NAME.lock serialises the
 * agent's resizes with the commands (flock).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vssd-cache.h"

extern char vc_dm_last_error[256];

static void vc_state_path(char *out, size_t size, const char *name,
			  const char *suffix)
{
	snprintf(out, size, VC_STATE_DIR "/%s%s", name, suffix);
}

/* Print "key n1 n2 ..." */
static void vc_put_list(FILE *f, const char *key, const uint64_t *v, uint64_t n)
{
	uint64_t i;

	fputs(key, f);
	for (i = 0; i < n; i++)
		fprintf(f, " %" PRIu64, v[i]);
	fputc('\n', f);
}

/*
 * Write l to NAME + suffix ("" is the state file, ".next" the layout a
 * resize is about to switch to), atomically.
 */
int vc_layout_save_as(const struct vc_layout *l, const char *suffix)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;

	mkdir(VC_STATE_DIR, 0700);
	vc_state_path(path, sizeof(path), l->name, suffix);
	vc_state_path(tmp, sizeof(tmp), l->name, ".tmp");
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	vc_layout_print(f, l);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	return rename(tmp, path);
}

/* The layout as "key value" lines (the state file, the on-vSSD header). */
void vc_layout_print(FILE *f, const struct vc_layout *l)
{
	const struct vc_stats *b = &l->base;

	fprintf(f, "name %s\ncache_dev %s\nvssd %s\norigin %s\n", l->name,
		l->cache_dev, l->vssd, l->origin);
	fprintf(f, "origin_sectors %" PRIu64 "\nvssd_block %" PRIu64
		"\ncblock %" PRIu64 "\nmode %s\nmeta_blocks %u\n",
		l->origin_sectors, l->vssd_block, l->cblock,
		l->writeback ? "writeback" : "writethrough", l->meta_blocks);
	vc_put_list(f, "pinned", l->pinned, 2ULL * l->meta_blocks);
	fprintf(f, "meta_slot %d\ngen %" PRIu64 "\n", l->meta_slot, l->gen);
	vc_put_list(f, "slots", l->slots, l->nslots);
	fprintf(f, "resizes %" PRIu64 "\nkept_hot %.6f\nwb_bytes %" PRIu64
		"\ndirty_gone_bytes %" PRIu64 "\nshort_blocks %" PRIu64
		"\nagent_pid %d\n", l->resizes, l->kept_hot, l->wb_bytes,
		l->dirty_gone_bytes, l->short_blocks, l->agent_pid);
	fprintf(f, "base %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %"
		PRIu64 " %" PRIu64 "\n", b->read_hits, b->read_misses,
		b->write_hits, b->write_misses, b->promotions, b->demotions);
	fprintf(f, "hdr_blocks %u\nhdr_seq %" PRIu64 "\nanswered_gen %" PRIu64 "\n",
		l->hdr_blocks, l->hdr_seq, l->answered_gen);
}

int vc_layout_save(const struct vc_layout *l)
{
	return vc_layout_save_as(l, "");
}

/* Parse the numbers after a key into a malloc'ed array. */
static int vc_get_list(const char *text, uint64_t **out, uint64_t *n)
{
	uint64_t cap = 64, cnt = 0, *v = malloc(cap * sizeof(*v));
	const char *p = text;
	char *end;

	if (!v)
		return -1;
	for (;;) {
		uint64_t x = strtoull(p, &end, 10);

		if (end == p)
			break;
		if (cnt == cap) {
			uint64_t *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
			cap *= 2;
		}
		v[cnt++] = x;
		p = end;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* Parse one "key value" line of the state file into l. */
static int vc_layout_line(struct vc_layout *l, char *line)
{
	char *val = strchr(line, ' ');
	uint64_t n;
	struct vc_stats *b = &l->base;

	if (!val)
		return 0;
	*val++ = '\0';
	if (!strcmp(line, "name"))
		snprintf(l->name, sizeof(l->name), "%s", val);
	else if (!strcmp(line, "cache_dev"))
		snprintf(l->cache_dev, sizeof(l->cache_dev), "%s", val);
	else if (!strcmp(line, "vssd"))
		snprintf(l->vssd, sizeof(l->vssd), "%s", val);
	else if (!strcmp(line, "origin"))
		snprintf(l->origin, sizeof(l->origin), "%s", val);
	else if (!strcmp(line, "origin_sectors"))
		l->origin_sectors = strtoull(val, NULL, 10);
	else if (!strcmp(line, "vssd_block"))
		l->vssd_block = strtoull(val, NULL, 10);
	else if (!strcmp(line, "cblock"))
		l->cblock = strtoull(val, NULL, 10);
	else if (!strcmp(line, "mode"))
		l->writeback = !strcmp(val, "writeback");
	else if (!strcmp(line, "answered_gen"))
		l->answered_gen = strtoull(val, NULL, 10);
	else if (!strcmp(line, "hdr_seq"))
		l->hdr_seq = strtoull(val, NULL, 10);
	else if (!strcmp(line, "hdr_blocks"))
		l->hdr_blocks = (uint32_t)strtoul(val, NULL, 10);
	else if (!strcmp(line, "meta_blocks"))
		l->meta_blocks = (uint32_t)strtoul(val, NULL, 10);
	else if (!strcmp(line, "pinned"))
		return vc_get_list(val, &l->pinned, &n);
	else if (!strcmp(line, "meta_slot"))
		l->meta_slot = atoi(val);
	else if (!strcmp(line, "gen"))
		l->gen = strtoull(val, NULL, 10);
	else if (!strcmp(line, "slots"))
		return vc_get_list(val, &l->slots, &l->nslots);
	else if (!strcmp(line, "resizes"))
		l->resizes = strtoull(val, NULL, 10);
	else if (!strcmp(line, "kept_hot"))
		l->kept_hot = strtod(val, NULL);
	else if (!strcmp(line, "wb_bytes"))
		l->wb_bytes = strtoull(val, NULL, 10);
	else if (!strcmp(line, "dirty_gone_bytes"))
		l->dirty_gone_bytes = strtoull(val, NULL, 10);
	else if (!strcmp(line, "short_blocks"))
		l->short_blocks = strtoull(val, NULL, 10);
	else if (!strcmp(line, "agent_pid"))
		l->agent_pid = atoi(val);
	else if (!strcmp(line, "base"))
		sscanf(val, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %"
		       SCNu64 " %" SCNu64, &b->read_hits, &b->read_misses,
		       &b->write_hits, &b->write_misses, &b->promotions,
		       &b->demotions);
	return 0;
}

/* Load NAME + suffix: 0, or -1 with errno ENOENT if there is none. */
int vc_layout_load_from(const char *name, const char *suffix, struct vc_layout *l)
{
	char path[PATH_MAX];
	FILE *f;

	vc_state_path(path, sizeof(path), name, suffix);
	f = fopen(path, "r");
	if (!f) {
		memset(l, 0, sizeof(*l));
		return -1;
	}
	return vc_layout_parse(f, l);
}

/* Parse layout lines from f (closed here): 0, or -1 with errno. */
int vc_layout_parse(FILE *f, struct vc_layout *l)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;

	memset(l, 0, sizeof(*l));
	l->kept_hot = -1;
	while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		r = vc_layout_line(l, line);
	}
	free(line);
	fclose(f);
	if (r == 0 && (!l->vssd_block || !l->cblock || !l->pinned || !l->slots)) {
		errno = EINVAL;
		r = -1;
	}
	if (r)
		vc_layout_free(l);
	return r;
}

/* Load NAME's state file: 0, or -1 with errno ENOENT if there is none. */
int vc_layout_load(const char *name, struct vc_layout *l)
{
	return vc_layout_load_from(name, "", l);
}

/* Remove NAME + suffix. */
void vc_layout_unlink(const char *name, const char *suffix)
{
	char path[PATH_MAX];

	vc_state_path(path, sizeof(path), name, suffix);
	unlink(path);
}

void vc_layout_free(struct vc_layout *l)
{
	free(l->pinned);
	free(l->slots);
	l->pinned = NULL;
	l->slots = NULL;
}

/* Take NAME's lock (wait: block until free): the fd, or -1. */
int vc_lock(const char *name, bool wait)
{
	char path[PATH_MAX];
	int fd;

	mkdir(VC_STATE_DIR, 0700);
	vc_state_path(path, sizeof(path), name, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB)) {
		close(fd);
		return -1;
	}
	return fd;
}

void vc_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* "NAME-part" with n < 0, "NAME-metaN" for part meta, else "NAME-part-N". */
void vc_dev_name(char *out, size_t size, const char *name, const char *part,
		 long n)
{
	if (n < 0)
		snprintf(out, size, "%s-%s", name, part);
	else if (!strcmp(part, "meta"))
		snprintf(out, size, "%s-meta%ld", name, n);
	else
		snprintf(out, size, "%s-%s-%ld", name, part, n);
}

/* vSSD blocks, in this order, as sector segments (neighbours merged). */
int vc_blocks_to_segs(const struct vc_layout *l, const uint64_t *blocks,
		      uint64_t n, struct vc_seg **segs, size_t *nsegs)
{
	uint64_t bs = l->vssd_block / VC_SECTOR, i;
	struct vc_seg *s = calloc(n ? n : 1, sizeof(*s));
	size_t k = 0;

	if (!s)
		return -1;
	for (i = 0; i < n; i++) {
		if (k && s[k - 1].start + s[k - 1].len == blocks[i] * bs) {
			s[k - 1].len += bs;
			continue;
		}
		s[k].start = blocks[i] * bs;
		s[k].len = bs;
		k++;
	}
	*segs = s;
	*nsegs = k;
	return 0;
}

/* "major:minor" of the vSSD. */
static int vc_vssd_devno(const struct vc_layout *l, char *out, size_t size)
{
	unsigned int maj, min;
	uint64_t bytes;

	if (vc_blockdev_size(l->cache_dev, &bytes, &maj, &min))
		return -1;
	snprintf(out, size, "%u:%u", maj, min);
	return 0;
}

/* The dm-cache table's parameters for generation gen. */
int vc_cache_params(const struct vc_layout *l, int meta_slot, uint64_t gen,
		    const char *policy, char *out, size_t size)
{
	char dev[VC_NAME_MAX + 32], meta[32], cdata[32], origin[32];
	unsigned int maj, min;
	uint64_t bytes;

	vc_dev_name(dev, sizeof(dev), l->name, "meta", meta_slot);
	if (vc_dm_devno(dev, meta, sizeof(meta)))
		return -1;
	vc_dev_name(dev, sizeof(dev), l->name, "cdata", (long)gen);
	if (vc_dm_devno(dev, cdata, sizeof(cdata)))
		return -1;
	if (vc_blockdev_size(l->origin, &bytes, &maj, &min))
		return -1;
	snprintf(origin, sizeof(origin), "%u:%u", maj, min);
	snprintf(out, size, "%s %s %s %" PRIu64 " 1 %s %s 0", meta, cdata, origin,
		 l->cblock / VC_SECTOR, l->writeback ? "writeback" : "writethrough",
		 policy);
	return 0;
}

/*
 * Parse dm-cache's status: "<md bs> <used>/<total> <cbs> <used>/<total>
 * <rh> <rm> <wh> <wm> <demotions> <promotions> <dirty> <#features> ...
 * <#core> ... <policy> <#policy args> ... <rw|ro> <needs_check|->".
 */
int vc_cache_status(const struct vc_layout *l, struct vc_status *st)
{
	char dev[VC_NAME_MAX + 32], buf[4096], *tok, *save;
	uint64_t md_bs, md_used, md_total, cbs;
	struct vc_stats *s = &st->stats;
	int n, skip, i;

	memset(st, 0, sizeof(*st));
	vc_dev_name(dev, sizeof(dev), l->name, "cache", (long)l->gen);
	if (vc_dm_status(dev, buf, sizeof(buf)))
		return -1;
	if (!strncmp(buf, "Fail", 4) || !strncmp(buf, "Error", 5)) {
		st->failed = true;
		return 0;
	}
	n = sscanf(buf, "%" SCNu64 " %" SCNu64 "/%" SCNu64 " %" SCNu64 " %"
		   SCNu64 "/%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %"
		   SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &md_bs, &md_used,
		   &md_total, &cbs, &st->used_cblocks, &st->total_cblocks,
		   &s->read_hits, &s->read_misses, &s->write_hits,
		   &s->write_misses, &s->demotions, &s->promotions, &st->dirty);
	if (n != 13) {
		errno = EPROTO;
		return -1;
	}
	/* skip 13 numbers, the features and core args, then the policy */
	tok = strtok_r(buf, " ", &save);
	for (i = 1; tok && i < 13; i++)
		tok = strtok_r(NULL, " ", &save);
	for (i = 0; tok && i < 2; i++) {	/* features, core args */
		tok = strtok_r(NULL, " ", &save);
		skip = tok ? atoi(tok) : 0;
		while (tok && skip-- > 0)
			tok = strtok_r(NULL, " ", &save);
	}
	tok = tok ? strtok_r(NULL, " ", &save) : NULL;
	if (tok)
		snprintf(st->policy, sizeof(st->policy), "%s", tok);
	if (strstr(buf + (tok ? tok - buf : 0), " ro "))
		st->failed = true;
	return 0;
}

/*
 * Make NAME-cdata-gen (the slots' vSSD blocks, in slot order) and
 * NAME-cache-gen over it and metadata area meta_slot. Undoes itself on
 * failure.
 */
int vc_build_cache(const struct vc_layout *l, int meta_slot, uint64_t gen,
		   const uint64_t *slots, uint64_t nslots)
{
	char cdata[VC_NAME_MAX + 32], cache[VC_NAME_MAX + 32], vssd[32];
	char params[512], uuid[VC_NAME_MAX + 48];
	struct vc_seg *segs;
	size_t nsegs;
	int r;

	if (vc_vssd_devno(l, vssd, sizeof(vssd)) ||
	    vc_blocks_to_segs(l, slots, nslots, &segs, &nsegs))
		return -1;
	vc_dev_name(cdata, sizeof(cdata), l->name, "cdata", (long)gen);
	vc_dev_name(cache, sizeof(cache), l->name, "cache", (long)gen);
	r = vc_dm_create_linear(cdata, vssd, segs, nsegs);
	free(segs);
	if (r)
		return -1;
	snprintf(uuid, sizeof(uuid), "VSSDCACHE-%s", cache);
	if (vc_cache_params(l, meta_slot, gen, "smq", params, sizeof(params)) ||
	    vc_dm_create(cache, uuid, l->origin_sectors, "cache", params)) {
		char saved[256];

		memcpy(saved, vc_dm_last_error, sizeof(saved));
		vc_dm_remove(cdata);
		memcpy(vc_dm_last_error, saved, sizeof(saved));
		return -1;
	}
	return 0;
}

/* Remove NAME-cache-gen and NAME-cdata-gen (whichever exist). */
void vc_drop_cache(const struct vc_layout *l, uint64_t gen)
{
	char dev[VC_NAME_MAX + 32];

	vc_dev_name(dev, sizeof(dev), l->name, "cache", (long)gen);
	if (vc_dm_exists(dev))
		vc_dm_remove(dev);
	vc_dev_name(dev, sizeof(dev), l->name, "cdata", (long)gen);
	if (vc_dm_exists(dev))
		vc_dm_remove(dev);
}

/*
 * NAME as a linear map over NAME-cache-gen: created (create), or loaded
 * as its next table (the caller resumes it).
 */
int vc_point_top(const struct vc_layout *l, uint64_t gen, bool create)
{
	char cache[VC_NAME_MAX + 32], devno[32], params[64], uuid[VC_NAME_MAX + 32];

	vc_dev_name(cache, sizeof(cache), l->name, "cache", (long)gen);
	if (vc_dm_devno(cache, devno, sizeof(devno)))
		return -1;
	snprintf(params, sizeof(params), "%s 0", devno);
	if (!create)
		return vc_dm_reload(l->name, l->origin_sectors, "linear", params);
	snprintf(uuid, sizeof(uuid), "VSSDCACHE-%s", l->name);
	return vc_dm_create(l->name, uuid, l->origin_sectors, "linear", params);
}
