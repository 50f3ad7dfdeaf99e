/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: command-line option scanner.
 *
 * Like getopt_long, but an argument that looks like a negative number
 * ("-1G") is a positional argument, so that it reaches the size parser and
 * fails as a bad size rather than as an unknown option, and errors come
 * back as one message instead of being printed.
 */
#ifndef VSSD_OPTS_H
#define VSSD_OPTS_H

#include <stdbool.h>

#include "util.h"

struct opt {
	const char *name;	/* long name without "--" */
	char letter;		/* short name, or 0 */
	bool has_arg;		/* takes a value */
	int id;			/* returned by opts_next(); > 0 */
};

struct opts {
	int argc;			/* arguments to scan */
	char **argv;
	int next;			/* index of the next argument */
	const struct opt *table;	/* ends with a zeroed entry */
	bool stop_at_positional;	/* leave the rest for a subcommand */
	bool no_more_options;		/* "--" was seen */
	const char *arg;		/* value of the last option, or NULL */
	const char *positional;		/* the last positional argument */
};

void opts_init(struct opts *o, int argc, char **argv, const struct opt *table,
	       bool stop_at_positional);

/* Option id, OPTS_POSITIONAL, OPTS_END or OPTS_ERROR (err set, usage). */
#define OPTS_END	0
#define OPTS_POSITIONAL	(-1)
#define OPTS_ERROR	(-2)
int opts_next(struct opts *o, struct verr *err);

#endif /* VSSD_OPTS_H */
