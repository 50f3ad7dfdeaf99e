// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl qmp COMMAND [ARGUMENTS-JSON]: run any QMP command through the
 * chosen transport and print its return value, for debugging (the same
 * role as "virsh qemu-monitor-command").
 */
#include <string.h>

#include "commands.h"
#include "opts.h"
#include "qmp.h"

struct qmp_args {
	const char *command;	/* QMP command name */
	json_t *arguments;	/* parsed arguments object, or NULL */
};

static const struct opt qmp_opts[] = {
	CMD_OPT_HELP,
	{ 0 }
};

static int qmp_parse(int argc, char **argv, void *p, struct verr *err)
{
	struct qmp_args *a = p;
	const char *text = NULL;
	json_error_t jerr;
	struct opts o;
	int id;

	opts_init(&o, argc - 1, argv + 1, qmp_opts, false);
	while ((id = command_opts_next(&o, err)) != OPTS_END) {
		switch (id) {
		case OPTS_ERROR:
			return -1;
		case OPTS_POSITIONAL:
			if (!a->command) {
				a->command = o.positional;
			} else if (!text) {
				text = o.positional;
			} else {
				verr_usage(err, "qmp: unexpected argument '%s'"
					   SEE_HELP, o.positional);
				return -1;
			}
			break;
		}
	}
	if (!a->command) {
		verr_usage(err, "usage: qmp COMMAND [ARGUMENTS-JSON]");
		return -1;
	}
	if (text) {
		a->arguments = json_loads(text, 0, &jerr);
		if (!json_is_object(a->arguments)) {
			verr_usage(err, "qmp: arguments must be a JSON object: %s",
				   a->arguments ? "got another JSON value" :
				   jerr.text);
			return -1;
		}
	}
	return 0;
}

static int qmp_run(struct transport *t, const void *p,
		   const struct global_opts *g, struct verr *err)
{
	const struct qmp_args *a = p;
	json_t *ret;
	int r;

	r = transport_execute(t, a->command, a->arguments, g->reply_timeout_ms,
			      &ret, err);
	json_decref(a->arguments);
	if (r != QMP_OK)
		return -1;
	print_json(ret);
	json_decref(ret);
	return 0;
}

const struct command cmd_qmp = {
	.name = "qmp",
	.args_size = sizeof(struct qmp_args),
	.parse = qmp_parse,
	.run = qmp_run,
};
