// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-size: vssdctl's size parser (qmp-tools/size.c) on any string. A
 * string it accepts must format and parse back to the same number; one it
 * refuses must come with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[64];
	const char *why = NULL;
	uint64_t v, again;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (size_parse(s, &v, &why) == 0) {
		size_format(v, buf, sizeof(buf));
		if (size_parse(buf, &again, &why) || again != v)
			abort();
	} else if (!why) {
		abort();
	}
	free(s);
	return 0;
}
