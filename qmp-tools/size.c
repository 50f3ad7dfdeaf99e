// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: parse and print sizes with binary suffixes.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "size.h"

static int suffix_shift(char c)
{
	switch (toupper((unsigned char)c)) {
	case 'K':
		return 10;
	case 'M':
		return 20;
	case 'G':
		return 30;
	case 'T':
		return 40;
	default:
		return -1;
	}
}

int size_parse(const char *s, uint64_t *bytes, const char **why)
{
	const char *p = s;
	uint64_t value = 0;
	int shift = 0;

	if (!s || !*s) {
		*why = "empty";
		return -1;
	}
	if (*p == '-') {
		*why = "negative";
		return -1;
	}
	if (!isdigit((unsigned char)*p)) {
		*why = "not a number";
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (value > (SIZE_MAX_BYTES - digit) / 10) {
			*why = "too large";
			return -1;
		}
		value = value * 10 + digit;
	}
	if (*p) {
		shift = suffix_shift(*p);
		if (shift < 0) {
			*why = *p == '.' ? "fractions are not supported" :
					   "unknown suffix (use K, M, G or T)";
			return -1;
		}
		p++;
		if (!strcmp(p, "iB") || !strcmp(p, "B"))
			p += strlen(p);
		if (*p) {
			*why = "garbage after the suffix";
			return -1;
		}
	}
	if (value > SIZE_MAX_BYTES >> shift) {
		*why = "too large";
		return -1;
	}
	*bytes = value << shift;
	return 0;
}

char *size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "TGMK";
	int shift = 40;

	for (const char *u = units; *u; u++, shift -= 10) {
		uint64_t unit = (uint64_t)1 << shift;

		if (bytes && bytes % unit == 0) {
			snprintf(buf, len, "%llu%c",
				 (unsigned long long)(bytes >> shift), *u);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}
