/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: the request queues. Block requests (READ, WRITE, FLUSH,
 * DISCARD, WRITE_ZEROES, GET_ID) on the block region: parsing, checks
 * against the region and its plugged map, submission to the block backend,
 * completion.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "virtio-vssd-internal.h"
#include "trace.h"

/* One block request, from virtqueue_pop() until it is pushed back. */
typedef struct VirtIOVSSDReq {
    /* the popped chain; first, as virtqueue_pop() allocates the request */
    VirtQueueElement elem;
    /* the device and the request queue it came from */
    VirtIOVSSD *s;
    VirtQueue *vq;
    /* header fields, CPU endian */
    uint16_t type;
    uint16_t flags;
    uint32_t num_sectors;
    uint64_t sector;
    /* bytes of data buffers (READ, WRITE, GET_ID) */
    size_t data_len;
    /* all device-writable bytes of the chain (what we report as used) */
    size_t in_len;
    /* the guest's status byte, the last device-writable byte */
    uint8_t *status;
    /* byte range of the region the request acts on */
    uint64_t offset;
    uint64_t bytes;
    /* data buffers in guest memory (READ, WRITE) */
    QEMUIOVector qiov;
    /* block statistics of the backend */
    BlockAcctCookie acct;
    /* entry in VirtIOVSSD.inflight */
    QLIST_ENTRY(VirtIOVSSDReq) next;
    /* entry in VirtIOVSSD.stopped */
    QSIMPLEQ_ENTRY(VirtIOVSSDReq) stopped_next;
} VirtIOVSSDReq;

static uint64_t virtio_vssd_nb_sectors(const VirtIOVSSD *s)
{
    return s->block.size >> VIRTIO_VSSD_SECTOR_SHIFT;
}

/*
 * The one place where request errors become wire status codes. Errors of
 * the host backend arrive here as -EIO, whatever the backend said.
 */
static uint8_t virtio_vssd_blk_status(int err)
{
    switch (err) {
    case 0:
        return VIRTIO_VSSD_S_OK;
    case -ENOTSUP:
        return VIRTIO_VSSD_S_UNSUPP;
    case -ERANGE:
        return VIRTIO_VSSD_S_RANGE;
    case -ENXIO:
        return VIRTIO_VSSD_S_UNPLUGGED;
    case -EINVAL:
        return VIRTIO_VSSD_S_INVALID;
    default:
        return VIRTIO_VSSD_S_IOERR;
    }
}

static void virtio_vssd_req_init(VirtIOVSSD *s, VirtQueue *vq,
                                 VirtIOVSSDReq *req)
{
    req->s = s;
    req->vq = vq;
    qemu_iovec_init(&req->qiov, 0);
    QLIST_INSERT_HEAD(&s->inflight, req, next);
}

static void virtio_vssd_req_free(VirtIOVSSDReq *req)
{
    QLIST_REMOVE(req, next);
    qemu_iovec_destroy(&req->qiov);
    g_free(req);
}

/* Complete @req with the status for @err, notify the guest, free @req. */
static void virtio_vssd_req_complete(VirtIOVSSDReq *req, int err)
{
    VirtIOVSSD *s = req->s;
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    const uint8_t status = virtio_vssd_blk_status(err);

    trace_virtio_vssd_req_complete(vdev, req, status);
    stb_p(req->status, status);
    virtqueue_push(req->vq, &req->elem, req->in_len);
    if (s->iothread_started) {
        /* IOThread: through the guest notifier set up for it */
        virtio_notify_irqfd(vdev, req->vq);
    } else {
        virtio_notify(vdev, req->vq);
    }
    virtio_vssd_req_free(req);
}

/*
 * A backend error on @req, as rerror (READ) or werror (the others) say:
 * report it to the guest (IOERR), ignore it (OK), or stop the VM and keep
 * the request for a retry when it runs again. Emits BLOCK_IO_ERROR and
 * sets the backend's iostatus as QEMU's other block devices do.
 */
static void virtio_vssd_backend_error(VirtIOVSSD *s, VirtIOVSSDReq *req,
                                      int ret)
{
    BlockBackend *blk = s->conf.blk;
    const bool is_read = req->type == VIRTIO_VSSD_T_READ;
    const BlockErrorAction action = blk_get_error_action(blk, is_read, -ret);

    trace_virtio_vssd_backend_error(VIRTIO_DEVICE(s), req, ret, action);
    if (action == BLOCK_ERROR_ACTION_STOP) {
        QSIMPLEQ_INSERT_TAIL(&s->stopped, req, stopped_next);
    } else {
        block_acct_failed(blk_get_stats(blk), &req->acct);
    }
    blk_error_action(blk, action, is_read, -ret);
    if (action == BLOCK_ERROR_ACTION_REPORT) {
        virtio_vssd_req_complete(req, -EIO);
    } else if (action == BLOCK_ERROR_ACTION_IGNORE) {
        virtio_vssd_req_complete(req, 0);
    }
}

/* Completion of every backend request, in the backend's AioContext. */
static void virtio_vssd_backend_complete(void *opaque, int ret)
{
    VirtIOVSSDReq *req = opaque;
    VirtIOVSSD *s = req->s;
    BlockAcctStats *stats = blk_get_stats(s->conf.blk);
    AioContext *ctx = blk_get_aio_context(s->conf.blk);

    vssd_aio_lock(ctx);
    if (ret < 0) {
        virtio_vssd_backend_error(s, req, ret);
    } else {
        block_acct_done(stats, &req->acct);
        virtio_vssd_req_complete(req, 0);
    }
    vssd_aio_unlock(ctx);
}

/* Whether the header fields that @req's type does not use are zero. */
static bool virtio_vssd_req_unused_zero(const VirtIOVSSDReq *req)
{
    switch (req->type) {
    case VIRTIO_VSSD_T_FLUSH:
    case VIRTIO_VSSD_T_GET_ID:
        return !req->num_sectors && !req->sector;
    case VIRTIO_VSSD_T_READ:
    case VIRTIO_VSSD_T_WRITE:
        return !req->num_sectors;
    default:
        return true;
    }
}

/*
 * Check a parsed request against the region. Sets req->offset and
 * req->bytes. Returns 0 or the error to complete the request with.
 */
static int virtio_vssd_req_check(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    const uint64_t nb_sectors = virtio_vssd_nb_sectors(s);
    uint16_t allowed_flags = 0;

    if (!s->block.size) {
        /* no block region: the request queues exist, serve nothing */
        return -ENOTSUP;
    }

    switch (req->type) {
    case VIRTIO_VSSD_T_READ:
    case VIRTIO_VSSD_T_FLUSH:
    case VIRTIO_VSSD_T_DISCARD:
    case VIRTIO_VSSD_T_GET_ID:
        break;
    case VIRTIO_VSSD_T_WRITE:
        allowed_flags = VIRTIO_VSSD_REQ_F_FUA;
        break;
    case VIRTIO_VSSD_T_WRITE_ZEROES:
        allowed_flags = VIRTIO_VSSD_REQ_F_UNMAP;
        break;
    default:
        return -ENOTSUP;
    }
    if (req->flags & ~allowed_flags) {
        return -ENOTSUP;
    }
    if (!virtio_vssd_req_unused_zero(req)) {
        return -EINVAL;
    }

    switch (req->type) {
    case VIRTIO_VSSD_T_FLUSH:
        return 0;
    case VIRTIO_VSSD_T_GET_ID:
        return req->data_len ? 0 : -EINVAL;
    case VIRTIO_VSSD_T_READ:
    case VIRTIO_VSSD_T_WRITE:
        if (!req->data_len || req->data_len % VIRTIO_VSSD_SECTOR_SIZE ||
            req->data_len > VIRTIO_VSSD_MAX_IO_BYTES) {
            return -EINVAL;
        }
        req->bytes = req->data_len;
        break;
    default: /* DISCARD, WRITE_ZEROES */
        if (!req->num_sectors) {
            return -EINVAL;
        }
        req->bytes = (uint64_t)req->num_sectors << VIRTIO_VSSD_SECTOR_SHIFT;
        break;
    }

    if (req->sector >= nb_sectors ||
        req->bytes >> VIRTIO_VSSD_SECTOR_SHIFT > nb_sectors - req->sector) {
        return -ERANGE;
    }
    req->offset = req->sector << VIRTIO_VSSD_SECTOR_SHIFT;

    if (!virtio_vssd_range_plugged(&s->block, req->offset, req->bytes)) {
        return -ENXIO;
    }
    return 0;
}

/* The data buffers of a READ or WRITE into req->qiov; accounting starts. */
static void virtio_vssd_rw_prepare(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    const bool read = req->type == VIRTIO_VSSD_T_READ;

    if (read) {
        trace_virtio_vssd_read(VIRTIO_DEVICE(s), req, req->sector,
                               req->bytes);
        qemu_iovec_concat_iov(&req->qiov, req->elem.in_sg, req->elem.in_num,
                              0, req->bytes);
    } else {
        trace_virtio_vssd_write(VIRTIO_DEVICE(s), req, req->sector,
                                req->bytes,
                                req->flags & VIRTIO_VSSD_REQ_F_FUA);
        qemu_iovec_concat_iov(&req->qiov, req->elem.out_sg,
                              req->elem.out_num,
                              sizeof(struct virtio_vssd_blk_req), req->bytes);
    }
    block_acct_start(blk_get_stats(s->conf.blk), &req->acct, req->bytes,
                     read ? BLOCK_ACCT_READ : BLOCK_ACCT_WRITE);
}

/* Sends prepared READ or WRITE @req to the backend on its own. */
static void virtio_vssd_rw_issue(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    if (req->type == VIRTIO_VSSD_T_READ) {
        blk_aio_preadv(s->conf.blk, req->offset, &req->qiov, 0,
                       virtio_vssd_backend_complete, req);
    } else {
        blk_aio_pwritev(s->conf.blk, req->offset, &req->qiov,
                        req->flags & VIRTIO_VSSD_REQ_F_FUA ? BDRV_REQ_FUA : 0,
                        virtio_vssd_backend_complete, req);
    }
}

/*
 * Request merging: READs (or WRITEs) popped in one run of the queue that
 * follow each other on the disk go to the backend as one request, like
 * virtio-blk's. A batch holds requests of one type and flags, each
 * starting where the one before ends.
 */
#define VIRTIO_VSSD_BATCH_MAX 32

typedef struct VirtIOVSSDBatch {
    VirtIOVSSDReq *reqs[VIRTIO_VSSD_BATCH_MAX];
    unsigned int nr;
    /* bytes and iovec entries of all of them */
    uint64_t bytes;
    int niov;
} VirtIOVSSDBatch;

/* One backend request for several guest requests. */
typedef struct VirtIOVSSDMerged {
    QEMUIOVector qiov;
    unsigned int nr;
    VirtIOVSSDReq *reqs[];
} VirtIOVSSDMerged;

/* Completion of a merged request: each guest request on its own. */
static void virtio_vssd_merged_complete(void *opaque, int ret)
{
    VirtIOVSSDMerged *m = opaque;
    unsigned int i;

    for (i = 0; i < m->nr; i++) {
        virtio_vssd_backend_complete(m->reqs[i], ret);
    }
    qemu_iovec_destroy(&m->qiov);
    g_free(m);
}

/* Sends the requests of @b to the backend, merged when there are several. */
static void virtio_vssd_batch_issue(VirtIOVSSD *s, VirtIOVSSDBatch *b)
{
    VirtIOVSSDReq *first = b->reqs[0];
    VirtIOVSSDMerged *m;
    unsigned int i;

    if (b->nr <= 1) {
        if (b->nr) {
            virtio_vssd_rw_issue(s, first);
        }
        b->nr = 0;
        return;
    }
    m = g_malloc(sizeof(*m) + b->nr * sizeof(m->reqs[0]));
    m->nr = b->nr;
    qemu_iovec_init(&m->qiov, b->niov);
    for (i = 0; i < b->nr; i++) {
        m->reqs[i] = b->reqs[i];
        qemu_iovec_concat(&m->qiov, &b->reqs[i]->qiov, 0,
                          b->reqs[i]->qiov.size);
    }
    trace_virtio_vssd_merged(VIRTIO_DEVICE(s), first->type, b->nr,
                             first->sector, b->bytes);
    block_acct_merge_done(blk_get_stats(s->conf.blk),
                          first->type == VIRTIO_VSSD_T_READ ?
                          BLOCK_ACCT_READ : BLOCK_ACCT_WRITE, b->nr - 1);
    if (first->type == VIRTIO_VSSD_T_READ) {
        blk_aio_preadv(s->conf.blk, first->offset, &m->qiov, 0,
                       virtio_vssd_merged_complete, m);
    } else {
        blk_aio_pwritev(s->conf.blk, first->offset, &m->qiov,
                        first->flags & VIRTIO_VSSD_REQ_F_FUA ?
                        BDRV_REQ_FUA : 0, virtio_vssd_merged_complete, m);
    }
    b->nr = 0;
}

/* Whether prepared @req may join batch @b. */
static bool virtio_vssd_batch_fits(VirtIOVSSD *s, const VirtIOVSSDBatch *b,
                                   const VirtIOVSSDReq *req)
{
    const VirtIOVSSDReq *last = b->reqs[b->nr - 1];

    return b->nr < VIRTIO_VSSD_BATCH_MAX &&
           req->type == last->type && req->flags == last->flags &&
           req->offset == last->offset + last->bytes &&
           b->bytes + req->bytes <= VIRTIO_VSSD_MAX_IO_BYTES &&
           b->niov + req->qiov.niov <= blk_get_max_iov(s->conf.blk);
}

/* Adds prepared READ or WRITE @req to @b, sending @b first if it must. */
static void virtio_vssd_batch_add(VirtIOVSSD *s, VirtIOVSSDBatch *b,
                                  VirtIOVSSDReq *req)
{
    if (b->nr && !virtio_vssd_batch_fits(s, b, req)) {
        virtio_vssd_batch_issue(s, b);
    }
    if (!b->nr) {
        b->bytes = 0;
        b->niov = 0;
    }
    b->reqs[b->nr++] = req;
    b->bytes += req->bytes;
    b->niov += req->qiov.niov;
}

static void virtio_vssd_do_flush(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    trace_virtio_vssd_flush(VIRTIO_DEVICE(s), req);
    block_acct_start(blk_get_stats(s->conf.blk), &req->acct, 0,
                     BLOCK_ACCT_FLUSH);
    blk_aio_flush(s->conf.blk, virtio_vssd_backend_complete, req);
}

/*
 * DISCARD promises that the range reads as zeroes afterwards, which a plain
 * discard does not (discard=ignore, unaligned heads and tails): write zeroes
 * and let the backend deallocate only if the user allowed it
 * (discard=unmap, where a file gets a hole).
 */
static void virtio_vssd_do_discard(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    trace_virtio_vssd_discard(VIRTIO_DEVICE(s), req, req->sector,
                              req->num_sectors);
    block_acct_start(blk_get_stats(s->conf.blk), &req->acct, req->bytes,
                     BLOCK_ACCT_UNMAP);
    blk_aio_pwrite_zeroes(s->conf.blk, req->offset, req->bytes,
                          s->unmap_flags, virtio_vssd_backend_complete, req);
}

static void virtio_vssd_do_write_zeroes(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    const bool unmap = req->flags & VIRTIO_VSSD_REQ_F_UNMAP;

    trace_virtio_vssd_write_zeroes(VIRTIO_DEVICE(s), req, req->sector,
                                   req->num_sectors, unmap);
    block_acct_start(blk_get_stats(s->conf.blk), &req->acct, req->bytes,
                     BLOCK_ACCT_WRITE);
    blk_aio_pwrite_zeroes(s->conf.blk, req->offset, req->bytes,
                          unmap ? s->unmap_flags : 0,
                          virtio_vssd_backend_complete, req);
}

static void virtio_vssd_do_get_id(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    char id[VIRTIO_VSSD_ID_BYTES] = {};

    trace_virtio_vssd_get_id(VIRTIO_DEVICE(s), req);
    if (s->serial) {
        memcpy(id, s->serial, MIN(strlen(s->serial), sizeof(id)));
    }
    iov_from_buf(req->elem.in_sg, req->elem.in_num, 0, id,
                 MIN(sizeof(id), req->data_len));
    virtio_vssd_req_complete(req, 0);
}

static void virtio_vssd_req_submit(VirtIOVSSD *s, VirtIOVSSDReq *req,
                                   VirtIOVSSDBatch *batch);

/*
 * Parse and start one block request. Returns -1 if the chain is malformed:
 * the device is then broken and the caller detaches and frees @req.
 * Otherwise @req is completed or owned by the backend.
 */
static int virtio_vssd_handle_req(VirtIOVSSD *s, VirtQueue *vq,
                                  VirtIOVSSDReq *req, VirtIOVSSDBatch *batch)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    VirtQueueElement *elem = &req->elem;
    struct virtio_vssd_blk_req hdr;
    const size_t out_len = iov_size(elem->out_sg, elem->out_num);
    size_t data_out, data_in;
    struct iovec *last;
    const char *malformed = NULL;

    if (out_len < sizeof(hdr)) {
        malformed = "no device-readable request header";
    } else if (!elem->in_num) {
        malformed = "no device-writable status byte";
    }
    if (malformed) {
        goto malformed;
    }

    iov_to_buf(elem->out_sg, elem->out_num, 0, &hdr, sizeof(hdr));
    req->type = le16_to_cpu(hdr.type);
    req->flags = le16_to_cpu(hdr.flags);
    req->num_sectors = le32_to_cpu(hdr.num_sectors);
    req->sector = le64_to_cpu(hdr.sector);

    /* virtqueue_pop() refuses zero-sized buffers: the last one holds it */
    req->in_len = iov_size(elem->in_sg, elem->in_num);
    last = &elem->in_sg[elem->in_num - 1];
    req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    data_out = out_len - sizeof(hdr);
    data_in = req->in_len - 1;

    switch (req->type) {
    case VIRTIO_VSSD_T_READ:
    case VIRTIO_VSSD_T_GET_ID:
        if (data_out) {
            malformed = "device-readable data in a READ or GET_ID request";
        }
        req->data_len = data_in;
        break;
    case VIRTIO_VSSD_T_WRITE:
        if (data_in) {
            malformed = "device-writable data in a WRITE request";
        }
        req->data_len = data_out;
        break;
    case VIRTIO_VSSD_T_FLUSH:
    case VIRTIO_VSSD_T_DISCARD:
    case VIRTIO_VSSD_T_WRITE_ZEROES:
        if (data_in || data_out) {
            malformed = "data buffers in a FLUSH, DISCARD or WRITE_ZEROES "
                        "request";
        }
        break;
    default:
        /* unknown types are refused below whatever their layout */
        break;
    }
    if (malformed) {
        goto malformed;
    }

    virtio_vssd_req_init(s, vq, req);
    virtio_vssd_req_submit(s, req, batch);
    return 0;

malformed:
    trace_virtio_vssd_malformed(vdev, virtio_get_queue_index(vq), malformed);
    virtio_error(vdev, "virtio-vssd: malformed block request: %s",
                 malformed);
    return -1;
}

/*
 * Check a parsed @req against the region (again, for a retry: the plugged
 * map may have changed meanwhile) and start it, or complete it with the
 * error. READs and WRITEs go through @batch, the others (and everything
 * without a batch) at once, after what @batch holds.
 */
static void virtio_vssd_req_submit(VirtIOVSSD *s, VirtIOVSSDReq *req,
                                   VirtIOVSSDBatch *batch)
{
    const int err = virtio_vssd_req_check(s, req);

    if (err) {
        trace_virtio_vssd_req_refused(VIRTIO_DEVICE(s), req, req->type,
                                      req->flags, req->sector, err);
        virtio_vssd_req_complete(req, err);
        return;
    }
    if (req->type == VIRTIO_VSSD_T_READ || req->type == VIRTIO_VSSD_T_WRITE) {
        virtio_vssd_rw_prepare(s, req);
        if (batch) {
            virtio_vssd_batch_add(s, batch, req);
        } else {
            virtio_vssd_rw_issue(s, req);
        }
        return;
    }
    if (batch) {
        virtio_vssd_batch_issue(s, batch);
    }

    switch (req->type) {
    case VIRTIO_VSSD_T_FLUSH:
        virtio_vssd_do_flush(s, req);
        break;
    case VIRTIO_VSSD_T_DISCARD:
        virtio_vssd_do_discard(s, req);
        break;
    case VIRTIO_VSSD_T_WRITE_ZEROES:
        virtio_vssd_do_write_zeroes(s, req);
        break;
    case VIRTIO_VSSD_T_GET_ID:
        virtio_vssd_do_get_id(s, req);
        break;
    default:
        g_assert_not_reached(); /* virtio_vssd_req_check() refused it */
    }
}

void virtio_vssd_blk_handle_vq(VirtIOVSSD *s, VirtQueue *vq)
{
    BlockBackend *blk = s->conf.blk;
    /*
     * Runs in the AioContext of the block backend (an IOThread's once
     * virtio_vssd_dataplane_start() has moved it); without a block region
     * every request is refused in the main loop.
     */
    AioContext *ctx = blk ? blk_get_aio_context(blk) : qemu_get_aio_context();
    const bool suppress_notifications = virtio_queue_get_notification(vq);
    VirtIOVSSDBatch batch = { .nr = 0 };
    VirtIOVSSDReq *req;

    vssd_aio_lock(ctx);
    defer_call_begin();
    do {
        if (suppress_notifications) {
            virtio_queue_set_notification(vq, 0);
        }
        while ((req = virtqueue_pop(vq, sizeof(VirtIOVSSDReq)))) {
            if (virtio_vssd_handle_req(s, vq, req, &batch) < 0) {
                virtqueue_detach_element(vq, &req->elem, 0);
                g_free(req);
                break;
            }
        }
        virtio_vssd_batch_issue(s, &batch);
        if (suppress_notifications) {
            virtio_queue_set_notification(vq, 1);
        }
        /* empty once the device is broken */
    } while (!virtio_queue_empty(vq));
    defer_call_end();
    vssd_aio_unlock(ctx);
}

/* Kick of a request queue (main loop or vCPU thread, BQL held). */
void virtio_vssd_blk_handle_output(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);

    if (s->iothread_started) {
        qemu_bh_schedule(s->iothread_bh);
        return;
    }
    virtio_vssd_blk_handle_vq(s, vq);
}

/* In the backend's AioContext: resubmit every stopped request. */
static void virtio_vssd_blk_retry_bh(void *opaque)
{
    VirtIOVSSD *s = opaque;
    AioContext *ctx = blk_get_aio_context(s->conf.blk);
    VirtIOVSSDReq *req;

    vssd_aio_lock(ctx);
    defer_call_begin();
    while ((req = QSIMPLEQ_FIRST(&s->stopped))) {
        QSIMPLEQ_REMOVE_HEAD(&s->stopped, stopped_next);
        trace_virtio_vssd_req_retry(VIRTIO_DEVICE(s), req);
        qemu_iovec_reset(&req->qiov);
        virtio_vssd_req_submit(s, req, NULL);
    }
    defer_call_end();
    vssd_aio_unlock(ctx);
}

void virtio_vssd_blk_retry_stopped(VirtIOVSSD *s)
{
    if (s->conf.blk && !QSIMPLEQ_EMPTY(&s->stopped)) {
        /*
         * "cont" resets only the monitor's own backends; ours is the
         * device's (-blockdev): its error is being retried, not pending
         */
        blk_iostatus_reset(s->conf.blk);
        aio_bh_schedule_oneshot(blk_get_aio_context(s->conf.blk),
                                virtio_vssd_blk_retry_bh, s);
    }
}

void virtio_vssd_blk_drop_stopped(VirtIOVSSD *s)
{
    VirtIOVSSDReq *req;

    while ((req = QSIMPLEQ_FIRST(&s->stopped))) {
        QSIMPLEQ_REMOVE_HEAD(&s->stopped, stopped_next);
        virtqueue_detach_element(req->vq, &req->elem, 0);
        virtio_vssd_req_free(req);
    }
}

unsigned int virtio_vssd_blk_nr_inflight(VirtIOVSSD *s)
{
    VirtIOVSSDReq *req;
    unsigned int n = 0;

    QLIST_FOREACH(req, &s->inflight, next) {
        n++;
    }
    return n;
}
