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
#include "qapi/qmp/qlist.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-vssd.h"
#include "libqos/malloc-pc.h"
#include "libqos/pci-pc.h"

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
    char *state_path;   /* the device's state-file, or NULL */
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
                      (1ull << VIRTIO_VSSD_F_RESIZE) |
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
 * ssd-balloon for the block region; the device raises a config interrupt
 * and bumps the generation. Returns the new generation.
 */
static uint32_t vssd_balloon(VssdTest *t, uint64_t size, const char *policy)
{
    const uint32_t old = vssd_config_generation(t);
    g_autofree char *cmd =
        g_strdup_printf("{ 'execute': 'ssd-balloon', 'arguments': {"
                        " 'device': '%s', 'size': %" PRIu64 ","
                        " 'policy': '%s' } }",
                        QVIRTIO_VSSD_ID, size, policy);
    uint32_t gen;

    vssd_qmp_ok(t, cmd);
    qvirtio_wait_config_isr(t->dev, VSSD_TIMEOUT_US);
    gen = vssd_config_generation(t);
    g_assert_cmpuint(gen, ==, old + 1);
    g_assert_cmpuint(vssd_config_requested(t), ==, size);
    g_assert_cmpuint(vssd_config_policy(t), ==,
                     strcmp(policy, "host") ? VIRTIO_VSSD_POLICY_GUEST
                                            : VIRTIO_VSSD_POLICY_HOST);
    return gen;
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

/* UNPLUG of @ranges; returns the reason (VIRTIO_VSSD_R_NONE for ACK). */
static uint16_t vssd_unplug(VssdTest *t, uint32_t generation,
                            const struct virtio_vssd_range *ranges,
                            uint32_t nr)
{
    uint16_t reason;
    uint16_t status = vssd_resize_request(t, VIRTIO_VSSD_CTRL_UNPLUG,
                                          VIRTIO_VSSD_REGION_BLOCK,
                                          generation, ranges, nr, nr,
                                          &reason);

    g_assert_cmpuint(status, ==, reason ? VIRTIO_VSSD_RESP_NACK
                                        : VIRTIO_VSSD_RESP_ACK);
    return reason;
}

/* PLUG of @ranges; returns the reason (VIRTIO_VSSD_R_NONE for ACK). */
static uint16_t vssd_plug(VssdTest *t, uint32_t generation,
                          const struct virtio_vssd_range *ranges, uint32_t nr)
{
    uint16_t reason;
    uint16_t status = vssd_resize_request(t, VIRTIO_VSSD_CTRL_PLUG,
                                          VIRTIO_VSSD_REGION_BLOCK,
                                          generation, ranges, nr, nr,
                                          &reason);

    g_assert_cmpuint(status, ==, reason ? VIRTIO_VSSD_RESP_NACK
                                        : VIRTIO_VSSD_RESP_ACK);
    return reason;
}

/*
 * UNPLUG_HOST of @want blocks with room for @max ranges. Returns the
 * reason; on ACK the ranges are in @out (*@nr_out of them).
 */
static uint16_t vssd_unplug_host(VssdTest *t, uint32_t generation,
                                 uint64_t want, struct virtio_vssd_range *out,
                                 uint32_t max, uint32_t *nr_out)
{
    VssdCtrlReply reply;

    g_assert_true(vssd_ctrl(t, VIRTIO_VSSD_CTRL_UNPLUG_HOST,
                            VIRTIO_VSSD_REGION_BLOCK, generation, want, 0,
                            NULL, 0, &reply, out, max));
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

/* The plugged map through GET_MAP, one bool per block. */
static void vssd_get_plugged(VssdTest *t, bool plugged[VSSD_NR_BLOCKS])
{
    struct virtio_vssd_range ranges[VSSD_NR_BLOCKS];
    VssdCtrlReply reply;
    uint32_t i;
    uint64_t b;

    g_assert_true(vssd_ctrl(t, VIRTIO_VSSD_CTRL_GET_MAP,
                            VIRTIO_VSSD_REGION_BLOCK, 0, 0, 0, NULL, 0,
                            &reply, ranges, G_N_ELEMENTS(ranges)));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.next, ==, VSSD_NR_BLOCKS);
    memset(plugged, 0, VSSD_NR_BLOCKS * sizeof(bool));
    for (i = 0; i < reply.nr_ranges; i++) {
        for (b = ranges[i].first; b < ranges[i].first + ranges[i].count; b++) {
            g_assert_cmpuint(b, <, VSSD_NR_BLOCKS);
            plugged[b] = true;
        }
    }
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

/* The block region's entry of query-ssd-balloon for the test device. */
static QDict *vssd_query(VssdTest *t)
{
    QDict *resp = qtest_qmp(t->qts, "{ 'execute': 'query-ssd-balloon',"
                            " 'arguments': { 'device': %s } }",
                            QVIRTIO_VSSD_ID);
    QList *list;
    QDict *info;

    g_assert_nonnull(resp);
    g_assert_false(qdict_haskey(resp, "error"));
    list = qdict_get_qlist(resp, "return");
    g_assert_nonnull(list);
    g_assert_cmpuint(qlist_size(list), ==, 1);
    info = qobject_to(QDict, qlist_peek(list));
    g_assert_nonnull(info);
    qobject_ref(info);
    qobject_unref(resp);

    g_assert_cmpstr(qdict_get_str(info, "device"), ==, QVIRTIO_VSSD_ID);
    g_assert_cmpstr(qdict_get_str(info, "qom-path"), ==,
                    "/machine/peripheral/" QVIRTIO_VSSD_ID);
    g_assert_cmpstr(qdict_get_str(info, "region"), ==, "block");
    g_assert_cmpuint(qdict_get_int(info, "block-size"), ==, VSSD_BLOCK_SIZE);
    g_assert_cmpuint(qdict_get_int(info, "max-size"), ==, VSSD_IMAGE_SIZE);
    return info;
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

static uint64_t vssd_query_counter(VssdTest *t, const char *name)
{
    QDict *info = vssd_query(t);
    uint64_t n = qdict_get_int(info, name);

    qobject_unref(info);
    return n;
}

static uint64_t vssd_query_refused(VssdTest *t, const char *reason)
{
    QDict *info = vssd_query(t);
    uint64_t n = qdict_get_int(qdict_get_qdict(info, "refused"), reason);

    qobject_unref(info);
    return n;
}

/*
 * Checks that the last SSD_BALLOON_CHANGE sent so far says @size of
 * @requested.
 */
static void vssd_take_event(VssdTest *t, uint64_t size, uint64_t requested)
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
    g_assert_cmpstr(qdict_get_str(data, "region"), ==, "block");
    g_assert_cmpuint(qdict_get_int(data, "size"), ==, size);
    g_assert_cmpuint(qdict_get_int(data, "requested-size"), ==, requested);
    qobject_unref(last);
}

/* Lets rate-limited events out (1 s), then vssd_take_event(). */
static void vssd_check_event(VssdTest *t, uint64_t size, uint64_t requested)
{
    qtest_clock_step(t->qts, 1100 * 1000 * 1000LL);
    vssd_take_event(t, size, requested);
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

/* --- QEMU restart: the plugged map in the state file ---------------------- */

/* Runs QEMU with @args (must fail at start-up); returns its stderr. */
static char *vssd_run_failing_qemu(const char *args)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = g_strdup_printf("timeout 30 %s -M pc -nodefaults "
                                           "-display none -accel qtest %s",
                                           qemu, args);
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

static void test_resize_restart(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(2, 2), R(5, 1), R(7, 1) };
    VssdImage *img = data;
    VssdTest t = { }, t2 = { };
    QGuestAllocator alloc2;
    QPCIBus *bus2;
    QVirtioPCIDevice *pdev2;
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
    t2.qts = qtest_init(args);
    pc_alloc_init(&alloc2, t2.qts, ALLOC_NO_FLAGS);
    bus2 = qpci_new_pc(t2.qts, &alloc2);
    pdev2 = virtio_pci_new(bus2, &(QPCIAddress) {
                               .devfn = QPCI_DEVFN(4, 0) });
    g_assert_nonnull(pdev2);
    qvirtio_pci_device_enable(pdev2);
    qvirtio_start_device(&pdev2->vdev);
    t2.dev = &pdev2->vdev;
    t2.alloc = &alloc2;
    t2.img = img;
    vssd_driver_init(&t2);
    vssd_check_map(&t2, "11001010");
    vssd_check_query(&t2, VSSD_MiB(4), VSSD_MiB(4), "idle");
    vssd_check_image(&t2);
    vssd_driver_cleanup(&t2);
    qvirtio_pci_device_disable(pdev2);
    g_free(pdev2->pdev);
    g_free(pdev2);
    qpci_free_pc(bus2);
    alloc_destroy(&alloc2);
    qtest_quit(t2.qts);

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
    qos_add_test("resize-bad-replies", "virtio-vssd", test_resize_bad_replies,
                 &opts);
    qos_add_test("resize-supersede", "virtio-vssd", test_resize_supersede,
                 &opts);
    qos_add_test("resize-reset", "virtio-vssd", test_resize_reset, &opts);
    qos_add_test("resize-qmp-errors", "virtio-vssd", test_resize_qmp_errors,
                 &opts);
    qos_add_test("resize-restart", "virtio-vssd", test_resize_restart,
                 &state_opts);
}

libqos_init(register_virtio_vssd_test);
