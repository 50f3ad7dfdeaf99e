/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: error reporting and clock helpers shared by every file.
 */
#ifndef VSSD_UTIL_H
#define VSSD_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* How an error should end the program (see "EXIT STATUS" in --help). */
enum verr_kind {
	VERR_RUNTIME = 1,	/* connection, QEMU, libvirt or timeout problem */
	VERR_USAGE = 2,		/* bad command line: option, command or size */
};

/*
 * One error, filled in by the function that failed and printed once by
 * main() as "vssdctl: <msg>".  qmp_class is set only for QMP error replies.
 */
struct verr {
	enum verr_kind kind;	/* exit status to use */
	char msg[512];		/* one line, no trailing newline */
	char qmp_class[64];	/* QMP error class ("GenericError", ...) or "" */
};

void verr_set(struct verr *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void verr_usage(struct verr *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t now_ms(void);

/* Milliseconds left until @deadline (never negative). */
int ms_left(int64_t deadline);

/* Parse a timeout in seconds ("10", "0.5"); must be > 0. */
bool parse_seconds(const char *s, int *out_ms);

/*
 * parse_seconds() for the value of an option: on a bad value, the usage
 * error "bad WHAT 'S': give seconds > 0" and -1; else 0.
 */
int parse_seconds_opt(const char *what, const char *s, int *out_ms,
		      struct verr *err);

/* Set from the SIGINT/SIGTERM handler; long waits poll it. */
extern volatile int vssd_interrupted;

#endif /* VSSD_UTIL_H */
