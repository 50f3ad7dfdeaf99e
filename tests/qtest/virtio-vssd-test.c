/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcases for the virtio-vssd device (block region).
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
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "qapi/qmp/qdict.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-vssd.h"

#define VSSD_IMAGE_SIZE     (8 * MiB)
#define VSSD_BLOCK_SIZE     (1 * MiB)   /* the device's default block-size */
#define VSSD_NR_BLOCKS      (VSSD_IMAGE_SIZE / VSSD_BLOCK_SIZE)
#define SECTOR              VIRTIO_VSSD_SECTOR_SIZE
#define NR_SECTORS          (VSSD_IMAGE_SIZE / SECTOR)
#define SECTORS_PER_BLOCK   (VSSD_BLOCK_SIZE / SECTOR)
#define VSSD_TIMEOUT_US     (30 * 1000 * 1000)

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
    uint8_t *model;     /* expected content, VSSD_IMAGE_SIZE bytes */
} VssdImage;

/* One test's view of the device. */
typedef struct VssdTest {
    QVirtioVssd *vssd;      /* the libqos node */
    QVirtioDevice *dev;     /* its virtio device */
    QTestState *qts;        /* the QEMU under test */
    QGuestAllocator *alloc; /* guest memory for rings and requests */
    VssdImage *img;         /* the backing image and its model */
    bool want_mq;           /* accept VIRTIO_VSSD_F_MQ if offered */
    uint64_t features;      /* features accepted by the test driver */
    /* request queues: 1, or config num_queues with VIRTIO_VSSD_F_MQ */
    uint16_t nr_req_queues;
    QVirtQueue *req_vqs[VSSD_MAX_REQ_QUEUES];
    QVirtQueue *vq;         /* the request queue block helpers use */
    QVirtQueue *ctrlq;      /* control queue, index nr_req_queues */
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
    g_free(img->model);
    g_free(img);
    qos_invalidate_command_line();
}

/* Creates a fully allocated image holding vssd_pattern(). */
static VssdImage *vssd_image_create(void)
{
    VssdImage *img = g_new0(VssdImage, 1);
    uint64_t i;
    int fd;

    fd = g_file_open_tmp("vssd-qtest.XXXXXX", &img->path, NULL);
    g_assert_cmpint(fd, >=, 0);

    img->model = g_malloc(VSSD_IMAGE_SIZE);
    for (i = 0; i < VSSD_IMAGE_SIZE; i++) {
        img->model[i] = vssd_pattern(i);
    }
    for (i = 0; i < VSSD_IMAGE_SIZE; ) {
        ssize_t n = write(fd, img->model + i, VSSD_IMAGE_SIZE - i);

        g_assert_cmpint(n, >, 0);
        i += n;
    }
    g_assert_cmpint(fsync(fd), ==, 0);
    close(fd);

    g_test_queue_destroy(vssd_image_destroy, img);
    return img;
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

/* Allocated size of the image on the host, in 512-byte units. */
static uint64_t vssd_image_blocks(VssdTest *t)
{
    struct stat st;

    g_assert_cmpint(stat(t->img->path, &st), ==, 0);
    return st.st_blocks;
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
                      (1ull << VIRTIO_RING_F_INDIRECT_DESC);
    uint16_t i;

    g_assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
    g_assert_true(offered & (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
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

/* --- malformed requests ---------------------------------------------------- */

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

/* --- tests ------------------------------------------------------------------ */

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

/* --- registration ------------------------------------------------------------ */

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
}

libqos_init(register_virtio_vssd_test);
