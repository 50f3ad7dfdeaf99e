/* SPDX-License-Identifier: MIT */
/*
 * libscm: persistent memory for containers, on /dev/scm.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * libscm is under the MIT licence (a permissive licence, so that programs
 * of any licence may link it statically); see the SPDX line above.
 *
 * A process maps its container's persistent-memory region (/dev/scm, see
 * include/uapi/linux/vssd_scm.h) and allocates from it with scmalloc().
 * The allocator's metadata lives in the region itself, so whatever the
 * process builds there is found again after a restart through the root
 * object (scm_root()). Stores are made durable with scmsync().
 *
 * Pointers: the region is mapped at an address that may change from one
 * run to the next. Keep offsets, not pointers, in persistent data
 * (scm_offset() and scm_pointer() convert).
 *
 * Threads: every function may be called from any thread. One process at a
 * time may allocate from a region: the lock that serialises allocations is
 * process-local.
 *
 * Crash consistency: each scmalloc(), scmfree() and scm_set_root() is
 * atomic. A crash in the middle of one (kill -9, a guest crash, QEMU being
 * killed) leaves the heap as it was before the call, or, for scmalloc()
 * and only when the crash comes after the allocation was recorded but
 * before it returned, with that one block allocated and unreachable. Heap
 * metadata is written back from the CPU caches as part of every call; it
 * reaches stable storage on the host with the next scmsync() of any range
 * (or scm_set_root()), together with that range. After a host crash,
 * every block allocated or freed before the last successful scmsync() is
 * as it was then; a later allocation may be lost or a later free undone,
 * and a block whose update was torn is freed or leaked, never handed out
 * twice.
 *
 * Regular files: when the path given to scm_open() (or SCM_DEVICE) names
 * a regular file, libscm maps the file with MAP_SHARED and makes ranges
 * durable with msync(2) instead of the /dev/scm ioctls. That is how the
 * library is tested on a machine without the device.
 *
 * Link with -lscm (and -pthread when linking statically).
 */
#ifndef SCM_H
#define SCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device used when neither scm_open() nor $SCM_DEVICE names another. */
#define SCM_DEFAULT_DEVICE	"/dev/scm"

/* Every block scmalloc() returns is aligned to this many bytes. */
#define SCM_ALIGN		64

/*
 * scm_open - map a region and open its heap
 *
 * SYNOPSIS
 *	int scm_open(const char *path);
 *
 * DESCRIPTION
 *	Opens path (NULL: $SCM_DEVICE, or /dev/scm when that is unset or
 *	empty), maps the whole region shared, and opens the persistent heap
 *	at its start. For /dev/scm the region is the caller's container
 *	region; a regular file is used as a region of its own size.
 *
 *	A region whose first 4 KiB are all zero (a new region) is formatted.
 *	A heap left by a crash is repaired (see the top of this file). When
 *	the region has grown since the heap was made, the new space joins the
 *	heap; when it has shrunk, the heap shrinks with it provided the part
 *	cut off was free.
 *
 *	Calling scm_open() is optional: scmalloc(), scm_root(),
 *	scm_set_root(), scm_base(), scm_size() and scm_used() open the
 *	default region on first use.
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EBUSY	A region is already open (scm_close() it first).
 *	EINVAL	path is not a regular file or character device, or the
 *		region is smaller than 8 KiB.
 *	EUCLEAN	The region holds data that is not a libscm heap, the heap
 *		is corrupt, or the region was shrunk below blocks in use.
 *		Nothing was written to the region.
 *	ENOTSUP	The heap was made by an incompatible version of libscm.
 *	Any errno of open(2), fstat(2), mmap(2) or the CSCM_IOC_INFO ioctl
 *	(e.g. ENOENT when there is no /dev/scm, EPERM when the file
 *	belongs to another container).
 */
int scm_open(const char *path);

/*
 * scm_close - unmap the region
 *
 * SYNOPSIS
 *	int scm_close(void);
 *
 * DESCRIPTION
 *	Reports the heap's usage to the device, unmaps the region and closes
 *	it. Every pointer into the region becomes invalid. Nothing is made
 *	durable that scmsync() did not make durable. A later call that opens
 *	implicitly (scmalloc(), ...) maps the default region again.
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EBADF	No region is open.
 */
int scm_close(void);

/*
 * scmalloc - allocate persistent memory
 *
 * SYNOPSIS
 *	void *scmalloc(size_t size);
 *
 * DESCRIPTION
 *	Allocates size bytes in the region and returns a pointer to them,
 *	aligned to SCM_ALIGN (64) bytes. The memory is not cleared: a block
 *	reused after scmfree() holds its old contents. The allocation itself
 *	is atomic and crash consistent; the caller makes its contents
 *	durable with scmsync(). Opens the default region on first use.
 *
 *	The device learns the heap's usage (CSCM_IOC_SET_USED, the "used"
 *	column of /proc/scm/regions) when it has moved by a 256th of the
 *	region (4 KiB to 64 KiB) since the last report, and at every
 *	scmsync(), scm_close() and process exit.
 *
 * RETURN VALUE
 *	A pointer into the region; NULL with errno set on error.
 *
 * ERRORS
 *	EINVAL	size is 0.
 *	ENOMEM	No free run of the region is large enough.
 *	Any error of scm_open().
 */
void *scmalloc(size_t size);

/*
 * scmfree - free persistent memory
 *
 * SYNOPSIS
 *	void scmfree(void *ptr);
 *
 * DESCRIPTION
 *	Gives the block at ptr, returned by scmalloc(), back to the heap.
 *	The heap checks ptr: a pointer that is not the start of an allocated
 *	block (including a block freed already) changes nothing and sets
 *	errno. NULL does nothing. If ptr is the root object, the root is
 *	cleared.
 *
 * RETURN VALUE
 *	None.
 *
 * ERRORS
 *	EINVAL	ptr is not a block allocated by scmalloc() in the open
 *		region (errno is left alone on success).
 */
void scmfree(void *ptr);

/*
 * scm_usable_size - size of an allocated block
 *
 * SYNOPSIS
 *	size_t scm_usable_size(const void *ptr);
 *
 * DESCRIPTION
 *	Returns how many bytes the block at ptr holds: at least the size
 *	asked of scmalloc(), rounded up to a multiple of SCM_ALIGN.
 *
 * RETURN VALUE
 *	The size; 0 with errno set on error.
 *
 * ERRORS
 *	EINVAL	ptr is not the start of an allocated block.
 */
size_t scm_usable_size(const void *ptr);

/*
 * scmsync - make a range of the region durable
 *
 * SYNOPSIS
 *	int scmsync(const void *addr, size_t len);
 *
 * DESCRIPTION
 *	Writes back every CPU cache line of [addr, addr + len) (CLWB, else
 *	CLFLUSHOPT, else CLFLUSH, as CPUID reports), waits for that with a
 *	fence, then asks the device to make the range durable on the host
 *	(CSCM_IOC_SYNC; msync(MS_SYNC) on a regular file) together with the
 *	heap metadata changed since the last scmsync(). When scmsync()
 *	returns 0, the range and every allocation made before the call
 *	survive a crash of the process, the guest, QEMU or the host.
 *	len 0 only checks addr and makes the heap metadata durable. Also
 *	reports the heap's usage to the device (CSCM_IOC_SET_USED).
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EINVAL	No region is open, or [addr, addr + len) is not inside it.
 *	Any errno of the CSCM_IOC_SYNC ioctl or msync(2) (e.g. EIO when
 *	the host could not write the data; EPERM after the process moved
 *	to another container).
 */
int scmsync(const void *addr, size_t len);

/*
 * scmsyncv - make several ranges of the region durable at once
 *
 * SYNOPSIS
 *	#include <sys/uio.h>
 *	int scmsyncv(const struct iovec *iov, int iovcnt);
 *
 * DESCRIPTION
 *	scmsync() of iovcnt ranges (1 to CSCM_SYNCV_MAX, 1024) with a single
 *	host flush (CSCM_IOC_SYNCV; one msync(MS_SYNC) over the span of the
 *	ranges on a regular file): what a transaction that touched scattered
 *	data calls at its commit, paying one round trip to the host instead
 *	of one per range. Every range is checked before anything is done.
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EINVAL	iovcnt out of range, no region is open, or a range is not
 *		inside the region. Otherwise as scmsync().
 */
#ifndef CSCM_SYNCV_MAX
#define CSCM_SYNCV_MAX	1024	/* as in <linux/vssd_scm.h> */
#endif
struct iovec;
int scmsyncv(const struct iovec *iov, int iovcnt);

/*
 * scm_flush - write a range back from the CPU caches only
 *
 * SYNOPSIS
 *	int scm_flush(const void *addr, size_t len);
 *
 * DESCRIPTION
 *	Like scmsync() without the host flush: writes back the cache lines
 *	of the range and fences. The data then survives a crash of the
 *	process, the guest or QEMU, but not of the host. Much cheaper than
 *	scmsync().
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EINVAL	No region is open, or [addr, addr + len) is not inside it.
 */
int scm_flush(const void *addr, size_t len);

/*
 * scm_root, scm_set_root - the root object
 *
 * SYNOPSIS
 *	void *scm_root(void);
 *	int scm_set_root(void *ptr);
 *
 * DESCRIPTION
 *	The root object is where a program finds its data again after a
 *	restart: typically a structure allocated with scmalloc() that holds
 *	the offsets of everything else. scm_set_root() records ptr (any
 *	address inside the region; NULL clears it) in the heap header and
 *	makes the header durable on the host; scm_root() returns it at the
 *	address where the region is mapped now. Both open the default
 *	region on first use.
 *
 * RETURN VALUE
 *	scm_root(): the root object, or NULL when none was set (errno
 *	unchanged) or on error (errno set).
 *	scm_set_root(): 0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EINVAL	scm_set_root(): ptr is not inside the region's heap.
 *	Any error of scm_open(); for scm_set_root() any error of scmsync().
 */
void *scm_root(void);
int scm_set_root(void *ptr);

/*
 * scm_offset, scm_pointer - position-independent references
 *
 * SYNOPSIS
 *	uint64_t scm_offset(const void *ptr);
 *	void *scm_pointer(uint64_t offset);
 *
 * DESCRIPTION
 *	scm_offset() turns a pointer into the region into its offset from
 *	the region's start, which stays valid across restarts; scm_pointer()
 *	turns it back. NULL and offset 0 map to each other (offset 0 is the
 *	heap header, never an allocation).
 *
 * RETURN VALUE
 *	scm_offset(): the offset; (uint64_t)-1 with errno set on error.
 *	scm_pointer(): the pointer; NULL with errno set on error (or for 0).
 *
 * ERRORS
 *	EINVAL	No region is open, or the pointer or offset is outside it.
 */
uint64_t scm_offset(const void *ptr);
void *scm_pointer(uint64_t offset);

/*
 * scm_base, scm_size, scm_used, scm_name - about the open region
 *
 * SYNOPSIS
 *	void *scm_base(void);
 *	size_t scm_size(void);
 *	size_t scm_used(void);
 *	const char *scm_name(void);
 *
 * DESCRIPTION
 *	scm_base() is the address the region is mapped at, scm_size() its
 *	size in bytes, scm_used() the bytes the heap uses (its metadata plus
 *	every allocated block; the value CSCM_IOC_SET_USED reports), and
 *	scm_name() the region's name (/proc/scm/regions) or, for a regular
 *	file, its path. Each opens the default region on first use.
 *
 * RETURN VALUE
 *	scm_base(), scm_name(): NULL with errno set on error.
 *	scm_size(), scm_used(): 0 with errno set on error.
 *
 * ERRORS
 *	Any error of scm_open().
 */
void *scm_base(void);
size_t scm_size(void);
size_t scm_used(void);
const char *scm_name(void);

/*
 * scm_check - check the heap's consistency
 *
 * SYNOPSIS
 *	int scm_check(void);
 *
 * DESCRIPTION
 *	Walks the open region's heap metadata: header, extents, the state of
 *	every allocation unit, the usage count and the root. Changes
 *	nothing. Meant for tests and tools.
 *
 * RETURN VALUE
 *	0 when the heap is consistent; -1 with errno set otherwise.
 *
 * ERRORS
 *	EBADF	No region is open.
 *	EUCLEAN	The heap is inconsistent (a message says why on stderr when
 *		$SCM_DEBUG is set).
 */
int scm_check(void);

#ifdef __cplusplus
}
#endif

#endif /* SCM_H */
