/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqos driver for the virtio-vssd device: the "virtio-vssd-pci" node and
 * a driver of the device (feature negotiation, queues, descriptor chains,
 * block and control requests) for the tests to drive it with.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef TESTS_LIBQOS_VIRTIO_VSSD_H
#define TESTS_LIBQOS_VIRTIO_VSSD_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"
#include "standard-headers/linux/virtio_vssd.h"

/* Names the device is started with (see virtio_vssd_register_nodes()). */
#define QVIRTIO_VSSD_ID         "vssd0"      /* -device id= */
#define QVIRTIO_VSSD_NODE_NAME  "vssd-disk"  /* -blockdev node-name= */
#define QVIRTIO_VSSD_SERIAL     "vssd-qtest-serial"

/* How long the device may take to answer a request. */
#define QVIRTIO_VSSD_TIMEOUT_US (30 * 1000 * 1000)

/* Request queues the driver can set up (the device allows 16). */
#define QVIRTIO_VSSD_MAX_REQ_QUEUES 16

/* Outcomes of a block request besides its status byte. */
#define QVIRTIO_VSSD_BROKEN     (-1)  /* the device set NEEDS_RESET instead */
#define QVIRTIO_VSSD_NO_STATUS  (-2)  /* completed, but had no status byte */

typedef struct QVirtioVssd QVirtioVssd;
typedef struct QVirtioVssdPCI QVirtioVssdPCI;

/* The "virtio-vssd" interface: virtqueues are set up by each test. */
struct QVirtioVssd {
    QVirtioDevice *vdev;    /* transport-independent virtio device */
    QTestState *qts;        /* the QEMU the device lives in */
    QPCIDevice *pdev;       /* its PCI function (pmem BAR, capabilities) */
};

/* The "virtio-vssd-pci" driver, producing "virtio-vssd". */
struct QVirtioVssdPCI {
    QVirtioPCIDevice pci_vdev;  /* must stay first: the QOSGraphObject */
    QVirtioVssd vssd;           /* the interface handed to tests */
};

/* A driver of the device: what it negotiated and its queues. */
typedef struct QVirtioVssdDriver {
    QVirtioDevice *dev;     /* the device */
    QTestState *qts;        /* the QEMU it lives in */
    QGuestAllocator *alloc; /* guest memory for rings and requests */
    bool want_mq;           /* accept VIRTIO_VSSD_F_MQ if offered */
    uint64_t features;      /* features accepted */
    /* request queues: 1, or config num_queues with VIRTIO_VSSD_F_MQ */
    uint16_t nr_req_queues;
    QVirtQueue *req_vqs[QVIRTIO_VSSD_MAX_REQ_QUEUES];
    QVirtQueue *vq;         /* the request queue block requests use */
    QVirtQueue *ctrlq;      /* control queue, index nr_req_queues */
} QVirtioVssdDriver;

/* One descriptor of a chain. */
typedef struct QVirtioVssdSeg {
    uint64_t addr;          /* guest address */
    uint32_t len;           /* length in bytes */
    bool device_writes;     /* VRING_DESC_F_WRITE */
} QVirtioVssdSeg;

/* A block request: header fields and data buffer. */
typedef struct QVirtioVssdBlkReq {
    uint16_t type;
    uint16_t flags;
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t len;           /* bytes of data, 0 for none */
    bool device_writes;     /* the data buffer is device-writable */
} QVirtioVssdBlkReq;

/* A control reply, in host byte order. */
typedef struct QVirtioVssdCtrlReply {
    uint16_t status;
    uint16_t reason;
    uint32_t nr_ranges;     /* GET_MAP, UNPLUG_HOST: ranges that follow */
    uint64_t next_block;    /* GET_MAP */
    uint64_t nr_blocks;     /* UNPLUG_HOST */
} QVirtioVssdCtrlReply;

/*
 * Negotiates features (VERSION_1, both regions, RESIZE, INDIRECT_DESC and,
 * with @d->want_mq, MQ), sets up the request queues and the control queue
 * and sets DRIVER_OK. @d->dev, @d->qts and @d->alloc must be set.
 */
void qvirtio_vssd_driver_init(QVirtioVssdDriver *d);
/* Frees the queues of qvirtio_vssd_driver_init(). */
void qvirtio_vssd_driver_cleanup(QVirtioVssdDriver *d);
/* Resets the device (which clears NEEDS_RESET) and sets it up again. */
void qvirtio_vssd_driver_reinit(QVirtioVssdDriver *d);
/* Whether the device has set VIRTIO_CONFIG_S_NEEDS_RESET. */
bool qvirtio_vssd_broken(QVirtioVssdDriver *d);

/*
 * libqos hands out descriptors in ring order and never wraps. The tests
 * complete every request (or break the device) before they make the next,
 * so when the ring's end is near all descriptors are free again: start
 * over at 0 to make room for @n.
 */
void qvirtio_vssd_make_room(QVirtQueue *vq, uint32_t n);
/* Adds @segs as one chain to @vq without a kick; returns its head. */
uint32_t qvirtio_vssd_queue_chain(QVirtioVssdDriver *d, QVirtQueue *vq,
                                  const QVirtioVssdSeg *segs, uint32_t n);
/*
 * Makes the chains at @heads available in one go and notifies once (the
 * device sees them all in one run of its queue handler).
 */
void qvirtio_vssd_kick_all(QVirtioVssdDriver *d, QVirtQueue *vq,
                           const uint32_t *heads, uint32_t n);
/* Waits until the device has used @n more chains of @vq, in any order. */
void qvirtio_vssd_wait_used_all(QVirtioVssdDriver *d, QVirtQueue *vq,
                                uint32_t n);
/* Adds @segs as one chain to @vq and kicks; returns its head. */
uint32_t qvirtio_vssd_add_chain(QVirtioVssdDriver *d, QVirtQueue *vq,
                                const QVirtioVssdSeg *segs, uint32_t n);
/*
 * Waits until the device uses the chain at @head (true) or, when it cannot
 * parse the chain, marks itself broken instead (false).
 */
bool qvirtio_vssd_wait_used_or_broken(QVirtioVssdDriver *d, QVirtQueue *vq,
                                      uint32_t head);
/* Adds @segs as one chain, kicks, and waits until the device used it. */
void qvirtio_vssd_submit(QVirtioVssdDriver *d, QVirtQueue *vq,
                         const QVirtioVssdSeg *segs, uint32_t n);
/* The same for a chain that may break the device: false if it did. */
bool qvirtio_vssd_submit_may_break(QVirtioVssdDriver *d, QVirtQueue *vq,
                                   const QVirtioVssdSeg *segs, uint32_t n);

/* Writes a block request header at @addr. */
void qvirtio_vssd_put_blk_hdr(QVirtioVssdDriver *d, uint64_t addr,
                              uint16_t type, uint16_t flags, uint64_t sector,
                              uint32_t num_sectors);
/*
 * Sends block request @req on @d->vq: header, @req->len bytes of data
 * (sent from @buf, or, when @req->device_writes, received into @buf on
 * success) and a status byte. Returns the status byte, or, for a request
 * that @may_break the device, QVIRTIO_VSSD_BROKEN if it did.
 */
int qvirtio_vssd_blk_request(QVirtioVssdDriver *d,
                             const QVirtioVssdBlkReq *req, void *buf,
                             bool may_break);
/* Control request headers (wire byte order), one builder per type. */
struct virtio_vssd_ctrl_req qvirtio_vssd_req_list(uint16_t type,
                                                  uint16_t region,
                                                  uint32_t generation,
                                                  uint32_t nr_ranges);
struct virtio_vssd_ctrl_req qvirtio_vssd_req_unplug_host(uint16_t region,
                                                         uint32_t generation,
                                                         uint64_t nr_blocks);
struct virtio_vssd_ctrl_req qvirtio_vssd_req_get_map(uint16_t region,
                                                     uint64_t first_block);
struct virtio_vssd_ctrl_req qvirtio_vssd_req_pmem_flush(uint16_t region,
                                                        uint64_t offset,
                                                        uint64_t length);
/*
 * Sends control request @req (with @nr_in ranges after it) with room for
 * @max_out ranges in the reply, and waits for the answer: @reply and @out
 * (host byte order). Asserts that the device wrote the whole response
 * header with zeroes where the reply to @req's type has nothing.
 */
void qvirtio_vssd_ctrl(QVirtioVssdDriver *d,
                       const struct virtio_vssd_ctrl_req *req,
                       const struct virtio_vssd_range *in, uint32_t nr_in,
                       QVirtioVssdCtrlReply *reply,
                       struct virtio_vssd_range *out, uint32_t max_out);

#endif
