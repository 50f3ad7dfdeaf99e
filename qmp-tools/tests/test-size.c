// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of size_parse() and size_format().
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "size.h"

static const struct {
	const char *text;
	uint64_t bytes;
} good[] = {
	{ "0", 0 },
	{ "1", 1 },
	{ "4096", 4096 },
	{ "1K", 1024 },
	{ "1k", 1024 },
	{ "768M", 768ull << 20 },
	{ "768m", 768ull << 20 },
	{ "1G", 1ull << 30 },
	{ "2T", 2ull << 40 },
	{ "512KiB", 512ull << 10 },
	{ "64MB", 64ull << 20 },
	{ "007", 7 },
	{ "9223372036854775807", 9223372036854775807ull },
	{ "8388607T", 8388607ull << 40 },
};

static const char *const bad[] = {
	"", "-1", "-1G", "+1G", " 1G", "1G ", "1 G", "G", "1.5G", "1,5G",
	"1X", "1GG", "1Gi", "1GiBx", "0x10", "1e3", "abc", "1P",
	"9223372036854775808",		/* INT64_MAX + 1 */
	"18446744073709551616",		/* UINT64_MAX + 1 */
	"99999999999999999999999999",
	"8388608T",			/* 2^63: just above INT64_MAX */
	"17179869184G",			/* 2^64 */
};

static const struct {
	uint64_t bytes;
	const char *text;
} formats[] = {
	{ 0, "0" },
	{ 1, "1" },
	{ 1000, "1000" },
	{ 1024, "1K" },
	{ 1536, "1536" },
	{ 768ull << 20, "768M" },
	{ 1ull << 30, "1G" },
	{ 3ull << 29, "1536M" },
	{ 5ull << 40, "5T" },
	{ 1025ull << 40, "1025T" },
	{ 9223372036854775807ull, "9223372036854775807" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 12345;
		const char *why = NULL;
		int r = size_parse(good[i].text, &v, &why);

		CHECK(r == 0 && v == good[i].bytes,
		      "size_parse(\"%s\") = %" PRIu64, good[i].text,
		      good[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 12345;
		const char *why = NULL;
		int r = size_parse(bad[i], &v, &why);

		CHECK(r == -1 && why && *why && v == 12345,
		      "size_parse(\"%s\") rejected (%s)", bad[i],
		      why ? why : "accepted!");
	}
	{
		const char *why = NULL;
		uint64_t v;

		size_parse("-5", &v, &why);
		CHECK(why && !strcmp(why, "negative"), "negative is named");
		size_parse("99999999999999999999", &v, &why);
		CHECK(why && !strcmp(why, "too large"), "overflow is named");
		size_parse("", &v, &why);
		CHECK(why && !strcmp(why, "empty"), "empty is named");
		CHECK(size_parse(NULL, &v, &why) == -1, "NULL is rejected");
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char buf[SIZE_BUF];

		CHECK(!strcmp(size_format(formats[i].bytes, buf, sizeof(buf)),
			      formats[i].text),
		      "size_format(%" PRIu64 ") = \"%s\" (got \"%s\")",
		      formats[i].bytes, formats[i].text, buf);
	}
	/* Round trip: what we print, we parse back to the same value. */
	{
		bool ok = true;
		uint64_t v;

		for (v = 1; v <= SIZE_MAX_BYTES >> 10; v = v * 3 + 1) {
			char buf[SIZE_BUF];
			uint64_t back = 0;
			const char *why;

			if (size_parse(size_format(v << 10, buf, sizeof(buf)),
				       &back, &why) || back != v << 10) {
				ok = false;
				break;
			}
		}
		CHECK(ok, "round trip of formatted sizes (stopped at %" PRIu64 ")",
		      v << 10);
	}
	return CHECK_DONE();
}
