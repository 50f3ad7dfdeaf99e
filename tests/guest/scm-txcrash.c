// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scm-txcrash — libscm transactions on a real /dev/scm region, for the
 * crash tests (tests/e2e/scm-txcrash.sh). Links libscm.a.
 *
 *   scm-txcrash run [N]   forever (or N commits): in a transaction, set
 *                         all RECWORDS words of a random record to one new
 *                         value and bump the commit counter; prints
 *                         "txcrash: committed C" every 50 commits (C was
 *                         durable when printed: scm_tx_commit returned)
 *   scm-txcrash check     every record's words are equal (no transaction
 *                         half-applied), the heap passes scm_check(),
 *                         and prints "txcrash: state C" (the counter)
 *
 * Exit status: 0 good, 1 a check failed, 2 an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scm.h"

#define RECORDS		16
#define RECWORDS	64	/* 512 bytes: the words span cache lines */

struct txstate {
	uint64_t magic;
	uint64_t commits;
	uint64_t rec[RECORDS][RECWORDS];
};

#define TXMAGIC 0x7478637261736831ULL

static struct txstate *state(int create)
{
	struct txstate *s = scm_root();

	if (s || !create)
		return s;
	if (scm_tx_begin())
		return NULL;
	s = scmalloc(sizeof(*s));
	if (!s || scm_tx_add(s, sizeof(*s))) {
		scm_tx_abort();
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->magic = TXMAGIC;
	if (scm_set_root(s) || scm_tx_commit())
		return NULL;
	return s;
}

static int run(uint64_t n)
{
	struct txstate *s = state(1);
	uint64_t i, v;
	unsigned int r, w;

	if (!s) {
		fprintf(stderr, "scm-txcrash: cannot make the state: %s\n", strerror(errno));
		return 2;
	}
	srandom(s->commits + 1);
	for (i = 0; !n || i < n; i++) {
		r = random() % RECORDS;
		v = ((uint64_t)random() << 32) | (uint64_t)random();
		if (scm_tx_begin() || scm_tx_add(s->rec[r], sizeof(s->rec[r])) ||
		    scm_tx_add(&s->commits, sizeof(s->commits))) {
			fprintf(stderr, "scm-txcrash: begin/add: %s\n", strerror(errno));
			return 2;
		}
		for (w = 0; w < RECWORDS; w++)
			s->rec[r][w] = v;
		s->commits++;
		if (scm_tx_commit()) {
			fprintf(stderr, "scm-txcrash: commit: %s\n", strerror(errno));
			return 2;
		}
		if (s->commits % 50 == 0) {
			printf("txcrash: committed %" PRIu64 "\n", s->commits);
			fflush(stdout);
		}
	}
	return 0;
}

static int check(void)
{
	struct txstate *s = state(0);
	unsigned int r, w, bad = 0;

	if (!s || s->magic != TXMAGIC) {
		printf("txcrash: no state\n");
		return 1;
	}
	for (r = 0; r < RECORDS; r++) {
		for (w = 1; w < RECWORDS; w++) {
			if (s->rec[r][w] != s->rec[r][0]) {
				printf("txcrash: record %u torn at word %u\n", r, w);
				bad = 1;
				break;
			}
		}
	}
	if (scm_check()) {
		printf("txcrash: scm_check: %s\n", strerror(errno));
		bad = 1;
	}
	printf("txcrash: state %" PRIu64 " %s\n", s->commits, bad ? "BAD" : "ok");
	return bad;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return run(argc >= 3 ? strtoull(argv[2], NULL, 0) : 0);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return check();
	fprintf(stderr, "usage: scm-txcrash run [N] | check\n");
	return 2;
}
