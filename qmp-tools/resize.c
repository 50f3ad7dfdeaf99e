// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl resize DEVICE SIZE [--region block|pmem] [--policy guest|host]
 *                [--wait] [--timeout S]
 *
 * Sends ssd-balloon.  With --wait, follows the resize until the region's
 * size equals the requested size and its status is idle: every
 * SSD_BALLOON_CHANGE event, and at the latest every POLL_MS, triggers a
 * query-ssd-balloon (events only wake us up; the query is the truth, so
 * the exact event layout does not matter and a lost event costs one poll).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "balloon.h"
#include "commands.h"
#include "opts.h"
#include "qmp.h"
#include "size.h"

#define POLL_MS			500
#define DEFAULT_WAIT_MS		(120 * 1000)
#define BAR_WIDTH		24

struct resize_args {
	const char *device;	/* device id */
	uint64_t size;		/* target size in bytes */
	const char *region;	/* "block"/"pmem", or NULL for QEMU's default */
	const char *policy;	/* "guest"/"host", or NULL for QEMU's default */
	bool wait;		/* follow until done */
	int timeout_ms;		/* --timeout, or 0 */
};

enum { OPT_REGION = 1, OPT_POLICY, OPT_WAIT, OPT_TIMEOUT };

static const struct opt resize_opts[] = {
	{ "region", 'r', true, OPT_REGION },
	{ "policy", 'p', true, OPT_POLICY },
	{ "wait", 'w', false, OPT_WAIT },
	{ "timeout", 't', true, OPT_TIMEOUT },
	CMD_OPT_HELP,
	{ 0 }
};

static int resize_parse(int argc, char **argv, void *p, struct verr *err)
{
	struct resize_args *a = p;
	const char *size = NULL, *why;
	struct opts o;
	int id;

	opts_init(&o, argc - 1, argv + 1, resize_opts, false);
	while ((id = command_opts_next(&o, err)) != OPTS_END) {
		switch (id) {
		case OPTS_ERROR:
			return -1;
		case OPT_REGION:
			if (strcmp(o.arg, "block") && strcmp(o.arg, "pmem")) {
				verr_usage(err, "bad region '%s': use block or pmem",
					   o.arg);
				return -1;
			}
			a->region = o.arg;
			break;
		case OPT_POLICY:
			if (strcmp(o.arg, "guest") && strcmp(o.arg, "host")) {
				verr_usage(err, "bad policy '%s': use guest or host",
					   o.arg);
				return -1;
			}
			a->policy = o.arg;
			break;
		case OPT_WAIT:
			a->wait = true;
			break;
		case OPT_TIMEOUT:
			if (parse_seconds_opt("timeout", o.arg, &a->timeout_ms,
					      err))
				return -1;
			break;
		case OPTS_POSITIONAL:
			if (!a->device) {
				a->device = o.positional;
			} else if (!size) {
				size = o.positional;
			} else {
				verr_usage(err, "resize: unexpected argument '%s'"
					   SEE_HELP, o.positional);
				return -1;
			}
			break;
		}
	}
	if (!size) {
		verr_usage(err, "usage: resize DEVICE SIZE [--region block|pmem] "
			   "[--policy guest|host] [--wait] [--timeout S]");
		return -1;
	}
	if (size_parse(size, &a->size, &why)) {
		verr_usage(err, "bad size '%s': %s", size, why);
		return -1;
	}
	return 0;
}

/* ---- progress ---------------------------------------------------------- */

struct progress {
	bool tty;		/* draw a bar on stdout */
	bool drawn;		/* a bar is on the current line */
	uint64_t start;		/* size before the resize */
	uint64_t target;	/* requested size */
	const char *label;	/* "vssd0 block" */
};

static void progress_draw(struct progress *pg, uint64_t size,
			  const char *status)
{
	char bar[BAR_WIDTH + 1], s1[SIZE_BUF], s2[SIZE_BUF];
	uint64_t span = pg->start > pg->target ? pg->start - pg->target :
						 pg->target - pg->start;
	uint64_t done = size > pg->start ? size - pg->start : pg->start - size;
	int pct, fill;

	if (!pg->tty)
		return;
	/* Moving away from the target (a superseded request) counts as 0. */
	if ((pg->target < pg->start) != (size < pg->start))
		done = 0;
	pct = span ? (int)(done >= span ? 100 : done * 100 / span) : 100;
	fill = pct * BAR_WIDTH / 100;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '-', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	printf("\r%s [%s] %3d%%  %s of %s  %s\033[K", pg->label, bar, pct,
	       size_format(size, s1, sizeof(s1)),
	       size_format(pg->target, s2, sizeof(s2)), status ?: "");
	fflush(stdout);
	pg->drawn = true;
}

static void progress_end(struct progress *pg)
{
	if (pg->drawn) {
		printf("\r\033[K");
		fflush(stdout);
		pg->drawn = false;
	}
}

/* ---- the wait ---------------------------------------------------------- */

/* Read size, requested size and status of the region; 0 or -1. */
static int read_region(struct transport *t, const struct resize_args *a,
		       const char *region, int timeout_ms, uint64_t *size,
		       uint64_t *requested, char *status, size_t status_len,
		       struct verr *err)
{
	struct balloon_list list;
	const struct balloon_region *r;
	const char *st;

	if (balloon_query(t, a->device, timeout_ms, &list, err))
		return -1;
	r = balloon_find(&list, a->device, region);
	if (!r) {
		verr_set(err, "query-ssd-balloon lists no %s region for '%s'",
			 region, a->device);
		goto fail;
	}
	if (!balloon_u64(r->info, BF_SIZE, size) ||
	    !balloon_u64(r->info, BF_REQUESTED_SIZE, requested)) {
		verr_set(err, "query-ssd-balloon gives no size/requested-size "
			 "for %s %s", a->device, region);
		goto fail;
	}
	st = balloon_status(r->info);
	snprintf(status, status_len, "%s", st ?: "");
	balloon_list_free(&list);
	return 0;
fail:
	balloon_list_free(&list);
	return -1;
}

/*
 * Sleep until an SSD_BALLOON_CHANGE event or @ms pass.  Other events are
 * not ours to consume in a meaningful way; they are dropped.
 */
static int wait_for_change(struct transport *t, int ms, struct verr *err)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		json_t *ev;
		int r = transport_next_event(t, ms_left(deadline), &ev, err);
		bool ours;

		if (r <= 0)
			return r;
		ours = !strcmp(json_string_value(json_object_get(ev, "event")) ?: "",
			       "SSD_BALLOON_CHANGE");
		json_decref(ev);
		if (ours)
			return 1;
	}
}

static int follow_resize(struct transport *t, const struct resize_args *a,
			 const char *region, const struct global_opts *g,
			 uint64_t start, int64_t t0, struct verr *err)
{
	int wait_ms = a->timeout_ms ? a->timeout_ms : DEFAULT_WAIT_MS;
	int64_t deadline = t0 + wait_ms;
	char label[128], status[32], s1[SIZE_BUF], s2[SIZE_BUF], s3[SIZE_BUF];
	struct progress pg = {
		.tty = isatty(STDOUT_FILENO),
		.start = start,
		.target = a->size,
		.label = label,
	};
	uint64_t size = start, requested;

	snprintf(label, sizeof(label), "%s %s", a->device, region);
	for (;;) {
		if (vssd_interrupted) {
			verr_set(err, "interrupted: %s is %s of %s", label,
				 size_format(size, s1, sizeof(s1)),
				 size_format(a->size, s2, sizeof(s2)));
			goto fail;
		}
		if (read_region(t, a, region, g->reply_timeout_ms, &size,
				&requested, status, sizeof(status), err))
			goto fail;
		if (requested != a->size) {
			verr_set(err, "%s: another request replaced ours: "
				 "requested size is now %s", label,
				 size_format(requested, s1, sizeof(s1)));
			goto fail;
		}
		progress_draw(&pg, size, status);
		if (size == requested && (!*status || !strcmp(status, "idle")))
			break;
		if (ms_left(deadline) == 0) {
			verr_set(err, "timed out after %g s: %s is %s of %s (%s)",
				 wait_ms / 1000.0, label,
				 size_format(size, s1, sizeof(s1)),
				 size_format(requested, s2, sizeof(s2)), status);
			goto fail;
		}
		if (wait_for_change(t, ms_left(deadline) < POLL_MS ?
				    ms_left(deadline) : POLL_MS, err) < 0)
			goto fail;
	}
	progress_end(&pg);
	printf("%s: %s -> %s in %.2f s\n", label,
	       size_format(start, s1, sizeof(s1)),
	       size_format(size, s3, sizeof(s3)), (now_ms() - t0) / 1000.0);
	fflush(stdout);
	return 0;
fail:
	if (pg.drawn) {
		printf("\n");
		fflush(stdout);
	}
	return -1;
}

static int resize_run(struct transport *t, const void *p,
		      const struct global_opts *g, struct verr *err)
{
	const struct resize_args *a = p;
	const char *region = a->region ? a->region : "block";
	uint64_t start = 0, requested;
	char status[32], s1[SIZE_BUF];
	json_t *args, *ret;
	int64_t t0;
	int r;

	/* The starting point of the progress bar, and an early check. */
	if (a->wait && read_region(t, a, region, g->reply_timeout_ms, &start,
				   &requested, status, sizeof(status), err))
		return -1;

	args = json_pack("{s:s, s:I}", "device", a->device, "size",
			 (json_int_t)a->size);
	if (args && a->region)
		json_object_set_new(args, "region", json_string(a->region));
	if (args && a->policy)
		json_object_set_new(args, "policy", json_string(a->policy));
	t0 = now_ms();
	r = balloon_execute(t, "ssd-balloon", args,
			    a->timeout_ms && !a->wait ? a->timeout_ms :
			    g->reply_timeout_ms, &ret, err);
	json_decref(args);
	if (r != QMP_OK)
		return -1;
	json_decref(ret);

	if (!a->wait) {
		printf("%s %s: resize to %s requested\n", a->device, region,
		       size_format(a->size, s1, sizeof(s1)));
		fflush(stdout);
		return 0;
	}
	return follow_resize(t, a, region, g, start, t0, err);
}

static bool resize_wants_events(const void *p)
{
	const struct resize_args *a = p;

	return a->wait;
}

const struct command cmd_resize = {
	.name = "resize",
	.args_size = sizeof(struct resize_args),
	.parse = resize_parse,
	.wants_events = resize_wants_events,
	.run = resize_run,
};
