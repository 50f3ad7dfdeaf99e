/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd device: a block region backed by a QEMU block backend and a
 * persistent-memory region backed by a memory backend, both made of
 * fixed-size blocks that can be plugged and unplugged.
 *
 * This file holds the device itself: its regions and state file, config
 * space, features and queue layout, realize, unrealize and reset,
 * migration and QOM properties. The queues are served by the files listed
 * in virtio-vssd-internal.h.
 *
 * The wire protocol is include/standard-headers/linux/virtio_vssd.h.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "virtio-vssd-internal.h"
#include "vssd-state.h"
#include "trace.h"

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

DeviceState *virtio_vssd_get_transport(VirtIOVSSD *s)
{
    BusState *bus = qdev_get_parent_bus(DEVICE(s));

    return bus && bus->parent ? bus->parent : DEVICE(s);
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

bool virtio_vssd_save_state(VirtIOVSSD *s, Error **errp)
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

/* The fields of an absent region stay 0. */
static void virtio_vssd_get_config(VirtIODevice *vdev, uint8_t *config_data)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);
    struct virtio_vssd_config *config = (void *)config_data;
    const VirtIOVSSDRegion *b = &s->block, *p = &s->pmem;

    memset(config, 0, sizeof(*config));
    config->num_queues = cpu_to_le16(s->num_queues);
    config->resize_generation = cpu_to_le32(s->resize_generation);
    config->max_ranges = cpu_to_le32(s->max_ranges);
    /* a chain holds the header and the status byte too */
    config->seg_max = cpu_to_le32(s->queue_size - 2);
    config->max_sectors = cpu_to_le32(VIRTIO_VSSD_MAX_IO_BYTES >>
                                      VIRTIO_VSSD_SECTOR_SHIFT);
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
        config->pmem_reserved_size =
            cpu_to_le64(virtio_vssd_host_reserved(p) * p->block_size);
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
    /*
     * Block requests on queues about to go. Features are set only after a
     * reset (VERSION_1 is required), which drains already: this keeps the
     * queues' removal safe should that ever change.
     */
    if (s->conf.blk) {
        AioContext *ctx = blk_get_aio_context(s->conf.blk);

        vssd_aio_lock(ctx);
        blk_drain(s->conf.blk);
        virtio_vssd_blk_drop_stopped(s);
        vssd_aio_unlock(ctx);
    }
    /* virtio_add_queue() takes the first free index */
    virtio_delete_queue(s->ctrl_vq);
    for (i = nr; i < s->nr_req_vqs; i++) {
        virtio_delete_queue(s->req_vqs[i]);
        s->req_vqs[i] = NULL;
    }
    for (i = s->nr_req_vqs; i < nr; i++) {
        s->req_vqs[i] = virtio_add_queue(vdev, s->queue_size,
                                         virtio_vssd_blk_handle_output);
    }
    s->ctrl_vq = virtio_add_queue(vdev, VIRTIO_VSSD_CTRL_QUEUE_SIZE,
                                  virtio_vssd_ctrl_handle_output);
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

static void virtio_vssd_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOVSSD *s = VIRTIO_VSSD(vdev);
    const bool run = s->iothread && virtio_device_should_start(vdev, status);

    if (run && !s->iothread_started) {
        virtio_vssd_dataplane_start(s);
    } else if (!run && s->iothread_started) {
        virtio_vssd_dataplane_stop(s);
    }
}

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
    if (s->num_queues == VIRTIO_VSSD_AUTO_NUM_QUEUES) {
        /* a transport that knows the vCPUs has chosen already */
        s->num_queues = 1;
    }
    if (!s->num_queues || s->num_queues > VIRTIO_VSSD_MAX_NUM_QUEUES) {
        error_setg(errp, "'%s' property (%" PRIu16 ") must be between 1 "
                   "and %d", VIRTIO_VSSD_NUM_QUEUES_PROP, s->num_queues,
                   VIRTIO_VSSD_MAX_NUM_QUEUES);
        return false;
    }
    if (!s->max_ranges || s->max_ranges > VIRTIO_VSSD_MAX_RANGES) {
        error_setg(errp, "'%s' property (%" PRIu32 ") must be between 1 "
                   "and %d", VIRTIO_VSSD_MAX_RANGES_PROP, s->max_ranges,
                   VIRTIO_VSSD_MAX_RANGES);
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

void virtio_vssd_region_init(VirtIOVSSDRegion *r, uint16_t id, uint64_t size)
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

void virtio_vssd_region_free(VirtIOVSSDRegion *r)
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
    virtio_vssd_region_init(&s->block, VIRTIO_VSSD_REGION_BLOCK, len);
    return true;
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
    } else {
        /* after an error stopped the VM ("cont"): try those requests again */
        virtio_vssd_blk_retry_stopped(s);
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
    if (s->memdev && !virtio_vssd_pmem_realize(s, errp)) {
        virtio_vssd_region_free(&s->block);
        return;
    }
    if (!virtio_vssd_load_state(s, errp)) {
        virtio_vssd_pmem_unrealize(s);
        virtio_vssd_region_free(&s->block);
        return;
    }

    QLIST_INIT(&s->inflight);
    QSIMPLEQ_INIT(&s->stopped);
    if (s->conf.blk) {
        /* errors that stop the VM show in query-block, as virtio-blk's */
        blk_iostatus_enable(s->conf.blk);
    }
    virtio_vssd_dataplane_init(s);
    s->vmstate_change =
        qemu_add_vm_change_state_handler(virtio_vssd_vm_state_change, s);

    virtio_init(vdev, VIRTIO_ID_VSSD, sizeof(struct virtio_vssd_config));
    /* all queues until the driver's features say otherwise */
    s->req_vqs = g_new0(VirtQueue *, s->num_queues);
    s->nr_req_vqs = s->num_queues;
    for (i = 0; i < s->nr_req_vqs; i++) {
        s->req_vqs[i] = virtio_add_queue(vdev, s->queue_size,
                                         virtio_vssd_blk_handle_output);
    }
    s->ctrl_vq = virtio_add_queue(vdev, VIRTIO_VSSD_CTRL_QUEUE_SIZE,
                                  virtio_vssd_ctrl_handle_output);
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
    virtio_vssd_dataplane_cleanup(s);
    if (s->conf.blk) {
        blk_drain(s->conf.blk);
        virtio_vssd_blk_drop_stopped(s);
    }
    virtio_delete_queue(s->ctrl_vq);
    for (i = 0; i < s->nr_req_vqs; i++) {
        virtio_delete_queue(s->req_vqs[i]);
    }
    g_free(s->req_vqs);
    s->req_vqs = NULL;
    virtio_vssd_pmem_unrealize(s);
    virtio_vssd_region_free(&s->block);
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

    trace_virtio_vssd_reset(vdev, virtio_vssd_blk_nr_inflight(s),
                            s->pmem_flushes);

    virtio_vssd_pmem_drain(s);
    if (s->conf.blk) {
        AioContext *ctx = blk_get_aio_context(s->conf.blk);

        vssd_aio_lock(ctx);
        blk_drain(s->conf.blk);
        virtio_vssd_blk_drop_stopped(s);
        vssd_aio_unlock(ctx);
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

    if (!QSIMPLEQ_EMPTY(&s->stopped)) {
        /* they would be lost: the destination does not know them */
        error_report("virtio-vssd: block requests wait for a retry after an "
                     "I/O error stopped the VM; continue it (cont) or reset "
                     "the guest before migrating");
        return -EBUSY;
    }
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

/* The target of @r from the source is one this device can negotiate. */
static bool virtio_vssd_mig_check_target(const VirtIOVSSDRegion *r,
                                         const char *name)
{
    if (r->requested_blocks > r->nb_blocks) {
        error_report("virtio-vssd: the source requests %" PRIu64 " blocks "
                     "of the %s region, which has %" PRIu64,
                     r->requested_blocks, name, r->nb_blocks);
        return false;
    }
    if (r->policy != VIRTIO_VSSD_POLICY_GUEST &&
        r->policy != VIRTIO_VSSD_POLICY_HOST) {
        error_report("virtio-vssd: unknown resize policy %" PRIu32 " for "
                     "the %s region on the source", r->policy, name);
        return false;
    }
    return true;
}

static int virtio_vssd_post_load(void *opaque, int version_id)
{
    VirtIOVSSD *s = opaque;
    VirtIOVSSDRegion *regions[] = { &s->block, &s->pmem };
    static const char *const names[] = { "block", "pmem" };
    Error *local_err = NULL;
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(regions); i++) {
        VirtIOVSSDRegion *r = regions[i];

        if (!r->size) {
            continue;
        }
        if (!virtio_vssd_mig_check_target(r, names[i])) {
            return -EINVAL;
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

/*
 * The times of the resizes, as ages: QEMU_CLOCK_REALTIME is the host's
 * monotonic clock, which means nothing on another host. -1: none.
 */
typedef struct VirtIOVSSDMigResizeTimes {
    VirtIOVSSD *parent;
    /* how long ago the target in progress was set */
    int64_t block_age_ms;
    int64_t pmem_age_ms;
    /* duration of the last completed resize */
    int64_t block_last_ms;
    int64_t pmem_last_ms;
} VirtIOVSSDMigResizeTimes;

static int64_t virtio_vssd_resize_age(const VirtIOVSSDRegion *r, int64_t now)
{
    return r->size && r->resize_start_ms >= 0 ? now - r->resize_start_ms : -1;
}

static int virtio_vssd_resize_times_pre_save(void *opaque)
{
    VirtIOVSSDMigResizeTimes *tmp = opaque;
    VirtIOVSSD *s = tmp->parent;
    const int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    tmp->block_age_ms = virtio_vssd_resize_age(&s->block, now);
    tmp->pmem_age_ms = virtio_vssd_resize_age(&s->pmem, now);
    tmp->block_last_ms = s->block.size ? s->block.last_resize_ms : -1;
    tmp->pmem_last_ms = s->pmem.size ? s->pmem.last_resize_ms : -1;
    return 0;
}

static bool virtio_vssd_set_resize_times(VirtIOVSSDRegion *r,
                                         const char *name, int64_t age_ms,
                                         int64_t last_ms, int64_t now)
{
    if (age_ms < -1 || last_ms < -1 ||
        (!r->size && (age_ms != -1 || last_ms != -1))) {
        error_report("virtio-vssd: bad resize times for the %s region on "
                     "the source: %" PRId64 " ms ago, last %" PRId64 " ms",
                     name, age_ms, last_ms);
        return false;
    }
    if (r->size) {
        /* a host up for less than @age_ms: the resize starts at its boot */
        r->resize_start_ms = age_ms >= 0 ? MAX(now - age_ms, 0) : -1;
        r->last_resize_ms = last_ms;
    }
    return true;
}

static int virtio_vssd_resize_times_post_load(void *opaque, int version_id)
{
    VirtIOVSSDMigResizeTimes *tmp = opaque;
    VirtIOVSSD *s = tmp->parent;
    const int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    if (!virtio_vssd_set_resize_times(&s->block, "block", tmp->block_age_ms,
                                      tmp->block_last_ms, now) ||
        !virtio_vssd_set_resize_times(&s->pmem, "pmem", tmp->pmem_age_ms,
                                      tmp->pmem_last_ms, now)) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_virtio_vssd_resize_times_tmp = {
    .name = "virtio-vssd-device/resize-times/tmp",
    .pre_save = virtio_vssd_resize_times_pre_save,
    .post_load = virtio_vssd_resize_times_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_INT64(block_age_ms, VirtIOVSSDMigResizeTimes),
        VMSTATE_INT64(pmem_age_ms, VirtIOVSSDMigResizeTimes),
        VMSTATE_INT64(block_last_ms, VirtIOVSSDMigResizeTimes),
        VMSTATE_INT64(pmem_last_ms, VirtIOVSSDMigResizeTimes),
        VMSTATE_END_OF_LIST()
    },
};

static bool virtio_vssd_resize_times_needed(void *opaque)
{
    const VirtIOVSSD *s = opaque;

    return (s->block.size && (s->block.resize_start_ms >= 0 ||
                              s->block.last_resize_ms >= 0)) ||
           (s->pmem.size && (s->pmem.resize_start_ms >= 0 ||
                             s->pmem.last_resize_ms >= 0));
}

/* A resize in progress keeps its start, query-ssd-balloon its duration. */
static const VMStateDescription vmstate_virtio_vssd_resize_times = {
    .name = "virtio-vssd-device/resize-times",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_vssd_resize_times_needed,
    .fields = (VMStateField[]) {
        VMSTATE_WITH_TMP(VirtIOVSSD, VirtIOVSSDMigResizeTimes,
                         vmstate_virtio_vssd_resize_times_tmp),
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
        &vmstate_virtio_vssd_resize_times,
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

static const Property virtio_vssd_properties[] = {
    DEFINE_PROP_DRIVE(VIRTIO_VSSD_DRIVE_PROP, VirtIOVSSD, conf.blk),
    DEFINE_BLOCK_ERROR_PROPERTIES(VirtIOVSSD, conf),
    DEFINE_PROP_SIZE(VIRTIO_VSSD_BLOCK_SIZE_PROP, VirtIOVSSD, block.block_size,
                     VIRTIO_VSSD_DEFAULT_BLOCK_SIZE),
    DEFINE_PROP_LINK(VIRTIO_VSSD_MEMDEV_PROP, VirtIOVSSD, memdev,
                     TYPE_MEMORY_BACKEND, HostMemoryBackend *),
    DEFINE_PROP_SIZE(VIRTIO_VSSD_PMEM_BLOCK_SIZE_PROP, VirtIOVSSD,
                     pmem.block_size, VIRTIO_VSSD_DEFAULT_PMEM_BLOCK_SIZE),
    DEFINE_PROP_UINT16(VIRTIO_VSSD_NUM_QUEUES_PROP, VirtIOVSSD, num_queues,
                       VIRTIO_VSSD_AUTO_NUM_QUEUES),
    DEFINE_PROP_UINT16(VIRTIO_VSSD_QUEUE_SIZE_PROP, VirtIOVSSD, queue_size,
                       VIRTIO_VSSD_DEFAULT_QUEUE_SIZE),
    DEFINE_PROP_LINK(VIRTIO_VSSD_IOTHREAD_PROP, VirtIOVSSD, iothread,
                     TYPE_IOTHREAD, IOThread *),
    DEFINE_PROP_STRING(VIRTIO_VSSD_SERIAL_PROP, VirtIOVSSD, serial),
    DEFINE_PROP_STRING(VIRTIO_VSSD_STATE_FILE_PROP, VirtIOVSSD, state_file),
    DEFINE_PROP_BOOL(VIRTIO_VSSD_HOST_PICK_LOWEST_PROP, VirtIOVSSD,
                     host_pick_lowest, false),
    DEFINE_PROP_UINT32(VIRTIO_VSSD_MAX_RANGES_PROP, VirtIOVSSD, max_ranges,
                       VIRTIO_VSSD_MAX_RANGES),
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
