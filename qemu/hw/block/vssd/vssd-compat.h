/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd: the QEMU versions the device builds with, 10.0 and 7.2.
 *
 * The device is written against QEMU 10.0's API. This header, and only it,
 * knows about 7.2: there it supplies the QEMU 10 names the device uses,
 * built from what 7.2 has. On 10.0 it only includes QEMU's headers.
 *
 *   QEMU 10.0                            on 7.2
 *   system/... headers                   sysemu/... (renamed in 10.0)
 *   qobject/qdict.h                      qapi/qmp/qdict.h (moved in 10.0)
 *   const Property props[], no           a copy of the array with the
 *     DEFINE_PROP_END_OF_LIST(),           terminator 7.2 wants
 *     device_class_set_props(dc, props)
 *   defer_call_begin()/defer_call_end()  nothing (7.2's blk_io_plug()
 *                                          batches only aio=native/io_uring)
 *   thread_pool_submit_aio(func, arg,    7.2's, with the current
 *                          cb, opaque)     AioContext's pool
 *   migration_is_running()               !migration_is_idle()
 *   machine_get_container("peripheral")  container_get(machine, "/peripheral")
 *   no AioContext lock                   vssd_aio_lock()/vssd_aio_unlock()
 *                                          below
 *   should_mlock(mlock_state)            enable_mlock (7.2 has only
 *                                          mem-lock=on|off), both as
 *                                          vssd_mem_lock_enabled() below
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef HW_BLOCK_VSSD_COMPAT_H
#define HW_BLOCK_VSSD_COMPAT_H

#if QEMU_VERSION_MAJOR == 10 && QEMU_VERSION_MINOR == 0
#define VSSD_QEMU_7_2 0
#elif QEMU_VERSION_MAJOR == 7 && QEMU_VERSION_MINOR == 2
#define VSSD_QEMU_7_2 1
#else
#error "virtio-vssd builds with QEMU 10.0 and 7.2"
#endif

#if !VSSD_QEMU_7_2

#include "block/aio.h"
#include "block/thread-pool.h"
#include "qemu/defer-call.h"
#include "qobject/qdict.h"
#include "system/block-backend.h"
#include "system/blockdev.h"
#include "system/hostmem.h"
#include "system/iothread.h"
#include "system/runstate.h"
#include "system/system.h"
#include "migration/misc.h"

/*
 * QEMU 10 has no AioContext lock: the device's code runs in the AioContext
 * that owns what it touches (the block backend's, once an IOThread has it)
 * and reaches into another one with aio_wait_bh_oneshot().
 */
static inline void vssd_aio_lock(AioContext *ctx)
{
}

static inline void vssd_aio_unlock(AioContext *ctx)
{
}

/* -overcommit mem-lock=on (or on-fault): guest memory is locked */
static inline bool vssd_mem_lock_enabled(void)
{
    return should_mlock(mlock_state);
}

#else /* QEMU 7.2 */

#include "block/aio.h"
#include "block/aio-wait.h"
#include "block/thread-pool.h"
#include "qapi/qmp/qdict.h"
#include "sysemu/block-backend.h"
#include "sysemu/blockdev.h"
#include "sysemu/hostmem.h"
#include "sysemu/iothread.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "migration/misc.h"
#include "hw/qdev-core.h"

/*
 * 7.2's block layer wants the caller to hold the AioContext lock of a
 * BlockBackend (aio_context_acquire()) wherever QEMU 10 needs none: in
 * completions, in the bottom half serving the queues in an IOThread, and
 * around blk_drain()/blk_pwrite_zeroes()/aio_wait_bh_oneshot() in the main
 * loop while an IOThread owns the backend. The device marks exactly those
 * places with vssd_aio_lock()/vssd_aio_unlock(), nothing on QEMU 10.
 */
static inline void vssd_aio_lock(AioContext *ctx)
{
    aio_context_acquire(ctx);
}

static inline void vssd_aio_unlock(AioContext *ctx)
{
    aio_context_release(ctx);
}

/* -overcommit mem-lock=on: guest memory is locked */
static inline bool vssd_mem_lock_enabled(void)
{
    return enable_mlock;
}

/* 10.0: "const Property props[]" without a terminator, counted by the macro */
static inline void vssd_compat_device_class_set_props(DeviceClass *dc,
                                                      const Property *props,
                                                      size_t n)
{
    /* lives as long as the class; the zeroed last entry ends the list */
    Property *copy = g_new0(Property, n + 1);

    memcpy(copy, props, n * sizeof(*props));
    device_class_set_props(dc, copy);
}
#define device_class_set_props(dc, props) \
    vssd_compat_device_class_set_props((dc), (props), ARRAY_SIZE(props))

/* 10.0: requests issued between them are submitted together */
static inline void defer_call_begin(void)
{
}

static inline void defer_call_end(void)
{
}

/* 10.0: the pool of the AioContext the caller runs in */
static inline BlockAIOCB *vssd_compat_thread_pool_submit_aio(
    ThreadPoolFunc *func, void *arg, BlockCompletionFunc *cb, void *opaque)
{
    return thread_pool_submit_aio(
        aio_get_thread_pool(qemu_get_current_aio_context()),
        func, arg, cb, opaque);
}
#define thread_pool_submit_aio vssd_compat_thread_pool_submit_aio

/* 10.0: a container under /machine ("peripheral", "unattached", ...) */
static inline Object *machine_get_container(const char *name)
{
    g_autofree char *path = g_strconcat("/", name, NULL);

    return container_get(qdev_get_machine(), path);
}

/* 10.0 (since 9.1): true from setup to completion of an outgoing migration */
static inline bool migration_is_running(void)
{
    return !migration_is_idle();
}

#endif /* QEMU 7.2 */

#endif /* HW_BLOCK_VSSD_COMPAT_H */
