// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: flatten query-ssd-balloon's reply into per-region records.
 */
#include <stdlib.h>
#include <string.h>

#include "balloon.h"
#include "qmp.h"

/* Keys accepted for each field, preferred first; NULL-terminated. */
static const char *const field_keys[BF_COUNT][8] = {
	[BF_BLOCK_SIZE] = { "block-size", NULL },
	[BF_MAX_SIZE] = { "max-size", "region-size", NULL },
	[BF_SIZE] = { "size", "plugged-size", NULL },
	[BF_REQUESTED_SIZE] = { "requested-size", NULL },
	[BF_STATUS] = { "status", "state", NULL },
	[BF_EVICTED] = { "blocks-evicted", "evicted-blocks", "evicted", NULL },
	[BF_GRANTED] = { "blocks-granted", "granted-blocks", "granted", NULL },
	[BF_LAST_RESIZE] = { "last-resize-ms", "last-resize-duration-ms",
			     "last-resize-us", "last-resize-duration-us",
			     "last-resize-ns", "last-resize-duration-ns",
			     "last-resize-duration", NULL },
};

const char *balloon_key(json_t *info, enum balloon_field field)
{
	for (const char *const *k = field_keys[field]; *k; k++)
		if (json_object_get(info, *k))
			return *k;
	return NULL;
}

bool balloon_u64(json_t *info, enum balloon_field field, uint64_t *value)
{
	const char *key = balloon_key(info, field);
	json_t *v = key ? json_object_get(info, key) : NULL;

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*value = (uint64_t)json_integer_value(v);
	return true;
}

bool balloon_last_resize_us(json_t *info, uint64_t *us)
{
	const char *key = balloon_key(info, BF_LAST_RESIZE);
	size_t len = key ? strlen(key) : 0;
	uint64_t v;

	if (!balloon_u64(info, BF_LAST_RESIZE, &v))
		return false;
	if (len > 3 && !strcmp(key + len - 3, "-ns"))
		*us = v / 1000;
	else if (len > 3 && !strcmp(key + len - 3, "-us"))
		*us = v;
	else
		*us = v * 1000;	/* "-ms", and milliseconds by default */
	return true;
}

const char *balloon_status(json_t *info)
{
	const char *key = balloon_key(info, BF_STATUS);

	return key ? json_string_value(json_object_get(info, key)) : NULL;
}

bool balloon_is_name_key(const char *key)
{
	return !strcmp(key, "device") || !strcmp(key, "id") ||
	       !strcmp(key, "qom-path") || !strcmp(key, "region");
}

static const char *device_name(json_t *obj, const char *fallback)
{
	static const char *const keys[] = { "device", "id", "qom-path" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s = json_string_value(json_object_get(obj, keys[i]));

		if (s && *s)
			return s;
	}
	return fallback;
}

static int add_region(struct balloon_list *list, const char *device,
		      const char *qom_path, const char *region, json_t *info)
{
	struct balloon_region *r;

	r = realloc(list->regions, (list->count + 1) * sizeof(*r));
	if (!r)
		return -1;
	list->regions = r;
	r += list->count++;
	r->device = device ? device : "?";
	r->qom_path = qom_path;
	r->region = region;
	r->info = info;
	return 0;
}

static int flatten(struct balloon_list *list, json_t *v, const char *device,
		   const char *qom_path, const char *region_hint, int depth)
{
	json_t *regions, *e;
	const char *key;
	size_t i;
	bool nested = false;

	if (depth > 4)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (flatten(list, e, device, qom_path, region_hint,
				    depth + 1))
				return -1;
		return 0;
	}
	if (!json_is_object(v))
		return 0;

	device = device_name(v, device);
	qom_path = json_string_value(json_object_get(v, "qom-path")) ?: qom_path;
	regions = json_object_get(v, "regions");
	if (json_is_array(regions))
		return flatten(list, regions, device, qom_path, NULL, depth + 1);
	if (json_is_object(regions)) {
		json_object_foreach(regions, key, e)
			if (flatten(list, e, device, qom_path, key, depth + 1))
				return -1;
		return 0;
	}
	for (const char *const *r = (const char *const[]){ "block", "pmem", NULL };
	     *r; r++) {
		e = json_object_get(v, *r);
		if (json_is_object(e)) {
			nested = true;
			if (add_region(list, device, qom_path, *r, e))
				return -1;
		}
	}
	if (nested)
		return 0;
	return add_region(list, device, qom_path,
			  json_string_value(json_object_get(v, "region")) ?:
			  region_hint ?: "block", v);
}

static int balloon_parse_for(json_t *reply, const char *device,
			     struct balloon_list *list, struct verr *err)
{
	memset(list, 0, sizeof(*list));
	list->reply = reply;
	if (!json_is_array(reply) && !json_is_object(reply)) {
		verr_set(err, "query-ssd-balloon returned neither a list nor an object");
		balloon_list_free(list);
		return -1;
	}
	if (flatten(list, reply, device, NULL, NULL, 0)) {
		verr_set(err, "out of memory");
		balloon_list_free(list);
		return -1;
	}
	return 0;
}

int balloon_parse(json_t *reply, struct balloon_list *list, struct verr *err)
{
	return balloon_parse_for(reply, NULL, list, err);
}

int balloon_execute(struct transport *t, const char *command, json_t *args,
		    int timeout_ms, json_t **ret, struct verr *err)
{
	int r = transport_execute(t, command, args, timeout_ms, ret, err);

	if (r == QMP_ERROR_REPLY && !strcmp(err->qmp_class, "CommandNotFound")) {
		char desc[sizeof(err->msg)];

		snprintf(desc, sizeof(desc), "%s", err->msg);
		verr_set(err, "%s (this QEMU has no vssd balloon support)", desc);
	}
	return r;
}

int balloon_query(struct transport *t, const char *device, int timeout_ms,
		  struct balloon_list *list, struct verr *err)
{
	json_t *args = device ? json_pack("{s:s}", "device", device) : NULL;
	json_t *ret;
	int r;

	r = balloon_execute(t, "query-ssd-balloon", args, timeout_ms, &ret, err);
	json_decref(args);
	if (r != QMP_OK)
		return -1;
	/* Records without a name belong to the device we asked about. */
	if (balloon_parse_for(ret, device, list, err))
		return -1;
	/* Keep only @device, in case QEMU ignored the filter. */
	if (device) {
		size_t n = 0;

		for (size_t i = 0; i < list->count; i++) {
			const struct balloon_region *r2 = &list->regions[i];

			if (!strcmp(r2->device, device) ||
			    (r2->qom_path && !strcmp(r2->qom_path, device)))
				list->regions[n++] = *r2;
		}
		list->count = n;
	}
	return 0;
}

const struct balloon_region *balloon_find(const struct balloon_list *list,
					  const char *device,
					  const char *region)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct balloon_region *r = &list->regions[i];

		if (strcmp(r->region, region))
			continue;
		if (!strcmp(r->device, device) ||
		    (r->qom_path && !strcmp(r->qom_path, device)))
			return r;
	}
	return NULL;
}

void balloon_list_free(struct balloon_list *list)
{
	free(list->regions);
	json_decref(list->reply);
	memset(list, 0, sizeof(*list));
}
