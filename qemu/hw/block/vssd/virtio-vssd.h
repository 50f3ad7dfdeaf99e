/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: elastic SSD capacity for virtual machines.
 *
 * The wire protocol is include/standard-headers/linux/virtio_vssd.h.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef HW_VIRTIO_VSSD_H
#define HW_VIRTIO_VSSD_H

#include "standard-headers/linux/virtio_vssd.h"
#include "hw/virtio/virtio.h"
#include "qemu/units.h"
#include "hw/block/block.h"
#include "sysemu/iothread.h"
#include "qom/object.h"

#define TYPE_VIRTIO_VSSD "virtio-vssd"

OBJECT_DECLARE_TYPE(VirtIOVSSD, VirtIOVSSDClass, VIRTIO_VSSD)

/* User-settable properties. */
#define VIRTIO_VSSD_DRIVE_PROP "drive"
#define VIRTIO_VSSD_BLOCK_SIZE_PROP "block-size"
#define VIRTIO_VSSD_NUM_QUEUES_PROP "num-queues"
#define VIRTIO_VSSD_QUEUE_SIZE_PROP "queue-size"
#define VIRTIO_VSSD_IOTHREAD_PROP "iothread"
#define VIRTIO_VSSD_SERIAL_PROP "serial"
/* Read-only properties (bytes). */
#define VIRTIO_VSSD_BLOCK_REGION_SIZE_PROP "block-region-size"
#define VIRTIO_VSSD_BLOCK_PLUGGED_SIZE_PROP "block-plugged-size"

#define VIRTIO_VSSD_DEFAULT_BLOCK_SIZE (1 * MiB)
#define VIRTIO_VSSD_MIN_BLOCK_SIZE 4096
#define VIRTIO_VSSD_DEFAULT_NUM_QUEUES 1
#define VIRTIO_VSSD_MAX_NUM_QUEUES 16
#define VIRTIO_VSSD_DEFAULT_QUEUE_SIZE 256
#define VIRTIO_VSSD_MIN_QUEUE_SIZE 4
#define VIRTIO_VSSD_CTRL_QUEUE_SIZE 64

/*
 * Threads: with an IOThread (and the driver ready) request queues are served
 * in its AioContext, else in the main loop; the control queue is always
 * served in the main loop with the BQL held. Block-region state that the
 * request path reads (@plugged, @nb_plugged) changes only with the BQL held
 * *and* the backend's AioContext acquired.
 */
struct VirtIOVSSD {
    VirtIODevice parent_obj;

    /* request queues [0, nr_req_vqs) of num_queues slots */
    VirtQueue **req_vqs;
    /* control queue, index nr_req_vqs */
    VirtQueue *ctrl_vq;
    /* request queues in use: num_queues with VIRTIO_VSSD_F_MQ, else 1 */
    uint16_t nr_req_vqs;

    /* block region backend ("drive") and its options */
    BlockConf conf;
    /* block region granularity in bytes ("block-size") */
    uint64_t block_size;
    /* block region size in bytes: the backend's size */
    uint64_t block_region_size;
    /* number of blocks in the block region */
    uint64_t nb_blocks;
    /* bitmap of nb_blocks bits: set = plugged (usable by the guest) */
    unsigned long *plugged;
    /* nb_blocks as the int32 that VMSTATE_BITMAP wants */
    int32_t plugged_bitmap_size;
    /* number of plugged blocks (popcount of @plugged) */
    uint64_t nb_plugged;

    /* number of request queues ("num-queues") */
    uint16_t num_queues;
    /* ring size of each request queue ("queue-size") */
    uint16_t queue_size;
    /* serial number returned by GET_ID ("serial"), may be NULL */
    char *serial;

    /* IOThread serving the request queues ("iothread"), may be NULL */
    IOThread *iothread;
    /* its AioContext */
    AioContext *ctx;
    /* serves the request queues in @ctx */
    QEMUBH *iothread_bh;
    /* requests are served in @ctx (changes with @ctx acquired) */
    bool iothread_started;

    /* block requests submitted to the backend, not completed (in @ctx) */
    QLIST_HEAD(, VirtIOVSSDReq) inflight;
};

struct VirtIOVSSDClass {
    /* private */
    VirtioDeviceClass parent;
};

#endif /* HW_VIRTIO_VSSD_H */
