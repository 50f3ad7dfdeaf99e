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
 * Which region: the caller's *container cgroup* (cgroup v2, read from the
 * initial cgroup namespace) decides, in this order:
 *
 *   1. A cgroup that an administrator bound to a region name
 *      (CSCM_IOC_BIND; the nearest bound ancestor of the caller's cgroup
 *      wins, so every cgroup below a bound container is that container's)
 *      uses that region.
 *   2. A process with CAP_SYS_ADMIN in the initial user namespace that
 *      shares the initial PID namespace and whose cgroup namespace is
 *      rooted at the top of the hierarchy (the host, not a container)
 *      uses the region "host". Nothing else ever does.
 *   3. Any other process is in a container: the root of its cgroup
 *      namespace when it has one of its own (what docker, podman, runc
 *      with a cgroup namespace, LXC and Kubernetes on cgroup v2 give a
 *      container), else its own cgroup. The region of an unbound container
 *      cgroup is keyed by the whole path of that cgroup, so two cgroups
 *      never share one: the name is the path itself ("/docker/<id>",
 *      "/user.slice/user-1000.slice/session-3.scope") when it has at most
 *      CSCM_NAME_MAX - 1 bytes of [A-Za-z0-9._@:/-], and otherwise "#"
 *      and the first 128 bits of the path's SHA-256 in hex. A container
 *      that the runtime recreates at the same path (docker restart,
 *      runc with a fixed cgroupsPath) gets its region back.
 *   4. The root cgroup itself is nobody's container: an unprivileged
 *      process there (or anywhere when no other rule applies) gets EPERM.
 *
 * Names that administrators give (CSCM_IOC_CREATE, CSCM_IOC_BIND) start
 * with a letter or digit, so they never equal a path-derived name, and
 * "host" is only ever the host's. When controllers are bound to cgroup v1
 * hierarchies (a v1 or hybrid guest), containers are not told apart by
 * their v2 cgroups: /dev/scm then refuses everyone but the host
 * (EOPNOTSUPP) instead of letting containers share.
 *
 *   runtime / layout                             container cgroup
 *   docker, cgroupfs driver    /docker/<id>                   /docker/<id>
 *   docker/podman, systemd     /system.slice/docker-<id>.scope  that scope
 *                              /machine.slice/libpod-<id>.scope that scope
 *   kubernetes, cgroupfs       /kubepods/<qos>/pod<uid>/<cid>  per container
 *   kubernetes, systemd        /kubepods.slice/.../cri-containerd-<cid>.scope
 *   rootless podman            /user.slice/user-<uid>.slice/user@<uid>.service/
 *                              .../libpod-<id>.scope (never "host")
 *   login shell                /user.slice/.../session-<n>.scope (its own)
 *   LXC/Incus                  /lxc.payload.<name> (even <name> = host)
 *   nested cgroup              the container's (cgroup namespace or bind)
 *
 * A region is created on the first use of an unbound container (mmap,
 * fsync or a region ioctl; not open) with the module parameter
 * scm_default_size bytes, unless scm_implicit is 0 or scm_implicit_max
 * such regions exist already (then ENOSPC). A bound name is created on
 * first use with the size given to CSCM_IOC_BIND (or scm_default_size).
 *
 * A file stays bound to the region of the process that opened it: mmap
 * and the ioctls refuse (EPERM) a caller that would get another region,
 * so a descriptor passed to another container is useless there. When the
 * device goes away every mapping is revoked (a touch gives SIGBUS) and
 * every later call on an open file fails with ENODEV.
 *
 * Durability: stores reach the host's page cache once they leave the CPU
 * caches; they survive a host crash only after a sync covering them:
 * msync(MS_SYNC)/fsync() on the mapping, CSCM_IOC_SYNC or CSCM_IOC_SYNCV,
 * which write back the CPU cache lines and then wait for the device's
 * flush. CSCM_IOC_SYNCV makes several ranges durable with one flush of the
 * device (one round trip to the host, whatever the number of ranges).
 */
#ifndef _UAPI_LINUX_VSSD_SCM_H
#define _UAPI_LINUX_VSSD_SCM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CSCM_NAME_MAX		64

/* CSCM_IOC_INFO: the region of this file. */
struct cscm_region_info {
	/* NUL-terminated region name. */
	char name[CSCM_NAME_MAX];
	/* Size of the region in bytes (a multiple of the page size). */
	__u64 size;
	/* Bytes in use, as last set with CSCM_IOC_SET_USED. */
	__u64 used;
	/* Byte offset of the region in the device's persistent memory. */
	__u64 offset;
	/* Granularity of the device's persistent-memory blocks, bytes. */
	__u64 block_size;
};

/* CSCM_IOC_SYNC: make [offset, offset + length) of the region durable. */
struct cscm_range {
	__u64 offset;
	__u64 length;
};

/*
 * CSCM_IOC_SYNCV: make nr ranges of the region durable. ranges points at an
 * array of nr struct cscm_range (1 <= nr <= CSCM_SYNCV_MAX), each inside
 * the region; flags is 0. All are checked before anything is written.
 */
struct cscm_ranges {
	__u64 ranges;
	__u32 nr;
	__u32 flags;
};

#define CSCM_SYNCV_MAX		1024

/* Region flags (struct cscm_admin.flags of CSCM_IOC_SET_FLAGS, /proc). */
/* An image: a source for CSCM_IOC_COPY; no container can be bound to it. */
#define CSCM_REGION_IMAGE	(1U << 0)
/* Created on the first use of an unbound container (read only). */
#define CSCM_REGION_IMPLICIT	(1U << 1)

/* CSCM_IOC_COPY flags. */
/* Refuse unless the source is an image region. */
#define CSCM_COPY_IMAGE_ONLY	(1U << 0)
/* Do nothing (and succeed) when the target region exists. */
#define CSCM_COPY_IF_MISSING	(1U << 1)

/*
 * Administration: CAP_SYS_ADMIN, outside every container (rule 2 above).
 * Fields a command does not use must be zero; the kernel checks.
 */
struct cscm_admin {
	/*
	 * Region to create, resize, delete, set flags of, bind or unbind, or
	 * copy into (or empty, for CSCM_IOC_COPY into @cgroup's region).
	 */
	char name[CSCM_NAME_MAX];
	/* CSCM_IOC_COPY: region to copy from. */
	char src[CSCM_NAME_MAX];
	/*
	 * CSCM_IOC_CREATE, CSCM_IOC_RESIZE: size in bytes (0 at create: the
	 * default). CSCM_IOC_BIND: the size of the region if it is created
	 * on first use (0: the default).
	 */
	__u64 size;
	/*
	 * CSCM_IOC_BIND, CSCM_IOC_COPY: user pointer to a NUL-terminated
	 * cgroup v2 path from the top of the hierarchy ("/docker/<id>"). For
	 * COPY it names the target: the region that cgroup's processes get.
	 */
	__u64 cgroup;
	/* CSCM_IOC_SET_FLAGS: CSCM_REGION_IMAGE or 0; COPY: CSCM_COPY_*. */
	__u32 flags;
	__u32 reserved;
};

/*
 * CSCM_IOC_RESIZE keeps the first min(old, new) bytes and zeroes the rest; a
 * region that cannot grow in place moves to a free run of the new size.
 * Either way its mappings are revoked and fault in again where it now is.
 *
 * CSCM_IOC_BIND makes @cgroup (and every cgroup below it) use region @name
 * (which need not exist yet). A cgroup holds at most one binding and a
 * name is bound to at most one live cgroup (EBUSY); a binding whose
 * cgroup was removed is replaced. Bindings live in memory: a container
 * runtime's hook makes them at each container start. CSCM_IOC_UNBIND
 * removes the binding of @name (ENOENT if none); open files keep their
 * region. An image region cannot be bound (EINVAL).
 *
 * The magic 0xbc is not in the kernel's list of ioctl numbers
 * (Documentation/userspace-api/ioctl/ioctl-number.rst, as of 6.12).
 */
#define CSCM_IOC_MAGIC		0xbc

#define CSCM_IOC_INFO		_IOR(CSCM_IOC_MAGIC, 0, struct cscm_region_info)
#define CSCM_IOC_SYNC		_IOW(CSCM_IOC_MAGIC, 1, struct cscm_range)
#define CSCM_IOC_SET_USED	_IOW(CSCM_IOC_MAGIC, 2, __u64)
#define CSCM_IOC_SYNCV		_IOW(CSCM_IOC_MAGIC, 3, struct cscm_ranges)
#define CSCM_IOC_CREATE		_IOW(CSCM_IOC_MAGIC, 16, struct cscm_admin)
#define CSCM_IOC_RESIZE		_IOW(CSCM_IOC_MAGIC, 17, struct cscm_admin)
#define CSCM_IOC_COPY		_IOW(CSCM_IOC_MAGIC, 18, struct cscm_admin)
#define CSCM_IOC_DELETE		_IOW(CSCM_IOC_MAGIC, 19, struct cscm_admin)
#define CSCM_IOC_SET_FLAGS	_IOW(CSCM_IOC_MAGIC, 20, struct cscm_admin)
#define CSCM_IOC_BIND		_IOW(CSCM_IOC_MAGIC, 21, struct cscm_admin)
#define CSCM_IOC_UNBIND		_IOW(CSCM_IOC_MAGIC, 22, struct cscm_admin)

#endif /* _UAPI_LINUX_VSSD_SCM_H */
