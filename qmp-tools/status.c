// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl status [DEVICE] [--json]: one table row per device and region.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balloon.h"
#include "commands.h"
#include "opts.h"
#include "size.h"

struct status_args {
	const char *device;	/* only this device, or NULL for all */
	bool json;		/* print query-ssd-balloon's reply as is */
};

enum { OPT_JSON = 1 };

static const struct opt status_opts[] = {
	{ "json", 'j', false, OPT_JSON },
	CMD_OPT_HELP,
	{ 0 }
};

static int status_parse(int argc, char **argv, void *p, struct verr *err)
{
	struct status_args *a = p;
	struct opts o;
	int id;

	opts_init(&o, argc - 1, argv + 1, status_opts, false);
	while ((id = command_opts_next(&o, err)) != OPTS_END) {
		switch (id) {
		case OPTS_ERROR:
			return -1;
		case OPT_JSON:
			a->json = true;
			break;
		case OPTS_POSITIONAL:
			if (a->device) {
				verr_usage(err, "status takes at most one DEVICE"
					   SEE_HELP);
				return -1;
			}
			a->device = o.positional;
			break;
		}
	}
	return 0;
}

/* ---- a small text table ------------------------------------------------ */

#define MAX_COLS 32

struct table {
	int ncols;			/* columns in use */
	const char *head[MAX_COLS];	/* column titles */
	bool right[MAX_COLS];		/* right-align (numbers) */
	size_t width[MAX_COLS];		/* widest cell so far */
	char **cells;			/* nrows * MAX_COLS, malloc'd strings */
	size_t nrows;
};

static int table_col(struct table *t, const char *head, bool right)
{
	for (int i = 0; i < t->ncols; i++)
		if (!strcmp(t->head[i], head))
			return i;
	if (t->ncols == MAX_COLS)
		return -1;
	t->head[t->ncols] = head;
	t->right[t->ncols] = right;
	t->width[t->ncols] = strlen(head);
	return t->ncols++;
}

static char **table_row(struct table *t)
{
	char **cells = realloc(t->cells, (t->nrows + 1) * MAX_COLS *
				       sizeof(*cells));

	if (!cells)
		return NULL;
	t->cells = cells;
	cells += t->nrows++ * MAX_COLS;
	memset(cells, 0, MAX_COLS * sizeof(*cells));
	return cells;
}

static void table_set(struct table *t, char **row, int col, const char *text)
{
	if (col < 0 || row[col])
		return;
	row[col] = strdup(text);
	if (row[col] && strlen(text) > t->width[col])
		t->width[col] = strlen(text);
}

static void table_print(struct table *t)
{
	for (size_t r = 0; r <= t->nrows; r++) {
		char **row = r ? t->cells + (r - 1) * MAX_COLS : NULL;

		for (int c = 0; c < t->ncols; c++) {
			const char *s = row ? (row[c] ?: "-") : t->head[c];
			int w = (int)t->width[c];

			if (c == t->ncols - 1 && !t->right[c])
				printf("%s\n", s);
			else
				printf(t->right[c] ? "%*s%s" : "%-*s%s", w, s,
				       c == t->ncols - 1 ? "\n" : "  ");
		}
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * MAX_COLS; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* ---- cells ------------------------------------------------------------- */

static void format_duration(uint64_t us, char *buf, size_t len)
{
	if (us < 10000)
		snprintf(buf, len, "%.1f ms", us / 1000.0);
	else if (us < 60 * 1000000ull)
		snprintf(buf, len, "%.2f s", us / 1e6);
	else
		snprintf(buf, len, "%llum%02llus",
			 (unsigned long long)(us / 60000000),
			 (unsigned long long)(us / 1000000 % 60));
}

/* Any JSON value as a cell; sizes with their suffix. */
static void format_value(const char *key, json_t *v, char *buf, size_t len)
{
	char *text;

	if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
	} else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		   key_is_size(key)) {
		size_format((uint64_t)json_integer_value(v), buf, len);
	} else if (json_is_true(v) || json_is_false(v)) {
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	} else {
		text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(buf, len, "%s", text ?: "?");
		free(text);
	}
}

/* The known fields, in column order, with their titles. */
static const struct {
	enum balloon_field field;
	const char *head;
	bool right;
} known_cols[] = {
	{ BF_BLOCK_SIZE, "BLOCK-SIZE", true },
	{ BF_MAX_SIZE, "MAX-SIZE", true },
	{ BF_SIZE, "SIZE", true },
	{ BF_REQUESTED_SIZE, "REQUESTED", true },
	{ BF_STATUS, "STATUS", false },
	{ BF_EVICTED, "EVICTED", true },
	{ BF_GRANTED, "GRANTED", true },
	{ BF_LAST_RESIZE, "LAST-RESIZE", true },
};

static bool key_is_known(json_t *info, const char *key)
{
	if (balloon_is_name_key(key))
		return true;
	for (int f = 0; f < BF_COUNT; f++) {
		const char *k = balloon_key(info, f);

		if (k && !strcmp(k, key))
			return true;
	}
	return false;
}

static void fill_row(struct table *t, char **row,
		     const struct balloon_region *r, char upper[][64],
		     int *nupper)
{
	char buf[256];
	const char *key;
	json_t *v;
	uint64_t us;

	table_set(t, row, table_col(t, "DEVICE", false), r->device);
	table_set(t, row, table_col(t, "REGION", false), r->region);
	for (size_t i = 0; i < sizeof(known_cols) / sizeof(known_cols[0]); i++) {
		enum balloon_field f = known_cols[i].field;

		key = balloon_key(r->info, f);
		if (!key)
			continue;
		if (f == BF_LAST_RESIZE) {
			/* 0: no resize finished yet. */
			if (!balloon_last_resize_us(r->info, &us) || !us)
				continue;
			format_duration(us, buf, sizeof(buf));
		} else {
			format_value(key, json_object_get(r->info, key), buf,
				     sizeof(buf));
		}
		table_set(t, row, table_col(t, known_cols[i].head,
					    known_cols[i].right), buf);
	}
	/* Fields this version does not know still get a column. */
	json_object_foreach(r->info, key, v) {
		int col;

		if (key_is_known(r->info, key) || json_is_object(v) ||
		    json_is_array(v) || *nupper == MAX_COLS)
			continue;
		snprintf(upper[*nupper], 64, "%s", key);
		for (char *c = upper[*nupper]; *c; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		col = table_col(t, upper[*nupper], json_is_number(v));
		if (col < 0)
			continue;
		if (t->head[col] == upper[*nupper])
			(*nupper)++;
		format_value(key, v, buf, sizeof(buf));
		table_set(t, row, col, buf);
	}
}

static int status_run(struct transport *tr, const void *p,
		      const struct global_opts *g, struct verr *err)
{
	const struct status_args *a = p;
	struct balloon_list list;
	struct table t = { 0 };
	char upper[MAX_COLS][64];
	int nupper = 0;

	if (balloon_query(tr, a->device, g->reply_timeout_ms, &list, err))
		return -1;
	if (a->json) {
		print_json(list.reply);
		balloon_list_free(&list);
		return 0;
	}
	if (!list.count) {
		if (a->device)
			verr_set(err, "no vssd device '%s' in %s", a->device,
				 tr->where);
		else
			verr_set(err, "no vssd devices in %s", tr->where);
		balloon_list_free(&list);
		return -1;
	}
	/* Fixed column order first, whichever row brings the field. */
	table_col(&t, "DEVICE", false);
	table_col(&t, "REGION", false);
	for (size_t c = 0; c < sizeof(known_cols) / sizeof(known_cols[0]); c++)
		for (size_t i = 0; i < list.count; i++)
			if (balloon_key(list.regions[i].info, known_cols[c].field)) {
				table_col(&t, known_cols[c].head,
					  known_cols[c].right);
				break;
			}
	for (size_t i = 0; i < list.count; i++) {
		char **row = table_row(&t);

		if (!row) {
			verr_set(err, "out of memory");
			table_free(&t);
			balloon_list_free(&list);
			return -1;
		}
		fill_row(&t, row, &list.regions[i], upper, &nupper);
	}
	table_print(&t);
	fflush(stdout);
	table_free(&t);
	balloon_list_free(&list);
	return 0;
}

const struct command cmd_status = {
	.name = "status",
	.args_size = sizeof(struct status_args),
	.parse = status_parse,
	.run = status_run,
};
