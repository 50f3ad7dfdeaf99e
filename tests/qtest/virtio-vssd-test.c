/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcases for the virtio-vssd device: block region, resize
 * protocol, persistent-memory region.
 *
 * Every test runs in its own QEMU: the test's "before" hook creates a fresh
 * image file and puts its (unique) path on the command line, so qos-test
 * never reuses the previous QEMU. The image is filled with a known pattern
 * and the test keeps a model of what the image must contain; after every
 * request that may have touched it, the host file is compared with the
 * model, which catches writes outside the target range and file growth.
 *
 * Malformed requests are checked against the wire contract in
 * include/standard-headers/linux/virtio_vssd.h: they end in an error status,
 * or, when the chain cannot be parsed, in the device's broken state
 * (VIRTIO_CONFIG_S_NEEDS_RESET). Either way QEMU must keep answering QMP;
 * a broken device is reset and set up again and must then serve requests.
 *
 * The persistent-memory tests give the device a memory-backend-file on a
 * fresh file of their own, with a model of it like the image's: guest
 * stores go through the shared memory region's BAR, and the host file,
 * the BAR and the model must agree after every step.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "qapi/qmp/qdict.h"
#include "qapi/qmp/qlist.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/virtio_ring.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-vssd.h"
#include "libqos/malloc-pc.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"

#define VSSD_IMAGE_SIZE     (8 * MiB)
#define VSSD_BLOCK_SIZE     (1 * MiB)   /* the device's default block-size */
#define VSSD_NR_BLOCKS      (VSSD_IMAGE_SIZE / VSSD_BLOCK_SIZE)
#define SECTOR              VIRTIO_VSSD_SECTOR_SIZE
#define NR_SECTORS          (VSSD_IMAGE_SIZE / SECTOR)
#define SECTORS_PER_BLOCK   (VSSD_BLOCK_SIZE / SECTOR)
#define VSSD_TIMEOUT_US     (30 * 1000 * 1000)

/* The persistent-memory region of the pmem tests (memdev "vssd-pm"). */
#define VSSD_PMEM_ID        "vssd-pm"
#define VSSD_PMEM_SIZE      (16 * MiB)
#define VSSD_PMEM_BS        (2 * MiB)   /* the default pmem-block-size */
#define VSSD_PMEM_NR_BLOCKS (VSSD_PMEM_SIZE / VSSD_PMEM_BS)
#define VSSD_PMEM_BAR       2           /* virtio-vssd-pci's pmem BAR */

/* Request queues the tests can drive (the device allows 16). */
#define VSSD_MAX_REQ_QUEUES 16

/* Outcomes of a request besides its status byte. */
#define VSSD_BROKEN         (-1)  /* the device set NEEDS_RESET instead */
#define VSSD_NO_STATUS      (-2)  /* completed, but had no status byte */

/* Sets of acceptable outcomes for vssd_check_rejected(). */
#define ACCEPT(status)      (1u << (status))
#define ACCEPT_BROKEN       (1u << 16)

/* The image of one test: the host file and what it must contain. */
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
    QVirtioDevice *dev;     /* its virtio device */
    QTestState *qts;        /* the QEMU under test */
    QGuestAllocator *alloc; /* guest memory for rings and requests */
    VssdImage *img;         /* the backing image and its model */
    QPCIDevice *pdev;       /* the device's PCI function */
    QPCIBar pmem_bar;       /* the pmem BAR, once vssd_pmem_map() ran */
    bool want_mq;           /* accept VIRTIO_VSSD_F_MQ if offered */
    uint64_t features;      /* features accepted by the test driver */
    /* request queues: 1, or config num_queues with VIRTIO_VSSD_F_MQ */
    uint16_t nr_req_queues;
    QVirtQueue *req_vqs[VSSD_MAX_REQ_QUEUES];
    QVirtQueue *vq;         /* the request queue block helpers use */
    QVirtQueue *ctrlq;      /* control queue, index nr_req_queues */
    uint64_t nr_refused;    /* resize requests refused so far */
} VssdTest;

/* One descriptor of a chain. */
typedef struct VssdSeg {
    uint64_t addr;          /* guest address */
    uint32_t len;           /* length in bytes */
    bool device_writes;     /* VRING_DESC_F_WRITE */
} VssdSeg;

/* --- the image and its model ------------------------------------------- */

/* A byte of the initial image: varies within and across sectors. */
static uint8_t vssd_pattern(uint64_t offset)
{
    return (offset >> 9) * 37 + (offset & 511) * 3 + 1;
}

static void vssd_image_destroy(void *opaque)
{
    VssdImage *img = opaque;

    unlink(img->path);
    g_free(img->path);
    if (img->pmem_path) {
        unlink(img->pmem_path);
        g_free(img->pmem_path);
        g_free(img->pmem_model);
    }
    if (img->state_path) {
        g_autofree char *tmp = g_strdup_printf("%s.tmp", img->state_path);

        unlink(img->state_path);
        unlink(tmp);
        g_free(img->state_path);
    }
    g_free(img->model);
    g_free(img);
    qos_invalidate_command_line();
}

/* A byte of the initial pmem file: differs from vssd_pattern(). */
static uint8_t vssd_pmem_pattern(uint64_t offset)
{
    return (offset >> 12) * 11 + (offset & 4095) * 5 + 3;
}

/*
 * Creates a fully allocated temporary file of @size bytes holding
 * @pattern; returns its path and its content in *@model.
 */
static char *vssd_file_create(const char *template, uint64_t size,
                              uint8_t (*pattern)(uint64_t), uint8_t **model)
{
    char *path = NULL;
    uint64_t i;
    int fd;

    fd = g_file_open_tmp(template, &path, NULL);
    g_assert_cmpint(fd, >=, 0);

    *model = g_malloc(size);
    for (i = 0; i < size; i++) {
        (*model)[i] = pattern(i);
    }
    for (i = 0; i < size; ) {
        ssize_t n = write(fd, *model + i, size - i);

        g_assert_cmpint(n, >, 0);
        i += n;
    }
    g_assert_cmpint(fsync(fd), ==, 0);
    close(fd);
    return path;
}

/* Creates a fully allocated image holding vssd_pattern(). */
static VssdImage *vssd_image_create(void)
{
    VssdImage *img = g_new0(VssdImage, 1);

    img->path = vssd_file_create("vssd-qtest.XXXXXX", VSSD_IMAGE_SIZE,
                                 vssd_pattern, &img->model);
    g_test_queue_destroy(vssd_image_destroy, img);
    return img;
}

/* Adds the pmem file (vssd_pmem_pattern(), fully allocated) to @img. */
static void vssd_image_add_pmem(VssdImage *img)
{
    img->pmem_path = vssd_file_create("vssd-qtest-pmem.XXXXXX",
                                      VSSD_PMEM_SIZE, vssd_pmem_pattern,
                                      &img->pmem_model);
}

/* -object option of a memdev of @size bytes on @img's pmem file. */
static char *vssd_pmem_object_with(VssdImage *img, uint64_t size, bool share)
{
    return g_strdup_printf("-object memory-backend-file,id=%s,mem-path=%s,"
                           "size=%" PRIu64 ",share=%s", VSSD_PMEM_ID,
                           img->pmem_path, size, share ? "on" : "off");
}

/* -object option of the tests' memdev on @img's pmem file. */
static char *vssd_pmem_object(VssdImage *img)
{
    return vssd_pmem_object_with(img, VSSD_PMEM_SIZE, true);
}

/* The host file has its original size and exactly the model's content. */
static void vssd_check_image(VssdTest *t)
{
    g_autofree gchar *contents = NULL;
    gsize len = 0;
    struct stat st;
    gsize i;

    g_assert_cmpint(stat(t->img->path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, VSSD_IMAGE_SIZE);

    g_assert_true(g_file_get_contents(t->img->path, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, VSSD_IMAGE_SIZE);
    for (i = 0; i < len; i++) {
        if ((uint8_t)contents[i] != t->img->model[i]) {
            g_test_message("image differs at byte %zu (sector %zu): "
                           "0x%02x, expected 0x%02x", (size_t)i,
                           (size_t)(i / SECTOR), (uint8_t)contents[i],
                           t->img->model[i]);
            g_assert_not_reached();
        }
    }
}

/*
 * Allocated size of the file at @path, in 512-byte units. Dirty data is
 * written back first: file systems with delayed allocation count blocks
 * reserved for dirty pages in st_blocks and settle them on write-back,
 * so a figure taken without it can lag behind a hole just punched.
 */
static uint64_t vssd_allocated_units(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fdatasync(fd), ==, 0);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    close(fd);
    return st.st_blocks;
}

/* Allocated size of the image on the host, in 512-byte units. */
static uint64_t vssd_image_blocks(VssdTest *t)
{
    return vssd_allocated_units(t->img->path);
}

static bool vssd_in_region(uint64_t sector, uint64_t nsec)
{
    return sector <= NR_SECTORS && nsec <= NR_SECTORS - sector;
}

/*
 * Records that @nsec sectors at @sector now hold @data (zeroes if NULL).
 * A range outside the region is ignored: the request that claims to have
 * written it is reported as wrong by its caller.
 */
static void vssd_model_fill(VssdTest *t, uint64_t sector, uint64_t nsec,
                            const void *data)
{
    if (!vssd_in_region(sector, nsec)) {
        return;
    }
    if (data) {
        memcpy(t->img->model + sector * SECTOR, data, nsec * SECTOR);
    } else {
        memset(t->img->model + sector * SECTOR, 0, nsec * SECTOR);
    }
}

/* --- driver side: setup, reset, QMP ------------------------------------ */

/* Negotiates features, sets up both queues and sets DRIVER_OK. */
static void vssd_driver_init(VssdTest *t)
{
    uint64_t offered = qvirtio_get_features(t->dev);
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
    if (t->want_mq) {
        wanted |= 1ull << VIRTIO_VSSD_F_MQ;
    }

    /* qvirtio_set_features() checks that the device keeps FEATURES_OK. */
    t->features = offered & wanted;
    qvirtio_set_features(t->dev, t->features);

    t->nr_req_queues = 1;
    if (t->features & (1ull << VIRTIO_VSSD_F_MQ)) {
        t->nr_req_queues = qvirtio_config_readw(t->dev,
                               offsetof(struct virtio_vssd_config,
                                        num_queues));
    }
    g_assert_cmpuint(t->nr_req_queues, >=, 1);
    g_assert_cmpuint(t->nr_req_queues, <=, VSSD_MAX_REQ_QUEUES);
    for (i = 0; i < t->nr_req_queues; i++) {
        t->req_vqs[i] = qvirtqueue_setup(t->dev, t->alloc, i);
    }
    t->vq = t->req_vqs[0];
    /* the control queue comes after the request queues */
    t->ctrlq = qvirtqueue_setup(t->dev, t->alloc, t->nr_req_queues);
    qvirtio_set_driver_ok(t->dev);
}

static void vssd_driver_cleanup(VssdTest *t)
{
    uint16_t i;

    for (i = 0; i < t->nr_req_queues; i++) {
        qvirtqueue_cleanup(t->dev->bus, t->req_vqs[i], t->alloc);
        t->req_vqs[i] = NULL;
    }
    qvirtqueue_cleanup(t->dev->bus, t->ctrlq, t->alloc);
    t->vq = NULL;
    t->ctrlq = NULL;
}

/* Resets the device (which clears NEEDS_RESET) and sets it up again. */
static void vssd_driver_reinit(VssdTest *t)
{
    vssd_driver_cleanup(t);
    qvirtio_start_device(t->dev);   /* reset, ACKNOWLEDGE, DRIVER */
    vssd_driver_init(t);
}

static void vssd_test_start(VssdTest *t, void *obj, void *data,
                            QGuestAllocator *alloc)
{
    t->vssd = obj;
    t->dev = t->vssd->vdev;
    t->qts = t->vssd->qts;
    t->pdev = t->vssd->pdev;
    t->alloc = alloc;
    t->img = data;
    vssd_driver_init(t);
}

static uint8_t vssd_device_status(VssdTest *t)
{
    return t->dev->bus->get_status(t->dev);
}

static bool vssd_device_broken(VssdTest *t)
{
    return vssd_device_status(t) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* QEMU still answers QMP and the VM still runs. */
static void vssd_check_qemu_alive(VssdTest *t)
{
    QDict *resp = qtest_qmp(t->qts, "{ 'execute': 'query-status' }");
    QDict *ret;

    g_assert_nonnull(resp);
    g_assert_false(qdict_haskey(resp, "error"));
    ret = qdict_get_qdict(resp, "return");
    g_assert_nonnull(ret);
    g_assert_cmpstr(qdict_get_try_str(ret, "status"), ==, "running");
    g_assert_true(qdict_get_try_bool(ret, "running", false));
    qobject_unref(resp);
}

/* --- chains --------------------------------------------------------------- */

/*
 * libqos hands out descriptors in ring order and never wraps. Every request
 * of these tests completes (or breaks the device) before the next one is
 * made, so when the ring's end is near all descriptors are free again.
 */
static void vssd_vq_make_room(QVirtQueue *vq, uint32_t n)
{
    g_assert_cmpuint(n, <=, vq->size);
    if (vq->free_head + n > vq->size) {
        vq->free_head = 0;
        vq->num_free = vq->size;
    }
}

/*
 * Waits until the device uses the chain at @head (true) or marks itself
 * broken (false).
 */
static bool vssd_wait(VssdTest *t, QVirtQueue *vq, uint32_t head)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        uint32_t got;

        qtest_clock_step(t->qts, 100);
        if (qvirtqueue_get_buf(t->qts, vq, &got, NULL)) {
            g_assert_cmpuint(got, ==, head);
            return true;
        }
        if (vssd_device_broken(t)) {
            return false;
        }
        g_assert_cmpint(g_get_monotonic_time() - start, <=, VSSD_TIMEOUT_US);
    }
}

/* Adds @segs as one chain, kicks, and waits (see vssd_wait()). */
static bool vssd_submit(VssdTest *t, QVirtQueue *vq, const VssdSeg *segs,
                        uint32_t n)
{
    uint32_t head = 0;
    uint32_t i;

    vssd_vq_make_room(vq, n);
    for (i = 0; i < n; i++) {
        uint32_t idx = qvirtqueue_add(t->qts, vq, segs[i].addr, segs[i].len,
                                      segs[i].device_writes, i + 1 < n);
        if (i == 0) {
            head = idx;
        }
    }
    qvirtqueue_kick(t->qts, t->dev, vq, head);
    return vssd_wait(t, vq, head);
}

static void vssd_put_blk_hdr(VssdTest *t, uint64_t addr, uint16_t type,
                             uint16_t flags, uint64_t sector,
                             uint32_t num_sectors)
{
    struct virtio_vssd_blk_req hdr = {
        .type = cpu_to_le16(type),
        .flags = cpu_to_le16(flags),
        .num_sectors = cpu_to_le32(num_sectors),
        .sector = cpu_to_le64(sector),
    };

    qtest_memwrite(t->qts, addr, &hdr, sizeof(hdr));
}

/* Outcome of a chain whose status byte is at @status_addr. */
static int vssd_outcome(VssdTest *t, bool used, uint64_t status_addr)
{
    return used ? qtest_readb(t->qts, status_addr) : VSSD_BROKEN;
}

/* --- block requests: one helper per kind --------------------------------- */

/*
 * Sends a well-formed block request: header, @len bytes of data (sent from
 * @buf, or, when @device_writes, received into @buf on success) and status.
 * Returns the status byte or VSSD_BROKEN.
 */
static int vssd_blk_request(VssdTest *t, uint16_t type, uint16_t flags,
                            uint64_t sector, uint32_t num_sectors,
                            void *buf, uint32_t len, bool device_writes)
{
    uint64_t hdr = guest_alloc(t->alloc,
                               sizeof(struct virtio_vssd_blk_req) + len + 1);
    uint64_t data = hdr + sizeof(struct virtio_vssd_blk_req);
    uint64_t status = data + len;
    VssdSeg segs[3];
    uint32_t n = 0;
    int ret;

    vssd_put_blk_hdr(t, hdr, type, flags, sector, num_sectors);
    segs[n++] = (VssdSeg) { hdr, sizeof(struct virtio_vssd_blk_req), false };
    if (len) {
        if (device_writes) {
            qtest_memset(t->qts, data, 0xa5, len);
        } else {
            qtest_memwrite(t->qts, data, buf, len);
        }
        segs[n++] = (VssdSeg) { data, len, device_writes };
    }
    qtest_writeb(t->qts, status, 0xff);
    segs[n++] = (VssdSeg) { status, 1, true };

    ret = vssd_outcome(t, vssd_submit(t, t->vq, segs, n), status);
    if (ret == VIRTIO_VSSD_S_OK && len && device_writes) {
        qtest_memread(t->qts, data, buf, len);
    }
    guest_free(t->alloc, hdr);
    return ret;
}

static int vssd_read(VssdTest *t, uint64_t sector, void *buf, uint32_t len)
{
    return vssd_blk_request(t, VIRTIO_VSSD_T_READ, 0, sector, 0,
                            buf, len, true);
}

/* A successful write updates the model. */
static int vssd_write(VssdTest *t, uint64_t sector, const void *buf,
                      uint32_t len, uint16_t flags)
{
    int ret = vssd_blk_request(t, VIRTIO_VSSD_T_WRITE, flags, sector, 0,
                               (void *)buf, len, false);

    if (ret == VIRTIO_VSSD_S_OK) {
        vssd_model_fill(t, sector, len / SECTOR, buf);
    }
    return ret;
}

static int vssd_flush(VssdTest *t)
{
    return vssd_blk_request(t, VIRTIO_VSSD_T_FLUSH, 0, 0, 0, NULL, 0, false);
}

/* A successful discard zeroes the model (discarded sectors read as 0). */
static int vssd_discard(VssdTest *t, uint64_t sector, uint32_t nsec)
{
    int ret = vssd_blk_request(t, VIRTIO_VSSD_T_DISCARD, 0, sector, nsec,
                               NULL, 0, false);

    if (ret == VIRTIO_VSSD_S_OK) {
        vssd_model_fill(t, sector, nsec, NULL);
    }
    return ret;
}

static int vssd_write_zeroes(VssdTest *t, uint64_t sector, uint32_t nsec,
                             uint16_t flags)
{
    int ret = vssd_blk_request(t, VIRTIO_VSSD_T_WRITE_ZEROES, flags, sector,
                               nsec, NULL, 0, false);

    if (ret == VIRTIO_VSSD_S_OK) {
        vssd_model_fill(t, sector, nsec, NULL);
    }
    return ret;
}

static int vssd_get_id(VssdTest *t, char id[VIRTIO_VSSD_ID_BYTES])
{
    return vssd_blk_request(t, VIRTIO_VSSD_T_GET_ID, 0, 0, 0,
                            id, VIRTIO_VSSD_ID_BYTES, true);
}

/* Reads @nsec sectors at @sector through the device; they match the model. */
static void vssd_check_read(VssdTest *t, uint64_t sector, uint32_t nsec)
{
    g_autofree uint8_t *buf = g_malloc(nsec * SECTOR);

    g_assert_cmpint(vssd_read(t, sector, buf, nsec * SECTOR), ==,
                    VIRTIO_VSSD_S_OK);
    g_assert_cmpmem(buf, nsec * SECTOR,
                    t->img->model + sector * SECTOR, nsec * SECTOR);
}

/* Fills @buf with data that differs from the initial image. */
static void vssd_fill(void *buf, size_t len, uint8_t seed)
{
    uint8_t *p = buf;
    size_t i;

    for (i = 0; i < len; i++) {
        p[i] = seed ^ (i * 7) ^ (i >> 9);
    }
}

/* --- control requests ----------------------------------------------------- */

/* A control reply, in host byte order. */
typedef struct VssdCtrlReply {
    uint16_t status;
    uint16_t reason;
    uint32_t nr_ranges;
    uint64_t next;
} VssdCtrlReply;

/*
 * Sends a control request (with @nr_in ranges) and room for @max_out
 * ranges in the reply. Returns false if the device broke instead of
 * answering; otherwise fills @reply and @out (host byte order).
 */
static bool vssd_ctrl(VssdTest *t, uint16_t type, uint16_t region,
                      uint32_t generation, uint64_t arg0, uint64_t arg1,
                      const struct virtio_vssd_range *in, uint32_t nr_in,
                      VssdCtrlReply *reply,
                      struct virtio_vssd_range *out, uint32_t max_out)
{
    struct virtio_vssd_ctrl_req req = {
        .type = cpu_to_le16(type),
        .region = cpu_to_le16(region),
        .generation = cpu_to_le32(generation),
        .arg0 = cpu_to_le64(arg0),
        .arg1 = cpu_to_le64(arg1),
    };
    struct virtio_vssd_ctrl_resp resp;
    size_t in_len = nr_in * sizeof(*in);
    size_t out_len = max_out * sizeof(*out);
    uint64_t req_addr = guest_alloc(t->alloc, sizeof(req) + in_len +
                                    sizeof(resp) + out_len);
    uint64_t in_addr = req_addr + sizeof(req);
    uint64_t resp_addr = in_addr + in_len;
    uint64_t out_addr = resp_addr + sizeof(resp);
    VssdSeg segs[4];
    uint32_t n = 0, i;
    bool used;

    qtest_memwrite(t->qts, req_addr, &req, sizeof(req));
    segs[n++] = (VssdSeg) { req_addr, sizeof(req), false };
    if (nr_in) {
        for (i = 0; i < nr_in; i++) {
            struct virtio_vssd_range r = {
                .first = cpu_to_le64(in[i].first),
                .count = cpu_to_le64(in[i].count),
            };
            qtest_memwrite(t->qts, in_addr + i * sizeof(r), &r, sizeof(r));
        }
        segs[n++] = (VssdSeg) { in_addr, in_len, false };
    }
    qtest_memset(t->qts, resp_addr, 0xff, sizeof(resp) + out_len);
    segs[n++] = (VssdSeg) { resp_addr, sizeof(resp), true };
    if (max_out) {
        segs[n++] = (VssdSeg) { out_addr, out_len, true };
    }

    used = vssd_submit(t, t->ctrlq, segs, n);
    if (used) {
        qtest_memread(t->qts, resp_addr, &resp, sizeof(resp));
        reply->status = le16_to_cpu(resp.status);
        reply->reason = le16_to_cpu(resp.reason);
        reply->nr_ranges = le32_to_cpu(resp.nr_ranges);
        reply->next = le64_to_cpu(resp.next);
        for (i = 0; i < max_out; i++) {
            struct virtio_vssd_range r;

            qtest_memread(t->qts, out_addr + i * sizeof(r), &r, sizeof(r));
            out[i].first = le64_to_cpu(r.first);
            out[i].count = le64_to_cpu(r.count);
        }
    }
    guest_free(t->alloc, req_addr);
    return used;
}

/* GET_MAP from block 0 reports the whole region as one plugged range. */
static void vssd_check_map_full(VssdTest *t)
{
    struct virtio_vssd_range ranges[16];
    VssdCtrlReply reply;

    g_assert_true(vssd_ctrl(t, VIRTIO_VSSD_CTRL_GET_MAP,
                            VIRTIO_VSSD_REGION_BLOCK, 0, 0, 0, NULL, 0,
                            &reply, ranges, G_N_ELEMENTS(ranges)));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.nr_ranges, ==, 1);
    g_assert_cmpuint(ranges[0].first, ==, 0);
    g_assert_cmpuint(ranges[0].count, ==, VSSD_NR_BLOCKS);
    g_assert_cmpuint(reply.next, ==, VSSD_NR_BLOCKS);
}

/* --- malformed requests --------------------------------------------------- */

static const char *vssd_outcome_name(int outcome)
{
    static const char *const names[] = {
        [VIRTIO_VSSD_S_OK] = "OK",
        [VIRTIO_VSSD_S_IOERR] = "IOERR",
        [VIRTIO_VSSD_S_UNSUPP] = "UNSUPP",
        [VIRTIO_VSSD_S_RANGE] = "RANGE",
        [VIRTIO_VSSD_S_UNPLUGGED] = "UNPLUGGED",
        [VIRTIO_VSSD_S_INVALID] = "INVALID",
    };

    if (outcome == VSSD_BROKEN) {
        return "device broken (NEEDS_RESET)";
    }
    if (outcome == VSSD_NO_STATUS) {
        return "completed without a status byte";
    }
    if (outcome >= 0 && (size_t)outcome < G_N_ELEMENTS(names) &&
        names[outcome]) {
        return names[outcome];
    }
    return "unknown status";
}

/*
 * A malformed request @what ended in @outcome, which must be one of
 * @accepted. A broken device is reset and set up again. Afterwards QEMU
 * answers QMP, the image is untouched beyond what the model allows, and the
 * device serves a good request.
 */
static void vssd_check_rejected(VssdTest *t, const char *what, int outcome,
                                unsigned accepted)
{
    bool ok;

    g_test_message("%s: %s (%d)", what, vssd_outcome_name(outcome), outcome);
    if (outcome == VSSD_BROKEN) {
        ok = accepted & ACCEPT_BROKEN;
    } else {
        ok = outcome >= 0 && outcome < 16 && (accepted & ACCEPT(outcome));
    }
    if (!ok) {
        g_test_message("%s: unexpected outcome %s", what,
                       vssd_outcome_name(outcome));
    }
    g_assert_true(ok);

    vssd_check_qemu_alive(t);
    if (outcome == VSSD_BROKEN) {
        vssd_driver_reinit(t);
    } else {
        g_assert_false(vssd_device_broken(t));
    }
    vssd_check_qemu_alive(t);
    vssd_check_image(t);
    vssd_check_read(t, 0, 8);
}

/* Sends a chain whose last segment is the status byte; returns outcome. */
static int vssd_submit_blk_chain(VssdTest *t, const VssdSeg *segs, uint32_t n)
{
    uint64_t status = segs[n - 1].addr;

    g_assert_cmpuint(segs[n - 1].len, ==, 1);
    qtest_writeb(t->qts, status, 0xff);
    return vssd_outcome(t, vssd_submit(t, t->vq, segs, n), status);
}

/* --- tests ---------------------------------------------------------------- */

static void test_probe(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVssd *vssd = obj;
    QVirtioDevice *dev = vssd->vdev;
    uint64_t offered = qvirtio_get_features(dev);
    VssdTest t = { };

    g_assert_cmphex(dev->device_type, ==, VIRTIO_ID_VSSD);
    g_assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
    g_assert_true(offered & (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
    /* no memdev= on the command line */
    g_assert_false(offered & (1ull << VIRTIO_VSSD_F_PMEM_REGION));

    vssd_test_start(&t, obj, data, alloc);

    g_assert_cmpuint(qvirtio_config_readl(dev,
                         offsetof(struct virtio_vssd_config, block_size)),
                     ==, VSSD_BLOCK_SIZE);
    g_assert_cmpuint(qvirtio_config_readq(dev,
                         offsetof(struct virtio_vssd_config,
                                  block_region_size)),
                     ==, VSSD_IMAGE_SIZE);
    g_assert_cmpuint(qvirtio_config_readq(dev,
                         offsetof(struct virtio_vssd_config,
                                  block_plugged_size)),
                     ==, VSSD_IMAGE_SIZE);
    if (offered & (1ull << VIRTIO_VSSD_F_MQ)) {
        g_assert_cmpuint(qvirtio_config_readw(dev,
                             offsetof(struct virtio_vssd_config, num_queues)),
                         >=, 1);
    }

    g_assert_false(vssd_device_broken(&t));
    vssd_check_read(&t, 0, 1);
    vssd_check_qemu_alive(&t);
    vssd_driver_cleanup(&t);
}

static void test_read_write(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(16 * SECTOR);
    VssdTest t = { };
    uint64_t addr;

    vssd_test_start(&t, obj, data, alloc);

    /* three sectors at an offset; the neighbours stay as they were */
    vssd_fill(buf, 3 * SECTOR, 0x11);
    g_assert_cmpint(vssd_write(&t, 5, buf, 3 * SECTOR, 0), ==,
                    VIRTIO_VSSD_S_OK);
    vssd_check_read(&t, 4, 5);

    /* across the boundary of blocks 0 and 1 */
    vssd_fill(buf, 16 * SECTOR, 0x22);
    g_assert_cmpint(vssd_write(&t, SECTORS_PER_BLOCK - 8, buf, 16 * SECTOR,
                               0), ==, VIRTIO_VSSD_S_OK);
    vssd_check_read(&t, SECTORS_PER_BLOCK - 9, 18);

    /* the very last sector, with FUA */
    vssd_fill(buf, SECTOR, 0x33);
    g_assert_cmpint(vssd_write(&t, NR_SECTORS - 1, buf, SECTOR,
                               VIRTIO_VSSD_REQ_F_FUA), ==, VIRTIO_VSSD_S_OK);
    vssd_check_read(&t, NR_SECTORS - 2, 2);

    /* two sectors written through three unaligned data descriptors */
    vssd_fill(buf, 2 * SECTOR, 0x44);
    addr = guest_alloc(t.alloc, 16 + 2 * SECTOR + 1);
    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_WRITE, 0, 100, 0);
    qtest_memwrite(t.qts, addr + 16, buf, 2 * SECTOR);
    g_assert_cmpint(vssd_submit_blk_chain(&t, (VssdSeg[]) {
                        { addr, 16, false },
                        { addr + 16, 100, false },
                        { addr + 116, 2 * SECTOR - 200, false },
                        { addr + 16 + 2 * SECTOR - 100, 100, false },
                        { addr + 16 + 2 * SECTOR, 1, true } }, 5),
                    ==, VIRTIO_VSSD_S_OK);
    vssd_model_fill(&t, 100, 2, buf);
    vssd_check_read(&t, 99, 4);

    /* and read back through two descriptors, header and status apart */
    qtest_memset(t.qts, addr + 16, 0, 2 * SECTOR);
    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_READ, 0, 100, 0);
    g_assert_cmpint(vssd_submit_blk_chain(&t, (VssdSeg[]) {
                        { addr, 16, false },
                        { addr + 16, 300, true },
                        { addr + 316, 2 * SECTOR - 300, true },
                        { addr + 16 + 2 * SECTOR, 1, true } }, 4),
                    ==, VIRTIO_VSSD_S_OK);
    qtest_memread(t.qts, addr + 16, buf + 2 * SECTOR, 2 * SECTOR);
    g_assert_cmpmem(buf + 2 * SECTOR, 2 * SECTOR, buf, 2 * SECTOR);
    guest_free(t.alloc, addr);

    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

static void test_discard(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t before, after;

    vssd_test_start(&t, obj, data, alloc);

    /* one sector: reads as zeroes, neighbours kept */
    g_assert_cmpint(vssd_discard(&t, 10, 1), ==, VIRTIO_VSSD_S_OK);
    vssd_check_read(&t, 9, 3);

    /* the whole of block 1: the host file gets a hole */
    before = vssd_image_blocks(&t);
    g_assert_cmpint(vssd_discard(&t, SECTORS_PER_BLOCK, SECTORS_PER_BLOCK),
                    ==, VIRTIO_VSSD_S_OK);
    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);
    after = vssd_image_blocks(&t);
    g_test_message("image allocation: %" PRIu64 " -> %" PRIu64
                   " (512-byte units)", before, after);
    g_assert_cmpuint(after + VSSD_BLOCK_SIZE / 512, <=, before);

    vssd_check_read(&t, SECTORS_PER_BLOCK, SECTORS_PER_BLOCK);
    vssd_check_read(&t, SECTORS_PER_BLOCK - 1, 2);
    vssd_check_read(&t, 2 * SECTORS_PER_BLOCK - 1, 2);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

static void test_write_zeroes(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(8 * SECTOR);
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);

    vssd_fill(buf, 8 * SECTOR, 0x55);
    g_assert_cmpint(vssd_write(&t, 200, buf, 8 * SECTOR, 0), ==,
                    VIRTIO_VSSD_S_OK);
    g_assert_cmpint(vssd_write_zeroes(&t, 202, 4, 0), ==, VIRTIO_VSSD_S_OK);
    vssd_check_read(&t, 199, 10);

    /* with UNMAP over the whole of block 3 */
    g_assert_cmpint(vssd_write_zeroes(&t, 3 * SECTORS_PER_BLOCK,
                                      SECTORS_PER_BLOCK,
                                      VIRTIO_VSSD_REQ_F_UNMAP),
                    ==, VIRTIO_VSSD_S_OK);
    vssd_check_read(&t, 3 * SECTORS_PER_BLOCK - 1, 2);
    vssd_check_read(&t, 4 * SECTORS_PER_BLOCK - 1, 2);

    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

static void test_get_id(void *obj, void *data, QGuestAllocator *alloc)
{
    char id[VIRTIO_VSSD_ID_BYTES];
    char expected[VIRTIO_VSSD_ID_BYTES] = { };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);

    G_STATIC_ASSERT(sizeof(QVIRTIO_VSSD_SERIAL) <= VIRTIO_VSSD_ID_BYTES);
    memcpy(expected, QVIRTIO_VSSD_SERIAL, strlen(QVIRTIO_VSSD_SERIAL));
    g_assert_cmpint(vssd_get_id(&t, id), ==, VIRTIO_VSSD_S_OK);
    g_assert_cmpmem(id, sizeof(id), expected, sizeof(expected));
    vssd_driver_cleanup(&t);
}

static void test_get_map(void *obj, void *data, QGuestAllocator *alloc)
{
    struct virtio_vssd_range ranges[4];
    VssdCtrlReply reply;
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);

    vssd_check_map_full(&t);

    /*
     * From the region's end there is nothing to report; the header does not
     * say whether that is an empty ACK or a NACK (RANGE): accept either.
     */
    g_assert_true(vssd_ctrl(&t, VIRTIO_VSSD_CTRL_GET_MAP,
                            VIRTIO_VSSD_REGION_BLOCK, 0, VSSD_NR_BLOCKS, 0,
                            NULL, 0, &reply, ranges, G_N_ELEMENTS(ranges)));
    if (reply.status == VIRTIO_VSSD_RESP_ACK) {
        g_assert_cmpuint(reply.nr_ranges, ==, 0);
        g_assert_cmpuint(reply.next, ==, VSSD_NR_BLOCKS);
    } else {
        g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
        g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_RANGE);
    }
    g_assert_false(vssd_device_broken(&t));

    /* the map survives a device reset */
    vssd_driver_reinit(&t);
    vssd_check_map_full(&t);
    vssd_driver_cleanup(&t);
}

/* Beyond the end of the region: RANGE, and the file does not grow. */
static void test_bad_range(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(2 * SECTOR);
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_fill(buf, 2 * SECTOR, 0x66);

    vssd_check_rejected(&t, "read at the end",
                        vssd_read(&t, NR_SECTORS, buf, SECTOR),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_check_rejected(&t, "write straddling the end",
                        vssd_write(&t, NR_SECTORS - 1, buf, 2 * SECTOR, 0),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_check_rejected(&t, "write far past the end",
                        vssd_write(&t, NR_SECTORS + 1000, buf, SECTOR, 0),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_check_rejected(&t, "discard straddling the end",
                        vssd_discard(&t, NR_SECTORS - 1, 2),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_check_rejected(&t, "write-zeroes past the end",
                        vssd_write_zeroes(&t, NR_SECTORS, 1, 0),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_driver_cleanup(&t);
}

/* sector + length overflows: RANGE, nothing written anywhere. */
static void test_bad_overflow(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(2 * SECTOR);
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_fill(buf, 2 * SECTOR, 0x77);

    vssd_check_rejected(&t, "read at sector UINT64_MAX",
                        vssd_read(&t, UINT64_MAX, buf, SECTOR),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_check_rejected(&t, "write at sector UINT64_MAX - 1, 2 sectors",
                        vssd_write(&t, UINT64_MAX - 1, buf, 2 * SECTOR, 0),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    /* sector * 512 wraps to byte 0 */
    vssd_check_rejected(&t, "write at sector 2^55",
                        vssd_write(&t, 1ull << 55, buf, SECTOR, 0),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_check_rejected(&t, "write-zeroes at sector 2^55",
                        vssd_write_zeroes(&t, 1ull << 55, 1, 0),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_check_rejected(&t, "discard at UINT64_MAX - 1, 2^32 - 1 sectors",
                        vssd_discard(&t, UINT64_MAX - 1, UINT32_MAX),
                        ACCEPT(VIRTIO_VSSD_S_RANGE));
    vssd_driver_cleanup(&t);
}

/* A chain with no room for the status byte: broken. */
static void test_bad_no_status(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t addr;
    bool used;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.alloc, 16 + SECTOR);

    /* only the header */
    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_FLUSH, 0, 0, 0);
    used = vssd_submit(&t, t.vq, &(VssdSeg) { addr, 16, false }, 1);
    vssd_check_rejected(&t, "flush with only a header",
                        used ? VSSD_NO_STATUS : VSSD_BROKEN, ACCEPT_BROKEN);

    /* a write whose every byte is device-readable */
    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_WRITE, 0, 0, 0);
    qtest_memset(t.qts, addr + 16, 0x99, SECTOR);
    used = vssd_submit(&t, t.vq, (VssdSeg[]) {
                           { addr, 16, false },
                           { addr + 16, SECTOR, false } }, 2);
    vssd_check_rejected(&t, "write without a status byte",
                        used ? VSSD_NO_STATUS : VSSD_BROKEN, ACCEPT_BROKEN);

    guest_free(t.alloc, addr);
    vssd_driver_cleanup(&t);
}

/* No room for the header: broken. */
static void test_bad_short_header(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t addr;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.alloc, 32);

    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_FLUSH, 0, 0, 0);
    vssd_check_rejected(&t, "8-byte header",
                        vssd_submit_blk_chain(&t, (VssdSeg[]) {
                            { addr, 8, false },
                            { addr + 16, 1, true } }, 2),
                        ACCEPT_BROKEN);
    guest_free(t.alloc, addr);
    vssd_driver_cleanup(&t);
}

/* The header in a device-writable descriptor: broken. */
static void test_bad_writable_header(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t addr;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.alloc, 32);

    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_FLUSH, 0, 0, 0);
    vssd_check_rejected(&t, "device-writable header",
                        vssd_submit_blk_chain(&t, (VssdSeg[]) {
                            { addr, 16, true },
                            { addr + 16, 1, true } }, 2),
                        ACCEPT_BROKEN);
    guest_free(t.alloc, addr);
    vssd_driver_cleanup(&t);
}

/* The status byte in a device-readable descriptor: broken. */
static void test_bad_readable_status(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t addr;
    bool used;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.alloc, 32);

    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_FLUSH, 0, 0, 0);
    qtest_writeb(t.qts, addr + 16, 0xff);
    used = vssd_submit(&t, t.vq, (VssdSeg[]) {
                           { addr, 16, false },
                           { addr + 16, 1, false } }, 2);
    vssd_check_rejected(&t, "device-readable status",
                        used ? VSSD_NO_STATUS : VSSD_BROKEN, ACCEPT_BROKEN);

    /* the same with header and status in one readable descriptor */
    used = vssd_submit(&t, t.vq, &(VssdSeg) { addr, 17, false }, 1);
    vssd_check_rejected(&t, "header and status in one readable descriptor",
                        used ? VSSD_NO_STATUS : VSSD_BROKEN, ACCEPT_BROKEN);

    guest_free(t.alloc, addr);
    vssd_driver_cleanup(&t);
}

/* Data buffers in the wrong direction: an error, nothing moved. */
static void test_bad_direction(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t addr;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.alloc, 16 + SECTOR + 1);

    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_READ, 0, 0, 0);
    vssd_check_rejected(&t, "read into a device-readable buffer",
                        vssd_submit_blk_chain(&t, (VssdSeg[]) {
                            { addr, 16, false },
                            { addr + 16, SECTOR, false },
                            { addr + 16 + SECTOR, 1, true } }, 3),
                        ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN);

    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_WRITE, 0, 0, 0);
    qtest_memset(t.qts, addr + 16, 0x99, SECTOR);
    vssd_check_rejected(&t, "write from a device-writable buffer",
                        vssd_submit_blk_chain(&t, (VssdSeg[]) {
                            { addr, 16, false },
                            { addr + 16, SECTOR, true },
                            { addr + 16 + SECTOR, 1, true } }, 3),
                        ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN);

    guest_free(t.alloc, addr);
    vssd_driver_cleanup(&t);
}

/* READ and WRITE without data. */
static void test_bad_zero_length(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);

    vssd_check_rejected(&t, "zero-length read", vssd_read(&t, 0, NULL, 0),
                        ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN);
    vssd_check_rejected(&t, "zero-length write",
                        vssd_write(&t, 0, NULL, 0, 0),
                        ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN);
    vssd_driver_cleanup(&t);
}

/* Data lengths that are not a multiple of the sector size: INVALID. */
static void test_bad_length(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(2 * SECTOR);
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_fill(buf, 2 * SECTOR, 0x88);

    vssd_check_rejected(&t, "700-byte read", vssd_read(&t, 0, buf, 700),
                        ACCEPT(VIRTIO_VSSD_S_INVALID));
    vssd_check_rejected(&t, "513-byte write",
                        vssd_write(&t, 0, buf, SECTOR + 1, 0),
                        ACCEPT(VIRTIO_VSSD_S_INVALID));
    vssd_check_rejected(&t, "1-byte write at sector 3",
                        vssd_write(&t, 3, buf, 1, 0),
                        ACCEPT(VIRTIO_VSSD_S_INVALID));
    vssd_driver_cleanup(&t);
}

/* A descriptor chain that loops: longer than the queue. */
static void test_bad_looped_chain(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t addr, desc;
    uint32_t head, tail;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.alloc, 16 + SECTOR);

    /* header, then a data descriptor whose "next" is itself */
    vssd_vq_make_room(t.vq, 2);
    vssd_put_blk_hdr(&t, addr, VIRTIO_VSSD_T_READ, 0, 0, 0);
    head = qvirtqueue_add(t.qts, t.vq, addr, 16, false, true);
    tail = qvirtqueue_add(t.qts, t.vq, addr + 16, SECTOR, true, true);
    desc = t.vq->desc + tail * sizeof(struct vring_desc);
    qtest_writew(t.qts, desc + offsetof(struct vring_desc, next), tail);
    qvirtqueue_kick(t.qts, t.dev, t.vq, head);
    vssd_check_rejected(&t, "looped chain",
                        vssd_wait(&t, t.vq, head) ? VSSD_NO_STATUS
                                                  : VSSD_BROKEN,
                        ACCEPT_BROKEN);

    guest_free(t.alloc, addr);
    vssd_driver_cleanup(&t);
}

/*
 * Indirect tables: one with more entries than the queue (QEMU accepts up to
 * VIRTQUEUE_MAX_SIZE), one beyond what virtio can map at all.
 */
static int vssd_submit_indirect_write(VssdTest *t, uint64_t sector,
                                      uint32_t nr_data, uint64_t data,
                                      bool distinct)
{
    uint32_t nr = nr_data + 2;
    g_autofree struct vring_desc *table = g_new0(struct vring_desc, nr);
    uint64_t hdr = guest_alloc(t->alloc, 16 + 1);
    uint64_t table_addr = guest_alloc(t->alloc, nr * sizeof(*table));
    uint64_t desc;
    uint32_t i, head;
    int ret;

    vssd_put_blk_hdr(t, hdr, VIRTIO_VSSD_T_WRITE, 0, sector, 0);
    qtest_writeb(t->qts, hdr + 16, 0xff);

    table[0].addr = cpu_to_le64(hdr);
    table[0].len = cpu_to_le32(16);
    for (i = 1; i <= nr_data; i++) {
        table[i].addr = cpu_to_le64(data + (distinct ? (i - 1) * SECTOR : 0));
        table[i].len = cpu_to_le32(SECTOR);
    }
    table[nr - 1].addr = cpu_to_le64(hdr + 16);
    table[nr - 1].len = cpu_to_le32(1);
    table[nr - 1].flags = cpu_to_le16(VRING_DESC_F_WRITE);
    for (i = 0; i + 1 < nr; i++) {
        table[i].flags |= cpu_to_le16(VRING_DESC_F_NEXT);
        table[i].next = cpu_to_le16(i + 1);
    }
    qtest_memwrite(t->qts, table_addr, table, nr * sizeof(*table));

    vssd_vq_make_room(t->vq, 1);
    head = qvirtqueue_add(t->qts, t->vq, table_addr, nr * sizeof(*table),
                          false, false);
    desc = t->vq->desc + head * sizeof(struct vring_desc);
    qtest_writew(t->qts, desc + offsetof(struct vring_desc, flags),
                 VRING_DESC_F_INDIRECT);
    qvirtqueue_kick(t->qts, t->dev, t->vq, head);
    ret = vssd_outcome(t, vssd_wait(t, t->vq, head), hdr + 16);

    guest_free(t->alloc, table_addr);
    guest_free(t->alloc, hdr);
    return ret;
}

static void test_bad_huge_chain(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint32_t nr_data;
    g_autofree uint8_t *buf = NULL;
    uint64_t data_addr;
    int ret;

    vssd_test_start(&t, obj, data, alloc);

    /* longer than the queue, within what QEMU maps: OK or refused cleanly */
    nr_data = t.vq->size + 8;
    buf = g_malloc(nr_data * SECTOR);
    vssd_fill(buf, nr_data * SECTOR, 0xaa);
    data_addr = guest_alloc(t.alloc, nr_data * SECTOR);
    qtest_memwrite(t.qts, data_addr, buf, nr_data * SECTOR);
    ret = vssd_submit_indirect_write(&t, 64, nr_data, data_addr, true);
    if (ret == VIRTIO_VSSD_S_OK) {
        vssd_model_fill(&t, 64, nr_data, buf);
    }
    vssd_check_rejected(&t, "indirect table longer than the queue", ret,
                        ACCEPT(VIRTIO_VSSD_S_OK) |
                        ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN);
    if (ret == VIRTIO_VSSD_S_OK) {
        vssd_check_read(&t, 63, nr_data + 2);
    }

    /* more descriptors than virtio can map (VIRTQUEUE_MAX_SIZE = 1024) */
    vssd_check_rejected(&t, "indirect table of 1100 descriptors",
                        vssd_submit_indirect_write(&t, 0, 1098, data_addr,
                                                   false),
                        ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN);

    guest_free(t.alloc, data_addr);
    vssd_driver_cleanup(&t);
}

/* Unknown request type or flags: UNSUPP. */
static void test_bad_type(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(SECTOR);
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_fill(buf, SECTOR, 0xbb);

    vssd_check_rejected(&t, "type 0x42",
                        vssd_blk_request(&t, 0x42, 0, 0, 0, NULL, 0, false),
                        ACCEPT(VIRTIO_VSSD_S_UNSUPP));
    vssd_check_rejected(&t, "type 0xffff with a data buffer",
                        vssd_blk_request(&t, 0xffff, 0, 0, 0, buf, SECTOR,
                                         true),
                        ACCEPT(VIRTIO_VSSD_S_UNSUPP));
    vssd_check_rejected(&t, "write with unknown flag 0x8000",
                        vssd_write(&t, 1, buf, SECTOR, 0x8000),
                        ACCEPT(VIRTIO_VSSD_S_UNSUPP));
    vssd_driver_cleanup(&t);
}

/* Well-formed control requests the device does not know: NACK. */
static void test_bad_ctrl_request(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    struct virtio_vssd_range ranges[4];
    VssdCtrlReply reply;
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);

    g_assert_true(vssd_ctrl(&t, 0x7777, VIRTIO_VSSD_REGION_BLOCK, 0, 0, 0,
                            NULL, 0, &reply, ranges, G_N_ELEMENTS(ranges)));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);
    g_assert_false(vssd_device_broken(&t));

    g_assert_true(vssd_ctrl(&t, VIRTIO_VSSD_CTRL_GET_MAP, 0x55, 0, 0, 0,
                            NULL, 0, &reply, ranges, G_N_ELEMENTS(ranges)));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);
    g_assert_false(vssd_device_broken(&t));

    vssd_check_qemu_alive(&t);
    vssd_check_map_full(&t);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* Control chains too short to parse: broken. */
static void test_bad_ctrl_short(void *obj, void *data, QGuestAllocator *alloc)
{
    struct virtio_vssd_ctrl_req req = {
        .type = cpu_to_le16(VIRTIO_VSSD_CTRL_GET_MAP),
        .region = cpu_to_le16(VIRTIO_VSSD_REGION_BLOCK),
    };
    VssdTest t = { };
    uint64_t addr;
    bool used;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.alloc, 64);
    qtest_memwrite(t.qts, addr, &req, sizeof(req));

    used = vssd_submit(&t, t.ctrlq, (VssdSeg[]) {
                           { addr, 8, false },
                           { addr + 32, sizeof(struct virtio_vssd_ctrl_resp),
                             true } }, 2);
    vssd_check_rejected(&t, "8-byte control request",
                        used ? VSSD_NO_STATUS : VSSD_BROKEN, ACCEPT_BROKEN);

    used = vssd_submit(&t, t.ctrlq, &(VssdSeg) { addr, sizeof(req), false },
                       1);
    vssd_check_rejected(&t, "control request without a reply buffer",
                        used ? VSSD_NO_STATUS : VSSD_BROKEN, ACCEPT_BROKEN);

    used = vssd_submit(&t, t.ctrlq, (VssdSeg[]) {
                           { addr, sizeof(req), false },
                           { addr + 32, 4, true } }, 2);
    vssd_check_rejected(&t, "4-byte reply buffer",
                        used ? VSSD_NO_STATUS : VSSD_BROKEN, ACCEPT_BROKEN);

    guest_free(t.alloc, addr);
    vssd_check_map_full(&t);
    vssd_driver_cleanup(&t);
}

/*
 * Two request queues (num-queues=2). Without VIRTIO_VSSD_F_MQ the driver
 * sees one request queue and the control queue at index 1; with it, the
 * control queue is at index num_queues and every request queue serves I/O.
 */
static void test_multiqueue(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(SECTOR);
    VssdTest t = { };
    uint16_t i;

    g_assert_true(qvirtio_get_features(((QVirtioVssd *)obj)->vdev) &
                  (1ull << VIRTIO_VSSD_F_MQ));

    /* MQ negotiated: both request queues serve I/O, control at 2 */
    t.want_mq = true;
    g_test_message("with VIRTIO_VSSD_F_MQ: 2 request queues, control 2");
    vssd_test_start(&t, obj, data, alloc);
    g_assert_cmpuint(t.nr_req_queues, ==, 2);
    for (i = 0; i < t.nr_req_queues; i++) {
        t.vq = t.req_vqs[i];
        vssd_fill(buf, SECTOR, 0xc0 + i);
        g_assert_cmpint(vssd_write(&t, 50 + i, buf, SECTOR, 0), ==,
                        VIRTIO_VSSD_S_OK);
        vssd_check_read(&t, 49, 4);
    }
    t.vq = t.req_vqs[0];
    vssd_check_map_full(&t);
    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);

    /* MQ not negotiated: one request queue, control at 1 */
    t.want_mq = false;
    g_test_message("without VIRTIO_VSSD_F_MQ: 1 request queue, control 1");
    vssd_driver_reinit(&t);
    g_assert_cmpuint(t.nr_req_queues, ==, 1);
    vssd_check_map_full(&t);
    vssd_check_read(&t, 49, 4);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* --- resize protocol: config, QMP, one helper per control request -------- */

#define VSSD_MiB(n)         ((uint64_t)(n) * VSSD_BLOCK_SIZE)

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

static const VssdRegion vssd_block_region = {
    .name = "block",
    .id = VIRTIO_VSSD_REGION_BLOCK,
    .plugged = offsetof(struct virtio_vssd_config, block_plugged_size),
    .requested = offsetof(struct virtio_vssd_config, block_requested_size),
    .policy = offsetof(struct virtio_vssd_config, block_policy),
    .block_size = VSSD_BLOCK_SIZE,
    .max_size = VSSD_IMAGE_SIZE,
};

static const VssdRegion vssd_pmem_region = {
    .name = "pmem",
    .id = VIRTIO_VSSD_REGION_PMEM,
    .plugged = offsetof(struct virtio_vssd_config, pmem_plugged_size),
    .requested = offsetof(struct virtio_vssd_config, pmem_requested_size),
    .policy = offsetof(struct virtio_vssd_config, pmem_policy),
    .block_size = VSSD_PMEM_BS,
    .max_size = VSSD_PMEM_SIZE,
};

static uint64_t vssd_config_q(VssdTest *t, size_t offset)
{
    return qvirtio_config_readq(t->dev, offset);
}

static uint32_t vssd_config_generation(VssdTest *t)
{
    return qvirtio_config_readl(t->dev,
                                offsetof(struct virtio_vssd_config,
                                         resize_generation));
}

static uint64_t vssd_config_plugged(VssdTest *t)
{
    return vssd_config_q(t, offsetof(struct virtio_vssd_config,
                                     block_plugged_size));
}

static uint64_t vssd_config_requested(VssdTest *t)
{
    return vssd_config_q(t, offsetof(struct virtio_vssd_config,
                                     block_requested_size));
}

static uint32_t vssd_config_policy(VssdTest *t)
{
    return qvirtio_config_readl(t->dev,
                                offsetof(struct virtio_vssd_config,
                                         block_policy));
}

/* Sends a QMP command and checks that it succeeded. */
/* Sends @cmd (QMP text, not a format) and returns the reply. */
static QDict *vssd_qmp_raw(VssdTest *t, const char *cmd)
{
    qtest_qmp_send_raw(t->qts, "%s", cmd);
    return qtest_qmp_receive(t->qts);
}

static void vssd_qmp_ok(VssdTest *t, const char *cmd)
{
    QDict *resp = vssd_qmp_raw(t, cmd);

    g_assert_nonnull(resp);
    if (qdict_haskey(resp, "error")) {
        g_test_message("%s: %s", cmd,
                       qdict_get_str(qdict_get_qdict(resp, "error"), "desc"));
    }
    g_assert_false(qdict_haskey(resp, "error"));
    qobject_unref(resp);
}

/* Sends a QMP command that must fail with a GenericError naming @what. */
static void vssd_qmp_error(VssdTest *t, const char *cmd, const char *what)
{
    QDict *resp = vssd_qmp_raw(t, cmd);
    QDict *err;
    const char *desc;

    g_assert_nonnull(resp);
    err = qdict_get_qdict(resp, "error");
    g_assert_nonnull(err);
    desc = qdict_get_str(err, "desc");
    g_test_message("%s -> %s", cmd, desc);
    g_assert_cmpstr(qdict_get_str(err, "class"), ==, "GenericError");
    g_assert_nonnull(strstr(desc, what));
    qobject_unref(resp);
}

/*
 * ssd-balloon for region @r; the device raises a config interrupt and
 * bumps the generation. Returns the new generation.
 */
static uint32_t vssd_balloon_in(VssdTest *t, const VssdRegion *r,
                                uint64_t size, const char *policy)
{
    const uint32_t old = vssd_config_generation(t);
    g_autofree char *cmd =
        g_strdup_printf("{ 'execute': 'ssd-balloon', 'arguments': {"
                        " 'device': '%s', 'size': %" PRIu64 ","
                        " 'region': '%s', 'policy': '%s' } }",
                        QVIRTIO_VSSD_ID, size, r->name, policy);
    uint32_t gen;

    vssd_qmp_ok(t, cmd);
    qvirtio_wait_config_isr(t->dev, VSSD_TIMEOUT_US);
    gen = vssd_config_generation(t);
    g_assert_cmpuint(gen, ==, old + 1);
    g_assert_cmpuint(vssd_config_q(t, r->requested), ==, size);
    g_assert_cmpuint(qvirtio_config_readl(t->dev, r->policy), ==,
                     strcmp(policy, "host") ? VIRTIO_VSSD_POLICY_GUEST
                                            : VIRTIO_VSSD_POLICY_HOST);
    return gen;
}

/* ssd-balloon for the block region. */
static uint32_t vssd_balloon(VssdTest *t, uint64_t size, const char *policy)
{
    return vssd_balloon_in(t, &vssd_block_region, size, policy);
}

/*
 * A resize request (UNPLUG, PLUG) of @nr_in ranges announcing @announced.
 * Returns VIRTIO_VSSD_RESP_ACK, or NACK/BUSY/ERROR with the reason in
 * *@reason.
 */
static uint16_t vssd_resize_request(VssdTest *t, uint16_t type,
                                    uint16_t region, uint32_t generation,
                                    const struct virtio_vssd_range *in,
                                    uint32_t nr_in, uint64_t announced,
                                    uint16_t *reason)
{
    VssdCtrlReply reply;

    g_assert_true(vssd_ctrl(t, type, region, generation, announced, 0,
                            in, nr_in, &reply, NULL, 0));
    g_assert_false(vssd_device_broken(t));
    *reason = reply.reason;
    if (reply.status == VIRTIO_VSSD_RESP_ACK) {
        g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_NONE);
    }
    return reply.status;
}

/*
 * UNPLUG (@plug false) or PLUG of @ranges of region @r; returns the reason
 * (VIRTIO_VSSD_R_NONE for ACK).
 */
static uint16_t vssd_plug_list(VssdTest *t, const VssdRegion *r, bool plug,
                               uint32_t generation,
                               const struct virtio_vssd_range *ranges,
                               uint32_t nr)
{
    uint16_t reason;
    uint16_t status = vssd_resize_request(t, plug ? VIRTIO_VSSD_CTRL_PLUG
                                                  : VIRTIO_VSSD_CTRL_UNPLUG,
                                          r->id, generation, ranges, nr, nr,
                                          &reason);

    g_assert_cmpuint(status, ==, reason ? VIRTIO_VSSD_RESP_NACK
                                        : VIRTIO_VSSD_RESP_ACK);
    return reason;
}

/* UNPLUG of @ranges; returns the reason (VIRTIO_VSSD_R_NONE for ACK). */
static uint16_t vssd_unplug(VssdTest *t, uint32_t generation,
                            const struct virtio_vssd_range *ranges,
                            uint32_t nr)
{
    return vssd_plug_list(t, &vssd_block_region, false, generation, ranges,
                          nr);
}

/* PLUG of @ranges; returns the reason (VIRTIO_VSSD_R_NONE for ACK). */
static uint16_t vssd_plug(VssdTest *t, uint32_t generation,
                          const struct virtio_vssd_range *ranges, uint32_t nr)
{
    return vssd_plug_list(t, &vssd_block_region, true, generation, ranges,
                          nr);
}

/*
 * UNPLUG_HOST of @want blocks of region @r with room for @max ranges.
 * Returns the reason; on ACK the ranges are in @out (*@nr_out of them).
 */
static uint16_t vssd_unplug_host_in(VssdTest *t, const VssdRegion *r,
                                    uint32_t generation, uint64_t want,
                                    struct virtio_vssd_range *out,
                                    uint32_t max, uint32_t *nr_out)
{
    VssdCtrlReply reply;

    g_assert_true(vssd_ctrl(t, VIRTIO_VSSD_CTRL_UNPLUG_HOST, r->id,
                            generation, want, 0, NULL, 0, &reply, out, max));
    g_assert_false(vssd_device_broken(t));
    if (reply.status == VIRTIO_VSSD_RESP_ACK) {
        g_assert_cmpuint(reply.nr_ranges, <=, max);
        *nr_out = reply.nr_ranges;
        return VIRTIO_VSSD_R_NONE;
    }
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.nr_ranges, ==, 0);
    return reply.reason;
}

static uint16_t vssd_unplug_host(VssdTest *t, uint32_t generation,
                                 uint64_t want, struct virtio_vssd_range *out,
                                 uint32_t max, uint32_t *nr_out)
{
    return vssd_unplug_host_in(t, &vssd_block_region, generation, want, out,
                               max, nr_out);
}

/* Both regions of the tests have this many blocks. */
#define VSSD_TEST_BLOCKS    8
G_STATIC_ASSERT(VSSD_NR_BLOCKS == VSSD_TEST_BLOCKS);
G_STATIC_ASSERT(VSSD_PMEM_NR_BLOCKS == VSSD_TEST_BLOCKS);

/* The plugged map of region @r through GET_MAP, one bool per block. */
static void vssd_get_plugged_in(VssdTest *t, const VssdRegion *r,
                                bool plugged[VSSD_TEST_BLOCKS])
{
    struct virtio_vssd_range ranges[VSSD_TEST_BLOCKS];
    VssdCtrlReply reply;
    uint32_t i;
    uint64_t b;

    g_assert_true(vssd_ctrl(t, VIRTIO_VSSD_CTRL_GET_MAP, r->id, 0, 0, 0,
                            NULL, 0, &reply, ranges, G_N_ELEMENTS(ranges)));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.next, ==, VSSD_TEST_BLOCKS);
    memset(plugged, 0, VSSD_TEST_BLOCKS * sizeof(bool));
    for (i = 0; i < reply.nr_ranges; i++) {
        for (b = ranges[i].first; b < ranges[i].first + ranges[i].count; b++) {
            g_assert_cmpuint(b, <, VSSD_TEST_BLOCKS);
            plugged[b] = true;
        }
    }
}

static void vssd_get_plugged(VssdTest *t, bool plugged[VSSD_NR_BLOCKS])
{
    vssd_get_plugged_in(t, &vssd_block_region, plugged);
}

/*
 * The map is @expected (a string of '1' plugged / '0' unplugged per
 * block), in GET_MAP, in the config space and for block I/O.
 */
static void vssd_check_map(VssdTest *t, const char *expected)
{
    g_autofree uint8_t *buf = g_malloc(SECTOR);
    bool plugged[VSSD_NR_BLOCKS];
    uint64_t b, n = 0;

    g_assert_cmpuint(strlen(expected), ==, VSSD_NR_BLOCKS);
    vssd_get_plugged(t, plugged);
    for (b = 0; b < VSSD_NR_BLOCKS; b++) {
        const bool want = expected[b] == '1';
        const uint64_t last = (b + 1) * SECTORS_PER_BLOCK - 1;

        g_assert_cmpint(plugged[b], ==, want);
        n += want;
        if (want) {
            vssd_check_read(t, last, 1);
        } else {
            g_assert_cmpint(vssd_read(t, last, buf, SECTOR), ==,
                            VIRTIO_VSSD_S_UNPLUGGED);
            g_assert_cmpint(vssd_write(t, b * SECTORS_PER_BLOCK, buf, SECTOR,
                                       0), ==, VIRTIO_VSSD_S_UNPLUGGED);
        }
    }
    g_assert_cmpuint(vssd_config_plugged(t), ==, VSSD_MiB(n));
}

/* Blocks given back read as zeroes on the host: update the model. */
static void vssd_model_unplugged(VssdTest *t,
                                 const struct virtio_vssd_range *ranges,
                                 uint32_t nr)
{
    uint32_t i;

    for (i = 0; i < nr; i++) {
        vssd_model_fill(t, ranges[i].first * SECTORS_PER_BLOCK,
                        ranges[i].count * SECTORS_PER_BLOCK, NULL);
    }
}

/* query-ssd-balloon for the test device: its regions' entries. */
static QList *vssd_query_all(VssdTest *t)
{
    QDict *resp = qtest_qmp(t->qts, "{ 'execute': 'query-ssd-balloon',"
                            " 'arguments': { 'device': %s } }",
                            QVIRTIO_VSSD_ID);
    QList *list;

    g_assert_nonnull(resp);
    g_assert_false(qdict_haskey(resp, "error"));
    list = qdict_get_qlist(resp, "return");
    g_assert_nonnull(list);
    qobject_ref(list);
    qobject_unref(resp);
    return list;
}

/* The entry of region @r in query-ssd-balloon (which must have it). */
static QDict *vssd_query_in(VssdTest *t, const VssdRegion *r)
{
    QList *list = vssd_query_all(t);
    QListEntry *e;
    QDict *info = NULL;

    QLIST_FOREACH_ENTRY(list, e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));

        g_assert_nonnull(d);
        if (!strcmp(qdict_get_str(d, "region"), r->name)) {
            g_assert_null(info);
            info = d;
        }
    }
    g_assert_nonnull(info);
    qobject_ref(info);
    qobject_unref(list);

    g_assert_cmpstr(qdict_get_str(info, "device"), ==, QVIRTIO_VSSD_ID);
    g_assert_cmpstr(qdict_get_str(info, "qom-path"), ==,
                    "/machine/peripheral/" QVIRTIO_VSSD_ID);
    g_assert_cmpuint(qdict_get_int(info, "block-size"), ==, r->block_size);
    g_assert_cmpuint(qdict_get_int(info, "max-size"), ==, r->max_size);
    return info;
}

/* The block region's entry of query-ssd-balloon for the test device. */
static QDict *vssd_query(VssdTest *t)
{
    return vssd_query_in(t, &vssd_block_region);
}

/* query-ssd-balloon says @size of @requested, @status for region @r. */
static void vssd_check_query_in(VssdTest *t, const VssdRegion *r,
                                uint64_t size, uint64_t requested,
                                const char *status)
{
    QDict *info = vssd_query_in(t, r);

    g_assert_cmpuint(qdict_get_int(info, "size"), ==, size);
    g_assert_cmpuint(qdict_get_int(info, "requested-size"), ==, requested);
    g_assert_cmpstr(qdict_get_str(info, "status"), ==, status);
    g_assert_cmpuint(qdict_get_int(info, "generation"), ==,
                     vssd_config_generation(t));
    qobject_unref(info);
}

/* query-ssd-balloon says @size of @requested, @status. */
static void vssd_check_query(VssdTest *t, uint64_t size, uint64_t requested,
                             const char *status)
{
    QDict *info = vssd_query(t);

    g_assert_cmpuint(qdict_get_int(info, "size"), ==, size);
    g_assert_cmpuint(qdict_get_int(info, "requested-size"), ==, requested);
    g_assert_cmpstr(qdict_get_str(info, "status"), ==, status);
    g_assert_cmpuint(qdict_get_int(info, "generation"), ==,
                     vssd_config_generation(t));
    qobject_unref(info);
}

/* Counter @name of region @r in query-ssd-balloon. */
static uint64_t vssd_query_counter_in(VssdTest *t, const VssdRegion *r,
                                      const char *name)
{
    QDict *info = vssd_query_in(t, r);
    uint64_t n = qdict_get_int(info, name);

    qobject_unref(info);
    return n;
}

static uint64_t vssd_query_counter(VssdTest *t, const char *name)
{
    return vssd_query_counter_in(t, &vssd_block_region, name);
}

/* Refusals of region @r for @reason in query-ssd-balloon. */
static uint64_t vssd_query_refused_in(VssdTest *t, const VssdRegion *r,
                                      const char *reason)
{
    QDict *info = vssd_query_in(t, r);
    uint64_t n = qdict_get_int(qdict_get_qdict(info, "refused"), reason);

    qobject_unref(info);
    return n;
}

static uint64_t vssd_query_refused(VssdTest *t, const char *reason)
{
    return vssd_query_refused_in(t, &vssd_block_region, reason);
}

/*
 * Checks that the last SSD_BALLOON_CHANGE sent so far is for region @r
 * and says @size of @requested.
 */
static void vssd_take_event_in(VssdTest *t, const VssdRegion *r,
                               uint64_t size, uint64_t requested)
{
    QDict *ev, *last = NULL, *data;

    vssd_check_qemu_alive(t);   /* a QMP round trip collects the events */
    while ((ev = qtest_qmp_event_ref(t->qts, "SSD_BALLOON_CHANGE"))) {
        qobject_unref(last);
        last = ev;
    }
    g_assert_nonnull(last);
    data = qdict_get_qdict(last, "data");
    g_assert_cmpstr(qdict_get_str(data, "device"), ==, QVIRTIO_VSSD_ID);
    g_assert_cmpstr(qdict_get_str(data, "qom-path"), ==,
                    "/machine/peripheral/" QVIRTIO_VSSD_ID);
    g_assert_cmpstr(qdict_get_str(data, "region"), ==, r->name);
    g_assert_cmpuint(qdict_get_int(data, "size"), ==, size);
    g_assert_cmpuint(qdict_get_int(data, "requested-size"), ==, requested);
    qobject_unref(last);
}

static void vssd_take_event(VssdTest *t, uint64_t size, uint64_t requested)
{
    vssd_take_event_in(t, &vssd_block_region, size, requested);
}

/* Lets rate-limited events out (1 s), then vssd_take_event_in(). */
static void vssd_check_event_in(VssdTest *t, const VssdRegion *r,
                                uint64_t size, uint64_t requested)
{
    qtest_clock_step(t->qts, 1100 * 1000 * 1000LL);
    vssd_take_event_in(t, r, size, requested);
}

static void vssd_check_event(VssdTest *t, uint64_t size, uint64_t requested)
{
    vssd_check_event_in(t, &vssd_block_region, size, requested);
}

/* No SSD_BALLOON_CHANGE is pending. */
static void vssd_check_no_event(VssdTest *t)
{
    QDict *ev;

    vssd_check_qemu_alive(t);
    ev = qtest_qmp_event_ref(t->qts, "SSD_BALLOON_CHANGE");
    g_assert_null(ev);
}

#define R(first, count)     { (first), (count) }

/*
 * Shrink with policy guest through a fragmented list, then grow, then a
 * shrink that takes two lists.
 */
static void test_resize_guest(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(1, 1), R(3, 2), R(6, 1) };
    const struct virtio_vssd_range take[] = { R(6, 1), R(1, 1) };
    const struct virtio_vssd_range give2a[] = { R(0, 1) };
    const struct virtio_vssd_range give2b[] = { R(7, 1), R(2, 1), R(5, 1) };
    g_autofree uint8_t *buf = g_malloc(SECTOR);
    VssdTest t = { };
    uint64_t before, after;
    uint32_t gen;
    QDict *info;

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_query(&t, VSSD_MiB(8), VSSD_MiB(8), "idle");

    /* 8 MiB -> 4 MiB: the guest gives back 4 blocks in 3 ranges */
    gen = vssd_balloon(&t, VSSD_MiB(4), "guest");
    vssd_check_query(&t, VSSD_MiB(8), VSSD_MiB(4), "shrinking");
    before = vssd_image_blocks(&t);
    g_assert_cmpuint(vssd_unplug(&t, gen, give, G_N_ELEMENTS(give)), ==,
                     VIRTIO_VSSD_R_NONE);
    after = vssd_image_blocks(&t);
    g_test_message("image allocation: %" PRIu64 " -> %" PRIu64
                   " (512-byte units)", before, after);
    g_assert_cmpuint(after + 4 * VSSD_BLOCK_SIZE / 512, <=, before);
    vssd_model_unplugged(&t, give, G_N_ELEMENTS(give));
    vssd_check_map(&t, "10100101");
    vssd_check_image(&t);
    vssd_check_query(&t, VSSD_MiB(4), VSSD_MiB(4), "idle");
    info = vssd_query(&t);
    g_assert_cmpuint(qdict_get_int(info, "blocks-evicted"), ==, 4);
    g_assert_cmpuint(qdict_get_int(info, "blocks-granted"), ==, 0);
    g_assert_cmpuint(qdict_get_int(info, "replies-refused"), ==, 0);
    g_assert_true(qdict_haskey(info, "last-resize-ms"));
    qobject_unref(info);
    vssd_check_event(&t, VSSD_MiB(4), VSSD_MiB(4));

    /* 4 MiB -> 6 MiB: two blocks back, reading as zeroes */
    gen = vssd_balloon(&t, VSSD_MiB(6), "guest");
    vssd_check_query(&t, VSSD_MiB(4), VSSD_MiB(6), "growing");
    g_assert_cmpuint(vssd_plug(&t, gen, take, G_N_ELEMENTS(take)), ==,
                     VIRTIO_VSSD_R_NONE);
    vssd_check_map(&t, "11100111");
    vssd_check_read(&t, 1 * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK);
    vssd_check_read(&t, 6 * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK);
    vssd_fill(buf, SECTOR, 0x66);
    g_assert_cmpint(vssd_write(&t, 6 * SECTORS_PER_BLOCK + 3, buf, SECTOR, 0),
                    ==, VIRTIO_VSSD_S_OK);
    vssd_check_read(&t, 6 * SECTORS_PER_BLOCK, 8);
    vssd_check_query(&t, VSSD_MiB(6), VSSD_MiB(6), "idle");
    g_assert_cmpuint(vssd_query_counter(&t, "blocks-granted"), ==, 2);
    vssd_check_event(&t, VSSD_MiB(6), VSSD_MiB(6));

    /* 6 MiB -> 2 MiB in two lists; events are rate-limited meanwhile */
    gen = vssd_balloon(&t, VSSD_MiB(2), "guest");
    g_assert_cmpuint(vssd_unplug(&t, gen, give2a, 1), ==, VIRTIO_VSSD_R_NONE);
    vssd_check_query(&t, VSSD_MiB(5), VSSD_MiB(2), "shrinking");
    vssd_take_event(&t, VSSD_MiB(5), VSSD_MiB(2));
    g_assert_cmpuint(vssd_unplug(&t, gen, give2b, 3), ==, VIRTIO_VSSD_R_NONE);
    vssd_check_no_event(&t);
    vssd_check_event(&t, VSSD_MiB(2), VSSD_MiB(2));
    vssd_model_unplugged(&t, give2a, 1);
    vssd_model_unplugged(&t, give2b, 3);
    vssd_check_map(&t, "01000010");
    vssd_check_query(&t, VSSD_MiB(2), VSSD_MiB(2), "idle");
    g_assert_cmpuint(vssd_query_counter(&t, "blocks-evicted"), ==, 8);

    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* Policy host: the device picks the blocks (UNPLUG_HOST). */
static void test_resize_host(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range one[] = { R(0, 1) };
    struct virtio_vssd_range out[VSSD_NR_BLOCKS];
    char map[VSSD_NR_BLOCKS + 1];
    bool plugged[VSSD_NR_BLOCKS];
    VssdTest t = { };
    uint64_t before, got = 0, b;
    uint32_t gen, nr, i;

    vssd_test_start(&t, obj, data, alloc);

    gen = vssd_balloon(&t, VSSD_MiB(5), "host");
    /* the guest may not choose under policy host */
    g_assert_cmpuint(vssd_unplug(&t, gen, one, 1), ==,
                     VIRTIO_VSSD_R_NOT_REQUESTED);
    /* nor ask for more than the host wants */
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 4, out, VSSD_NR_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_TOO_MANY);
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 0, out, VSSD_NR_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_BAD_REQUEST);
    vssd_check_map(&t, "11111111");

    before = vssd_image_blocks(&t);
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 3, out, VSSD_NR_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(nr, >=, 1);
    memset(map, '1', VSSD_NR_BLOCKS);
    map[VSSD_NR_BLOCKS] = 0;
    for (i = 0; i < nr; i++) {
        g_test_message("host picked blocks %" PRIu64 "+%" PRIu64,
                       (uint64_t)out[i].first, (uint64_t)out[i].count);
        g_assert_cmpuint(out[i].count, >=, 1);
        g_assert_cmpuint(out[i].first + out[i].count, <=, VSSD_NR_BLOCKS);
        for (b = out[i].first; b < out[i].first + out[i].count; b++) {
            g_assert_cmpint(map[b], ==, '1');
            map[b] = '0';
            got++;
        }
    }
    g_assert_cmpuint(got, ==, 3);
    g_assert_cmpuint(vssd_image_blocks(&t) + 3 * VSSD_BLOCK_SIZE / 512, <=,
                     before);
    vssd_model_unplugged(&t, out, nr);
    vssd_check_map(&t, map);
    vssd_check_image(&t);
    vssd_check_query(&t, VSSD_MiB(5), VSSD_MiB(5), "idle");
    vssd_check_event(&t, VSSD_MiB(5), VSSD_MiB(5));

    /* nothing asked any more */
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 1, out, VSSD_NR_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NOT_REQUESTED);

    /* a reply buffer of one range still gets a valid (maybe shorter) list */
    gen = vssd_balloon(&t, VSSD_MiB(2), "host");
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 3, out, 1, &nr), ==,
                     VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(nr, ==, 1);
    vssd_get_plugged(&t, plugged);
    for (b = out[0].first; b < out[0].first + out[0].count; b++) {
        g_assert_false(plugged[b]);
    }
    vssd_model_unplugged(&t, out, 1);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/*
 * Policy host, when the blocks asked for cannot fit the reply's ranges:
 * each round must still be a uniform choice among the plugged blocks (a
 * choice that stops when the ranges are full only ever takes the lowest).
 * Shrink by half with room for one range, 128 times: the block given
 * comes from the upper half about half of the time.
 */
static void test_resize_host_uniform(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    const uint64_t half = VSSD_NR_BLOCKS / 2;
    struct virtio_vssd_range out[1];
    VssdTest t = { };
    unsigned int round, upper = 0;
    uint32_t gen, nr;

    vssd_test_start(&t, obj, data, alloc);
    for (round = 0; round < 128; round++) {
        gen = vssd_balloon(&t, half * VSSD_BLOCK_SIZE, "host");
        g_assert_cmpuint(vssd_unplug_host(&t, gen, half, out, 1, &nr), ==,
                         VIRTIO_VSSD_R_NONE);
        g_assert_cmpuint(nr, ==, 1);
        g_assert_cmpuint(out[0].first + out[0].count, <=, VSSD_NR_BLOCKS);
        upper += out[0].first + out[0].count > half;
        vssd_model_unplugged(&t, out, 1);

        gen = vssd_balloon(&t, VSSD_NR_BLOCKS * VSSD_BLOCK_SIZE, "guest");
        g_assert_cmpuint(vssd_plug(&t, gen, out, 1), ==, VIRTIO_VSSD_R_NONE);
        vssd_check_map(&t, "11111111");
    }
    g_test_message("upper half given in %u of 128 rounds", upper);
    /* uniform: about 64 (binomial, p < 1e-9 below 32); first-fit: ~2 */
    g_assert_cmpuint(upper, >=, 32);
    vssd_driver_cleanup(&t);
}

/* One malformed reply: refused with @reason, counted, nothing changed. */
static void vssd_check_refused(VssdTest *t, const char *what, uint16_t got,
                               uint16_t reason, const char *counter,
                               const char *map)
{
    g_test_message("%s: reason %u (expected %u)", what, got, reason);
    g_assert_cmpuint(got, ==, reason);
    t->nr_refused++;
    g_assert_cmpuint(vssd_query_counter(t, "replies-refused"), ==,
                     t->nr_refused);
    g_assert_cmpuint(vssd_query_refused(t, counter), >=, 1);
    vssd_check_qemu_alive(t);
    vssd_check_map(t, map);
    vssd_check_image(t);
}

static void test_resize_bad_replies(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    const struct virtio_vssd_range good[] = { R(1, 1) };
    const struct virtio_vssd_range three[] = { R(1, 1), R(3, 1), R(5, 1) };
    struct virtio_vssd_range out[4];
    VssdTest t = { };
    uint16_t reason;
    uint32_t gen, nr;

    vssd_test_start(&t, obj, data, alloc);

    /* a reply with nothing asked */
    gen = vssd_config_generation(&t);
    vssd_check_refused(&t, "UNPLUG with nothing asked",
                       vssd_unplug(&t, gen, good, 1),
                       VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                       "11111111");
    vssd_check_refused(&t, "PLUG with nothing asked",
                       vssd_plug(&t, gen, good, 1),
                       VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                       "11111111");

    /* the host asks for 4 blocks back */
    gen = vssd_balloon(&t, VSSD_MiB(4), "guest");
    vssd_check_refused(&t, "block out of range",
                       vssd_unplug(&t, gen,
                                   (struct virtio_vssd_range[]) { R(8, 1) },
                                   1),
                       VIRTIO_VSSD_R_RANGE, "range", "11111111");
    vssd_check_refused(&t, "range crossing the end",
                       vssd_unplug(&t, gen,
                                   (struct virtio_vssd_range[]) { R(6, 3) },
                                   1),
                       VIRTIO_VSSD_R_RANGE, "range", "11111111");
    vssd_check_refused(&t, "range whose end overflows",
                       vssd_unplug(&t, gen, (struct virtio_vssd_range[]) {
                                       R(2, UINT64_MAX - 1) }, 1),
                       VIRTIO_VSSD_R_RANGE, "range", "11111111");
    vssd_check_refused(&t, "empty range",
                       vssd_unplug(&t, gen,
                                   (struct virtio_vssd_range[]) { R(2, 0) },
                                   1),
                       VIRTIO_VSSD_R_BAD_REQUEST, "bad-request", "11111111");
    vssd_check_refused(&t, "a block listed twice",
                       vssd_unplug(&t, gen, (struct virtio_vssd_range[]) {
                                       R(2, 1), R(5, 1), R(2, 1) }, 3),
                       VIRTIO_VSSD_R_DUPLICATE, "duplicate", "11111111");
    vssd_check_refused(&t, "overlapping ranges",
                       vssd_unplug(&t, gen, (struct virtio_vssd_range[]) {
                                       R(3, 1), R(1, 3) }, 2),
                       VIRTIO_VSSD_R_DUPLICATE, "duplicate", "11111111");
    vssd_check_refused(&t, "more blocks than asked",
                       vssd_unplug(&t, gen, (struct virtio_vssd_range[]) {
                                       R(0, 2), R(4, 3) }, 2),
                       VIRTIO_VSSD_R_TOO_MANY, "too-many", "11111111");
    vssd_resize_request(&t, VIRTIO_VSSD_CTRL_UNPLUG, VIRTIO_VSSD_REGION_BLOCK,
                        gen, three, 3, 4, &reason);
    vssd_check_refused(&t, "truncated list (4 announced, 3 sent)", reason,
                       VIRTIO_VSSD_R_TRUNCATED, "truncated", "11111111");
    vssd_resize_request(&t, VIRTIO_VSSD_CTRL_UNPLUG, VIRTIO_VSSD_REGION_BLOCK,
                        gen, three, 3, 0, &reason);
    vssd_check_refused(&t, "list of 0 ranges with 3 sent", reason,
                       VIRTIO_VSSD_R_BAD_REQUEST, "bad-request", "11111111");
    vssd_resize_request(&t, VIRTIO_VSSD_CTRL_UNPLUG, VIRTIO_VSSD_REGION_BLOCK,
                        gen, NULL, 0, 0, &reason);
    vssd_check_refused(&t, "empty list", reason,
                       VIRTIO_VSSD_R_BAD_REQUEST, "bad-request", "11111111");
    vssd_resize_request(&t, VIRTIO_VSSD_CTRL_UNPLUG, VIRTIO_VSSD_REGION_BLOCK,
                        gen, three, 3, VIRTIO_VSSD_MAX_RANGES + 1, &reason);
    vssd_check_refused(&t, "more than VIRTIO_VSSD_MAX_RANGES announced",
                       reason, VIRTIO_VSSD_R_BAD_REQUEST, "bad-request",
                       "11111111");
    vssd_resize_request(&t, VIRTIO_VSSD_CTRL_UNPLUG, VIRTIO_VSSD_REGION_PMEM,
                        gen, good, 1, 1, &reason);
    vssd_check_refused(&t, "absent region", reason,
                       VIRTIO_VSSD_R_BAD_REQUEST, "bad-request", "11111111");
    vssd_check_refused(&t, "old generation",
                       vssd_unplug(&t, gen - 1, good, 1),
                       VIRTIO_VSSD_R_STALE, "stale", "11111111");
    vssd_check_refused(&t, "future generation",
                       vssd_unplug(&t, gen + 1, good, 1),
                       VIRTIO_VSSD_R_STALE, "stale", "11111111");
    vssd_check_refused(&t, "PLUG while shrinking",
                       vssd_plug(&t, gen, good, 1),
                       VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                       "11111111");
    vssd_check_refused(&t, "UNPLUG_HOST under policy guest",
                       vssd_unplug_host(&t, gen, 1, out, 4, &nr),
                       VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                       "11111111");

    /* one good list, then blocks that are no longer plugged */
    g_assert_cmpuint(vssd_unplug(&t, gen, three, 3), ==, VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, three, 3);
    vssd_check_refused(&t, "UNPLUG of a block not plugged",
                       vssd_unplug(&t, gen, good, 1),
                       VIRTIO_VSSD_R_NOT_PLUGGED, "not-plugged", "10101011");
    vssd_check_refused(&t, "still one block too many",
                       vssd_unplug(&t, gen, (struct virtio_vssd_range[]) {
                                       R(6, 2) }, 1),
                       VIRTIO_VSSD_R_TOO_MANY, "too-many", "10101011");

    /* grow by 2: PLUG errors */
    gen = vssd_balloon(&t, VSSD_MiB(7), "guest");
    vssd_check_refused(&t, "PLUG of a plugged block",
                       vssd_plug(&t, gen, (struct virtio_vssd_range[]) {
                                     R(1, 2) }, 1),
                       VIRTIO_VSSD_R_PLUGGED, "plugged", "10101011");
    vssd_check_refused(&t, "PLUG of more blocks than asked",
                       vssd_plug(&t, gen, three, 3),
                       VIRTIO_VSSD_R_TOO_MANY, "too-many", "10101011");
    vssd_check_refused(&t, "UNPLUG while growing",
                       vssd_unplug(&t, gen, (struct virtio_vssd_range[]) {
                                       R(0, 1) }, 1),
                       VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                       "10101011");
    g_assert_cmpuint(vssd_plug(&t, gen, (struct virtio_vssd_range[]) {
                                   R(5, 1), R(3, 1) }, 2),
                     ==, VIRTIO_VSSD_R_NONE);
    vssd_check_map(&t, "10111111");
    vssd_check_query(&t, VSSD_MiB(7), VSSD_MiB(7), "idle");
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* A new target replaces one in progress: replies to the old one are STALE. */
static void test_resize_supersede(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    const struct virtio_vssd_range four[] = { R(0, 2), R(4, 2) };
    const struct virtio_vssd_range two[] = { R(2, 1), R(7, 1) };
    VssdTest t = { };
    uint32_t gen1, gen2;

    vssd_test_start(&t, obj, data, alloc);

    gen1 = vssd_balloon(&t, VSSD_MiB(4), "guest");
    gen2 = vssd_balloon(&t, VSSD_MiB(6), "guest");
    g_assert_cmpuint(vssd_unplug(&t, gen1, four, 2), ==, VIRTIO_VSSD_R_STALE);
    vssd_check_map(&t, "11111111");
    vssd_check_query(&t, VSSD_MiB(8), VSSD_MiB(6), "shrinking");
    g_assert_cmpuint(vssd_query_refused(&t, "stale"), ==, 1);

    g_assert_cmpuint(vssd_unplug(&t, gen2, two, 2), ==, VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, two, 2);
    vssd_check_map(&t, "11011110");
    vssd_check_query(&t, VSSD_MiB(6), VSSD_MiB(6), "idle");

    /* the same size again is done at once, and still a new generation */
    vssd_balloon(&t, VSSD_MiB(6), "guest");
    vssd_check_query(&t, VSSD_MiB(6), VSSD_MiB(6), "idle");
    vssd_check_event(&t, VSSD_MiB(6), VSSD_MiB(6));
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* Device reset in the middle of a resize keeps the map and the target. */
static void test_resize_reset(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range first[] = { R(0, 1), R(6, 1) };
    const struct virtio_vssd_range rest[] = { R(3, 2) };
    VssdTest t = { };
    uint32_t gen;

    vssd_test_start(&t, obj, data, alloc);

    gen = vssd_balloon(&t, VSSD_MiB(4), "guest");
    g_assert_cmpuint(vssd_unplug(&t, gen, first, 2), ==, VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, first, 2);

    vssd_driver_reinit(&t);
    g_assert_cmpuint(vssd_config_generation(&t), ==, gen);
    g_assert_cmpuint(vssd_config_requested(&t), ==, VSSD_MiB(4));
    vssd_check_map(&t, "01111101");
    vssd_check_query(&t, VSSD_MiB(6), VSSD_MiB(4), "shrinking");

    /* the driver picks up where it was */
    g_assert_cmpuint(vssd_unplug(&t, gen, rest, 1), ==, VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, rest, 1);
    vssd_check_map(&t, "01100101");
    vssd_check_query(&t, VSSD_MiB(4), VSSD_MiB(4), "idle");

    /* a reset with the driver gone: ssd-balloon refuses, the map stays */
    qvirtio_reset(t.dev);
    vssd_qmp_error(&t, "{ 'execute': 'ssd-balloon', 'arguments': {"
                   " 'device': 'vssd0', 'size': 0 } }", "not ready");
    vssd_driver_reinit(&t);
    vssd_check_map(&t, "01100101");
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* Every bad argument of ssd-balloon and query-ssd-balloon, QMP and HMP. */
static void test_resize_qmp_errors(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    static const struct {
        const char *args;
        const char *what;
    } bad[] = {
        { "'device': 'nosuch', 'size': 0", "Device 'nosuch' not found" },
        { "'device': '', 'size': 0", "not found" },
        { "'device': '/machine/nosuch', 'size': 0", "not found" },
        { "'device': '/machine', 'size': 0", "not a virtio-vssd device" },
        { "'device': 'vssd0', 'size': 0, 'region': 'pmem'",
          "has no pmem region" },
        { "'device': 'vssd0', 'size': 9437184", "above the maximum" },
        { "'device': 'vssd0', 'size': 9223372036854775807",
          "above the maximum" },
        { "'device': 'vssd0', 'size': 1048577", "not a multiple" },
        { "'device': 'vssd0', 'size': 512", "not a multiple" },
        { "'device': 'vssd0', 'size': -1048576", "must not be negative" },
    };
    static const struct {
        const char *cmd;
        const char *out;
    } hmp[] = {
        { "ssd_balloon nosuch 4M", "Device 'nosuch' not found" },
        { "ssd_balloon vssd0 9M", "above the maximum" },
        { "ssd_balloon vssd0 1025K", "not a multiple" },
        { "ssd_balloon vssd0 4M pmem", "has no pmem region" },
        { "ssd_balloon vssd0 4M disk", "Parameter 'region'" },
        { "ssd_balloon vssd0 4M block nobody", "Parameter 'policy'" },
        { "ssd_balloon vssd0 -4M", "invalid size" },
        { "ssd_balloon vssd0", "invalid size" },
        { "info ssd_balloon nosuch", "Device 'nosuch' not found" },
    };
    VssdTest t = { };
    unsigned i;
    char *out;

    vssd_test_start(&t, obj, data, alloc);

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *cmd =
            g_strdup_printf("{ 'execute': 'ssd-balloon', 'arguments': { %s } }",
                            bad[i].args);
        vssd_qmp_error(&t, cmd, bad[i].what);
    }
    vssd_qmp_error(&t, "{ 'execute': 'query-ssd-balloon', 'arguments': {"
                   " 'device': 'nosuch' } }", "not found");
    vssd_qmp_error(&t, "{ 'execute': 'query-ssd-balloon', 'arguments': {"
                   " 'device': '/machine/unattached' } }",
                   "not a virtio-vssd device");
    for (i = 0; i < G_N_ELEMENTS(hmp); i++) {
        out = qtest_hmp(t.qts, "%s", hmp[i].cmd);
        g_test_message("%s -> %s", hmp[i].cmd, out);
        g_assert_nonnull(strstr(out, hmp[i].out));
        g_free(out);
    }
    vssd_check_query(&t, VSSD_MiB(8), VSSD_MiB(8), "idle");
    g_assert_cmpuint(vssd_config_generation(&t), ==, 0);

    /* a QOM path works as well as the ID, for both devices of the pair */
    vssd_balloon(&t, VSSD_MiB(8), "guest");
    vssd_qmp_ok(&t, "{ 'execute': 'query-ssd-balloon', 'arguments': {"
                " 'device': '/machine/peripheral/vssd0/virtio-backend' } }");

    /* HMP forms that work */
    out = qtest_hmp(t.qts, "ssd_balloon vssd0 7M");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    qvirtio_wait_config_isr(t.dev, VSSD_TIMEOUT_US);
    g_assert_cmpuint(vssd_config_requested(&t), ==, VSSD_MiB(7));
    out = qtest_hmp(t.qts, "ssd_balloon /machine/peripheral/vssd0 6291456b "
                    "block host");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    qvirtio_wait_config_isr(t.dev, VSSD_TIMEOUT_US);
    g_assert_cmpuint(vssd_config_requested(&t), ==, VSSD_MiB(6));
    g_assert_cmpuint(vssd_config_policy(&t), ==, VIRTIO_VSSD_POLICY_HOST);
    out = qtest_hmp(t.qts, "info ssd_balloon");
    g_test_message("info ssd_balloon -> %s", out);
    g_assert_nonnull(strstr(out, "vssd0"));
    g_assert_nonnull(strstr(out, "requested-size 6291456"));
    g_assert_nonnull(strstr(out, "status shrinking"));
    g_free(out);

    /* a driver without VIRTIO_VSSD_F_RESIZE cannot be asked */
    vssd_driver_cleanup(&t);
    qvirtio_start_device(t.dev);
    qvirtio_set_features(t.dev, (1ull << VIRTIO_F_VERSION_1) |
                                (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
    qvirtio_set_driver_ok(t.dev);
    vssd_qmp_error(&t, "{ 'execute': 'ssd-balloon', 'arguments': {"
                   " 'device': 'vssd0', 'size': 0 } }",
                   "does not support resizing");
    vssd_check_qemu_alive(&t);
}

/* --- QEMUs of a test's own ---------------------------------------------- */

/* A QEMU started by a test, with its virtio-vssd-pci at 04.0. */
typedef struct VssdQemu {
    QGuestAllocator alloc;
    QPCIBus *bus;
    QVirtioPCIDevice *pdev;
} VssdQemu;

/* Waits until the VM runs (an incoming migration has been loaded). */
static void vssd_wait_running(QTestState *qts)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-status' }");
        QDict *ret = qdict_get_qdict(resp, "return");
        bool running;

        g_assert_nonnull(ret);
        running = qdict_get_try_bool(ret, "running", false);
        qobject_unref(resp);
        if (running) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time() - start, <=, VSSD_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

/*
 * Starts QEMU with @args (a virtio-vssd-pci at addr=04.0) and sets @t up
 * as the driver of its device, on the files of @img.
 */
static void vssd_qemu_start(VssdTest *t, VssdQemu *q, VssdImage *img,
                            const char *args)
{
    t->qts = qtest_init(args);
    vssd_wait_running(t->qts);
    pc_alloc_init(&q->alloc, t->qts, ALLOC_NO_FLAGS);
    q->bus = qpci_new_pc(t->qts, &q->alloc);
    q->pdev = virtio_pci_new(q->bus, &(QPCIAddress) {
                                 .devfn = QPCI_DEVFN(4, 0) });
    g_assert_nonnull(q->pdev);
    qvirtio_pci_device_enable(q->pdev);
    qvirtio_start_device(&q->pdev->vdev);
    t->dev = &q->pdev->vdev;
    t->pdev = q->pdev->pdev;
    t->alloc = &q->alloc;
    t->img = img;
    vssd_driver_init(t);
}

static void vssd_qemu_stop(VssdTest *t, VssdQemu *q)
{
    vssd_driver_cleanup(t);
    qvirtio_pci_device_disable(q->pdev);
    g_free(q->pdev->pdev);
    g_free(q->pdev);
    qpci_free_pc(q->bus);
    alloc_destroy(&q->alloc);
    qtest_quit(t->qts);
}

/* --- QEMU restart: the plugged map in the state file ---------------------- */

/*
 * Runs QEMU with @machine (e.g. "-M pc -nodefaults") and @args; it must
 * fail at start-up. Returns its stderr.
 */
static char *vssd_run_failing_qemu_as(const char *machine, const char *args)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = g_strdup_printf("timeout 30 %s %s -display none "
                                           "-accel qtest %s", qemu, machine,
                                           args);
    g_auto(GStrv) argv = NULL;
    char *err = NULL;
    int status;

    g_assert_nonnull(qemu);
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, NULL));
    g_test_message("qemu %s -> %s", args, err);
    g_assert_false(g_spawn_check_exit_status(status, NULL));
    return err;
}

/* The same, on a PC without default devices. */
static char *vssd_run_failing_qemu(const char *args)
{
    return vssd_run_failing_qemu_as("-M pc -nodefaults", args);
}

static void test_resize_restart(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(2, 2), R(5, 1), R(7, 1) };
    VssdImage *img = data;
    VssdTest t = { }, t2 = { };
    VssdQemu q2;
    g_autofree char *args = NULL;
    g_autofree char *corrupt = NULL;
    g_autofree gchar *contents = NULL;
    g_autofree char *err = NULL;
    gsize len;
    uint32_t gen;

    vssd_test_start(&t, obj, data, alloc);

    /* the state file exists from the start, all plugged */
    g_assert_true(g_file_get_contents(img->state_path, &contents, &len,
                                      NULL));
    g_assert_cmpuint(len, ==, 24 + 32 + 8);
    g_assert_cmpmem(contents, 8, "VSSDMAP", 8);
    g_assert_cmpuint((uint8_t)contents[24 + 32], ==, 0xff);
    g_clear_pointer(&contents, g_free);

    gen = vssd_balloon(&t, VSSD_MiB(4), "guest");
    g_assert_cmpuint(vssd_unplug(&t, gen, give, 3), ==, VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, give, 3);
    vssd_check_map(&t, "11001010");
    g_assert_true(g_file_get_contents(img->state_path, &contents, &len,
                                      NULL));
    g_assert_cmpuint((uint8_t)contents[24 + 32], ==, 0x53);   /* 11001010 */
    g_assert_cmpuint(ldq_le_p(contents + 24 + 24), ==, 4);     /* plugged */
    vssd_driver_cleanup(&t);

    /* a second QEMU on the same files: the same map */
    args = g_strdup_printf("-M pc -blockdev driver=file,filename=%s,"
                           "node-name=%s,discard=unmap,locking=off "
                           "-device virtio-vssd-pci,id=%s,drive=%s,"
                           "addr=04.0,state-file=%s",
                           img->path, QVIRTIO_VSSD_NODE_NAME,
                           QVIRTIO_VSSD_ID, QVIRTIO_VSSD_NODE_NAME,
                           img->state_path);
    vssd_qemu_start(&t2, &q2, img, args);
    vssd_check_map(&t2, "11001010");
    vssd_check_query(&t2, VSSD_MiB(4), VSSD_MiB(4), "idle");
    vssd_check_image(&t2);
    vssd_qemu_stop(&t2, &q2);

    /* a state file for another geometry or a corrupt one is refused */
    g_free(args);
    args = g_strdup_printf("-blockdev driver=file,filename=%s,"
                           "node-name=d,locking=off "
                           "-device virtio-vssd-pci,drive=d,block-size=2M,"
                           "state-file=%s", img->path, img->state_path);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "'state-file' property"));
    g_assert_nonnull(strstr(err, "another geometry"));
    g_clear_pointer(&err, g_free);

    contents[30] ^= 0x40;
    corrupt = g_strdup_printf("%s.corrupt", img->state_path);
    g_assert_true(g_file_set_contents(corrupt, contents, len, NULL));
    g_free(args);
    args = g_strdup_printf("-blockdev driver=file,filename=%s,"
                           "node-name=d,locking=off "
                           "-device virtio-vssd-pci,drive=d,state-file=%s",
                           img->path, corrupt);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "corrupt"));
    unlink(corrupt);
}

/* --- persistent-memory region: BAR, file, model ------------------------- */

/*
 * The VIRTIO_PCI_CAP_SHARED_MEMORY_CFG capability of shm region @id, as
 * Linux's virtio_get_shm_region() looks for it: its offset in config
 * space, 0 if there is none. Two of them is an error.
 */
static uint8_t vssd_find_shm_cap(VssdTest *t, uint8_t id)
{
    uint8_t pos, found = 0;
    unsigned n = 0;

    g_assert_true(qpci_config_readw(t->pdev, PCI_STATUS) & PCI_STATUS_CAP_LIST);
    for (pos = qpci_config_readb(t->pdev, PCI_CAPABILITY_LIST); pos;
         pos = qpci_config_readb(t->pdev, pos + PCI_CAP_LIST_NEXT)) {
        g_assert_cmpuint(++n, <, 48);   /* no loop in the list */
        g_assert_cmpuint(pos, >=, 0x40);
        if (qpci_config_readb(t->pdev, pos) != PCI_CAP_ID_VNDR ||
            qpci_config_readb(t->pdev, pos + offsetof(struct virtio_pci_cap,
                                                       cfg_type)) !=
            VIRTIO_PCI_CAP_SHARED_MEMORY_CFG ||
            qpci_config_readb(t->pdev, pos + offsetof(struct virtio_pci_cap,
                                                       id)) != id) {
            continue;
        }
        g_assert_cmpuint(found, ==, 0);
        found = pos;
    }
    return found;
}

/*
 * The pmem region is shm region VIRTIO_VSSD_SHM_PMEM: VSSD_PMEM_SIZE bytes
 * at offset 0 of BAR 2, a 64-bit prefetchable memory BAR.
 */
static void vssd_check_shm_cap(VssdTest *t)
{
    const uint8_t pos = vssd_find_shm_cap(t, VIRTIO_VSSD_SHM_PMEM);
    const uint32_t bar = qpci_config_readl(t->pdev, PCI_BASE_ADDRESS_0 +
                                           4 * VSSD_PMEM_BAR);
    uint64_t offset, length;

    g_assert_cmpuint(pos, !=, 0);
    g_assert_cmpuint(qpci_config_readb(t->pdev, pos +
                         offsetof(struct virtio_pci_cap, cap_len)),
                     ==, sizeof(struct virtio_pci_cap64));
    g_assert_cmpuint(qpci_config_readb(t->pdev, pos +
                         offsetof(struct virtio_pci_cap, bar)),
                     ==, VSSD_PMEM_BAR);
    offset = qpci_config_readl(t->pdev, pos +
                               offsetof(struct virtio_pci_cap, offset)) |
             (uint64_t)qpci_config_readl(t->pdev, pos +
                 offsetof(struct virtio_pci_cap64, offset_hi)) << 32;
    length = qpci_config_readl(t->pdev, pos +
                               offsetof(struct virtio_pci_cap, length)) |
             (uint64_t)qpci_config_readl(t->pdev, pos +
                 offsetof(struct virtio_pci_cap64, length_hi)) << 32;
    g_test_message("shm cap at 0x%x: bar %d offset 0x%" PRIx64 " length 0x%"
                   PRIx64, pos, VSSD_PMEM_BAR, offset, length);
    g_assert_cmpuint(offset, ==, 0);
    g_assert_cmpuint(length, ==, VSSD_PMEM_SIZE);

    g_assert_cmphex(bar & PCI_BASE_ADDRESS_SPACE, ==,
                    PCI_BASE_ADDRESS_SPACE_MEMORY);
    g_assert_cmphex(bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK, ==,
                    PCI_BASE_ADDRESS_MEM_TYPE_64);
    g_assert_true(bar & PCI_BASE_ADDRESS_MEM_PREFETCH);
}

/* Maps the pmem BAR (once per QEMU); it holds the whole region. */
static void vssd_pmem_map(VssdTest *t)
{
    uint64_t size;

    t->pmem_bar = qpci_iomap(t->pdev, VSSD_PMEM_BAR, &size);
    g_assert_cmpuint(size, >=, VSSD_PMEM_SIZE);
}

/* Guest stores of @len bytes of @buf at @offset of the region. */
static void vssd_pmem_write(VssdTest *t, uint64_t offset, const void *buf,
                            uint64_t len)
{
    g_assert_cmpuint(offset + len, <=, VSSD_PMEM_SIZE);
    qpci_memwrite(t->pdev, t->pmem_bar, offset, buf, len);
    memcpy(t->img->pmem_model + offset, buf, len);
}

/* [offset, offset + len) of the region, read by the guest, is the model. */
static void vssd_check_pmem_bar(VssdTest *t, uint64_t offset, uint64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    qpci_memread(t->pdev, t->pmem_bar, offset, buf, len);
    g_assert_cmpmem(buf, len, t->img->pmem_model + offset, len);
}

/* The pmem file has its size and exactly the model's content. */
static void vssd_check_pmem_file(VssdTest *t)
{
    g_autofree gchar *contents = NULL;
    gsize len = 0, i;

    g_assert_true(g_file_get_contents(t->img->pmem_path, &contents, &len,
                                      NULL));
    g_assert_cmpuint(len, ==, VSSD_PMEM_SIZE);
    for (i = 0; i < len; i++) {
        if ((uint8_t)contents[i] != t->img->pmem_model[i]) {
            g_test_message("pmem file differs at byte %zu (block %zu): "
                           "0x%02x, expected 0x%02x", (size_t)i,
                           (size_t)(i / VSSD_PMEM_BS), (uint8_t)contents[i],
                           t->img->pmem_model[i]);
            g_assert_not_reached();
        }
    }
}

/* Allocated size of the pmem file on the host, in 512-byte units. */
static uint64_t vssd_pmem_file_blocks(VssdTest *t)
{
    return vssd_allocated_units(t->img->pmem_path);
}

/*
 * Every byte of the pmem blocks in @ranges is a hole in the memdev's file:
 * the host got their storage back (SEEK_DATA finds no data in them).
 */
static void vssd_check_pmem_holes(VssdTest *t,
                                  const struct virtio_vssd_range *ranges,
                                  uint32_t nr)
{
    int fd = open(t->img->pmem_path, O_RDONLY);
    uint32_t i;

    g_assert_cmpint(fd, >=, 0);
    for (i = 0; i < nr; i++) {
        const off_t start = ranges[i].first * VSSD_PMEM_BS;
        const off_t end = start + ranges[i].count * VSSD_PMEM_BS;
        const off_t data = lseek(fd, start, SEEK_DATA);

        if (data < 0) {
            g_assert_cmpint(errno, ==, ENXIO);
        } else {
            g_assert_cmpint(data, >=, end);
        }
    }
    close(fd);
}

/* Given-back pmem blocks read as zeroes: update the model. */
static void vssd_pmem_model_unplugged(VssdTest *t,
                                      const struct virtio_vssd_range *ranges,
                                      uint32_t nr)
{
    uint32_t i;

    for (i = 0; i < nr; i++) {
        memset(t->img->pmem_model + ranges[i].first * VSSD_PMEM_BS, 0,
               ranges[i].count * VSSD_PMEM_BS);
    }
}

/*
 * The pmem map is @expected ('1' plugged, '0' unplugged per block) in
 * GET_MAP and the config space; the guest sees the model in the first and
 * last page of every plugged block, and the file is the model.
 */
static void vssd_check_pmem_map(VssdTest *t, const char *expected)
{
    bool plugged[VSSD_TEST_BLOCKS];
    uint64_t b, n = 0;

    g_assert_cmpuint(strlen(expected), ==, VSSD_PMEM_NR_BLOCKS);
    vssd_get_plugged_in(t, &vssd_pmem_region, plugged);
    for (b = 0; b < VSSD_PMEM_NR_BLOCKS; b++) {
        g_assert_cmpint(plugged[b], ==, expected[b] == '1');
        if (plugged[b]) {
            n++;
            vssd_check_pmem_bar(t, b * VSSD_PMEM_BS, 4096);
            vssd_check_pmem_bar(t, (b + 1) * VSSD_PMEM_BS - 4096, 4096);
        }
    }
    g_assert_cmpuint(vssd_config_q(t, vssd_pmem_region.plugged), ==,
                     n * VSSD_PMEM_BS);
    vssd_check_pmem_file(t);
}

/*
 * PMEM_FLUSH of @length bytes at @offset in region @region. Returns the
 * NACK reason, VIRTIO_VSSD_R_NONE for ACK.
 */
static uint16_t vssd_pmem_flush(VssdTest *t, uint16_t region, uint64_t offset,
                                uint64_t length)
{
    VssdCtrlReply reply;

    g_assert_true(vssd_ctrl(t, VIRTIO_VSSD_CTRL_PMEM_FLUSH, region, 0,
                            offset, length, NULL, 0, &reply, NULL, 0));
    g_assert_false(vssd_device_broken(t));
    g_assert_cmpuint(reply.nr_ranges, ==, 0);
    if (reply.status == VIRTIO_VSSD_RESP_ACK) {
        g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_NONE);
        return VIRTIO_VSSD_R_NONE;
    }
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    return reply.reason;
}

/* Flush counters of query-ssd-balloon: @done, @refused, no errors. */
static void vssd_check_flush_counters(VssdTest *t, uint64_t done,
                                      uint64_t refused)
{
    QDict *info = vssd_query_in(t, &vssd_pmem_region);

    g_assert_cmpuint(qdict_get_int(info, "flushes"), ==, done);
    g_assert_cmpuint(qdict_get_int(info, "flushes-refused"), ==, refused);
    g_assert_cmpuint(qdict_get_int(info, "flush-errors"), ==, 0);
    qobject_unref(info);
}

/* The config space describes a pmem region of VSSD_PMEM_SIZE, all wanted. */
static void vssd_check_pmem_config(VssdTest *t)
{
    g_assert_cmpuint(qvirtio_config_readl(t->dev,
                         offsetof(struct virtio_vssd_config,
                                  pmem_block_size)), ==, VSSD_PMEM_BS);
    g_assert_cmpuint(vssd_config_q(t, offsetof(struct virtio_vssd_config,
                                               pmem_region_size)),
                     ==, VSSD_PMEM_SIZE);
    g_assert_cmpuint(vssd_config_q(t, vssd_pmem_region.plugged), ==,
                     VSSD_PMEM_SIZE);
    g_assert_cmpuint(vssd_config_q(t, vssd_pmem_region.requested), ==,
                     VSSD_PMEM_SIZE);
    g_assert_cmpuint(qvirtio_config_readl(t->dev, vssd_pmem_region.policy),
                     ==, VIRTIO_VSSD_POLICY_GUEST);
}

/* The qom property @name of the test device. */
static uint64_t vssd_qom_size(VssdTest *t, const char *name)
{
    QDict *resp = qtest_qmp(t->qts, "{ 'execute': 'qom-get', 'arguments': {"
                            " 'path': '/machine/peripheral/" QVIRTIO_VSSD_ID
                            "', 'property': %s } }", name);
    uint64_t value;

    g_assert_false(qdict_haskey(resp, "error"));
    value = qdict_get_int(resp, "return");
    qobject_unref(resp);
    return value;
}

/* --- persistent-memory region: tests ------------------------------------- */

/* Bad pmem configurations fail at start-up, naming the property. */
static void test_pmem_realize_errors(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    VssdImage *img = data;
    const struct {
        uint64_t memdev_size;   /* of memdev vssd-pm, 0: no memdev */
        bool share;             /* its share= */
        const char *device;     /* -device options */
        const char *what;       /* in the error message */
    } bad[] = {
        { 0, true, "virtio-vssd-pci",
          "neither 'drive' nor 'memdev' property is set" },
        { VSSD_PMEM_SIZE, true,
          "virtio-vssd-pci,memdev=vssd-pm,pmem-block-size=3M",
          "'pmem-block-size' property (3145728) must be a power of two" },
        { VSSD_PMEM_SIZE, true,
          "virtio-vssd-pci,memdev=vssd-pm,pmem-block-size=2K",
          "'pmem-block-size' property (2048) must be a power of two "
          "between 4096" },
        { VSSD_PMEM_SIZE, true,
          "virtio-vssd-pci,memdev=vssd-pm,pmem-block-size=2G",
          "'pmem-block-size' property (2147483648) must be a power of two" },
        { VSSD_PMEM_SIZE, true,
          "virtio-vssd-pci,memdev=vssd-pm,pmem-block-size=32M",
          "must be a non-zero multiple of 'pmem-block-size' (33554432)" },
        { 15 * MiB, true, "virtio-vssd-pci,memdev=vssd-pm",
          "'memdev' property: the size of memory backend 'vssd-pm' "
          "(15728640 bytes) must be a non-zero multiple of "
          "'pmem-block-size'" },
        { VSSD_PMEM_SIZE, false, "virtio-vssd-pci,memdev=vssd-pm",
          "'memdev' property: memory backend 'vssd-pm' must be shared" },
        { VSSD_PMEM_SIZE, true, "virtio-vssd-pci,memdev=vssd-pm -device "
          "virtio-vssd-pci,memdev=vssd-pm",
          "'memdev' property: memory backend 'vssd-pm' is already in use" },
        { VSSD_PMEM_SIZE, true,
          "virtio-vssd-pci,memdev=vssd-pm,modern-pio-notify=on",
          "'modern-pio-notify' property: BAR 2 holds the persistent-memory "
          "region" },
        { VSSD_PMEM_SIZE, true, "virtio-vssd-pci,memdev=vssd-pm,iothread=io "
          "-object iothread,id=io", "'iothread' property" },
        { VSSD_PMEM_SIZE, true, "virtio-vssd-pci,memdev=nosuch", "nosuch" },
    };
    VssdTest t = { };
    unsigned i;

    vssd_test_start(&t, obj, data, alloc);
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *pm = bad[i].memdev_size ?
            vssd_pmem_object_with(img, bad[i].memdev_size, bad[i].share) :
            g_strdup("");
        g_autofree char *args = g_strdup_printf("%s -device %s", pm,
                                                bad[i].device);
        g_autofree char *err = vssd_run_failing_qemu(args);

        g_assert_nonnull(strstr(err, bad[i].what));
    }
    /* nobody wrote to the file */
    vssd_check_pmem_file(&t);
    vssd_check_qemu_alive(&t);
    vssd_driver_cleanup(&t);
}

/*
 * A device with only a pmem region: features, config, shm capability,
 * guest stores reaching the host file, flush, and a block region that is
 * absent everywhere.
 */
static void test_pmem_only(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdImage *img = data;
    g_autofree char *pm = vssd_pmem_object(img);
    g_autofree char *args = g_strdup_printf("-M pc %s -device virtio-vssd-pci,"
                                            "id=%s,memdev=%s,addr=04.0", pm,
                                            QVIRTIO_VSSD_ID, VSSD_PMEM_ID);
    g_autofree uint8_t *buf = g_malloc(3 * 4096);
    struct virtio_vssd_range ranges[2];
    VssdCtrlReply reply;
    VssdTest t = { };
    VssdQemu q;
    QList *list;
    QDict *info;
    char *out;

    vssd_qemu_start(&t, &q, img, args);
    g_assert_false(t.features & (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
    g_assert_true(t.features & (1ull << VIRTIO_VSSD_F_PMEM_REGION));
    vssd_check_pmem_config(&t);
    g_assert_cmpuint(qvirtio_config_readl(t.dev,
                         offsetof(struct virtio_vssd_config, block_size)),
                     ==, 0);
    g_assert_cmpuint(vssd_config_q(&t, offsetof(struct virtio_vssd_config,
                                                block_region_size)), ==, 0);
    g_assert_cmpuint(vssd_qom_size(&t, "pmem-region-size"), ==,
                     VSSD_PMEM_SIZE);
    g_assert_cmpuint(vssd_qom_size(&t, "pmem-plugged-size"), ==,
                     VSSD_PMEM_SIZE);
    g_assert_cmpuint(vssd_qom_size(&t, "block-region-size"), ==, 0);

    vssd_check_shm_cap(&t);
    vssd_pmem_map(&t);
    /* the host file's content, seen by the guest */
    vssd_check_pmem_map(&t, "11111111");

    /* guest stores across a block boundary and at both ends reach the file */
    vssd_fill(buf, 3 * 4096, 0x5a);
    vssd_pmem_write(&t, VSSD_PMEM_BS - 4096 - 100, buf, 3 * 4096);
    vssd_pmem_write(&t, 0, buf, 7);
    vssd_pmem_write(&t, VSSD_PMEM_SIZE - 9, buf + 100, 9);
    vssd_check_pmem_file(&t);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM,
                                     VSSD_PMEM_BS - 4096 - 100, 3 * 4096),
                     ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM, 0,
                                     VSSD_PMEM_SIZE), ==, VIRTIO_VSSD_R_NONE);
    vssd_check_flush_counters(&t, 2, 0);

    /* the request queue exists and refuses everything */
    g_assert_cmpint(vssd_read(&t, 0, buf, SECTOR), ==, VIRTIO_VSSD_S_UNSUPP);
    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_UNSUPP);
    g_assert_false(vssd_device_broken(&t));

    /* GET_MAP of the absent block region is refused */
    g_assert_true(vssd_ctrl(&t, VIRTIO_VSSD_CTRL_GET_MAP,
                            VIRTIO_VSSD_REGION_BLOCK, 0, 0, 0, NULL, 0,
                            &reply, ranges, G_N_ELEMENTS(ranges)));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);

    /* one region in query-ssd-balloon; no block region to resize */
    list = vssd_query_all(&t);
    g_assert_cmpuint(qlist_size(list), ==, 1);
    qobject_unref(list);
    vssd_check_query_in(&t, &vssd_pmem_region, VSSD_PMEM_SIZE,
                        VSSD_PMEM_SIZE, "idle");
    info = vssd_query_in(&t, &vssd_pmem_region);
    g_assert_cmpstr(qdict_get_str(info, "policy"), ==, "guest");
    qobject_unref(info);
    vssd_qmp_error(&t, "{ 'execute': 'ssd-balloon', 'arguments': {"
                   " 'device': 'vssd0', 'size': 0 } }",
                   "has no block region");
    out = qtest_hmp(t.qts, "info ssd_balloon");
    g_test_message("info ssd_balloon -> %s", out);
    g_assert_nonnull(strstr(out, "region pmem"));
    g_assert_nonnull(strstr(out, "flushes 2 flushes-refused 0"));
    g_assert_null(strstr(out, "region block"));
    g_free(out);

    /* a device reset keeps the memory */
    vssd_driver_reinit(&t);
    vssd_check_pmem_map(&t, "11111111");
    vssd_qemu_stop(&t, &q);
}

/* PMEM_FLUSH: good ranges are acknowledged, bad ones refused and counted. */
/*
 * The VmFlags of QEMU's mapping of the memdev's file, found in the smaps
 * of the process that maps t->img->pmem_path (a name only this test uses).
 */
static gchar *vssd_pmem_vmflags(VssdTest *t)
{
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const gchar *pid;

    g_assert_nonnull(proc);
    while ((pid = g_dir_read_name(proc))) {
        g_autofree gchar *path = NULL, *smaps = NULL;
        gchar *at, *flags, *end;

        if (!g_ascii_isdigit(pid[0])) {
            continue;
        }
        path = g_strdup_printf("/proc/%s/smaps", pid);
        if (!g_file_get_contents(path, &smaps, NULL, NULL)) {
            continue;
        }
        at = strstr(smaps, t->img->pmem_path);
        flags = at ? strstr(at, "VmFlags:") : NULL;
        if (flags) {
            end = strchr(flags, '\n');
            return g_strndup(flags, end ? end - flags : strlen(flags));
        }
    }
    return NULL;
}

/*
 * QEMU maps the memdev for small random accesses: no huge-page advice
 * (which on hosts with large page-cache folios makes a flush write back
 * 2 MiB per dirty byte) and no read-ahead.
 */
static void vssd_check_pmem_advice(VssdTest *t)
{
    g_autofree gchar *flags = vssd_pmem_vmflags(t);

    g_assert_nonnull(flags);
    g_test_message("pmem mapping: %s", flags);
    g_assert_nonnull(strstr(flags, " rr"));
    g_assert_null(strstr(flags, " hg"));
}

static void test_pmem_flush(void *obj, void *data, QGuestAllocator *alloc)
{
    static const struct {
        const char *what;
        uint16_t region;
        uint64_t offset, length;
        uint16_t reason;
    } bad[] = {
        { "zero length", VIRTIO_VSSD_REGION_PMEM, 0, 0,
          VIRTIO_VSSD_R_BAD_REQUEST },
        { "the block region", VIRTIO_VSSD_REGION_BLOCK, 0, 4096,
          VIRTIO_VSSD_R_BAD_REQUEST },
        { "an unknown region", 0x55, 0, 4096, VIRTIO_VSSD_R_BAD_REQUEST },
        { "at the end", VIRTIO_VSSD_REGION_PMEM, VSSD_PMEM_SIZE, 1,
          VIRTIO_VSSD_R_RANGE },
        { "crossing the end", VIRTIO_VSSD_REGION_PMEM, VSSD_PMEM_SIZE - 4096,
          4097, VIRTIO_VSSD_R_RANGE },
        { "longer than the region", VIRTIO_VSSD_REGION_PMEM, 0,
          VSSD_PMEM_SIZE + 1, VIRTIO_VSSD_R_RANGE },
        { "offset + length overflows", VIRTIO_VSSD_REGION_PMEM, 4096,
          UINT64_MAX - 100, VIRTIO_VSSD_R_RANGE },
        { "offset UINT64_MAX", VIRTIO_VSSD_REGION_PMEM, UINT64_MAX, 2,
          VIRTIO_VSSD_R_RANGE },
    };
    const struct virtio_vssd_range extra = { 0, 1 };
    g_autofree uint8_t *buf = g_malloc(8192);
    VssdCtrlReply reply;
    VssdTest t = { };
    uint64_t addr;
    uint32_t head;
    unsigned i, refused = 0;

    vssd_test_start(&t, obj, data, alloc);
    g_assert_true(t.features & (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
    g_assert_true(t.features & (1ull << VIRTIO_VSSD_F_PMEM_REGION));
    vssd_check_pmem_config(&t);
    vssd_check_shm_cap(&t);
    vssd_pmem_map(&t);
    vssd_check_pmem_advice(&t);

    vssd_fill(buf, 8192, 0x3c);
    vssd_pmem_write(&t, 3 * VSSD_PMEM_BS + 17, buf, 8192);
    /* unaligned, one byte, the last byte, everything */
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM,
                                     3 * VSSD_PMEM_BS + 17, 8192),
                     ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM, 5, 1), ==,
                     VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM,
                                     VSSD_PMEM_SIZE - 1, 1),
                     ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM, 0,
                                     VSSD_PMEM_SIZE), ==, VIRTIO_VSSD_R_NONE);
    vssd_check_flush_counters(&t, 4, 0);

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint16_t reason = vssd_pmem_flush(&t, bad[i].region, bad[i].offset,
                                          bad[i].length);

        g_test_message("flush %s: reason %u (expected %u)", bad[i].what,
                       reason, bad[i].reason);
        g_assert_cmpuint(reason, ==, bad[i].reason);
        vssd_check_flush_counters(&t, 4, ++refused);
    }
    /* a range list after the header */
    g_assert_true(vssd_ctrl(&t, VIRTIO_VSSD_CTRL_PMEM_FLUSH,
                            VIRTIO_VSSD_REGION_PMEM, 0, 0, 4096, &extra, 1,
                            &reply, NULL, 0));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);
    vssd_check_flush_counters(&t, 4, ++refused);
    /* flushes are no resize replies */
    g_assert_cmpuint(vssd_query_counter_in(&t, &vssd_pmem_region,
                                           "replies-refused"), ==, 0);
    vssd_check_qemu_alive(&t);
    g_assert_false(vssd_device_broken(&t));

    /*
     * A reset with a flush in the worker thread: the device waits for it
     * before the rings go; afterwards the device serves flushes again.
     */
    addr = guest_alloc(t.alloc, sizeof(struct virtio_vssd_ctrl_req) +
                       sizeof(struct virtio_vssd_ctrl_resp));
    qtest_memwrite(t.qts, addr, &(struct virtio_vssd_ctrl_req) {
                       .type = cpu_to_le16(VIRTIO_VSSD_CTRL_PMEM_FLUSH),
                       .region = cpu_to_le16(VIRTIO_VSSD_REGION_PMEM),
                       .arg1 = cpu_to_le64(VSSD_PMEM_SIZE),
                   }, sizeof(struct virtio_vssd_ctrl_req));
    vssd_vq_make_room(t.ctrlq, 2);
    head = qvirtqueue_add(t.qts, t.ctrlq, addr,
                          sizeof(struct virtio_vssd_ctrl_req), false, true);
    qvirtqueue_add(t.qts, t.ctrlq, addr + sizeof(struct virtio_vssd_ctrl_req),
                   sizeof(struct virtio_vssd_ctrl_resp), true, false);
    qvirtqueue_kick(t.qts, t.dev, t.ctrlq, head);
    vssd_driver_reinit(&t);
    guest_free(t.alloc, addr);
    vssd_check_qemu_alive(&t);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM, 0, 4096),
                     ==, VIRTIO_VSSD_R_NONE);

    vssd_check_pmem_file(&t);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* One refused pmem resize reply: @reason, counted for pmem, nothing changed. */
static void vssd_check_pmem_refused(VssdTest *t, const char *what,
                                    uint16_t got, uint16_t reason,
                                    const char *counter, const char *map)
{
    g_test_message("pmem %s: reason %u (expected %u)", what, got, reason);
    g_assert_cmpuint(got, ==, reason);
    t->nr_refused++;
    g_assert_cmpuint(vssd_query_counter_in(t, &vssd_pmem_region,
                                           "replies-refused"),
                     ==, t->nr_refused);
    g_assert_cmpuint(vssd_query_refused_in(t, &vssd_pmem_region, counter),
                     >=, 1);
    /* not the block region's */
    g_assert_cmpuint(vssd_query_counter(t, "replies-refused"), ==, 0);
    vssd_check_pmem_map(t, map);
}

/*
 * Resizing the pmem region: ssd-balloon region pmem, config interrupt,
 * UNPLUG/PLUG/UNPLUG_HOST with region PMEM; given-back blocks leave the
 * host file (its allocation drops) and come back as zeroes.
 */
static void test_pmem_resize(void *obj, void *data, QGuestAllocator *alloc)
{
    const VssdRegion *pr = &vssd_pmem_region;
    const struct virtio_vssd_range give[] = { R(5, 1), R(1, 1) };
    struct virtio_vssd_range out[VSSD_TEST_BLOCKS];
    g_autofree uint8_t *buf = g_malloc(VSSD_PMEM_BS);
    char map[VSSD_TEST_BLOCKS + 1] = "11111111";
    VssdTest t = { };
    uint64_t before, after, b;
    uint32_t gen, nr;
    QList *list;

    vssd_test_start(&t, obj, data, alloc);
    vssd_pmem_map(&t);
    list = vssd_query_all(&t);
    g_assert_cmpuint(qlist_size(list), ==, 2);
    qobject_unref(list);
    vssd_check_query_in(&t, pr, VSSD_PMEM_SIZE, VSSD_PMEM_SIZE, "idle");
    vssd_check_query(&t, VSSD_MiB(8), VSSD_MiB(8), "idle");

    /* 16 MiB -> 12 MiB: the guest gives back blocks 1 and 5 */
    gen = vssd_balloon_in(&t, pr, 12 * MiB, "guest");
    vssd_check_query_in(&t, pr, VSSD_PMEM_SIZE, 12 * MiB, "shrinking");
    /* the block region is not asked for anything */
    vssd_check_query(&t, VSSD_MiB(8), VSSD_MiB(8), "idle");
    before = vssd_pmem_file_blocks(&t);
    g_assert_cmpuint(vssd_plug_list(&t, pr, false, gen, give, 2), ==,
                     VIRTIO_VSSD_R_NONE);
    after = vssd_pmem_file_blocks(&t);
    g_test_message("pmem file allocation: %" PRIu64 " -> %" PRIu64
                   " (512-byte units)", before, after);
    g_assert_cmpuint(after + 2 * VSSD_PMEM_BS / 512, <=, before);
    vssd_check_pmem_holes(&t, give, 2);
    vssd_pmem_model_unplugged(&t, give, 2);
    vssd_check_pmem_map(&t, "10111011");
    vssd_check_query_in(&t, pr, 12 * MiB, 12 * MiB, "idle");
    g_assert_cmpuint(vssd_query_counter_in(&t, pr, "blocks-evicted"), ==, 2);
    g_assert_cmpuint(vssd_query_counter(&t, "blocks-evicted"), ==, 0);
    vssd_check_event_in(&t, pr, 12 * MiB, 12 * MiB);
    g_assert_cmpuint(vssd_qom_size(&t, "pmem-plugged-size"), ==, 12 * MiB);

    /* a flush touching an unplugged block is refused */
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM,
                                     VSSD_PMEM_BS - 1, 2),
                     ==, VIRTIO_VSSD_R_NOT_PLUGGED);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM,
                                     2 * VSSD_PMEM_BS, 3 * VSSD_PMEM_BS),
                     ==, VIRTIO_VSSD_R_NONE);

    /* a misbehaving guest writes to an unplugged block... */
    vssd_fill(buf, VSSD_PMEM_BS, 0x99);
    qpci_memwrite(t.pdev, t.pmem_bar, 1 * VSSD_PMEM_BS, buf, VSSD_PMEM_BS);
    /* ...and gets it back as zeroes all the same */
    gen = vssd_balloon_in(&t, pr, VSSD_PMEM_SIZE, "guest");
    vssd_check_query_in(&t, pr, 12 * MiB, VSSD_PMEM_SIZE, "growing");
    g_assert_cmpuint(vssd_plug_list(&t, pr, true, gen, give, 2), ==,
                     VIRTIO_VSSD_R_NONE);
    vssd_check_pmem_map(&t, "11111111");
    vssd_check_pmem_bar(&t, 1 * VSSD_PMEM_BS, VSSD_PMEM_BS);
    vssd_check_pmem_bar(&t, 5 * VSSD_PMEM_BS, VSSD_PMEM_BS);
    g_assert_cmpuint(vssd_query_counter_in(&t, pr, "blocks-granted"), ==, 2);
    /* and they are usable again (and allocated again on the host) */
    vssd_fill(buf, VSSD_PMEM_BS, 0x77);
    vssd_pmem_write(&t, 1 * VSSD_PMEM_BS, buf, VSSD_PMEM_BS);
    vssd_pmem_write(&t, 5 * VSSD_PMEM_BS, buf, VSSD_PMEM_BS);
    vssd_check_pmem_map(&t, "11111111");
    g_assert_cmpuint(vssd_pmem_file_blocks(&t), >=, VSSD_PMEM_SIZE / 512);

    /* malformed replies: refused, counted for pmem, nothing changed */
    gen = vssd_balloon_in(&t, pr, 10 * MiB, "guest");
    vssd_check_pmem_refused(&t, "block out of range",
                            vssd_plug_list(&t, pr, false, gen,
                                (struct virtio_vssd_range[]) { R(8, 1) }, 1),
                            VIRTIO_VSSD_R_RANGE, "range", "11111111");
    vssd_check_pmem_refused(&t, "a block listed twice",
                            vssd_plug_list(&t, pr, false, gen,
                                (struct virtio_vssd_range[]) {
                                    R(2, 2), R(3, 1) }, 2),
                            VIRTIO_VSSD_R_DUPLICATE, "duplicate", "11111111");
    vssd_check_pmem_refused(&t, "more blocks than asked",
                            vssd_plug_list(&t, pr, false, gen,
                                (struct virtio_vssd_range[]) { R(0, 4) }, 1),
                            VIRTIO_VSSD_R_TOO_MANY, "too-many", "11111111");
    vssd_check_pmem_refused(&t, "old generation",
                            vssd_plug_list(&t, pr, false, gen - 1, give, 2),
                            VIRTIO_VSSD_R_STALE, "stale", "11111111");
    vssd_check_pmem_refused(&t, "PLUG while shrinking",
                            vssd_plug_list(&t, pr, true, gen, give, 2),
                            VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                            "11111111");
    vssd_check_pmem_refused(&t, "UNPLUG_HOST under policy guest",
                            vssd_unplug_host_in(&t, pr, gen, 1, out,
                                                VSSD_TEST_BLOCKS, &nr),
                            VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                            "11111111");

    /* policy host: the device picks 3 blocks and says which */
    gen = vssd_balloon_in(&t, pr, 10 * MiB, "host");
    vssd_check_pmem_refused(&t, "UNPLUG under policy host",
                            vssd_plug_list(&t, pr, false, gen, give, 2),
                            VIRTIO_VSSD_R_NOT_REQUESTED, "not-requested",
                            "11111111");
    before = vssd_pmem_file_blocks(&t);
    g_assert_cmpuint(vssd_unplug_host_in(&t, pr, gen, 3, out,
                                         VSSD_TEST_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(nr, >=, 1);
    for (b = 0; b < nr; b++) {
        uint64_t i;

        g_test_message("host picked pmem blocks %" PRIu64 "+%" PRIu64,
                       (uint64_t)out[b].first, (uint64_t)out[b].count);
        for (i = out[b].first; i < out[b].first + out[b].count; i++) {
            g_assert_cmpuint(i, <, VSSD_TEST_BLOCKS);
            g_assert_cmpint(map[i], ==, '1');
            map[i] = '0';
        }
    }
    after = vssd_pmem_file_blocks(&t);
    g_test_message("pmem file allocation: %" PRIu64 " -> %" PRIu64
                   " (512-byte units)", before, after);
    g_assert_cmpuint(after + 3 * VSSD_PMEM_BS / 512, <=, before);
    vssd_check_pmem_holes(&t, out, nr);
    vssd_pmem_model_unplugged(&t, out, nr);
    vssd_check_pmem_map(&t, map);
    vssd_check_query_in(&t, pr, 10 * MiB, 10 * MiB, "idle");
    g_assert_cmpint(map[0], ==, '1');

    /*
     * down to nothing: the device takes every block but the first, which
     * holds VIRTIO_VSSD_PMEM_RESERVED_BYTES, and then has nothing to give
     */
    gen = vssd_balloon_in(&t, pr, 0, "host");
    g_assert_cmpuint(vssd_unplug_host_in(&t, pr, gen, 5, out,
                                         VSSD_TEST_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    vssd_pmem_model_unplugged(&t, out, nr);
    vssd_check_pmem_map(&t, "10000000");
    g_assert_cmpuint(vssd_unplug_host_in(&t, pr, gen, 1, out,
                                         VSSD_TEST_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(nr, ==, 0);
    vssd_check_pmem_map(&t, "10000000");
    vssd_check_query_in(&t, pr, VSSD_PMEM_BS, 0, "shrinking");

    /* the block region saw none of it */
    vssd_check_map_full(&t);
    vssd_check_image(&t);
    vssd_driver_cleanup(&t);
}

/* The pmem map is kept in the state file next to the block map. */
static void test_pmem_restart(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(3, 1), R(6, 2) };
    VssdImage *img = data;
    g_autofree char *pm = vssd_pmem_object(img);
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree gchar *contents = NULL;
    VssdTest t = { }, t2 = { };
    VssdQemu q2;
    gsize len;
    uint32_t gen;

    vssd_test_start(&t, obj, data, alloc);
    vssd_pmem_map(&t);
    gen = vssd_balloon_in(&t, &vssd_pmem_region, 10 * MiB, "guest");
    g_assert_cmpuint(vssd_plug_list(&t, &vssd_pmem_region, false, gen, give,
                                    2), ==, VIRTIO_VSSD_R_NONE);
    vssd_pmem_model_unplugged(&t, give, 2);
    vssd_check_pmem_map(&t, "11101100");

    /* two records: block (8 blocks), pmem (8 blocks, 0x37 = 11101100) */
    g_assert_true(g_file_get_contents(img->state_path, &contents, &len,
                                      NULL));
    g_assert_cmpuint(len, ==, 24 + 2 * (32 + 8));
    g_assert_cmpuint(ldl_le_p(contents + 12), ==, 2);
    g_assert_cmpuint(lduw_le_p(contents + 24 + 40), ==,
                     VIRTIO_VSSD_REGION_PMEM);
    g_assert_cmpuint(ldq_le_p(contents + 24 + 40 + 8), ==, VSSD_PMEM_BS);
    g_assert_cmpuint(ldq_le_p(contents + 24 + 40 + 24), ==, 5);
    g_assert_cmpuint((uint8_t)contents[24 + 40 + 32], ==, 0x37);
    vssd_driver_cleanup(&t);

    /* a second QEMU on the same files: the same maps */
    args = g_strdup_printf("-M pc -blockdev driver=file,filename=%s,"
                           "node-name=%s,discard=unmap,locking=off %s "
                           "-device virtio-vssd-pci,id=%s,drive=%s,"
                           "memdev=%s,addr=04.0,state-file=%s",
                           img->path, QVIRTIO_VSSD_NODE_NAME, pm,
                           QVIRTIO_VSSD_ID, QVIRTIO_VSSD_NODE_NAME,
                           VSSD_PMEM_ID, img->state_path);
    vssd_qemu_start(&t2, &q2, img, args);
    vssd_pmem_map(&t2);
    vssd_check_pmem_map(&t2, "11101100");
    vssd_check_query_in(&t2, &vssd_pmem_region, 10 * MiB, 10 * MiB, "idle");
    vssd_check_map_full(&t2);
    vssd_qemu_stop(&t2, &q2);

    /* another pmem geometry does not fit the state file */
    g_free(args);
    args = g_strdup_printf("-blockdev driver=file,filename=%s,node-name=d,"
                           "locking=off %s -device virtio-vssd-pci,drive=d,"
                           "memdev=%s,pmem-block-size=4M,state-file=%s",
                           img->path, pm, VSSD_PMEM_ID, img->state_path);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "'state-file' property"));
    g_assert_nonnull(strstr(err, "another geometry"));
}

/* query-ssd-balloon of @qts has @n entries. */
static void vssd_check_nr_regions(QTestState *qts, size_t n)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-ssd-balloon' }");

    g_assert_false(qdict_haskey(resp, "error"));
    g_assert_cmpuint(qlist_size(qdict_get_qlist(resp, "return")), ==, n);
    qobject_unref(resp);
}

/*
 * Hot plug and unplug: the memdev is in use while the device exists and
 * free again (for a new device, or object-del) once it is gone.
 */
static void test_pmem_hotplug(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdImage *img = data;
    g_autofree char *pm = vssd_pmem_object(img);
    g_autofree char *args = g_strdup_printf("-M pc %s", pm);
    QTestState *qts = qtest_init(args);
    QDict *resp;
    int i;

    for (i = 0; i < 2; i++) {
        qtest_qmp_device_add(qts, "virtio-vssd-pci", "vssd1",
                             "{ 'memdev': %s, 'addr': '06.0' }",
                             VSSD_PMEM_ID);
        vssd_check_nr_regions(qts, 1);
        resp = qtest_qmp(qts, "{ 'execute': 'object-del', 'arguments': {"
                         " 'id': %s } }", VSSD_PMEM_ID);
        g_assert_true(qdict_haskey(resp, "error"));
        g_test_message("object-del while plugged -> %s",
                       qdict_get_str(qdict_get_qdict(resp, "error"), "desc"));
        qobject_unref(resp);
        qpci_unplug_acpi_device_test(qts, "vssd1", 6);
        vssd_check_nr_regions(qts, 0);
    }
    resp = qtest_qmp(qts, "{ 'execute': 'object-del', 'arguments': {"
                     " 'id': %s } }", VSSD_PMEM_ID);
    g_assert_false(qdict_haskey(resp, "error"));
    qobject_unref(resp);
    qtest_quit(qts);
}

/* Runs @cmd (QMP) on @qts, which must succeed. */
static void vssd_qmp_ok_on(QTestState *qts, const char *cmd)
{
    QDict *resp;

    qtest_qmp_send_raw(qts, "%s", cmd);
    resp = qtest_qmp_receive(qts);
    g_assert_nonnull(resp);
    g_assert_false(qdict_haskey(resp, "error"));
    qobject_unref(resp);
}

/* Waits until the outgoing migration of @qts has completed. */
static void vssd_wait_migrated(QTestState *qts)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-migrate' }");
        QDict *ret = qdict_get_qdict(resp, "return");
        const char *status = qdict_get_try_str(ret, "status");

        g_assert_nonnull(status);
        g_assert_cmpstr(status, !=, "failed");
        if (!strcmp(status, "completed")) {
            qobject_unref(resp);
            return;
        }
        qobject_unref(resp);
        g_assert_cmpint(g_get_monotonic_time() - start, <=, VSSD_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

/*
 * Migration: the destination gets the pmem map, target and contents; one
 * with another pmem geometry refuses the stream.
 */
static void test_pmem_migrate(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(6, 1) };
    VssdImage *img = data;
    g_autofree char *pm = vssd_pmem_object(img);
    g_autofree char *stream = g_strdup_printf("%s.migration", img->path);
    g_autofree char *cmd = NULL;
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree uint8_t *buf = g_malloc(8192);
    VssdTest t = { }, t2 = { };
    VssdQemu q2;
    uint32_t gen;

    vssd_test_start(&t, obj, data, alloc);
    vssd_pmem_map(&t);
    vssd_fill(buf, 8192, 0x42);
    vssd_pmem_write(&t, 2 * VSSD_PMEM_BS - 4096, buf, 8192);
    gen = vssd_balloon_in(&t, &vssd_pmem_region, 14 * MiB, "guest");
    g_assert_cmpuint(vssd_plug_list(&t, &vssd_pmem_region, false, gen, give,
                                    1), ==, VIRTIO_VSSD_R_NONE);
    vssd_pmem_model_unplugged(&t, give, 1);
    /* a target in progress travels too */
    gen = vssd_balloon_in(&t, &vssd_pmem_region, 12 * MiB, "host");
    vssd_check_pmem_map(&t, "11111101");

    cmd = g_strdup_printf("{ 'execute': 'migrate', 'arguments': {"
                          " 'uri': 'exec:cat > %s' } }", stream);
    vssd_qmp_ok_on(t.qts, cmd);
    vssd_wait_migrated(t.qts);

    args = g_strdup_printf("-M pc -blockdev driver=file,filename=%s,"
                           "node-name=%s,discard=unmap,locking=off %s "
                           "-device virtio-vssd-pci,id=%s,drive=%s,"
                           "memdev=%s,addr=04.0 -incoming 'exec:cat %s'",
                           img->path, QVIRTIO_VSSD_NODE_NAME, pm,
                           QVIRTIO_VSSD_ID, QVIRTIO_VSSD_NODE_NAME,
                           VSSD_PMEM_ID, stream);
    vssd_qemu_start(&t2, &q2, img, args);
    g_assert_cmpuint(vssd_config_generation(&t2), ==, gen);
    vssd_check_query_in(&t2, &vssd_pmem_region, 14 * MiB, 12 * MiB,
                        "shrinking");
    g_assert_cmpuint(qvirtio_config_readl(t2.dev, vssd_pmem_region.policy),
                     ==, VIRTIO_VSSD_POLICY_HOST);
    vssd_pmem_map(&t2);
    vssd_check_pmem_map(&t2, "11111101");
    vssd_check_pmem_bar(&t2, 2 * VSSD_PMEM_BS - 4096, 8192);
    vssd_check_map_full(&t2);
    vssd_qemu_stop(&t2, &q2);
    vssd_driver_cleanup(&t);

    /* a destination with other pmem blocks refuses the stream */
    g_free(args);
    args = g_strdup_printf("-blockdev driver=file,filename=%s,node-name=%s,"
                           "locking=off %s -device virtio-vssd-pci,id=%s,"
                           "drive=%s,memdev=%s,addr=04.0,pmem-block-size=4M "
                           "-incoming 'exec:cat %s'", img->path,
                           QVIRTIO_VSSD_NODE_NAME, pm, QVIRTIO_VSSD_ID,
                           QVIRTIO_VSSD_NODE_NAME, VSSD_PMEM_ID, stream);
    /* the machine of the source: its default devices are in the stream */
    err = vssd_run_failing_qemu_as("-M pc", args);
    g_assert_nonnull(strstr(err, "property 'pmem-block-size' differs: "
                            "2097152 on the source, 4194304 here"));
    unlink(stream);
}

/* --- registration --------------------------------------------------------- */

/* A fresh image and the -blockdev for it, plus @extra options. */
static void *vssd_test_setup_with(GString *cmd_line, const char *extra)
{
    VssdImage *img = vssd_image_create();

    g_string_append_printf(cmd_line,
                           " -blockdev driver=file,filename=%s,"
                           "node-name=%s,discard=unmap %s ",
                           img->path, QVIRTIO_VSSD_NODE_NAME, extra);
    return img;
}

static void *vssd_test_setup(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line, "");
}

/* With a state file (not created yet: the device creates it). */
static void *vssd_test_setup_state(GString *cmd_line, void *arg)
{
    VssdImage *img;
    g_autofree char *path = NULL;
    g_autofree char *extra = NULL;
    int fd = g_file_open_tmp("vssd-qtest-state.XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    unlink(path);
    extra = g_strdup_printf("-global virtio-vssd.state-file=%s", path);
    img = vssd_test_setup_with(cmd_line, extra);
    img->state_path = g_steal_pointer(&path);
    return img;
}

/* With the pmem file, not given to the device (tests start their own). */
static void *vssd_test_setup_pmem_file(GString *cmd_line, void *arg)
{
    VssdImage *img = vssd_test_setup_with(cmd_line, "");

    vssd_image_add_pmem(img);
    return img;
}

/* With a pmem region: memdev VSSD_PMEM_ID on a fresh pmem file. */
static void *vssd_test_setup_pmem(GString *cmd_line, void *arg)
{
    VssdImage *img = vssd_test_setup_pmem_file(cmd_line, arg);
    g_autofree char *pm = vssd_pmem_object(img);

    g_string_append_printf(cmd_line, " %s -global virtio-vssd.memdev=%s ",
                           pm, VSSD_PMEM_ID);
    return img;
}

/* With a pmem region and a state file. */
static void *vssd_test_setup_pmem_state(GString *cmd_line, void *arg)
{
    VssdImage *img = vssd_test_setup_state(cmd_line, arg);
    g_autofree char *pm = NULL;

    vssd_image_add_pmem(img);
    pm = vssd_pmem_object(img);
    g_string_append_printf(cmd_line, " %s -global virtio-vssd.memdev=%s ",
                           pm, VSSD_PMEM_ID);
    return img;
}

static void *vssd_test_setup_mq(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line,
                                "-global virtio-vssd.num-queues=2");
}

static void *vssd_test_setup_iothread(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line,
                                "-object iothread,id=vssd-io "
                                "-global virtio-vssd.iothread=vssd-io");
}

static void register_virtio_vssd_test(void)
{
    QOSGraphTestOptions opts = {
        .before = vssd_test_setup,
    };
    QOSGraphTestOptions mq_opts = {
        .before = vssd_test_setup_mq,
    };
    QOSGraphTestOptions iothread_opts = {
        .before = vssd_test_setup_iothread,
    };
    QOSGraphTestOptions state_opts = {
        .before = vssd_test_setup_state,
    };
    QOSGraphTestOptions pmem_file_opts = {
        .before = vssd_test_setup_pmem_file,
    };
    QOSGraphTestOptions pmem_opts = {
        .before = vssd_test_setup_pmem,
    };
    QOSGraphTestOptions pmem_state_opts = {
        .before = vssd_test_setup_pmem_state,
    };

    qos_add_test("probe", "virtio-vssd", test_probe, &opts);
    qos_add_test("read-write", "virtio-vssd", test_read_write, &opts);
    qos_add_test("read-write-iothread", "virtio-vssd", test_read_write,
                 &iothread_opts);
    qos_add_test("multiqueue", "virtio-vssd", test_multiqueue, &mq_opts);
    qos_add_test("discard", "virtio-vssd", test_discard, &opts);
    qos_add_test("write-zeroes", "virtio-vssd", test_write_zeroes, &opts);
    qos_add_test("get-id", "virtio-vssd", test_get_id, &opts);
    qos_add_test("get-map", "virtio-vssd", test_get_map, &opts);
    qos_add_test("bad-range", "virtio-vssd", test_bad_range, &opts);
    qos_add_test("bad-overflow", "virtio-vssd", test_bad_overflow, &opts);
    qos_add_test("bad-no-status", "virtio-vssd", test_bad_no_status, &opts);
    qos_add_test("bad-short-header", "virtio-vssd", test_bad_short_header,
                 &opts);
    qos_add_test("bad-writable-header", "virtio-vssd",
                 test_bad_writable_header, &opts);
    qos_add_test("bad-readable-status", "virtio-vssd",
                 test_bad_readable_status, &opts);
    qos_add_test("bad-direction", "virtio-vssd", test_bad_direction, &opts);
    qos_add_test("bad-zero-length", "virtio-vssd", test_bad_zero_length,
                 &opts);
    qos_add_test("bad-length", "virtio-vssd", test_bad_length, &opts);
    qos_add_test("bad-looped-chain", "virtio-vssd", test_bad_looped_chain,
                 &opts);
    qos_add_test("bad-huge-chain", "virtio-vssd", test_bad_huge_chain,
                 &opts);
    qos_add_test("bad-type", "virtio-vssd", test_bad_type, &opts);
    qos_add_test("bad-ctrl-request", "virtio-vssd", test_bad_ctrl_request,
                 &opts);
    qos_add_test("bad-ctrl-short", "virtio-vssd", test_bad_ctrl_short,
                 &opts);
    qos_add_test("resize-guest", "virtio-vssd", test_resize_guest, &opts);
    qos_add_test("resize-guest-iothread", "virtio-vssd", test_resize_guest,
                 &iothread_opts);
    qos_add_test("resize-host", "virtio-vssd", test_resize_host, &opts);
    qos_add_test("resize-host-uniform", "virtio-vssd",
                 test_resize_host_uniform, &opts);
    qos_add_test("resize-bad-replies", "virtio-vssd", test_resize_bad_replies,
                 &opts);
    qos_add_test("resize-supersede", "virtio-vssd", test_resize_supersede,
                 &opts);
    qos_add_test("resize-reset", "virtio-vssd", test_resize_reset, &opts);
    qos_add_test("resize-qmp-errors", "virtio-vssd", test_resize_qmp_errors,
                 &opts);
    qos_add_test("resize-restart", "virtio-vssd", test_resize_restart,
                 &state_opts);
    qos_add_test("pmem-realize-errors", "virtio-vssd",
                 test_pmem_realize_errors, &pmem_file_opts);
    qos_add_test("pmem-only", "virtio-vssd", test_pmem_only, &pmem_file_opts);
    qos_add_test("pmem-flush", "virtio-vssd", test_pmem_flush, &pmem_opts);
    qos_add_test("pmem-resize", "virtio-vssd", test_pmem_resize, &pmem_opts);
    qos_add_test("pmem-restart", "virtio-vssd", test_pmem_restart,
                 &pmem_state_opts);
    qos_add_test("pmem-migrate", "virtio-vssd", test_pmem_migrate,
                 &pmem_opts);
    qos_add_test("pmem-hotplug", "virtio-vssd", test_pmem_hotplug,
                 &pmem_file_opts);
}

libqos_init(register_virtio_vssd_test);
