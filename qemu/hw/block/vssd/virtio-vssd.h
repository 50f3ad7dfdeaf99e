/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: elastic SSD capacity for virtual machines.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef HW_VIRTIO_VSSD_H
#define HW_VIRTIO_VSSD_H

#include "standard-headers/linux/virtio_vssd.h"
#include "hw/virtio/virtio.h"
#include "sysemu/block-backend.h"
#include "sysemu/iothread.h"
#include "qom/object.h"

#define TYPE_VIRTIO_VSSD "virtio-vssd"

OBJECT_DECLARE_TYPE(VirtIOVSSD, VirtIOVSSDClass, VIRTIO_VSSD)

#define VIRTIO_VSSD_DRIVE_PROP "drive"
#define VIRTIO_VSSD_BLOCK_SIZE_PROP "block-size"
#define VIRTIO_VSSD_NUM_QUEUES_PROP "num-queues"
#define VIRTIO_VSSD_QUEUE_SIZE_PROP "queue-size"
#define VIRTIO_VSSD_IOTHREAD_PROP "iothread"
#define VIRTIO_VSSD_SERIAL_PROP "serial"
#define VIRTIO_VSSD_BLOCK_REGION_SIZE_PROP "block-region-size"
#define VIRTIO_VSSD_BLOCK_PLUGGED_SIZE_PROP "block-plugged-size"

#define VIRTIO_VSSD_DEFAULT_BLOCK_SIZE (1 * MiB)
#define VIRTIO_VSSD_MIN_BLOCK_SIZE 4096
#define VIRTIO_VSSD_DEFAULT_NUM_QUEUES 1
#define VIRTIO_VSSD_MAX_NUM_QUEUES 16
#define VIRTIO_VSSD_DEFAULT_QUEUE_SIZE 256
#define VIRTIO_VSSD_CTRL_QUEUE_SIZE 64

struct VirtIOVSSD {
    VirtIODevice parent_obj;

    /* request queues [0, num_queues) and the control queue after them */
    VirtQueue **vqs;
    VirtQueue *ctrl_vq;

    /* block region: backend, its user-set config and its geometry */
    BlockConf conf;
    uint64_t block_size;
    uint64_t block_region_size;
    /* number of blocks in the block region */
    uint64_t nb_blocks;
    /* bit set = block plugged (usable by the guest) */
    unsigned long *plugged;
    /* migrated copy of nb_blocks, sized for the vmstate bitmap */
    int32_t plugged_bitmap_size;
    /* number of plugged blocks (the popcount of @plugged) */
    uint64_t nb_plugged;

    /* number of request queues */
    uint16_t num_queues;
    /* ring size of each request queue */
    uint16_t queue_size;
    /* the block backend and request handling run in this IOThread */
    IOThread *iothread;
    /* AioContext of @iothread, or the main loop's */
    AioContext *ctx;
    /* host notifiers are attached to @ctx (between start and stop) */
    bool ioeventfd_attached;
    /* serial number returned by GET_ID */
    char *serial;

    /* block requests submitted to the backend and not completed */
    unsigned int inflight;
    /* set on reset and unrealize: stop handling new requests */
    bool stopping;
};

struct VirtIOVSSDClass {
    /* private */
    VirtIODeviceClass parent;
};

#endif /* HW_VIRTIO_VSSD_H */
