/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the virtio-vssd qtests share (virtio-vssd-blk-test.c,
 * virtio-vssd-resize-test.c, virtio-vssd-pmem-test.c): each test's image
 * files and the model of what they must contain, requests that keep the
 * model up to date, the resize protocol as the tests drive it (config
 * space, QMP, control requests, query-ssd-balloon, events), QEMUs a test
 * starts itself, and the command-line hooks.
 *
 * Every test runs in its own QEMU: the test's "before" hook creates a fresh
 * image file and puts its (unique) path on the command line, so qos-test
 * never reuses the previous QEMU. The image is filled with a known pattern
 * and the test keeps a model of what the image must contain; after every
 * request that may have touched it, the host file is compared with the
 * model, which catches writes outside the target range and file growth.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef TESTS_QTEST_VIRTIO_VSSD_HELPERS_H
#define TESTS_QTEST_VIRTIO_VSSD_HELPERS_H

#include "qemu/units.h"
#include "libqtest.h"
/* QEMU 10.0 moved these from qapi/qmp/ (the tests build with 10.0 and 7.2) */
#if QEMU_VERSION_MAJOR >= 10
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#else
#include "qapi/qmp/qdict.h"
#include "qapi/qmp/qlist.h"
#endif
#include "libqos/qgraph.h"
#include "libqos/virtio-vssd.h"

#define VSSD_IMAGE_SIZE     (8 * MiB)
#define VSSD_BLOCK_SIZE     (1 * MiB)   /* the device's default block-size */
#define VSSD_NR_BLOCKS      (VSSD_IMAGE_SIZE / VSSD_BLOCK_SIZE)
#define SECTOR              VIRTIO_VSSD_SECTOR_SIZE
#define NR_SECTORS          (VSSD_IMAGE_SIZE / SECTOR)
#define SECTORS_PER_BLOCK   (VSSD_BLOCK_SIZE / SECTOR)
#define VSSD_MiB(n)         ((uint64_t)(n) * VSSD_BLOCK_SIZE)

/* The persistent-memory region of the pmem tests (memdev "vssd-pm"). */
#define VSSD_PMEM_ID        "vssd-pm"
#define VSSD_PMEM_SIZE      (16 * MiB)
#define VSSD_PMEM_BS        (2 * MiB)   /* the default pmem-block-size */
#define VSSD_PMEM_NR_BLOCKS (VSSD_PMEM_SIZE / VSSD_PMEM_BS)

/* Both regions of the tests have this many blocks. */
#define VSSD_TEST_BLOCKS    8
G_STATIC_ASSERT(VSSD_NR_BLOCKS == VSSD_TEST_BLOCKS);
G_STATIC_ASSERT(VSSD_PMEM_NR_BLOCKS == VSSD_TEST_BLOCKS);

/* A range of blocks in a list. */
#define R(first, count)     { (first), (count) }

/* The image of one test: the host files and what they must contain. */
typedef struct VssdImage {
    char *path;         /* the raw image behind -blockdev */
    char *state_path;   /* the device's state-file, or NULL */
    uint8_t *model;     /* expected content, VSSD_IMAGE_SIZE bytes */
    char *pmem_path;    /* the file behind memdev VSSD_PMEM_ID, or NULL */
    uint8_t *pmem_model; /* its expected content, VSSD_PMEM_SIZE bytes */
} VssdImage;

/* One test's view of the device. */
typedef struct VssdTest {
    QVirtioVssd *vssd;      /* the libqos node */
    QVirtioVssdDriver drv;  /* the test's driver of it */
    QPCIDevice *pdev;       /* the device's PCI function */
    QPCIBar pmem_bar;       /* the pmem BAR, once mapped */
    VssdImage *img;         /* the backing files and their model */
    uint64_t nr_refused;    /* resize requests refused so far */
} VssdTest;

/* A region as the tests see it: config fields, QMP name, geometry. */
typedef struct VssdRegion {
    const char *name;       /* "region" in QMP */
    uint16_t id;            /* VIRTIO_VSSD_REGION_* */
    size_t plugged;         /* config offset of the plugged size */
    size_t requested;       /* config offset of the requested size */
    size_t policy;          /* config offset of the policy */
    uint64_t block_size;
    uint64_t max_size;
} VssdRegion;

extern const VssdRegion vssd_block_region;
extern const VssdRegion vssd_pmem_region;

/* --- files and models ---------------------------------------------------- */

/* A fresh image (a pattern, fully allocated), removed after the test. */
VssdImage *vssd_image_create(void);
/* Adds the pmem file (a pattern, fully allocated) to @img. */
void vssd_image_add_pmem(VssdImage *img);
/* -blockdev and -global options: @img's image is the block region. */
char *vssd_drive_args(VssdImage *img, bool shared);
/* -object option of a memdev of @size bytes on @img's pmem file. */
char *vssd_pmem_object_with(VssdImage *img, uint64_t size, bool share);
/* -object option of the tests' memdev on @img's pmem file. */
char *vssd_pmem_object(VssdImage *img);
/* -object and -global options: @img's pmem file is the pmem region. */
char *vssd_pmem_args(VssdImage *img);
/* The host file has its original size and exactly the model's content. */
void vssd_check_image(VssdTest *t);
/* Allocated size of the file at @path, in 512-byte units. */
uint64_t vssd_allocated_units(const char *path);
/* Allocated size of the image on the host, in 512-byte units. */
uint64_t vssd_image_blocks(VssdTest *t);
/* Records that @nsec sectors at @sector now hold @data (zeroes if NULL). */
void vssd_model_fill(VssdTest *t, uint64_t sector, uint64_t nsec,
                     const void *data);

/* --- the device ---------------------------------------------------------- */

/* Sets @t up as the driver of @obj, with @data the test's VssdImage. */
void vssd_test_start(VssdTest *t, void *obj, void *data,
                     QGuestAllocator *alloc);
/* QEMU still answers QMP and the VM still runs. */
void vssd_check_qemu_alive(VssdTest *t);

/* --- block requests ------------------------------------------------------ */

/*
 * Sends @req (data from @buf, or into it); the model follows a successful
 * WRITE, DISCARD or WRITE_ZEROES. Returns the status byte, or
 * QVIRTIO_VSSD_BROKEN for a request that @may_break the device.
 */
int vssd_request(VssdTest *t, const QVirtioVssdBlkReq *req, void *buf,
                 bool may_break);
int vssd_read(VssdTest *t, uint64_t sector, void *buf, uint32_t len);
int vssd_write(VssdTest *t, uint64_t sector, const void *buf, uint32_t len,
               uint16_t flags);
int vssd_flush(VssdTest *t);
int vssd_discard(VssdTest *t, uint64_t sector, uint32_t nsec);
int vssd_write_zeroes(VssdTest *t, uint64_t sector, uint32_t nsec,
                      uint16_t flags);
/* Reads @nsec sectors at @sector through the device; they match the model. */
void vssd_check_read(VssdTest *t, uint64_t sector, uint32_t nsec);
/* Fills @buf with data that differs from the initial image. */
void vssd_fill(void *buf, size_t len, uint8_t seed);
/* GET_MAP from block 0 reports the whole region as one plugged range. */
void vssd_check_map_full(VssdTest *t);

/* --- resize protocol ----------------------------------------------------- */

uint64_t vssd_config_q(VssdTest *t, size_t offset);
uint32_t vssd_config_generation(VssdTest *t);
/* Runs @cmd (QMP text, not a format) on @qts, which must succeed. */
void vssd_qmp_ok_on(QTestState *qts, const char *cmd);
void vssd_qmp_ok(VssdTest *t, const char *cmd);
/* Sends a QMP command that must fail with a GenericError naming @what. */
void vssd_qmp_error(VssdTest *t, const char *cmd, const char *what);
/* ssd-balloon for region @r; returns the new generation. */
uint32_t vssd_balloon_in(VssdTest *t, const VssdRegion *r, uint64_t size,
                         const char *policy);
/*
 * A resize request (UNPLUG, PLUG) of @nr_in ranges announcing @announced:
 * VIRTIO_VSSD_RESP_ACK, or NACK/BUSY/ERROR with the reason in *@reason.
 */
uint16_t vssd_resize_request(VssdTest *t, uint16_t type, uint16_t region,
                             uint32_t generation,
                             const struct virtio_vssd_range *in,
                             uint32_t nr_in, uint64_t announced,
                             uint16_t *reason);
/* UNPLUG (@plug false) or PLUG of @ranges of region @r; the reason. */
uint16_t vssd_plug_list(VssdTest *t, const VssdRegion *r, bool plug,
                        uint32_t generation,
                        const struct virtio_vssd_range *ranges, uint32_t nr);
/* UNPLUG_HOST of @want blocks of region @r with room for @max ranges. */
uint16_t vssd_unplug_host_in(VssdTest *t, const VssdRegion *r,
                             uint32_t generation, uint64_t want,
                             struct virtio_vssd_range *out, uint32_t max,
                             uint32_t *nr_out);
/* The plugged map of region @r through GET_MAP, one bool per block. */
void vssd_get_plugged_in(VssdTest *t, const VssdRegion *r,
                         bool plugged[VSSD_TEST_BLOCKS]);
/* query-ssd-balloon for the test device: its regions' entries. */
QList *vssd_query_all(VssdTest *t);
/* The entry of region @r in query-ssd-balloon (which must have it). */
QDict *vssd_query_in(VssdTest *t, const VssdRegion *r);
/* query-ssd-balloon says @size of @requested, @status for region @r. */
void vssd_check_query_in(VssdTest *t, const VssdRegion *r, uint64_t size,
                         uint64_t requested, const char *status);
/* The same for the block region. */
void vssd_check_query(VssdTest *t, uint64_t size, uint64_t requested,
                      const char *status);
/* Counter @name of region @r in query-ssd-balloon. */
uint64_t vssd_query_counter_in(VssdTest *t, const VssdRegion *r,
                               const char *name);
uint64_t vssd_query_counter(VssdTest *t, const char *name);
/* Refusals of region @r for @reason in query-ssd-balloon. */
uint64_t vssd_query_refused_in(VssdTest *t, const VssdRegion *r,
                               const char *reason);
/*
 * One malformed resize request of region @r (@what) was refused with
 * @got, which must be @reason, and counted under @counter.
 */
void vssd_check_refused_in(VssdTest *t, const VssdRegion *r,
                           const char *what, uint16_t got, uint16_t reason,
                           const char *counter);
/* The last SSD_BALLOON_CHANGE so far is for @r: @size of @requested. */
void vssd_take_event_in(VssdTest *t, const VssdRegion *r, uint64_t size,
                        uint64_t requested);
/* Lets rate-limited events out (1 s), then vssd_take_event_in(). */
void vssd_check_event_in(VssdTest *t, const VssdRegion *r, uint64_t size,
                         uint64_t requested);

/* --- QEMUs of a test's own ----------------------------------------------- */

/*
 * Starts another QEMU with the test's machine and device plus @extra
 * options, and sets @t up as the driver of its device, on @img's files.
 */
void vssd_qemu_start(VssdTest *t, VssdImage *img, const char *extra);
void vssd_qemu_stop(VssdTest *t);
/*
 * Runs QEMU with the test's machine and device plus @args; it must fail
 * at start-up. Returns its stderr.
 */
char *vssd_run_failing_qemu(const char *args);

/* --- command-line hooks (QOSGraphTestOptions.before) --------------------- */

/* A fresh image as the block region, plus @extra options. */
void *vssd_test_setup_with(GString *cmd_line, const char *extra);
/* A free path for a state file (the device creates it). */
char *vssd_state_path_new(void);
void *vssd_test_setup(GString *cmd_line, void *arg);
/* With the block region in an IOThread. */
void *vssd_test_setup_iothread(GString *cmd_line, void *arg);
/* With a state file (not created yet: the device creates it). */
void *vssd_test_setup_state(GString *cmd_line, void *arg);

#endif
