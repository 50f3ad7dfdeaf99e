/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vssd QMP and HMP commands in a QEMU built without virtio-vssd.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vssd.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"

void qmp_ssd_balloon(const char *device, int64_t size, bool has_region,
                     SsdBalloonRegion region, bool has_policy,
                     SsdBalloonPolicy policy, Error **errp)
{
    error_setg(errp, "Device '%s' not found: this QEMU has no virtio-vssd",
               device);
}

SsdBalloonInfoList *qmp_query_ssd_balloon(SsdBalloonQuery *arg, Error **errp)
{
    if (arg->device) {
        error_setg(errp, "Device '%s' not found: this QEMU has no "
                   "virtio-vssd", arg->device);
    }
    return NULL;
}

void hmp_ssd_balloon(Monitor *mon, const QDict *qdict)
{
    monitor_printf(mon, "this QEMU has no virtio-vssd\n");
}

void hmp_info_ssd_balloon(Monitor *mon, const QDict *qdict)
{
    monitor_printf(mon, "this QEMU has no virtio-vssd\n");
}
