// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: command-line option scanner.
 */
#include <ctype.h>
#include <string.h>

#include "opts.h"

void opts_init(struct opts *o, int argc, char **argv, const struct opt *table,
	       bool stop_at_positional)
{
	memset(o, 0, sizeof(*o));
	o->argc = argc;
	o->argv = argv;
	o->table = table;
	o->stop_at_positional = stop_at_positional;
}

static bool is_option(const char *a)
{
	return a[0] == '-' && a[1] && !isdigit((unsigned char)a[1]);
}

static const struct opt *find_long(const struct opts *o, const char *name,
				   size_t len)
{
	for (const struct opt *p = o->table; p->name; p++)
		if (strlen(p->name) == len && !strncmp(p->name, name, len))
			return p;
	return NULL;
}

static const struct opt *find_short(const struct opts *o, char c)
{
	for (const struct opt *p = o->table; p->name; p++)
		if (p->letter && p->letter == c)
			return p;
	return NULL;
}

int opts_next(struct opts *o, struct verr *err)
{
	const struct opt *p;
	const char *a, *eq;

	o->arg = NULL;
	o->positional = NULL;
	if (o->next >= o->argc)
		return OPTS_END;
	a = o->argv[o->next];
	if (o->no_more_options || !is_option(a)) {
		if (o->stop_at_positional)
			return OPTS_END;
		o->next++;
		o->positional = a;
		return OPTS_POSITIONAL;
	}
	o->next++;
	if (!strcmp(a, "--")) {
		o->no_more_options = true;
		return opts_next(o, err);
	}
	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		p = find_long(o, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!p) {
			verr_usage(err, "unknown option '%.*s' (see 'vssdctl --help')",
				   eq ? (int)(eq - a) : (int)strlen(a), a);
			return OPTS_ERROR;
		}
		if (eq && !p->has_arg) {
			verr_usage(err, "option '--%s' takes no value", p->name);
			return OPTS_ERROR;
		}
		if (eq)
			o->arg = eq + 1;
	} else {
		p = find_short(o, a[1]);
		if (!p) {
			verr_usage(err, "unknown option '-%c' (see 'vssdctl --help')", a[1]);
			return OPTS_ERROR;
		}
		if (a[2] && !p->has_arg) {
			verr_usage(err, "option '-%c' takes no value "
				   "(combine short options separately)", a[1]);
			return OPTS_ERROR;
		}
		if (a[2])
			o->arg = a + 2;
	}
	if (p->has_arg && !o->arg) {
		if (o->next >= o->argc) {
			verr_usage(err, "option '--%s' needs a value", p->name);
			return OPTS_ERROR;
		}
		o->arg = o->argv[o->next++];
	}
	return p->id;
}
