/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: serving the request queues in an IOThread ("iothread").
 * While the driver is ready the block backend lives in the IOThread's
 * AioContext and a bottom half there serves every request queue; the
 * control queue stays in the main loop.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "block/aio-wait.h"
#include "hw/virtio/virtio-bus.h"
#include "virtio-vssd-internal.h"
#include "trace.h"

/* In the IOThread: serve every request queue. */
static void virtio_vssd_dataplane_bh(void *opaque)
{
    VirtIOVSSD *s = opaque;
    unsigned int i;

    /* a bottom half dequeued before virtio_vssd_dataplane_stop() */
    if (s->iothread_started) {
        for (i = 0; i < s->nr_req_vqs; i++) {
            virtio_vssd_blk_handle_vq(s, s->req_vqs[i]);
        }
    }
}

/*
 * Move the block backend and the request queues to the IOThread. Kicks
 * still arrive in the main loop (ioeventfd) or a vCPU thread (ioeventfd=off)
 * and are handed over with a bottom half; completions
 * reach the guest through the request queues' guest notifiers. On failure
 * requests keep being served in the main loop.
 */
void virtio_vssd_dataplane_start(VirtIOVSSD *s)
{
    BusState *qbus = qdev_get_parent_bus(DEVICE(s));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);
    AioContext *old_ctx;
    Error *local_err = NULL;
    int r;

    r = k->set_guest_notifiers(qbus->parent, s->nr_req_vqs, true);
    if (r) {
        warn_report_once("virtio-vssd: cannot set up guest notifiers (%d): "
                         "'%s' is not used", r, VIRTIO_VSSD_IOTHREAD_PROP);
        return;
    }

    old_ctx = blk_get_aio_context(s->conf.blk);
    vssd_aio_lock(old_ctx);
    r = blk_set_aio_context(s->conf.blk, s->ctx, &local_err);
    vssd_aio_unlock(old_ctx);
    if (r < 0) {
        error_report_err(local_err);
        k->set_guest_notifiers(qbus->parent, s->nr_req_vqs, false);
        return;
    }

    trace_virtio_vssd_iothread_start(VIRTIO_DEVICE(s));
    /* no bottom half of ours is scheduled: it sees this once it is */
    s->iothread_started = true;
    /* requests may be waiting in the rings already */
    qemu_bh_schedule(s->iothread_bh);
}

/* In the IOThread, between two runs of virtio_vssd_dataplane_bh(). */
static void virtio_vssd_dataplane_stop_bh(void *opaque)
{
    VirtIOVSSD *s = opaque;

    s->iothread_started = false;
    qemu_bh_cancel(s->iothread_bh);
}

/* Back to the main loop; waits for the requests the backend holds. */
void virtio_vssd_dataplane_stop(VirtIOVSSD *s)
{
    BusState *qbus = qdev_get_parent_bus(DEVICE(s));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);

    trace_virtio_vssd_iothread_stop(VIRTIO_DEVICE(s));
    vssd_aio_lock(s->ctx);
    /* a running bottom half is done after this, and no other one runs */
    aio_wait_bh_oneshot(s->ctx, virtio_vssd_dataplane_stop_bh, s);
    /* drains; other users may keep the backend in the IOThread: fine */
    blk_set_aio_context(s->conf.blk, qemu_get_aio_context(), NULL);
    vssd_aio_unlock(s->ctx);

    /* after the drain: completions in the IOThread use them */
    k->set_guest_notifiers(qbus->parent, s->nr_req_vqs, false);
}

void virtio_vssd_dataplane_init(VirtIOVSSD *s)
{
    if (!s->iothread) {
        return;
    }
    s->ctx = iothread_get_aio_context(s->iothread);
    s->iothread_bh = aio_bh_new_guarded(s->ctx, virtio_vssd_dataplane_bh, s,
                                        &DEVICE(s)->mem_reentrancy_guard);
}

void virtio_vssd_dataplane_cleanup(VirtIOVSSD *s)
{
    if (s->iothread_started) {
        virtio_vssd_dataplane_stop(s);
    }
    if (s->iothread_bh) {
        qemu_bh_delete(s->iothread_bh);
        s->iothread_bh = NULL;
    }
}
