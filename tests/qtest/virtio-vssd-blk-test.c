/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcases for the virtio-vssd device: the block region. Probe and
 * feature negotiation, config space, I/O (also with an IOThread and with
 * two request queues), GET_ID, GET_MAP, and every malformed request.
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
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "virtio-vssd-helpers.h"

/* Sets of acceptable outcomes for vssd_check_rejected(). */
#define ACCEPT(status)      (1u << (status))
#define ACCEPT_BROKEN       (1u << 16)

/* --- malformed requests -------------------------------------------------- */

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

    if (outcome == QVIRTIO_VSSD_BROKEN) {
        return "device broken (NEEDS_RESET)";
    }
    if (outcome == QVIRTIO_VSSD_NO_STATUS) {
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
    if (outcome == QVIRTIO_VSSD_BROKEN) {
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
    if (outcome == QVIRTIO_VSSD_BROKEN) {
        qvirtio_vssd_driver_reinit(&t->drv);
    } else {
        g_assert_false(qvirtio_vssd_broken(&t->drv));
    }
    vssd_check_qemu_alive(t);
    vssd_check_image(t);
    vssd_check_read(t, 0, 8);
}

/* Outcome of a chain whose status byte is at @status_addr. */
static int vssd_outcome(VssdTest *t, bool used, uint64_t status_addr)
{
    return used ? qtest_readb(t->drv.qts, status_addr) : QVIRTIO_VSSD_BROKEN;
}

/* Sends a chain whose last segment is the status byte; returns outcome. */
static int vssd_submit_blk_chain(VssdTest *t, const QVirtioVssdSeg *segs,
                                 uint32_t n)
{
    uint64_t status = segs[n - 1].addr;

    g_assert_cmpuint(segs[n - 1].len, ==, 1);
    qtest_writeb(t->drv.qts, status, 0xff);
    return vssd_outcome(t, qvirtio_vssd_submit_may_break(&t->drv, t->drv.vq,
                                                         segs, n),
                        status);
}

/* A malformed block request and the outcomes it may end in. */
typedef struct VssdBadRequest {
    const char *what;
    QVirtioVssdBlkReq req;
    unsigned accepted;
} VssdBadRequest;

/* Sends each of @bad, with data made from @seed; each must be rejected. */
static void vssd_check_bad_requests(VssdTest *t, const VssdBadRequest *bad,
                                    size_t n, uint8_t seed)
{
    g_autofree uint8_t *buf = NULL;
    uint32_t len = 1;
    size_t i;

    for (i = 0; i < n; i++) {
        len = MAX(len, bad[i].req.len);
    }
    buf = g_malloc(len);
    vssd_fill(buf, len, seed);
    for (i = 0; i < n; i++) {
        vssd_check_rejected(t, bad[i].what,
                            vssd_request(t, &bad[i].req, buf, true),
                            bad[i].accepted);
    }
}

/*
 * A malformed chain: a block request header of @type at offset 0 of a
 * buffer, SECTOR bytes of data at offset 16 if @data, and @segs, whose
 * addresses are offsets in that buffer. A last segment of one
 * device-writable byte is the status byte.
 */
typedef struct VssdBadChain {
    const char *what;
    uint16_t type;
    bool data;
    QVirtioVssdSeg segs[3];
    uint32_t nr_segs;
    unsigned accepted;
} VssdBadChain;

/* Sends each of @bad on the request queue; each must be rejected. */
static void vssd_check_bad_chains(VssdTest *t, const VssdBadChain *bad,
                                  size_t n)
{
    uint64_t addr = guest_alloc(t->drv.alloc, 16 + SECTOR + 1);
    size_t i;

    for (i = 0; i < n; i++) {
        const QVirtioVssdSeg *last = &bad[i].segs[bad[i].nr_segs - 1];
        QVirtioVssdSeg segs[G_N_ELEMENTS(bad[i].segs)];
        uint32_t j;
        int outcome;

        qvirtio_vssd_put_blk_hdr(&t->drv, addr, bad[i].type, 0, 0, 0);
        if (bad[i].data) {
            qtest_memset(t->drv.qts, addr + 16, 0x99, SECTOR);
        }
        for (j = 0; j < bad[i].nr_segs; j++) {
            segs[j] = bad[i].segs[j];
            segs[j].addr += addr;
        }
        if (last->device_writes && last->len == 1) {
            outcome = vssd_submit_blk_chain(t, segs, bad[i].nr_segs);
        } else {
            outcome = qvirtio_vssd_submit_may_break(&t->drv, t->drv.vq, segs,
                                                    bad[i].nr_segs) ?
                      QVIRTIO_VSSD_NO_STATUS : QVIRTIO_VSSD_BROKEN;
        }
        vssd_check_rejected(t, bad[i].what, outcome, bad[i].accepted);
    }
    guest_free(t->drv.alloc, addr);
}

/* --- tests --------------------------------------------------------------- */

static void test_probe(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVssd *vssd = obj;
    QVirtioDevice *dev = vssd->vdev;
    uint64_t offered = qvirtio_get_features(dev);
    VssdTest t = { };

    g_assert_cmphex(dev->device_type, ==, VIRTIO_ID_VSSD);
    g_assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
    /* bits 0-3 named the first layout of the protocol: never offered */
    g_assert_cmphex(offered & 0xf, ==, 0);
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
    /* the limits: what the device serves, not more, not less */
    g_assert_cmpuint(qvirtio_config_readl(dev,
                         offsetof(struct virtio_vssd_config, max_ranges)),
                     ==, 4096);
    g_assert_cmpuint(qvirtio_config_readl(dev,
                         offsetof(struct virtio_vssd_config, seg_max)),
                     ==, 512 - 2); /* default queue-size less header, status */
    g_assert_cmpuint(qvirtio_config_readl(dev,
                         offsetof(struct virtio_vssd_config, max_sectors)),
                     ==, (2ull * GiB - SECTOR) / SECTOR);
    g_assert_cmpuint(qvirtio_config_readq(dev,
                         offsetof(struct virtio_vssd_config,
                                  pmem_reserved_size)), ==, 0);
    g_assert_cmpuint(qvirtio_config_readw(dev,
                         offsetof(struct virtio_vssd_config, reserved0)),
                     ==, 0);
    g_assert_cmpuint(qvirtio_config_readl(dev,
                         offsetof(struct virtio_vssd_config, reserved1)),
                     ==, 0);

    g_assert_false(qvirtio_vssd_broken(&t.drv));
    vssd_check_read(&t, 0, 1);
    vssd_check_qemu_alive(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    addr = guest_alloc(t.drv.alloc, 16 + 2 * SECTOR + 1);
    qvirtio_vssd_put_blk_hdr(&t.drv, addr, VIRTIO_VSSD_T_WRITE, 0, 100, 0);
    qtest_memwrite(t.drv.qts, addr + 16, buf, 2 * SECTOR);
    g_assert_cmpint(vssd_submit_blk_chain(&t, (QVirtioVssdSeg[]) {
                        { addr, 16, false },
                        { addr + 16, 100, false },
                        { addr + 116, 2 * SECTOR - 200, false },
                        { addr + 16 + 2 * SECTOR - 100, 100, false },
                        { addr + 16 + 2 * SECTOR, 1, true } }, 5),
                    ==, VIRTIO_VSSD_S_OK);
    vssd_model_fill(&t, 100, 2, buf);
    vssd_check_read(&t, 99, 4);

    /* and read back through two descriptors, header and status apart */
    qtest_memset(t.drv.qts, addr + 16, 0, 2 * SECTOR);
    qvirtio_vssd_put_blk_hdr(&t.drv, addr, VIRTIO_VSSD_T_READ, 0, 100, 0);
    g_assert_cmpint(vssd_submit_blk_chain(&t, (QVirtioVssdSeg[]) {
                        { addr, 16, false },
                        { addr + 16, 300, true },
                        { addr + 316, 2 * SECTOR - 300, true },
                        { addr + 16 + 2 * SECTOR, 1, true } }, 4),
                    ==, VIRTIO_VSSD_S_OK);
    qtest_memread(t.drv.qts, addr + 16, buf + 2 * SECTOR, 2 * SECTOR);
    g_assert_cmpmem(buf + 2 * SECTOR, 2 * SECTOR, buf, 2 * SECTOR);
    guest_free(t.drv.alloc, addr);

    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    qvirtio_vssd_driver_cleanup(&t.drv);
}

static int vssd_get_id(VssdTest *t, char id[VIRTIO_VSSD_ID_BYTES])
{
    const QVirtioVssdBlkReq req = {
        .type = VIRTIO_VSSD_T_GET_ID,
        .len = VIRTIO_VSSD_ID_BYTES,
        .device_writes = true,
    };

    return vssd_request(t, &req, id, false);
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
    qvirtio_vssd_driver_cleanup(&t.drv);
}

static void test_get_map(void *obj, void *data, QGuestAllocator *alloc)
{
    struct virtio_vssd_ctrl_req req;
    struct virtio_vssd_range ranges[4];
    QVirtioVssdCtrlReply reply;
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);

    vssd_check_map_full(&t);

    /* from the region's end: an empty ACK; beyond it: RANGE */
    req = qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK, VSSD_NR_BLOCKS);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.nr_ranges, ==, 0);
    g_assert_cmpuint(reply.next_block, ==, VSSD_NR_BLOCKS);
    req = qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK,
                                   VSSD_NR_BLOCKS + 1);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_RANGE);
    g_assert_false(qvirtio_vssd_broken(&t.drv));

    /* the map survives a device reset */
    qvirtio_vssd_driver_reinit(&t.drv);
    vssd_check_map_full(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* Beyond the end of the region: RANGE, and the file does not grow. */
static void test_bad_range(void *obj, void *data, QGuestAllocator *alloc)
{
    static const VssdBadRequest bad[] = {
        { "read at the end",
          { VIRTIO_VSSD_T_READ, 0, NR_SECTORS, 0, SECTOR, true },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        { "write straddling the end",
          { VIRTIO_VSSD_T_WRITE, 0, NR_SECTORS - 1, 0, 2 * SECTOR, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        { "write far past the end",
          { VIRTIO_VSSD_T_WRITE, 0, NR_SECTORS + 1000, 0, SECTOR, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        { "discard straddling the end",
          { VIRTIO_VSSD_T_DISCARD, 0, NR_SECTORS - 1, 2, 0, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        { "write-zeroes past the end",
          { VIRTIO_VSSD_T_WRITE_ZEROES, 0, NR_SECTORS, 1, 0, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_requests(&t, bad, G_N_ELEMENTS(bad), 0x66);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* sector + length overflows: RANGE, nothing written anywhere. */
static void test_bad_overflow(void *obj, void *data, QGuestAllocator *alloc)
{
    static const VssdBadRequest bad[] = {
        { "read at sector UINT64_MAX",
          { VIRTIO_VSSD_T_READ, 0, UINT64_MAX, 0, SECTOR, true },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        { "write at sector UINT64_MAX - 1, 2 sectors",
          { VIRTIO_VSSD_T_WRITE, 0, UINT64_MAX - 1, 0, 2 * SECTOR, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        /* sector * 512 wraps to byte 0 */
        { "write at sector 2^55",
          { VIRTIO_VSSD_T_WRITE, 0, 1ull << 55, 0, SECTOR, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        { "write-zeroes at sector 2^55",
          { VIRTIO_VSSD_T_WRITE_ZEROES, 0, 1ull << 55, 1, 0, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
        { "discard at UINT64_MAX - 1, 2^32 - 1 sectors",
          { VIRTIO_VSSD_T_DISCARD, 0, UINT64_MAX - 1, UINT32_MAX, 0, false },
          ACCEPT(VIRTIO_VSSD_S_RANGE) },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_requests(&t, bad, G_N_ELEMENTS(bad), 0x77);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* A chain with no room for the status byte: broken. */
static void test_bad_no_status(void *obj, void *data, QGuestAllocator *alloc)
{
    static const VssdBadChain bad[] = {
        { "flush with only a header", VIRTIO_VSSD_T_FLUSH, false,
          { { 0, 16, false } }, 1, ACCEPT_BROKEN },
        /* a write whose every byte is device-readable */
        { "write without a status byte", VIRTIO_VSSD_T_WRITE, true,
          { { 0, 16, false }, { 16, SECTOR, false } }, 2, ACCEPT_BROKEN },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_chains(&t, bad, G_N_ELEMENTS(bad));
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* No room for the header: broken. */
static void test_bad_short_header(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    static const VssdBadChain bad[] = {
        { "8-byte header", VIRTIO_VSSD_T_FLUSH, false,
          { { 0, 8, false }, { 16, 1, true } }, 2, ACCEPT_BROKEN },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_chains(&t, bad, G_N_ELEMENTS(bad));
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* The header in a device-writable descriptor: broken. */
static void test_bad_writable_header(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    static const VssdBadChain bad[] = {
        { "device-writable header", VIRTIO_VSSD_T_FLUSH, false,
          { { 0, 16, true }, { 16, 1, true } }, 2, ACCEPT_BROKEN },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_chains(&t, bad, G_N_ELEMENTS(bad));
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* The status byte in a device-readable descriptor: broken. */
static void test_bad_readable_status(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    static const VssdBadChain bad[] = {
        { "device-readable status", VIRTIO_VSSD_T_FLUSH, false,
          { { 0, 16, false }, { 16, 1, false } }, 2, ACCEPT_BROKEN },
        { "header and status in one readable descriptor",
          VIRTIO_VSSD_T_FLUSH, false, { { 0, 17, false } }, 1,
          ACCEPT_BROKEN },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_chains(&t, bad, G_N_ELEMENTS(bad));
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* Data buffers in the wrong direction: an error, nothing moved. */
static void test_bad_direction(void *obj, void *data, QGuestAllocator *alloc)
{
    static const VssdBadChain bad[] = {
        { "read into a device-readable buffer", VIRTIO_VSSD_T_READ, false,
          { { 0, 16, false }, { 16, SECTOR, false }, { 16 + SECTOR, 1, true } },
          3, ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN },
        { "write from a device-writable buffer", VIRTIO_VSSD_T_WRITE, true,
          { { 0, 16, false }, { 16, SECTOR, true }, { 16 + SECTOR, 1, true } },
          3, ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_chains(&t, bad, G_N_ELEMENTS(bad));
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* READ and WRITE without data. */
static void test_bad_zero_length(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    static const VssdBadRequest bad[] = {
        { "zero-length read", { VIRTIO_VSSD_T_READ, 0, 0, 0, 0, true },
          ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN },
        { "zero-length write", { VIRTIO_VSSD_T_WRITE, 0, 0, 0, 0, false },
          ACCEPT(VIRTIO_VSSD_S_INVALID) | ACCEPT_BROKEN },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_requests(&t, bad, G_N_ELEMENTS(bad), 0);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* Header fields that the request's type does not use: INVALID. */
static void test_bad_unused_fields(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    static const VssdBadRequest bad[] = {
        { "read with num_sectors",
          { VIRTIO_VSSD_T_READ, 0, 0, 1, SECTOR, true },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
        { "write with num_sectors",
          { VIRTIO_VSSD_T_WRITE, 0, 0, 8, SECTOR, false },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
        { "flush with a sector", { VIRTIO_VSSD_T_FLUSH, 0, 1, 0, 0, false },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
        { "flush with num_sectors",
          { VIRTIO_VSSD_T_FLUSH, 0, 0, 1, 0, false },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
        { "get-id with a sector",
          { VIRTIO_VSSD_T_GET_ID, 0, 2, 0, VIRTIO_VSSD_ID_BYTES, true },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_requests(&t, bad, G_N_ELEMENTS(bad), 0x99);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* Data lengths that are not a multiple of the sector size: INVALID. */
static void test_bad_length(void *obj, void *data, QGuestAllocator *alloc)
{
    static const VssdBadRequest bad[] = {
        { "700-byte read", { VIRTIO_VSSD_T_READ, 0, 0, 0, 700, true },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
        { "513-byte write",
          { VIRTIO_VSSD_T_WRITE, 0, 0, 0, SECTOR + 1, false },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
        { "1-byte write at sector 3",
          { VIRTIO_VSSD_T_WRITE, 0, 3, 0, 1, false },
          ACCEPT(VIRTIO_VSSD_S_INVALID) },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_requests(&t, bad, G_N_ELEMENTS(bad), 0x88);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* A descriptor chain that loops: longer than the queue. */
static void test_bad_looped_chain(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    VssdTest t = { };
    uint64_t addr, desc;
    uint32_t head, tail;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.drv.alloc, 16 + SECTOR);

    /* header, then a data descriptor whose "next" is itself */
    qvirtio_vssd_make_room(t.drv.vq, 2);
    qvirtio_vssd_put_blk_hdr(&t.drv, addr, VIRTIO_VSSD_T_READ, 0, 0, 0);
    head = qvirtqueue_add(t.drv.qts, t.drv.vq, addr, 16, false, true);
    tail = qvirtqueue_add(t.drv.qts, t.drv.vq, addr + 16, SECTOR, true, true);
    desc = t.drv.vq->desc + tail * sizeof(struct vring_desc);
    qtest_writew(t.drv.qts, desc + offsetof(struct vring_desc, next), tail);
    qvirtqueue_kick(t.drv.qts, t.drv.dev, t.drv.vq, head);
    vssd_check_rejected(&t, "looped chain",
                        qvirtio_vssd_wait_used_or_broken(&t.drv, t.drv.vq,
                                                         head) ?
                        QVIRTIO_VSSD_NO_STATUS : QVIRTIO_VSSD_BROKEN,
                        ACCEPT_BROKEN);

    guest_free(t.drv.alloc, addr);
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    uint64_t hdr = guest_alloc(t->drv.alloc, 16 + 1);
    uint64_t table_addr = guest_alloc(t->drv.alloc, nr * sizeof(*table));
    uint64_t desc;
    uint32_t i, head;
    int ret;

    qvirtio_vssd_put_blk_hdr(&t->drv, hdr, VIRTIO_VSSD_T_WRITE, 0, sector, 0);
    qtest_writeb(t->drv.qts, hdr + 16, 0xff);

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
    qtest_memwrite(t->drv.qts, table_addr, table, nr * sizeof(*table));

    qvirtio_vssd_make_room(t->drv.vq, 1);
    head = qvirtqueue_add(t->drv.qts, t->drv.vq, table_addr,
                          nr * sizeof(*table), false, false);
    desc = t->drv.vq->desc + head * sizeof(struct vring_desc);
    qtest_writew(t->drv.qts, desc + offsetof(struct vring_desc, flags),
                 VRING_DESC_F_INDIRECT);
    qvirtqueue_kick(t->drv.qts, t->drv.dev, t->drv.vq, head);
    ret = vssd_outcome(t, qvirtio_vssd_wait_used_or_broken(&t->drv, t->drv.vq,
                                                           head),
                       hdr + 16);

    guest_free(t->drv.alloc, table_addr);
    guest_free(t->drv.alloc, hdr);
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
    nr_data = t.drv.vq->size + 8;
    buf = g_malloc(nr_data * SECTOR);
    vssd_fill(buf, nr_data * SECTOR, 0xaa);
    data_addr = guest_alloc(t.drv.alloc, nr_data * SECTOR);
    qtest_memwrite(t.drv.qts, data_addr, buf, nr_data * SECTOR);
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

    guest_free(t.drv.alloc, data_addr);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* Unknown request type or flags: UNSUPP. */
static void test_bad_type(void *obj, void *data, QGuestAllocator *alloc)
{
    static const VssdBadRequest bad[] = {
        { "type 0x42", { 0x42, 0, 0, 0, 0, false },
          ACCEPT(VIRTIO_VSSD_S_UNSUPP) },
        { "type 0xffff with a data buffer",
          { 0xffff, 0, 0, 0, SECTOR, true },
          ACCEPT(VIRTIO_VSSD_S_UNSUPP) },
        { "write with unknown flag 0x8000",
          { VIRTIO_VSSD_T_WRITE, 0x8000, 1, 0, SECTOR, false },
          ACCEPT(VIRTIO_VSSD_S_UNSUPP) },
    };
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_check_bad_requests(&t, bad, G_N_ELEMENTS(bad), 0xbb);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* Well-formed control requests the device does not know: NACK. */
static void test_bad_ctrl_request(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    struct virtio_vssd_ctrl_req req;
    struct virtio_vssd_range ranges[4];
    QVirtioVssdCtrlReply reply;
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);

    req = qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK, 0);
    req.type = cpu_to_le16(0x7777);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);
    g_assert_false(qvirtio_vssd_broken(&t.drv));

    req = qvirtio_vssd_req_get_map(0x55, 0);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);
    g_assert_false(qvirtio_vssd_broken(&t.drv));

    vssd_check_qemu_alive(&t);
    vssd_check_map_full(&t);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/*
 * A control request with a reserved byte that is not zero: NACK
 * BAD_REQUEST before anything else is looked at (these requests would
 * otherwise be NOT_REQUESTED: no resize is pending); nothing changes.
 */
static void test_bad_ctrl_reserved(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
#define RESERVED(m) offsetof(struct virtio_vssd_ctrl_req, m)
    static const struct {
        const char *what;
        uint16_t type;
        size_t at;          /* the byte set to 1 */
    } bad[] = {
        { "UNPLUG, header", VIRTIO_VSSD_CTRL_UNPLUG, RESERVED(reserved) },
        { "UNPLUG, arguments", VIRTIO_VSSD_CTRL_UNPLUG,
          RESERVED(u.unplug.reserved) + 7 },
        { "PLUG, header", VIRTIO_VSSD_CTRL_PLUG, RESERVED(reserved) + 3 },
        { "PLUG, arguments", VIRTIO_VSSD_CTRL_PLUG,
          RESERVED(u.plug.reserved) },
        { "UNPLUG_HOST, header", VIRTIO_VSSD_CTRL_UNPLUG_HOST,
          RESERVED(reserved) + 1 },
        { "UNPLUG_HOST, arguments", VIRTIO_VSSD_CTRL_UNPLUG_HOST,
          RESERVED(u.unplug_host.reserved) + 2 },
        { "GET_MAP, header", VIRTIO_VSSD_CTRL_GET_MAP, RESERVED(reserved) },
        { "GET_MAP, arguments", VIRTIO_VSSD_CTRL_GET_MAP,
          RESERVED(u.get_map.reserved) + 4 },
    };
#undef RESERVED
    const struct virtio_vssd_range one = { 0, 1 };
    struct virtio_vssd_range out[4];
    QVirtioVssdCtrlReply reply;
    VssdTest t = { };
    uint64_t resize_refused = 0;
    unsigned i;

    vssd_test_start(&t, obj, data, alloc);
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        const bool list = bad[i].type == VIRTIO_VSSD_CTRL_UNPLUG ||
                          bad[i].type == VIRTIO_VSSD_CTRL_PLUG;
        struct virtio_vssd_ctrl_req req;

        if (list) {
            req = qvirtio_vssd_req_list(bad[i].type,
                                        VIRTIO_VSSD_REGION_BLOCK, 0, 1);
        } else if (bad[i].type == VIRTIO_VSSD_CTRL_UNPLUG_HOST) {
            req = qvirtio_vssd_req_unplug_host(VIRTIO_VSSD_REGION_BLOCK, 0,
                                               1);
        } else {
            req = qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK, 0);
        }
        ((uint8_t *)&req)[bad[i].at] = 1;
        qvirtio_vssd_ctrl(&t.drv, &req, &one, list, &reply, out,
                          list ? 0 : G_N_ELEMENTS(out));
        g_test_message("reserved byte %zu of %s: status %u reason %u",
                       bad[i].at, bad[i].what, reply.status, reply.reason);
        g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
        g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);
        g_assert_false(qvirtio_vssd_broken(&t.drv));
        resize_refused += bad[i].type != VIRTIO_VSSD_CTRL_GET_MAP;
    }
    g_assert_cmpuint(vssd_query_counter_in(&t, &vssd_block_region,
                                           "replies-refused"), ==,
                     resize_refused);
    g_assert_cmpuint(vssd_query_refused_in(&t, &vssd_block_region,
                                           "bad-request"), ==,
                     resize_refused);
    vssd_check_map_full(&t);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* Control chains too short to parse: broken. */
static void test_bad_ctrl_short(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_ctrl_req req = {
        .type = cpu_to_le16(VIRTIO_VSSD_CTRL_GET_MAP),
        .region = cpu_to_le16(VIRTIO_VSSD_REGION_BLOCK),
    };
    /* request at offset 0, reply buffer at 32 */
    const struct {
        const char *what;
        QVirtioVssdSeg segs[2];
        uint32_t nr_segs;
    } bad[] = {
        { "8-byte control request",
          { { 0, 8, false },
            { 32, sizeof(struct virtio_vssd_ctrl_resp), true } }, 2 },
        { "control request without a reply buffer",
          { { 0, sizeof(req), false } }, 1 },
        { "4-byte reply buffer",
          { { 0, sizeof(req), false }, { 32, 4, true } }, 2 },
    };
    VssdTest t = { };
    uint64_t addr;
    unsigned i, j;

    vssd_test_start(&t, obj, data, alloc);
    addr = guest_alloc(t.drv.alloc, 64);
    qtest_memwrite(t.drv.qts, addr, &req, sizeof(req));

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        QVirtioVssdSeg segs[G_N_ELEMENTS(bad[i].segs)];
        bool used;

        for (j = 0; j < bad[i].nr_segs; j++) {
            segs[j] = bad[i].segs[j];
            segs[j].addr += addr;
        }
        used = qvirtio_vssd_submit_may_break(&t.drv, t.drv.ctrlq, segs,
                                             bad[i].nr_segs);
        vssd_check_rejected(&t, bad[i].what,
                            used ? QVIRTIO_VSSD_NO_STATUS
                                 : QVIRTIO_VSSD_BROKEN,
                            ACCEPT_BROKEN);
    }

    guest_free(t.drv.alloc, addr);
    vssd_check_map_full(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    t.drv.want_mq = true;
    g_test_message("with VIRTIO_VSSD_F_MQ: 2 request queues, control 2");
    vssd_test_start(&t, obj, data, alloc);
    g_assert_cmpuint(t.drv.nr_req_queues, ==, 2);
    for (i = 0; i < t.drv.nr_req_queues; i++) {
        t.drv.vq = t.drv.req_vqs[i];
        vssd_fill(buf, SECTOR, 0xc0 + i);
        g_assert_cmpint(vssd_write(&t, 50 + i, buf, SECTOR, 0), ==,
                        VIRTIO_VSSD_S_OK);
        vssd_check_read(&t, 49, 4);
    }
    t.drv.vq = t.drv.req_vqs[0];
    vssd_check_map_full(&t);
    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);

    /* MQ not negotiated: one request queue, control at 1 */
    t.drv.want_mq = false;
    g_test_message("without VIRTIO_VSSD_F_MQ: 1 request queue, control 1");
    qvirtio_vssd_driver_reinit(&t.drv);
    g_assert_cmpuint(t.drv.nr_req_queues, ==, 1);
    vssd_check_map_full(&t);
    vssd_check_read(&t, 49, 4);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* num-queues defaults to one request queue per vCPU (-smp 3 here). */
static void test_num_queues_auto(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    QVirtioVssd *vssd = obj;
    VssdTest t = { };

    g_assert_true(qvirtio_get_features(vssd->vdev) &
                  (1ull << VIRTIO_VSSD_F_MQ));
    t.drv.want_mq = true;
    vssd_test_start(&t, obj, data, alloc);
    g_assert_cmpuint(qvirtio_config_readw(vssd->vdev,
                         offsetof(struct virtio_vssd_config, num_queues)),
                     ==, 3);
    g_assert_cmpuint(t.drv.nr_req_queues, ==, 3);
    vssd_check_read(&t, 0, 1);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* The run state of @qts, e.g. "running" or "io-error". */
static char *vssd_run_state(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-status' }");
    char *status = g_strdup(qdict_get_str(qdict_get_qdict(resp, "return"),
                                          "status"));

    qobject_unref(resp);
    return status;
}

/* The io-status that query-block reports for the device's backend. */
static char *vssd_io_status(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-block' }");
    QListEntry *e;
    char *status = NULL;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(resp, "return"), e) {
        QDict *b = qobject_to(QDict, qlist_entry_obj(e));

        if (qdict_haskey(b, "qdev") &&
            strstr(qdict_get_str(b, "qdev"), QVIRTIO_VSSD_ID)) {
            status = g_strdup(qdict_get_try_str(b, "io-status"));
        }
    }
    qobject_unref(resp);
    g_assert_nonnull(status);
    return status;
}

/*
 * Backend errors follow rerror/werror and show in iostatus, as virtio-blk's
 * do. Here werror=stop, rerror=report, on blkdebug failing the first write
 * and then the first read with EIO: the write stops the VM (BLOCK_IO_ERROR,
 * io-status failed) without completing; "cont" retries it and it completes;
 * the read then reports IOERR to the guest and the VM runs on.
 */
static void test_io_errors(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(SECTOR);
    g_autofree uint8_t *back = g_malloc(SECTOR);
    g_autofree char *state = NULL;
    VssdTest t = { };
    QDict *ev;
    uint64_t hdr;
    uint32_t head;
    gint64 start;

    vssd_test_start(&t, obj, data, alloc);
    vssd_fill(buf, SECTOR, 0x5e);
    hdr = guest_alloc(t.drv.alloc, 16 + SECTOR + 1);
    qvirtio_vssd_put_blk_hdr(&t.drv, hdr, VIRTIO_VSSD_T_WRITE, 0, 8, 0);
    qtest_memwrite(t.drv.qts, hdr + 16, buf, SECTOR);
    qtest_memset(t.drv.qts, hdr + 16 + SECTOR, 0xff, 1);
    head = qvirtio_vssd_add_chain(&t.drv, t.drv.vq, (QVirtioVssdSeg[]) {
                                      { hdr, 16, false },
                                      { hdr + 16, SECTOR, false },
                                      { hdr + 16 + SECTOR, 1, true },
                                  }, 3);

    /* werror=stop: the VM stops, the request waits */
    ev = qtest_qmp_eventwait_ref(t.drv.qts, "BLOCK_IO_ERROR");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "action"), ==,
                    "stop");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "operation"),
                    ==, "write");
    qobject_unref(ev);
    start = g_get_monotonic_time();
    while (g_strcmp0((state = vssd_run_state(t.drv.qts)), "io-error")) {
        g_free(state);
        g_assert_cmpint(g_get_monotonic_time() - start, <=,
                        QVIRTIO_VSSD_TIMEOUT_US);
        g_usleep(1000);
    }
    g_assert_cmpstr(vssd_io_status(t.drv.qts), ==, "failed");
    g_assert_cmpuint(qtest_readb(t.drv.qts, hdr + 16 + SECTOR), ==, 0xff);
    g_assert_false(qvirtqueue_get_buf(t.drv.qts, t.drv.vq, NULL, NULL));

    /* cont: the request is retried and completes */
    vssd_qmp_ok(&t, "{ 'execute': 'cont' }");
    g_assert_true(qvirtio_vssd_wait_used_or_broken(&t.drv, t.drv.vq, head));
    g_assert_cmpuint(qtest_readb(t.drv.qts, hdr + 16 + SECTOR), ==,
                     VIRTIO_VSSD_S_OK);
    g_assert_cmpstr(vssd_io_status(t.drv.qts), ==, "ok");
    guest_free(t.drv.alloc, hdr);
    vssd_model_fill(&t, 8, 1, buf);

    /* rerror=report: the read fails, the VM runs on, the next one works */
    g_assert_cmpint(vssd_read(&t, 8, back, SECTOR), ==, VIRTIO_VSSD_S_IOERR);
    g_assert_cmpstr(vssd_run_state(t.drv.qts), ==, "running");
    g_assert_cmpint(vssd_read(&t, 8, back, SECTOR), ==, VIRTIO_VSSD_S_OK);
    g_assert_cmpmem(back, SECTOR, buf, SECTOR);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/*
 * werror=ignore, the first write failing with ENOSPC: the guest is told
 * OK (what "ignore" means), nothing was written, the VM runs on.
 */
static void test_io_errors_ignore(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    const QVirtioVssdBlkReq req = {
        .type = VIRTIO_VSSD_T_WRITE, .sector = 3, .len = SECTOR,
    };
    g_autofree uint8_t *buf = g_malloc(SECTOR);
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_fill(buf, SECTOR, 0x1c);
    /* not through vssd_write(): the model must not learn this one */
    g_assert_cmpint(qvirtio_vssd_blk_request(&t.drv, &req, buf, false), ==,
                    VIRTIO_VSSD_S_OK);
    g_assert_cmpstr(vssd_run_state(t.drv.qts), ==, "running");
    vssd_check_image(&t);
    /* the next one goes through */
    g_assert_cmpint(vssd_write(&t, 3, buf, SECTOR, 0), ==, VIRTIO_VSSD_S_OK);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/*
 * Entry @i of the write log at @path (QEMU's blklogwrites, 512-byte
 * sectors: super block, then a header sector per entry followed by its
 * data sectors): its flags and sector; false past the last entry.
 */
static bool vssd_log_entry(const char *path, unsigned int i, uint64_t *flags,
                           uint64_t *sector)
{
    g_autofree gchar *log = NULL;
    gsize len, pos = SECTOR;
    unsigned int n;

    g_assert_true(g_file_get_contents(path, &log, &len, NULL));
    for (n = 0; pos + SECTOR <= len; n++) {
        const uint64_t sectors = ldq_le_p(log + pos + 8);

        *flags = ldq_le_p(log + pos + 16);
        *sector = ldq_le_p(log + pos);
        if (!*flags && !sectors) {
            return false;               /* never written */
        }
        if (n == i) {
            return true;
        }
        pos += SECTOR + (*flags & 1 ? 0 : sectors * SECTOR);
    }
    return false;
}

/*
 * A FUA write reaches stable storage before it completes: on a backend
 * that logs writes and flushes (blklogwrites, which has no FUA of its own,
 * so QEMU follows the write with a flush), a FUA WRITE is followed by a
 * flush in the log and a plain one is not; FLUSH is a flush.
 */
static void test_io_fua(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdImage *img = data;
    g_autofree char *log = g_strdup_printf("%s.log", img->path);
    g_autofree uint8_t *buf = g_malloc(SECTOR);
    VssdTest t = { };
    uint64_t flags, sector;

    vssd_test_start(&t, obj, data, alloc);
    vssd_fill(buf, SECTOR, 0x3f);
    g_assert_cmpint(vssd_write(&t, 8, buf, SECTOR, 0), ==, VIRTIO_VSSD_S_OK);
    g_assert_cmpint(vssd_write(&t, 16, buf, SECTOR, VIRTIO_VSSD_REQ_F_FUA),
                    ==, VIRTIO_VSSD_S_OK);
    g_assert_cmpint(vssd_flush(&t), ==, VIRTIO_VSSD_S_OK);

    g_assert_true(vssd_log_entry(log, 0, &flags, &sector));
    g_assert_cmpuint(flags, ==, 0);             /* the plain write... */
    g_assert_cmpuint(sector, ==, 8);
    g_assert_true(vssd_log_entry(log, 1, &flags, &sector));
    g_assert_cmpuint(flags, ==, 0);             /* ...no flush: the FUA one */
    g_assert_cmpuint(sector, ==, 16);
    g_assert_true(vssd_log_entry(log, 2, &flags, &sector));
    g_assert_cmpuint(flags, ==, 1);             /* its flush */
    g_assert_true(vssd_log_entry(log, 3, &flags, &sector));
    g_assert_cmpuint(flags, ==, 1);             /* FLUSH */
    g_assert_false(vssd_log_entry(log, 4, &flags, &sector));
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
    unlink(log);
}

/* Counter @name of query-blockstats for the device's backend. */
static uint64_t vssd_blockstat(QTestState *qts, const char *name)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-blockstats' }");
    QListEntry *e;
    int64_t value = -1;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(resp, "return"), e) {
        QDict *b = qobject_to(QDict, qlist_entry_obj(e));

        if (qdict_haskey(b, "qdev") &&
            strstr(qdict_get_str(b, "qdev"), QVIRTIO_VSSD_ID)) {
            value = qdict_get_int(qdict_get_qdict(b, "stats"), name);
        }
    }
    qobject_unref(resp);
    g_assert_cmpint(value, >=, 0);
    return value;
}

/*
 * Requests of one kind that follow each other on the disk, made
 * available with one kick, go to the backend as one request
 * (query-blockstats counts the merges) and each completes with its data;
 * a gap, another kind or FUA ends a merge.
 */
static void test_merge(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct {
        uint16_t type, flags;
        uint64_t sector;
    } reqs[] = {
        { VIRTIO_VSSD_T_WRITE, 0, 16 }, { VIRTIO_VSSD_T_WRITE, 0, 24 },
        { VIRTIO_VSSD_T_WRITE, 0, 32 },         /* three merged */
        { VIRTIO_VSSD_T_WRITE, 0, 48 },         /* a gap */
        { VIRTIO_VSSD_T_WRITE, VIRTIO_VSSD_REQ_F_FUA, 56 },  /* FUA */
        { VIRTIO_VSSD_T_READ, 0, 16 }, { VIRTIO_VSSD_T_READ, 0, 24 },
    };
    const unsigned int n = G_N_ELEMENTS(reqs), bytes = 8 * SECTOR;
    g_autofree uint8_t *buf = g_malloc(bytes);
    uint64_t wr_merged, rd_merged, addr[G_N_ELEMENTS(reqs)];
    uint32_t head[G_N_ELEMENTS(reqs)];
    VssdTest t = { };
    unsigned int i;

    vssd_test_start(&t, obj, data, alloc);
    wr_merged = vssd_blockstat(t.drv.qts, "wr_merged");
    rd_merged = vssd_blockstat(t.drv.qts, "rd_merged");
    for (i = 0; i < n; i++) {
        const bool read = reqs[i].type == VIRTIO_VSSD_T_READ;

        addr[i] = guest_alloc(t.drv.alloc, 16 + bytes + 1);
        qvirtio_vssd_put_blk_hdr(&t.drv, addr[i], reqs[i].type,
                                 reqs[i].flags, reqs[i].sector, 0);
        if (!read) {
            vssd_fill(buf, bytes, i);
            qtest_memwrite(t.drv.qts, addr[i] + 16, buf, bytes);
            vssd_model_fill(&t, reqs[i].sector, 8, buf);
        }
        head[i] = qvirtio_vssd_queue_chain(&t.drv, t.drv.vq,
                                           (QVirtioVssdSeg[]) {
                                               { addr[i], 16, false },
                                               { addr[i] + 16, bytes, read },
                                               { addr[i] + 16 + bytes, 1,
                                                 true },
                                           }, 3);
    }
    qvirtio_vssd_kick_all(&t.drv, t.drv.vq, head, n);
    qvirtio_vssd_wait_used_all(&t.drv, t.drv.vq, n);
    for (i = 0; i < n; i++) {
        g_assert_cmpuint(qtest_readb(t.drv.qts, addr[i] + 16 + bytes), ==,
                         VIRTIO_VSSD_S_OK);
        if (reqs[i].type == VIRTIO_VSSD_T_READ) {
            qtest_memread(t.drv.qts, addr[i] + 16, buf, bytes);
            g_assert_cmpmem(buf, bytes, t.img->model + reqs[i].sector * SECTOR,
                            bytes);
        }
        guest_free(t.drv.alloc, addr[i]);
    }
    g_assert_cmpuint(vssd_blockstat(t.drv.qts, "wr_merged"), ==,
                     wr_merged + 2);
    g_assert_cmpuint(vssd_blockstat(t.drv.qts, "rd_merged"), ==,
                     rd_merged + 1);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* --- registration -------------------------------------------------------- */

/*
 * On blkdebug failing the first write with @write_errno, then the first
 * read with EIO, with @policy ("-global ..." for rerror and werror).
 */
static void *vssd_test_setup_blkdebug(GString *cmd_line, int write_errno,
                                      const char *policy)
{
    VssdImage *img = vssd_image_create();

    g_string_append_printf(cmd_line, " -blockdev driver=file,filename=%s,"
                           "node-name=" QVIRTIO_VSSD_NODE_NAME
                           " -blockdev driver=blkdebug,node-name=vssd-dbg,"
                           "image=" QVIRTIO_VSSD_NODE_NAME
                           ",inject-error.0.event=pwritev"
                           ",inject-error.0.iotype=write"
                           ",inject-error.0.errno=%d,inject-error.0.once=on"
                           ",inject-error.1.event=pwritev"
                           ",inject-error.1.iotype=read"
                           ",inject-error.1.errno=%d,inject-error.1.once=on"
                           " -global virtio-vssd.drive=vssd-dbg %s ",
                           img->path, write_errno, EIO, policy);
    return img;
}

static void *vssd_test_setup_io_errors(GString *cmd_line, void *arg)
{
    return vssd_test_setup_blkdebug(cmd_line, EIO,
                                    "-global virtio-vssd.werror=stop "
                                    "-global virtio-vssd.rerror=report");
}

static void *vssd_test_setup_io_errors_ignore(GString *cmd_line, void *arg)
{
    return vssd_test_setup_blkdebug(cmd_line, ENOSPC,
                                    "-global virtio-vssd.werror=ignore");
}

/* On blklogwrites, logging to the image's path + ".log". */
static void *vssd_test_setup_logwrites(GString *cmd_line, void *arg)
{
    VssdImage *img = vssd_image_create();
    g_autofree char *log = g_strdup_printf("%s.log", img->path);
    int fd = open(log, O_CREAT | O_TRUNC | O_WRONLY, 0600);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 4 * MiB), ==, 0);
    close(fd);
    g_string_append_printf(cmd_line, " -blockdev driver=file,filename=%s,"
                           "node-name=" QVIRTIO_VSSD_NODE_NAME
                           " -blockdev driver=file,filename=%s,"
                           "node-name=vssd-log"
                           " -blockdev driver=blklogwrites,node-name=vssd-lw,"
                           "file=" QVIRTIO_VSSD_NODE_NAME ",log=vssd-log,"
                           "log-sector-size=512"
                           " -global virtio-vssd.drive=vssd-lw ",
                           img->path, log);
    return img;
}

static void *vssd_test_setup_smp3(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line, "-smp 3");
}

static void *vssd_test_setup_mq(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line,
                                "-global virtio-vssd.num-queues=2");
}

static void register_virtio_vssd_blk_test(void)
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
    QOSGraphTestOptions smp3_opts = {
        .before = vssd_test_setup_smp3,
    };
    QOSGraphTestOptions logwrites_opts = {
        .before = vssd_test_setup_logwrites,
    };
    QOSGraphTestOptions io_errors_opts = {
        .before = vssd_test_setup_io_errors,
    };
    QOSGraphTestOptions io_errors_ignore_opts = {
        .before = vssd_test_setup_io_errors_ignore,
    };

    qos_add_test("probe", "virtio-vssd", test_probe, &opts);
    qos_add_test("read-write", "virtio-vssd", test_read_write, &opts);
    qos_add_test("read-write-iothread", "virtio-vssd", test_read_write,
                 &iothread_opts);
    qos_add_test("multiqueue", "virtio-vssd", test_multiqueue, &mq_opts);
    qos_add_test("num-queues-auto", "virtio-vssd", test_num_queues_auto,
                 &smp3_opts);
    qos_add_test("io-errors", "virtio-vssd", test_io_errors, &io_errors_opts);
    qos_add_test("io-fua", "virtio-vssd", test_io_fua, &logwrites_opts);
    qos_add_test("io-errors-ignore", "virtio-vssd", test_io_errors_ignore,
                 &io_errors_ignore_opts);
    qos_add_test("discard", "virtio-vssd", test_discard, &opts);
    qos_add_test("merge", "virtio-vssd", test_merge, &opts);
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
    qos_add_test("bad-unused-fields", "virtio-vssd", test_bad_unused_fields,
                 &opts);
    qos_add_test("bad-ctrl-reserved", "virtio-vssd", test_bad_ctrl_reserved,
                 &opts);
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

libqos_init(register_virtio_vssd_blk_test);
