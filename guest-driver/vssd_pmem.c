// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: the persistent-memory region.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The region is the device's virtio shared memory region
 * VIRTIO_VSSD_SHM_PMEM. The driver maps it write-back cached for its own
 * use (the region table, copies); /dev/scm maps its pages into processes
 * (vssd_scm.c). A store is durable once it was written back from the CPU
 * caches and a VIRTIO_VSSD_CTRL_PMEM_FLUSH covering it was acknowledged
 * (vssd_pmem_persist()).
 *
 * A failure here leaves the device without persistent memory but keeps
 * the block region working.
 */

#include <linux/bitmap.h>
#include <linux/io.h>
#include <linux/libnvdimm.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include "vssd.h"
#include "vssd_pmem.h"

/* Read and check the geometry of the region. */
static int vssd_pmem_geometry(struct vssd_device *vssd, struct vssd_pmem *pmem)
{
	struct virtio_device *vdev = vssd->vdev;
	struct virtio_shm_region shm;
	u64 reserved;

	virtio_cread_le(vdev, struct virtio_vssd_config, pmem_block_size,
			&pmem->block_size);
	virtio_cread_le(vdev, struct virtio_vssd_config, pmem_region_size,
			&pmem->size);
	if (pmem->block_size < PAGE_SIZE || !is_power_of_2(pmem->block_size)) {
		dev_err(&vdev->dev,
			"pmem_block_size %u is not a power of two >= %lu\n",
			pmem->block_size, PAGE_SIZE);
		return -EINVAL;
	}
	if (!pmem->size || !IS_ALIGNED(pmem->size, pmem->block_size)) {
		dev_err(&vdev->dev,
			"pmem_region_size %llu is not a non-zero multiple of pmem_block_size %u\n",
			pmem->size, pmem->block_size);
		return -EINVAL;
	}
	pmem->block_shift = ilog2(pmem->block_size);
	pmem->nr_blocks = pmem->size >> pmem->block_shift;
	if (pmem->nr_blocks > VSSD_MAX_BLOCKS)
		return -EINVAL;
	virtio_cread_le(vdev, struct virtio_vssd_config, pmem_reserved_size,
			&reserved);
	if (reserved < VSSD_SCM_META_BYTES) {
		/* a host-policy shrink could take the region table */
		dev_err(&vdev->dev,
			"pmem_reserved_size %llu cannot hold the region table (%d bytes)\n",
			reserved, VSSD_SCM_META_BYTES);
		return -EINVAL;
	}
	pmem->data_start = round_up(VSSD_SCM_META_BYTES, pmem->block_size);
	if (pmem->data_start >= pmem->size) {
		dev_err(&vdev->dev, "pmem region of %llu bytes is too small\n",
			pmem->size);
		return -EINVAL;
	}

	if (!virtio_get_shm_region(vdev, &shm, VIRTIO_VSSD_SHM_PMEM)) {
		dev_err(&vdev->dev, "no shared memory region %u\n",
			VIRTIO_VSSD_SHM_PMEM);
		return -ENODEV;
	}
	if (shm.len < pmem->size || !PAGE_ALIGNED(shm.addr)) {
		dev_err(&vdev->dev,
			"shared memory region of %llu bytes at %#llx cannot hold %llu\n",
			shm.len, shm.addr, pmem->size);
		return -EINVAL;
	}
	pmem->phys = shm.addr;
	return 0;
}

/**
 * vssd_pmem_range_plugged - whether every block of a byte range is plugged
 * @pmem: the region
 * @offset: first byte
 * @len: bytes
 */
bool vssd_pmem_range_plugged(struct vssd_pmem *pmem, u64 offset, u64 len)
{
	u64 first = offset >> pmem->block_shift;
	u64 last = (offset + max(len, 1ULL) - 1) >> pmem->block_shift;

	if (offset > pmem->size || len > pmem->size - offset)
		return false;
	return find_next_zero_bit(pmem->region.plugged, last + 1, first) > last;
}

/**
 * vssd_pmem_flush - PMEM_FLUSH: make a byte range durable on the host
 * @pmem: the region
 * @offset: first byte
 * @len: bytes
 *
 * Return: 0 when acknowledged, -EINVAL when the device refused the range,
 * -EBUSY, or -EIO.
 */
int vssd_pmem_flush(struct vssd_pmem *pmem, u64 offset, u64 len)
{
	u16 status;
	int err;

	err = vssd_ctrl_flush(pmem->vssd, VIRTIO_VSSD_REGION_PMEM, offset, len,
			      &status);
	if (err)
		return err;

	switch (status) {
	case VIRTIO_VSSD_RESP_ACK:
		return 0;
	case VIRTIO_VSSD_RESP_NACK:
		return -EINVAL;
	case VIRTIO_VSSD_RESP_BUSY:
		return -EBUSY;
	default:
		return -EIO;
	}
}

/**
 * vssd_pmem_writeback - write back the CPU caches over a range
 * @pmem: the region
 * @offset: first byte
 * @len: bytes
 *
 * Write back the CPU caches over a range (pmem->sem held). A range on
 * blocks the host took back is not touched (-EIO): their memory is the
 * host's, and whatever was there is gone.
 */
int vssd_pmem_writeback(struct vssd_pmem *pmem, u64 offset, u64 len)
{
	if (offset > pmem->size || len > pmem->size - offset)
		return -EINVAL;
	if (!len)
		return 0;
	if (!vssd_pmem_range_plugged(pmem, offset, len))
		return -EIO;
	arch_wb_cache_pmem(pmem->virt + offset, len);
	return 0;
}

/**
 * vssd_pmem_flush_release - flush a written-back range, releasing pmem->sem
 * @pmem: the region; pmem->sem held for reading, released here
 * @offset: first byte
 * @len: bytes
 *
 * The round trip to the device runs without pmem->sem, under flush_sem,
 * so a container's flush keeps neither an administrator nor a resize
 * waiting, and removal still waits for it.
 */
int vssd_pmem_flush_release(struct vssd_pmem *pmem, u64 offset, u64 len)
{
	int err;

	down_read(&pmem->flush_sem);
	up_read(&pmem->sem);
	err = vssd_pmem_flush(pmem, offset, len);
	up_read(&pmem->flush_sem);
	return err;
}

/**
 * vssd_pmem_persist - write back the CPU caches over a range, flush it
 * @pmem: the region
 * @offset: first byte
 * @len: bytes
 */
int vssd_pmem_persist(struct vssd_pmem *pmem, u64 offset, u64 len)
{
	int err = vssd_pmem_writeback(pmem, offset, len);

	if (err || !len)
		return err;
	return vssd_pmem_flush(pmem, offset, len);
}

/**
 * vssd_pmem_copy - copy block-aligned bytes within the region
 * @pmem: the region; pmem->sem held for writing
 * @dst: destination offset, block aligned, on plugged blocks
 * @src: source offset, block aligned
 * @len: bytes, a multiple of the block size
 *
 * Source blocks the host took back are not read: their copy reads as
 * zeroes, as they would. Nothing is made durable here.
 *
 * Return: 0, -EINVAL for a source past the end, or -EIO when a
 * destination block is not plugged.
 */
int vssd_pmem_copy(struct vssd_pmem *pmem, u64 dst, u64 src, u64 len)
{
	u64 done;

	if (src > pmem->size || len > pmem->size - src)
		return -EINVAL;
	if (!vssd_pmem_range_plugged(pmem, dst, len))
		return -EIO;
	for (done = 0; done < len; done += pmem->block_size) {
		if (vssd_pmem_range_plugged(pmem, src + done, pmem->block_size))
			memcpy(pmem->virt + dst + done, pmem->virt + src + done,
			       pmem->block_size);
		else
			memset(pmem->virt + dst + done, 0, pmem->block_size);
	}
	return 0;
}

/*
 * ops->choose: up to @want plugged blocks that neither the region table
 * nor any container region uses (the client says), highest first.
 */
static u64 vssd_pmem_choose_free(struct vssd_region *r, u64 want)
{
	struct vssd_pmem *pmem = container_of(r, struct vssd_pmem, region);
	u64 first = pmem->data_start >> pmem->block_shift;
	u64 b = pmem->nr_blocks, n = 0;

	while (b-- > first && n < want) {
		if (test_bit(b, r->plugged) &&
		    !(pmem->client_ops &&
		      pmem->client_ops->block_used(pmem->client, b))) {
			__set_bit(b, r->chosen);
			n++;
		}
	}
	if (!n)
		dev_info(&pmem->vssd->vdev->dev,
			 "pmem: every plugged block is in use; %llu blocks not given back\n",
			 want);
	return n;
}

/* ops->prepare_host: the client revokes every mapping. */
static void vssd_pmem_prepare_host(struct vssd_region *r)
{
	struct vssd_pmem *pmem = container_of(r, struct vssd_pmem, region);

	if (pmem->client_ops)
		pmem->client_ops->revoke(pmem->client);
}

/* Free blocks need no quiescing: no mapping can reach them. */
static const struct vssd_region_ops vssd_pmem_region_ops = {
	.choose		= vssd_pmem_choose_free,
	.prepare_host	= vssd_pmem_prepare_host,
};

/**
 * vssd_pmem_resize - one step of a persistent-memory resize
 * @pmem: the region
 * @grow: plug blocks (else unplug)
 * @host: policy HOST (the device picks the blocks to unplug)
 * @generation: resize_generation answered
 * @blocks: blocks still to move
 *
 * Runs under pmem->sem for writing, so that no /dev/scm fault and no
 * region table change runs meanwhile. A guest-policy shrink gives back
 * only free blocks and stops short when there are fewer than asked
 * (pmem_short_blocks); a host-policy shrink revokes every mapping first
 * (a process touching a taken page gets SIGBUS, never another block's
 * data); the device never takes the region table's blocks (they lie in
 * pmem_reserved_size, checked at probe).
 *
 * Return: as vssd_region_resize().
 */
int vssd_pmem_resize(struct vssd_pmem *pmem, bool grow, bool host,
		     u32 generation, u64 blocks)
{
	int err;

	down_write(&pmem->sem);
	err = vssd_region_resize(&pmem->region, grow, host, generation,
				 blocks);
	up_write(&pmem->sem);
	return err;
}

/* The last reference is gone. */
static void vssd_pmem_free(struct kref *ref)
{
	struct vssd_pmem *pmem = container_of(ref, struct vssd_pmem, ref);

	if (pmem->virt)
		memunmap(pmem->virt);
	vssd_region_free(&pmem->region);
	kfree(pmem);
}

/**
 * vssd_pmem_get - take a reference on the region
 * @pmem: the region
 */
void vssd_pmem_get(struct vssd_pmem *pmem)
{
	kref_get(&pmem->ref);
}

/**
 * vssd_pmem_put - drop a reference; the last frees the region
 * @pmem: the region
 */
void vssd_pmem_put(struct vssd_pmem *pmem)
{
	kref_put(&pmem->ref, vssd_pmem_free);
}

/**
 * vssd_pmem_set_client - register (or with @ops NULL, clear) the client
 * @pmem: the region
 * @ops: what the region calls, with pmem->sem held for writing
 * @client: passed to @ops
 */
void vssd_pmem_set_client(struct vssd_pmem *pmem,
			  const struct vssd_pmem_client_ops *ops, void *client)
{
	down_write(&pmem->sem);
	pmem->client_ops = ops;
	pmem->client = client;
	up_write(&pmem->sem);
}

/**
 * vssd_pmem_probe - set up the persistent-memory region, if the device has one
 * @vssd: the device, ready, with its control queue up
 *
 * Return: 0 (also when there is no region, or it could not be used: the
 * reason is logged and vssd->pmem stays NULL), or -ENOMEM.
 */
int vssd_pmem_probe(struct vssd_device *vssd)
{
	struct device *dev = &vssd->vdev->dev;
	struct vssd_pmem *pmem;
	int err;

	if (!virtio_has_feature(vssd->vdev, VIRTIO_VSSD_F_PMEM_REGION))
		return 0;

	pmem = kzalloc(sizeof(*pmem), GFP_KERNEL);
	if (!pmem)
		return -ENOMEM;
	kref_init(&pmem->ref);
	pmem->vssd = vssd;
	init_rwsem(&pmem->sem);
	init_rwsem(&pmem->flush_sem);

	err = vssd_pmem_geometry(vssd, pmem);
	if (err)
		goto err_free;

	pmem->virt = memremap(pmem->phys, pmem->size, MEMREMAP_WB);
	if (!pmem->virt) {
		dev_err(dev, "cannot map the pmem window at %#llx\n",
			pmem->phys);
		err = -ENOMEM;
		goto err_free;
	}
	pmem->region.id = VIRTIO_VSSD_REGION_PMEM;
	pmem->region.nr_blocks = pmem->nr_blocks;
	pmem->region.ops = &vssd_pmem_region_ops;
	pmem->region.evicted = &vssd->stats.pmem_evicted_blocks;
	pmem->region.granted = &vssd->stats.pmem_granted_blocks;
	pmem->region.short_blocks = &vssd->stats.pmem_short_blocks;
	err = vssd_region_init(vssd, &pmem->region);
	if (err)
		goto err_free;
	if (!vssd_pmem_range_plugged(pmem, 0, pmem->data_start)) {
		dev_err(dev, "the blocks of the scm region table are not plugged\n");
		err = -EIO;
		goto err_free;
	}

	vssd->pmem_block_shift = pmem->block_shift;
	vssd->pmem = pmem;
	return 0;

err_free:
	vssd_pmem_put(pmem);
	if (err == -ENOMEM)
		return err;
	dev_warn(dev, "persistent memory not used (%d)\n", err);
	return 0;
}

/**
 * vssd_pmem_remove - cut the region off the device, before it is reset
 * @vssd: the device
 *
 * The client's last words (its detach: for /dev/scm, save what changed in
 * memory only and revoke every mapping) and the end of the kernel's
 * mapping happen in one write section of pmem->sem: a fault that waits
 * for it finds virt NULL and gets SIGBUS, so no page of the window is ever
 * mapped again. The structure lives until the last reference is dropped.
 */
void vssd_pmem_remove(struct vssd_device *vssd)
{
	struct vssd_pmem *pmem = vssd->pmem;

	if (!pmem)
		return;
	down_write(&pmem->sem);
	if (pmem->client_ops)
		pmem->client_ops->detach(pmem->client);
	pmem->client_ops = NULL;
	pmem->client = NULL;
	memunmap(pmem->virt);
	pmem->virt = NULL;
	up_write(&pmem->sem);
	/* flushes that passed their check before are answered */
	down_write(&pmem->flush_sem);
	up_write(&pmem->flush_sem);
	vssd->pmem = NULL;
	vssd_pmem_put(pmem);
}
