/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the virtio-vssd qtests share: see virtio-vssd-helpers.h.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "virtio-vssd-helpers.h"

const VssdRegion vssd_block_region = {
    .name = "block",
    .id = VIRTIO_VSSD_REGION_BLOCK,
    .plugged = offsetof(struct virtio_vssd_config, block_plugged_size),
    .requested = offsetof(struct virtio_vssd_config, block_requested_size),
    .policy = offsetof(struct virtio_vssd_config, block_policy),
    .block_size = VSSD_BLOCK_SIZE,
    .max_size = VSSD_IMAGE_SIZE,
};

const VssdRegion vssd_pmem_region = {
    .name = "pmem",
    .id = VIRTIO_VSSD_REGION_PMEM,
    .plugged = offsetof(struct virtio_vssd_config, pmem_plugged_size),
    .requested = offsetof(struct virtio_vssd_config, pmem_requested_size),
    .policy = offsetof(struct virtio_vssd_config, pmem_policy),
    .block_size = VSSD_PMEM_BS,
    .max_size = VSSD_PMEM_SIZE,
};

/* --- files and models ---------------------------------------------------- */

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
VssdImage *vssd_image_create(void)
{
    VssdImage *img = g_new0(VssdImage, 1);

    img->path = vssd_file_create("vssd-qtest.XXXXXX", VSSD_IMAGE_SIZE,
                                 vssd_pattern, &img->model);
    g_test_queue_destroy(vssd_image_destroy, img);
    return img;
}

/* Adds the pmem file (vssd_pmem_pattern(), fully allocated) to @img. */
void vssd_image_add_pmem(VssdImage *img)
{
    img->pmem_path = vssd_file_create("vssd-qtest-pmem.XXXXXX",
                                      VSSD_PMEM_SIZE, vssd_pmem_pattern,
                                      &img->pmem_model);
}

/*
 * -blockdev and -global options giving the device @img's image as its
 * block region; @shared: another QEMU has it open too.
 */
char *vssd_drive_args(VssdImage *img, bool shared)
{
    return g_strdup_printf("-blockdev driver=file,filename=%s,node-name=%s,"
                           "discard=unmap%s -global virtio-vssd.drive=%s",
                           img->path, QVIRTIO_VSSD_NODE_NAME,
                           shared ? ",locking=off" : "",
                           QVIRTIO_VSSD_NODE_NAME);
}

/* -object option of a memdev of @size bytes on @img's pmem file. */
char *vssd_pmem_object_with(VssdImage *img, uint64_t size, bool share)
{
    return g_strdup_printf("-object memory-backend-file,id=%s,mem-path=%s,"
                           "size=%" PRIu64 ",share=%s", VSSD_PMEM_ID,
                           img->pmem_path, size, share ? "on" : "off");
}

/* -object option of the tests' memdev on @img's pmem file. */
char *vssd_pmem_object(VssdImage *img)
{
    return vssd_pmem_object_with(img, VSSD_PMEM_SIZE, true);
}

/* -object and -global options giving the device @img's pmem file. */
char *vssd_pmem_args(VssdImage *img)
{
    g_autofree char *pm = vssd_pmem_object(img);

    return g_strdup_printf("%s -global virtio-vssd.memdev=%s", pm,
                           VSSD_PMEM_ID);
}

/* The host file has its original size and exactly the model's content. */
void vssd_check_image(VssdTest *t)
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
uint64_t vssd_allocated_units(const char *path)
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
uint64_t vssd_image_blocks(VssdTest *t)
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
void vssd_model_fill(VssdTest *t, uint64_t sector, uint64_t nsec,
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

/* --- the device ---------------------------------------------------------- */

void vssd_test_start(VssdTest *t, void *obj, void *data,
                     QGuestAllocator *alloc)
{
    t->vssd = obj;
    t->drv.dev = t->vssd->vdev;
    t->drv.qts = t->vssd->qts;
    t->drv.alloc = alloc;
    t->pdev = t->vssd->pdev;
    t->img = data;
    qvirtio_vssd_driver_init(&t->drv);
}

/* QEMU still answers QMP and the VM still runs. */
void vssd_check_qemu_alive(VssdTest *t)
{
    QDict *resp = qtest_qmp(t->drv.qts, "{ 'execute': 'query-status' }");
    QDict *ret;

    g_assert_nonnull(resp);
    g_assert_false(qdict_haskey(resp, "error"));
    ret = qdict_get_qdict(resp, "return");
    g_assert_nonnull(ret);
    g_assert_cmpstr(qdict_get_try_str(ret, "status"), ==, "running");
    g_assert_true(qdict_get_try_bool(ret, "running", false));
    qobject_unref(resp);
}

/* --- block requests ------------------------------------------------------ */

int vssd_request(VssdTest *t, const QVirtioVssdBlkReq *req, void *buf,
                 bool may_break)
{
    int ret = qvirtio_vssd_blk_request(&t->drv, req, buf, may_break);

    if (ret != VIRTIO_VSSD_S_OK) {
        return ret;
    }
    switch (req->type) {
    case VIRTIO_VSSD_T_WRITE:
        vssd_model_fill(t, req->sector, req->len / SECTOR, buf);
        break;
    case VIRTIO_VSSD_T_DISCARD:
        /* discarded sectors read as zeroes */
    case VIRTIO_VSSD_T_WRITE_ZEROES:
        vssd_model_fill(t, req->sector, req->num_sectors, NULL);
        break;
    }
    return ret;
}

int vssd_read(VssdTest *t, uint64_t sector, void *buf, uint32_t len)
{
    const QVirtioVssdBlkReq req = {
        .type = VIRTIO_VSSD_T_READ,
        .sector = sector,
        .len = len,
        .device_writes = true,
    };

    return vssd_request(t, &req, buf, false);
}

int vssd_write(VssdTest *t, uint64_t sector, const void *buf, uint32_t len,
               uint16_t flags)
{
    const QVirtioVssdBlkReq req = {
        .type = VIRTIO_VSSD_T_WRITE,
        .flags = flags,
        .sector = sector,
        .len = len,
    };

    return vssd_request(t, &req, (void *)buf, false);
}

int vssd_flush(VssdTest *t)
{
    const QVirtioVssdBlkReq req = { .type = VIRTIO_VSSD_T_FLUSH };

    return vssd_request(t, &req, NULL, false);
}

int vssd_discard(VssdTest *t, uint64_t sector, uint32_t nsec)
{
    const QVirtioVssdBlkReq req = {
        .type = VIRTIO_VSSD_T_DISCARD,
        .sector = sector,
        .num_sectors = nsec,
    };

    return vssd_request(t, &req, NULL, false);
}

int vssd_write_zeroes(VssdTest *t, uint64_t sector, uint32_t nsec,
                      uint16_t flags)
{
    const QVirtioVssdBlkReq req = {
        .type = VIRTIO_VSSD_T_WRITE_ZEROES,
        .flags = flags,
        .sector = sector,
        .num_sectors = nsec,
    };

    return vssd_request(t, &req, NULL, false);
}

/* Reads @nsec sectors at @sector through the device; they match the model. */
void vssd_check_read(VssdTest *t, uint64_t sector, uint32_t nsec)
{
    g_autofree uint8_t *buf = g_malloc(nsec * SECTOR);

    g_assert_cmpint(vssd_read(t, sector, buf, nsec * SECTOR), ==,
                    VIRTIO_VSSD_S_OK);
    g_assert_cmpmem(buf, nsec * SECTOR,
                    t->img->model + sector * SECTOR, nsec * SECTOR);
}

/* Fills @buf with data that differs from the initial image. */
void vssd_fill(void *buf, size_t len, uint8_t seed)
{
    uint8_t *p = buf;
    size_t i;

    for (i = 0; i < len; i++) {
        p[i] = seed ^ (i * 7) ^ (i >> 9);
    }
}

/* GET_MAP from block 0 reports the whole region as one plugged range. */
void vssd_check_map_full(VssdTest *t)
{
    const struct virtio_vssd_ctrl_req req =
        qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK, 0);
    struct virtio_vssd_range ranges[16];
    QVirtioVssdCtrlReply reply;

    qvirtio_vssd_ctrl(&t->drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.nr_ranges, ==, 1);
    g_assert_cmpuint(ranges[0].first, ==, 0);
    g_assert_cmpuint(ranges[0].count, ==, VSSD_NR_BLOCKS);
    g_assert_cmpuint(reply.next_block, ==, VSSD_NR_BLOCKS);
}

/* --- resize protocol ----------------------------------------------------- */

uint64_t vssd_config_q(VssdTest *t, size_t offset)
{
    return qvirtio_config_readq(t->drv.dev, offset);
}

uint32_t vssd_config_generation(VssdTest *t)
{
    return qvirtio_config_readl(t->drv.dev,
                                offsetof(struct virtio_vssd_config,
                                         resize_generation));
}

void vssd_qmp_ok_on(QTestState *qts, const char *cmd)
{
    QDict *resp;

    qtest_qmp_send_raw(qts, "%s", cmd);
    resp = qtest_qmp_receive(qts);
    g_assert_nonnull(resp);
    if (qdict_haskey(resp, "error")) {
        g_test_message("%s: %s", cmd,
                       qdict_get_str(qdict_get_qdict(resp, "error"), "desc"));
    }
    g_assert_false(qdict_haskey(resp, "error"));
    qobject_unref(resp);
}

void vssd_qmp_ok(VssdTest *t, const char *cmd)
{
    vssd_qmp_ok_on(t->drv.qts, cmd);
}

void vssd_qmp_error(VssdTest *t, const char *cmd, const char *what)
{
    QDict *resp, *err;
    const char *desc;

    qtest_qmp_send_raw(t->drv.qts, "%s", cmd);
    resp = qtest_qmp_receive(t->drv.qts);
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
uint32_t vssd_balloon_in(VssdTest *t, const VssdRegion *r,
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
    qvirtio_wait_config_isr(t->drv.dev, QVIRTIO_VSSD_TIMEOUT_US);
    gen = vssd_config_generation(t);
    g_assert_cmpuint(gen, ==, old + 1);
    g_assert_cmpuint(vssd_config_q(t, r->requested), ==, size);
    g_assert_cmpuint(qvirtio_config_readl(t->drv.dev, r->policy), ==,
                     strcmp(policy, "host") ? VIRTIO_VSSD_POLICY_GUEST
                                            : VIRTIO_VSSD_POLICY_HOST);
    return gen;
}

/*
 * A resize request (UNPLUG, PLUG) of @nr_in ranges announcing @announced.
 * Returns VIRTIO_VSSD_RESP_ACK, or NACK/BUSY/ERROR with the reason in
 * *@reason.
 */
uint16_t vssd_resize_request(VssdTest *t, uint16_t type,
                             uint16_t region, uint32_t generation,
                             const struct virtio_vssd_range *in,
                             uint32_t nr_in, uint64_t announced,
                             uint16_t *reason)
{
    const struct virtio_vssd_ctrl_req req =
        qvirtio_vssd_req_list(type, region, generation, announced);
    QVirtioVssdCtrlReply reply;

    qvirtio_vssd_ctrl(&t->drv, &req, in, nr_in, &reply, NULL, 0);
    g_assert_false(qvirtio_vssd_broken(&t->drv));
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
uint16_t vssd_plug_list(VssdTest *t, const VssdRegion *r, bool plug,
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

/*
 * UNPLUG_HOST of @want blocks of region @r with room for @max ranges.
 * Returns the reason; on ACK the ranges are in @out (*@nr_out of them).
 */
uint16_t vssd_unplug_host_in(VssdTest *t, const VssdRegion *r,
                             uint32_t generation, uint64_t want,
                             struct virtio_vssd_range *out,
                             uint32_t max, uint32_t *nr_out)
{
    const struct virtio_vssd_ctrl_req req =
        qvirtio_vssd_req_unplug_host(r->id, generation, want);
    QVirtioVssdCtrlReply reply;
    uint64_t blocks = 0;
    uint32_t i;

    qvirtio_vssd_ctrl(&t->drv, &req, NULL, 0, &reply, out, max);
    g_assert_false(qvirtio_vssd_broken(&t->drv));
    if (reply.status == VIRTIO_VSSD_RESP_ACK) {
        g_assert_cmpuint(reply.nr_ranges, >=, 1);
        g_assert_cmpuint(reply.nr_ranges, <=, max);
        for (i = 0; i < reply.nr_ranges; i++) {
            blocks += out[i].count;
        }
        /* nr_blocks counts exactly the blocks of the ranges */
        g_assert_cmpuint(reply.nr_blocks, ==, blocks);
        g_assert_cmpuint(reply.nr_blocks, <=, want);
        *nr_out = reply.nr_ranges;
        return VIRTIO_VSSD_R_NONE;
    }
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_NACK);
    g_assert_cmpuint(reply.nr_ranges, ==, 0);
    return reply.reason;
}

/* The plugged map of region @r through GET_MAP, one bool per block. */
void vssd_get_plugged_in(VssdTest *t, const VssdRegion *r,
                         bool plugged[VSSD_TEST_BLOCKS])
{
    const struct virtio_vssd_ctrl_req req = qvirtio_vssd_req_get_map(r->id, 0);
    struct virtio_vssd_range ranges[VSSD_TEST_BLOCKS];
    QVirtioVssdCtrlReply reply;
    uint32_t i;
    uint64_t b;

    qvirtio_vssd_ctrl(&t->drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.next_block, ==, VSSD_TEST_BLOCKS);
    memset(plugged, 0, VSSD_TEST_BLOCKS * sizeof(bool));
    for (i = 0; i < reply.nr_ranges; i++) {
        for (b = ranges[i].first; b < ranges[i].first + ranges[i].count; b++) {
            g_assert_cmpuint(b, <, VSSD_TEST_BLOCKS);
            plugged[b] = true;
        }
    }
}

/* query-ssd-balloon for the test device: its regions' entries. */
QList *vssd_query_all(VssdTest *t)
{
    QDict *resp = qtest_qmp(t->drv.qts, "{ 'execute': 'query-ssd-balloon',"
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
QDict *vssd_query_in(VssdTest *t, const VssdRegion *r)
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

/* query-ssd-balloon says @size of @requested, @status for region @r. */
void vssd_check_query_in(VssdTest *t, const VssdRegion *r,
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
void vssd_check_query(VssdTest *t, uint64_t size, uint64_t requested,
                      const char *status)
{
    vssd_check_query_in(t, &vssd_block_region, size, requested, status);
}

/* Counter @name of region @r in query-ssd-balloon. */
uint64_t vssd_query_counter_in(VssdTest *t, const VssdRegion *r,
                               const char *name)
{
    QDict *info = vssd_query_in(t, r);
    uint64_t n = qdict_get_int(info, name);

    qobject_unref(info);
    return n;
}

uint64_t vssd_query_counter(VssdTest *t, const char *name)
{
    return vssd_query_counter_in(t, &vssd_block_region, name);
}

/* Refusals of region @r for @reason in query-ssd-balloon. */
uint64_t vssd_query_refused_in(VssdTest *t, const VssdRegion *r,
                               const char *reason)
{
    QDict *info = vssd_query_in(t, r);
    uint64_t n = qdict_get_int(qdict_get_qdict(info, "refused"), reason);

    qobject_unref(info);
    return n;
}

void vssd_check_refused_in(VssdTest *t, const VssdRegion *r,
                           const char *what, uint16_t got, uint16_t reason,
                           const char *counter)
{
    g_test_message("%s %s: reason %u (expected %u)", r->name, what, got,
                   reason);
    g_assert_cmpuint(got, ==, reason);
    t->nr_refused++;
    g_assert_cmpuint(vssd_query_counter_in(t, r, "replies-refused"), ==,
                     t->nr_refused);
    g_assert_cmpuint(vssd_query_refused_in(t, r, counter), >=, 1);
}

/*
 * Checks that the last SSD_BALLOON_CHANGE sent so far is for region @r
 * and says @size of @requested.
 */
void vssd_take_event_in(VssdTest *t, const VssdRegion *r,
                        uint64_t size, uint64_t requested)
{
    QDict *ev, *last = NULL, *data;

    vssd_check_qemu_alive(t);   /* a QMP round trip collects the events */
    while ((ev = qtest_qmp_event_ref(t->drv.qts, "SSD_BALLOON_CHANGE"))) {
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

/* Lets rate-limited events out (1 s), then vssd_take_event_in(). */
void vssd_check_event_in(VssdTest *t, const VssdRegion *r,
                         uint64_t size, uint64_t requested)
{
    qtest_clock_step(t->drv.qts, 1100 * 1000 * 1000LL);
    vssd_take_event_in(t, r, size, requested);
}

/* --- QEMUs of a test's own ----------------------------------------------- */

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
        g_assert_cmpint(g_get_monotonic_time() - start, <=,
                        QVIRTIO_VSSD_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

void vssd_qemu_start(VssdTest *t, VssdImage *img, const char *extra)
{
    g_autofree char *args = g_strdup_printf("%s %s",
                                            qos_get_current_command_line(),
                                            extra);
    QTestState *qts = qtest_init(args);
    QGuestAllocator *alloc;
    void *obj;

    vssd_wait_running(qts);
    /* the test's path in the qos graph, on this QEMU */
    obj = qos_allocate_objects(qts, &alloc);
    vssd_test_start(t, obj, img, alloc);
}

void vssd_qemu_stop(VssdTest *t)
{
    qvirtio_vssd_driver_cleanup(&t->drv);
    qtest_quit(t->drv.qts);
}

char *vssd_run_failing_qemu(const char *args)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = NULL;
    g_auto(GStrv) argv = NULL;
    char *err = NULL;
    int status;

    g_assert_nonnull(qemu);
    cmd = g_strdup_printf("timeout 30 %s %s -display none -accel qtest %s",
                          qemu, qos_get_current_command_line(), args);
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, NULL));
    g_test_message("qemu %s -> %s", args, err);
    g_assert_false(g_spawn_check_exit_status(status, NULL));
    return err;
}

/* --- command-line hooks -------------------------------------------------- */

void *vssd_test_setup_with(GString *cmd_line, const char *extra)
{
    VssdImage *img = vssd_image_create();
    g_autofree char *drive = vssd_drive_args(img, false);

    g_string_append_printf(cmd_line, " %s %s ", drive, extra);
    return img;
}

void *vssd_test_setup(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line, "");
}

void *vssd_test_setup_iothread(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line,
                                "-object iothread,id=vssd-io "
                                "-global virtio-vssd.iothread=vssd-io");
}

char *vssd_state_path_new(void)
{
    char *path = NULL;
    int fd = g_file_open_tmp("vssd-qtest-state.XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    unlink(path);
    return path;
}

/* With a state file (not created yet: the device creates it). */
void *vssd_test_setup_state(GString *cmd_line, void *arg)
{
    VssdImage *img;
    g_autofree char *path = vssd_state_path_new();
    g_autofree char *extra = NULL;

    extra = g_strdup_printf("-global virtio-vssd.state-file=%s", path);
    img = vssd_test_setup_with(cmd_line, extra);
    img->state_path = g_steal_pointer(&path);
    return img;
}
