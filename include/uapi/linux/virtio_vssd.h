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
 * multiple of the sector size, starting at `sector`. DISCARD and
 * WRITE_ZEROES carry no data: they act on `num_sectors` sectors starting at
 * `sector`. After DISCARD the range reads as zeroes and the host is free to
 * release its storage; WRITE_ZEROES keeps the storage allocated unless
 * VIRTIO_VSSD_REQ_F_UNMAP is set. FLUSH makes every completed write durable.
 * A WRITE with VIRTIO_VSSD_REQ_F_FUA completes only once its data is durable.
 * GET_ID fills up to VIRTIO_VSSD_ID_BYTES bytes of a device-writable buffer
 * with a serial string, NUL-padded and not necessarily NUL-terminated.
 *
 * A request that touches a block that is not plugged fails with
 * VIRTIO_VSSD_S_UNPLUGGED and moves no data. A request beyond the end of the
 * region, or whose length overflows, fails with VIRTIO_VSSD_S_RANGE. A chain
 * that cannot be parsed at all (no room for the header or the status byte,
 * a device-writable header, a device-readable status, data buffers in the
 * wrong direction for the request type) makes the device "broken"
 * (VIRTIO_CONFIG_S_NEEDS_RESET); it never touches guest memory outside the
 * chain. Flags that do not apply to a request type give
 * VIRTIO_VSSD_S_UNSUPP; a READ or WRITE of zero bytes, of a length that is
 * not a multiple of the sector size, or of 2 GiB or more gives
 * VIRTIO_VSSD_S_INVALID.
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
 *     the list as ranges. The device discards them (punching holes in the
 *     host file) and answers ACK; they are unplugged from then on.
 *   - plugged > requested, policy HOST: sends VIRTIO_VSSD_CTRL_UNPLUG_HOST
 *     with a device-writable range buffer; the device chooses the blocks,
 *     unplugs them and returns the list. The guest loses their data.
 *   - plugged < requested: sends VIRTIO_VSSD_CTRL_PLUG with ranges of
 *     unplugged blocks it wants back; they read as zeroes once plugged.
 *
 * Each list is one request: any resize whose list fits in
 * VIRTIO_VSSD_MAX_RANGES ranges completes in one round trip; larger lists
 * take ceil(ranges / VIRTIO_VSSD_MAX_RANGES) round trips. Every request
 * carries the resize_generation it answers; a request for an older
 * generation is NACKed with VIRTIO_VSSD_R_STALE so that a new target simply
 * replaces the old one. A list is accepted or refused as a whole: a refused
 * list changes nothing.
 *
 * A request is checked in this order, and the first failed check is its
 * NACK reason: type, region and layout (BAD_REQUEST: unknown region, a
 * list of 0 or more than VIRTIO_VSSD_MAX_RANGES ranges, more bytes than
 * announced; TRUNCATED: fewer bytes than announced), then
 * BUSY (e.g. during migration), then the generation (STALE), the
 * direction and policy (NOT_REQUESTED: no resize in this direction, UNPLUG
 * under policy HOST or UNPLUG_HOST under policy GUEST), then the blocks
 * (BAD_REQUEST for an empty range, RANGE, DUPLICATE for a block listed
 * twice including overlapping ranges, NOT_PLUGGED / PLUGGED) and the
 * count (TOO_MANY: more than
 * |plugged - requested| / bs blocks). Fewer blocks than that are accepted
 * and the driver sends further lists. ACK comes after the host finished
 * (discarded blocks, saved the plugged map); ERROR means the host failed
 * and, like NACK, that the plugged map is unchanged.
 *
 * The UNPLUG_HOST reply holds nr_ranges ranges of the blocks the device
 * unplugged (as many as fit in the buffer; maybe fewer blocks than asked
 * when they do not fit) and `next` is the number of blocks they hold.
 *
 * VIRTIO_VSSD_CTRL_GET_MAP returns the plugged blocks of a region as ranges,
 * starting at a given block; a driver calls it at probe time because the
 * plugged map outlives guest reboots and, when the host keeps it in a state
 * file (QEMU: property state-file), QEMU restarts; without one every block
 * is plugged when the device starts. On device reset the plugged map, the
 * requested sizes and resize_generation are kept and any resize in
 * progress restarts from the config space.
 *
 * Control requests
 * ================
 *
 *   struct virtio_vssd_ctrl_req       (device-readable)
 *   struct virtio_vssd_range[nr]      (device-readable, UNPLUG and PLUG)
 *   struct virtio_vssd_ctrl_resp      (device-writable)
 *   struct virtio_vssd_range[max]     (device-writable, GET_MAP, UNPLUG_HOST)
 *
 * Control requests are answered in any order: PMEM_FLUSH completes when
 * the host is done, other requests may be answered before it.
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
 * 64-bit prefetchable memory BAR (QEMU: BAR 2, offset 0; the BAR may be
 * larger than the region); Linux finds it with virtio_get_shm_region().
 * The memory behaves like RAM and may be mapped write-back cached; the
 * driver must not rely on the region's size being a power of two.
 *
 * Durability. The region is backed by a host file (QEMU: a shared memory
 * backend, memory-backend-file,share=on). A guest store reaches the host's
 * page cache of that file once it has left the guest CPU's caches (after
 * a cache-line write-back such as clwb/clflushopt and a fence, or when the
 * line is evicted); from then on it survives a crash or kill of the guest
 * or of QEMU, but not a host crash or power loss. It is durable (survives
 * those too) once a VIRTIO_VSSD_CTRL_PMEM_FLUSH covering it, sent after the
 * write-back, has been acknowledged. A flush does not order or write back
 * the guest's CPU caches: the driver does that before sending it. With a
 * backend that has no file (anonymous shared memory) nothing outlives
 * QEMU and a flush is acknowledged at once.
 *
 * PMEM_FLUSH: the request is the header alone (region
 * VIRTIO_VSSD_REGION_PMEM, arg0 = byte offset, arg1 = length in bytes, no
 * alignment needed; generation is ignored) and the reply is one
 * struct virtio_vssd_ctrl_resp. The device makes the pages holding
 * [arg0, arg0 + arg1) durable (QEMU: msync(MS_SYNC) of the file mapping,
 * in a worker thread: neither the guest's CPUs nor other devices wait)
 * and answers ACK, or ERROR if the host failed (the data may not be
 * durable). NACK: BAD_REQUEST for a layout other than the header alone,
 * another region, a device without the pmem region or a length of 0;
 * RANGE when the range does not lie inside the region (including
 * arg0 + arg1 overflowing); NOT_PLUGGED when it touches a block that is
 * not plugged. Any number of flushes may be outstanding; a device reset
 * waits for them (their replies are lost with the rings).
 *
 * Resizing works as for the block region, with region
 * VIRTIO_VSSD_REGION_PMEM and the pmem_* config fields. Unplugged blocks
 * are discarded on the host (a hole punched in the file: the host storage
 * is freed) when they are unplugged and again when they are plugged, so a
 * block plugged again reads as zeroes whatever happened to it meanwhile.
 * The driver must not access unplugged blocks: what it reads there is
 * undefined and what it writes there is lost. Under policy HOST the
 * device discards the blocks it picks before answering UNPLUG_HOST, and it
 * never picks a block holding any of the region's first
 * VIRTIO_VSSD_PMEM_RESERVED_BYTES, which a driver may use for metadata that
 * must survive (so a host-policy shrink may stop short of its target); a
 * driver that lets processes map the region revokes those mappings when
 * it learns the list (until then stores to them are lost, and reads see
 * zeroes, never another block's data).
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

/* --- Feature bits --- */

/* The block region exists (block_* config fields are valid). */
#define VIRTIO_VSSD_F_BLOCK_REGION	0
/* The persistent-memory region exists (pmem_* fields, shm region). */
#define VIRTIO_VSSD_F_PMEM_REGION	1
/* The resize protocol is available (requested sizes may change). */
#define VIRTIO_VSSD_F_RESIZE		2
/* num_queues is valid and may be larger than 1. */
#define VIRTIO_VSSD_F_MQ		3

/* --- Config space --- */

#define VIRTIO_VSSD_SECTOR_SIZE		512
#define VIRTIO_VSSD_SECTOR_SHIFT	9

/* Values of resize_policy. */
#define VIRTIO_VSSD_POLICY_GUEST	0 /* the driver picks blocks to give back */
#define VIRTIO_VSSD_POLICY_HOST		1 /* the device picks them */

struct virtio_vssd_config {
	/* Number of request queues (VIRTIO_VSSD_F_MQ). */
	__le16 num_queues;
	__le16 padding0;
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
	 * least the host's page size; QEMU default 2 MiB).
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
};

/*
 * The start of the persistent-memory region that a policy HOST shrink never
 * takes: room for a driver's metadata (see "Persistent memory").
 */
#define VIRTIO_VSSD_PMEM_RESERVED_BYTES	65536

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
	/* First sector (512 bytes) of the request. */
	__le64 sector;
};

/* Block request status (the last byte of every block request). */
#define VIRTIO_VSSD_S_OK		0 /* done */
#define VIRTIO_VSSD_S_IOERR		1 /* host I/O error */
#define VIRTIO_VSSD_S_UNSUPP		2 /* unknown type or flags */
#define VIRTIO_VSSD_S_RANGE		3 /* beyond the region, or overflow */
#define VIRTIO_VSSD_S_UNPLUGGED		4 /* touches a block not plugged */
#define VIRTIO_VSSD_S_INVALID		5 /* bad length or alignment */

/* --- Control requests --- */

#define VIRTIO_VSSD_CTRL_UNPLUG		0 /* guest gives back the ranges */
#define VIRTIO_VSSD_CTRL_PLUG		1 /* guest takes the ranges back */
#define VIRTIO_VSSD_CTRL_UNPLUG_HOST	2 /* device picks and unplugs */
#define VIRTIO_VSSD_CTRL_GET_MAP	3 /* list plugged ranges */
#define VIRTIO_VSSD_CTRL_PMEM_FLUSH	4 /* make a pmem byte range durable */

/* Values of virtio_vssd_ctrl_req.region. */
#define VIRTIO_VSSD_REGION_BLOCK	0
#define VIRTIO_VSSD_REGION_PMEM		1

/* Most ranges in one control request or reply. */
#define VIRTIO_VSSD_MAX_RANGES		4096

struct virtio_vssd_range {
	/* First block of the range. */
	__le64 first;
	/* Number of blocks, at least 1. */
	__le64 count;
};

struct virtio_vssd_ctrl_req {
	/* One of VIRTIO_VSSD_CTRL_*. */
	__le16 type;
	/* One of VIRTIO_VSSD_REGION_*. */
	__le16 region;
	/* UNPLUG, PLUG, UNPLUG_HOST: the resize_generation answered. */
	__le32 generation;
	/*
	 * UNPLUG, PLUG: ranges that follow. UNPLUG_HOST: number of blocks
	 * wanted. GET_MAP: first block to report. PMEM_FLUSH: byte offset.
	 */
	__le64 arg0;
	/* PMEM_FLUSH: length in bytes. Otherwise 0. */
	__le64 arg1;
};

/* Control status. */
#define VIRTIO_VSSD_RESP_ACK		0 /* done */
#define VIRTIO_VSSD_RESP_NACK		1 /* refused, see reason; nothing changed */
#define VIRTIO_VSSD_RESP_BUSY		2 /* try again later (e.g. migration) */
#define VIRTIO_VSSD_RESP_ERROR		3 /* host failure */

/* NACK reasons. */
#define VIRTIO_VSSD_R_NONE		0
#define VIRTIO_VSSD_R_BAD_REQUEST	1 /* unknown type, region or layout */
#define VIRTIO_VSSD_R_RANGE		2 /* a block or byte outside the region */
#define VIRTIO_VSSD_R_NOT_PLUGGED	3 /* a block not plugged (UNPLUG, PMEM_FLUSH) */
#define VIRTIO_VSSD_R_PLUGGED		4 /* PLUG of a block already plugged */
#define VIRTIO_VSSD_R_DUPLICATE		5 /* a block listed twice */
#define VIRTIO_VSSD_R_TOO_MANY		6 /* more blocks than requested */
#define VIRTIO_VSSD_R_TRUNCATED		7 /* fewer ranges than announced */
#define VIRTIO_VSSD_R_NOT_REQUESTED	8 /* no resize in this direction */
#define VIRTIO_VSSD_R_STALE		9 /* generation is not the current one */

struct virtio_vssd_ctrl_resp {
	/* One of VIRTIO_VSSD_RESP_*. */
	__le16 status;
	/* NACK: one of VIRTIO_VSSD_R_*. */
	__le16 reason;
	/* GET_MAP, UNPLUG_HOST: ranges written after this header. */
	__le32 nr_ranges;
	/* GET_MAP: first block not yet reported, or the region's block count. */
	__le64 next;
};

#endif /* _LINUX_VIRTIO_VSSD_H */
