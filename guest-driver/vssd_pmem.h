/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vssd guest driver: the persistent-memory region (vssd_pmem.c).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The region's one client is /dev/scm (vssd_scm.h), which registers
 * callbacks (struct vssd_pmem_client_ops): the region never calls it
 * directly.
 *
 * Media layout (offsets in the persistent-memory region):
 *
 *   [0, VSSD_SCM_META_BYTES)   two copies of the region table, each
 *                              VSSD_SCM_TABLE_BYTES; the valid copy with
 *                              the higher sequence number is the table
 *   [data_start, size)         container regions, each a run of whole
 *                              persistent-memory blocks
 *
 * data_start is VSSD_SCM_META_BYTES rounded up to the block size, so that
 * the blocks of the table are never given back to the host.
 *
 * Locking: pmem->sem (rw_semaphore) covers the kernel mapping (virt), the
 * plugged map, the client and the client's state (for /dev/scm: the region
 * table and the page tables of every mapping): faults take it for reading
 * and insert their page under it; anything that moves, shrinks, deletes or
 * unplugs region memory takes it for writing and revokes mappings first.
 * The control queue (ctrl_mutex) and region.map_mutex nest inside it.
 */
#ifndef _VSSD_PMEM_H
#define _VSSD_PMEM_H

#include <linux/kref.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include "vssd_region.h"

struct vssd_device;

/* "VSCM" */
#define VSSD_SCM_MAGIC		0x4d435356
#define VSSD_SCM_VERSION	2
/* Container regions one table holds. */
#define VSSD_SCM_MAX_REGIONS	64
/* One copy of the table. */
#define VSSD_SCM_TABLE_BYTES	16384
/* Both copies. */
#define VSSD_SCM_META_BYTES	(2 * VSSD_SCM_TABLE_BYTES)

/*
 * The client of the region (/dev/scm) as the region calls it, with
 * pmem->sem held for writing.
 */
struct vssd_pmem_client_ops {
	/* The client keeps data in @block: it must stay plugged. */
	bool (*block_used)(void *client, u64 block);
	/* Take every mapping of region memory away from processes. */
	void (*revoke)(void *client);
	/*
	 * The device goes: the client's last use of the window (which is
	 * unmapped right after, in the same write section).
	 */
	void (*detach)(void *client);
};

struct vssd_pmem {
	/* The device (until remove), and the client, hold one. */
	struct kref ref;
	/* The device. */
	struct vssd_device *vssd;
	/* Guest-physical address and length of the shared memory window. */
	u64 phys;
	u64 size;
	/* Kernel mapping of the window, write-back cached; NULL once removed. */
	void *virt;
	/* Bytes per persistent-memory block, its log2, and the block count. */
	u32 block_size;
	unsigned int block_shift;
	u64 nr_blocks;
	/* First byte that container regions may use. */
	u64 data_start;

	/*
	 * Held for reading across the device round trip of a container's
	 * flush, which runs without @sem so that no writer of @sem waits
	 * behind it; removal takes it for writing before the device goes.
	 */
	struct rw_semaphore flush_sem;
	/* Covers everything below (see the comment at the top). */
	struct rw_semaphore sem;
	/* Its plugged blocks; region.plugged is written under @sem too. */
	struct vssd_region region;
	/* The client, set with vssd_pmem_set_client(); NULL without. */
	const struct vssd_pmem_client_ops *client_ops;
	void *client;
};

/* vssd_pmem.c */
int vssd_pmem_probe(struct vssd_device *vssd);
void vssd_pmem_remove(struct vssd_device *vssd);
int vssd_pmem_flush(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_writeback(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_flush_release(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_persist(struct vssd_pmem *pmem, u64 offset, u64 len);
int vssd_pmem_copy(struct vssd_pmem *pmem, u64 dst, u64 src, u64 len);
bool vssd_pmem_range_plugged(struct vssd_pmem *pmem, u64 offset, u64 len);
void vssd_pmem_get(struct vssd_pmem *pmem);
void vssd_pmem_put(struct vssd_pmem *pmem);
void vssd_pmem_set_client(struct vssd_pmem *pmem,
			  const struct vssd_pmem_client_ops *ops, void *client);
int vssd_pmem_resize(struct vssd_pmem *pmem, bool grow, bool host,
		     u32 generation, u64 blocks);

#endif /* _VSSD_PMEM_H */
