// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: error reporting and clock helpers.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

volatile int vssd_interrupted;

static void verr_vset(struct verr *err, enum verr_kind kind, const char *fmt,
		      va_list ap)
{
	char *nl;

	if (!err)
		return;
	err->kind = kind;
	err->qmp_class[0] = '\0';
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	/* The contract promises one line: fold anything a peer sent us. */
	while ((nl = strpbrk(err->msg, "\r\n")))
		*nl = ' ';
}

void verr_set(struct verr *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_vset(err, VERR_RUNTIME, fmt, ap);
	va_end(ap);
}

void verr_usage(struct verr *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_vset(err, VERR_USAGE, fmt, ap);
	va_end(ap);
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left < 0)
		return 0;
	if (left > 0x7fffffff)
		return 0x7fffffff;
	return (int)left;
}

bool parse_seconds(const char *s, int *out_ms)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 30 * 24 * 3600.0)
		return false;
	*out_ms = (int)ceil(v * 1000);
	return true;
}

int parse_seconds_opt(const char *what, const char *s, int *out_ms,
		      struct verr *err)
{
	if (parse_seconds(s, out_ms))
		return 0;
	verr_usage(err, "bad %s '%s': give seconds > 0", what, s);
	return -1;
}
