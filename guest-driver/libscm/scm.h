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
 * Threads and processes: every function may be called from any thread,
 * and any number of processes may open the same region (processes of one
 * container, a parent and the children it forks). Calls that read or
 * change the heap are serialised by a process-local mutex and by the
 * region lock, a word in the heap header that all these processes share
 * (see scm_lock()). A transaction or scm_lock() keeps the region lock
 * for the calling thread until it ends.
 *
 * Crashes. libscm distinguishes two kinds:
 *
 *   memory-preserving: the process is killed (kill -9), the guest
 *	crashes, or QEMU is killed. Every store made before the crash is
 *	in the region afterwards (it is host memory: the page cache of
 *	QEMU's memory backend, or of the regular file), none torn below 8
 *	bytes, only those after the crash point missing.
 *   host crash: the host loses power or its kernel crashes. Only what a
 *	host flush made durable is certain to be there (scmsync(),
 *	scmsyncv(), scm_set_root(), and the flushes transactions make);
 *	any page written since may or may not have reached the disk.
 *
 * Guarantees, and the tests that check each on the host (regular-file
 * regions; guest-driver/libscm/tests, "make check"; the memory-preserving
 * crashes are a child process killed with SIGKILL, which leaves the
 * region's file exactly as a guest crash or a killed QEMU leaves the
 * memory backend):
 *
 *   1. scmalloc(), scmfree(), scm_set_root() are atomic for memory-
 *	preserving crashes: the heap is as before the call, or, for
 *	scmalloc() killed after the allocation was recorded but before it
 *	returned, with that one block allocated and unreachable.
 *	[test-crash.c: a kill at each step of the update; 40 kills at
 *	random moments]
 *   2. scmalloc_into() and scmfree_from() are atomic with their
 *	destination word for memory-preserving crashes: the block is
 *	allocated and its offset stored, or neither (freed and the word
 *	cleared, or neither): no leak, no dangling offset. [test-tx.c: a
 *	kill at each step of both; kills at random moments of a workload
 *	that also publishes outside transactions]
 *   3. A transaction (scm_tx_begin() ... scm_tx_commit()) is atomic for
 *	both kinds of crash: after a crash before scm_tx_commit() reached
 *	its commit point, every range added with scm_tx_add() holds what it
 *	held at scm_tx_add(), every block allocated in the transaction is
 *	free and every block it freed is still allocated; after the commit
 *	point, all of the transaction holds. When scm_tx_commit() has
 *	returned 0, it is durable on the host. [test-tx.c: a kill at each
 *	step of begin, add, commit, abort and of the recovery itself; 40 to
 *	300 kills at random moments of random transactions; 30 to 200
 *	simulated host crashes: each page the transactions changed is
 *	taken either as the library's last msync of it left it or as it is
 *	now]
 *   4. A crash leaves nothing to do by hand: the next scm_open() (or the
 *	next process to take the region lock after its holder died)
 *	finishes or undoes the interrupted update and rolls back or
 *	finishes the interrupted transaction. [all of the above; test-lock.c:
 *	a holder killed with SIGKILL in a transaction]
 *   5. For a host crash outside transactions: the heap opens again and
 *	passes scm_check(); an allocation or free made after the last
 *	successful host flush may be lost, a block torn by the crash is
 *	freed or leaked, never handed out twice. Blocks scmalloc_into()
 *	published after the last host flush may be lost or leaked, and the
 *	destination word may then name a free block: publish inside a
 *	transaction to be safe from host crashes. [not tested: by design of
 *	the update protocol only]
 *
 * Regular files: when the path given to scm_open() (or $SCM_DEVICE) names
 * a regular file, libscm maps the file with MAP_SHARED and makes ranges
 * durable with msync(2) instead of the /dev/scm ioctls. That is how the
 * library is tested on a machine without the device.
 *
 * Link with -lscm (and -pthread when linking statically).
 */
#ifndef LIBSCM_SCM_H
#define LIBSCM_SCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * libscm's macros start with LIBSCM_, not SCM_: <sys/socket.h> owns the
 * SCM_ prefix (SCM_RIGHTS, SCM_CREDENTIALS, ...).
 */

/* Device used when neither scm_open() nor $SCM_DEVICE names another. */
#define LIBSCM_DEFAULT_DEVICE	"/dev/scm"

/* Every block scmalloc() returns is aligned to this many bytes. */
#define LIBSCM_ALIGN		64

/* The most ranges scmsyncv() takes (CSCM_SYNCV_MAX of the device). */
#define LIBSCM_SYNCV_MAX	1024

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
 *	A region whose first 4 KiB are all zero (a new region; bytes 1152
 *	to 1215, the lock, excepted) is formatted. A heap left by a crash is
 *	repaired (see the top of this file): an interrupted update is
 *	finished or undone, an interrupted transaction rolled back (or,
 *	past its commit point, finished). scm_open() takes the region lock
 *	for that, so it waits while another process holds it. When
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
 *	aligned to LIBSCM_ALIGN (64) bytes. The memory is not cleared: a block
 *	reused after scmfree() holds its old contents. The allocation itself
 *	is atomic and crash consistent; the caller makes its contents
 *	durable with scmsync(). Opens the default region on first use.
 *
 *	Inside a transaction of the calling thread the allocation is part
 *	of it: a rollback (scm_tx_abort(), or a crash before the commit
 *	point) frees the block.
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
 *	ENOSPC	In a transaction: its undo log is full.
 *	Any error of scm_open().
 */
void *scmalloc(size_t size);

/*
 * scmalloc_into, scmfree_from - allocate or free and publish atomically
 *
 * SYNOPSIS
 *	int scmalloc_into(uint64_t *dst, size_t size);
 *	int scmfree_from(uint64_t *dst);
 *
 * DESCRIPTION
 *	scmalloc_into() allocates size bytes as scmalloc() does and stores
 *	the block's offset (see scm_offset()) in *dst, in one atomic step:
 *	after a memory-preserving crash at any point, either the block is
 *	allocated and *dst holds its offset, or the block is free and *dst
 *	holds its old value. The old value is overwritten, not freed.
 *
 *	scmfree_from() frees the block whose offset *dst holds and sets
 *	*dst to 0, in one atomic step: after a crash either both happened
 *	or neither. *dst == 0 does nothing.
 *
 *	dst is a persistent word: 8-byte aligned, inside the region's heap
 *	(a block, typically the root object or a node of a structure);
 *	neither the heap's metadata nor the undo log. Its new value is
 *	written back from the CPU caches and becomes durable on the host
 *	with the next scmsync() (with the heap metadata), not before.
 *
 *	Inside a transaction of the calling thread, both are part of it:
 *	*dst is logged, a rollback frees the block and puts *dst back;
 *	scmfree_from() frees at the commit only. That also makes them
 *	atomic across a host crash.
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error (nothing changed).
 *
 * ERRORS
 *	EINVAL	dst is NULL, not aligned, or not inside the heap's data;
 *		scmalloc_into(): size is 0; scmfree_from(): *dst is not the
 *		offset of an allocated block (or, in a transaction, of one
 *		it frees already).
 *	ENOMEM	scmalloc_into(): no free run is large enough.
 *	ENOSPC	In a transaction: its undo log is full.
 *	Any error of scm_open() (scmalloc_into() opens on first use).
 */
int scmalloc_into(uint64_t *dst, size_t size);
int scmfree_from(uint64_t *dst);

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
 *	cleared. Inside a transaction of the calling thread the block is
 *	freed at the commit (a rollback leaves it allocated).
 *
 * RETURN VALUE
 *	None.
 *
 * ERRORS
 *	EINVAL	ptr is not a block allocated by scmalloc() in the open
 *		region, or the transaction frees it already (errno is left
 *		alone on success).
 *	ENOSPC	In a transaction: its undo log is full.
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
 *	asked of scmalloc(), rounded up to a multiple of LIBSCM_ALIGN.
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
 *	scmsync() of iovcnt ranges (1 to LIBSCM_SYNCV_MAX, 1024) with a
 *	single host flush (CSCM_IOC_SYNCV; one msync(MS_SYNC) over the span
 *	of the ranges on a regular file): what a program that touched
 *	scattered data calls at a consistency point, paying one round trip
 *	to the host instead of one per range. Every range is checked before
 *	anything is done. The heap metadata goes in the same request, or,
 *	when iovcnt is LIBSCM_SYNCV_MAX (the most the device takes), in a
 *	second one.
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EINVAL	iovcnt out of range, no region is open, or a range is not
 *		inside the region. Otherwise as scmsync().
 */
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
 *	region on first use. Inside a transaction of the calling thread a
 *	rollback puts the old root back.
 *
 * RETURN VALUE
 *	scm_root(): the root object, or NULL when none was set (errno
 *	unchanged) or on error (errno set).
 *	scm_set_root(): 0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EINVAL	scm_set_root(): ptr is not inside the region's heap.
 *	ENOSPC	scm_set_root() in a transaction: its undo log is full.
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
 * scm_lock, scm_unlock - the lock between processes
 *
 * SYNOPSIS
 *	int scm_lock(void);
 *	int scm_unlock(void);
 *
 * DESCRIPTION
 *	scm_lock() takes the region lock for the calling thread: until it
 *	calls scm_unlock(), no other process that has the region open and
 *	no other thread of this one gets through a libscm call that reads
 *	or changes the heap (scmalloc(), scmfree(), scm_root(), scm_lock(),
 *	scm_tx_begin(), scm_open() of the same region, ...); they wait.
 *	The holder's own calls go through, transactions included. It is
 *	what processes sharing data in a region use to serialise their
 *	updates of it. Opens the default region on first use.
 *
 *	The lock is a word in the heap header taken with an atomic
 *	compare-and-swap; a waiter backs off (sched_yield(), then sleeps of
 *	up to 1 ms). A futex, and so a process-shared pthread mutex, does
 *	not work on /dev/scm's device memory; this works on both kinds of
 *	region. It is not fair, and it is not recursive.
 *
 *	The word names its holder by pid and start time (/proc/PID/stat)
 *	and the boot. A waiter that finds the holder gone (killed, exited,
 *	or a guest or host crash since) takes the lock over, after rolling
 *	back the holder's transaction and finishing its interrupted heap
 *	update. Processes sharing a region must share a pid namespace (a
 *	container's processes do).
 *
 *	fork(): the child does not hold the lock, whatever the parent
 *	holds; it has no transaction either. It may use the region it
 *	inherits like any other process (scm_lock() then waits for the
 *	parent). The lock is not released by exec() or exit(): a process
 *	that ends holding it is taken over as a dead holder.
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EDEADLK	scm_lock(): the calling thread holds the lock already (with
 *		scm_lock() or an open transaction).
 *	EPERM	scm_unlock(): the calling thread does not hold it through
 *		scm_lock() (no region open, another thread's, or the
 *		parent's after fork()).
 *	EBUSY	scm_unlock(): a transaction begun under the lock is open.
 *	Any error of scm_open() for scm_lock().
 */
int scm_lock(void);
int scm_unlock(void);

/*
 * scm_tx_begin, scm_tx_add, scm_tx_commit, scm_tx_abort - transactions
 *
 * SYNOPSIS
 *	int scm_tx_begin(void);
 *	int scm_tx_add(void *addr, size_t len);
 *	int scm_tx_commit(void);
 *	int scm_tx_abort(void);
 *
 * DESCRIPTION
 *	An undo-log transaction makes a set of changes to the region atomic
 *	and durable (guarantee 3 at the top of this file).
 *
 *	scm_tx_begin() begins one for the calling thread. It takes the
 *	region lock (unless the thread holds it with scm_lock()) until the
 *	end of the transaction, so transactions of all processes and
 *	threads on a region run one at a time. Transactions do not nest: a
 *	second scm_tx_begin() in the same thread fails with EBUSY and
 *	changes nothing. The undo log is a heap block of a 16th of the
 *	region (at least 1 KiB, at most 256 KiB), allocated by the first
 *	scm_tx_begin() on the region.
 *
 *	scm_tx_add() copies [addr, addr + len) into the undo log and makes
 *	the copy durable on the host before returning; only then may the
 *	caller modify the range. The range must lie in the heap's data
 *	(allocated blocks), not in its metadata or in the log. A range a
 *	previous scm_tx_add() of the transaction covers is not copied again.
 *	Each scm_tx_add() costs one host flush; add a structure whole
 *	rather than field by field.
 *
 *	Also part of the transaction, when called by its thread: scmalloc()
 *	and scmalloc_into() (a rollback frees the block), scmfree() and
 *	scmfree_from() (the block is freed at the commit; a rollback leaves
 *	it allocated, and puts the destination word back), scm_set_root()
 *	(a rollback puts the old root back). Not part of it: changes to
 *	ranges that were not added, and calls made by other threads (they
 *	wait for the transaction to end, except scmsync(), scm_flush() and
 *	the address conversions).
 *
 *	scm_tx_commit() writes every added range and every block the
 *	transaction allocated back from the CPU caches, makes them, the log
 *	and the heap metadata durable on the host (in requests of at most
 *	LIBSCM_SYNCV_MAX ranges), then records the
 *	commit point and makes it durable, then does the frees, and releases
 *	the lock. scm_tx_abort() restores every added range (the latest
 *	change first), frees the blocks the transaction allocated, makes
 *	that durable, and releases the lock.
 *
 *	A crash during the transaction, or during the commit before its
 *	commit point, is rolled back by the next scm_open() of the region or
 *	by the next process to take the region lock; a crash after the
 *	commit point leaves the transaction committed (its frees are
 *	finished then). scm_close() fails with EBUSY while a transaction is
 *	open; a process that exits in one leaves it to be rolled back.
 *
 * RETURN VALUE
 *	0 on success; -1 with errno set on error.
 *
 * ERRORS
 *	EBUSY	scm_tx_begin(): the calling thread has a transaction open.
 *	ENOMEM	scm_tx_begin(): no room in the heap for the undo log.
 *	EPERM	scm_tx_add(), scm_tx_commit(), scm_tx_abort(): the calling
 *		thread has no transaction open (none begun, another
 *		thread's, or the parent's after fork()).
 *	EINVAL	scm_tx_add(): addr is NULL, len is 0, or the range is not
 *		inside the heap's data. Nothing is added.
 *	ENOSPC	scm_tx_add(): the undo log is full. Nothing is added; the
 *		transaction stays open (commit or abort it).
 *	scm_tx_begin() may fail with any error of scm_open(); scm_tx_add()
 *	with any error of scmsync() (nothing added). When the host flush of
 *	scm_tx_commit() fails before the commit point, the transaction is
 *	rolled back and the flush's errno returned; when a flush fails
 *	after it, the transaction is committed (in memory, and it survives
 *	a memory-preserving crash) but not known to be durable on the host,
 *	and the flush's errno is returned. scm_tx_abort() returns the errno
 *	of a failed host flush with the ranges restored in memory (the next
 *	scm_open() or transaction repeats the rollback).
 */
int scm_tx_begin(void);
int scm_tx_add(void *addr, size_t len);
int scm_tx_commit(void);
int scm_tx_abort(void);

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

#endif /* LIBSCM_SCM_H */
