// SPDX-License-Identifier: MIT
/*
 * libscm: the open region (mapping, host flush, usage reports) and the
 * public entry points.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * One region per process, described by scm_region and guarded by
 * scm_lock. Entry points that may open the region do so on first use.
 * scmsync() drops the lock while it writes cache lines back and while the
 * host flushes, so that one thread's sync does not stall another's
 * allocations; the metadata range it takes is put back if the flush fails.
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
pthread_mutex_t scm_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* fork() while another thread allocates: the child gets a free lock. */
static void scm_atfork_prepare(void)
{
	pthread_mutex_lock(&scm_lock);
}

static void scm_atfork_release(void)
{
	pthread_mutex_unlock(&scm_lock);
}

static void scm_atfork_register(void)
{
	pthread_atfork(scm_atfork_prepare, scm_atfork_release,
		       scm_atfork_release);
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

	return msync(r->base + start, off + len - start, MS_SYNC);
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
			path = SCM_DEFAULT_DEVICE;
	}
	if (scm_map_region(r, path))
		return -1;
	if (scm_heap_open(r)) {
		saved = errno;
		scm_unmap(r);
		errno = saved;
		return -1;
	}
	r->open = true;
	scm_report_used(r, true);
	scm_debug("opened %s: %zu bytes at %p, %llu in use", r->name, r->size,
		  (void *)r->base, (unsigned long long)scm_heap_used(r));
	return 0;
}

/* Open the default region unless one is open. */
static int scm_ensure_open(void)
{
	return scm_region.open ? 0 : scm_open_locked(NULL);
}

SCM_PUBLIC int scm_open(const char *path)
{
	int ret;

	pthread_mutex_lock(&scm_lock);
	if (scm_region.open) {
		errno = EBUSY;
		ret = -1;
	} else {
		ret = scm_open_locked(path);
	}
	pthread_mutex_unlock(&scm_lock);
	return ret;
}

SCM_PUBLIC int scm_close(void)
{
	struct scm_region *r = &scm_region;
	int ret = 0;

	pthread_mutex_lock(&scm_lock);
	if (!r->open) {
		errno = EBADF;
		ret = -1;
	} else {
		scm_report_used(r, true);
		scm_unmap(r);
	}
	pthread_mutex_unlock(&scm_lock);
	return ret;
}

/* The last usage report of a process that exits without scm_close(). */
__attribute__((destructor)) static void scm_exit_report(void)
{
	if (pthread_mutex_trylock(&scm_lock))
		return;
	if (scm_region.open)
		scm_report_used(&scm_region, true);
	pthread_mutex_unlock(&scm_lock);
}

/* --- allocation --- */

SCM_PUBLIC void *scmalloc(size_t size)
{
	void *p = NULL;

	pthread_mutex_lock(&scm_lock);
	if (!scm_ensure_open()) {
		p = scm_heap_alloc(&scm_region, size);
		if (p)
			scm_report_used(&scm_region, false);
	}
	pthread_mutex_unlock(&scm_lock);
	return p;
}

SCM_PUBLIC void scmfree(void *ptr)
{
	if (!ptr)
		return;
	pthread_mutex_lock(&scm_lock);
	if (!scm_region.open)
		errno = EINVAL;
	else if (!scm_heap_free(&scm_region, ptr))
		scm_report_used(&scm_region, false);
	pthread_mutex_unlock(&scm_lock);
}

SCM_PUBLIC size_t scm_usable_size(const void *ptr)
{
	size_t n = 0;

	pthread_mutex_lock(&scm_lock);
	if (!scm_region.open)
		errno = EINVAL;
	else
		n = scm_heap_block_size(&scm_region, ptr);
	pthread_mutex_unlock(&scm_lock);
	return n;
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

	pthread_mutex_lock(&scm_lock);
	ok = scm_range_ok(&scm_region, addr, len);
	pthread_mutex_unlock(&scm_lock);
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

	pthread_mutex_lock(&scm_lock);
	if (ret && lo < hi && r->open)
		scm_heap_dirty(r, lo, hi - lo);
	if (!ret && r->open)
		scm_report_used(r, true);
	pthread_mutex_unlock(&scm_lock);
	errno = saved;
	return ret;
}

SCM_PUBLIC int scmsync(const void *addr, size_t len)
{
	struct scm_region *r = &scm_region;
	uint64_t lo, hi, off;
	int ret;

	pthread_mutex_lock(&scm_lock);
	if (!scm_range_ok(r, addr, len)) {
		pthread_mutex_unlock(&scm_lock);
		errno = EINVAL;
		return -1;
	}
	off = (const unsigned char *)addr - r->base;
	lo = r->dirty_lo;
	hi = r->dirty_hi;
	r->dirty_lo = r->dirty_hi = 0;
	pthread_mutex_unlock(&scm_lock);

	scm_flush_range(addr, len);
	ret = scm_sync_ranges(r, lo, hi, off, len);
	return scm_sync_done(r, ret, lo, hi);
}

/* Host-flush @n region ranges (offsets) in one request (one msync on a file). */
static int scm_host_syncv(struct scm_region *r, struct cscm_range *ranges,
			  unsigned int n)
{
	struct cscm_ranges req = {
		.ranges = (uintptr_t)ranges,
		.nr = n,
	};
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned int i;

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

SCM_PUBLIC int scmsyncv(const struct iovec *iov, int iovcnt)
{
	struct scm_region *r = &scm_region;
	struct cscm_range ranges[CSCM_SYNCV_MAX + 1];
	uint64_t lo, hi;
	unsigned int n = 0;
	int i, ret;

	if (iovcnt < 1 || iovcnt > CSCM_SYNCV_MAX) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&scm_lock);
	for (i = 0; i < iovcnt; i++) {
		if (!scm_range_ok(r, iov[i].iov_base, iov[i].iov_len)) {
			pthread_mutex_unlock(&scm_lock);
			errno = EINVAL;
			return -1;
		}
		ranges[n].offset = (unsigned char *)iov[i].iov_base - r->base;
		ranges[n++].length = iov[i].iov_len;
	}
	lo = r->dirty_lo;
	hi = r->dirty_hi;
	r->dirty_lo = r->dirty_hi = 0;
	pthread_mutex_unlock(&scm_lock);

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

	pthread_mutex_lock(&scm_lock);
	if (!scm_ensure_open()) {
		h = scm_heap_header(&scm_region);
		if (h->root >= scm_region.size)
			errno = EUCLEAN;
		else if (h->root)
			root = scm_region.base + h->root;
	}
	pthread_mutex_unlock(&scm_lock);
	return root;
}

SCM_PUBLIC int scm_set_root(void *ptr)
{
	struct scm_region *r = &scm_region;
	struct scm_heap_header *h;
	unsigned char *p = ptr;
	uint64_t off = 0;

	pthread_mutex_lock(&scm_lock);
	if (scm_ensure_open())
		goto fail;
	h = scm_heap_header(r);
	if (p) {
		/* anywhere in an extent's data, not in the metadata */
		unsigned int x;

		off = p >= r->base && p < r->base + r->size ? p - r->base : 0;
		for (x = 0; off && x < h->nr_extents; x++)
			if (off >= h->extents[x].data &&
			    off < h->extents[x].data +
				  (h->extents[x].units << SCM_UNIT_SHIFT))
				break;
		if (!off || x == h->nr_extents) {
			errno = EINVAL;
			goto fail;
		}
	}
	__atomic_store_n(&h->root, off, __ATOMIC_RELEASE);
	scm_flush_range(&h->root, sizeof(h->root));
	scm_heap_dirty(r, (unsigned char *)&h->root - r->base, sizeof(h->root));
	pthread_mutex_unlock(&scm_lock);
	/* the root is the anchor of everything: make it durable now */
	return scmsync(r->base, 0);
fail:
	pthread_mutex_unlock(&scm_lock);
	return -1;
}

SCM_PUBLIC uint64_t scm_offset(const void *ptr)
{
	const unsigned char *p = ptr;
	uint64_t off = (uint64_t)-1;

	if (!p)
		return 0;
	pthread_mutex_lock(&scm_lock);
	if (scm_range_ok(&scm_region, p, 1))
		off = p - scm_region.base;
	else
		errno = EINVAL;
	pthread_mutex_unlock(&scm_lock);
	return off;
}

SCM_PUBLIC void *scm_pointer(uint64_t offset)
{
	void *p = NULL;

	if (!offset)
		return NULL;
	pthread_mutex_lock(&scm_lock);
	if (scm_region.open && offset < scm_region.size)
		p = scm_region.base + offset;
	else
		errno = EINVAL;
	pthread_mutex_unlock(&scm_lock);
	return p;
}

/* --- about the region --- */

SCM_PUBLIC void *scm_base(void)
{
	void *base = NULL;

	pthread_mutex_lock(&scm_lock);
	if (!scm_ensure_open())
		base = scm_region.base;
	pthread_mutex_unlock(&scm_lock);
	return base;
}

SCM_PUBLIC size_t scm_size(void)
{
	size_t size = 0;

	pthread_mutex_lock(&scm_lock);
	if (!scm_ensure_open())
		size = scm_region.size;
	pthread_mutex_unlock(&scm_lock);
	return size;
}

SCM_PUBLIC size_t scm_used(void)
{
	size_t used = 0;

	pthread_mutex_lock(&scm_lock);
	if (!scm_ensure_open())
		used = scm_heap_used(&scm_region);
	pthread_mutex_unlock(&scm_lock);
	return used;
}

SCM_PUBLIC const char *scm_name(void)
{
	const char *name = NULL;

	pthread_mutex_lock(&scm_lock);
	if (!scm_ensure_open())
		name = scm_region.name;
	pthread_mutex_unlock(&scm_lock);
	return name;
}

SCM_PUBLIC int scm_check(void)
{
	int ret;

	pthread_mutex_lock(&scm_lock);
	if (!scm_region.open) {
		errno = EBADF;
		ret = -1;
	} else {
		ret = scm_heap_check(&scm_region);
	}
	pthread_mutex_unlock(&scm_lock);
	return ret;
}
