/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcases for the virtio-vssd device: the persistent-memory
 * region. Bad memdev configurations, a device with only a pmem region,
 * the shared memory capability and BAR, guest stores reaching the host
 * file, PMEM_FLUSH, resizing the region, the state file, migration and
 * hot unplug.
 *
 * The tests give the device a memory-backend-file on a fresh file of their
 * own, with a model of it like the image's: guest stores go through the
 * shared memory region's BAR, and the host file, the BAR and the model
 * must agree after every step.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/crc32c.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "hw/pci/pci_regs.h"
#include "virtio-vssd-helpers.h"

#define VSSD_PMEM_BAR       2           /* virtio-vssd-pci's pmem BAR */

/* --- BAR, file, model ---------------------------------------------------- */

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
    const struct virtio_vssd_ctrl_req req =
        qvirtio_vssd_req_pmem_flush(region, offset, length);
    QVirtioVssdCtrlReply reply;

    qvirtio_vssd_ctrl(&t->drv, &req, NULL, 0, &reply, NULL, 0);
    g_assert_false(qvirtio_vssd_broken(&t->drv));
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
    g_assert_cmpuint(qvirtio_config_readl(t->drv.dev,
                         offsetof(struct virtio_vssd_config,
                                  pmem_block_size)), ==, VSSD_PMEM_BS);
    g_assert_cmpuint(vssd_config_q(t, offsetof(struct virtio_vssd_config,
                                               pmem_region_size)),
                     ==, VSSD_PMEM_SIZE);
    g_assert_cmpuint(vssd_config_q(t, vssd_pmem_region.plugged), ==,
                     VSSD_PMEM_SIZE);
    g_assert_cmpuint(vssd_config_q(t, vssd_pmem_region.requested), ==,
                     VSSD_PMEM_SIZE);
    g_assert_cmpuint(qvirtio_config_readl(t->drv.dev, vssd_pmem_region.policy),
                     ==, VIRTIO_VSSD_POLICY_GUEST);
    /* a host-policy shrink never takes the blocks of the first 64 KiB */
    g_assert_cmpuint(vssd_config_q(t, offsetof(struct virtio_vssd_config,
                                               pmem_reserved_size)),
                     ==, ROUND_UP(64 * KiB, VSSD_PMEM_BS));
}

/* The qom property @name of the test device. */
static uint64_t vssd_qom_size(VssdTest *t, const char *name)
{
    QDict *resp = qtest_qmp(t->drv.qts, "{ 'execute': 'qom-get', 'arguments': {"
                            " 'path': '/machine/peripheral/" QVIRTIO_VSSD_ID
                            "', 'property': %s } }", name);
    uint64_t value;

    g_assert_false(qdict_haskey(resp, "error"));
    value = qdict_get_int(resp, "return");
    qobject_unref(resp);
    return value;
}

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

/* query-ssd-balloon of @qts has @n entries. */
static void vssd_check_nr_regions(QTestState *qts, size_t n)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-ssd-balloon' }");

    g_assert_false(qdict_haskey(resp, "error"));
    g_assert_cmpuint(qlist_size(qdict_get_qlist(resp, "return")), ==, n);
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
        g_assert_cmpint(g_get_monotonic_time() - start, <=,
                        QVIRTIO_VSSD_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

/* Migrates @qts into file @stream and waits until that has completed. */
static void vssd_migrate_to_file(QTestState *qts, const char *stream)
{
    g_autofree char *cmd = g_strdup_printf("{ 'execute': 'migrate', "
                                           "'arguments': { 'uri': "
                                           "'exec:cat > %s' } }", stream);

    vssd_qmp_ok_on(qts, cmd);
    vssd_wait_migrated(qts);
}

/*
 * The arguments of a second QEMU on @img's files: its drive and pmem
 * file, then @fmt.
 */
static char * G_GNUC_PRINTF(2, 3) vssd_second_args(VssdImage *img,
                                                   const char *fmt, ...)
{
    g_autofree char *drive = vssd_drive_args(img, true);
    g_autofree char *pm = vssd_pmem_args(img);
    g_autofree char *extra = NULL;
    va_list ap;

    va_start(ap, fmt);
    extra = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return g_strdup_printf("%s %s %s", drive, pm, extra);
}

/* One refused pmem resize reply: @reason, counted for pmem, nothing changed. */
static void vssd_check_pmem_refused(VssdTest *t, const char *what,
                                    uint16_t got, uint16_t reason,
                                    const char *counter, const char *map)
{
    vssd_check_refused_in(t, &vssd_pmem_region, what, got, reason, counter);
    /* not the block region's */
    g_assert_cmpuint(vssd_query_counter(t, "replies-refused"), ==, 0);
    vssd_check_pmem_map(t, map);
}

/* --- tests --------------------------------------------------------------- */

#define PMEM_GLOBAL         "-global virtio-vssd.memdev=" VSSD_PMEM_ID

/* Bad pmem configurations fail at start-up, naming the property. */
static void test_pmem_realize_errors(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    VssdImage *img = data;
    const struct {
        uint64_t memdev_size;   /* of memdev vssd-pm, 0: no memdev */
        bool share;             /* its share= */
        const char *options;    /* for the device (of the test's machine) */
        const char *what;       /* in the error message */
    } bad[] = {
        { 0, true, "",
          "neither 'drive' nor 'memdev' property is set" },
        { VSSD_PMEM_SIZE, true,
          PMEM_GLOBAL " -global virtio-vssd.pmem-block-size=3M",
          "'pmem-block-size' property (3145728) must be a power of two" },
        { VSSD_PMEM_SIZE, true,
          PMEM_GLOBAL " -global virtio-vssd.pmem-block-size=2K",
          "'pmem-block-size' property (2048) must be a power of two "
          "between 4096" },
        { VSSD_PMEM_SIZE, true,
          PMEM_GLOBAL " -global virtio-vssd.pmem-block-size=2G",
          "'pmem-block-size' property (2147483648) must be a power of two" },
        { VSSD_PMEM_SIZE, true,
          PMEM_GLOBAL " -global virtio-vssd.pmem-block-size=32M",
          "must be a non-zero multiple of 'pmem-block-size' (33554432)" },
        { 15 * MiB, true, PMEM_GLOBAL,
          "'memdev' property: the size of memory backend 'vssd-pm' "
          "(15728640 bytes) must be a non-zero multiple of "
          "'pmem-block-size'" },
        { VSSD_PMEM_SIZE, false, PMEM_GLOBAL,
          "'memdev' property: memory backend 'vssd-pm' must be shared" },
        /* a second device, which gets the same memdev */
        { VSSD_PMEM_SIZE, true, PMEM_GLOBAL " -device virtio-vssd-pci",
          "'memdev' property: memory backend 'vssd-pm' is already in use" },
        { VSSD_PMEM_SIZE, true,
          PMEM_GLOBAL " -global virtio-vssd-pci.modern-pio-notify=on",
          "'modern-pio-notify' property: BAR 2 holds the persistent-memory "
          "region" },
        { VSSD_PMEM_SIZE, true, PMEM_GLOBAL
          " -global virtio-vssd.x-max-ranges=0",
          "'x-max-ranges' property (0) must be between 1 and 4096" },
        { VSSD_PMEM_SIZE, true, PMEM_GLOBAL
          " -global virtio-vssd.x-max-ranges=4097",
          "'x-max-ranges' property (4097) must be between 1 and 4096" },
        { VSSD_PMEM_SIZE, true, PMEM_GLOBAL " -global virtio-vssd.iothread=io "
          "-object iothread,id=io", "'iothread' property" },
        /* discarded blocks cannot be given back from locked memory */
        { VSSD_PMEM_SIZE, true, PMEM_GLOBAL " -overcommit mem-lock=on",
          "'memdev' property: a persistent-memory region is incompatible "
          "with '-overcommit mem-lock=on'" },
        { VSSD_PMEM_SIZE, true, "-global virtio-vssd.memdev=nosuch",
          "nosuch" },
    };
    VssdTest t = { };
    unsigned i;

    vssd_test_start(&t, obj, data, alloc);
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *pm = bad[i].memdev_size ?
            vssd_pmem_object_with(img, bad[i].memdev_size, bad[i].share) :
            g_strdup("");
        g_autofree char *args = g_strdup_printf("%s %s", pm,
                                                bad[i].options);
        g_autofree char *err = vssd_run_failing_qemu(args);

        g_assert_nonnull(strstr(err, bad[i].what));
    }
    /* nobody wrote to the file */
    vssd_check_pmem_file(&t);
    vssd_check_qemu_alive(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/*
 * A device with only a pmem region: features, config, shm capability,
 * guest stores reaching the host file, flush, and a block region that is
 * absent everywhere.
 */
static void test_pmem_only(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree uint8_t *buf = g_malloc(3 * 4096);
    struct virtio_vssd_range ranges[2];
    struct virtio_vssd_ctrl_req req;
    QVirtioVssdCtrlReply reply;
    VssdTest t = { };
    QList *list;
    QDict *info;
    char *out;

    vssd_test_start(&t, obj, data, alloc);
    g_assert_false(t.drv.features & (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
    g_assert_true(t.drv.features & (1ull << VIRTIO_VSSD_F_PMEM_REGION));
    vssd_check_pmem_config(&t);
    g_assert_cmpuint(qvirtio_config_readl(t.drv.dev,
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
    g_assert_false(qvirtio_vssd_broken(&t.drv));

    /* GET_MAP of the absent block region is refused */
    req = qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK, 0);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
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
    out = qtest_hmp(t.drv.qts, "info ssd_balloon");
    g_test_message("info ssd_balloon -> %s", out);
    g_assert_nonnull(strstr(out, "region pmem"));
    g_assert_nonnull(strstr(out, "flushes 2 flushes-refused 0"));
    g_assert_null(strstr(out, "region block"));
    g_free(out);

    /* a device reset keeps the memory */
    qvirtio_vssd_driver_reinit(&t.drv);
    vssd_check_pmem_map(&t, "11111111");
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* PMEM_FLUSH: good ranges are acknowledged, bad ones refused and counted. */
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
    struct virtio_vssd_ctrl_req req;
    QVirtioVssdCtrlReply reply;
    VssdTest t = { };
    uint64_t addr;
    unsigned i, refused = 0;

    vssd_test_start(&t, obj, data, alloc);
    g_assert_true(t.drv.features & (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
    g_assert_true(t.drv.features & (1ull << VIRTIO_VSSD_F_PMEM_REGION));
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
    req = qvirtio_vssd_req_pmem_flush(VIRTIO_VSSD_REGION_PMEM, 0, 4096);
    qvirtio_vssd_ctrl(&t.drv, &req, &extra, 1, &reply, NULL, 0);
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.reason, ==, VIRTIO_VSSD_R_BAD_REQUEST);
    vssd_check_flush_counters(&t, 4, ++refused);
    /* flushes are no resize replies */
    g_assert_cmpuint(vssd_query_counter_in(&t, &vssd_pmem_region,
                                           "replies-refused"), ==, 0);
    vssd_check_qemu_alive(&t);
    g_assert_false(qvirtio_vssd_broken(&t.drv));

    /*
     * A reset with a flush in the worker thread: the device waits for it
     * before the rings go; afterwards the device serves flushes again.
     */
    addr = guest_alloc(t.drv.alloc, sizeof(struct virtio_vssd_ctrl_req) +
                       sizeof(struct virtio_vssd_ctrl_resp));
    req = qvirtio_vssd_req_pmem_flush(VIRTIO_VSSD_REGION_PMEM, 0,
                                      VSSD_PMEM_SIZE);
    qtest_memwrite(t.drv.qts, addr, &req, sizeof(req));
    qvirtio_vssd_add_chain(&t.drv, t.drv.ctrlq, (QVirtioVssdSeg[]) {
                               { addr, sizeof(struct virtio_vssd_ctrl_req),
                                 false },
                               { addr + sizeof(struct virtio_vssd_ctrl_req),
                                 sizeof(struct virtio_vssd_ctrl_resp), true },
                           }, 2);
    qvirtio_vssd_driver_reinit(&t.drv);
    guest_free(t.drv.alloc, addr);
    vssd_check_qemu_alive(&t);
    g_assert_cmpuint(vssd_pmem_flush(&t, VIRTIO_VSSD_REGION_PMEM, 0, 4096),
                     ==, VIRTIO_VSSD_R_NONE);

    vssd_check_pmem_file(&t);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
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
     * policy host never takes the first block, which holds
     * VIRTIO_VSSD_PMEM_RESERVED_BYTES: a smaller target is refused, the
     * smallest one takes every other block
     */
    vssd_qmp_error(&t, "{ 'execute': 'ssd-balloon', 'arguments': {"
                   " 'device': 'vssd0', 'size': 0, 'region': 'pmem',"
                   " 'policy': 'host' } }",
                   "below the minimum of the pmem region of device 'vssd0' "
                   "for policy 'host' (2097152 bytes");
    gen = vssd_balloon_in(&t, pr, VSSD_PMEM_BS, "host");
    g_assert_cmpuint(vssd_unplug_host_in(&t, pr, gen, 4, out,
                                         VSSD_TEST_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    vssd_pmem_model_unplugged(&t, out, nr);
    vssd_check_pmem_map(&t, "10000000");
    vssd_check_query_in(&t, pr, VSSD_PMEM_BS, VSSD_PMEM_BS, "idle");

    /* the block region saw none of it */
    vssd_check_map_full(&t);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* The pmem map is kept in the state file next to the block map. */
static void test_pmem_restart(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(3, 1), R(6, 2) };
    VssdImage *img = data;
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree gchar *contents = NULL;
    VssdTest t = { }, t2 = { };
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
    qvirtio_vssd_driver_cleanup(&t.drv);

    /* a second QEMU on the same files: the same maps */
    args = vssd_second_args(img, "-global virtio-vssd.state-file=%s",
                            img->state_path);
    vssd_qemu_start(&t2, img, args);
    vssd_pmem_map(&t2);
    vssd_check_pmem_map(&t2, "11101100");
    vssd_check_query_in(&t2, &vssd_pmem_region, 10 * MiB, 10 * MiB, "idle");
    vssd_check_map_full(&t2);
    vssd_qemu_stop(&t2);

    /* another pmem geometry does not fit the state file */
    g_free(args);
    args = vssd_second_args(img, "-global virtio-vssd.pmem-block-size=4M "
                            "-global virtio-vssd.state-file=%s",
                            img->state_path);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "'state-file' property"));
    g_assert_nonnull(strstr(err, "another geometry"));
}

/*
 * A state file that lists a region twice (and so leaves another one out)
 * is refused at start-up, not half loaded.
 */
static void test_pmem_state_duplicate(void *obj, void *data,
                                      QGuestAllocator *alloc)
{
    /* both records have 8 blocks: header 32 bytes, bitmap 8 */
    const gsize rec = 32 + 8;
    VssdImage *img = data;
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree gchar *contents = NULL;
    gsize len;

    /* the running QEMU wrote the file: block record, then pmem record */
    g_assert_true(g_file_get_contents(img->state_path, &contents, &len,
                                      NULL));
    g_assert_cmpuint(len, ==, 24 + 2 * rec);
    g_assert_cmpuint(lduw_le_p(contents + 24), ==, VIRTIO_VSSD_REGION_BLOCK);

    /* the block record twice, with a valid CRC */
    memcpy(contents + 24 + rec, contents + 24, rec);
    stl_le_p(contents + 16, crc32c(0xffffffff, (uint8_t *)contents + 24,
                                   len - 24));
    g_assert_true(g_file_set_contents(img->state_path, contents, len,
                                      NULL));

    args = vssd_second_args(img, "-global virtio-vssd.state-file=%s",
                            img->state_path);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "'state-file' property"));
    g_assert_nonnull(strstr(err, "lists region 0 twice"));
}

/*
 * Hot plug and unplug: the memdev is in use while the device exists and
 * free again (for a new device, or object-del) once it is gone.
 */
static void test_pmem_hotplug(void *obj, void *data, QGuestAllocator *alloc)
{
    VssdImage *img = data;
    g_autofree char *pm = vssd_pmem_object(img);
    /* ACPI PCI hot unplug (qpci_unplug_acpi_device_test()) is the PC's */
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

/*
 * Migration: the destination gets the pmem map, target and contents; one
 * with another pmem geometry refuses the stream.
 */
static void test_pmem_migrate(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(6, 1) };
    VssdImage *img = data;
    g_autofree char *stream = g_strdup_printf("%s.migration", img->path);
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree uint8_t *buf = g_malloc(8192);
    struct virtio_vssd_range out[VSSD_TEST_BLOCKS];
    VssdTest t = { }, t2 = { };
    uint32_t gen, nr;

    vssd_test_start(&t, obj, data, alloc);
    vssd_pmem_map(&t);
    vssd_fill(buf, 8192, 0x42);
    vssd_pmem_write(&t, 2 * VSSD_PMEM_BS - 4096, buf, 8192);
    gen = vssd_balloon_in(&t, &vssd_pmem_region, 14 * MiB, "guest");
    g_assert_cmpuint(vssd_plug_list(&t, &vssd_pmem_region, false, gen, give,
                                    1), ==, VIRTIO_VSSD_R_NONE);
    vssd_pmem_model_unplugged(&t, give, 1);
    /* a target in progress travels too, with the time it started */
    gen = vssd_balloon_in(&t, &vssd_pmem_region, 12 * MiB, "host");
    vssd_check_pmem_map(&t, "11111101");
    g_usleep(300 * 1000);
    vssd_migrate_to_file(t.drv.qts, stream);

    args = vssd_second_args(img, "-incoming 'exec:cat %s'", stream);
    vssd_qemu_start(&t2, img, args);
    g_assert_cmpuint(vssd_config_generation(&t2), ==, gen);
    vssd_check_query_in(&t2, &vssd_pmem_region, 14 * MiB, 12 * MiB,
                        "shrinking");
    g_assert_cmpuint(qvirtio_config_readl(t2.drv.dev, vssd_pmem_region.policy),
                     ==, VIRTIO_VSSD_POLICY_HOST);
    vssd_pmem_map(&t2);
    vssd_check_pmem_map(&t2, "11111101");
    vssd_check_pmem_bar(&t2, 2 * VSSD_PMEM_BS - 4096, 8192);
    vssd_check_map_full(&t2);
    /* finished on the destination: the resize took all of that time */
    g_assert_cmpuint(vssd_unplug_host_in(&t2, &vssd_pmem_region, gen, 1, out,
                                         VSSD_TEST_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    vssd_check_query_in(&t2, &vssd_pmem_region, 12 * MiB, 12 * MiB, "idle");
    g_assert_cmpuint(vssd_query_counter_in(&t2, &vssd_pmem_region,
                                           "last-resize-ms"), >=, 300);
    vssd_qemu_stop(&t2);
    qvirtio_vssd_driver_cleanup(&t.drv);

    /* a destination with other pmem blocks refuses the stream */
    g_free(args);
    args = vssd_second_args(img, "-global virtio-vssd.pmem-block-size=4M "
                            "-incoming 'exec:cat %s'", stream);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "property 'pmem-block-size' differs: "
                            "2097152 on the source, 4194304 here"));
    unlink(stream);
}

/*
 * Copies migration stream @stream to @out with the pmem region's target
 * set to @requested blocks under @policy (fields of subsection
 * virtio-vssd-device/pmem: version, bitmap, requested_blocks, policy).
 */
static void vssd_patch_pmem_stream(const char *stream, const char *out,
                                   uint64_t requested, uint32_t policy)
{
    static const char sub[] = "\x05\x17virtio-vssd-device/pmem";
    g_autofree gchar *contents = NULL;
    uint8_t *fields;
    gsize len;

    g_assert_true(g_file_get_contents(stream, &contents, &len, NULL));
    fields = memmem(contents, len, sub, sizeof(sub) - 1);
    g_assert_nonnull(fields);
    fields += sizeof(sub) - 1 + 4 + 8;
    g_assert_cmpuint(fields + 12 - (uint8_t *)contents, <=, len);
    stq_be_p(fields, requested);
    stl_be_p(fields + 8, policy);
    g_assert_true(g_file_set_contents(out, contents, len, NULL));
}

/* A stream whose pmem target this device cannot negotiate is refused. */
static void test_pmem_migrate_bad_target(void *obj, void *data,
                                         QGuestAllocator *alloc)
{
    VssdImage *img = data;
    g_autofree char *stream = g_strdup_printf("%s.migration", img->path);
    g_autofree char *bad = g_strdup_printf("%s.bad", stream);
    g_autofree char *args = vssd_second_args(img, "-incoming 'exec:cat %s'",
                                             bad);
    g_autofree char *err = NULL;
    VssdTest t = { };

    vssd_test_start(&t, obj, data, alloc);
    vssd_pmem_map(&t);
    vssd_balloon_in(&t, &vssd_pmem_region, 12 * MiB, "host");
    vssd_migrate_to_file(t.drv.qts, stream);
    qvirtio_vssd_driver_cleanup(&t.drv);

    /* more blocks than the region has */
    vssd_patch_pmem_stream(stream, bad, VSSD_TEST_BLOCKS + 1,
                           VIRTIO_VSSD_POLICY_HOST);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "the source requests 9 blocks of the pmem "
                            "region, which has 8"));
    g_free(err);

    /* a policy that does not exist */
    vssd_patch_pmem_stream(stream, bad, 6, 7);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "unknown resize policy 7 for the pmem "
                            "region"));
    unlink(bad);
    unlink(stream);
}

/*
 * A host-policy target below the reserved blocks (from a source that
 * allowed it): once only reserved blocks are left, UNPLUG_HOST is refused
 * (NOT_REQUESTED) rather than acknowledged with no blocks, which would
 * ask the driver for another round.
 */
static void test_pmem_migrate_host_reserved(void *obj, void *data,
                                            QGuestAllocator *alloc)
{
    const VssdRegion *pr = &vssd_pmem_region;
    VssdImage *img = data;
    g_autofree char *stream = g_strdup_printf("%s.migration", img->path);
    g_autofree char *low = g_strdup_printf("%s.low", stream);
    g_autofree char *args = vssd_second_args(img, "-incoming 'exec:cat %s'",
                                             low);
    struct virtio_vssd_range out[VSSD_TEST_BLOCKS];
    VssdTest t = { }, t2 = { };
    uint32_t gen, nr;

    vssd_test_start(&t, obj, data, alloc);
    vssd_pmem_map(&t);
    gen = vssd_balloon_in(&t, pr, 12 * MiB, "host");
    vssd_migrate_to_file(t.drv.qts, stream);
    qvirtio_vssd_driver_cleanup(&t.drv);

    vssd_patch_pmem_stream(stream, low, 0, VIRTIO_VSSD_POLICY_HOST);
    vssd_qemu_start(&t2, img, args);
    vssd_pmem_map(&t2);
    vssd_check_query_in(&t2, pr, VSSD_PMEM_SIZE, 0, "shrinking");
    g_assert_cmpuint(vssd_unplug_host_in(&t2, pr, gen, 7, out,
                                         VSSD_TEST_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    vssd_pmem_model_unplugged(&t2, out, nr);
    vssd_check_pmem_map(&t2, "10000000");
    g_assert_cmpuint(vssd_unplug_host_in(&t2, pr, gen, 1, out,
                                         VSSD_TEST_BLOCKS, &nr),
                     ==, VIRTIO_VSSD_R_NOT_REQUESTED);
    g_assert_cmpuint(vssd_query_refused_in(&t2, pr, "not-requested"), ==, 1);
    vssd_check_pmem_map(&t2, "10000000");
    vssd_check_query_in(&t2, pr, VSSD_PMEM_BS, 0, "shrinking");
    vssd_qemu_stop(&t2);
    unlink(low);
    unlink(stream);
}

/* --- registration -------------------------------------------------------- */

/* With the pmem file, not given to the device (tests start their own). */
static void *vssd_test_setup_pmem_file(GString *cmd_line, void *arg)
{
    VssdImage *img = vssd_test_setup_with(cmd_line, "");

    vssd_image_add_pmem(img);
    return img;
}

/* Gives the device @img's pmem file (memdev VSSD_PMEM_ID) as well. */
static void *vssd_test_setup_add_pmem(GString *cmd_line, VssdImage *img)
{
    g_autofree char *pm = NULL;

    vssd_image_add_pmem(img);
    pm = vssd_pmem_args(img);
    g_string_append_printf(cmd_line, " %s ", pm);
    return img;
}

/* With a pmem region: memdev VSSD_PMEM_ID on a fresh pmem file. */
static void *vssd_test_setup_pmem(GString *cmd_line, void *arg)
{
    return vssd_test_setup_add_pmem(cmd_line,
                                    vssd_test_setup_with(cmd_line, ""));
}

/* With a pmem region and a state file. */
static void *vssd_test_setup_pmem_state(GString *cmd_line, void *arg)
{
    return vssd_test_setup_add_pmem(cmd_line,
                                    vssd_test_setup_state(cmd_line, arg));
}

/* With a pmem region only: the image is made, but not given. */
static void *vssd_test_setup_pmem_only(GString *cmd_line, void *arg)
{
    return vssd_test_setup_add_pmem(cmd_line, vssd_image_create());
}

static void register_virtio_vssd_pmem_test(void)
{
    QOSGraphTestOptions pmem_file_opts = {
        .before = vssd_test_setup_pmem_file,
    };
    QOSGraphTestOptions pmem_opts = {
        .before = vssd_test_setup_pmem,
    };
    QOSGraphTestOptions pmem_state_opts = {
        .before = vssd_test_setup_pmem_state,
    };
    QOSGraphTestOptions pmem_only_opts = {
        .before = vssd_test_setup_pmem_only,
    };

    qos_add_test("pmem-realize-errors", "virtio-vssd",
                 test_pmem_realize_errors, &pmem_file_opts);
    qos_add_test("pmem-only", "virtio-vssd", test_pmem_only, &pmem_only_opts);
    qos_add_test("pmem-flush", "virtio-vssd", test_pmem_flush, &pmem_opts);
    qos_add_test("pmem-resize", "virtio-vssd", test_pmem_resize, &pmem_opts);
    qos_add_test("pmem-restart", "virtio-vssd", test_pmem_restart,
                 &pmem_state_opts);
    qos_add_test("pmem-state-duplicate", "virtio-vssd",
                 test_pmem_state_duplicate, &pmem_state_opts);
    qos_add_test("pmem-migrate", "virtio-vssd", test_pmem_migrate,
                 &pmem_opts);
    qos_add_test("pmem-migrate-bad-target", "virtio-vssd",
                 test_pmem_migrate_bad_target, &pmem_opts);
    qos_add_test("pmem-migrate-host-reserved", "virtio-vssd",
                 test_pmem_migrate_host_reserved, &pmem_opts);
    qos_add_test("pmem-hotplug", "virtio-vssd", test_pmem_hotplug,
                 &pmem_file_opts);
}

libqos_init(register_virtio_vssd_pmem_test);
