// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: resize and watch the elastic regions of a virtio-vssd device
 * from the host, through a QMP socket or libvirt.  See print_help().
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"

#define DEFAULT_REPLY_TIMEOUT_MS (10 * 1000)

static const struct command *const commands[] = {
	&cmd_status, &cmd_resize, &cmd_watch, &cmd_qmp, NULL
};

enum {
	OPT_QMP = 1, OPT_DOMAIN, OPT_CONNECT, OPT_REPLY_TIMEOUT,
	OPT_HELP, OPT_VERSION
};

static const struct opt global_opts[] = {
	{ "qmp", 0, true, OPT_QMP },
	{ "domain", 0, true, OPT_DOMAIN },
	{ "connect", 'c', true, OPT_CONNECT },
	{ "reply-timeout", 0, true, OPT_REPLY_TIMEOUT },
	{ "help", 'h', false, OPT_HELP },
	{ "version", 'V', false, OPT_VERSION },
	{ 0 }
};

static void on_signal(int sig)
{
	(void)sig;
	vssd_interrupted = 1;
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must cut a poll() short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed socket or stdout shows up as EPIPE, not as death. */
	signal(SIGPIPE, SIG_IGN);
}

/* Apply one global option; 0, 1 to exit successfully, or -1. */
static int apply_global(struct global_opts *g, int id, const char *arg,
			struct verr *err)
{
	switch (id) {
	case OPT_QMP:
		g->qmp_path = arg;
		return 0;
	case OPT_DOMAIN:
		g->domain = arg;
		return 0;
	case OPT_CONNECT:
		g->uri = arg;
		return 0;
	case OPT_REPLY_TIMEOUT:
		return parse_seconds_opt("reply timeout", arg,
					 &g->reply_timeout_ms, err);
	case OPT_HELP:
		print_help();
		return 1;
	case OPT_VERSION:
		printf("vssdctl " VSSD_VERSION "\n");
		return 1;
	default:
		return -1;
	}
}

/*
 * Global options are also accepted after the command ("vssdctl status
 * --qmp SOCK"): take them out of the command's arguments.  Returns the
 * number of arguments left in argv, or -1.
 */
static int take_globals(int argc, char **argv, struct global_opts *g,
			struct verr *err)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct opt *p = NULL;
		const char *value = NULL;
		size_t len;

		if (!strcmp(a, "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		for (const struct opt *q = global_opts; q->name && a[0] == '-' &&
		     a[1] == '-'; q++) {
			len = strlen(q->name);
			if (q->has_arg && q->id != OPT_HELP &&
			    !strncmp(a + 2, q->name, len) &&
			    (a[2 + len] == '\0' || a[2 + len] == '=')) {
				p = q;
				break;
			}
		}
		if (!p) {
			argv[out++] = argv[i];
			continue;
		}
		if (a[2 + strlen(p->name)] == '=') {
			value = a + 3 + strlen(p->name);
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			verr_usage(err, "option '--%s' needs a value", p->name);
			return -1;
		}
		if (apply_global(g, p->id, value, err))
			return -1;
	}
	return out;
}

static const struct command *find_command(const char *name)
{
	for (int i = 0; commands[i]; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

/*
 * Open the transport the global options name (exactly one of --qmp and
 * --domain), collecting events from the start when @events.  NULL on error.
 */
static struct transport *open_transport(const struct global_opts *g,
					bool events, struct verr *err)
{
	if (!g->qmp_path == !g->domain) {
		verr_usage(err, g->qmp_path ? "give only one of --qmp and --domain" :
			   "no VM given: use --qmp SOCKET or --domain NAME"
			   SEE_HELP);
		return NULL;
	}
	if (g->uri && !g->domain) {
		verr_usage(err, "--connect only goes with --domain");
		return NULL;
	}
	if (g->qmp_path)
		return transport_open_qmp(g->qmp_path, g->reply_timeout_ms, err);
	return transport_open_libvirt(g->uri, g->domain, events,
				      g->reply_timeout_ms, err);
}

static int run(int argc, char **argv, struct verr *err)
{
	struct global_opts g = { .reply_timeout_ms = DEFAULT_REPLY_TIMEOUT_MS };
	const struct command *cmd;
	struct transport *t;
	struct opts o;
	void *args;
	int id, r, cargc;

	opts_init(&o, argc - 1, argv + 1, global_opts, true);
	while ((id = opts_next(&o, err)) != OPTS_END) {
		if (id == OPTS_ERROR)
			return -1;
		r = apply_global(&g, id, o.arg, err);
		if (r)
			return r < 0 ? -1 : 0;
	}
	if (o.next >= o.argc) {
		verr_usage(err, "no command given: status, resize or watch"
			   SEE_HELP);
		return -1;
	}
	argv += 1 + o.next;
	argc -= 1 + o.next;
	if (!strcmp(argv[0], "help")) {
		print_help();
		return 0;
	}
	cmd = find_command(argv[0]);
	if (!cmd) {
		verr_usage(err, "unknown command '%s'" SEE_HELP, argv[0]);
		return -1;
	}
	cargc = take_globals(argc, argv, &g, err);
	if (cargc < 0)
		return -1;
	args = calloc(1, cmd->args_size);
	if (!args) {
		verr_set(err, "out of memory");
		return -1;
	}
	if (cmd->parse(cargc, argv, args, err))
		goto fail;
	t = open_transport(&g, cmd->wants_events && cmd->wants_events(args),
			   err);
	if (!t)
		goto fail;
	r = cmd->run(t, args, &g, err);
	transport_close(t);
	free(args);
	if (!r && (fflush(stdout) == EOF || ferror(stdout))) {
		verr_set(err, "write error on standard output");
		return -1;
	}
	return r;
fail:
	free(args);
	return -1;
}

int main(int argc, char **argv)
{
	struct verr err = { .kind = VERR_RUNTIME };

	setup_signals();
	if (run(argc, argv, &err) == 0)
		return 0;
	fflush(stdout);
	fprintf(stderr, "vssdctl: %s\n", err.msg[0] ? err.msg : "failed");
	return err.kind ? (int)err.kind : 1;
}
