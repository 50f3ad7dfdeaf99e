/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: the subcommands.  Each parses its own arguments before any
 * connection is made, so a usage error never waits on QEMU.
 */
#ifndef VSSD_COMMANDS_H
#define VSSD_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"
#include "transport.h"
#include "util.h"

/* Settings that every command shares. */
struct global_opts {
	const char *qmp_path;		/* --qmp SOCKET */
	const char *domain;		/* --domain NAME */
	const char *uri;		/* --connect URI (libvirt) */
	int reply_timeout_ms;		/* --reply-timeout, per QMP reply */
};

struct command {
	const char *name;		/* as typed on the command line */
	size_t args_size;		/* bytes of the command's argument struct */
	/* Parse argv[1..] (argv[0] is the command name); 0 or -1. */
	int (*parse)(int argc, char **argv, void *args, struct verr *err);
	/*
	 * Whether the transport must collect events from the start; NULL
	 * for a command that never reads events.
	 */
	bool (*wants_events)(const void *args);
	/* Run it; 0 or -1 with err set. */
	int (*run)(struct transport *t, const void *args,
		   const struct global_opts *g, struct verr *err);
};

extern const struct command cmd_status;
extern const struct command cmd_resize;
extern const struct command cmd_watch;
extern const struct command cmd_qmp;

/* The manual page printed by --help. */
void print_help(void);

/* A hint appended to usage errors. */
#define SEE_HELP " (see 'vssdctl --help')"

/* The --help entry that ends every command's option table. */
#define OPT_CMD_HELP	100
#define CMD_OPT_HELP	{ "help", 'h', false, OPT_CMD_HELP }

/* opts_next() for a command's options: --help prints the manual, exits 0. */
int command_opts_next(struct opts *o, struct verr *err);

/* Whether a JSON key names a size in bytes ("size", "max-size", ...). */
bool key_is_size(const char *key);

/* Print a JSON value indented, and a newline. */
void print_json(json_t *value);

/* Format an event as one human-readable line (no newline); malloc'd. */
char *format_event(json_t *event);

#endif /* VSSD_COMMANDS_H */
