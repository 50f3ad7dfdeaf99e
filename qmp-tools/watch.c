// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl watch [--count N] [--timeout S] [--all | --event NAME] [--json]
 *
 * Prints monitor events one per line, as they arrive, until interrupted,
 * N events were printed or S seconds passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "commands.h"
#include "opts.h"
#include "size.h"

/* Longest wait between two looks at the interrupt flag. */
#define WATCH_SLICE_MS 500

struct watch_args {
	unsigned long count;	/* stop after this many events, 0 = never */
	int timeout_ms;		/* stop after this long, 0 = never */
	const char *event;	/* only this event; NULL with all */
	bool all;		/* every event */
	bool json;		/* raw JSON lines */
};

enum { OPT_COUNT = 1, OPT_TIMEOUT, OPT_ALL, OPT_EVENT, OPT_JSON };

static const struct opt watch_opts[] = {
	{ "count", 'n', true, OPT_COUNT },
	{ "timeout", 't', true, OPT_TIMEOUT },
	{ "all", 'a', false, OPT_ALL },
	{ "event", 'e', true, OPT_EVENT },
	{ "json", 'j', false, OPT_JSON },
	CMD_OPT_HELP,
	{ 0 }
};

static int watch_parse(int argc, char **argv, void *p, struct verr *err)
{
	struct watch_args *a = p;
	struct opts o;
	char *end;
	int id;

	a->event = "SSD_BALLOON_CHANGE";
	opts_init(&o, argc - 1, argv + 1, watch_opts, false);
	while ((id = command_opts_next(&o, err)) != OPTS_END) {
		switch (id) {
		case OPTS_ERROR:
			return -1;
		case OPT_COUNT:
			errno = 0;
			a->count = strtoul(o.arg, &end, 10);
			if (errno || !*o.arg || *end || *o.arg == '-' ||
			    !a->count) {
				verr_usage(err, "bad count '%s': give a number > 0",
					   o.arg);
				return -1;
			}
			break;
		case OPT_TIMEOUT:
			if (parse_seconds_opt("timeout", o.arg, &a->timeout_ms,
					      err))
				return -1;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_EVENT:
			a->event = o.arg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPTS_POSITIONAL:
			verr_usage(err, "watch: unexpected argument '%s'" SEE_HELP,
				   o.positional);
			return -1;
		}
	}
	return 0;
}

char *format_event(json_t *event)
{
	json_t *ts = json_object_get(event, "timestamp");
	json_t *data = json_object_get(event, "data");
	json_int_t sec = json_integer_value(json_object_get(ts, "seconds"));
	json_int_t usec = json_integer_value(json_object_get(ts, "microseconds"));
	const char *key;
	char stamp[32], *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	struct tm tm;
	time_t t;
	json_t *v;

	if (!f)
		return NULL;
	if (sec <= 0) {
		struct timeval now;

		gettimeofday(&now, NULL);
		sec = now.tv_sec;
		usec = now.tv_usec;
	}
	t = (time_t)sec;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s.%03d %s", stamp, (int)(usec / 1000),
		json_string_value(json_object_get(event, "event")) ?: "?");
	json_object_foreach(data, key, v) {
		char *text;

		if (json_is_string(v)) {
			fprintf(f, strpbrk(json_string_value(v), " \t\"=") ?
				" %s=\"%s\"" : " %s=%s", key,
				json_string_value(v));
		} else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			   key_is_size(key)) {
			char buf[SIZE_BUF];

			fprintf(f, " %s=%s", key,
				size_format((uint64_t)json_integer_value(v), buf,
					    sizeof(buf)));
		} else {
			text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			fprintf(f, " %s=%s", key, text ?: "?");
			free(text);
		}
	}
	if (data && !json_is_object(data)) {
		char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);

		fprintf(f, " %s", text ?: "?");
		free(text);
	}
	fclose(f);
	return line;
}

static int watch_run(struct transport *t, const void *p,
		     const struct global_opts *g, struct verr *err)
{
	const struct watch_args *a = p;
	int64_t deadline = a->timeout_ms ? now_ms() + a->timeout_ms : 0;
	unsigned long seen = 0;

	(void)g;
	while (!a->count || seen < a->count) {
		int slice = WATCH_SLICE_MS, r;
		const char *name;
		json_t *ev;
		char *line;

		if (vssd_interrupted)
			return 0;
		if (deadline) {
			if (ms_left(deadline) == 0)
				break;
			if (ms_left(deadline) < slice)
				slice = ms_left(deadline);
		}
		r = transport_next_event(t, slice, &ev, err);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		name = json_string_value(json_object_get(ev, "event")) ?: "";
		if (!a->all && strcmp(name, a->event)) {
			json_decref(ev);
			continue;
		}
		line = a->json ? json_dumps(ev, JSON_COMPACT) : format_event(ev);
		json_decref(ev);
		if (line)
			printf("%s\n", line);
		free(line);
		if (fflush(stdout) == EOF) {
			/* Whoever read our output went away ("| head -1"). */
			if (errno == EPIPE)
				exit(0);
			verr_set(err, "write error on standard output: %s",
				 strerror(errno));
			return -1;
		}
		seen++;
	}
	if (a->count && seen < a->count) {
		verr_set(err, "timed out after %g s with %lu of %lu events",
			 a->timeout_ms / 1000.0, seen, a->count);
		return -1;
	}
	return 0;
}

static bool watch_wants_events(const void *args)
{
	(void)args;
	return true;
}

const struct command cmd_watch = {
	.name = "watch",
	.args_size = sizeof(struct watch_args),
	.parse = watch_parse,
	.wants_events = watch_wants_events,
	.run = watch_run,
};
