/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-vssd: elastic, isolated SSD and persistent-memory capacity for VMs.
 *
 * This header is the whole wire protocol between the virtio-vssd device and
 * its drivers. It is shared verbatim by the QEMU device model and the Linux
 * guest driver and is licensed permissively so that anyone can implement
 * either side.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Regions
 * =======
 *
 * A vssd device exposes up to two regions, each made of fixed-size blocks:
 *
 *   - the *block region* (VIRTIO_VSSD_F_BLOCK_REGION): a disk of
 *     block_region_size bytes, read and written with requests on the
 *     request queues. Its geometry never changes while the device lives;
 *     what changes is which of its blocks are *plugged* (usable).
 *   - the *persistent-memory region* (VIRTIO_VSSD_F_PMEM_REGION): byte
 *     addressable memory exposed as virtio shared memory region
 *     VIRTIO_VSSD_SHM_PMEM; writes become durable on the host with a
 *     VIRTIO_VSSD_CTRL_PMEM_FLUSH request.
 *
 * A device offers at least one of the two. The config fields of a region
 * the device does not offer read as 0. Without the block region the
 * request queues still exist (the control queue keeps its index) and every
 * block request completes with VIRTIO_VSSD_S_UNSUPP.
 *
 * Virtqueues
 * ==========
 *
 *   0 .. num_queues - 1   request queues (block I/O), one per guest hw queue
 *   num_queues            control queue (resize, plugged map, pmem flush)
 *
 * num_queues is read from the config space when VIRTIO_VSSD_F_MQ was
 * negotiated and is 1 otherwise. The control queue always exists.
 *
 * Block I/O
 * =========
 *
 * A block request is a chain of descriptors:
 *
 *   struct virtio_vssd_blk_req   (device-readable)
 *   data buffers                 (device-readable for WRITE, device-writable
 *                                 for READ and GET_ID, absent otherwise)
 *   __u8 status                  (device-writable, last byte of the chain)
 *
 * Sectors are 512 bytes (VIRTIO_VSSD_SECTOR_SIZE) whatever the block size.
 * READ and WRITE move the bytes of the data buffers, which must be a
 * multiple of the sector size and at most max_sectors sectors, starting at
 * `sector`; the driver puts at most seg_max data buffers in one request.
 * DISCARD and WRITE_ZEROES carry no data: they act on `num_sectors`
 * sectors starting at `sector`. After DISCARD the range reads as zeroes
 * and the host is free to release its storage; WRITE_ZEROES keeps the
 * storage allocated unless VIRTIO_VSSD_REQ_F_UNMAP is set. FLUSH makes
 * every completed write durable. A WRITE with VIRTIO_VSSD_REQ_F_FUA
 * completes only once its data is durable. GET_ID fills up to
 * VIRTIO_VSSD_ID_BYTES bytes of a device-writable buffer with a serial
 * string, NUL-padded and not necessarily NUL-terminated.
 *
 * Status of a block request, checked in this order:
 *
 *   VIRTIO_VSSD_S_UNSUPP     an unknown type, a flag that does not apply to
 *                            the type, or a device without the block region
 *   VIRTIO_VSSD_S_INVALID    a field the type does not use is not zero
 *                            (num_sectors of READ, WRITE, FLUSH, GET_ID;
 *                            sector of FLUSH, GET_ID); READ or WRITE of 0
 *                            bytes, of a length that is not a multiple of
 *                            the sector size or of more than max_sectors
 *                            sectors; DISCARD or WRITE_ZEROES of 0 sectors;
 *                            GET_ID without a buffer
 *   VIRTIO_VSSD_S_RANGE      beyond the end of the region, or overflowing
 *   VIRTIO_VSSD_S_UNPLUGGED  touches a block that is not plugged (no data
 *                            moved)
 *   VIRTIO_VSSD_S_IOERR      the host failed
 *   VIRTIO_VSSD_S_OK         done
 *
 * A chain that cannot be parsed at all (no room for the header or the
 * status byte, a device-writable header, a device-readable status, data
 * buffers in the wrong direction for the request type) makes the device
 * "broken" (VIRTIO_CONFIG_S_NEEDS_RESET); the device never touches guest
 * memory outside the chain.
 *
 * Resize (VIRTIO_VSSD_F_RESIZE)
 * =============================
 *
 * For each region the config space holds the plugged size and the size
 * requested by the host. When the host changes requested_size (or the
 * policy) it bumps resize_generation and raises a config interrupt. The
 * driver then:
 *
 *   - plugged > requested, policy GUEST: picks (plugged - requested) / bs
 *     plugged blocks, stops using them and sends VIRTIO_VSSD_CTRL_UNPLUG with
 *     the list as ranges. The device discards them (the host storage behind
 *     them is freed) and answers ACK; they are unplugged from then on.
 *   - plugged > requested, policy HOST: sends VIRTIO_VSSD_CTRL_UNPLUG_HOST
 *     with a device-writable range buffer; the device chooses the blocks,
 *     unplugs them and returns the list. The guest loses their data.
 *   - plugged < requested: sends VIRTIO_VSSD_CTRL_PLUG with ranges of
 *     unplugged blocks it wants back; they read as zeroes once plugged.
 *
 * Each list is one request: any resize whose list fits in max_ranges
 * ranges completes in one round trip; larger lists take
 * ceil(ranges / max_ranges) round trips. Every request carries the
 * resize_generation it answers; a request for an older generation is
 * NACKed with VIRTIO_VSSD_R_STALE so that a new target simply replaces the
 * old one. A list is accepted or refused as a whole: a refused list changes
 * nothing. Fewer blocks than asked are accepted and the driver sends
 * further lists. ACK comes once the host has recorded the new plugged
 * map; ERROR means the host failed and, like NACK, that the plugged map is
 * unchanged. Freeing the host storage of unplugged blocks is the host's
 * own business: if it fails the blocks are unplugged all the same (the
 * answer is ACK) and the host zeroes them before they are plugged again.
 *
 * VIRTIO_VSSD_CTRL_GET_MAP returns the plugged blocks of a region as ranges,
 * starting at a given block; a driver calls it at probe time because the
 * plugged map outlives guest reboots and may outlive the device's process
 * on the host; a device that keeps no map starts with every block plugged.
 * On device reset the plugged map, the requested sizes and
 * resize_generation are kept and any resize in progress restarts from the
 * config space.
 *
 * Control requests
 * ================
 *
 *   struct virtio_vssd_ctrl_req       (device-readable)
 *   struct virtio_vssd_range[nr]      (device-readable, UNPLUG and PLUG)
 *   struct virtio_vssd_ctrl_resp      (device-writable)
 *   struct virtio_vssd_range[max]     (device-writable, GET_MAP, UNPLUG_HOST)
 *
 * The request header names the type and the region; its union holds the
 * type's arguments. Every field named `reserved`, and the bytes of the
 * union a type does not use, must be zero: the device NACKs a request
 * where they are not with VIRTIO_VSSD_R_BAD_REQUEST, so that they can be
 * given a meaning later. The device writes the whole response header, with
 * zeroes in what a reply does not use; ranges follow only in an ACK.
 * Control requests are answered in any order: PMEM_FLUSH completes when
 * the host is done, other requests may be answered before it.
 *
 * Each request is checked in this order, and the first failed check is
 * the answer; VIRTIO_VSSD_RESP_ is left out of the status names:
 *
 *   UNPLUG, PLUG (u.unplug, u.plug: generation, nr_ranges)
 *     NACK BAD_REQUEST   unknown region; nr_ranges 0 or above max_ranges;
 *                        a reserved byte not zero; more range bytes than
 *                        nr_ranges announces
 *     NACK TRUNCATED     fewer range bytes than nr_ranges announces
 *     BUSY               the device cannot resize now (e.g. migration)
 *     NACK STALE         generation is not the current resize_generation
 *     NACK NOT_REQUESTED no resize in this direction; UNPLUG under policy
 *                        HOST
 *     NACK BAD_REQUEST   a range of 0 blocks
 *     NACK RANGE         a block outside the region
 *     NACK DUPLICATE     a block listed twice (also by overlapping ranges)
 *     NACK NOT_PLUGGED   UNPLUG of a block that is not plugged
 *     NACK PLUGGED       PLUG of a block that is plugged
 *     NACK TOO_MANY      more than |plugged - requested| / block size blocks
 *     ERROR              the host failed; nothing changed
 *     ACK                the blocks are unplugged (plugged)
 *
 *   UNPLUG_HOST (u.unplug_host: generation, nr_blocks)
 *     NACK BAD_REQUEST   unknown region; nr_blocks 0; a reserved byte not
 *                        zero; anything after the header; no room for a
 *                        range after the response
 *     BUSY, NACK STALE   as for UNPLUG
 *     NACK NOT_REQUESTED no shrink requested, policy GUEST, or only blocks
 *                        a host-policy shrink never takes are left
 *     NACK TOO_MANY      nr_blocks above |plugged - requested| / block size
 *     ERROR              the host failed; nothing changed
 *     ACK                u.unplug_host.nr_ranges ranges follow the
 *                        response, holding u.unplug_host.nr_blocks blocks
 *                        (at least one; fewer than asked when the ranges
 *                        do not fit in the buffer or in max_ranges)
 *
 *   GET_MAP (u.get_map: first_block)
 *     NACK BAD_REQUEST   unknown region; a reserved byte not zero;
 *                        anything after the header; no room for a range
 *                        after the response
 *     NACK RANGE         first_block beyond the region's block count
 *     ACK                u.get_map.nr_ranges ranges of plugged blocks at
 *                        or after first_block follow the response (as many
 *                        as fit); u.get_map.next_block is the first block
 *                        not reported yet, or the region's block count
 *                        when the list is complete
 *
 *   PMEM_FLUSH (u.pmem_flush: offset, length)
 *     NACK BAD_REQUEST   a region other than VIRTIO_VSSD_REGION_PMEM, a
 *                        device without it, length 0, anything after the
 *                        header
 *     NACK RANGE         bytes outside the region (or offset + length
 *                        overflowing)
 *     NACK NOT_PLUGGED   touches a block that is not plugged
 *     ERROR              the host failed: the data may not be durable
 *     ACK                the bytes are durable (see below)
 *
 *   any other type: NACK BAD_REQUEST.
 *
 * Persistent memory (VIRTIO_VSSD_F_PMEM_REGION)
 * =============================================
 *
 * The region is virtio shared memory region VIRTIO_VSSD_SHM_PMEM: byte i
 * of the region is byte i of the shared memory region, which is
 * pmem_region_size bytes long (pmem_region_size / pmem_block_size blocks;
 * block b is bytes [b * pmem_block_size, (b + 1) * pmem_block_size)). On
 * PCI it is described by a VIRTIO_PCI_CAP_SHARED_MEMORY_CFG capability
 * (struct virtio_pci_cap64, cap.id = VIRTIO_VSSD_SHM_PMEM) pointing into a
 * 64-bit prefetchable memory BAR, which may be larger than the region;
 * Linux finds it with virtio_get_shm_region(). The memory behaves like RAM
 * and may be mapped write-back cached; the driver must not rely on the
 * region's size being a power of two.
 *
 * Durability. The region is backed by host storage. A guest store reaches
 * the host once it has left the guest CPU's caches (after a cache-line
 * write-back such as clwb/clflushopt and a fence, or when the line is
 * evicted); from then on it survives a crash of the guest or of the
 * device's process on the host, but not a host crash or power loss. It is
 * durable (survives those too) once a VIRTIO_VSSD_CTRL_PMEM_FLUSH covering
 * it, sent after the write-back, has been acknowledged. A flush does not
 * order or write back the guest's CPU caches: the driver does that before
 * sending it. A flush writes back whole host pages: its range needs no
 * alignment. A device whose region has no persistent backing (nothing
 * outlives it) acknowledges flushes at once. Any number of flushes may be
 * outstanding, and the device works on them while it serves other
 * requests; a device reset waits for them (their replies are lost with the
 * rings).
 *
 * Resizing works as for the block region, with region
 * VIRTIO_VSSD_REGION_PMEM and the pmem_* config fields. Unplugged blocks
 * are discarded on the host (its storage behind them is freed) when they
 * are unplugged and again when they are plugged, so a block plugged again
 * reads as zeroes whatever happened to it meanwhile. The driver must not
 * access unplugged blocks: what it reads there is undefined and what it
 * writes there is lost. Under policy HOST the device discards the blocks
 * it picks before answering UNPLUG_HOST, and it never picks a block
 * holding any of the region's first pmem_reserved_size bytes, which a
 * driver may use for metadata that must survive (so a host-policy shrink
 * may stop short of its target); a driver that lets processes map the
 * region revokes those mappings when it learns the list (until then stores
 * to them are lost, and reads see zeroes, never another block's data).
 *
 * Versions
 * ========
 *
 * Feature bits 0-3 named an unreleased first layout of this protocol
 * (generic request arguments, a 16-byte response, limits only in prose).
 * A device never offers them and a driver never accepts them, so a driver
 * and a device of different layouts find no region in common and do not
 * pair. Bits 4-7 are this layout.
 */
#ifndef _LINUX_VIRTIO_VSSD_H
#define _LINUX_VIRTIO_VSSD_H

#include <linux/types.h>

/*
 * Device ID. The PCI transport binds modern devices as 0x1040 + ID and Linux
 * matches only 0x1040..0x107f, so the ID must be <= 63. IDs 1-13 and 16-51 are
 * assigned or reserved by the virtio specification; 63 is the highest free
 * one and the least likely to collide with a future assignment.
 */
#define VIRTIO_ID_VSSD			63

/* --- Feature bits (0-3: the first layout, never offered) --- */

/* The block region exists (block_* config fields are valid). */
#define VIRTIO_VSSD_F_BLOCK_REGION	4
/* The persistent-memory region exists (pmem_* fields, shm region). */
#define VIRTIO_VSSD_F_PMEM_REGION	5
/* The resize protocol is available (requested sizes may change). */
#define VIRTIO_VSSD_F_RESIZE		6
/* num_queues is valid and may be larger than 1. */
#define VIRTIO_VSSD_F_MQ		7

/* --- Config space --- */

#define VIRTIO_VSSD_SECTOR_SIZE		512
#define VIRTIO_VSSD_SECTOR_SHIFT	9

/* Values of resize_policy. */
#define VIRTIO_VSSD_POLICY_GUEST	0 /* the driver picks blocks to give back */
#define VIRTIO_VSSD_POLICY_HOST		1 /* the device picks them */

/*
 * Which fields may change while the device lives: resize_generation, the
 * *_policy, *_plugged_size and *_requested_size fields. A change of a
 * requested size or a policy comes with a config interrupt; a change of a
 * plugged size follows a control request of the driver (or a device reset
 * that restarts a resize) and raises none. Every other field is fixed.
 */
struct virtio_vssd_config {
	/* Number of request queues (VIRTIO_VSSD_F_MQ). */
	__le16 num_queues;
	/* Reads as zero. */
	__le16 reserved0;
	/* Bumped whenever a requested size or policy changes. */
	__le32 resize_generation;
	/* Block region: size of one block in bytes (a power of two). */
	__le32 block_size;
	/* Which of VIRTIO_VSSD_POLICY_* applies to the block region. */
	__le32 block_policy;
	/* Block region: maximum size in bytes (multiple of block_size). */
	__le64 block_region_size;
	/* Block region: bytes currently plugged. Read-only for the driver. */
	__le64 block_plugged_size;
	/* Block region: bytes the host wants plugged. */
	__le64 block_requested_size;
	/*
	 * Persistent memory: size of one block in bytes (a power of two, at
	 * least the host's page size).
	 */
	__le32 pmem_block_size;
	/* Which of VIRTIO_VSSD_POLICY_* applies to the pmem region. */
	__le32 pmem_policy;
	/*
	 * Persistent memory: size of the region in bytes (a multiple of
	 * pmem_block_size), also the length of shm region VIRTIO_VSSD_SHM_PMEM.
	 */
	__le64 pmem_region_size;
	/* Persistent memory: bytes currently plugged. Read-only for the driver. */
	__le64 pmem_plugged_size;
	/* Persistent memory: bytes the host wants plugged. */
	__le64 pmem_requested_size;
	/* Most ranges in one control request or reply (at least 1). */
	__le32 max_ranges;
	/* Most data buffers in one block request (at least 1). */
	__le32 seg_max;
	/* Most sectors one READ or WRITE moves (at least 8). */
	__le32 max_sectors;
	/* Reads as zero. */
	__le32 reserved1;
	/*
	 * Persistent memory: bytes at the start of the region that a policy
	 * HOST shrink never takes (a multiple of 4096; 0 without the region).
	 */
	__le64 pmem_reserved_size;
};

/* Shared memory region ids (virtio_pci_cap.id on PCI). */
#define VIRTIO_VSSD_SHM_PMEM		0 /* the persistent-memory region */

/* --- Block requests --- */

#define VIRTIO_VSSD_T_READ		0
#define VIRTIO_VSSD_T_WRITE		1
#define VIRTIO_VSSD_T_FLUSH		2
#define VIRTIO_VSSD_T_DISCARD		3
#define VIRTIO_VSSD_T_WRITE_ZEROES	4
#define VIRTIO_VSSD_T_GET_ID		5

/* Request flags. */
#define VIRTIO_VSSD_REQ_F_FUA		(1 << 0) /* WRITE: durable on completion */
#define VIRTIO_VSSD_REQ_F_UNMAP		(1 << 1) /* WRITE_ZEROES: may deallocate */

#define VIRTIO_VSSD_ID_BYTES		20

struct virtio_vssd_blk_req {
	/* One of VIRTIO_VSSD_T_*. */
	__le16 type;
	/* VIRTIO_VSSD_REQ_F_* */
	__le16 flags;
	/* DISCARD, WRITE_ZEROES: number of sectors; 0 otherwise. */
	__le32 num_sectors;
	/* First sector (512 bytes) of the request; 0 for FLUSH, GET_ID. */
	__le64 sector;
};

/* Block request status (the last byte of every block request). */
#define VIRTIO_VSSD_S_OK		0 /* done */
#define VIRTIO_VSSD_S_IOERR		1 /* host I/O error */
#define VIRTIO_VSSD_S_UNSUPP		2 /* unknown type or flags */
#define VIRTIO_VSSD_S_RANGE		3 /* beyond the region, or overflow */
#define VIRTIO_VSSD_S_UNPLUGGED		4 /* touches a block not plugged */
#define VIRTIO_VSSD_S_INVALID		5 /* bad length, alignment or field */

/* --- Control requests --- */

#define VIRTIO_VSSD_CTRL_UNPLUG		0 /* guest gives back the ranges */
#define VIRTIO_VSSD_CTRL_PLUG		1 /* guest takes the ranges back */
#define VIRTIO_VSSD_CTRL_UNPLUG_HOST	2 /* device picks and unplugs */
#define VIRTIO_VSSD_CTRL_GET_MAP	3 /* list plugged ranges */
#define VIRTIO_VSSD_CTRL_PMEM_FLUSH	4 /* make a pmem byte range durable */

/* Values of virtio_vssd_ctrl_req.region. */
#define VIRTIO_VSSD_REGION_BLOCK	0
#define VIRTIO_VSSD_REGION_PMEM		1

struct virtio_vssd_range {
	/* First block of the range. */
	__le64 first;
	/* Number of blocks, at least 1. */
	__le64 count;
};

/* UNPLUG: the ranges that follow are given back. */
struct virtio_vssd_req_unplug {
	/* The resize_generation answered. */
	__le32 generation;
	/* Ranges that follow the request, 1 to max_ranges. */
	__le32 nr_ranges;
	__le64 reserved;
};

/* PLUG: the ranges that follow are taken back. */
struct virtio_vssd_req_plug {
	/* The resize_generation answered. */
	__le32 generation;
	/* Ranges that follow the request, 1 to max_ranges. */
	__le32 nr_ranges;
	__le64 reserved;
};

/* UNPLUG_HOST: the device picks up to nr_blocks blocks and unplugs them. */
struct virtio_vssd_req_unplug_host {
	/* The resize_generation answered. */
	__le32 generation;
	__le32 reserved;
	/* Blocks wanted, at least 1. */
	__le64 nr_blocks;
};

/* GET_MAP: report plugged blocks from first_block on. */
struct virtio_vssd_req_get_map {
	/* First block to report (0 to the region's block count). */
	__le64 first_block;
	__le64 reserved;
};

/* PMEM_FLUSH: make bytes [offset, offset + length) durable. */
struct virtio_vssd_req_pmem_flush {
	/* First byte, from the start of the region. */
	__le64 offset;
	/* Bytes, at least 1. */
	__le64 length;
};

struct virtio_vssd_ctrl_req {
	/* One of VIRTIO_VSSD_CTRL_*. */
	__le16 type;
	/* One of VIRTIO_VSSD_REGION_*. */
	__le16 region;
	__le32 reserved;
	union {
		struct virtio_vssd_req_unplug unplug;
		struct virtio_vssd_req_plug plug;
		struct virtio_vssd_req_unplug_host unplug_host;
		struct virtio_vssd_req_get_map get_map;
		struct virtio_vssd_req_pmem_flush pmem_flush;
	} u;
};

/* Control status. */
#define VIRTIO_VSSD_RESP_ACK		0 /* done */
#define VIRTIO_VSSD_RESP_NACK		1 /* refused, see reason; nothing changed */
#define VIRTIO_VSSD_RESP_BUSY		2 /* try again later (e.g. migration) */
#define VIRTIO_VSSD_RESP_ERROR		3 /* host failure; nothing changed */

/* NACK reasons (which request gives which: "Control requests" above). */
#define VIRTIO_VSSD_R_NONE		0 /* not a NACK */
#define VIRTIO_VSSD_R_BAD_REQUEST	1 /* unknown type, region or layout */
#define VIRTIO_VSSD_R_RANGE		2 /* a block or byte outside the region */
#define VIRTIO_VSSD_R_NOT_PLUGGED	3 /* a block not plugged (UNPLUG, PMEM_FLUSH) */
#define VIRTIO_VSSD_R_PLUGGED		4 /* PLUG of a block already plugged */
#define VIRTIO_VSSD_R_DUPLICATE		5 /* a block listed twice */
#define VIRTIO_VSSD_R_TOO_MANY		6 /* more blocks than requested */
#define VIRTIO_VSSD_R_TRUNCATED		7 /* fewer ranges than announced */
#define VIRTIO_VSSD_R_NOT_REQUESTED	8 /* no resize in this direction */
#define VIRTIO_VSSD_R_STALE		9 /* generation is not the current one */

/* GET_MAP's ACK: nr_ranges ranges follow the response. */
struct virtio_vssd_resp_get_map {
	/* Ranges written after the response. */
	__le32 nr_ranges;
	__le32 reserved;
	/* First block not reported yet, or the region's block count. */
	__le64 next_block;
};

/* UNPLUG_HOST's ACK: the unplugged blocks follow the response. */
struct virtio_vssd_resp_unplug_host {
	/* Ranges written after the response, at least 1. */
	__le32 nr_ranges;
	__le32 reserved;
	/* Blocks in those ranges. */
	__le64 nr_blocks;
};

struct virtio_vssd_ctrl_resp {
	/* One of VIRTIO_VSSD_RESP_*. */
	__le16 status;
	/* NACK: one of VIRTIO_VSSD_R_*; VIRTIO_VSSD_R_NONE otherwise. */
	__le16 reason;
	__le32 reserved;
	union {
		struct virtio_vssd_resp_get_map get_map;
		struct virtio_vssd_resp_unplug_host unplug_host;
	} u;
};

#endif /* _LINUX_VIRTIO_VSSD_H */
