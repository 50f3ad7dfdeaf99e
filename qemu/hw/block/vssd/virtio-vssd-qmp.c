/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: QMP and HMP commands. ssd-balloon, query-ssd-balloon,
 * ssd_balloon, info ssd_balloon: finding the device, the QAPI view of its
 * regions. The HMP commands are thin wrappers around the QMP handlers.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vssd.h"
#include "qapi/util.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "hw/qdev-core.h"
#include "virtio-vssd-internal.h"

/*
 * The virtio-vssd device named by @device: an ID (of virtio-vssd-pci, or
 * of a virtio-vssd on another transport) or a QOM path of either the
 * transport or the virtio-vssd device itself.
 */
static VirtIOVSSD *vssd_find(const char *device, Error **errp)
{
    Object *peripheral = machine_get_container("peripheral");
    Object *obj = *device ? object_resolve_path_at(peripheral, device)
                          : NULL;
    Object *backend;

    if (!obj) {
        error_setg(errp, "Device '%s' not found", device);
        return NULL;
    }
    if (object_dynamic_cast(obj, TYPE_VIRTIO_VSSD)) {
        return VIRTIO_VSSD(obj);
    }
    backend = object_resolve_path_component(obj, "virtio-backend");
    if (backend && object_dynamic_cast(backend, TYPE_VIRTIO_VSSD)) {
        return VIRTIO_VSSD(backend);
    }
    error_setg(errp, "Device '%s' is not a virtio-vssd device", device);
    return NULL;
}

static SsdBalloonRefusals *virtio_vssd_refusals(const VirtIOVSSDRegion *r)
{
    const uint64_t *n = r->stats.refused;
    SsdBalloonRefusals *ref = g_new0(SsdBalloonRefusals, 1);

    ref->bad_request = n[VIRTIO_VSSD_R_BAD_REQUEST];
    ref->range = n[VIRTIO_VSSD_R_RANGE];
    ref->not_plugged = n[VIRTIO_VSSD_R_NOT_PLUGGED];
    ref->plugged = n[VIRTIO_VSSD_R_PLUGGED];
    ref->duplicate = n[VIRTIO_VSSD_R_DUPLICATE];
    ref->too_many = n[VIRTIO_VSSD_R_TOO_MANY];
    ref->truncated = n[VIRTIO_VSSD_R_TRUNCATED];
    ref->not_requested = n[VIRTIO_VSSD_R_NOT_REQUESTED];
    ref->stale = n[VIRTIO_VSSD_R_STALE];
    return ref;
}

/* Appends one entry per region of @s to *@tail (QAPI_LIST_APPEND). */
static void virtio_vssd_query(VirtIOVSSD *s, SsdBalloonInfoList ***tail)
{
    static const uint16_t ids[] = {
        VIRTIO_VSSD_REGION_BLOCK, VIRTIO_VSSD_REGION_PMEM,
    };
    DeviceState *dev = virtio_vssd_get_transport(s);
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(ids); i++) {
        VirtIOVSSDRegion *r = virtio_vssd_get_region(s, ids[i]);
        SsdBalloonInfo *info;

        if (!r) {
            continue;
        }
        info = g_new0(SsdBalloonInfo, 1);
        info->qom_path = object_get_canonical_path(OBJECT(dev));
        info->device = g_strdup(dev->id ?: info->qom_path);
        info->region = virtio_vssd_qapi_region(r->id);
        info->block_size = r->block_size;
        info->max_size = r->size;
        info->size = r->nb_plugged * r->block_size;
        info->requested_size = r->requested_blocks * r->block_size;
        info->status = r->nb_plugged > r->requested_blocks ?
                       SSD_BALLOON_STATUS_SHRINKING :
                       r->nb_plugged < r->requested_blocks ?
                       SSD_BALLOON_STATUS_GROWING : SSD_BALLOON_STATUS_IDLE;
        info->policy = r->policy == VIRTIO_VSSD_POLICY_HOST ?
                       SSD_BALLOON_POLICY_HOST : SSD_BALLOON_POLICY_GUEST;
        info->generation = s->resize_generation;
        info->blocks_evicted = r->stats.blocks_evicted;
        info->blocks_granted = r->stats.blocks_granted;
        info->replies_refused = r->stats.replies_refused;
        info->refused = virtio_vssd_refusals(r);
        info->host_errors = r->stats.host_errors;
        info->has_last_resize_ms = r->last_resize_ms >= 0;
        info->last_resize_ms = MAX(r->last_resize_ms, 0);
        if (r == &s->pmem) {
            info->has_flushes = true;
            info->flushes = s->flush_stats.done;
            info->has_flushes_refused = true;
            info->flushes_refused = s->flush_stats.refused;
            info->has_flush_errors = true;
            info->flush_errors = s->flush_stats.errors;
        }
        QAPI_LIST_APPEND(*tail, info);
    }
}

void qmp_ssd_balloon(const char *device, int64_t size, bool has_region,
                     SsdBalloonRegion region, bool has_policy,
                     SsdBalloonPolicy policy, Error **errp)
{
    VirtIOVSSD *s = vssd_find(device, errp);

    if (!s) {
        return;
    }
    virtio_vssd_resize_set_target(s, has_region ? region
                                                : SSD_BALLOON_REGION_BLOCK,
                                  size,
                                  has_policy ? policy
                                             : SSD_BALLOON_POLICY_GUEST,
                                  errp);
}

static int vssd_query_one(Object *obj, void *opaque)
{
    SsdBalloonInfoList ***tail = opaque;

    if (object_dynamic_cast(obj, TYPE_VIRTIO_VSSD) &&
        DEVICE(obj)->realized) {
        virtio_vssd_query(VIRTIO_VSSD(obj), tail);
    }
    return 0;
}

/* Every virtio-vssd device, or only @device if not NULL. */
static SsdBalloonInfoList *vssd_query_devices(const char *device,
                                              Error **errp)
{
    SsdBalloonInfoList *head = NULL, **tail = &head;

    if (device) {
        VirtIOVSSD *s = vssd_find(device, errp);

        if (s) {
            virtio_vssd_query(s, &tail);
        }
        return head;
    }
    object_child_foreach_recursive(object_get_root(), vssd_query_one, &tail);
    return head;
}

/*
 * Boxed: the same C signature whether the QAPI generator passes has_FOO
 * for optional strings (7.2) or not (8.0 on).
 */
SsdBalloonInfoList *qmp_query_ssd_balloon(SsdBalloonQuery *arg, Error **errp)
{
    return vssd_query_devices(arg->device, errp);
}

/* ssd_balloon DEVICE SIZE [REGION [POLICY]] */
void hmp_ssd_balloon(Monitor *mon, const QDict *qdict)
{
    const char *device = qdict_get_str(qdict, "device");
    const int64_t size = qdict_get_int(qdict, "size");
    const char *region_str = qdict_get_try_str(qdict, "region");
    const char *policy_str = qdict_get_try_str(qdict, "policy");
    /* int: qapi_enum_parse() returns -1 for an unknown name */
    int region = SSD_BALLOON_REGION_BLOCK;
    int policy = SSD_BALLOON_POLICY_GUEST;
    Error *err = NULL;

    if (region_str) {
        region = qapi_enum_parse(&SsdBalloonRegion_lookup, region_str, -1,
                                 NULL);
        if (region < 0) {
            error_setg(&err, "Parameter 'region' must be block or pmem, "
                       "not '%s'", region_str);
        }
    }
    if (!err && policy_str) {
        policy = qapi_enum_parse(&SsdBalloonPolicy_lookup, policy_str, -1,
                                 NULL);
        if (policy < 0) {
            error_setg(&err, "Parameter 'policy' must be guest or host, "
                       "not '%s'", policy_str);
        }
    }
    if (!err) {
        qmp_ssd_balloon(device, size, true, region, true, policy, &err);
    }
    hmp_handle_error(mon, err);
}

/* info ssd_balloon [DEVICE] */
void hmp_info_ssd_balloon(Monitor *mon, const QDict *qdict)
{
    const char *device = qdict_get_try_str(qdict, "device");
    Error *err = NULL;
    g_autoptr(SsdBalloonInfoList) list =
        vssd_query_devices(device, &err);
    SsdBalloonInfoList *e;

    if (err) {
        hmp_handle_error(mon, err);
        return;
    }
    if (!list) {
        monitor_printf(mon, "No virtio-vssd device\n");
        return;
    }
    for (e = list; e; e = e->next) {
        SsdBalloonInfo *i = e->value;

        monitor_printf(mon, "%s (%s) region %s: size %" PRIu64
                       " requested-size %" PRIu64 " max-size %" PRIu64
                       " block-size %" PRIu64 " status %s policy %s "
                       "generation %" PRIu32 "\n",
                       i->device, i->qom_path, SsdBalloonRegion_str(i->region),
                       i->size, i->requested_size, i->max_size,
                       i->block_size, SsdBalloonStatus_str(i->status),
                       SsdBalloonPolicy_str(i->policy), i->generation);
        monitor_printf(mon, "  blocks-evicted %" PRIu64 " blocks-granted %"
                       PRIu64 " replies-refused %" PRIu64 " host-errors %"
                       PRIu64, i->blocks_evicted, i->blocks_granted,
                       i->replies_refused, i->host_errors);
        if (i->has_last_resize_ms) {
            monitor_printf(mon, " last-resize-ms %" PRIu64,
                           i->last_resize_ms);
        }
        monitor_printf(mon, "\n");
        if (i->has_flushes) {
            monitor_printf(mon, "  flushes %" PRIu64 " flushes-refused %"
                           PRIu64 " flush-errors %" PRIu64 "\n", i->flushes,
                           i->flushes_refused, i->flush_errors);
        }
    }
}
