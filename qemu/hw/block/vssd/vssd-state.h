/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vssd state file: the plugged maps of a device's regions, kept
 * across QEMU restarts (property "state-file").
 *
 * Format (all integers little endian), version 1:
 *
 *   offset  size  field
 *   0       8     magic "VSSDMAP\0"
 *   8       4     version (1)
 *   12      4     number of region records that follow (1..2)
 *   16      4     CRC-32C (Castagnoli, as crc32c(0xffffffff, ...) in QEMU)
 *                 of every byte from offset 24 to the end of the file
 *   20      4     reserved, 0
 *   24            region records, one after the other:
 *
 *     0     2     region (VIRTIO_VSSD_REGION_*: 0 block, 1 pmem)
 *     2     6     reserved, 0
 *     8     8     block size in bytes
 *     16    8     number of blocks N
 *     24    8     number of plugged blocks (the bitmap's popcount)
 *     32    B     bitmap, B = 8 * ceil(N / 64) bytes: bit i (bit i % 8 of
 *                 byte i / 8) set = block i plugged; bits >= N are 0
 *
 * The file is replaced atomically (written to PATH.tmp, fsync, rename,
 * fsync of the folder), so a crash leaves the old or the new map. A file
 * whose magic, version, CRC, popcount or trailing bits are wrong is
 * corrupt; a file whose regions or geometry differ from the device's is
 * refused at start-up with an error naming both: nothing is guessed.
 *
 * Copyright (c) 2026 The vssd authors.
 */

#ifndef HW_VSSD_STATE_H
#define HW_VSSD_STATE_H

#define VSSD_STATE_MAGIC "VSSDMAP"  /* 8 bytes with its NUL */
#define VSSD_STATE_VERSION 1
#define VSSD_STATE_MAX_REGIONS 2

/* One region as the state file sees it. */
typedef struct VSSDStateRegion {
    /* VIRTIO_VSSD_REGION_* */
    uint16_t id;
    /* block size in bytes */
    uint64_t block_size;
    /* number of blocks */
    uint64_t nb_blocks;
    /* host bitmap of nb_blocks bits (set = plugged), filled by load */
    unsigned long *plugged;
} VSSDStateRegion;

/*
 * Reads @path into the bitmaps of @regions (@nr of them). Returns 1 if
 * loaded, 0 if the file does not exist (bitmaps untouched), -1 with @errp
 * set if it cannot be read, is corrupt or does not match @regions (bitmaps
 * may be partly overwritten then).
 */
int vssd_state_load(const char *path, VSSDStateRegion *regions, unsigned nr,
                    Error **errp);

/* Atomically replaces @path with the maps of @regions. */
bool vssd_state_save(const char *path, const VSSDStateRegion *regions,
                     unsigned nr, Error **errp);

#endif /* HW_VSSD_STATE_H */
