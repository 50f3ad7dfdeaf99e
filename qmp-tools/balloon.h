/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: the reply of query-ssd-balloon, as one record per device and
 * region.
 *
 * The contract names the fields (block-size, max-size, size,
 * requested-size, status, counters, last resize duration) but not how the
 * reply nests them, so any of these shapes is accepted:
 *
 *   [{"device": "vssd0", "region": "block", "size": ...}, ...]
 *   [{"device": "vssd0", "regions": [{"region": "block", ...}, ...]}]
 *   [{"device": "vssd0", "regions": {"block": {...}, "pmem": {...}}}]
 *   [{"device": "vssd0", "block": {...}, "pmem": {...}}]
 *
 * (or one such object instead of a list).  A device is named by "device",
 * else "id", else "qom-path".
 */
#ifndef VSSD_BALLOON_H
#define VSSD_BALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "transport.h"

/* The fields vssdctl understands, whatever their exact key. */
enum balloon_field {
	BF_BLOCK_SIZE,
	BF_MAX_SIZE,
	BF_SIZE,
	BF_REQUESTED_SIZE,
	BF_STATUS,
	BF_EVICTED,
	BF_GRANTED,
	BF_LAST_RESIZE,
	BF_COUNT
};

struct balloon_region {
	const char *device;	/* device id (borrowed from the reply) */
	const char *qom_path;	/* or NULL */
	const char *region;	/* "block", "pmem", ... */
	json_t *info;		/* the object holding the fields (borrowed) */
};

struct balloon_list {
	json_t *reply;			/* query-ssd-balloon's return value */
	struct balloon_region *regions;	/* records, in reply order */
	size_t count;			/* records in regions */
};

/*
 * transport_execute() for a vssd balloon command: when QEMU does not know
 * @command, the error says that it has no vssd balloon support.
 */
int balloon_execute(struct transport *t, const char *command, json_t *args,
		    int timeout_ms, json_t **ret, struct verr *err);

/* Run query-ssd-balloon (for @device, or all when NULL). */
int balloon_query(struct transport *t, const char *device, int timeout_ms,
		  struct balloon_list *list, struct verr *err);

/* Flatten a reply; takes over @reply.  Exposed for the tests. */
int balloon_parse(json_t *reply, struct balloon_list *list, struct verr *err);

void balloon_list_free(struct balloon_list *list);

/* The record of @device and @region, or NULL. */
const struct balloon_region *balloon_find(const struct balloon_list *list,
					  const char *device,
					  const char *region);

/* The key of @field in @info, or NULL if absent. */
const char *balloon_key(json_t *info, enum balloon_field field);

/* Integer field; false when absent or not an integer >= 0. */
bool balloon_u64(json_t *info, enum balloon_field field, uint64_t *value);

/* Duration of the last resize in microseconds; false when unknown. */
bool balloon_last_resize_us(json_t *info, uint64_t *us);

/* The "status" string, or NULL. */
const char *balloon_status(json_t *info);

/* True for keys that name the record rather than describe it. */
bool balloon_is_name_key(const char *key);

#endif /* VSSD_BALLOON_H */
