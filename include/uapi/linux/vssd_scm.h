/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/scm: per-container persistent memory on a virtio-vssd device.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The guest driver carves the device's persistent-memory region into
 * named *container regions*. A process opens /dev/scm and mmap()s it: the
 * mapping shows the pages of the caller's own region, straight from the
 * device's shared memory (write-back cached, no page cache, no copy).
 * Offset 0 of the mapping is byte 0 of the region; mapping past its end
 * fails with EINVAL.
 *
 * Which region: the caller's cgroup (cgroup v2, as seen from the initial
 * cgroup namespace) names it. Path components are read from the root
 * down, skipping systemd slices ("*.slice"); the first other component is
 * the container:
 *
 *   /                                   -> "host"
 *   /ctA, /ctA/sub                      -> "ctA"           (runc cgroupsPath)
 *   /system.slice/docker-<id>.scope     -> "<id>"          (docker, podman
 *   /machine.slice/libpod-<id>.scope    -> "<id>"           with systemd)
 *   /lxc.payload.<name>/...             -> "<name>"        (LXC)
 *   /system.slice/sshd.service, /init.scope, .../session-N.scope -> "host"
 *
 * Characters outside [A-Za-z0-9._-] become '_' and the name is cut to
 * SCM_NAME_MAX - 1 bytes. A region is created on first use with the size
 * in /sys/module/virtio_vssd/parameters/scm_default_size.
 *
 * A file stays bound to the region of the process that opened it: mmap
 * and the ioctls below refuse (EPERM) a caller whose cgroup names another
 * region, so a descriptor passed to another container is useless there.
 *
 * Durability: stores reach the host's page cache once they leave the CPU
 * caches; they survive a host crash only after a sync covering them:
 * msync(MS_SYNC)/fsync() on the mapping, SCM_IOC_SYNC or SCM_IOC_SYNCV,
 * which write back the CPU cache lines and then wait for the device's
 * flush. SCM_IOC_SYNCV makes several ranges durable with one flush of the
 * device (one round trip to the host, whatever the number of ranges).
 */
#ifndef _UAPI_LINUX_VSSD_SCM_H
#define _UAPI_LINUX_VSSD_SCM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SCM_NAME_MAX		64

/* SCM_IOC_INFO: the region of this file. */
struct scm_region_info {
	/* NUL-terminated region name. */
	char name[SCM_NAME_MAX];
	/* Size of the region in bytes (a multiple of the page size). */
	__u64 size;
	/* Bytes in use, as last set with SCM_IOC_SET_USED. */
	__u64 used;
	/* Byte offset of the region in the device's persistent memory. */
	__u64 offset;
	/* Granularity of the device's persistent-memory blocks, bytes. */
	__u64 block_size;
};

/* SCM_IOC_SYNC: make [offset, offset + length) of the region durable. */
struct scm_range {
	__u64 offset;
	__u64 length;
};

/*
 * SCM_IOC_SYNCV: make nr ranges of the region durable. ranges points at an
 * array of nr struct scm_range (1 <= nr <= SCM_SYNCV_MAX), each inside
 * the region; flags is 0. All are checked before anything is written.
 */
struct scm_ranges {
	__u64 ranges;
	__u32 nr;
	__u32 flags;
};

#define SCM_SYNCV_MAX		1024

/* Administration (CAP_SYS_ADMIN, outside every container). */
struct scm_admin {
	/* Region to create, resize, delete, or copy into. */
	char name[SCM_NAME_MAX];
	/* SCM_IOC_COPY: region to copy from. Otherwise all zero. */
	char src[SCM_NAME_MAX];
	/* SCM_IOC_CREATE, SCM_IOC_RESIZE: size in bytes. Otherwise 0. */
	__u64 size;
};

/*
 * SCM_IOC_RESIZE keeps the first min(old, new) bytes and zeroes the rest; a
 * region that cannot grow in place moves to a free run of the new size.
 * Either way its mappings are revoked and fault in again where it now is.
 */
#define SCM_IOC_MAGIC		0xb5

#define SCM_IOC_INFO		_IOR(SCM_IOC_MAGIC, 0, struct scm_region_info)
#define SCM_IOC_SYNC		_IOW(SCM_IOC_MAGIC, 1, struct scm_range)
#define SCM_IOC_SET_USED	_IOW(SCM_IOC_MAGIC, 2, __u64)
#define SCM_IOC_SYNCV		_IOW(SCM_IOC_MAGIC, 3, struct scm_ranges)
#define SCM_IOC_CREATE		_IOW(SCM_IOC_MAGIC, 16, struct scm_admin)
#define SCM_IOC_RESIZE		_IOW(SCM_IOC_MAGIC, 17, struct scm_admin)
#define SCM_IOC_COPY		_IOW(SCM_IOC_MAGIC, 18, struct scm_admin)
#define SCM_IOC_DELETE		_IOW(SCM_IOC_MAGIC, 19, struct scm_admin)

#endif /* _UAPI_LINUX_VSSD_SCM_H */
