/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcases for the virtio-vssd device: the resize protocol of the
 * block region. ssd-balloon, the config interrupt, UNPLUG/PLUG/UNPLUG_HOST
 * lists and their ACK, the plugged map, UNPLUGGED I/O, the host file's
 * allocation, query-ssd-balloon and SSD_BALLOON_CHANGE; every malformed
 * reply refused with its reason and counted; a superseding target; reset
 * mid-way; every bad QMP and HMP argument; the state file across a QEMU
 * restart.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_config.h"
#include "qemu/host-utils.h"
#include "standard-headers/linux/virtio_vssd.h"
#include "virtio-vssd-helpers.h"

/* --- the block region's map, counters and events ------------------------- */

static uint64_t vssd_config_plugged(VssdTest *t)
{
    return vssd_config_q(t, offsetof(struct virtio_vssd_config,
                                     block_plugged_size));
}

static uint32_t vssd_config_policy(VssdTest *t)
{
    return qvirtio_config_readl(t->drv.dev,
                                offsetof(struct virtio_vssd_config,
                                         block_policy));
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

static uint16_t vssd_unplug_host(VssdTest *t, uint32_t generation,
                                 uint64_t want, struct virtio_vssd_range *out,
                                 uint32_t max, uint32_t *nr_out)
{
    return vssd_unplug_host_in(t, &vssd_block_region, generation, want, out,
                               max, nr_out);
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

/* The block region's entry of query-ssd-balloon for the test device. */
static QDict *vssd_query(VssdTest *t)
{
    return vssd_query_in(t, &vssd_block_region);
}

static uint64_t vssd_query_refused(VssdTest *t, const char *reason)
{
    return vssd_query_refused_in(t, &vssd_block_region, reason);
}

static void vssd_take_event(VssdTest *t, uint64_t size, uint64_t requested)
{
    vssd_take_event_in(t, &vssd_block_region, size, requested);
}

/* No SSD_BALLOON_CHANGE is pending. */
static void vssd_check_no_event(VssdTest *t)
{
    QDict *ev;

    vssd_check_qemu_alive(t);
    ev = qtest_qmp_event_ref(t->drv.qts, "SSD_BALLOON_CHANGE");
    g_assert_null(ev);
}

/* One malformed reply: refused with @reason, counted, nothing changed. */
static void vssd_check_refused(VssdTest *t, const char *what, uint16_t got,
                               uint16_t reason, const char *counter,
                               const char *map)
{
    vssd_check_refused_in(t, &vssd_block_region, what, got, reason, counter);
    vssd_check_qemu_alive(t);
    vssd_check_map(t, map);
    vssd_check_image(t);
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

static uint64_t vssd_config_requested(VssdTest *t)
{
    return vssd_config_q(t, offsetof(struct virtio_vssd_config,
                                     block_requested_size));
}

/* ssd-balloon for the block region. */
static uint32_t vssd_balloon(VssdTest *t, uint64_t size, const char *policy)
{
    return vssd_balloon_in(t, &vssd_block_region, size, policy);
}

static void vssd_check_event(VssdTest *t, uint64_t size, uint64_t requested)
{
    vssd_check_event_in(t, &vssd_block_region, size, requested);
}

/* --- tests --------------------------------------------------------------- */

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
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    qvirtio_vssd_driver_cleanup(&t.drv);
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
                        gen, three, 3,
                        qvirtio_config_readl(t.drv.dev,
                            offsetof(struct virtio_vssd_config,
                                     max_ranges)) + 1, &reason);
    vssd_check_refused(&t, "more than max_ranges announced",
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
    qvirtio_vssd_driver_cleanup(&t.drv);
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
    qvirtio_vssd_driver_cleanup(&t.drv);
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

    qvirtio_vssd_driver_reinit(&t.drv);
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
    qvirtio_reset(t.drv.dev);
    vssd_qmp_error(&t, "{ 'execute': 'ssd-balloon', 'arguments': {"
                   " 'device': 'vssd0', 'size': 0 } }", "not ready");
    qvirtio_vssd_driver_reinit(&t.drv);
    vssd_check_map(&t, "01100101");
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
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
        out = qtest_hmp(t.drv.qts, "%s", hmp[i].cmd);
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
    out = qtest_hmp(t.drv.qts, "ssd_balloon vssd0 7M");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    qvirtio_wait_config_isr(t.drv.dev, QVIRTIO_VSSD_TIMEOUT_US);
    g_assert_cmpuint(vssd_config_requested(&t), ==, VSSD_MiB(7));
    out = qtest_hmp(t.drv.qts, "ssd_balloon /machine/peripheral/vssd0 6291456b "
                    "block host");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    qvirtio_wait_config_isr(t.drv.dev, QVIRTIO_VSSD_TIMEOUT_US);
    g_assert_cmpuint(vssd_config_requested(&t), ==, VSSD_MiB(6));
    g_assert_cmpuint(vssd_config_policy(&t), ==, VIRTIO_VSSD_POLICY_HOST);
    out = qtest_hmp(t.drv.qts, "info ssd_balloon");
    g_test_message("info ssd_balloon -> %s", out);
    g_assert_nonnull(strstr(out, "vssd0"));
    g_assert_nonnull(strstr(out, "requested-size 6291456"));
    g_assert_nonnull(strstr(out, "status shrinking"));
    g_free(out);

    /* a driver without VIRTIO_VSSD_F_RESIZE cannot be asked */
    qvirtio_vssd_driver_cleanup(&t.drv);
    qvirtio_start_device(t.drv.dev);
    qvirtio_set_features(t.drv.dev, (1ull << VIRTIO_F_VERSION_1) |
                                (1ull << VIRTIO_VSSD_F_BLOCK_REGION));
    qvirtio_set_driver_ok(t.drv.dev);
    vssd_qmp_error(&t, "{ 'execute': 'ssd-balloon', 'arguments': {"
                   " 'device': 'vssd0', 'size': 0 } }",
                   "does not support resizing");
    vssd_check_qemu_alive(&t);
}

static void test_resize_restart(void *obj, void *data, QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(2, 2), R(5, 1), R(7, 1) };
    VssdImage *img = data;
    VssdTest t = { }, t2 = { };
    g_autofree char *drive = NULL;
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
    qvirtio_vssd_driver_cleanup(&t.drv);

    /* a second QEMU on the same files: the same map */
    drive = vssd_drive_args(img, true);
    args = g_strdup_printf("%s -global virtio-vssd.state-file=%s", drive,
                           img->state_path);
    vssd_qemu_start(&t2, img, args);
    vssd_check_map(&t2, "11001010");
    vssd_check_query(&t2, VSSD_MiB(4), VSSD_MiB(4), "idle");
    vssd_check_image(&t2);
    vssd_qemu_stop(&t2);

    /* a state file for another geometry or a corrupt one is refused */
    g_free(args);
    args = g_strdup_printf("%s -global virtio-vssd.block-size=2M "
                           "-global virtio-vssd.state-file=%s", drive,
                           img->state_path);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "'state-file' property"));
    g_assert_nonnull(strstr(err, "another geometry"));
    g_clear_pointer(&err, g_free);

    contents[30] ^= 0x40;
    corrupt = g_strdup_printf("%s.corrupt", img->state_path);
    g_assert_true(g_file_set_contents(corrupt, contents, len, NULL));
    g_free(args);
    args = g_strdup_printf("%s -global virtio-vssd.state-file=%s", drive,
                           corrupt);
    err = vssd_run_failing_qemu(args);
    g_assert_nonnull(strstr(err, "corrupt"));
    unlink(corrupt);
}

/*
 * A device that takes at most 2 ranges per request (x-max-ranges=2,
 * config max_ranges): a longer list is refused whole, GET_MAP pages its
 * answer, UNPLUG_HOST returns no more than 2 ranges.
 */
static void test_resize_max_ranges(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    const struct virtio_vssd_range three[] = { R(1, 1), R(3, 1), R(5, 1) };
    const struct virtio_vssd_range page1[] = { R(0, 1), R(2, 1) };
    const struct virtio_vssd_range page2[] = { R(4, 1), R(6, 2) };
    struct virtio_vssd_range ranges[VSSD_NR_BLOCKS];
    struct virtio_vssd_ctrl_req req;
    QVirtioVssdCtrlReply reply;
    VssdTest t = { };
    uint32_t gen, nr;
    uint16_t reason;

    vssd_test_start(&t, obj, data, alloc);
    g_assert_cmpuint(qvirtio_config_readl(t.drv.dev,
                         offsetof(struct virtio_vssd_config, max_ranges)),
                     ==, 2);

    gen = vssd_balloon(&t, VSSD_MiB(5), "guest");
    vssd_resize_request(&t, VIRTIO_VSSD_CTRL_UNPLUG, VIRTIO_VSSD_REGION_BLOCK,
                        gen, three, 3, 3, &reason);
    vssd_check_refused(&t, "3 ranges with max_ranges 2", reason,
                       VIRTIO_VSSD_R_BAD_REQUEST, "bad-request", "11111111");
    g_assert_cmpuint(vssd_unplug(&t, gen, three, 2), ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(vssd_unplug(&t, gen, three + 2, 1), ==,
                     VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, three, 3);
    g_assert_cmpuint(vssd_config_plugged(&t), ==, VSSD_MiB(5));

    /* plugged: 0, 2, 4, 6-7; two ranges per answer */
    req = qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK, 0);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.nr_ranges, ==, 2);
    g_assert_cmpmem(ranges, sizeof(page1), page1, sizeof(page1));
    g_assert_cmpuint(reply.next_block, ==, 4);
    req = qvirtio_vssd_req_get_map(VIRTIO_VSSD_REGION_BLOCK, 4);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, ranges,
                      G_N_ELEMENTS(ranges));
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ACK);
    g_assert_cmpuint(reply.nr_ranges, ==, 2);
    g_assert_cmpmem(ranges, sizeof(page2), page2, sizeof(page2));
    g_assert_cmpuint(reply.next_block, ==, VSSD_NR_BLOCKS);

    /* the device picks 3 of 5 scattered blocks: at most 2 ranges back */
    gen = vssd_balloon(&t, VSSD_MiB(2), "host");
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 3, ranges,
                                      G_N_ELEMENTS(ranges), &nr),
                     ==, VIRTIO_VSSD_R_NONE);
    g_assert_cmpuint(nr, >=, 1);
    g_assert_cmpuint(nr, <=, 2);
    vssd_model_unplugged(&t, ranges, nr);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* The block map in @img's state file: bit b is block b, 1 plugged. */
static uint8_t vssd_state_map(VssdImage *img)
{
    g_autofree gchar *contents = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(img->state_path, &contents, &len,
                                      NULL));
    g_assert_cmpuint(len, ==, 24 + 32 + 8);
    return contents[24 + 32];
}

/*
 * Host failures during a resize lose nothing and hide nothing. The
 * backend is blkdebug failing the first two write-zeroes with EIO:
 *  - UNPLUG: the blocks are recorded unplugged before they are zeroed, so
 *    a failed zeroing still answers ACK (the guest gave them up) and is
 *    counted in host-errors; the image is untouched;
 *  - UNPLUG_HOST: the same, and the reply lists exactly the blocks taken;
 *  - PLUG zeroes the blocks again before the guest gets them;
 *  - a state file that cannot be written: ERROR and nothing changed, in
 *    the map, the state file and the image.
 */
static void test_resize_host_failures(void *obj, void *data,
                                      QGuestAllocator *alloc)
{
    const struct virtio_vssd_range give[] = { R(1, 2) };
    const struct virtio_vssd_range first[] = { R(0, 1) };
    struct virtio_vssd_range taken[VSSD_NR_BLOCKS], back[VSSD_NR_BLOCKS];
    VssdImage *img = data;
    g_autofree char *tmp = g_strdup_printf("%s.tmp", img->state_path);
    struct virtio_vssd_ctrl_req req;
    QVirtioVssdCtrlReply reply;
    bool plugged[VSSD_NR_BLOCKS];
    VssdTest t = { };
    uint16_t reason;
    uint32_t gen, nr, i, b, n = 0;

    vssd_test_start(&t, obj, data, alloc);

    /* guest policy, zeroing fails: ACK, unplugged, nothing zeroed */
    gen = vssd_balloon(&t, VSSD_MiB(6), "guest");
    g_assert_cmpuint(vssd_unplug(&t, gen, give, 1), ==, VIRTIO_VSSD_R_NONE);
    vssd_check_map(&t, "10011111");
    g_assert_cmphex(vssd_state_map(img), ==, 0xf9);
    g_assert_cmpuint(vssd_query_counter(&t, "host-errors"), ==, 1);
    vssd_check_image(&t);

    /* host policy, zeroing fails: ACK with exactly the blocks taken */
    gen = vssd_balloon(&t, VSSD_MiB(4), "host");
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 2, taken, VSSD_NR_BLOCKS,
                                      &nr), ==, VIRTIO_VSSD_R_NONE);
    vssd_get_plugged(&t, plugged);
    for (b = 0; b < VSSD_NR_BLOCKS; b++) {
        bool in_taken = false;

        for (i = 0; i < nr; i++) {
            in_taken |= b >= taken[i].first &&
                        b < taken[i].first + taken[i].count;
        }
        /* plugged now: neither given back nor taken */
        g_assert_cmpint(plugged[b], ==, !in_taken && (b == 0 || b > 2));
        g_assert_cmpint(!!(vssd_state_map(img) & (1 << b)), ==, plugged[b]);
        if (!plugged[b]) {
            back[n++] = (struct virtio_vssd_range) R(b, 1);
        }
    }
    g_assert_cmpuint(n, ==, 4);
    g_assert_cmpuint(vssd_query_counter(&t, "host-errors"), ==, 2);
    vssd_check_image(&t);

    /* grow: the blocks are zeroed now, before the guest gets them */
    gen = vssd_balloon(&t, VSSD_MiB(8), "guest");
    g_assert_cmpuint(vssd_plug(&t, gen, back, n), ==, VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, back, n);
    vssd_check_map(&t, "11111111");
    g_assert_cmphex(vssd_state_map(img), ==, 0xff);
    vssd_check_image(&t);

    /* the state file cannot be written: ERROR, nothing changed */
    g_assert_cmpint(mkdir(tmp, 0700), ==, 0);
    gen = vssd_balloon(&t, VSSD_MiB(7), "guest");
    g_assert_cmpuint(vssd_resize_request(&t, VIRTIO_VSSD_CTRL_UNPLUG,
                                         VIRTIO_VSSD_REGION_BLOCK, gen,
                                         first, 1, 1, &reason),
                     ==, VIRTIO_VSSD_RESP_ERROR);
    vssd_check_map(&t, "11111111");
    g_assert_cmphex(vssd_state_map(img), ==, 0xff);
    g_assert_cmpuint(vssd_query_counter(&t, "host-errors"), ==, 3);
    vssd_check_image(&t);
    gen = vssd_balloon(&t, VSSD_MiB(7), "host");
    req = qvirtio_vssd_req_unplug_host(VIRTIO_VSSD_REGION_BLOCK, gen, 1);
    qvirtio_vssd_ctrl(&t.drv, &req, NULL, 0, &reply, taken, VSSD_NR_BLOCKS);
    g_assert_cmpuint(reply.status, ==, VIRTIO_VSSD_RESP_ERROR);
    g_assert_cmpuint(reply.nr_ranges, ==, 0);
    vssd_check_map(&t, "11111111");
    g_assert_cmphex(vssd_state_map(img), ==, 0xff);
    vssd_check_image(&t);

    /* once it can be written again, the same request goes through */
    g_assert_cmpint(rmdir(tmp), ==, 0);
    g_assert_cmpuint(vssd_unplug_host(&t, gen, 1, taken, VSSD_NR_BLOCKS,
                                      &nr), ==, VIRTIO_VSSD_R_NONE);
    vssd_model_unplugged(&t, taken, nr);
    g_assert_cmpuint(ctpop8(vssd_state_map(img)), ==, 7);
    g_assert_cmpuint(vssd_query_counter(&t, "host-errors"), ==, 4);
    vssd_check_image(&t);
    qvirtio_vssd_driver_cleanup(&t.drv);
}

/* --- registration -------------------------------------------------------- */

/*
 * With a state file, on blkdebug over the image: the first two
 * write-zeroes fail with EIO.
 */
static void *vssd_test_setup_faults(GString *cmd_line, void *arg)
{
    VssdImage *img = vssd_image_create();
    int i;

    img->state_path = vssd_state_path_new();
    g_string_append_printf(cmd_line, " -blockdev driver=file,filename=%s,"
                           "node-name=" QVIRTIO_VSSD_NODE_NAME ",discard=unmap"
                           " -global virtio-vssd.state-file=%s"
                           " -blockdev driver=blkdebug,node-name=vssd-dbg,"
                           "image=" QVIRTIO_VSSD_NODE_NAME, img->path,
                           img->state_path);
    for (i = 0; i < 2; i++) {
        g_string_append_printf(cmd_line, ",inject-error.%d.event=pwritev_zero,"
                               "inject-error.%d.iotype=write-zeroes,"
                               "inject-error.%d.errno=%d,"
                               "inject-error.%d.once=on", i, i, i, EIO, i);
    }
    g_string_append(cmd_line, " -global virtio-vssd.drive=vssd-dbg ");
    return img;
}

static void *vssd_test_setup_max_ranges(GString *cmd_line, void *arg)
{
    return vssd_test_setup_with(cmd_line,
                                "-global virtio-vssd.x-max-ranges=2");
}

static void register_virtio_vssd_resize_test(void)
{
    QOSGraphTestOptions opts = {
        .before = vssd_test_setup,
    };
    QOSGraphTestOptions iothread_opts = {
        .before = vssd_test_setup_iothread,
    };
    QOSGraphTestOptions state_opts = {
        .before = vssd_test_setup_state,
    };
    QOSGraphTestOptions max_ranges_opts = {
        .before = vssd_test_setup_max_ranges,
    };
    QOSGraphTestOptions faults_opts = {
        .before = vssd_test_setup_faults,
    };

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
    qos_add_test("resize-max-ranges", "virtio-vssd", test_resize_max_ranges,
                 &max_ranges_opts);
    qos_add_test("resize-host-failures", "virtio-vssd",
                 test_resize_host_failures, &faults_opts);
}

libqos_init(register_virtio_vssd_resize_test);
