// SPDX-License-Identifier: MIT
/*
 * libscm: the open region (mapping, host flush, usage reports) and the
 * public entry points.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * One region per process, described by scm_region and guarded by
 * scm_mutex. Entry points that may open the region do so on first use.
 * scmsync() drops the mutex while it writes cache lines back and while the
 * host flushes, so that one thread's sync does not stall another's
 * allocations; the metadata range it takes is put back if the flush fails.
 *
 * Every call that reads or changes the heap also holds the region lock
 * (lock.c), which excludes the other processes that have the region
 * open: scm_enter() takes both, scm_leave() gives both back. A thread
 * may keep the region lock across calls (scm_lock(), a transaction);
 * then the other threads of the process wait for it on scm_cond, and
 * scm_leave() does not give it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/vssd_scm.h>

#include "scm.h"
#include "scm_internal.h"

struct scm_region scm_region = { .fd = -1 };
pthread_mutex_t scm_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t scm_cond = PTHREAD_COND_INITIALIZER;

#ifdef SCM_TESTING
unsigned int scm_test_syncv_max;
void (*scm_test_synced)(const void *base, uint64_t off, uint64_t len);
#endif

/* Two ranges closer than this are flushed with one request. */
#define SCM_SYNC_MERGE_GAP	(64 * 1024)
/* How often a busy device is asked again, and how long to wait between. */
#define SCM_BUSY_RETRIES	100
#define SCM_BUSY_WAIT_NS	(1000 * 1000)

void scm_debug(const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;

	if (enabled < 0) {
		const char *v = getenv("SCM_DEBUG");

		enabled = v && *v && strcmp(v, "0");
	}
	if (!enabled)
		return;
	va_start(ap, fmt);
	fputs("libscm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * fork() while another thread is in a call: the child gets a free mutex.
 * It holds no region lock either, whatever the parent holds (lock.c).
 */
static void scm_atfork_prepare(void)
{
	pthread_mutex_lock(&scm_mutex);
}

static void scm_atfork_parent(void)
{
	pthread_mutex_unlock(&scm_mutex);
}

static void scm_atfork_child(void)
{
	scm_lock_after_fork(&scm_region);
	/* threads that waited on it in the parent do not exist here */
	pthread_cond_init(&scm_cond, NULL);
	pthread_mutex_unlock(&scm_mutex);
}

static void scm_atfork_register(void)
{
	pthread_atfork(scm_atfork_prepare, scm_atfork_parent,
		       scm_atfork_child);
}

/* --- the host flush --- */

/* A sync ioctl of the device, again while the device is busy. */
static int scm_device_ioctl(struct scm_region *r, unsigned long req, void *arg)
{
	struct timespec wait = { 0, SCM_BUSY_WAIT_NS };
	int i;

	for (i = 0; ; i++) {
		if (!ioctl(r->fd, req, arg))
			return 0;
		if ((errno != EBUSY && errno != EINTR) || i >= SCM_BUSY_RETRIES)
			return -1;
		if (errno == EBUSY)
			nanosleep(&wait, NULL);
	}
}

static int scm_device_sync(struct scm_region *r, uint64_t off, uint64_t len)
{
	struct cscm_range range = { .offset = off, .length = len };

	return scm_device_ioctl(r, CSCM_IOC_SYNC, &range);
}

static int scm_file_sync(struct scm_region *r, uint64_t off, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = off & ~(page - 1);

	if (msync(r->base + start, off + len - start, MS_SYNC))
		return -1;
#ifdef SCM_TESTING
	if (scm_test_synced)
		scm_test_synced(r->base, start, off + len - start);
#endif
	return 0;
}

/* Make [off, off + len) of the region durable on the host. */
int scm_host_sync(struct scm_region *r, uint64_t off, uint64_t len)
{
	if (!len)
		return 0;
	if (r->backend == SCM_BACKEND_FILE)
		return scm_file_sync(r, off, len);
	return scm_device_sync(r, off, len);
}

/*
 * Tell the device how much of the region the heap uses: when @force, or
 * when it moved by a 256th of the region (4 KiB to 64 KiB) since the last
 * report. A failure only costs the report.
 */
void scm_report_used(struct scm_region *r, bool force)
{
	uint64_t used, step, delta;

	if (r->backend != SCM_BACKEND_DEVICE)
		return;
	used = scm_heap_used(r);
	if (used > r->size)
		used = r->size;
	step = r->size / 256;
	if (step < 4096)
		step = 4096;
	if (step > 65536)
		step = 65536;
	delta = used > r->reported ? used - r->reported : r->reported - used;
	if (used == r->reported || (!force && delta < step))
		return;
	if (ioctl(r->fd, CSCM_IOC_SET_USED, &used)) {
		scm_debug("CSCM_IOC_SET_USED: %s", strerror(errno));
		return;
	}
	r->reported = used;
}

/* --- opening and closing --- */

static void scm_unmap(struct scm_region *r)
{
	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* Open @path and map it whole into @r. */
static int scm_map_region(struct scm_region *r, const char *path)
{
	struct cscm_region_info info;
	struct stat st;
	void *base;
	int saved;

	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -1;
	if (fstat(r->fd, &st))
		goto fail;
	if (S_ISREG(st.st_mode)) {
		r->backend = SCM_BACKEND_FILE;
		if ((uint64_t)st.st_size > SIZE_MAX) {
			errno = EFBIG;
			goto fail;
		}
		r->size = st.st_size;
		snprintf(r->name, sizeof(r->name), "%s", path);
	} else if (S_ISCHR(st.st_mode)) {
		r->backend = SCM_BACKEND_DEVICE;
		memset(&info, 0, sizeof(info));
		if (ioctl(r->fd, CSCM_IOC_INFO, &info))
			goto fail;
		if (info.size > SIZE_MAX) {
			errno = EFBIG;
			goto fail;
		}
		r->size = info.size;
		r->reported = info.used;
		info.name[sizeof(info.name) - 1] = '\0';
		snprintf(r->name, sizeof(r->name), "%s", info.name);
	} else {
		errno = EINVAL;
		goto fail;
	}
	if (r->size < SCM_MIN_REGION) {
		scm_debug("%s: %zu bytes, libscm needs at least %u", path,
			  r->size, SCM_MIN_REGION);
		errno = EINVAL;
		goto fail;
	}
	base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (base == MAP_FAILED)
		goto fail;
	r->base = base;
	return 0;
fail:
	saved = errno;
	scm_unmap(r);
	errno = saved;
	return -1;
}

static int scm_open_locked(const char *path)
{
	static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
	struct scm_region *r = &scm_region;
	int saved;

	pthread_once(&atfork_once, scm_atfork_register);
	if (!path || !*path) {
		path = getenv("SCM_DEVICE");
		if (!path || !*path)
			path = LIBSCM_DEFAULT_DEVICE;
	}
	if (scm_map_region(r, path))
		return -1;
	/* taking the lock writes the header: not over foreign data */
	if (!scm_heap_magic_ok(r)) {
		scm_debug("heap not usable: not a libscm heap");
		errno = EUCLEAN;
		goto fail;
	}
	scm_region_acquire(r, true);
	if (scm_heap_open(r)) {
		saved = errno;
		scm_region_release(r);
		errno = saved;
		goto fail;
	}
	scm_region_release(r);
	r->open = true;
	scm_report_used(r, true);
	scm_debug("opened %s: %zu bytes at %p, %llu in use", r->name, r->size,
		  (void *)r->base, (unsigned long long)scm_heap_used(r));
	return 0;
fail:
	saved = errno;
	scm_unmap(r);
	errno = saved;
	return -1;
}

/*
 * Enter a call on the heap: scm_mutex, an open region (the default one
 * is opened if @closed_errno is 0; else that errno when none is open),
 * and the region lock, unless the calling thread keeps it already. Waits
 * while another thread of the process keeps it.
 */
static int scm_enter(int closed_errno)
{
	struct scm_region *r = &scm_region;

	pthread_mutex_lock(&scm_mutex);
	for (;;) {
		if (!r->open) {
			if (closed_errno) {
				errno = closed_errno;
				break;
			}
			if (scm_open_locked(NULL))
				break;
		}
		if (!scm_region_pinned(r)) {
			scm_region_acquire(r, false);
			return 0;
		}
		if (pthread_equal(r->holder, pthread_self()))
			return 0;
		pthread_cond_wait(&scm_cond, &scm_mutex);
	}
	pthread_mutex_unlock(&scm_mutex);
	return -1;
}

/* Leave a call entered with scm_enter(); errno is kept. */
static void scm_leave(void)
{
	int saved = errno;

	if (!scm_region_pinned(&scm_region))
		scm_region_release(&scm_region);
	pthread_mutex_unlock(&scm_mutex);
	errno = saved;
}

/* A thread stops keeping the region lock: give it back, wake the others. */
static void scm_unpin(struct scm_region *r)
{
	if (scm_region_pinned(r))
		return;
	scm_region_release(r);
	pthread_cond_broadcast(&scm_cond);
}

SCM_PUBLIC int scm_open(const char *path)
{
	int ret;

	pthread_mutex_lock(&scm_mutex);
	if (scm_region.open) {
		errno = EBUSY;
		ret = -1;
	} else {
		ret = scm_open_locked(path);
	}
	pthread_mutex_unlock(&scm_mutex);
	return ret;
}

SCM_PUBLIC int scm_close(void)
{
	struct scm_region *r = &scm_region;
	int ret = 0;

	pthread_mutex_lock(&scm_mutex);
	if (!r->open) {
		errno = EBADF;
		ret = -1;
	} else if (scm_region_pinned(r)) {
		errno = EBUSY;
		ret = -1;
	} else {
		scm_report_used(r, true);
		scm_unmap(r);
	}
	pthread_mutex_unlock(&scm_mutex);
	return ret;
}

/* The last usage report of a process that exits without scm_close(). */
__attribute__((destructor)) static void scm_exit_report(void)
{
	if (pthread_mutex_trylock(&scm_mutex))
		return;
	if (scm_region.open)
		scm_report_used(&scm_region, true);
	pthread_mutex_unlock(&scm_mutex);
}

/* --- the lock between processes --- */

SCM_PUBLIC int scm_lock(void)
{
	struct scm_region *r = &scm_region;

	if (scm_enter(0))
		return -1;
	if (scm_region_pinned(r)) {
		/* the calling thread keeps it already (scm_enter() waits
		 * for the others) */
		scm_leave();
		errno = EDEADLK;
		return -1;
	}
	r->user_lock = true;
	r->holder = pthread_self();
	scm_leave();
	return 0;
}

SCM_PUBLIC int scm_unlock(void)
{
	struct scm_region *r = &scm_region;
	int ret = -1;

	pthread_mutex_lock(&scm_mutex);
	if (!r->open || !r->user_lock ||
	    !pthread_equal(r->holder, pthread_self())) {
		errno = EPERM;
	} else if (r->tx.open) {
		errno = EBUSY;
	} else {
		r->user_lock = false;
		scm_unpin(r);
		ret = 0;
	}
	pthread_mutex_unlock(&scm_mutex);
	return ret;
}

/* --- allocation --- */

/*
 * @dst is a word a block's offset may be published in: 8-byte aligned,
 * inside the heap's data (not its metadata, not the undo log).
 */
static bool scm_dst_ok(const struct scm_region *r, const uint64_t *dst)
{
	const unsigned char *p = (const unsigned char *)dst;
	uint64_t off;

	if (!dst || (uintptr_t)dst % sizeof(*dst) || p < r->base ||
	    p >= r->base + r->size)
		return false;
	off = p - r->base;
	return scm_heap_data_range(r, off, sizeof(*dst)) &&
	       !scm_tx_in_log(r, off, sizeof(*dst));
}

/*
 * Allocate inside the calling thread's transaction: the allocation is
 * logged first, so that a rollback frees it.
 */
static void *scm_tx_alloc(struct scm_region *r, size_t size)
{
	unsigned int x;
	uint64_t u, n;

	if (scm_heap_find(r, size, &x, &u, &n) ||
	    scm_tx_log_alloc(r, x, u, n))
		return NULL;
	return scm_heap_commit_alloc(r, x, u, n, NULL);
}

/* Free inside the calling thread's transaction: done at its commit. */
static int scm_tx_free(struct scm_region *r, void *ptr)
{
	unsigned int x;
	uint64_t u, n;

	if (scm_heap_locate(r, ptr, &x, &u, &n))
		return -1;
	return scm_tx_log_free(r, (unsigned char *)ptr - r->base, n);
}

SCM_PUBLIC void *scmalloc(size_t size)
{
	struct scm_region *r = &scm_region;
	void *p;

	if (scm_enter(0))
		return NULL;
	if (scm_tx_mine(r))
		p = scm_tx_alloc(r, size);
	else
		p = scm_heap_alloc(r, size);
	if (p)
		scm_report_used(r, false);
	scm_leave();
	return p;
}

SCM_PUBLIC int scmalloc_into(uint64_t *dst, size_t size)
{
	struct scm_region *r = &scm_region;
	uint64_t off;
	void *p;

	if (scm_enter(0))
		return -1;
	if (!scm_dst_ok(r, dst)) {
		errno = EINVAL;
		p = NULL;
	} else if (scm_tx_mine(r)) {
		/* the destination's old value comes back with a rollback */
		p = NULL;
		if (!scm_tx_snapshot(r, (unsigned char *)dst - r->base,
				     sizeof(*dst)))
			p = scm_tx_alloc(r, size);
		if (p) {
			off = (unsigned char *)p - r->base;
			__atomic_store_n(dst, off, __ATOMIC_RELEASE);
			scm_persist(r, dst, sizeof(*dst));
		}
	} else {
		p = scm_heap_alloc_into(r, dst, size);
	}
	if (p)
		scm_report_used(r, false);
	scm_leave();
	return p ? 0 : -1;
}

SCM_PUBLIC void scmfree(void *ptr)
{
	struct scm_region *r = &scm_region;
	int ret;

	if (!ptr)
		return;
	if (scm_enter(EINVAL))
		return;
	if (scm_tx_mine(r))
		ret = scm_tx_free(r, ptr);
	else
		ret = scm_heap_free(r, ptr);
	if (!ret)
		scm_report_used(r, false);
	scm_leave();
}

SCM_PUBLIC int scmfree_from(uint64_t *dst)
{
	struct scm_region *r = &scm_region;
	uint64_t off;
	int ret = -1;

	if (scm_enter(EINVAL))
		return -1;
	if (!scm_dst_ok(r, dst)) {
		errno = EINVAL;
		goto out;
	}
	off = __atomic_load_n(dst, __ATOMIC_ACQUIRE);
	if (!off) {
		ret = 0;
		goto out;
	}
	if (off >= r->size) {
		errno = EINVAL;
		goto out;
	}
	if (scm_tx_mine(r)) {
		unsigned int x;
		uint64_t u, n;

		if (scm_heap_locate(r, r->base + off, &x, &u, &n) ||
		    scm_tx_snapshot(r, (unsigned char *)dst - r->base,
				    sizeof(*dst)) ||
		    scm_tx_log_free(r, off, n))
			goto out;
		__atomic_store_n(dst, 0, __ATOMIC_RELEASE);
		scm_persist(r, dst, sizeof(*dst));
		ret = 0;
	} else {
		ret = scm_heap_free_from(r, dst);
	}
	if (!ret)
		scm_report_used(r, false);
out:
	scm_leave();
	return ret;
}

SCM_PUBLIC size_t scm_usable_size(const void *ptr)
{
	size_t n;

	if (scm_enter(EINVAL))
		return 0;
	n = scm_heap_block_size(&scm_region, ptr);
	scm_leave();
	return n;
}

/* --- transactions --- */

SCM_PUBLIC int scm_tx_begin(void)
{
	struct scm_region *r = &scm_region;
	int ret;

	if (scm_enter(0))
		return -1;
	ret = scm_tx_start(r);
	if (!ret)
		r->holder = pthread_self();
	scm_leave();
	return ret;
}

/* scm_mutex held, and the calling thread's transaction open; else EPERM. */
static int scm_tx_enter(void)
{
	pthread_mutex_lock(&scm_mutex);
	if (scm_region.open && scm_tx_mine(&scm_region))
		return 0;
	pthread_mutex_unlock(&scm_mutex);
	errno = EPERM;
	return -1;
}

SCM_PUBLIC int scm_tx_add(void *addr, size_t len)
{
	struct scm_region *r = &scm_region;
	unsigned char *p = addr;
	uint64_t off;
	int ret = -1;

	if (scm_tx_enter())
		return -1;
	off = p - r->base;
	if (!p || !len || p < r->base || p >= r->base + r->size ||
	    !scm_heap_data_range(r, off, len) || scm_tx_in_log(r, off, len))
		errno = EINVAL;
	else
		ret = scm_tx_snapshot(r, off, len);
	pthread_mutex_unlock(&scm_mutex);
	return ret;
}

SCM_PUBLIC int scm_tx_commit(void)
{
	struct scm_region *r = &scm_region;
	int ret, saved;

	if (scm_tx_enter())
		return -1;
	ret = scm_tx_finish(r);
	saved = errno;
	if (!ret)
		scm_report_used(r, true);
	scm_unpin(r);
	pthread_mutex_unlock(&scm_mutex);
	errno = saved;
	return ret;
}

SCM_PUBLIC int scm_tx_abort(void)
{
	struct scm_region *r = &scm_region;
	int ret, saved;

	if (scm_tx_enter())
		return -1;
	ret = scm_tx_cancel(r);
	saved = errno;
	scm_unpin(r);
	pthread_mutex_unlock(&scm_mutex);
	errno = saved;
	return ret;
}

/* --- durability --- */

/* [addr, addr + len) lies inside the open region. */
static bool scm_range_ok(const struct scm_region *r, const void *addr,
			 size_t len)
{
	const unsigned char *p = addr;

	return r->open && p >= r->base && p <= r->base + r->size &&
	       len <= (size_t)(r->base + r->size - p);
}

SCM_PUBLIC int scm_flush(const void *addr, size_t len)
{
	bool ok;

	pthread_mutex_lock(&scm_mutex);
	ok = scm_range_ok(&scm_region, addr, len);
	pthread_mutex_unlock(&scm_mutex);
	if (!ok) {
		errno = EINVAL;
		return -1;
	}
	scm_flush_range(addr, len);
	return 0;
}

/* Host-flush the metadata range and the caller's, together when close. */
static int scm_sync_ranges(struct scm_region *r, uint64_t lo, uint64_t hi,
			   uint64_t off, uint64_t len)
{
	uint64_t start, end;

	if (lo >= hi)
		return scm_host_sync(r, off, len);
	if (!len)
		return scm_host_sync(r, lo, hi - lo);
	start = lo < off ? lo : off;
	end = hi > off + len ? hi : off + len;
	if (end - start <= (hi - lo) + len + SCM_SYNC_MERGE_GAP)
		return scm_host_sync(r, start, end - start);
	if (scm_host_sync(r, lo, hi - lo))
		return -1;
	return scm_host_sync(r, off, len);
}

/*
 * After a host sync that took the heap's dirty metadata range [@lo, @hi):
 * on failure put the range back, on success report the usage. Returns
 * @ret with the sync's errno.
 */
static int scm_sync_done(struct scm_region *r, int ret, uint64_t lo,
			 uint64_t hi)
{
	int saved = errno;

	pthread_mutex_lock(&scm_mutex);
	if (ret && lo < hi && r->open)
		scm_heap_dirty(r, lo, hi - lo);
	if (!ret && r->open)
		scm_report_used(r, true);
	pthread_mutex_unlock(&scm_mutex);
	errno = saved;
	return ret;
}

/* Host-flush the heap metadata written since the last flush (mutex held). */
int scm_sync_metadata(struct scm_region *r)
{
	uint64_t lo = r->dirty_lo, hi = r->dirty_hi;

	if (lo >= hi)
		return 0;
	r->dirty_lo = r->dirty_hi = 0;
	if (!scm_host_sync(r, lo, hi - lo))
		return 0;
	scm_heap_dirty(r, lo, hi - lo);
	return -1;
}

SCM_PUBLIC int scmsync(const void *addr, size_t len)
{
	struct scm_region *r = &scm_region;
	uint64_t lo, hi, off;
	int ret;

	pthread_mutex_lock(&scm_mutex);
	if (!scm_range_ok(r, addr, len)) {
		pthread_mutex_unlock(&scm_mutex);
		errno = EINVAL;
		return -1;
	}
	off = (const unsigned char *)addr - r->base;
	lo = r->dirty_lo;
	hi = r->dirty_hi;
	r->dirty_lo = r->dirty_hi = 0;
	pthread_mutex_unlock(&scm_mutex);

	scm_flush_range(addr, len);
	ret = scm_sync_ranges(r, lo, hi, off, len);
	return scm_sync_done(r, ret, lo, hi);
}

/*
 * One host flush request of at most CSCM_SYNCV_MAX ranges (offsets); on a
 * regular file, one msync over their span.
 */
static int scm_host_syncv_one(struct scm_region *r, struct cscm_range *ranges,
			      unsigned int n)
{
	struct cscm_ranges req = {
		.ranges = (uintptr_t)ranges,
		.nr = n,
	};
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned int i;

#ifdef SCM_TESTING
	if (n > scm_test_syncv_max)
		scm_test_syncv_max = n;
	if (n > CSCM_SYNCV_MAX) {	/* what the device answers */
		errno = EINVAL;
		return -1;
	}
#endif
	if (r->backend == SCM_BACKEND_DEVICE)
		return scm_device_ioctl(r, CSCM_IOC_SYNCV, &req);
	for (i = 0; i < n; i++) {
		if (!ranges[i].length)
			continue;
		if (ranges[i].offset < lo)
			lo = ranges[i].offset;
		if (ranges[i].offset + ranges[i].length > hi)
			hi = ranges[i].offset + ranges[i].length;
	}
	return lo < hi ? scm_file_sync(r, lo, hi - lo) : 0;
}

/*
 * Host-flush @n ranges: one request per CSCM_SYNCV_MAX of them, the
 * most the device takes at once.
 */
int scm_host_syncv(struct scm_region *r, struct cscm_range *ranges,
		   unsigned int n)
{
	unsigned int i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < CSCM_SYNCV_MAX ? n - i : CSCM_SYNCV_MAX;
		if (scm_host_syncv_one(r, ranges + i, k))
			return -1;
	}
	return 0;
}

_Static_assert(LIBSCM_SYNCV_MAX == CSCM_SYNCV_MAX,
	       "scm.h and <linux/vssd_scm.h> agree");

SCM_PUBLIC int scmsyncv(const struct iovec *iov, int iovcnt)
{
	struct scm_region *r = &scm_region;
	/* the caller's ranges and the heap metadata: two requests when the
	 * caller gives the most one request takes */
	struct cscm_range ranges[CSCM_SYNCV_MAX + 1];
	uint64_t lo, hi;
	unsigned int n = 0;
	int i, ret;

	if (iovcnt < 1 || iovcnt > CSCM_SYNCV_MAX) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&scm_mutex);
	for (i = 0; i < iovcnt; i++) {
		if (!scm_range_ok(r, iov[i].iov_base, iov[i].iov_len)) {
			pthread_mutex_unlock(&scm_mutex);
			errno = EINVAL;
			return -1;
		}
		ranges[n].offset = (unsigned char *)iov[i].iov_base - r->base;
		ranges[n++].length = iov[i].iov_len;
	}
	lo = r->dirty_lo;
	hi = r->dirty_hi;
	r->dirty_lo = r->dirty_hi = 0;
	pthread_mutex_unlock(&scm_mutex);

	for (i = 0; i < iovcnt; i++)
		scm_flush_range(iov[i].iov_base, iov[i].iov_len);
	if (lo < hi) {
		ranges[n].offset = lo;
		ranges[n++].length = hi - lo;
	}
	ret = scm_host_syncv(r, ranges, n);
	return scm_sync_done(r, ret, lo, hi);
}

/* --- the root --- */

SCM_PUBLIC void *scm_root(void)
{
	struct scm_heap_header *h;
	void *root = NULL;

	if (scm_enter(0))
		return NULL;
	h = scm_heap_header(&scm_region);
	if (h->root >= scm_region.size)
		errno = EUCLEAN;
	else if (h->root)
		root = scm_region.base + h->root;
	scm_leave();
	return root;
}

/* @p is inside an extent's data (where a root may point), or NULL. */
static bool scm_root_ok(const struct scm_region *r, const unsigned char *p)
{
	return !p || (p > r->base && p < r->base + r->size &&
		      scm_heap_data_range(r, p - r->base, 1));
}

SCM_PUBLIC int scm_set_root(void *ptr)
{
	struct scm_region *r = &scm_region;
	struct scm_heap_header *h;
	unsigned char *p = ptr;
	uint64_t off;

	if (scm_enter(0))
		return -1;
	h = scm_heap_header(r);
	if (!scm_root_ok(r, p)) {
		errno = EINVAL;
		goto fail;
	}
	off = p ? (uint64_t)(p - r->base) : 0;
	/* in a transaction, a rollback puts the old root back */
	if (scm_tx_mine(r) &&
	    scm_tx_snapshot(r, offsetof(struct scm_heap_header, root),
			    sizeof(h->root)))
		goto fail;
	__atomic_store_n(&h->root, off, __ATOMIC_RELEASE);
	scm_persist(r, &h->root, sizeof(h->root));
	scm_leave();
	/* the root is the anchor of everything: make it durable now */
	return scmsync(r->base, 0);
fail:
	scm_leave();
	return -1;
}

SCM_PUBLIC uint64_t scm_offset(const void *ptr)
{
	const unsigned char *p = ptr;
	uint64_t off = (uint64_t)-1;

	if (!p)
		return 0;
	pthread_mutex_lock(&scm_mutex);
	if (scm_range_ok(&scm_region, p, 1))
		off = p - scm_region.base;
	else
		errno = EINVAL;
	pthread_mutex_unlock(&scm_mutex);
	return off;
}

SCM_PUBLIC void *scm_pointer(uint64_t offset)
{
	void *p = NULL;

	if (!offset)
		return NULL;
	pthread_mutex_lock(&scm_mutex);
	if (scm_region.open && offset < scm_region.size)
		p = scm_region.base + offset;
	else
		errno = EINVAL;
	pthread_mutex_unlock(&scm_mutex);
	return p;
}

/* --- about the region --- */

/* Open the default region unless one is open (scm_mutex held). */
static int scm_ensure_open(void)
{
	return scm_region.open ? 0 : scm_open_locked(NULL);
}

SCM_PUBLIC void *scm_base(void)
{
	void *base = NULL;

	pthread_mutex_lock(&scm_mutex);
	if (!scm_ensure_open())
		base = scm_region.base;
	pthread_mutex_unlock(&scm_mutex);
	return base;
}

SCM_PUBLIC size_t scm_size(void)
{
	size_t size = 0;

	pthread_mutex_lock(&scm_mutex);
	if (!scm_ensure_open())
		size = scm_region.size;
	pthread_mutex_unlock(&scm_mutex);
	return size;
}

SCM_PUBLIC size_t scm_used(void)
{
	size_t used;

	if (scm_enter(0))
		return 0;
	used = scm_heap_used(&scm_region);
	scm_leave();
	return used;
}

SCM_PUBLIC const char *scm_name(void)
{
	const char *name = NULL;

	pthread_mutex_lock(&scm_mutex);
	if (!scm_ensure_open())
		name = scm_region.name;
	pthread_mutex_unlock(&scm_mutex);
	return name;
}

SCM_PUBLIC int scm_check(void)
{
	int ret;

	if (scm_enter(EBADF))
		return -1;
	ret = scm_heap_check(&scm_region);
	scm_leave();
	return ret;
}
