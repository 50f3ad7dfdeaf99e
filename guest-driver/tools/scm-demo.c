// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scm-demo: a persistent counter and message in the caller's /dev/scm
 * region, through libscm.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 *   scm-demo [--show] [--device PATH] [MESSAGE]
 *
 * Each run finds its root object (allocating it on the first run),
 * increments the counter, stores MESSAGE if one is given, makes the root
 * durable with scmsync() and prints one line:
 *
 *   region=NAME counter=N message="TEXT"
 *
 * --show prints without changing anything. PATH (or $SCM_DEVICE) may be a
 * regular file, as for libscm. Exit status 1 on errors, with a one-line
 * "scm-demo: ..." message.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scm.h"

/* "SCMDEMO1" */
#define DEMO_MAGIC	0x314f4d45444d4353ULL

/* The root object. */
struct demo_root {
	/* DEMO_MAGIC once initialised. */
	uint64_t magic;
	/* Runs so far. */
	uint64_t counter;
	/* The last message given, NUL-terminated. */
	char message[240];
};

static void usage(FILE *f)
{
	fputs("Usage: scm-demo [--show] [--device PATH] [MESSAGE]\n"
	      "\n"
	      "Keep a counter and a message in persistent memory (libscm's root\n"
	      "object in the caller's /dev/scm region): each run increments the\n"
	      "counter, stores MESSAGE if given, syncs, and prints\n"
	      "  region=NAME counter=N message=\"TEXT\"\n"
	      "\n"
	      "  -s, --show          print only, change nothing\n"
	      "  -d, --device PATH   region to use (default $SCM_DEVICE or /dev/scm;\n"
	      "                      a regular file works too)\n"
	      "  -h, --help          this text\n", f);
}

static int fail(const char *what)
{
	fprintf(stderr, "scm-demo: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "show", no_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *message = NULL;
	struct demo_root *root;
	bool show = false;
	int c;

	while ((c = getopt_long(argc, argv, "sd:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			show = true;
			break;
		case 'd':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fputs("scm-demo: see scm-demo --help\n", stderr);
			return 2;
		}
	}
	if (optind < argc)
		message = argv[optind++];
	if (optind < argc || (show && message)) {
		fputs("scm-demo: too many arguments (see scm-demo --help)\n",
		      stderr);
		return 2;
	}
	if (message && strlen(message) >= sizeof(root->message)) {
		fprintf(stderr, "scm-demo: the message is longer than %zu bytes\n",
			sizeof(root->message) - 1);
		return 2;
	}

	if (!path || !*path)
		path = getenv("SCM_DEVICE");
	if (!path || !*path)
		path = LIBSCM_DEFAULT_DEVICE;
	if (scm_open(path)) {
		if (errno != EUCLEAN)
			return fail(path);
		fprintf(stderr, "scm-demo: %s: the region holds data that is not a libscm heap\n",
			path);
		return 1;
	}
	errno = 0;
	root = scm_root();
	if (!root && errno)
		return fail("scm_root");
	if (!root) {
		if (show) {
			printf("region=%s counter=0 message=\"\"\n", scm_name());
			return 0;
		}
		root = scmalloc(sizeof(*root));
		if (!root)
			return fail("scmalloc");
		memset(root, 0, sizeof(*root));
		root->magic = DEMO_MAGIC;
		if (scmsync(root, sizeof(*root)))
			return fail("scmsync");
		if (scm_set_root(root))
			return fail("scm_set_root");
	} else if (root->magic != DEMO_MAGIC ||
		   scm_usable_size(root) < sizeof(*root)) {
		fprintf(stderr, "scm-demo: the root object of region %s is not scm-demo's\n",
			scm_name());
		return 1;
	}

	if (!show) {
		if (message) {
			memset(root->message, 0, sizeof(root->message));
			memcpy(root->message, message, strlen(message));
		}
		root->counter++;
		if (scmsync(root, sizeof(*root)))
			return fail("scmsync");
	}
	printf("region=%s counter=%" PRIu64 " message=\"%s\"\n", scm_name(),
	       root->counter, root->message);
	if (scm_close())
		return fail("scm_close");
	return 0;
}
