// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: helpers shared by the subcommands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

int command_opts_next(struct opts *o, struct verr *err)
{
	int id = opts_next(o, err);

	if (id == OPT_CMD_HELP) {
		print_help();
		exit(0);
	}
	return id;
}

bool key_is_size(const char *key)
{
	size_t len = strlen(key);

	return len >= 4 && !strcmp(key + len - 4, "size");
}

void print_json(json_t *value)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY);

	printf("%s\n", text ?: "null");
	free(text);
}
