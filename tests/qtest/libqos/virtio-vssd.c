/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqos driver for the virtio-vssd device.
 *
 * "virtio-vssd-pci" sits on a PCI bus and produces the "virtio-vssd"
 * interface that the tests in virtio-vssd-*-test.c consume. The device needs
 * a block backend, a memory backend or both, which each test provides with
 * its own options (a fresh image per test): "-blockdev ...,node-name="
 * QVIRTIO_VSSD_NODE_NAME plus "-global virtio-vssd.drive=...", a memory
 * backend plus "-global virtio-vssd.memdev=...". So the node does not
 * produce the generic "virtio" or "pci-device" interfaces: tests written
 * for those would start QEMU without a backend.
 *
 * The driver half (qvirtio_vssd_*()) sets the device up and sends it
 * requests the way a guest driver does.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "qgraph.h"
#include "virtio-vssd.h"

#define VSSD_PCI_SLOT   0x04
#define VSSD_PCI_FN     0x00

/* --- the driver ----------------------------------------------------------- */

void qvirtio_vssd_driver_init(QVirtioVssdDriver *d)
{
    uint64_t offered = qvirtio_get_features(d->dev);
    uint64_t wanted = (1ull << VIRTIO_F_VERSION_1) |
                      (1ull << VIRTIO_VSSD_F_BLOCK_REGION) |
                      (1ull << VIRTIO_VSSD_F_PMEM_REGION) |
                      (1ull << VIRTIO_VSSD_F_RESIZE) |
                      (1ull << VIRTIO_RING_F_INDIRECT_DESC);
    uint16_t i;

    g_assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
    /* at least one region; the tests check which */
    g_assert_true(offered & ((1ull << VIRTIO_VSSD_F_BLOCK_REGION) |
                             (1ull << VIRTIO_VSSD_F_PMEM_REGION)));
    if (d->want_mq) {
        wanted |= 1ull << VIRTIO_VSSD_F_MQ;
    }

    /* qvirtio_set_features() checks that the device keeps FEATURES_OK. */
    d->features = offered & wanted;
    qvirtio_set_features(d->dev, d->features);

    d->nr_req_queues = 1;
    if (d->features & (1ull << VIRTIO_VSSD_F_MQ)) {
        d->nr_req_queues = qvirtio_config_readw(d->dev,
                               offsetof(struct virtio_vssd_config,
                                        num_queues));
    }
    g_assert_cmpuint(d->nr_req_queues, >=, 1);
    g_assert_cmpuint(d->nr_req_queues, <=, QVIRTIO_VSSD_MAX_REQ_QUEUES);
    for (i = 0; i < d->nr_req_queues; i++) {
        d->req_vqs[i] = qvirtqueue_setup(d->dev, d->alloc, i);
    }
    d->vq = d->req_vqs[0];
    /* the control queue comes after the request queues */
    d->ctrlq = qvirtqueue_setup(d->dev, d->alloc, d->nr_req_queues);
    qvirtio_set_driver_ok(d->dev);
}

void qvirtio_vssd_driver_cleanup(QVirtioVssdDriver *d)
{
    uint16_t i;

    for (i = 0; i < d->nr_req_queues; i++) {
        qvirtqueue_cleanup(d->dev->bus, d->req_vqs[i], d->alloc);
        d->req_vqs[i] = NULL;
    }
    qvirtqueue_cleanup(d->dev->bus, d->ctrlq, d->alloc);
    d->vq = NULL;
    d->ctrlq = NULL;
}

void qvirtio_vssd_driver_reinit(QVirtioVssdDriver *d)
{
    qvirtio_vssd_driver_cleanup(d);
    qvirtio_start_device(d->dev);   /* reset, ACKNOWLEDGE, DRIVER */
    qvirtio_vssd_driver_init(d);
}

bool qvirtio_vssd_broken(QVirtioVssdDriver *d)
{
    return d->dev->bus->get_status(d->dev) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* --- descriptor chains ---------------------------------------------------- */

void qvirtio_vssd_make_room(QVirtQueue *vq, uint32_t n)
{
    g_assert_cmpuint(n, <=, vq->size);
    if (vq->free_head + n > vq->size) {
        vq->free_head = 0;
        vq->num_free = vq->size;
    }
}

uint32_t qvirtio_vssd_queue_chain(QVirtioVssdDriver *d, QVirtQueue *vq,
                                  const QVirtioVssdSeg *segs, uint32_t n)
{
    uint32_t head = 0;
    uint32_t i;

    qvirtio_vssd_make_room(vq, n);
    for (i = 0; i < n; i++) {
        uint32_t idx = qvirtqueue_add(d->qts, vq, segs[i].addr, segs[i].len,
                                      segs[i].device_writes, i + 1 < n);
        if (i == 0) {
            head = idx;
        }
    }
    return head;
}

void qvirtio_vssd_kick_all(QVirtioVssdDriver *d, QVirtQueue *vq,
                           const uint32_t *heads, uint32_t n)
{
    /*
     * vq->avail->ring[] and ->idx (little endian: VERSION_1) for all but
     * the last chain, without a notification; then the last one, kicked
     */
    uint16_t le, idx;
    uint32_t i;

    qtest_memread(d->qts, vq->avail + 2, &le, sizeof(le));
    idx = le16_to_cpu(le);
    for (i = 0; i + 1 < n; i++) {
        le = cpu_to_le16(heads[i]);
        qtest_memwrite(d->qts, vq->avail + 4 + 2 * ((idx + i) % vq->size),
                       &le, sizeof(le));
    }
    le = cpu_to_le16(idx + n - 1);
    qtest_memwrite(d->qts, vq->avail + 2, &le, sizeof(le));
    qvirtqueue_kick(d->qts, d->dev, vq, heads[n - 1]);
}

void qvirtio_vssd_wait_used_all(QVirtioVssdDriver *d, QVirtQueue *vq,
                                uint32_t n)
{
    gint64 start = g_get_monotonic_time();
    uint32_t got = 0;

    while (got < n) {
        qtest_clock_step(d->qts, 100);
        while (got < n && qvirtqueue_get_buf(d->qts, vq, NULL, NULL)) {
            got++;
        }
        g_assert_cmpint(g_get_monotonic_time() - start, <=,
                        QVIRTIO_VSSD_TIMEOUT_US);
    }
}

uint32_t qvirtio_vssd_add_chain(QVirtioVssdDriver *d, QVirtQueue *vq,
                                const QVirtioVssdSeg *segs, uint32_t n)
{
    uint32_t head = qvirtio_vssd_queue_chain(d, vq, segs, n);

    qvirtqueue_kick(d->qts, d->dev, vq, head);
    return head;
}

/*
 * qvirtio_wait_used_elem() cannot tell a device that refused the chain:
 * that one never uses it, it sets NEEDS_RESET. Watch for both.
 */
bool qvirtio_vssd_wait_used_or_broken(QVirtioVssdDriver *d, QVirtQueue *vq,
                                      uint32_t head)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        uint32_t got;

        qtest_clock_step(d->qts, 100);
        if (qvirtqueue_get_buf(d->qts, vq, &got, NULL)) {
            g_assert_cmpuint(got, ==, head);
            return true;
        }
        if (qvirtio_vssd_broken(d)) {
            return false;
        }
        g_assert_cmpint(g_get_monotonic_time() - start, <=,
                        QVIRTIO_VSSD_TIMEOUT_US);
    }
}

void qvirtio_vssd_submit(QVirtioVssdDriver *d, QVirtQueue *vq,
                         const QVirtioVssdSeg *segs, uint32_t n)
{
    uint32_t head = qvirtio_vssd_add_chain(d, vq, segs, n);

    qvirtio_wait_used_elem(d->qts, d->dev, vq, head, NULL,
                           QVIRTIO_VSSD_TIMEOUT_US);
}

bool qvirtio_vssd_submit_may_break(QVirtioVssdDriver *d, QVirtQueue *vq,
                                   const QVirtioVssdSeg *segs, uint32_t n)
{
    uint32_t head = qvirtio_vssd_add_chain(d, vq, segs, n);

    return qvirtio_vssd_wait_used_or_broken(d, vq, head);
}

/* --- requests ------------------------------------------------------------- */

void qvirtio_vssd_put_blk_hdr(QVirtioVssdDriver *d, uint64_t addr,
                              uint16_t type, uint16_t flags, uint64_t sector,
                              uint32_t num_sectors)
{
    struct virtio_vssd_blk_req hdr = {
        .type = cpu_to_le16(type),
        .flags = cpu_to_le16(flags),
        .num_sectors = cpu_to_le32(num_sectors),
        .sector = cpu_to_le64(sector),
    };

    qtest_memwrite(d->qts, addr, &hdr, sizeof(hdr));
}

int qvirtio_vssd_blk_request(QVirtioVssdDriver *d,
                             const QVirtioVssdBlkReq *req, void *buf,
                             bool may_break)
{
    const uint32_t len = req->len;
    uint64_t hdr = guest_alloc(d->alloc,
                               sizeof(struct virtio_vssd_blk_req) + len + 1);
    uint64_t data = hdr + sizeof(struct virtio_vssd_blk_req);
    uint64_t status = data + len;
    QVirtioVssdSeg segs[3];
    uint32_t n = 0;
    bool used;
    int ret;

    qvirtio_vssd_put_blk_hdr(d, hdr, req->type, req->flags, req->sector,
                             req->num_sectors);
    segs[n++] = (QVirtioVssdSeg) {
        hdr, sizeof(struct virtio_vssd_blk_req), false
    };
    if (len) {
        if (req->device_writes) {
            qtest_memset(d->qts, data, 0xa5, len);
        } else {
            qtest_memwrite(d->qts, data, buf, len);
        }
        segs[n++] = (QVirtioVssdSeg) { data, len, req->device_writes };
    }
    qtest_writeb(d->qts, status, 0xff);
    segs[n++] = (QVirtioVssdSeg) { status, 1, true };

    if (may_break) {
        used = qvirtio_vssd_submit_may_break(d, d->vq, segs, n);
    } else {
        qvirtio_vssd_submit(d, d->vq, segs, n);
        used = true;
    }
    ret = used ? qtest_readb(d->qts, status) : QVIRTIO_VSSD_BROKEN;
    if (ret == VIRTIO_VSSD_S_OK && len && req->device_writes) {
        qtest_memread(d->qts, data, buf, len);
    }
    guest_free(d->alloc, hdr);
    return ret;
}

struct virtio_vssd_ctrl_req qvirtio_vssd_req_list(uint16_t type,
                                                  uint16_t region,
                                                  uint32_t generation,
                                                  uint32_t nr_ranges)
{
    struct virtio_vssd_ctrl_req req = {
        .type = cpu_to_le16(type),
        .region = cpu_to_le16(region),
    };

    /* UNPLUG and PLUG share their layout */
    req.u.plug.generation = cpu_to_le32(generation);
    req.u.plug.nr_ranges = cpu_to_le32(nr_ranges);
    return req;
}

struct virtio_vssd_ctrl_req qvirtio_vssd_req_unplug_host(uint16_t region,
                                                         uint32_t generation,
                                                         uint64_t nr_blocks)
{
    return (struct virtio_vssd_ctrl_req) {
        .type = cpu_to_le16(VIRTIO_VSSD_CTRL_UNPLUG_HOST),
        .region = cpu_to_le16(region),
        .u.unplug_host.generation = cpu_to_le32(generation),
        .u.unplug_host.nr_blocks = cpu_to_le64(nr_blocks),
    };
}

struct virtio_vssd_ctrl_req qvirtio_vssd_req_get_map(uint16_t region,
                                                     uint64_t first_block)
{
    return (struct virtio_vssd_ctrl_req) {
        .type = cpu_to_le16(VIRTIO_VSSD_CTRL_GET_MAP),
        .region = cpu_to_le16(region),
        .u.get_map.first_block = cpu_to_le64(first_block),
    };
}

struct virtio_vssd_ctrl_req qvirtio_vssd_req_pmem_flush(uint16_t region,
                                                        uint64_t offset,
                                                        uint64_t length)
{
    return (struct virtio_vssd_ctrl_req) {
        .type = cpu_to_le16(VIRTIO_VSSD_CTRL_PMEM_FLUSH),
        .region = cpu_to_le16(region),
        .u.pmem_flush.offset = cpu_to_le64(offset),
        .u.pmem_flush.length = cpu_to_le64(length),
    };
}

/*
 * Decodes @resp, the answer to a request of @type, into @reply; checks
 * that every byte the answer does not use is zero.
 */
static void qvirtio_vssd_decode_resp(uint16_t type,
                                     const struct virtio_vssd_ctrl_resp *resp,
                                     QVirtioVssdCtrlReply *reply)
{
    struct virtio_vssd_ctrl_resp unused = *resp;

    *reply = (QVirtioVssdCtrlReply) {
        .status = le16_to_cpu(resp->status),
        .reason = le16_to_cpu(resp->reason),
    };
    unused.status = 0;
    unused.reason = 0;
    if (reply->status == VIRTIO_VSSD_RESP_ACK &&
        type == VIRTIO_VSSD_CTRL_GET_MAP) {
        reply->nr_ranges = le32_to_cpu(resp->u.get_map.nr_ranges);
        reply->next_block = le64_to_cpu(resp->u.get_map.next_block);
        unused.u.get_map.nr_ranges = 0;
        unused.u.get_map.next_block = 0;
    } else if (reply->status == VIRTIO_VSSD_RESP_ACK &&
               type == VIRTIO_VSSD_CTRL_UNPLUG_HOST) {
        reply->nr_ranges = le32_to_cpu(resp->u.unplug_host.nr_ranges);
        reply->nr_blocks = le64_to_cpu(resp->u.unplug_host.nr_blocks);
        unused.u.unplug_host.nr_ranges = 0;
        unused.u.unplug_host.nr_blocks = 0;
    }
    g_assert_true(buffer_is_zero(&unused, sizeof(unused)));
}

void qvirtio_vssd_ctrl(QVirtioVssdDriver *d,
                       const struct virtio_vssd_ctrl_req *req,
                       const struct virtio_vssd_range *in, uint32_t nr_in,
                       QVirtioVssdCtrlReply *reply,
                       struct virtio_vssd_range *out, uint32_t max_out)
{
    struct virtio_vssd_ctrl_resp resp;
    size_t in_len = nr_in * sizeof(*in);
    size_t out_len = max_out * sizeof(*out);
    uint64_t req_addr = guest_alloc(d->alloc, sizeof(*req) + in_len +
                                    sizeof(resp) + out_len);
    uint64_t in_addr = req_addr + sizeof(*req);
    uint64_t resp_addr = in_addr + in_len;
    uint64_t out_addr = resp_addr + sizeof(resp);
    QVirtioVssdSeg segs[4];
    uint32_t n = 0, i;

    qtest_memwrite(d->qts, req_addr, req, sizeof(*req));
    segs[n++] = (QVirtioVssdSeg) { req_addr, sizeof(*req), false };
    if (nr_in) {
        for (i = 0; i < nr_in; i++) {
            struct virtio_vssd_range r = {
                .first = cpu_to_le64(in[i].first),
                .count = cpu_to_le64(in[i].count),
            };
            qtest_memwrite(d->qts, in_addr + i * sizeof(r), &r, sizeof(r));
        }
        segs[n++] = (QVirtioVssdSeg) { in_addr, in_len, false };
    }
    qtest_memset(d->qts, resp_addr, 0xff, sizeof(resp) + out_len);
    segs[n++] = (QVirtioVssdSeg) { resp_addr, sizeof(resp), true };
    if (max_out) {
        segs[n++] = (QVirtioVssdSeg) { out_addr, out_len, true };
    }

    qvirtio_vssd_submit(d, d->ctrlq, segs, n);
    qtest_memread(d->qts, resp_addr, &resp, sizeof(resp));
    qvirtio_vssd_decode_resp(le16_to_cpu(req->type), &resp, reply);
    for (i = 0; i < max_out; i++) {
        struct virtio_vssd_range r;

        qtest_memread(d->qts, out_addr + i * sizeof(r), &r, sizeof(r));
        out[i].first = le64_to_cpu(r.first);
        out[i].count = le64_to_cpu(r.count);
    }
    guest_free(d->alloc, req_addr);
}

/* --- the node ------------------------------------------------------------- */

static void *qvirtio_vssd_get_driver(QVirtioVssd *vssd, const char *interface)
{
    if (!g_strcmp0(interface, "virtio-vssd")) {
        return vssd;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return vssd->vdev;
    }

    fprintf(stderr, "%s not present in virtio-vssd\n", interface);
    g_assert_not_reached();
}

static void *qvirtio_vssd_pci_get_driver(void *object, const char *interface)
{
    QVirtioVssdPCI *v = object;

    if (!g_strcmp0(interface, "pci-device")) {
        return v->pci_vdev.pdev;
    }
    return qvirtio_vssd_get_driver(&v->vssd, interface);
}

static void *virtio_vssd_pci_create(void *pci_bus, QGuestAllocator *alloc,
                                    void *addr)
{
    QVirtioVssdPCI *v = g_new0(QVirtioVssdPCI, 1);
    QPCIBus *bus = pci_bus;

    virtio_pci_init(&v->pci_vdev, bus, addr);
    v->vssd.vdev = &v->pci_vdev.vdev;
    v->vssd.qts = bus->qts;
    v->vssd.pdev = v->pci_vdev.pdev;

    g_assert_cmphex(v->vssd.vdev->device_type, ==, VIRTIO_ID_VSSD);

    v->pci_vdev.obj.get_driver = qvirtio_vssd_pci_get_driver;
    return &v->pci_vdev.obj;
}

static void virtio_vssd_register_nodes(void)
{
    QPCIAddress addr = {
        .devfn = QPCI_DEVFN(VSSD_PCI_SLOT, VSSD_PCI_FN),
    };
    QOSGraphEdgeOptions opts = { };
    g_autofree char *dev_opts =
        g_strdup_printf("id=%s,serial=%s,addr=%x.%x", QVIRTIO_VSSD_ID,
                        QVIRTIO_VSSD_SERIAL, VSSD_PCI_SLOT, VSSD_PCI_FN);

    opts.extra_device_opts = dev_opts;
    add_qpci_address(&opts, &addr);
    qos_node_create_driver("virtio-vssd-pci", virtio_vssd_pci_create);
    qos_node_consumes("virtio-vssd-pci", "pci-bus", &opts);
    qos_node_produces("virtio-vssd-pci", "virtio-vssd");
}

libqos_init(virtio_vssd_register_nodes);
