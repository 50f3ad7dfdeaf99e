// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: device-mapper through libdevmapper (no dmsetup).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Every function returns 0 or -1; a failure's message (the kernel's
 * reason, as libdevmapper logs it) is kept in vc_dm_last_error and
 * printed by the caller in its one error line. Device nodes under
 * /dev/mapper are made by libdevmapper itself when there is no udev
 * (DM_DISABLE_UDEV=1), else by udev; either way each call waits for them.
 */
#include <errno.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vssd-cache.h"

char vc_dm_last_error[256];

/* libdevmapper's log: keep the last error, print nothing. */
static void vc_dm_log(int level, const char *file, int line, int err,
		      const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)err;
	if ((level & 7) > 3)	/* _LOG_ERR is 3; warnings and debug: drop */
		return;
	va_start(ap, fmt);
	vsnprintf(vc_dm_last_error, sizeof(vc_dm_last_error), fmt, ap);
	va_end(ap);
}

void vc_dm_init(void)
{
	dm_log_with_errno_init(vc_dm_log);
	if (getenv("DM_DISABLE_UDEV"))
		dm_udev_set_sync_support(0);
}

/*
 * Run a task and destroy it. nodes: the task makes or removes a device
 * node (create, resume, remove), so wait for udev when udev runs.
 */
static int vc_dm_run_nodes(struct dm_task *dmt, bool nodes)
{
	uint32_t cookie = 0;
	int ok;

	if (!dmt)
		return -1;
	if (nodes && dm_udev_get_sync_support())
		dm_task_set_cookie(dmt, &cookie, 0);
	ok = dm_task_run(dmt);
	if (cookie)
		dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return ok ? 0 : -1;
}

static struct dm_task *vc_dm_task(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	if (dmt && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static int vc_dm_run(struct dm_task *dmt)
{
	return vc_dm_run_nodes(dmt, false);
}

bool vc_dm_exists(const char *name)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_INFO, name);
	struct dm_info info = { 0 };
	bool exists = false;

	if (!dmt)
		return false;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &info))
		exists = info.exists;
	dm_task_destroy(dmt);
	return exists;
}

/* How many openers device name has (-1 if it does not exist). */
int vc_dm_open_count(const char *name)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_INFO, name);
	struct dm_info info = { 0 };
	int n = -1;

	if (!dmt)
		return -1;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &info) && info.exists)
		n = info.open_count;
	dm_task_destroy(dmt);
	return n;
}

/* Is device name suspended? */
bool vc_dm_suspended(const char *name)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_INFO, name);
	struct dm_info info = { 0 };
	bool suspended = false;

	if (!dmt)
		return false;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &info) && info.exists)
		suspended = info.suspended;
	dm_task_destroy(dmt);
	return suspended;
}

/* "major:minor" of device name, for use in other tables. */
int vc_dm_devno(const char *name, char *out, size_t size)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_INFO, name);
	struct dm_info info = { 0 };
	int r = -1;

	if (!dmt)
		return -1;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &info) && info.exists) {
		snprintf(out, size, "%u:%u", info.major, info.minor);
		r = 0;
	}
	dm_task_destroy(dmt);
	return r;
}

/* A new device with one target; it is active when this returns. */
int vc_dm_create(const char *name, const char *uuid, uint64_t len,
		 const char *type, const char *params)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_CREATE, name);

	if (!dmt)
		return -1;
	if ((uuid && !dm_task_set_uuid(dmt, uuid)) ||
	    !dm_task_add_target(dmt, 0, len, type, params)) {
		dm_task_destroy(dmt);
		return -1;
	}
	return vc_dm_run_nodes(dmt, true);
}

/* Load a linear table of segs (on dev, "major:minor") into dmt. */
static int vc_dm_add_linear(struct dm_task *dmt, const char *dev,
			    const struct vc_seg *segs, size_t nsegs)
{
	char params[128];
	uint64_t at = 0;
	size_t i;

	for (i = 0; i < nsegs; i++) {
		snprintf(params, sizeof(params), "%s %" PRIu64, dev, segs[i].start);
		if (!dm_task_add_target(dmt, at, segs[i].len, "linear", params))
			return -1;
		at += segs[i].len;
	}
	return 0;
}

int vc_dm_create_linear(const char *name, const char *dev,
			const struct vc_seg *segs, size_t nsegs)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_CREATE, name);
	char uuid[VC_NAME_MAX + 32];

	if (!dmt)
		return -1;
	snprintf(uuid, sizeof(uuid), "VSSDCACHE-%s", name);
	if (!dm_task_set_uuid(dmt, uuid) || vc_dm_add_linear(dmt, dev, segs, nsegs)) {
		dm_task_destroy(dmt);
		return -1;
	}
	return vc_dm_run_nodes(dmt, true);
}

/* Load a new linear table (inactive until vc_dm_resume). */
int vc_dm_reload_linear(const char *name, const char *dev,
			const struct vc_seg *segs, size_t nsegs)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_RELOAD, name);

	if (!dmt)
		return -1;
	if (vc_dm_add_linear(dmt, dev, segs, nsegs)) {
		dm_task_destroy(dmt);
		return -1;
	}
	return vc_dm_run(dmt);
}

int vc_dm_reload(const char *name, uint64_t len, const char *type,
		 const char *params)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_RELOAD, name);

	if (!dmt)
		return -1;
	if (!dm_task_add_target(dmt, 0, len, type, params)) {
		dm_task_destroy(dmt);
		return -1;
	}
	return vc_dm_run(dmt);
}

/* Suspend; with flush, I/O in flight completes first (dm's default). */
int vc_dm_suspend(const char *name, bool flush)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_SUSPEND, name);

	if (!dmt)
		return -1;
	if (!flush && !dm_task_no_flush(dmt)) {
		dm_task_destroy(dmt);
		return -1;
	}
	return vc_dm_run(dmt);
}

/* Resume (activates a loaded table). */
int vc_dm_resume(const char *name)
{
	return vc_dm_run_nodes(vc_dm_task(DM_DEVICE_RESUME, name), true);
}

/* Remove a device (retried while something briefly holds it open). */
int vc_dm_remove(const char *name)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_REMOVE, name);

	if (!dmt)
		return -1;
	dm_task_retry_remove(dmt);
	return vc_dm_run_nodes(dmt, true);
}

/* The parameters of the first target of a STATUS or TABLE task. */
static int vc_dm_params(int type, const char *name, char *out, size_t size)
{
	struct dm_task *dmt = vc_dm_task(type, name);
	uint64_t start, len;
	char *ttype = NULL, *params = NULL;
	int r = -1;

	if (!dmt)
		return -1;
	if (dm_task_run(dmt)) {
		dm_get_next_target(dmt, NULL, &start, &len, &ttype, &params);
		if (params) {
			snprintf(out, size, "%s", params);
			r = 0;
		}
	}
	dm_task_destroy(dmt);
	return r;
}

int vc_dm_status(const char *name, char *out, size_t size)
{
	return vc_dm_params(DM_DEVICE_STATUS, name, out, size);
}

int vc_dm_table(const char *name, char *out, size_t size)
{
	return vc_dm_params(DM_DEVICE_TABLE, name, out, size);
}

/*
 * The blocks (of block_sectors sectors) a linear device maps, in order:
 * its table read back, as a malloc'ed array.
 */
int vc_dm_linear_blocks(const char *name, uint64_t block_sectors,
			uint64_t **blocks, uint64_t *n)
{
	struct dm_task *dmt = vc_dm_task(DM_DEVICE_TABLE, name);
	uint64_t start, len, cnt = 0, cap = 0, *v = NULL, i, off;
	char *ttype, *params, dev[64];
	void *next = NULL;
	int r = -1;

	if (!dmt)
		return -1;
	if (!dm_task_run(dmt))
		goto out;
	do {
		ttype = params = NULL;
		next = dm_get_next_target(dmt, next, &start, &len, &ttype, &params);
		if (!ttype || strcmp(ttype, "linear") ||
		    sscanf(params, "%63s %" SCNu64, dev, &off) != 2)
			goto out;
		for (i = 0; i < len / block_sectors; i++) {
			if (cnt == cap) {
				uint64_t *nv;

				cap = cap ? 2 * cap : 256;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv)
					goto out;
				v = nv;
			}
			v[cnt++] = off / block_sectors + i;
		}
	} while (next);
	*blocks = v;
	*n = cnt;
	v = NULL;
	r = 0;
out:
	free(v);
	dm_task_destroy(dmt);
	return r;
}
