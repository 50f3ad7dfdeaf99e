/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal test harness: every check prints "PASS: name" or
 * "FAIL: name (file:line)"; tests/run.sh counts them.
 */
#ifndef VSSD_TEST_CHECK_H
#define VSSD_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...)						\
	do {								\
		if (cond) {						\
			printf("PASS: ");				\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		} else {						\
			check_failures++;				\
			printf("FAIL: ");				\
			printf(__VA_ARGS__);				\
			printf(" (%s:%d: %s)\n", __FILE__, __LINE__,	\
			       #cond);					\
		}							\
		fflush(stdout);						\
	} while (0)

/* Exit status for main(): non-zero when any check failed. */
#define CHECK_DONE() (check_failures ? 1 : 0)

#endif /* VSSD_TEST_CHECK_H */
