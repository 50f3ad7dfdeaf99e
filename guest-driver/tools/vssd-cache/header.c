// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: the layout on the vSSD itself, so that a cache can be
 * attached again after a reboot or a restart of QEMU (the state file in
 * /run does not survive them).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Each metadata area ends with hdr_blocks vSSD blocks that dm-cache does
 * not see: a header copy. Header seq goes to copy seq % 2, so a write torn
 * by a crash leaves the other copy, one step older, intact. A copy starts
 * with one line
 *
 *   VSSD-CACHE-HDR 1 seq=N len=L sum=S blocks=B1,B2,...
 *
 * (the vSSD blocks of this copy, in order; L bytes of layout text follow,
 * S is their FNV-1a 64 sum), then the state file's lines. A shrink
 * writes the new layout's header after the new metadata is restored and
 * before NAME switches to it (I/O is suspended: both layouts are
 * consistent on the vSSD), a grow after the cache took the new blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vssd-cache.h"

#define VC_HDR_MAGIC	"VSSD-CACHE-HDR 1 "
#define VC_HDR_LINE	4096	/* the first line fits in the first 4 KiB */

static uint64_t vc_fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The vSSD blocks of header copy c. */
static const uint64_t *vc_hdr_blocks(const struct vc_layout *l, int c)
{
	return l->pinned + (uint64_t)c * l->meta_blocks + l->meta_blocks - l->hdr_blocks;
}

/* Write the next header (l->hdr_seq + 1) and make it durable. */
int vc_header_write(struct vc_layout *l)
{
	uint64_t seq = l->hdr_seq + 1, size = (uint64_t)l->hdr_blocks * l->vssd_block, i;
	char *text = NULL, *buf = NULL, first[VC_HDR_LINE];
	size_t tlen = 0;
	const uint64_t *blocks;
	int fd = -1, r = -1, n;
	FILE *f;

	l->hdr_seq = seq;
	f = open_memstream(&text, &tlen);
	if (!f)
		goto out;
	vc_layout_print(f, l);
	fclose(f);
	blocks = vc_hdr_blocks(l, (int)(seq % 2));
	n = snprintf(first, sizeof(first), VC_HDR_MAGIC "seq=%" PRIu64 " len=%zu sum=%016"
		     PRIx64 " blocks=", seq, tlen, vc_fnv(text, tlen));
	for (i = 0; i < l->hdr_blocks && n < (int)sizeof(first) - 32; i++)
		n += snprintf(first + n, sizeof(first) - n, "%s%" PRIu64, i ? "," : "",
			      blocks[i]);
	n += snprintf(first + n, sizeof(first) - n, "\n");
	if ((uint64_t)n + tlen > size || posix_memalign((void **)&buf, 4096, size)) {
		errno = ENOSPC;
		goto out;
	}
	memset(buf, 0, size);
	memcpy(buf, first, n);
	memcpy(buf + n, text, tlen);
	fd = open(l->cache_dev, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		goto out;
	for (i = 0; i < l->hdr_blocks; i++)
		if (pwrite(fd, buf + i * l->vssd_block, l->vssd_block,
			   (off_t)(blocks[i] * l->vssd_block)) != (ssize_t)l->vssd_block)
			goto out;
	r = fdatasync(fd);
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(buf);
	return r;
}

/* Read and check the copy whose first block is at byte off: its layout. */
static int vc_header_read_at(int fd, uint64_t bs, const char *first,
			     struct vc_layout *l)
{
	unsigned long long seq, sum;
	size_t len, flen, i;
	const char *p;
	char *buf = NULL, *text;
	uint64_t b[64], nb = 0;
	FILE *f;
	int r = -1;

	if (sscanf(first, VC_HDR_MAGIC "seq=%llu len=%zu sum=%llx", &seq, &len, &sum) != 3)
		return -1;
	p = strstr(first, " blocks=");
	if (!p || !strchr(first, '\n'))
		return -1;
	flen = (size_t)(strchr(first, '\n') - first) + 1;
	for (p += 8; nb < 64 && *p >= '0' && *p <= '9'; p++) {
		b[nb++] = strtoull(p, (char **)&p, 10);
		if (*p != ',')
			break;
	}
	if (!nb || flen + len > nb * bs || posix_memalign((void **)&buf, 4096, nb * bs))
		return -1;
	for (i = 0; i < nb; i++)
		if (pread(fd, buf + i * bs, bs, (off_t)(b[i] * bs)) != (ssize_t)bs)
			goto out;
	text = buf + flen;
	if (memcmp(buf, first, flen) || vc_fnv(text, len) != sum)
		goto out;
	f = fmemopen(text, len, "r");
	if (f && vc_layout_parse(f, l) == 0) {
		l->hdr_seq = seq;
		r = 0;
	}
out:
	free(buf);
	return r;
}

/*
 * Look for NAME's newest valid header on the vSSD (its plugged blocks):
 * 0 with *l filled, or -1 (errno ENOENT when there is none); *other is
 * set when a header of another cache is there.
 */
int vc_header_find(const char *vssd, const char *dev, const char *name,
		   struct vc_layout *l, bool *other)
{
	uint64_t *plugged, n, i, bs;
	struct vc_layout cand;
	char *buf = NULL;
	bool found = false;
	int fd;

	*other = false;
	if (vc_vssd_block_size(vssd, &bs) || vc_vssd_plugged(vssd, &plugged, &n))
		return -1;
	fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, VC_HDR_LINE)) {
		free(plugged);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (pread(fd, buf, VC_HDR_LINE, (off_t)(plugged[i] * bs)) != VC_HDR_LINE ||
		    memcmp(buf, VC_HDR_MAGIC, strlen(VC_HDR_MAGIC)))
			continue;
		buf[VC_HDR_LINE - 1] = '\0';
		if (vc_header_read_at(fd, bs, buf, &cand))
			continue;
		if (strcmp(cand.name, name)) {
			*other = true;
			vc_layout_free(&cand);
			continue;
		}
		if (found && cand.hdr_seq <= l->hdr_seq) {
			vc_layout_free(&cand);
			continue;
		}
		if (found)
			vc_layout_free(l);
		*l = cand;
		found = true;
	}
	free(buf);
	free(plugged);
	close(fd);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

/* Wipe both header copies (remove: the vSSD holds no cache any more). */
int vc_header_erase(const struct vc_layout *l)
{
	void *zero;
	int fd, c, r = 0;

	if (posix_memalign(&zero, 4096, VC_HDR_LINE))
		return -1;
	memset(zero, 0, VC_HDR_LINE);
	fd = open(l->cache_dev, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		free(zero);
		return -1;
	}
	for (c = 0; c < 2; c++)
		if (pwrite(fd, zero, VC_HDR_LINE,
			   (off_t)(vc_hdr_blocks(l, c)[0] * l->vssd_block)) != VC_HDR_LINE)
			r = -1;
	if (fdatasync(fd))
		r = -1;
	close(fd);
	free(zero);
	return r;
}
