// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of balloon.c: every reply shape balloon.h accepts flattens
 * to the same records, and the field accessors read them.
 */
#include <string.h>

#include "balloon.h"
#include "check.h"

#define REGION_BLOCK "\"block-size\": 2097152, \"max-size\": 1073741824, " \
	"\"size\": 805306368, \"requested-size\": 805306368, "            \
	"\"status\": \"idle\", \"blocks-evicted\": 128, "                 \
	"\"blocks-granted\": 0, \"last-resize-ms\": 1234"
#define REGION_PMEM "\"block-size\": 2097152, \"max-size\": 268435456, " \
	"\"size\": 268435456, \"requested-size\": 134217728, "           \
	"\"status\": \"shrinking\""

static const struct {
	const char *name;
	const char *json;
} shapes[] = {
	{ "flat list",
	  "[{\"device\": \"vssd0\", \"region\": \"block\", " REGION_BLOCK "},"
	  " {\"device\": \"vssd0\", \"region\": \"pmem\", " REGION_PMEM "}]" },
	{ "regions list",
	  "[{\"device\": \"vssd0\", \"qom-path\": \"/machine/peripheral/vssd0\","
	  " \"regions\": [{\"region\": \"block\", " REGION_BLOCK "},"
	  " {\"region\": \"pmem\", " REGION_PMEM "}]}]" },
	{ "regions object",
	  "[{\"id\": \"vssd0\", \"regions\": {\"block\": {" REGION_BLOCK "},"
	  " \"pmem\": {" REGION_PMEM "}}}]" },
	{ "block/pmem members",
	  "{\"device\": \"vssd0\", \"block\": {" REGION_BLOCK "},"
	  " \"pmem\": {" REGION_PMEM "}}" },
};

static void check_shape(const char *name, const char *text)
{
	struct balloon_list list;
	const struct balloon_region *b, *p;
	struct verr err = { 0 };
	uint64_t v = 0, us = 0;
	json_t *reply = json_loads(text, 0, NULL);

	if (!reply || balloon_parse(reply, &list, &err)) {
		CHECK(0, "%s: parses (%s)", name, err.msg);
		return;
	}
	CHECK(list.count == 2, "%s: two records (got %zu)", name, list.count);
	b = balloon_find(&list, "vssd0", "block");
	p = balloon_find(&list, "vssd0", "pmem");
	CHECK(b && p, "%s: block and pmem of vssd0 are found", name);
	if (b && p) {
		CHECK(balloon_u64(b->info, BF_SIZE, &v) && v == 805306368,
		      "%s: block size", name);
		CHECK(balloon_u64(p->info, BF_REQUESTED_SIZE, &v) &&
		      v == 134217728, "%s: pmem requested-size", name);
		CHECK(!strcmp(balloon_status(p->info) ?: "", "shrinking"),
		      "%s: pmem status", name);
		CHECK(balloon_last_resize_us(b->info, &us) && us == 1234000,
		      "%s: last resize in ms read as us", name);
		CHECK(!balloon_last_resize_us(p->info, &us),
		      "%s: absent duration is unknown", name);
	}
	CHECK(!balloon_find(&list, "vssd1", "block"),
	      "%s: another device is not found", name);
	balloon_list_free(&list);
}

int main(void)
{
	struct balloon_list list;
	struct verr err = { 0 };
	uint64_t v = 0, us = 0;
	json_t *info;

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		check_shape(shapes[i].name, shapes[i].json);

	CHECK(balloon_parse(json_string("nope"), &list, &err) == -1,
	      "a string reply is refused");
	CHECK(balloon_parse(json_array(), &list, &err) == 0 && list.count == 0,
	      "an empty list means no devices");
	balloon_list_free(&list);

	info = json_pack("{s:I, s:I, s:s}", "plugged-size", (json_int_t)4096,
			 "last-resize-us", (json_int_t)77, "state", "growing");
	CHECK(balloon_u64(info, BF_SIZE, &v) && v == 4096,
	      "plugged-size is accepted for size");
	CHECK(balloon_last_resize_us(info, &us) && us == 77,
	      "last-resize-us is read in microseconds");
	CHECK(!strcmp(balloon_status(info) ?: "", "growing"),
	      "state is accepted for status");
	json_object_set_new(info, "size", json_integer(-1));
	CHECK(!balloon_u64(info, BF_SIZE, &v), "a negative size is refused");
	json_decref(info);
	return CHECK_DONE();
}
