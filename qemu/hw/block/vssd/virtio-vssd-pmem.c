/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: the persistent-memory region. Taking the memory backend
 * ("memdev") and giving it back, discarding blocks of it, and PMEM_FLUSH:
 * msync() of a range in the main loop's thread pool, answered in the main
 * loop.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/madvise.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "block/aio-wait.h"
#include "block/thread-pool.h"
#include "exec/memory.h"
#include "migration/vmstate.h"
#include "virtio-vssd-internal.h"
#include "trace.h"

/*
 * The memdev must be free, shared (guest stores must reach the backing
 * file, not a private copy) and of a size and page size that fit the
 * blocks; guest memory must not be locked (-overcommit mem-lock):
 * discarding blocks does not work on locked memory.
 */
static bool virtio_vssd_check_memdev(VirtIOVSSD *s, Error **errp)
{
    g_autofree char *name = host_memory_backend_get_name(s->memdev);
    MemoryRegion *mr = host_memory_backend_get_memory(s->memdev);
    const uint64_t size = memory_region_size(mr);
    const uint64_t bs = s->pmem.block_size;
    const size_t page_size = qemu_ram_pagesize(mr->ram_block);

    if (vssd_mem_lock_enabled()) {
        error_setg(errp, "'%s' property: a persistent-memory region is "
                   "incompatible with '-overcommit mem-lock=on': its blocks "
                   "cannot be discarded from locked memory",
                   VIRTIO_VSSD_MEMDEV_PROP);
        return false;
    }
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
bool virtio_vssd_pmem_realize(VirtIOVSSD *s, Error **errp)
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
    virtio_vssd_region_init(&s->pmem, VIRTIO_VSSD_REGION_PMEM,
                            memory_region_size(mr));
    return true;
}

/* Undoes virtio_vssd_pmem_realize(). */
void virtio_vssd_pmem_unrealize(VirtIOVSSD *s)
{
    if (!s->pmem.size) {
        return;
    }
    vmstate_unregister_ram(host_memory_backend_get_memory(s->memdev),
                           DEVICE(s));
    host_memory_backend_set_mapped(s->memdev, false);
    ram_block_discard_require(false);
    virtio_vssd_region_free(&s->pmem);
    s->pmem.size = 0;
}

/*
 * Discards @count blocks of the pmem region from @first: a hole in the
 * memdev's file (shared file mappings), or its pages freed (shared
 * anonymous memory). Either way the blocks read as zeroes afterwards, in
 * the guest's mapping too.
 */
int virtio_vssd_pmem_discard(VirtIOVSSD *s, uint64_t first, uint64_t count)
{
    RAMBlock *rb = host_memory_backend_get_memory(s->memdev)->ram_block;
    const int ret = ram_block_discard_range(rb, first * s->pmem.block_size,
                                            count * s->pmem.block_size);

    return ret < 0 ? ret : 0;
}

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
    /* the pool of the main loop, where the control queue is served */
    thread_pool_submit_aio(virtio_vssd_pmem_flush_worker, f,
                           virtio_vssd_pmem_flush_done, f);
}

int virtio_vssd_pmem_flush(VirtIOVSSD *s, VirtQueue *vq,
                           VirtQueueElement *elem, uint16_t region,
                           uint64_t offset, uint64_t length)
{
    const int ret = virtio_vssd_check_pmem_flush(s, elem, region, offset,
                                                 length);

    if (ret) {
        s->flush_stats.refused++;
        return ret;
    }
    virtio_vssd_pmem_flush_submit(s, vq, elem, offset, length);
    return 0;
}

/*
 * Waits until every PMEM_FLUSH request has been answered (BQL held): their
 * replies land in the rings before these are reset, re-laid out or saved,
 * and nothing is left that uses the device or the memdev.
 */
void virtio_vssd_pmem_drain(VirtIOVSSD *s)
{
    AIO_WAIT_WHILE(NULL, s->pmem_flushes > 0);
}
