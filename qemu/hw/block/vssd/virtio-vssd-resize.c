/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: the resize protocol. The host sets a region's target
 * (ssd-balloon); the guest answers with UNPLUG or PLUG lists, or asks the
 * device to choose (UNPLUG_HOST, policy host). Each list is checked as a
 * whole, then applied: blocks zeroed or discarded on the host, the plugged
 * map and the state file updated, counters and the SSD_BALLOON_CHANGE
 * event.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/timer.h"
#include "block/aio-wait.h"
#include "qapi/error.h"
#include "qapi/qapi-events-vssd.h"
#include "migration/misc.h"
#include "virtio-vssd-internal.h"
#include "trace.h"

/* Largest write-zeroes request when (un)plugging blocks. */
#define VIRTIO_VSSD_MAX_ZERO_BYTES (1 * GiB)

static const char *virtio_vssd_region_name(const VirtIOVSSDRegion *r)
{
    return r->id == VIRTIO_VSSD_REGION_PMEM ? "pmem" : "block";
}

static uint16_t virtio_vssd_region_id(SsdBalloonRegion region)
{
    return region == SSD_BALLOON_REGION_PMEM ? VIRTIO_VSSD_REGION_PMEM
                                             : VIRTIO_VSSD_REGION_BLOCK;
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
 * Every resize request answers with an int: 0 (ACK), a NACK reason
 * (VIRTIO_VSSD_R_*, > 0), -EBUSY (BUSY) or another negative errno (ERROR).
 * virtio_vssd_ctrl_status() turns it into the wire status.
 */

/* Layout of UNPLUG and PLUG: @nr ranges follow the header, no more. */
static int virtio_vssd_check_range_list(VirtIOVSSD *s, VirtQueueElement *elem,
                                        uint32_t nr)
{
    const size_t bytes = iov_size(elem->out_sg, elem->out_num) -
                         sizeof(struct virtio_vssd_ctrl_req);

    if (!nr || nr > s->max_ranges) {
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
    /*
     * Outgoing: the map is being sent. Incoming postcopy: guest pages are
     * still arriving, a discard would race with them (as for virtio-mem).
     */
    if (migration_is_running() || migration_in_incoming_postcopy()) {
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
        return virtio_vssd_pmem_discard(s, first, count);
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

typedef struct VirtIOVSSDMark {
    VirtIOVSSDRegion *r;
    const struct virtio_vssd_range *ranges;
    uint32_t nr;
    bool plugged;
} VirtIOVSSDMark;

static void virtio_vssd_mark_bh(void *opaque)
{
    VirtIOVSSDMark *m = opaque;

    virtio_vssd_mark(m->r, m->ranges, m->nr, m->plugged);
}

/*
 * virtio_vssd_mark() in @ctx, the AioContext that checks the region's
 * requests against the map: in an IOThread, between two runs of the
 * request handler, so that once this returns every request checked
 * against the old map has reached the block backend (and blk_drain()
 * waits for it).
 */
static void virtio_vssd_mark_in(AioContext *ctx, VirtIOVSSDRegion *r,
                                const struct virtio_vssd_range *ranges,
                                uint32_t nr, bool plugged)
{
    VirtIOVSSDMark m = {
        .r = r, .ranges = ranges, .nr = nr, .plugged = plugged,
    };

    if (ctx == qemu_get_aio_context()) {
        virtio_vssd_mark_bh(&m);
    } else {
        aio_wait_bh_oneshot(ctx, virtio_vssd_mark_bh, &m);
    }
}

/* Zeroes the checked @ranges of @r on the host; 0 or the first error. */
static int virtio_vssd_zero_ranges(VirtIOVSSD *s, VirtIOVSSDRegion *r,
                                   const struct virtio_vssd_range *ranges,
                                   uint32_t nr)
{
    uint32_t i;
    int ret = 0;

    for (i = 0; i < nr && !ret; i++) {
        ret = virtio_vssd_zero_blocks(s, r, ranges[i].first, ranges[i].count);
    }
    if (ret < 0) {
        warn_report_once("virtio-vssd: cannot zero blocks of the %s region "
                         "on the host: %s", virtio_vssd_region_name(r),
                         strerror(-ret));
    }
    return ret;
}

/* Records the maps in the state file; false (with a warning) on failure. */
static bool virtio_vssd_record_maps(VirtIOVSSD *s)
{
    Error *local_err = NULL;

    if (!virtio_vssd_save_state(s, &local_err)) {
        warn_report_once("virtio-vssd: %s", error_get_pretty(local_err));
        error_free(local_err);
        return false;
    }
    return true;
}

/*
 * Unplugs the checked @ranges of @r. The order makes every failure safe:
 * the blocks are refused to new requests, then recorded as unplugged (if
 * that fails they are plugged again and nothing was touched: -EIO), then
 * the requests in flight are drained and the blocks zeroed on the host. A
 * failure to zero loses nothing the guest keeps (it gave the blocks up,
 * or, under policy host, learns them from the reply) and nothing leaks
 * (a block is zeroed again before it is plugged): the blocks stay
 * unplugged, and the host's failure is counted (host-errors) and reported.
 */
static int virtio_vssd_unplug_ranges(VirtIOVSSD *s, VirtIOVSSDRegion *r,
                                     const struct virtio_vssd_range *ranges,
                                     uint32_t nr)
{
    const bool block = r == &s->block;
    AioContext *ctx = block ? blk_get_aio_context(s->conf.blk)
                            : qemu_get_aio_context();

    vssd_aio_lock(ctx);
    virtio_vssd_mark_in(ctx, r, ranges, nr, false);
    vssd_aio_unlock(ctx);
    if (!virtio_vssd_record_maps(s)) {
        vssd_aio_lock(ctx);
        virtio_vssd_mark_in(ctx, r, ranges, nr, true);
        vssd_aio_unlock(ctx);
        return -EIO;
    }

    vssd_aio_lock(ctx);
    if (block) {
        blk_drain(s->conf.blk);
    }
    if (virtio_vssd_zero_ranges(s, r, ranges, nr) < 0) {
        r->stats.host_errors++;
    }
    vssd_aio_unlock(ctx);
    return 0;
}

/*
 * Plugs the checked @ranges of @r: zeroes them on the host (in the pmem
 * region they are discarded again: whatever a guest wrote to them while
 * unplugged is gone), then lets the guest use them and records the map.
 * On a failure they stay unplugged (-EIO); only unplugged blocks were
 * zeroed.
 */
static int virtio_vssd_plug_ranges(VirtIOVSSD *s, VirtIOVSSDRegion *r,
                                   const struct virtio_vssd_range *ranges,
                                   uint32_t nr)
{
    AioContext *ctx = r == &s->block ? blk_get_aio_context(s->conf.blk)
                                     : qemu_get_aio_context();
    int ret;

    vssd_aio_lock(ctx);
    ret = virtio_vssd_zero_ranges(s, r, ranges, nr);
    if (!ret) {
        virtio_vssd_mark_in(ctx, r, ranges, nr, true);
    }
    vssd_aio_unlock(ctx);
    if (ret < 0) {
        return -EIO;
    }
    if (!virtio_vssd_record_maps(s)) {
        vssd_aio_lock(ctx);
        virtio_vssd_mark_in(ctx, r, ranges, nr, false);
        vssd_aio_unlock(ctx);
        return -EIO;
    }
    return 0;
}

/*
 * Plugs (@plug) or unplugs the checked @ranges of @r (@nr_blocks blocks)
 * and accounts for it. Returns 0, or -EIO with the map as it was before.
 */
static int virtio_vssd_apply(VirtIOVSSD *s, VirtIOVSSDRegion *r,
                             const struct virtio_vssd_range *ranges,
                             uint32_t nr, uint64_t nr_blocks, bool plug)
{
    const int ret = plug ? virtio_vssd_plug_ranges(s, r, ranges, nr)
                         : virtio_vssd_unplug_ranges(s, r, ranges, nr);

    trace_virtio_vssd_resize_apply(VIRTIO_DEVICE(s), r->id, plug, nr,
                                   nr_blocks, ret);
    if (ret < 0) {
        return ret;
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
static int virtio_vssd_plug_list(VirtIOVSSD *s, VirtQueueElement *elem,
                                 uint16_t region, uint32_t generation,
                                 uint32_t nr, bool plug)
{
    g_autofree struct virtio_vssd_range *ranges = NULL;
    VirtIOVSSDRegion *r = NULL;
    uint64_t nr_blocks, wanted;
    int ret;

    ret = virtio_vssd_check_range_list(s, elem, nr);
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
 * keeps its metadata (config field pmem_reserved_size).
 */
uint64_t virtio_vssd_host_reserved(const VirtIOVSSDRegion *r)
{
    if (r->id != VIRTIO_VSSD_REGION_PMEM) {
        return 0;
    }
    return MIN(DIV_ROUND_UP(VIRTIO_VSSD_PMEM_RESERVED_BYTES, r->block_size),
               r->nb_blocks);
}

/* The plugged blocks of @r that a host-policy shrink may take. */
static uint64_t virtio_vssd_host_eligible(const VirtIOVSSDRegion *r)
{
    return r->nb_plugged -
           bitmap_count_one(r->plugged, virtio_vssd_host_reserved(r));
}

/*
 * Samples exactly @want of the plugged blocks of @r from block @first on,
 * @eligible of them, uniformly at random (selection sampling: each in turn
 * with probability needed/remaining), or the lowest @want of them when
 * @lowest (the x-host-pick-lowest test knob), as ranges in block order.
 * Returns the number of ranges, or 0 when they would not fit in @max.
 */
static uint32_t virtio_vssd_sample_blocks(VirtIOVSSDRegion *r, uint64_t first,
                                          uint64_t eligible, uint64_t want,
                                          uint32_t max, bool lowest,
                                          struct virtio_vssd_range *ranges)
{
    uint64_t remaining = eligible, picked = 0, block;
    uint32_t nr = 0;

    for (block = find_next_bit(r->plugged, r->nb_blocks, first);
         block < r->nb_blocks && picked < want;
         block = find_next_bit(r->plugged, r->nb_blocks, block + 1)) {
        /* nb_blocks <= INT32_MAX (realize) */
        if (lowest || g_random_int_range(0, remaining) < want - picked) {
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
 * never picked, so fewer than @want may come back. Returns
 * the number of ranges, the blocks in *@nr_blocks.
 */
static uint32_t virtio_vssd_pick_blocks(VirtIOVSSD *s, VirtIOVSSDRegion *r,
                                        uint64_t want, uint32_t max,
                                        struct virtio_vssd_range *ranges,
                                        uint64_t *nr_blocks)
{
    const uint64_t first = virtio_vssd_host_reserved(r);
    const uint64_t eligible = virtio_vssd_host_eligible(r);
    uint32_t nr, i;

    want = MIN(want, eligible);
    nr = want ? virtio_vssd_sample_blocks(r, first, eligible, want, max,
                                          s->host_pick_lowest, ranges) : 0;
    if (!nr && want) {
        want = MIN(want, max);
        nr = virtio_vssd_sample_blocks(r, first, eligible, want, max,
                                       s->host_pick_lowest, ranges);
    }
    *nr_blocks = 0;
    for (i = 0; i < nr; i++) {
        *nr_blocks += ranges[i].count;
    }
    return nr;
}

/*
 * UNPLUG_HOST (policy host): the device picks @want plugged blocks,
 * unplugs them and returns them as ranges after @resp. When only reserved
 * blocks are left (a target below them, from a migration source that
 * allowed it) it refuses with NOT_REQUESTED: an ACK of no blocks would
 * tell the driver to send another request.
 */
static int virtio_vssd_unplug_host(VirtIOVSSD *s, VirtQueueElement *elem,
                                   uint16_t region, uint32_t generation,
                                   uint64_t want,
                                   struct virtio_vssd_ctrl_resp *resp)
{
    const size_t out_len = iov_size(elem->out_sg, elem->out_num);
    const size_t in_len = iov_size(elem->in_sg, elem->in_num);
    const uint32_t max = MIN((in_len - sizeof(*resp)) /
                             sizeof(struct virtio_vssd_range),
                             s->max_ranges);
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
    if (r->policy != VIRTIO_VSSD_POLICY_HOST ||
        !virtio_vssd_host_eligible(r)) {
        return VIRTIO_VSSD_R_NOT_REQUESTED;
    }
    if (want > r->nb_plugged - r->requested_blocks) {
        return VIRTIO_VSSD_R_TOO_MANY;
    }

    ranges = g_new(struct virtio_vssd_range, max);
    nr = virtio_vssd_pick_blocks(s, r, want, max, ranges, &nr_blocks);
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
    resp->u.unplug_host.nr_ranges = cpu_to_le32(nr);
    resp->u.unplug_host.nr_blocks = cpu_to_le64(nr_blocks);
    return 0;
}

/* Where refusals of requests for an absent region are counted. */
static VirtIOVSSDRegion *virtio_vssd_default_region(VirtIOVSSD *s)
{
    return s->block.size ? &s->block : &s->pmem;
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

int virtio_vssd_resize_ctrl(VirtIOVSSD *s, VirtQueueElement *elem,
                            const struct virtio_vssd_ctrl_req *req,
                            struct virtio_vssd_ctrl_resp *resp)
{
    const uint16_t type = le16_to_cpu(req->type);
    const uint16_t region = le16_to_cpu(req->region);
    int ret;

    if (!virtio_vssd_ctrl_reserved_zero(req, type)) {
        ret = VIRTIO_VSSD_R_BAD_REQUEST;
    } else if (type == VIRTIO_VSSD_CTRL_UNPLUG) {
        ret = virtio_vssd_plug_list(s, elem, region,
                                    le32_to_cpu(req->u.unplug.generation),
                                    le32_to_cpu(req->u.unplug.nr_ranges),
                                    false);
    } else if (type == VIRTIO_VSSD_CTRL_PLUG) {
        ret = virtio_vssd_plug_list(s, elem, region,
                                    le32_to_cpu(req->u.plug.generation),
                                    le32_to_cpu(req->u.plug.nr_ranges),
                                    true);
    } else {
        const struct virtio_vssd_req_unplug_host *u = &req->u.unplug_host;

        g_assert(type == VIRTIO_VSSD_CTRL_UNPLUG_HOST);
        ret = virtio_vssd_unplug_host(s, elem, region,
                                      le32_to_cpu(u->generation),
                                      le64_to_cpu(u->nr_blocks), resp);
    }
    virtio_vssd_count_failure(s, type, region, ret);
    return ret;
}

/* The host side: ssd-balloon, HMP ssd_balloon. */
bool virtio_vssd_resize_set_target(VirtIOVSSD *s, SsdBalloonRegion region,
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
    if (policy == SSD_BALLOON_POLICY_HOST &&
        size < virtio_vssd_host_reserved(r) * r->block_size) {
        error_setg(errp, "Parameter 'size' (%" PRId64 ") is below the "
                   "minimum of the %s region of device '%s' for policy "
                   "'host' (%" PRIu64 " bytes: a host-policy shrink never "
                   "takes the blocks of the first %d bytes)", size,
                   region_name, name,
                   virtio_vssd_host_reserved(r) * r->block_size,
                   VIRTIO_VSSD_PMEM_RESERVED_BYTES);
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
    if (migration_is_running() || migration_in_incoming_postcopy()) {
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
