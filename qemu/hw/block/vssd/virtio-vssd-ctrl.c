/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: the control queue. Parses control requests and hands them
 * to the resize protocol (UNPLUG, PLUG, UNPLUG_HOST) or the
 * persistent-memory region (PMEM_FLUSH); answers GET_MAP itself. Every
 * answer is written here, also for the requests that complete later.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/iov.h"
#include "virtio-vssd-internal.h"
#include "trace.h"

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
                                    s->max_ranges);
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
    resp->u.get_map.nr_ranges = cpu_to_le32(nr_ranges);
    resp->u.get_map.next_block = cpu_to_le64(block);
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

/* The ranges an answer of @type carries after the response header. */
static uint32_t
virtio_vssd_ctrl_resp_ranges(uint16_t type,
                             const struct virtio_vssd_ctrl_resp *resp)
{
    switch (type) {
    case VIRTIO_VSSD_CTRL_GET_MAP:
        return le32_to_cpu(resp->u.get_map.nr_ranges);
    case VIRTIO_VSSD_CTRL_UNPLUG_HOST:
        return le32_to_cpu(resp->u.unplug_host.nr_ranges);
    default:
        return 0;
    }
}

void virtio_vssd_ctrl_complete(VirtIOVSSD *s, VirtQueue *vq,
                               VirtQueueElement *elem, uint16_t type, int ret,
                               struct virtio_vssd_ctrl_resp *resp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    uint32_t nr_ranges;

    virtio_vssd_ctrl_status(ret, resp);
    nr_ranges = virtio_vssd_ctrl_resp_ranges(type, resp);
    trace_virtio_vssd_ctrl_resp(vdev, type, le16_to_cpu(resp->status),
                                le16_to_cpu(resp->reason));
    iov_from_buf(elem->in_sg, elem->in_num, 0, resp, sizeof(*resp));
    virtqueue_push(vq, elem, sizeof(*resp) +
                   nr_ranges * sizeof(struct virtio_vssd_range));
    virtio_notify(vdev, vq);
}

/*
 * Whether the bytes of @req that its type does not use are all zero: the
 * header's reserved field, the union past the type's arguments and the
 * reserved fields among them. Unknown types are refused elsewhere.
 */
bool virtio_vssd_ctrl_reserved_zero(const struct virtio_vssd_ctrl_req *req,
                                           uint16_t type)
{
    const uint8_t *u = (const uint8_t *)&req->u;
    size_t used;

    if (req->reserved) {
        return false;
    }
    switch (type) {
    case VIRTIO_VSSD_CTRL_UNPLUG:
        used = sizeof(req->u.unplug);
        if (req->u.unplug.reserved) {
            return false;
        }
        break;
    case VIRTIO_VSSD_CTRL_PLUG:
        used = sizeof(req->u.plug);
        if (req->u.plug.reserved) {
            return false;
        }
        break;
    case VIRTIO_VSSD_CTRL_UNPLUG_HOST:
        used = sizeof(req->u.unplug_host);
        if (req->u.unplug_host.reserved) {
            return false;
        }
        break;
    case VIRTIO_VSSD_CTRL_GET_MAP:
        used = sizeof(req->u.get_map);
        if (req->u.get_map.reserved) {
            return false;
        }
        break;
    case VIRTIO_VSSD_CTRL_PMEM_FLUSH:
        used = sizeof(req->u.pmem_flush);
        break;
    default:
        return true;
    }
    return buffer_is_zero(u + used, sizeof(req->u) - used);
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
    trace_virtio_vssd_ctrl(vdev, type, region);

    switch (type) {
    case VIRTIO_VSSD_CTRL_GET_MAP:
        if (out_len != sizeof(req) ||
            !virtio_vssd_ctrl_reserved_zero(&req, type)) {
            ret = VIRTIO_VSSD_R_BAD_REQUEST;
            break;
        }
        ret = virtio_vssd_ctrl_get_map(s, elem, region,
                                       le64_to_cpu(req.u.get_map.first_block),
                                       &resp);
        break;
    case VIRTIO_VSSD_CTRL_UNPLUG:
    case VIRTIO_VSSD_CTRL_PLUG:
    case VIRTIO_VSSD_CTRL_UNPLUG_HOST:
        ret = virtio_vssd_resize_ctrl(s, elem, &req, &resp);
        break;
    case VIRTIO_VSSD_CTRL_PMEM_FLUSH:
        if (!virtio_vssd_ctrl_reserved_zero(&req, type)) {
            ret = VIRTIO_VSSD_R_BAD_REQUEST;
            break;
        }
        ret = virtio_vssd_pmem_flush(s, vq, elem, region,
                                     le64_to_cpu(req.u.pmem_flush.offset),
                                     le64_to_cpu(req.u.pmem_flush.length));
        if (!ret) {
            return 1;
        }
        break;
    default:
        ret = VIRTIO_VSSD_R_BAD_REQUEST;
        break;
    }

    virtio_vssd_ctrl_complete(s, vq, elem, type, ret, &resp);
    return 0;
}

/* The control queue, always in the main loop (BQL held). */
void virtio_vssd_ctrl_handle_output(VirtIODevice *vdev, VirtQueue *vq)
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
