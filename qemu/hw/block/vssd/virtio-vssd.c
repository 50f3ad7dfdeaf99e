/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd device: a block region backed by a QEMU block backend and a
 * persistent-memory region backed by a memory backend, both made of
 * fixed-size blocks that can be plugged and unplugged.
 *
 * The wire protocol is include/standard-headers/linux/virtio_vssd.h.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/madvise.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/qapi-events-vssd.h"
#include "qapi/visitor.h"
#include "block/aio-wait.h"
#include "block/thread-pool.h"
#include "exec/memory.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/virtio/virtio-bus.h"
#include "migration/misc.h"
#include "migration/vmstate.h"
#include "sysemu/block-backend.h"
#include "sysemu/blockdev.h"
#include "hw/block/vssd/virtio-vssd.h"
#include "hw/block/vssd/vssd-state.h"
#include "trace.h"

/* Largest write-zeroes request when (un)plugging blocks. */
#define VIRTIO_VSSD_MAX_ZERO_BYTES (1 * GiB)

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
} VirtIOVSSDReq;

/* --- block region helpers --- */

static uint64_t virtio_vssd_nb_sectors(const VirtIOVSSD *s)
{
    return s->block.size >> VIRTIO_VSSD_SECTOR_SHIFT;
}

/*
 * Whether every block of @r touched by [offset, offset + bytes) is plugged
 * (@bytes > 0, the range inside the region).
 */
static bool virtio_vssd_range_plugged(const VirtIOVSSDRegion *r,
                                      uint64_t offset, uint64_t bytes)
{
    const uint64_t first = offset / r->block_size;
    const uint64_t last = (offset + bytes - 1) / r->block_size;

    return find_next_zero_bit(r->plugged, last + 1, first) > last;
}

VirtIOVSSDRegion *virtio_vssd_get_region(VirtIOVSSD *s, uint16_t id)
{
    switch (id) {
    case VIRTIO_VSSD_REGION_BLOCK:
        return s->block.size ? &s->block : NULL;
    case VIRTIO_VSSD_REGION_PMEM:
        return s->pmem.size ? &s->pmem : NULL;
    default:
        return NULL;
    }
}

/* Where refusals of requests for an absent region are counted. */
static VirtIOVSSDRegion *virtio_vssd_default_region(VirtIOVSSD *s)
{
    return s->block.size ? &s->block : &s->pmem;
}

static const char *virtio_vssd_region_name(const VirtIOVSSDRegion *r)
{
    return r->id == VIRTIO_VSSD_REGION_PMEM ? "pmem" : "block";
}

DeviceState *virtio_vssd_get_transport(VirtIOVSSD *s)
{
    BusState *bus = qdev_get_parent_bus(DEVICE(s));

    return bus && bus->parent ? bus->parent : DEVICE(s);
}

static SsdBalloonRegion virtio_vssd_qapi_region(uint16_t id)
{
    return id == VIRTIO_VSSD_REGION_PMEM ? SSD_BALLOON_REGION_PMEM
                                         : SSD_BALLOON_REGION_BLOCK;
}

static uint16_t virtio_vssd_region_id(SsdBalloonRegion region)
{
    return region == SSD_BALLOON_REGION_PMEM ? VIRTIO_VSSD_REGION_PMEM
                                             : VIRTIO_VSSD_REGION_BLOCK;
}

/* The regions as the state file sees them; returns how many. */
static unsigned virtio_vssd_state_regions(VirtIOVSSD *s,
                                          VSSDStateRegion *out)
{
    static const uint16_t ids[] = {
        VIRTIO_VSSD_REGION_BLOCK, VIRTIO_VSSD_REGION_PMEM,
    };
    unsigned i, nr = 0;

    QEMU_BUILD_BUG_ON(G_N_ELEMENTS(ids) > VSSD_STATE_MAX_REGIONS);
    for (i = 0; i < G_N_ELEMENTS(ids); i++) {
        VirtIOVSSDRegion *r = virtio_vssd_get_region(s, ids[i]);

        if (r) {
            out[nr++] = (VSSDStateRegion) {
                .id = r->id,
                .block_size = r->block_size,
                .nb_blocks = r->nb_blocks,
                .plugged = r->plugged,
            };
        }
    }
    return nr;
}

/* Replaces the state file (if any) with the current plugged maps. */
static bool virtio_vssd_save_state(VirtIOVSSD *s, Error **errp)
{
    VSSDStateRegion regions[VSSD_STATE_MAX_REGIONS];
    const unsigned nr = virtio_vssd_state_regions(s, regions);

    if (!s->state_file) {
        return true;
    }
    if (!vssd_state_save(s->state_file, regions, nr, errp)) {
        error_prepend(errp, "'%s' property: ", VIRTIO_VSSD_STATE_FILE_PROP);
        return false;
    }
    return true;
}

/*
 * The plugged size of @r changed, or a target was set: finish the resize
 * if the target is reached and tell QMP clients (rate-limited event).
 */
static void virtio_vssd_resize_changed(VirtIOVSSD *s, VirtIOVSSDRegion *r)
{
    DeviceState *dev = virtio_vssd_get_transport(s);
    g_autofree char *qom_path = object_get_canonical_path(OBJECT(dev));

    if (r->nb_plugged == r->requested_blocks && r->resize_start_ms >= 0) {
        r->last_resize_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) -
                            r->resize_start_ms;
        r->resize_start_ms = -1;
        trace_virtio_vssd_resize_done(VIRTIO_DEVICE(s), r->id, r->nb_plugged,
                                      r->last_resize_ms);
    }
    qapi_event_send_ssd_balloon_change(dev->id ?: qom_path, qom_path,
                                       virtio_vssd_qapi_region(r->id),
                                       r->nb_plugged * r->block_size,
                                       r->requested_blocks * r->block_size);
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

/* --- block requests --- */

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
    if (qemu_in_main_thread()) {
        virtio_notify(vdev, req->vq);
    } else {
        /* IOThread: through the guest notifier, set up for it */
        virtio_notify_irqfd(vdev, req->vq);
    }
    virtio_vssd_req_free(req);
}

/* Completion of every backend request, in the backend's AioContext. */
static void virtio_vssd_backend_complete(void *opaque, int ret)
{
    VirtIOVSSDReq *req = opaque;
    VirtIOVSSD *s = req->s;
    BlockAcctStats *stats = blk_get_stats(s->conf.blk);
    AioContext *ctx = blk_get_aio_context(s->conf.blk);

    aio_context_acquire(ctx);
    if (ret < 0) {
        trace_virtio_vssd_backend_error(VIRTIO_DEVICE(s), req, ret);
        warn_report_once("virtio-vssd: I/O error on the block region "
                         "backend: %s", strerror(-ret));
        block_acct_failed(stats, &req->acct);
        virtio_vssd_req_complete(req, -EIO);
    } else {
        block_acct_done(stats, &req->acct);
        virtio_vssd_req_complete(req, 0);
    }
    aio_context_release(ctx);
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

    switch (req->type) {
    case VIRTIO_VSSD_T_FLUSH:
        return 0;
    case VIRTIO_VSSD_T_GET_ID:
        return req->data_len ? 0 : -EINVAL;
    case VIRTIO_VSSD_T_READ:
    case VIRTIO_VSSD_T_WRITE:
        if (!req->data_len || req->data_len % VIRTIO_VSSD_SECTOR_SIZE ||
            req->data_len > BDRV_REQUEST_MAX_BYTES) {
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

static void virtio_vssd_do_read(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    trace_virtio_vssd_read(VIRTIO_DEVICE(s), req, req->sector, req->bytes);
    qemu_iovec_concat_iov(&req->qiov, req->elem.in_sg, req->elem.in_num, 0,
                          req->bytes);
    block_acct_start(blk_get_stats(s->conf.blk), &req->acct, req->bytes,
                     BLOCK_ACCT_READ);
    blk_aio_preadv(s->conf.blk, req->offset, &req->qiov, 0,
                   virtio_vssd_backend_complete, req);
}

static void virtio_vssd_do_write(VirtIOVSSD *s, VirtIOVSSDReq *req)
{
    const bool fua = req->flags & VIRTIO_VSSD_REQ_F_FUA;

    trace_virtio_vssd_write(VIRTIO_DEVICE(s), req, req->sector, req->bytes,
                            fua);
    qemu_iovec_concat_iov(&req->qiov, req->elem.out_sg, req->elem.out_num,
                          sizeof(struct virtio_vssd_blk_req), req->bytes);
    block_acct_start(blk_get_stats(s->conf.blk), &req->acct, req->bytes,
                     BLOCK_ACCT_WRITE);
    blk_aio_pwritev(s->conf.blk, req->offset, &req->qiov,
                    fua ? BDRV_REQ_FUA : 0, virtio_vssd_backend_complete, req);
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

/*
 * Parse and start one block request. Returns -1 if the chain is malformed:
 * the device is then broken and the caller detaches and frees @req.
 * Otherwise @req is completed or owned by the backend.
 */
static int virtio_vssd_handle_req(VirtIOVSSD *s, VirtQueue *vq,
                                  VirtIOVSSDReq *req)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    VirtQueueElement *elem = &req->elem;
    struct virtio_vssd_blk_req hdr;
    const size_t out_len = iov_size(elem->out_sg, elem->out_num);
    size_t data_out, data_in;
    struct iovec *last;
    const char *malformed = NULL;
    int err;

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
    err = virtio_vssd_req_check(s, req);
    if (err) {
        trace_virtio_vssd_req_refused(vdev, req, req->type, req->flags,
                                      req->sector, err);
        virtio_vssd_req_complete(req, err);
        return 0;
    }

    switch (req->type) {
    case VIRTIO_VSSD_T_READ:
        virtio_vssd_do_read(s, req);
        break;
    case VIRTIO_VSSD_T_WRITE:
        virtio_vssd_do_write(s, req);
        break;
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
    return 0;

malformed:
    trace_virtio_vssd_malformed(vdev, virtio_get_queue_index(vq), malformed);
    virtio_error(vdev, "virtio-vssd: malformed block request: %s",
                 malformed);
    return -1;
}

/* --- control requests --- */

/*
 * GET_MAP: write the plugged ranges from block @first on, as many as fit
 * after the response header. Returns a NACK reason or 0.
 */
static int virtio_vssd_ctrl_get_map(VirtIOVSSD *s,
                                    VirtQueueElement *elem,
                                    uint16_t region, uint64_t first,
                                    struct virtio_vssd_ctrl_resp *resp)
{
    const size_t in_len = iov_size(elem->in_sg, elem->in_num);
    const uint64_t max_ranges = MIN((in_len - sizeof(*resp)) /
                                    sizeof(struct virtio_vssd_range),
                                    VIRTIO_VSSD_MAX_RANGES);
    VirtIOVSSDRegion *r = virtio_vssd_get_region(s, region);
    uint32_t nr_ranges = 0;
    uint64_t block;

    if (!r || !max_ranges) {
        return VIRTIO_VSSD_R_BAD_REQUEST;
    }
    if (first > r->nb_blocks) {
        return VIRTIO_VSSD_R_RANGE;
    }

    block = find_next_bit(r->plugged, r->nb_blocks, first);
    while (nr_ranges < max_ranges && block < r->nb_blocks) {
        const uint64_t end = find_next_zero_bit(r->plugged, r->nb_blocks,
                                                block);
        const struct virtio_vssd_range range = {
            .first = cpu_to_le64(block),
            .count = cpu_to_le64(end - block),
        };

        iov_from_buf(elem->in_sg, elem->in_num,
                     sizeof(*resp) + nr_ranges * sizeof(range),
                     &range, sizeof(range));
        nr_ranges++;
        block = find_next_bit(r->plugged, r->nb_blocks, end);
    }
    block = MIN(block, r->nb_blocks);

    trace_virtio_vssd_ctrl_get_map(VIRTIO_DEVICE(s), first, nr_ranges, block);
    resp->nr_ranges = cpu_to_le32(nr_ranges);
    resp->next = cpu_to_le64(block);
    return 0;
}

/* --- resize requests --- */

/*
 * Every resize request answers with an int: 0 (ACK), a NACK reason
 * (VIRTIO_VSSD_R_*, > 0), -EBUSY (BUSY) or another negative errno (ERROR).
 * virtio_vssd_ctrl_status() turns it into the wire status.
 */

/* Layout of UNPLUG and PLUG: @nr ranges follow the header, no more. */
static int virtio_vssd_check_range_list(VirtQueueElement *elem, uint64_t nr)
{
    const size_t bytes = iov_size(elem->out_sg, elem->out_num) -
                         sizeof(struct virtio_vssd_ctrl_req);

    if (!nr || nr > VIRTIO_VSSD_MAX_RANGES) {
        return VIRTIO_VSSD_R_BAD_REQUEST;
    }
    if (bytes < nr * sizeof(struct virtio_vssd_range)) {
        return VIRTIO_VSSD_R_TRUNCATED;
    }
    if (bytes > nr * sizeof(struct virtio_vssd_range)) {
        return VIRTIO_VSSD_R_BAD_REQUEST;
    }
    return 0;
}

/*
 * Checks common to the resize requests, after their layout: the region,
 * migration, the generation and the direction (@shrink: the request gives
 * blocks back). Sets *@rp on success.
 */
static int virtio_vssd_check_resize(VirtIOVSSD *s, uint16_t region,
                                    uint32_t generation, bool shrink,
                                    VirtIOVSSDRegion **rp)
{
    VirtIOVSSDRegion *r = virtio_vssd_get_region(s, region);

    if (!r) {
        return VIRTIO_VSSD_R_BAD_REQUEST;
    }
    if (!migration_is_idle()) {
        return -EBUSY;
    }
    if (generation != s->resize_generation) {
        return VIRTIO_VSSD_R_STALE;
    }
    if (shrink ? r->nb_plugged <= r->requested_blocks
               : r->nb_plugged >= r->requested_blocks) {
        return VIRTIO_VSSD_R_NOT_REQUESTED;
    }
    *rp = r;
    return 0;
}

static int virtio_vssd_range_cmp(const void *a, const void *b)
{
    const struct virtio_vssd_range *ra = a, *rb = b;

    return ra->first < rb->first ? -1 : ra->first > rb->first;
}

/*
 * Reads the @nr ranges after the request header (host byte order, sorted
 * into @ranges) and checks them against @r: each non-empty and inside the
 * region, no block twice, every block plugged (@plug false) or unplugged
 * (@plug true). Sets *@nr_blocks to the blocks they hold.
 */
static int virtio_vssd_read_ranges(VirtIOVSSDRegion *r,
                                   VirtQueueElement *elem, uint64_t nr,
                                   bool plug,
                                   struct virtio_vssd_range *ranges,
                                   uint64_t *nr_blocks)
{
    uint64_t i, total = 0;

    iov_to_buf(elem->out_sg, elem->out_num,
               sizeof(struct virtio_vssd_ctrl_req), ranges,
               nr * sizeof(*ranges));
    for (i = 0; i < nr; i++) {
        ranges[i].first = le64_to_cpu(ranges[i].first);
        ranges[i].count = le64_to_cpu(ranges[i].count);
        if (!ranges[i].count) {
            return VIRTIO_VSSD_R_BAD_REQUEST;
        }
        if (ranges[i].first >= r->nb_blocks ||
            ranges[i].count > r->nb_blocks - ranges[i].first) {
            return VIRTIO_VSSD_R_RANGE;
        }
    }

    qsort(ranges, nr, sizeof(*ranges), virtio_vssd_range_cmp);
    for (i = 1; i < nr; i++) {
        if (ranges[i].first < ranges[i - 1].first + ranges[i - 1].count) {
            return VIRTIO_VSSD_R_DUPLICATE;
        }
    }

    for (i = 0; i < nr; i++) {
        const uint64_t end = ranges[i].first + ranges[i].count;

        if (plug && find_next_bit(r->plugged, end, ranges[i].first) < end) {
            return VIRTIO_VSSD_R_PLUGGED;
        }
        if (!plug &&
            find_next_zero_bit(r->plugged, end, ranges[i].first) < end) {
            return VIRTIO_VSSD_R_NOT_PLUGGED;
        }
        total += ranges[i].count;
    }
    *nr_blocks = total;
    return 0;
}

/*
 * Discards @count blocks of the pmem region from @first: a hole in the
 * memdev's file (shared file mappings), or its pages freed (shared
 * anonymous memory). Either way the blocks read as zeroes afterwards, in
 * the guest's mapping too.
 */
static int virtio_vssd_discard_pmem(VirtIOVSSD *s, uint64_t first,
                                    uint64_t count)
{
    RAMBlock *rb = host_memory_backend_get_memory(s->memdev)->ram_block;
    const int ret = ram_block_discard_range(rb, first * s->pmem.block_size,
                                            count * s->pmem.block_size);

    return ret < 0 ? ret : 0;
}

/*
 * Zeroes @count blocks of @r from @first on the host, freeing their
 * storage where it can: the pmem region always, the block region where
 * the backend can (a hole in a file with discard=unmap); they read as
 * zeroes even with discard=ignore. Called with the backend's AioContext
 * held.
 */
static int virtio_vssd_zero_blocks(VirtIOVSSD *s, VirtIOVSSDRegion *r,
                                   uint64_t first, uint64_t count)
{
    uint64_t offset = first * r->block_size;
    uint64_t bytes = count * r->block_size;

    if (r == &s->pmem) {
        return virtio_vssd_discard_pmem(s, first, count);
    }
    while (bytes) {
        const uint64_t n = MIN(bytes, VIRTIO_VSSD_MAX_ZERO_BYTES);
        const int ret = blk_pwrite_zeroes(s->conf.blk, offset, n,
                                          BDRV_REQ_MAY_UNMAP);

        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
    }
    return 0;
}

static void virtio_vssd_mark(VirtIOVSSDRegion *r,
                             const struct virtio_vssd_range *ranges,
                             uint32_t nr, bool plugged)
{
    uint32_t i;

    for (i = 0; i < nr; i++) {
        if (plugged) {
            bitmap_set(r->plugged, ranges[i].first, ranges[i].count);
        } else {
            bitmap_clear(r->plugged, ranges[i].first, ranges[i].count);
        }
    }
    r->nb_plugged = bitmap_count_one(r->plugged, r->nb_blocks);
}

/*
 * Plugs (@plug) or unplugs the checked @ranges of @r. Unplugged blocks are
 * refused to new requests at once; block requests in flight are drained
 * before the blocks are zeroed on the host, so no write lands after the
 * hole is punched. Plugged blocks are zeroed before the guest can use
 * them (in the pmem region they are discarded again: whatever a guest
 * wrote to them while unplugged is gone). The state file is saved last.
 * Returns 0, or -EIO with the map as it was before.
 */
static int virtio_vssd_apply(VirtIOVSSD *s, VirtIOVSSDRegion *r,
                             const struct virtio_vssd_range *ranges,
                             uint32_t nr, uint64_t nr_blocks, bool plug)
{
    const bool block = r == &s->block;
    AioContext *ctx = block ? blk_get_aio_context(s->conf.blk)
                            : qemu_get_aio_context();
    Error *local_err = NULL;
    uint32_t i;
    int ret = 0;

    aio_context_acquire(ctx);
    if (!plug) {
        virtio_vssd_mark(r, ranges, nr, false);
        if (block) {
            blk_drain(s->conf.blk);
        }
    }
    for (i = 0; i < nr && !ret; i++) {
        ret = virtio_vssd_zero_blocks(s, r, ranges[i].first, ranges[i].count);
    }
    if (plug && !ret) {
        virtio_vssd_mark(r, ranges, nr, true);
    }
    aio_context_release(ctx);

    if (ret < 0) {
        warn_report_once("virtio-vssd: cannot zero blocks of the %s region "
                         "on the host: %s", virtio_vssd_region_name(r),
                         strerror(-ret));
    } else if (!virtio_vssd_save_state(s, &local_err)) {
        warn_report_once("virtio-vssd: %s", error_get_pretty(local_err));
        error_free(local_err);
        ret = -EIO;
    }
    trace_virtio_vssd_resize_apply(VIRTIO_DEVICE(s), r->id, plug, nr,
                                   nr_blocks, ret);
    if (ret < 0) {
        aio_context_acquire(ctx);
        virtio_vssd_mark(r, ranges, nr, !plug);
        aio_context_release(ctx);
        return -EIO;
    }

    if (plug) {
        r->stats.blocks_granted += nr_blocks;
    } else {
        r->stats.blocks_evicted += nr_blocks;
    }
    virtio_vssd_resize_changed(s, r);
    return 0;
}

/*
 * UNPLUG (@plug false): the guest gives back the listed blocks (policy
 * guest). PLUG (@plug true): the guest takes the listed blocks back. The
 * whole list is checked before anything changes.
 */
static int virtio_vssd_ctrl_list(VirtIOVSSD *s, VirtQueueElement *elem,
                                 uint16_t region, uint32_t generation,
                                 uint64_t nr, bool plug)
{
    g_autofree struct virtio_vssd_range *ranges = NULL;
    VirtIOVSSDRegion *r = NULL;
    uint64_t nr_blocks, wanted;
    int ret;

    ret = virtio_vssd_check_range_list(elem, nr);
    if (!ret) {
        ret = virtio_vssd_check_resize(s, region, generation, !plug, &r);
    }
    if (ret) {
        return ret;
    }
    if (!plug && r->policy != VIRTIO_VSSD_POLICY_GUEST) {
        return VIRTIO_VSSD_R_NOT_REQUESTED;
    }
    ranges = g_new(struct virtio_vssd_range, nr);
    ret = virtio_vssd_read_ranges(r, elem, nr, plug, ranges, &nr_blocks);
    if (ret) {
        return ret;
    }
    wanted = plug ? r->requested_blocks - r->nb_plugged :
                    r->nb_plugged - r->requested_blocks;
    if (nr_blocks > wanted) {
        return VIRTIO_VSSD_R_TOO_MANY;
    }
    return virtio_vssd_apply(s, r, ranges, nr, nr_blocks, plug);
}

/*
 * The first blocks of @r that a host-policy shrink never takes: those of
 * the pmem region's first VIRTIO_VSSD_PMEM_RESERVED_BYTES, where a driver
 * keeps its metadata.
 */
static uint64_t virtio_vssd_host_reserved(const VirtIOVSSDRegion *r)
{
    if (r->id != VIRTIO_VSSD_REGION_PMEM) {
        return 0;
    }
    return MIN(DIV_ROUND_UP(VIRTIO_VSSD_PMEM_RESERVED_BYTES, r->block_size),
               r->nb_blocks);
}

/*
 * Samples exactly @want of the plugged blocks of @r from block @first on,
 * @eligible of them, uniformly at random (selection sampling: each in turn
 * with probability needed/remaining), as ranges in block order. Returns
 * the number of ranges, or 0 when they would not fit in @max.
 */
static uint32_t virtio_vssd_sample_blocks(VirtIOVSSDRegion *r, uint64_t first,
                                          uint64_t eligible, uint64_t want,
                                          uint32_t max,
                                          struct virtio_vssd_range *ranges)
{
    uint64_t remaining = eligible, picked = 0, block;
    uint32_t nr = 0;

    for (block = find_next_bit(r->plugged, r->nb_blocks, first);
         block < r->nb_blocks && picked < want;
         block = find_next_bit(r->plugged, r->nb_blocks, block + 1)) {
        /* nb_blocks <= INT32_MAX (realize) */
        if (g_random_int_range(0, remaining) < want - picked) {
            if (nr && ranges[nr - 1].first + ranges[nr - 1].count == block) {
                ranges[nr - 1].count++;
            } else if (nr < max) {
                ranges[nr++] = (struct virtio_vssd_range) { block, 1 };
            } else {
                return 0;
            }
            picked++;
        }
        remaining--;
    }
    return nr;
}

/*
 * Picks @want plugged blocks of @r uniformly at random as at most @max
 * ranges; when a uniform choice of that many does not fit, picks @max of
 * them instead (which always fit), so that every round of a host-policy
 * shrink is a uniform choice among the blocks still plugged and the whole
 * shrink is one too. Reserved blocks (virtio_vssd_host_reserved()) are
 * never picked, so fewer than @want may come back, maybe none. Returns
 * the number of ranges, the blocks in *@nr_blocks.
 */
static uint32_t virtio_vssd_pick_blocks(VirtIOVSSDRegion *r, uint64_t want,
                                        uint32_t max,
                                        struct virtio_vssd_range *ranges,
                                        uint64_t *nr_blocks)
{
    const uint64_t first = virtio_vssd_host_reserved(r);
    const uint64_t eligible = r->nb_plugged -
                              bitmap_count_one(r->plugged, first);
    uint32_t nr, i;

    want = MIN(want, eligible);
    nr = want ? virtio_vssd_sample_blocks(r, first, eligible, want, max,
                                          ranges) : 0;
    if (!nr && want) {
        want = MIN(want, max);
        nr = virtio_vssd_sample_blocks(r, first, eligible, want, max, ranges);
    }
    *nr_blocks = 0;
    for (i = 0; i < nr; i++) {
        *nr_blocks += ranges[i].count;
    }
    return nr;
}

/*
 * UNPLUG_HOST (policy host): the device picks @want plugged blocks,
 * unplugs them and returns them as ranges after @resp.
 */
static int virtio_vssd_ctrl_unplug_host(VirtIOVSSD *s, VirtQueueElement *elem,
                                        uint16_t region, uint32_t generation,
                                        uint64_t want,
                                        struct virtio_vssd_ctrl_resp *resp)
{
    const size_t out_len = iov_size(elem->out_sg, elem->out_num);
    const size_t in_len = iov_size(elem->in_sg, elem->in_num);
    const uint32_t max = MIN((in_len - sizeof(*resp)) /
                             sizeof(struct virtio_vssd_range),
                             VIRTIO_VSSD_MAX_RANGES);
    g_autofree struct virtio_vssd_range *ranges = NULL;
    VirtIOVSSDRegion *r = NULL;
    uint64_t nr_blocks;
    uint32_t nr, i;
    int ret;

    if (out_len != sizeof(struct virtio_vssd_ctrl_req) || !max || !want) {
        return VIRTIO_VSSD_R_BAD_REQUEST;
    }
    ret = virtio_vssd_check_resize(s, region, generation, true, &r);
    if (ret) {
        return ret;
    }
    if (r->policy != VIRTIO_VSSD_POLICY_HOST) {
        return VIRTIO_VSSD_R_NOT_REQUESTED;
    }
    if (want > r->nb_plugged - r->requested_blocks) {
        return VIRTIO_VSSD_R_TOO_MANY;
    }

    ranges = g_new(struct virtio_vssd_range, max);
    nr = virtio_vssd_pick_blocks(r, want, max, ranges, &nr_blocks);
    ret = virtio_vssd_apply(s, r, ranges, nr, nr_blocks, false);
    if (ret) {
        return ret;
    }
    for (i = 0; i < nr; i++) {
        const struct virtio_vssd_range range = {
            .first = cpu_to_le64(ranges[i].first),
            .count = cpu_to_le64(ranges[i].count),
        };

        iov_from_buf(elem->in_sg, elem->in_num,
                     sizeof(*resp) + i * sizeof(range), &range,
                     sizeof(range));
    }
    resp->nr_ranges = cpu_to_le32(nr);
    resp->next = cpu_to_le64(nr_blocks);
    return 0;
}

/* The one place where control request results become wire status. */
static void virtio_vssd_ctrl_status(int ret,
                                    struct virtio_vssd_ctrl_resp *resp)
{
    if (ret) {
        /* no ranges with anything but ACK */
        *resp = (struct virtio_vssd_ctrl_resp) {};
    }
    if (!ret) {
        resp->status = cpu_to_le16(VIRTIO_VSSD_RESP_ACK);
    } else if (ret == -EBUSY) {
        resp->status = cpu_to_le16(VIRTIO_VSSD_RESP_BUSY);
    } else if (ret < 0) {
        resp->status = cpu_to_le16(VIRTIO_VSSD_RESP_ERROR);
    } else {
        resp->status = cpu_to_le16(VIRTIO_VSSD_RESP_NACK);
        resp->reason = cpu_to_le16(ret);
    }
}

/* Writes @resp with the status for @ret, pushes @elem and notifies. */
static void virtio_vssd_ctrl_complete(VirtIOVSSD *s, VirtQueue *vq,
                                      VirtQueueElement *elem, uint16_t type,
                                      int ret,
                                      struct virtio_vssd_ctrl_resp *resp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);

    virtio_vssd_ctrl_status(ret, resp);
    trace_virtio_vssd_ctrl_resp(vdev, type, le16_to_cpu(resp->status),
                                le16_to_cpu(resp->reason));
    iov_from_buf(elem->in_sg, elem->in_num, 0, resp, sizeof(*resp));
    virtqueue_push(vq, elem, sizeof(*resp) + le32_to_cpu(resp->nr_ranges) *
                   sizeof(struct virtio_vssd_range));
    virtio_notify(vdev, vq);
}

/* Counts a refused or failed resize request in its region's statistics. */
static void virtio_vssd_count_failure(VirtIOVSSD *s, uint16_t type,
                                      uint16_t region, int ret)
{
    VirtIOVSSDRegion *r = virtio_vssd_get_region(s, region) ?:
                          virtio_vssd_default_region(s);

    if (ret > 0) {
        trace_virtio_vssd_resize_refused(VIRTIO_DEVICE(s), type, region, ret);
        r->stats.replies_refused++;
        if (ret < ARRAY_SIZE(r->stats.refused)) {
            r->stats.refused[ret]++;
        }
    } else if (ret < 0 && ret != -EBUSY) {
        r->stats.host_errors++;
    }
}

/* --- persistent-memory flush --- */

/* One PMEM_FLUSH request, from virtqueue_pop() until it is pushed back. */
typedef struct VirtIOVSSDFlush {
    /* the device and its control queue */
    VirtIOVSSD *s;
    VirtQueue *vq;
    /* the popped chain */
    VirtQueueElement *elem;
    /* the byte range of the pmem region */
    uint64_t offset;
    uint64_t length;
    /* the range in QEMU's mapping of the memdev */
    void *host;
    /* the memdev's file descriptor, -1 for anonymous memory */
    int fd;
} VirtIOVSSDFlush;

/*
 * PMEM_FLUSH of @length bytes at @offset: the header alone, for the pmem
 * region, a non-empty range inside it whose blocks are all plugged.
 * Returns 0 or a NACK reason.
 */
static int virtio_vssd_check_pmem_flush(VirtIOVSSD *s,
                                        VirtQueueElement *elem,
                                        uint16_t region, uint64_t offset,
                                        uint64_t length)
{
    const size_t out_len = iov_size(elem->out_sg, elem->out_num);

    if (out_len != sizeof(struct virtio_vssd_ctrl_req) ||
        region != VIRTIO_VSSD_REGION_PMEM || !s->pmem.size || !length) {
        return VIRTIO_VSSD_R_BAD_REQUEST;
    }
    if (offset >= s->pmem.size || length > s->pmem.size - offset) {
        return VIRTIO_VSSD_R_RANGE;
    }
    if (!virtio_vssd_range_plugged(&s->pmem, offset, length)) {
        return VIRTIO_VSSD_R_NOT_PLUGGED;
    }
    return 0;
}

/*
 * In a thread-pool worker: msync(MS_SYNC) of a shared file mapping writes
 * the dirty pages of the range back and waits until the file system has
 * them on stable storage (a ranged fdatasync). Returns 0 or -errno.
 */
static int virtio_vssd_pmem_flush_worker(void *opaque)
{
    VirtIOVSSDFlush *f = opaque;

    if (f->fd < 0) {
        /* anonymous shared memory: nothing to write back to */
        return 0;
    }
    return qemu_msync(f->host, f->length, f->fd) < 0 ? -errno : 0;
}

/* In the main loop: the worker is done, answer the guest. */
static void virtio_vssd_pmem_flush_done(void *opaque, int ret)
{
    VirtIOVSSDFlush *f = opaque;
    VirtIOVSSD *s = f->s;
    struct virtio_vssd_ctrl_resp resp = {};

    trace_virtio_vssd_pmem_flush_done(VIRTIO_DEVICE(s), f->offset, f->length,
                                      ret);
    if (ret < 0) {
        warn_report_once("virtio-vssd: cannot make the pmem region durable "
                         "on the host: %s", strerror(-ret));
        s->flush_stats.errors++;
        ret = -EIO;
    } else {
        s->flush_stats.done++;
    }
    virtio_vssd_ctrl_complete(s, f->vq, f->elem, VIRTIO_VSSD_CTRL_PMEM_FLUSH,
                              ret, &resp);
    g_free(f->elem);
    g_free(f);
    s->pmem_flushes--;
    aio_wait_kick();
}

/* Hands a checked PMEM_FLUSH to the main loop's thread pool; owns @elem. */
static void virtio_vssd_pmem_flush_submit(VirtIOVSSD *s, VirtQueue *vq,
                                          VirtQueueElement *elem,
                                          uint64_t offset, uint64_t length)
{
    MemoryRegion *mr = host_memory_backend_get_memory(s->memdev);
    ThreadPool *pool = aio_get_thread_pool(qemu_get_aio_context());
    VirtIOVSSDFlush *f = g_new(VirtIOVSSDFlush, 1);

    *f = (VirtIOVSSDFlush) {
        .s = s,
        .vq = vq,
        .elem = elem,
        .offset = offset,
        .length = length,
        .host = (uint8_t *)memory_region_get_ram_ptr(mr) + offset,
        .fd = memory_region_get_fd(mr),
    };
    trace_virtio_vssd_pmem_flush(VIRTIO_DEVICE(s), offset, length);
    s->pmem_flushes++;
    thread_pool_submit_aio(pool, virtio_vssd_pmem_flush_worker, f,
                           virtio_vssd_pmem_flush_done, f);
}

/*
 * Waits until every PMEM_FLUSH request has been answered (BQL held): their
 * replies land in the rings before these are reset, re-laid out or saved,
 * and nothing is left that uses the device or the memdev.
 */
static void virtio_vssd_pmem_drain(VirtIOVSSD *s)
{
    AIO_WAIT_WHILE(NULL, s->pmem_flushes > 0);
}

/*
 * Serve one control request. Returns -1 if the chain is malformed (the
 * device is then broken and the caller detaches and frees @elem), 1 if the
 * request completes later and owns @elem (PMEM_FLUSH), 0 if it is answered
 * (the caller frees @elem).
 */
static int virtio_vssd_handle_ctrl_req(VirtIOVSSD *s, VirtQueue *vq,
                                       VirtQueueElement *elem)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    struct virtio_vssd_ctrl_req req;
    struct virtio_vssd_ctrl_resp resp = {};
    const size_t out_len = iov_size(elem->out_sg, elem->out_num);
    const size_t in_len = iov_size(elem->in_sg, elem->in_num);
    uint16_t type, region;
    uint32_t generation;
    uint64_t arg0, arg1;
    int ret;

    if (out_len < sizeof(req) || in_len < sizeof(resp)) {
        const char *what = out_len < sizeof(req) ?
                           "no device-readable request header" :
                           "no room for the response";

        trace_virtio_vssd_malformed(vdev, virtio_get_queue_index(vq), what);
        virtio_error(vdev, "virtio-vssd: malformed control request: %s",
                     what);
        return -1;
    }

    iov_to_buf(elem->out_sg, elem->out_num, 0, &req, sizeof(req));
    type = le16_to_cpu(req.type);
    region = le16_to_cpu(req.region);
    generation = le32_to_cpu(req.generation);
    arg0 = le64_to_cpu(req.arg0);
    arg1 = le64_to_cpu(req.arg1);
    trace_virtio_vssd_ctrl(vdev, type, region, arg0, arg1);

    switch (type) {
    case VIRTIO_VSSD_CTRL_GET_MAP:
        if (out_len != sizeof(req)) {
            ret = VIRTIO_VSSD_R_BAD_REQUEST;
            break;
        }
        ret = virtio_vssd_ctrl_get_map(s, elem, region, arg0, &resp);
        break;
    case VIRTIO_VSSD_CTRL_UNPLUG:
        ret = virtio_vssd_ctrl_list(s, elem, region, generation, arg0, false);
        virtio_vssd_count_failure(s, type, region, ret);
        break;
    case VIRTIO_VSSD_CTRL_PLUG:
        ret = virtio_vssd_ctrl_list(s, elem, region, generation, arg0, true);
        virtio_vssd_count_failure(s, type, region, ret);
        break;
    case VIRTIO_VSSD_CTRL_UNPLUG_HOST:
        ret = virtio_vssd_ctrl_unplug_host(s, elem, region, generation, arg0,
                                           &resp);
        virtio_vssd_count_failure(s, type, region, ret);
        break;
    case VIRTIO_VSSD_CTRL_PMEM_FLUSH:
        ret = virtio_vssd_check_pmem_flush(s, elem, region, arg0, arg1);
        if (!ret) {
            virtio_vssd_pmem_flush_submit(s, vq, elem, arg0, arg1);
            return 1;
        }
        s->flush_stats.refused++;
        break;
    default:
        ret = VIRTIO_VSSD_R_BAD_REQUEST;
        break;
    }

    virtio_vssd_ctrl_complete(s, vq, elem, type, ret, &resp);
    return 0;
}

/* --- virtqueue handlers --- */

/* Serve a request queue until it is empty, in the backend's AioContext. */
static void virtio_vssd_handle_req_vq(VirtIOVSSD *s, VirtQueue *vq)
{
    BlockBackend *blk = s->conf.blk;
    /* without a block region every request is refused in the main loop */
    AioContext *ctx = blk ? blk_get_aio_context(blk) : qemu_get_aio_context();
    const bool suppress_notifications = virtio_queue_get_notification(vq);
    VirtIOVSSDReq *req;

    aio_context_acquire(ctx);
    if (blk) {
        blk_io_plug(blk);
    }
    do {
        if (suppress_notifications) {
            virtio_queue_set_notification(vq, 0);
        }
        while ((req = virtqueue_pop(vq, sizeof(VirtIOVSSDReq)))) {
            if (virtio_vssd_handle_req(s, vq, req) < 0) {
                virtqueue_detach_element(vq, &req->elem, 0);
                g_free(req);
                break;
            }
        }
        if (suppress_notifications) {
            virtio_queue_set_notification(vq, 1);
        }
        /* empty once the device is broken */
    } while (!virtio_queue_empty(vq));
    if (blk) {
        blk_io_unplug(blk);
    }
    aio_context_release(ctx);
}

/* Kick of a request queue (main loop or vCPU thread, BQL held). */
static void virtio_vssd_handle_req_output(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);

    if (s->iothread_started) {
        qemu_bh_schedule(s->iothread_bh);
        return;
    }
    virtio_vssd_handle_req_vq(s, vq);
}

/* The control queue, always in the main loop (BQL held). */
static void virtio_vssd_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);
    VirtQueueElement *elem;
    int ret;

    while ((elem = virtqueue_pop(vq, sizeof(VirtQueueElement)))) {
        ret = virtio_vssd_handle_ctrl_req(s, vq, elem);
        if (ret < 0) {
            virtqueue_detach_element(vq, elem, 0);
            g_free(elem);
            break;
        }
        if (ret == 0) {
            g_free(elem);
        }
    }
}

/* --- host side of the resize protocol (QMP, HMP) --- */

bool virtio_vssd_request_size(VirtIOVSSD *s, SsdBalloonRegion region,
                              int64_t size, SsdBalloonPolicy policy,
                              Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    DeviceState *dev = virtio_vssd_get_transport(s);
    g_autofree char *qom_path = object_get_canonical_path(OBJECT(dev));
    const char *name = dev->id ?: qom_path;
    const char *region_name = SsdBalloonRegion_str(region);
    VirtIOVSSDRegion *r = virtio_vssd_get_region(s,
                                                 virtio_vssd_region_id(region));

    if (!r) {
        error_setg(errp, "Device '%s' has no %s region", name, region_name);
        return false;
    }
    if (size < 0) {
        error_setg(errp, "Parameter 'size' must not be negative (%" PRId64
                   ")", size);
        return false;
    }
    if (size > r->size) {
        error_setg(errp, "Parameter 'size' (%" PRId64 ") is above the "
                   "maximum size of the %s region of device '%s' (%" PRIu64
                   " bytes)", size, region_name, name, r->size);
        return false;
    }
    if (size % r->block_size) {
        error_setg(errp, "Parameter 'size' (%" PRId64 ") is not a multiple "
                   "of the block size of the %s region of device '%s' (%"
                   PRIu64 " bytes)", size, region_name, name, r->block_size);
        return false;
    }
    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        error_setg(errp, "The guest driver of device '%s' is not ready "
                   "(DRIVER_OK not set)", name);
        return false;
    }
    if (!virtio_vdev_has_feature(vdev, VIRTIO_VSSD_F_RESIZE)) {
        error_setg(errp, "The guest driver of device '%s' does not support "
                   "resizing (VIRTIO_VSSD_F_RESIZE not negotiated)", name);
        return false;
    }
    if (r == &s->pmem &&
        !virtio_vdev_has_feature(vdev, VIRTIO_VSSD_F_PMEM_REGION)) {
        error_setg(errp, "The guest driver of device '%s' does not use its "
                   "pmem region (VIRTIO_VSSD_F_PMEM_REGION not negotiated)",
                   name);
        return false;
    }
    if (!migration_is_idle()) {
        error_setg(errp, "Device '%s' cannot be resized during migration",
                   name);
        return false;
    }

    r->requested_blocks = size / r->block_size;
    r->policy = policy == SSD_BALLOON_POLICY_HOST ? VIRTIO_VSSD_POLICY_HOST
                                                  : VIRTIO_VSSD_POLICY_GUEST;
    r->resize_start_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    s->resize_generation++;
    trace_virtio_vssd_resize_request(vdev, r->id, r->requested_blocks,
                                     r->policy, s->resize_generation);
    if (r->nb_plugged == r->requested_blocks) {
        /* nothing to negotiate: done (and replies to older targets stale) */
        virtio_vssd_resize_changed(s, r);
    }
    virtio_notify_config(vdev);
    return true;
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

void virtio_vssd_query(VirtIOVSSD *s, SsdBalloonInfoList ***tail)
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

/* --- config space and features --- */

/* The fields of an absent region stay 0. */
static void virtio_vssd_get_config(VirtIODevice *vdev, uint8_t *config_data)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);
    struct virtio_vssd_config *config = (void *)config_data;
    const VirtIOVSSDRegion *b = &s->block, *p = &s->pmem;

    memset(config, 0, sizeof(*config));
    config->num_queues = cpu_to_le16(s->num_queues);
    config->resize_generation = cpu_to_le32(s->resize_generation);
    if (b->size) {
        config->block_size = cpu_to_le32(b->block_size);
        config->block_policy = cpu_to_le32(b->policy);
        config->block_region_size = cpu_to_le64(b->size);
        config->block_plugged_size =
            cpu_to_le64(b->nb_plugged * b->block_size);
        config->block_requested_size =
            cpu_to_le64(b->requested_blocks * b->block_size);
    }
    if (p->size) {
        config->pmem_block_size = cpu_to_le32(p->block_size);
        config->pmem_policy = cpu_to_le32(p->policy);
        config->pmem_region_size = cpu_to_le64(p->size);
        config->pmem_plugged_size =
            cpu_to_le64(p->nb_plugged * p->block_size);
        config->pmem_requested_size =
            cpu_to_le64(p->requested_blocks * p->block_size);
    }
}

static uint64_t virtio_vssd_get_features(VirtIODevice *vdev, uint64_t features,
                                         Error **errp)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);

    if (s->block.size) {
        virtio_add_feature(&features, VIRTIO_VSSD_F_BLOCK_REGION);
    }
    if (s->pmem.size) {
        virtio_add_feature(&features, VIRTIO_VSSD_F_PMEM_REGION);
    }
    virtio_add_feature(&features, VIRTIO_VSSD_F_RESIZE);
    virtio_add_feature(&features, VIRTIO_VSSD_F_MQ);
    return features;
}

static int virtio_vssd_validate_features(VirtIODevice *vdev)
{
    /* little-endian layouts only */
    return virtio_vdev_has_feature(vdev, VIRTIO_F_VERSION_1) ? 0 : -EINVAL;
}

/*
 * Lay the queues out for @nr request queues: [0, nr) then the control
 * queue. Without VIRTIO_VSSD_F_MQ the driver knows one request queue and
 * finds the control queue at index 1.
 */
static void virtio_vssd_set_nr_req_vqs(VirtIOVSSD *s, unsigned int nr)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    unsigned int i;

    if (nr == s->nr_req_vqs) {
        return;
    }
    /* flushes still to be answered on the old control queue */
    virtio_vssd_pmem_drain(s);
    /* virtio_add_queue() takes the first free index */
    virtio_delete_queue(s->ctrl_vq);
    for (i = nr; i < s->nr_req_vqs; i++) {
        virtio_delete_queue(s->req_vqs[i]);
        s->req_vqs[i] = NULL;
    }
    for (i = s->nr_req_vqs; i < nr; i++) {
        s->req_vqs[i] = virtio_add_queue(vdev, s->queue_size,
                                         virtio_vssd_handle_req_output);
    }
    s->ctrl_vq = virtio_add_queue(vdev, VIRTIO_VSSD_CTRL_QUEUE_SIZE,
                                  virtio_vssd_handle_ctrl);
    s->nr_req_vqs = nr;
}

/* Before DRIVER_OK (or on reset, with 0): queues follow VIRTIO_VSSD_F_MQ. */
static void virtio_vssd_set_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);

    virtio_vssd_set_nr_req_vqs(s, virtio_has_feature(features,
                                                     VIRTIO_VSSD_F_MQ) ?
                                  s->num_queues : 1);
}

/* Incoming migration: the layout of the source, before its ring state. */
static int virtio_vssd_pre_load_queues(VirtIODevice *vdev, uint32_t n)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);

    if (n != 2 && n != s->num_queues + 1) {
        error_report("virtio-vssd: %" PRIu32 " queues on the source, "
                     "expected 2 or %u ('%s')", n, s->num_queues + 1,
                     VIRTIO_VSSD_NUM_QUEUES_PROP);
        return -EINVAL;
    }
    virtio_vssd_set_nr_req_vqs(s, n - 1);
    return 0;
}

/* --- IOThread --- */

/* In the IOThread: serve every request queue. */
static void virtio_vssd_iothread_bh(void *opaque)
{
    VirtIOVSSD *s = opaque;
    unsigned int i;

    aio_context_acquire(s->ctx);
    /* a bottom half dequeued before virtio_vssd_iothread_stop() */
    if (s->iothread_started) {
        for (i = 0; i < s->nr_req_vqs; i++) {
            virtio_vssd_handle_req_vq(s, s->req_vqs[i]);
        }
    }
    aio_context_release(s->ctx);
}

/*
 * Move the block backend and the request queues to the IOThread. Kicks
 * still arrive in the main loop (ioeventfd) or a vCPU thread (ioeventfd=off)
 * and are handed over with a bottom half; completions
 * reach the guest through the request queues' guest notifiers. On failure
 * requests keep being served in the main loop.
 */
static void virtio_vssd_iothread_start(VirtIOVSSD *s)
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
    aio_context_acquire(old_ctx);
    r = blk_set_aio_context(s->conf.blk, s->ctx, &local_err);
    aio_context_release(old_ctx);
    if (r < 0) {
        error_report_err(local_err);
        k->set_guest_notifiers(qbus->parent, s->nr_req_vqs, false);
        return;
    }

    trace_virtio_vssd_iothread_start(VIRTIO_DEVICE(s));
    aio_context_acquire(s->ctx);
    s->iothread_started = true;
    aio_context_release(s->ctx);
    /* requests may be waiting in the rings already */
    qemu_bh_schedule(s->iothread_bh);
}

/* Back to the main loop; waits for the requests the backend holds. */
static void virtio_vssd_iothread_stop(VirtIOVSSD *s)
{
    BusState *qbus = qdev_get_parent_bus(DEVICE(s));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);

    trace_virtio_vssd_iothread_stop(VIRTIO_DEVICE(s));
    /* a running bottom half holds the AioContext: it is done after this */
    aio_context_acquire(s->ctx);
    s->iothread_started = false;
    qemu_bh_cancel(s->iothread_bh);
    /* drains; other users may keep the backend in the IOThread: fine */
    blk_set_aio_context(s->conf.blk, qemu_get_aio_context(), NULL);
    aio_context_release(s->ctx);

    /* after the drain: completions in the IOThread use them */
    k->set_guest_notifiers(qbus->parent, s->nr_req_vqs, false);
}

static void virtio_vssd_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);
    const bool run = s->iothread && virtio_device_should_start(vdev, status);

    if (run && !s->iothread_started) {
        virtio_vssd_iothread_start(s);
    } else if (!run && s->iothread_started) {
        virtio_vssd_iothread_stop(s);
    }
}

/* --- realize, unrealize, reset --- */

static bool virtio_vssd_check_block_size(const char *prop, uint64_t size,
                                         Error **errp)
{
    if (!is_power_of_2(size) || size < VIRTIO_VSSD_MIN_BLOCK_SIZE ||
        size > VIRTIO_VSSD_MAX_BLOCK_SIZE) {
        error_setg(errp, "'%s' property (%" PRIu64 ") must be a power of two "
                   "between %d and %" PRIu64, prop, size,
                   VIRTIO_VSSD_MIN_BLOCK_SIZE,
                   (uint64_t)VIRTIO_VSSD_MAX_BLOCK_SIZE);
        return false;
    }
    return true;
}

static bool virtio_vssd_check_properties(VirtIOVSSD *s, Error **errp)
{
    if (!s->conf.blk && !s->memdev) {
        error_setg(errp, "neither '%s' nor '%s' property is set: the device "
                   "needs a block backend for its block region, a memory "
                   "backend for its persistent-memory region, or both",
                   VIRTIO_VSSD_DRIVE_PROP, VIRTIO_VSSD_MEMDEV_PROP);
        return false;
    }
    if (s->conf.blk && !blk_is_inserted(s->conf.blk)) {
        error_setg(errp, "'%s' property: the drive has no medium",
                   VIRTIO_VSSD_DRIVE_PROP);
        return false;
    }
    if (!virtio_vssd_check_block_size(VIRTIO_VSSD_BLOCK_SIZE_PROP,
                                      s->block.block_size, errp) ||
        !virtio_vssd_check_block_size(VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP,
                                      s->pmem.block_size, errp)) {
        return false;
    }
    if (s->pmem.block_size < qemu_real_host_page_size()) {
        error_setg(errp, "'%s' property (%" PRIu64 ") must be at least the "
                   "host page size (%zu)", VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP,
                   s->pmem.block_size, qemu_real_host_page_size());
        return false;
    }
    if (s->iothread && !s->conf.blk) {
        error_setg(errp, "'%s' property: only the block region runs in an "
                   "IOThread, and '%s' is not set", VIRTIO_VSSD_IOTHREAD_PROP,
                   VIRTIO_VSSD_DRIVE_PROP);
        return false;
    }
    if (!s->num_queues || s->num_queues > VIRTIO_VSSD_MAX_NUM_QUEUES) {
        error_setg(errp, "'%s' property (%" PRIu16 ") must be between 1 "
                   "and %d", VIRTIO_VSSD_NUM_QUEUES_PROP, s->num_queues,
                   VIRTIO_VSSD_MAX_NUM_QUEUES);
        return false;
    }
    if (!is_power_of_2(s->queue_size) ||
        s->queue_size < VIRTIO_VSSD_MIN_QUEUE_SIZE ||
        s->queue_size > VIRTQUEUE_MAX_SIZE) {
        error_setg(errp, "'%s' property (%" PRIu16 ") must be a power of two "
                   "between %d and %d", VIRTIO_VSSD_QUEUE_SIZE_PROP,
                   s->queue_size, VIRTIO_VSSD_MIN_QUEUE_SIZE,
                   VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (s->serial && strlen(s->serial) > VIRTIO_VSSD_ID_BYTES) {
        error_setg(errp, "'%s' property must be at most %d characters",
                   VIRTIO_VSSD_SERIAL_PROP, VIRTIO_VSSD_ID_BYTES);
        return false;
    }
    return true;
}

/* @r (whose block_size is set) has @size bytes, all plugged and wanted. */
static void virtio_vssd_init_region(VirtIOVSSDRegion *r, uint16_t id,
                                    uint64_t size)
{
    r->id = id;
    r->size = size;
    r->nb_blocks = size / r->block_size;
    r->plugged_bitmap_size = r->nb_blocks;
    /* without a state file everything starts plugged */
    r->plugged = bitmap_new(r->nb_blocks);
    bitmap_set(r->plugged, 0, r->nb_blocks);
    r->nb_plugged = r->nb_blocks;
    r->requested_blocks = r->nb_blocks;
    r->policy = VIRTIO_VSSD_POLICY_GUEST;
    r->resize_start_ms = -1;
    r->last_resize_ms = -1;
}

static void virtio_vssd_free_region(VirtIOVSSDRegion *r)
{
    g_free(r->plugged);
    r->plugged = NULL;
}

/* The region's geometry from the backend's size. */
static bool virtio_vssd_init_block_region(VirtIOVSSD *s, Error **errp)
{
    const int64_t len = blk_getlength(s->conf.blk);

    if (len < 0) {
        error_setg_errno(errp, -len, "'%s' property: cannot get the size of "
                         "the drive", VIRTIO_VSSD_DRIVE_PROP);
        return false;
    }
    if (!len || len % s->block.block_size) {
        error_setg(errp, "'%s' property: the drive's size (%" PRId64
                   " bytes) must be a non-zero multiple of '%s' (%" PRIu64
                   ")", VIRTIO_VSSD_DRIVE_PROP, len,
                   VIRTIO_VSSD_BLOCK_SIZE_PROP, s->block.block_size);
        return false;
    }
    if (len / s->block.block_size > INT32_MAX) {
        error_setg(errp, "'%s' property: the drive has more than %d blocks "
                   "of '%s' (%" PRIu64 "): use larger blocks",
                   VIRTIO_VSSD_DRIVE_PROP, INT32_MAX,
                   VIRTIO_VSSD_BLOCK_SIZE_PROP, s->block.block_size);
        return false;
    }
    virtio_vssd_init_region(&s->block, VIRTIO_VSSD_REGION_BLOCK, len);
    return true;
}

/*
 * The memdev must be free, shared (guest stores must reach the backing
 * file, not a private copy) and of a size and page size that fit the
 * blocks.
 */
static bool virtio_vssd_check_memdev(VirtIOVSSD *s, Error **errp)
{
    g_autofree char *name = host_memory_backend_get_name(s->memdev);
    MemoryRegion *mr = host_memory_backend_get_memory(s->memdev);
    const uint64_t size = memory_region_size(mr);
    const uint64_t bs = s->pmem.block_size;
    const size_t page_size = qemu_ram_pagesize(mr->ram_block);

    if (host_memory_backend_is_mapped(s->memdev)) {
        error_setg(errp, "'%s' property: memory backend '%s' is already in "
                   "use", VIRTIO_VSSD_MEMDEV_PROP, name);
        return false;
    }
    if (!qemu_ram_is_shared(mr->ram_block)) {
        error_setg(errp, "'%s' property: memory backend '%s' must be shared "
                   "(share=on), or guest writes never reach its file",
                   VIRTIO_VSSD_MEMDEV_PROP, name);
        return false;
    }
    if (bs < page_size) {
        error_setg(errp, "'%s' property (%" PRIu64 ") must be at least the "
                   "page size of memory backend '%s' (%zu)",
                   VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP, bs, name, page_size);
        return false;
    }
    if (!size || size % bs) {
        error_setg(errp, "'%s' property: the size of memory backend '%s' (%"
                   PRIu64 " bytes) must be a non-zero multiple of '%s' (%"
                   PRIu64 ")", VIRTIO_VSSD_MEMDEV_PROP, name, size,
                   VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP, bs);
        return false;
    }
    if (size / bs > INT32_MAX) {
        error_setg(errp, "'%s' property: memory backend '%s' has more than "
                   "%d blocks of '%s' (%" PRIu64 "): use larger blocks",
                   VIRTIO_VSSD_MEMDEV_PROP, name, INT32_MAX,
                   VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP, bs);
        return false;
    }
    return true;
}

/*
 * Guests use persistent memory a few bytes at a time, anywhere, and make
 * it durable a few bytes at a time. QEMU advises huge pages for all guest
 * RAM (ram_block_add), which for a shared file mapping on a host whose
 * page cache has large folios (Linux 6.x, ext4 since 6.16) means 2 MiB
 * folios: one dirty byte then costs 2 MiB of writeback at the next
 * PMEM_FLUSH. Undo that and ask for no read-ahead around faults, so the
 * page cache of the memdev's file stays in small folios and a flush
 * writes back the pages the guest dirtied. Measured on a 6.18 host with
 * ext4: ten scattered 4-byte updates cost 10 - 20 MiB of writeback and
 * 17 - 29 ms per msync with the huge-page advice, 40 KiB and under 1 ms
 * without. Only advice: a failure costs speed, nothing else.
 */
static void virtio_vssd_pmem_advise(MemoryRegion *mr)
{
    void *host = memory_region_get_ram_ptr(mr);
    const uint64_t size = memory_region_size(mr);

    if (QEMU_MADV_NOHUGEPAGE != QEMU_MADV_INVALID &&
        qemu_madvise(host, size, QEMU_MADV_NOHUGEPAGE) < 0) {
        warn_report_once("virtio-vssd: madvise(MADV_NOHUGEPAGE) of the pmem "
                         "region failed: %s", strerror(errno));
    }
#ifdef MADV_RANDOM
    if (madvise(host, size, MADV_RANDOM) < 0) {
        warn_report_once("virtio-vssd: madvise(MADV_RANDOM) of the pmem "
                         "region failed: %s", strerror(errno));
    }
#endif
}

/*
 * Takes the memdev: the region's geometry from its size, the memdev marked
 * in use, its RAM migrated with the device, and discards (which a pinned
 * mapping, e.g. vfio's, would silently defeat) required.
 */
static bool virtio_vssd_init_pmem_region(VirtIOVSSD *s, Error **errp)
{
    MemoryRegion *mr;
    int ret;

    if (!virtio_vssd_check_memdev(s, errp)) {
        return false;
    }
    ret = ram_block_discard_require(true);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "'%s' property: the pmem region frees "
                         "blocks it takes back, but discarding RAM is "
                         "disabled (e.g. by vfio)", VIRTIO_VSSD_MEMDEV_PROP);
        return false;
    }
    mr = host_memory_backend_get_memory(s->memdev);
    host_memory_backend_set_mapped(s->memdev, true);
    vmstate_register_ram(mr, DEVICE(s));
    virtio_vssd_pmem_advise(mr);
    virtio_vssd_init_region(&s->pmem, VIRTIO_VSSD_REGION_PMEM,
                            memory_region_size(mr));
    return true;
}

/* Undoes virtio_vssd_init_pmem_region(). */
static void virtio_vssd_release_pmem_region(VirtIOVSSD *s)
{
    if (!s->pmem.size) {
        return;
    }
    vmstate_unregister_ram(host_memory_backend_get_memory(s->memdev),
                           DEVICE(s));
    host_memory_backend_set_mapped(s->memdev, false);
    ram_block_discard_require(false);
    virtio_vssd_free_region(&s->pmem);
    s->pmem.size = 0;
}

/*
 * The plugged maps from "state-file", or, if it does not exist yet, create
 * it with the maps as they are (all plugged). The host wants what is
 * plugged until a new target is set.
 */
static bool virtio_vssd_load_state(VirtIOVSSD *s, Error **errp)
{
    VSSDStateRegion regions[VSSD_STATE_MAX_REGIONS];
    const unsigned nr = virtio_vssd_state_regions(s, regions);
    unsigned i;
    int ret;

    if (!s->state_file) {
        return true;
    }
    ret = vssd_state_load(s->state_file, regions, nr, errp);
    if (ret < 0) {
        error_prepend(errp, "'%s' property: ", VIRTIO_VSSD_STATE_FILE_PROP);
        return false;
    }
    if (ret == 0) {
        return virtio_vssd_save_state(s, errp);
    }
    for (i = 0; i < nr; i++) {
        VirtIOVSSDRegion *r = virtio_vssd_get_region(s, regions[i].id);

        r->nb_plugged = bitmap_count_one(r->plugged, r->nb_blocks);
        r->requested_blocks = r->nb_plugged;
    }
    return true;
}

/*
 * VM stop (also before migration saves guest memory): the replies of
 * pending flushes reach guest memory while it is still to be sent.
 */
static void virtio_vssd_vm_state_change(void *opaque, bool running,
                                        RunState state)
{
    VirtIOVSSD *s = opaque;

    if (!running) {
        virtio_vssd_pmem_drain(s);
    }
}

static void virtio_vssd_device_realize(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVSSD *s = VIRTIO_VSSD(dev);
    unsigned int i;

    if (!virtio_vssd_check_properties(s, errp)) {
        return;
    }
    if (s->conf.blk) {
        /* write permission; the region's size must not change under us */
        if (!blkconf_apply_backend_options(&s->conf, false, false, errp) ||
            !virtio_vssd_init_block_region(s, errp)) {
            return;
        }
        s->unmap_flags = blk_get_flags(s->conf.blk) & BDRV_O_UNMAP ?
                         BDRV_REQ_MAY_UNMAP : 0;
    }
    if (s->memdev && !virtio_vssd_init_pmem_region(s, errp)) {
        virtio_vssd_free_region(&s->block);
        return;
    }
    if (!virtio_vssd_load_state(s, errp)) {
        virtio_vssd_release_pmem_region(s);
        virtio_vssd_free_region(&s->block);
        return;
    }

    QLIST_INIT(&s->inflight);
    if (s->iothread) {
        s->ctx = iothread_get_aio_context(s->iothread);
        s->iothread_bh = aio_bh_new_guarded(s->ctx, virtio_vssd_iothread_bh,
                                            s, &dev->mem_reentrancy_guard);
    }
    if (s->pmem.size) {
        s->vmstate_change =
            qemu_add_vm_change_state_handler(virtio_vssd_vm_state_change, s);
    }

    virtio_init(vdev, VIRTIO_ID_VSSD, sizeof(struct virtio_vssd_config));
    /* all queues until the driver's features say otherwise */
    s->req_vqs = g_new0(VirtQueue *, s->num_queues);
    s->nr_req_vqs = s->num_queues;
    for (i = 0; i < s->nr_req_vqs; i++) {
        s->req_vqs[i] = virtio_add_queue(vdev, s->queue_size,
                                         virtio_vssd_handle_req_output);
    }
    s->ctrl_vq = virtio_add_queue(vdev, VIRTIO_VSSD_CTRL_QUEUE_SIZE,
                                  virtio_vssd_handle_ctrl);
}

static void virtio_vssd_device_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVSSD *s = VIRTIO_VSSD(dev);
    unsigned int i;

    virtio_vssd_pmem_drain(s);
    if (s->vmstate_change) {
        qemu_del_vm_change_state_handler(s->vmstate_change);
        s->vmstate_change = NULL;
    }
    if (s->iothread_started) {
        virtio_vssd_iothread_stop(s);
    }
    if (s->iothread_bh) {
        qemu_bh_delete(s->iothread_bh);
        s->iothread_bh = NULL;
    }
    if (s->conf.blk) {
        blk_drain(s->conf.blk);
    }
    virtio_delete_queue(s->ctrl_vq);
    for (i = 0; i < s->nr_req_vqs; i++) {
        virtio_delete_queue(s->req_vqs[i]);
    }
    g_free(s->req_vqs);
    s->req_vqs = NULL;
    virtio_vssd_release_pmem_region(s);
    virtio_vssd_free_region(&s->block);
    if (s->conf.blk) {
        blockdev_mark_auto_del(s->conf.blk);
    }
    virtio_cleanup(vdev);
}

/*
 * Device reset (the IOThread is stopped already): wait for the requests the
 * backend and the thread pool still hold; their completions land in the
 * rings before these are reset. The plugged map, the target and the
 * generation survive resets: the driver finds them in the config space
 * again.
 */
static void virtio_vssd_reset(VirtIODevice *vdev)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);
    VirtIOVSSDReq *req;
    unsigned int inflight = 0;

    QLIST_FOREACH(req, &s->inflight, next) {
        inflight++;
    }
    trace_virtio_vssd_reset(vdev, inflight, s->pmem_flushes);

    virtio_vssd_pmem_drain(s);
    if (s->conf.blk) {
        AioContext *ctx = blk_get_aio_context(s->conf.blk);

        aio_context_acquire(ctx);
        blk_drain(s->conf.blk);
        aio_context_release(ctx);
    }
}

static MemoryRegion *virtio_vssd_get_pmem_region(VirtIOVSSD *s)
{
    return s->pmem.size ? host_memory_backend_get_memory(s->memdev) : NULL;
}

/* --- migration --- */

/* What source and destination must agree on. */
typedef struct VirtIOVSSDMigChecks {
    VirtIOVSSD *parent;
    uint64_t block_size;
    uint64_t block_region_size;
    uint64_t pmem_block_size;
    uint64_t pmem_region_size;
    uint16_t num_queues;
} VirtIOVSSDMigChecks;

static int virtio_vssd_mig_checks_pre_save(void *opaque)
{
    VirtIOVSSDMigChecks *tmp = opaque;
    VirtIOVSSD *s = tmp->parent;

    tmp->block_size = s->block.block_size;
    tmp->block_region_size = s->block.size;
    tmp->pmem_block_size = s->pmem.block_size;
    tmp->pmem_region_size = s->pmem.size;
    tmp->num_queues = s->num_queues;
    return 0;
}

/* Fails (with the message naming @what) if @source differs from @here. */
static bool virtio_vssd_mig_check(const char *what, uint64_t source,
                                  uint64_t here)
{
    if (source != here) {
        error_report("virtio-vssd: %s differs: %" PRIu64 " on the source, %"
                     PRIu64 " here", what, source, here);
        return false;
    }
    return true;
}

static int virtio_vssd_mig_checks_post_load(void *opaque, int version_id)
{
    VirtIOVSSDMigChecks *tmp = opaque;
    VirtIOVSSD *s = tmp->parent;

    if (!virtio_vssd_mig_check("property '" VIRTIO_VSSD_BLOCK_SIZE_PROP "'",
                               tmp->block_size, s->block.block_size) ||
        !virtio_vssd_mig_check("the size of '" VIRTIO_VSSD_DRIVE_PROP "'",
                               tmp->block_region_size, s->block.size) ||
        !virtio_vssd_mig_check("property '"
                               VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP "'",
                               tmp->pmem_block_size, s->pmem.block_size) ||
        !virtio_vssd_mig_check("the size of '" VIRTIO_VSSD_MEMDEV_PROP "'",
                               tmp->pmem_region_size, s->pmem.size) ||
        !virtio_vssd_mig_check("property '" VIRTIO_VSSD_NUM_QUEUES_PROP "'",
                               tmp->num_queues, s->num_queues)) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_virtio_vssd_mig_checks = {
    .name = "virtio-vssd-device/checks",
    .pre_save = virtio_vssd_mig_checks_pre_save,
    .post_load = virtio_vssd_mig_checks_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT64(block_size, VirtIOVSSDMigChecks),
        VMSTATE_UINT64(block_region_size, VirtIOVSSDMigChecks),
        VMSTATE_UINT64(pmem_block_size, VirtIOVSSDMigChecks),
        VMSTATE_UINT64(pmem_region_size, VirtIOVSSDMigChecks),
        VMSTATE_UINT16(num_queues, VirtIOVSSDMigChecks),
        VMSTATE_END_OF_LIST(),
    },
};

static int virtio_vssd_post_load(void *opaque, int version_id)
{
    VirtIOVSSD *s = opaque;
    VirtIOVSSDRegion *regions[] = { &s->block, &s->pmem };
    Error *local_err = NULL;
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(regions); i++) {
        VirtIOVSSDRegion *r = regions[i];

        if (!r->size) {
            continue;
        }
        r->nb_plugged = bitmap_count_one(r->plugged, r->nb_blocks);
        if (!s->resize_generation) {
            /* the source never set a target */
            r->requested_blocks = r->nb_plugged;
        }
    }
    /* the map is ours now: a restart of this QEMU must find it */
    if (!virtio_vssd_save_state(s, &local_err)) {
        warn_report_err(local_err);
    }
    return 0;
}

static bool virtio_vssd_resize_needed(void *opaque)
{
    const VirtIOVSSD *s = opaque;

    return s->resize_generation != 0;
}

/* The target being negotiated. */
static const VMStateDescription vmstate_virtio_vssd_resize = {
    .name = "virtio-vssd-device/resize",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_vssd_resize_needed,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(resize_generation, VirtIOVSSD),
        VMSTATE_UINT64(block.requested_blocks, VirtIOVSSD),
        VMSTATE_UINT32(block.policy, VirtIOVSSD),
        VMSTATE_END_OF_LIST()
    },
};

static bool virtio_vssd_pmem_needed(void *opaque)
{
    const VirtIOVSSD *s = opaque;

    return s->pmem.size != 0;
}

/*
 * The pmem region's plugged map and target (its contents are the memdev's
 * RAM, migrated as RAM).
 */
static const VMStateDescription vmstate_virtio_vssd_pmem = {
    .name = "virtio-vssd-device/pmem",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_vssd_pmem_needed,
    .fields = (VMStateField[]) {
        VMSTATE_BITMAP(pmem.plugged, VirtIOVSSD, 0, pmem.plugged_bitmap_size),
        VMSTATE_UINT64(pmem.requested_blocks, VirtIOVSSD),
        VMSTATE_UINT32(pmem.policy, VirtIOVSSD),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_virtio_vssd_device = {
    .name = "virtio-vssd-device",
    .minimum_version_id = 1,
    .version_id = 1,
    .post_load = virtio_vssd_post_load,
    .fields = (VMStateField[]) {
        /* first: refuse a different geometry before loading the bitmaps */
        VMSTATE_WITH_TMP(VirtIOVSSD, VirtIOVSSDMigChecks,
                         vmstate_virtio_vssd_mig_checks),
        /* empty without a block region */
        VMSTATE_BITMAP(block.plugged, VirtIOVSSD, 0,
                       block.plugged_bitmap_size),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * []) {
        &vmstate_virtio_vssd_resize,
        &vmstate_virtio_vssd_pmem,
        NULL
    },
};

static const VMStateDescription vmstate_virtio_vssd = {
    .name = "virtio-vssd",
    .minimum_version_id = 1,
    .version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_VIRTIO_DEVICE,
        VMSTATE_END_OF_LIST()
    },
};

/* --- QOM properties --- */

static void virtio_vssd_get_region_size(Object *obj, Visitor *v,
                                        const char *name, void *opaque,
                                        Error **errp)
{
    const VirtIOVSSDRegion *r = opaque;
    uint64_t value = r->size;

    visit_type_size(v, name, &value, errp);
}

static void virtio_vssd_get_plugged_size(Object *obj, Visitor *v,
                                         const char *name, void *opaque,
                                         Error **errp)
{
    const VirtIOVSSDRegion *r = opaque;
    uint64_t value = r->nb_plugged * r->block_size;

    visit_type_size(v, name, &value, errp);
}

static void virtio_vssd_instance_init(Object *obj)
{
    VirtIOVSSD *s = VIRTIO_VSSD(obj);

    object_property_add(obj, VIRTIO_VSSD_BLOCK_REGION_SIZE_PROP, "size",
                        virtio_vssd_get_region_size, NULL, NULL, &s->block);
    object_property_add(obj, VIRTIO_VSSD_BLOCK_PLUGGED_SIZE_PROP, "size",
                        virtio_vssd_get_plugged_size, NULL, NULL, &s->block);
    object_property_add(obj, VIRTIO_VSSD_PMEM_REGION_SIZE_PROP, "size",
                        virtio_vssd_get_region_size, NULL, NULL, &s->pmem);
    object_property_add(obj, VIRTIO_VSSD_PMEM_PLUGGED_SIZE_PROP, "size",
                        virtio_vssd_get_plugged_size, NULL, NULL, &s->pmem);
}

static Property virtio_vssd_properties[] = {
    DEFINE_PROP_DRIVE(VIRTIO_VSSD_DRIVE_PROP, VirtIOVSSD, conf.blk),
    DEFINE_PROP_SIZE(VIRTIO_VSSD_BLOCK_SIZE_PROP, VirtIOVSSD, block.block_size,
                     VIRTIO_VSSD_DEFAULT_BLOCK_SIZE),
    DEFINE_PROP_LINK(VIRTIO_VSSD_MEMDEV_PROP, VirtIOVSSD, memdev,
                     TYPE_MEMORY_BACKEND, HostMemoryBackend *),
    DEFINE_PROP_SIZE(VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP, VirtIOVSSD,
                     pmem.block_size, VIRTIO_VSSD_DEFAULT_PMEM_BLOCK_SIZE),
    DEFINE_PROP_UINT16(VIRTIO_VSSD_NUM_QUEUES_PROP, VirtIOVSSD, num_queues,
                       VIRTIO_VSSD_DEFAULT_NUM_QUEUES),
    DEFINE_PROP_UINT16(VIRTIO_VSSD_QUEUE_SIZE_PROP, VirtIOVSSD, queue_size,
                       VIRTIO_VSSD_DEFAULT_QUEUE_SIZE),
    DEFINE_PROP_LINK(VIRTIO_VSSD_IOTHREAD_PROP, VirtIOVSSD, iothread,
                     TYPE_IOTHREAD, IOThread *),
    DEFINE_PROP_STRING(VIRTIO_VSSD_SERIAL_PROP, VirtIOVSSD, serial),
    DEFINE_PROP_STRING(VIRTIO_VSSD_STATE_FILE_PROP, VirtIOVSSD, state_file),
    DEFINE_PROP_END_OF_LIST(),
};

static void virtio_vssd_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);
    VirtIOVSSDClass *vc = VIRTIO_VSSD_CLASS(klass);

    device_class_set_props(dc, virtio_vssd_properties);
    dc->vmsd = &vmstate_virtio_vssd;
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);

    vdc->realize = virtio_vssd_device_realize;
    vdc->unrealize = virtio_vssd_device_unrealize;
    vdc->get_config = virtio_vssd_get_config;
    vdc->get_features = virtio_vssd_get_features;
    vdc->set_features = virtio_vssd_set_features;
    vdc->validate_features = virtio_vssd_validate_features;
    vdc->set_status = virtio_vssd_set_status;
    vdc->reset = virtio_vssd_reset;
    vdc->pre_load_queues = virtio_vssd_pre_load_queues;
    vdc->vmsd = &vmstate_virtio_vssd_device;
    vc->get_pmem_region = virtio_vssd_get_pmem_region;
}

static const TypeInfo virtio_vssd_info = {
    .name = TYPE_VIRTIO_VSSD,
    .parent = TYPE_VIRTIO_DEVICE,
    .instance_size = sizeof(VirtIOVSSD),
    .instance_init = virtio_vssd_instance_init,
    .class_size = sizeof(VirtIOVSSDClass),
    .class_init = virtio_vssd_class_init,
};

static void virtio_vssd_register_types(void)
{
    type_register_static(&virtio_vssd_info);
}

type_init(virtio_vssd_register_types)
