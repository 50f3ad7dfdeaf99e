/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd state file: reading and atomically replacing the plugged
 * maps. The format is described in vssd-state.h.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "qemu/crc32c.h"
#include "qapi/error.h"
#include "hw/block/vssd/vssd-state.h"

#define VSSD_STATE_HDR_SIZE 24
#define VSSD_STATE_REGION_HDR_SIZE 32

/* Bytes of the bitmap of @nb_blocks blocks in the file. */
static uint64_t vssd_state_bitmap_bytes(uint64_t nb_blocks)
{
    return DIV_ROUND_UP(nb_blocks, 64) * 8;
}

static uint32_t vssd_state_crc(const uint8_t *buf, size_t len)
{
    return crc32c(0xffffffff, buf + VSSD_STATE_HDR_SIZE,
                  len - VSSD_STATE_HDR_SIZE);
}

static VSSDStateRegion *vssd_state_find(VSSDStateRegion *regions,
                                        unsigned nr, uint16_t id)
{
    unsigned i;

    for (i = 0; i < nr; i++) {
        if (regions[i].id == id) {
            return &regions[i];
        }
    }
    return NULL;
}

/*
 * Parses the region record at @buf (@avail bytes left) into its region;
 * @seen has bit i set for each of @regions[i] read already.
 */
static int64_t vssd_state_parse_region(const char *path, const uint8_t *buf,
                                       size_t avail, VSSDStateRegion *regions,
                                       unsigned nr, uint32_t *seen,
                                       Error **errp)
{
    VSSDStateRegion *r;
    uint16_t id;
    uint64_t block_size, nb_blocks, nb_plugged, bytes, padded_bits;
    g_autofree unsigned long *le = NULL;
    g_autofree unsigned long *host = NULL;

    if (avail < VSSD_STATE_REGION_HDR_SIZE) {
        error_setg(errp, "state file '%s' is corrupt: truncated region "
                   "record", path);
        return -1;
    }
    id = lduw_le_p(buf);
    block_size = ldq_le_p(buf + 8);
    nb_blocks = ldq_le_p(buf + 16);
    nb_plugged = ldq_le_p(buf + 24);

    r = vssd_state_find(regions, nr, id);
    if (!r) {
        error_setg(errp, "state file '%s' holds region %u, which this "
                   "device does not have", path, id);
        return -1;
    }
    if (*seen & BIT(r - regions)) {
        error_setg(errp, "state file '%s' is corrupt: it lists region %u "
                   "twice", path, id);
        return -1;
    }
    *seen |= BIT(r - regions);
    if (block_size != r->block_size || nb_blocks != r->nb_blocks) {
        error_setg(errp, "state file '%s' is for another geometry: region "
                   "%u has %" PRIu64 " blocks of %" PRIu64 " bytes there, "
                   "%" PRIu64 " blocks of %" PRIu64 " bytes here; remove "
                   "the file to start with every block plugged", path, id,
                   nb_blocks, block_size, r->nb_blocks, r->block_size);
        return -1;
    }
    bytes = vssd_state_bitmap_bytes(nb_blocks);
    if (avail - VSSD_STATE_REGION_HDR_SIZE < bytes) {
        error_setg(errp, "state file '%s' is corrupt: truncated bitmap",
                   path);
        return -1;
    }

    padded_bits = bytes * 8;
    le = bitmap_new(padded_bits);
    host = bitmap_new(padded_bits);
    memcpy(le, buf + VSSD_STATE_REGION_HDR_SIZE, bytes);
    bitmap_from_le(host, le, padded_bits);
    if (find_next_bit(host, padded_bits, nb_blocks) != padded_bits ||
        bitmap_count_one(host, nb_blocks) != nb_plugged) {
        error_setg(errp, "state file '%s' is corrupt: bitmap of region %u "
                   "does not match its header", path, id);
        return -1;
    }
    bitmap_copy(r->plugged, host, nb_blocks);
    return VSSD_STATE_REGION_HDR_SIZE + bytes;
}

int vssd_state_load(const char *path, VSSDStateRegion *regions, unsigned nr,
                    Error **errp)
{
    g_autofree gchar *contents = NULL;
    g_autoptr(GError) gerr = NULL;
    const uint8_t *buf;
    gsize len = 0, pos;
    uint32_t nr_records, i, seen = 0;

    if (!g_file_get_contents(path, &contents, &len, &gerr)) {
        if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            return 0;
        }
        error_setg(errp, "cannot read state file: %s", gerr->message);
        return -1;
    }
    buf = (const uint8_t *)contents;

    if (len < VSSD_STATE_HDR_SIZE ||
        memcmp(buf, VSSD_STATE_MAGIC, sizeof(VSSD_STATE_MAGIC))) {
        error_setg(errp, "'%s' is not a vssd state file", path);
        return -1;
    }
    if (ldl_le_p(buf + 8) != VSSD_STATE_VERSION) {
        error_setg(errp, "state file '%s' has version %" PRIu32 ", this "
                   "QEMU reads version %d", path, ldl_le_p(buf + 8),
                   VSSD_STATE_VERSION);
        return -1;
    }
    if (ldl_le_p(buf + 16) != vssd_state_crc(buf, len)) {
        error_setg(errp, "state file '%s' is corrupt: CRC mismatch", path);
        return -1;
    }
    nr_records = ldl_le_p(buf + 12);
    QEMU_BUILD_BUG_ON(VSSD_STATE_MAX_REGIONS > 32);
    if (nr_records != nr) {
        error_setg(errp, "state file '%s' holds %" PRIu32 " regions, the "
                   "device has %u", path, nr_records, nr);
        return -1;
    }

    pos = VSSD_STATE_HDR_SIZE;
    for (i = 0; i < nr_records; i++) {
        int64_t used = vssd_state_parse_region(path, buf + pos, len - pos,
                                               regions, nr, &seen, errp);

        if (used < 0) {
            return -1;
        }
        pos += used;
    }
    if (pos != len) {
        error_setg(errp, "state file '%s' is corrupt: %zu bytes of "
                   "trailing data", path, (size_t)(len - pos));
        return -1;
    }
    return 1;
}

/* Writes all of @buf to a new file @tmp and syncs it. */
static bool vssd_state_write_tmp(const char *tmp, const uint8_t *buf,
                                 size_t len, Error **errp)
{
    int fd = qemu_create(tmp, O_WRONLY | O_TRUNC, 0644, errp);

    if (fd < 0) {
        return false;
    }
    if (qemu_write_full(fd, buf, len) != len || fsync(fd) < 0) {
        error_setg_errno(errp, errno, "cannot write '%s'", tmp);
        close(fd);
        unlink(tmp);
        return false;
    }
    if (close(fd) < 0) {
        error_setg_errno(errp, errno, "cannot write '%s'", tmp);
        unlink(tmp);
        return false;
    }
    return true;
}

bool vssd_state_save(const char *path, const VSSDStateRegion *regions,
                     unsigned nr, Error **errp)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree uint8_t *buf = NULL;
    size_t len = VSSD_STATE_HDR_SIZE, pos;
    unsigned i;
    int dirfd;

    for (i = 0; i < nr; i++) {
        len += VSSD_STATE_REGION_HDR_SIZE +
               vssd_state_bitmap_bytes(regions[i].nb_blocks);
    }
    buf = g_malloc0(len);
    memcpy(buf, VSSD_STATE_MAGIC, sizeof(VSSD_STATE_MAGIC));
    stl_le_p(buf + 8, VSSD_STATE_VERSION);
    stl_le_p(buf + 12, nr);

    pos = VSSD_STATE_HDR_SIZE;
    for (i = 0; i < nr; i++) {
        const VSSDStateRegion *r = &regions[i];
        const uint64_t bytes = vssd_state_bitmap_bytes(r->nb_blocks);
        g_autofree unsigned long *le = bitmap_new(bytes * 8);
        g_autofree unsigned long *host = bitmap_new(bytes * 8);

        stw_le_p(buf + pos, r->id);
        stq_le_p(buf + pos + 8, r->block_size);
        stq_le_p(buf + pos + 16, r->nb_blocks);
        stq_le_p(buf + pos + 24, bitmap_count_one(r->plugged, r->nb_blocks));
        bitmap_copy(host, r->plugged, r->nb_blocks);
        bitmap_to_le(le, host, bytes * 8);
        memcpy(buf + pos + VSSD_STATE_REGION_HDR_SIZE, le, bytes);
        pos += VSSD_STATE_REGION_HDR_SIZE + bytes;
    }
    stl_le_p(buf + 16, vssd_state_crc(buf, len));

    if (!vssd_state_write_tmp(tmp, buf, len, errp)) {
        return false;
    }
    if (rename(tmp, path) < 0) {
        error_setg_errno(errp, errno, "cannot rename '%s' to '%s'", tmp,
                         path);
        unlink(tmp);
        return false;
    }
    /* the rename itself must survive a crash */
    dirfd = qemu_open(dir, O_RDONLY | O_DIRECTORY, NULL);
    if (dirfd >= 0) {
        fsync(dirfd);
        close(dirfd);
    }
    return true;
}
