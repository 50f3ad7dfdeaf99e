// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: the vSSD's driver interface, /proc/vssd/DEV/
 * (guest-driver/README.md): status, map, pending, hints.
 *
 * Copyright (c) 2026 The vssd authors.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vssd-cache.h"

/*
 * The kernel name of the vSSD at dev ("/dev/vssd0" -> "vssd0"): 0, or -1
 * when dev is no vSSD (no /proc/vssd/NAME for it).
 */
int vc_vssd_name(const char *dev, char *name, size_t size)
{
	char real[PATH_MAX], path[PATH_MAX];
	const char *base;
	struct stat st;

	if (!realpath(dev, real))
		return -1;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (strncmp(base, "vssd", 4) || strlen(base) >= size) {
		errno = ENODEV;
		return -1;
	}
	if (snprintf(path, sizeof(path), "/proc/vssd/%.64s/status", base) < 0)
		return -1;
	if (stat(path, &st)) {
		errno = ENODEV;
		return -1;
	}
	strcpy(name, base);
	return 0;
}

/* The value of "key: value" in /proc/vssd/VSSD/status. */
static int vc_vssd_status_u64(const char *vssd, const char *key, uint64_t *v)
{
	char path[PATH_MAX], buf[8192], *p;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/vssd/%.31s/status", vssd);
	if (vc_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			*v = strtoull(p + klen + 1, NULL, 10);
			return 0;
		}
	}
	errno = ENOENT;
	return -1;
}

int vc_vssd_block_size(const char *vssd, uint64_t *bytes)
{
	return vc_vssd_status_u64(vssd, "block_size", bytes);
}

/*
 * The plugged blocks, ascending, from /proc/vssd/VSSD/map ("0-99 120"):
 * a malloc'ed array in *blocks (the caller frees it).
 */
int vc_vssd_plugged(const char *vssd, uint64_t **blocks, uint64_t *n)
{
	char path[PATH_MAX], *buf, *p, *end;
	uint64_t a, b, cap = 1024, cnt = 0, *v;
	size_t bufsize = 1 << 20;

	snprintf(path, sizeof(path), "/proc/vssd/%.31s/map", vssd);
	buf = malloc(bufsize);
	v = malloc(cap * sizeof(*v));
	if (!buf || !v || vc_read_file(path, buf, bufsize) < 0)
		goto fail;
	for (p = buf; *p;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		a = strtoull(p, &end, 10);
		if (end == p)
			goto fail;
		b = a;
		if (*end == '-')
			b = strtoull(end + 1, &end, 10);
		for (; a <= b; a++) {
			if (cnt == cap) {
				uint64_t *nv = realloc(v, 2 * cap * sizeof(*v));

				if (!nv)
					goto fail;
				v = nv;
				cap *= 2;
			}
			v[cnt++] = a;
		}
		p = end;
	}
	free(buf);
	*blocks = v;
	*n = cnt;
	return 0;
fail:
	free(buf);
	free(v);
	errno = errno ? errno : EINVAL;
	return -1;
}

/*
 * /proc/vssd/VSSD/pending: kind "none", "shrink" or "grow" (block
 * region), "pmem" (either, on the persistent-memory region) and the
 * blocks still to move.
 */
int vc_vssd_pending(const char *vssd, char *kind, size_t size, uint64_t *n)
{
	char path[PATH_MAX], buf[128], k[16] = "none";
	unsigned long long v = 0;
	int got;

	snprintf(path, sizeof(path), "/proc/vssd/%.31s/pending", vssd);
	if (vc_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	got = sscanf(buf, "%15s %llu", k, &v);
	if (got < 1)
		strcpy(k, "none");
	else if (strstr(buf, "pmem"))
		strcpy(k, "pmem");
	snprintf(kind, size, "%s", k);
	*n = v;
	return 0;
}

/*
 * Name the blocks to give back (in one write: it replaces the hint
 * list), then give the driver the go-ahead.
 */
/* The go-ahead for a resize the agent has nothing to do for. */
int vc_vssd_ready(const char *vssd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/vssd/%.31s/pending", vssd);
	return vc_write_file(path, "ready");
}

int vc_vssd_hint_and_ready(const char *vssd, const uint64_t *blocks, uint64_t n)
{
	char path[PATH_MAX], *text;
	size_t len = 0, cap = 32 * (n + 1);
	uint64_t i;
	int r = 0;

	text = malloc(cap);
	if (!text)
		return -1;
	text[0] = '\0';
	for (i = 0; i < n; i++)
		len += snprintf(text + len, cap - len, "%s%" PRIu64, i ? " " : "",
				blocks[i]);
	snprintf(path, sizeof(path), "/proc/vssd/%.31s/hints", vssd);
	r = vc_write_file(path, n ? text : "clear");
	free(text);
	if (r)
		return -1;
	snprintf(path, sizeof(path), "/proc/vssd/%.31s/pending", vssd);
	return vc_write_file(path, "ready");
}
