/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: what the device's files share and nothing else may use.
 *
 *   virtio-vssd.c            config space, features, queue layout,
 *                            realize/unrealize/reset, migration, properties
 *   virtio-vssd-blk.c        the request queues: block requests
 *   virtio-vssd-dataplane.c  serving the request queues in an IOThread
 *   virtio-vssd-ctrl.c       the control queue: parsing and dispatch
 *   virtio-vssd-resize.c     the resize protocol: targets, UNPLUG, PLUG,
 *                            UNPLUG_HOST
 *   virtio-vssd-pmem.c       the persistent-memory region: memdev, discards,
 *                            PMEM_FLUSH
 *   virtio-vssd-qmp.c        QMP and HMP commands
 *   vssd-state.c             the state file
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef HW_BLOCK_VSSD_VIRTIO_VSSD_INTERNAL_H
#define HW_BLOCK_VSSD_VIRTIO_VSSD_INTERNAL_H

#include "qemu/bitmap.h"
#include "qemu/units.h"
#include "qapi/qapi-types-vssd.h"
#include "hw/virtio/virtio-vssd.h"

#define VIRTIO_VSSD_DEFAULT_BLOCK_SIZE (1 * MiB)
#define VIRTIO_VSSD_MIN_BLOCK_SIZE 4096
#define VIRTIO_VSSD_MAX_BLOCK_SIZE (1 * GiB)
/* a huge page on x86-64; must be at least the memdev's page size */
#define VIRTIO_VSSD_DEFAULT_PMEM_BLOCK_SIZE (2 * MiB)
/*
 * A chain may not be longer than the ring (virtio 1.x, also with indirect
 * descriptors): 512 lets a 1 MiB request of 4 KiB pages (256 segments, a
 * header and a status byte) travel whole instead of split in two.
 */
#define VIRTIO_VSSD_DEFAULT_QUEUE_SIZE 512
#define VIRTIO_VSSD_MIN_QUEUE_SIZE 4
#define VIRTIO_VSSD_CTRL_QUEUE_SIZE 64
/*
 * Most bytes one READ or WRITE moves (config field max_sectors): what the
 * block layer takes in one request.
 */
#define VIRTIO_VSSD_MAX_IO_BYTES BDRV_REQUEST_MAX_BYTES
/* Most ranges in one control request or reply (config field max_ranges). */
#define VIRTIO_VSSD_MAX_RANGES 4096
/*
 * The start of the pmem region that a host-policy shrink never takes (room
 * for a driver's metadata), rounded up to whole blocks in the config field
 * pmem_reserved_size.
 */
#define VIRTIO_VSSD_PMEM_RESERVED_BYTES 65536

/*
 * Whether every block of @r touched by [offset, offset + bytes) is plugged
 * (@bytes > 0, the range inside the region).
 */
static inline bool virtio_vssd_range_plugged(const VirtIOVSSDRegion *r,
                                             uint64_t offset, uint64_t bytes)
{
    const uint64_t first = offset / r->block_size;
    const uint64_t last = (offset + bytes - 1) / r->block_size;

    return find_next_zero_bit(r->plugged, last + 1, first) > last;
}

/* The QAPI name of region @id (VIRTIO_VSSD_REGION_*). */
static inline SsdBalloonRegion virtio_vssd_qapi_region(uint16_t id)
{
    return id == VIRTIO_VSSD_REGION_PMEM ? SSD_BALLOON_REGION_PMEM
                                         : SSD_BALLOON_REGION_BLOCK;
}

/* virtio-vssd.c */

/* The region @id (VIRTIO_VSSD_REGION_*) of @s, or NULL if it is absent. */
VirtIOVSSDRegion *virtio_vssd_get_region(VirtIOVSSD *s, uint16_t id);
/* The transport device the user named (virtio-vssd-pci), or @s itself. */
DeviceState *virtio_vssd_get_transport(VirtIOVSSD *s);
/* Replaces the state file (if any) with the current plugged maps. */
bool virtio_vssd_save_state(VirtIOVSSD *s, Error **errp);
/*
 * Region @id of @size bytes in blocks of r->block_size (set already), all
 * plugged and wanted.
 */
void virtio_vssd_region_init(VirtIOVSSDRegion *r, uint16_t id, uint64_t size);
/* Frees what virtio_vssd_region_init() allocated. */
void virtio_vssd_region_free(VirtIOVSSDRegion *r);

/* virtio-vssd-blk.c */

/*
 * The handler of the request queues (kicks arrive in the main loop or a
 * vCPU thread, with the BQL held).
 */
void virtio_vssd_blk_handle_output(VirtIODevice *vdev, VirtQueue *vq);
/* Serves request queue @vq until it is empty, in the backend's AioContext. */
void virtio_vssd_blk_handle_vq(VirtIOVSSD *s, VirtQueue *vq);
/* The number of block requests the backend holds. */
unsigned int virtio_vssd_blk_nr_inflight(VirtIOVSSD *s);
/* The VM runs again: resubmit the requests an error stopped (BQL held). */
void virtio_vssd_blk_retry_stopped(VirtIOVSSD *s);
/* Device reset: forget the requests an error stopped (rings are reset). */
void virtio_vssd_blk_drop_stopped(VirtIOVSSD *s);

/* virtio-vssd-dataplane.c */

/* With "iothread": the bottom half that serves the request queues there. */
void virtio_vssd_dataplane_init(VirtIOVSSD *s);
/* Stops the IOThread's service if it runs and undoes the init. */
void virtio_vssd_dataplane_cleanup(VirtIOVSSD *s);
/*
 * Moves the block backend and the request queues to the IOThread; on
 * failure requests keep being served in the main loop.
 */
void virtio_vssd_dataplane_start(VirtIOVSSD *s);
/* Back to the main loop; waits for the requests the backend holds. */
void virtio_vssd_dataplane_stop(VirtIOVSSD *s);

/* virtio-vssd-ctrl.c */

/*
 * Control requests answer with an int: 0 (ACK), a NACK reason
 * (VIRTIO_VSSD_R_*, > 0), -EBUSY (BUSY) or another negative errno (ERROR).
 */

/* The handler of the control queue, always in the main loop (BQL held). */
void virtio_vssd_ctrl_handle_output(VirtIODevice *vdev, VirtQueue *vq);
/*
 * Answers control request @elem of @type with the status for @ret (and
 * the ranges already written after @resp if it is 0): writes @resp,
 * pushes @elem to @vq and notifies the guest. The caller frees @elem.
 */
void virtio_vssd_ctrl_complete(VirtIOVSSD *s, VirtQueue *vq,
                               VirtQueueElement *elem, uint16_t type, int ret,
                               struct virtio_vssd_ctrl_resp *resp);
/*
 * Whether every reserved byte of control request @req of @type is zero
 * (the wire protocol refuses a request where one is not).
 */
bool virtio_vssd_ctrl_reserved_zero(const struct virtio_vssd_ctrl_req *req,
                                    uint16_t type);

/* virtio-vssd-resize.c */

/*
 * Asks the guest for @size bytes of @region with @policy (ssd-balloon):
 * checks the request, sets the target, raises a config interrupt.
 */
bool virtio_vssd_resize_set_target(VirtIOVSSD *s, SsdBalloonRegion region,
                                   int64_t size, SsdBalloonPolicy policy,
                                   Error **errp);
/*
 * Control request @req (UNPLUG, PLUG or UNPLUG_HOST, its header already
 * read from @elem): checks it as a whole, applies it and counts refusals.
 * UNPLUG_HOST fills @resp's u.unplug_host and writes the ranges it took
 * after it.
 */
/*
 * The first blocks of @r a host-policy shrink never takes (the pmem
 * region's first VIRTIO_VSSD_PMEM_RESERVED_BYTES; none in the block region).
 */
uint64_t virtio_vssd_host_reserved(const VirtIOVSSDRegion *r);
int virtio_vssd_resize_ctrl(VirtIOVSSD *s, VirtQueueElement *elem,
                            const struct virtio_vssd_ctrl_req *req,
                            struct virtio_vssd_ctrl_resp *resp);

/* virtio-vssd-pmem.c */

/* Takes the memdev for the pmem region (property "memdev"). */
bool virtio_vssd_pmem_realize(VirtIOVSSD *s, Error **errp);
/* Undoes virtio_vssd_pmem_realize(); nothing without a pmem region. */
void virtio_vssd_pmem_unrealize(VirtIOVSSD *s);
/*
 * Frees the host storage of @count pmem blocks from @first; they read as
 * zeroes afterwards. Returns 0 or -errno.
 */
int virtio_vssd_pmem_discard(VirtIOVSSD *s, uint64_t first, uint64_t count);
/*
 * PMEM_FLUSH @elem of @length bytes at @offset of @region: 0 if it is
 * submitted (it then owns @elem and answers later), else a NACK reason.
 */
int virtio_vssd_pmem_flush(VirtIOVSSD *s, VirtQueue *vq,
                           VirtQueueElement *elem, uint16_t region,
                           uint64_t offset, uint64_t length);
/* Waits until every PMEM_FLUSH request has been answered (BQL held). */
void virtio_vssd_pmem_drain(VirtIOVSSD *s);

#endif /* HW_BLOCK_VSSD_VIRTIO_VSSD_INTERNAL_H */
