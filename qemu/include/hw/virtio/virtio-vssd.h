/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: elastic SSD and persistent-memory capacity for virtual
 * machines.
 *
 * The device state and what the transports (virtio-vssd-pci) need; the
 * device's own files share hw/block/vssd/virtio-vssd-internal.h. The wire
 * protocol is include/standard-headers/linux/virtio_vssd.h.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef HW_VIRTIO_VSSD_H
#define HW_VIRTIO_VSSD_H

#include "standard-headers/linux/virtio_vssd.h"
#include "hw/virtio/virtio.h"
#include "hw/block/block.h"
#include "hw/block/vssd/vssd-compat.h"
#include "qom/object.h"

#define TYPE_VIRTIO_VSSD "virtio-vssd"

OBJECT_DECLARE_TYPE(VirtIOVSSD, VirtIOVSSDClass, VIRTIO_VSSD)

/* Counters of the resize protocol, per region, since QEMU started. */
typedef struct VirtIOVSSDResizeStats {
    /* blocks unplugged (given back to the host) */
    uint64_t blocks_evicted;
    /* blocks plugged (handed to the guest) */
    uint64_t blocks_granted;
    /* refused resize requests, all reasons */
    uint64_t replies_refused;
    /* refused resize requests by NACK reason (VIRTIO_VSSD_R_*) */
    uint64_t refused[VIRTIO_VSSD_R_STALE + 1];
    /* resize requests that failed on the host (RESP_ERROR) */
    uint64_t host_errors;
} VirtIOVSSDResizeStats;

/* Counters of PMEM_FLUSH requests since QEMU started. */
typedef struct VirtIOVSSDFlushStats {
    /* acknowledged (the range was durable) */
    uint64_t done;
    /* refused (NACK), all reasons */
    uint64_t refused;
    /* failed on the host (RESP_ERROR) */
    uint64_t errors;
} VirtIOVSSDFlushStats;

/*
 * One region: fixed-size blocks, each plugged (usable by the guest) or not,
 * and what the host wants. The block region and the persistent-memory
 * region are two instances of this.
 */
typedef struct VirtIOVSSDRegion {
    /* VIRTIO_VSSD_REGION_* */
    uint16_t id;
    /* granularity in bytes (a power of two) */
    uint64_t block_size;
    /* size in bytes (nb_blocks * block_size), 0 if the region is absent */
    uint64_t size;
    /* number of blocks */
    uint64_t nb_blocks;
    /* bitmap of nb_blocks bits: set = plugged */
    unsigned long *plugged;
    /* nb_blocks as the int32 that VMSTATE_BITMAP wants */
    int32_t plugged_bitmap_size;
    /* number of plugged blocks (popcount of @plugged) */
    uint64_t nb_plugged;
    /* blocks the host wants plugged */
    uint64_t requested_blocks;
    /* VIRTIO_VSSD_POLICY_* for shrinking */
    uint32_t policy;
    /* QEMU_CLOCK_REALTIME (ms) of the target being negotiated, -1 if none */
    int64_t resize_start_ms;
    /* duration of the last completed resize, -1 before the first one */
    int64_t last_resize_ms;
    /* protocol counters */
    VirtIOVSSDResizeStats stats;
} VirtIOVSSDRegion;

/* User-settable properties. */
#define VIRTIO_VSSD_DRIVE_PROP "drive"
#define VIRTIO_VSSD_BLOCK_SIZE_PROP "block-size"
#define VIRTIO_VSSD_NUM_QUEUES_PROP "num-queues"
#define VIRTIO_VSSD_QUEUE_SIZE_PROP "queue-size"
#define VIRTIO_VSSD_IOTHREAD_PROP "iothread"
#define VIRTIO_VSSD_SERIAL_PROP "serial"
#define VIRTIO_VSSD_STATE_FILE_PROP "state-file"
#define VIRTIO_VSSD_MEMDEV_PROP "memdev"
#define VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP "pmem-block-size"
#define VIRTIO_VSSD_HOST_PICK_LOWEST_PROP "x-host-pick-lowest"
#define VIRTIO_VSSD_MAX_RANGES_PROP "x-max-ranges"
/* Read-only properties (bytes). */
#define VIRTIO_VSSD_BLOCK_REGION_SIZE_PROP "block-region-size"
#define VIRTIO_VSSD_BLOCK_PLUGGED_SIZE_PROP "block-plugged-size"
#define VIRTIO_VSSD_PMEM_REGION_SIZE_PROP "pmem-region-size"
#define VIRTIO_VSSD_PMEM_PLUGGED_SIZE_PROP "pmem-plugged-size"

/* Most request queues a device can have ("num-queues"). */
#define VIRTIO_VSSD_MAX_NUM_QUEUES 16
/* "num-queues" default: one request queue per vCPU, as virtio-blk */
#define VIRTIO_VSSD_AUTO_NUM_QUEUES UINT16_MAX

/*
 * Plugged map: without "state-file" every block starts plugged at each QEMU
 * start. With it, the plugged map of each region is kept in that file
 * (format in hw/block/vssd/vssd-state.h), rewritten atomically after every
 * accepted change, and read back at realize: a restarted QEMU does not hand
 * the guest blocks the host reclaimed. An absent file is created with every
 * block plugged; a file for another geometry is an error.
 *
 * Resize: ssd-balloon sets a region's requested size and bumps
 * resize_generation (config interrupt); the guest answers with control
 * requests (UNPLUG, PLUG, UNPLUG_HOST) that are checked as a whole before
 * anything changes. Device reset keeps the plugged map and the target.
 *
 * Regions: "drive" gives the block region, "memdev" the persistent-memory
 * region; either may be absent, not both. An absent region has size 0 and
 * no bitmap. The pmem region is the memdev's RAM, which the transport maps
 * for the guest (virtio-vssd-pci: a shared memory region in BAR 2, see
 * VirtIOVSSDClass.get_pmem_region); the device itself only discards
 * blocks of it and makes ranges durable (PMEM_FLUSH).
 *
 * Threads: with an IOThread (and the driver ready) request queues are served
 * in its AioContext, else in the main loop; the control queue is always
 * served in the main loop with the BQL held. Block-region state that the
 * request path reads (block.plugged, block.nb_plugged) changes only with
 * the BQL held *and* the backend's AioContext acquired. PMEM_FLUSH requests
 * run msync() in the main loop's thread pool and complete in the main loop;
 * device reset, a change of the queue layout, VM stop and unrealize wait
 * for them (virtio_vssd_pmem_drain()).
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
    /* the block region ("block-size"; geometry from the backend's size) */
    VirtIOVSSDRegion block;
    /* persistent-memory region backend ("memdev"), may be NULL */
    HostMemoryBackend *memdev;
    /* the pmem region ("pmem-block-size"; geometry from the memdev's size) */
    VirtIOVSSDRegion pmem;
    /* PMEM_FLUSH requests submitted to the thread pool, not completed */
    unsigned int pmem_flushes;
    /* PMEM_FLUSH counters */
    VirtIOVSSDFlushStats flush_stats;
    /*
     * VM stop drains PMEM_FLUSH requests; VM start retries the block
     * requests stopped by an error
     */
    VMChangeStateEntry *vmstate_change;

    /* bumped with every new target; answered by resize requests */
    uint32_t resize_generation;
    /* file holding the plugged maps across QEMU restarts, may be NULL */
    char *state_file;
    /*
     * Test knob ("x-host-pick-lowest"): a host-policy shrink takes the
     * lowest eligible plugged blocks instead of a uniform random choice,
     * so that a test knows which blocks go.
     */
    bool host_pick_lowest;
    /* most ranges in one control request or reply (config max_ranges) */
    uint32_t max_ranges;

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

    /*
     * BDRV_REQ_MAY_UNMAP when the backend was opened with discard=unmap,
     * else 0: guest discards then zero the range without freeing storage
     */
    int unmap_flags;

    /* block requests submitted to the backend, not completed (in @ctx) */
    QLIST_HEAD(, VirtIOVSSDReq) inflight;
    /*
     * Of those, the ones that failed with rerror/werror=stop (or enospc):
     * retried when the VM runs again (in @ctx)
     */
    QSIMPLEQ_HEAD(, VirtIOVSSDReq) stopped;
};

struct VirtIOVSSDClass {
    /* private */
    VirtioDeviceClass parent;

    /* public */
    /*
     * The RAM of the persistent-memory region, for the transport to map
     * into the guest (offset 0 of shared memory region
     * VIRTIO_VSSD_SHM_PMEM), or NULL without "memdev". Valid once the
     * device is realized.
     */
    MemoryRegion *(*get_pmem_region)(VirtIOVSSD *s);
};

#endif /* HW_VIRTIO_VSSD_H */
