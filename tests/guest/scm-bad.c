// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scm-bad — bad input for /dev/scm (static; runs in containers too).
 *
 *   scm-bad calls          every /dev/scm ioctl with bad arguments, odd
 *                          maps and calls the device has no use for; each
 *                          must fail with its errno (or succeed where the
 *                          call is legal), and nothing may change
 *   scm-bad admin          (outside containers, root) the admin ioctls
 *                          with bad arguments, and then good ones on
 *                          scratch regions: create, copy, resize, delete
 *   scm-bad admin --denied the same requests where they are not allowed
 *                          (in a container): every one must give EPERM
 *   scm-bad moved CGROUP   open /dev/scm, move into CGROUP (a folder
 *                          under /sys/fs/cgroup), then every use of the
 *                          file must give EPERM: a descriptor carried into
 *                          another container is useless there
 *   scm-bad revoked        (outside containers) map a scratch region,
 *                          delete it from another process; touching the
 *                          map afterwards gives SIGBUS, and so does a new
 *                          region created on the same blocks (never its
 *                          data)
 *
 * One line per case, "scm-bad: CASE: ok|WRONG (...)"; the last line is
 * "scm-bad: CMD ok" or "scm-bad: CMD FAILED". Exit status: 0 all good,
 * 1 a case went wrong, 2 an error, 3 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../../include/uapi/linux/vssd_scm.h"

static int bad;
static long page;
/* admin --denied: every admin request must give EPERM, whatever it holds */
static int denied;

static int open_dev(void)
{
	int fd = open("/dev/scm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "scm-bad: open /dev/scm: %s\n", strerror(errno));
		exit(2);
	}
	return fd;
}

static void info_of(int fd, struct cscm_region_info *info)
{
	if (ioctl(fd, CSCM_IOC_INFO, info) < 0) {
		fprintf(stderr, "scm-bad: CSCM_IOC_INFO: %s\n", strerror(errno));
		exit(2);
	}
}

/* @rc of a call must be -1 with @want_errno (0: must succeed). */
static void expect(const char *what, long rc, int want_errno)
{
	int err = rc < 0 ? errno : 0;
	int ok = want_errno ? (rc < 0 && err == want_errno) : rc >= 0;

	printf("scm-bad: %s: %s (errno %d, want %d)\n", what, ok ? "ok" : "WRONG",
	       err, want_errno);
	bad |= !ok;
}

static long map_rc(int fd, size_t len, off_t off, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -1;
	munmap(p, len);
	return 0;
}

static void admin(int fd, unsigned long cmd, const char *name, const char *src,
		  uint64_t size, const char *what, int want)
{
	struct cscm_admin a;

	memset(&a, 0, sizeof(a));
	if (name)
		strncpy(a.name, name, sizeof(a.name) - 1);
	if (src)
		strncpy(a.src, src, sizeof(a.src) - 1);
	a.size = size;
	expect(what, ioctl(fd, cmd, &a), denied ? EPERM : want);
}

static void bind(int fd, const char *name, const char *cgroup, const char *what,
		 int want)
{
	struct cscm_admin a;

	memset(&a, 0, sizeof(a));
	strncpy(a.name, name, sizeof(a.name) - 1);
	a.cgroup = (uintptr_t)cgroup;
	expect(what, ioctl(fd, CSCM_IOC_BIND, &a), denied ? EPERM : want);
}

/* A request with every field given: the checks of unused fields. */
struct admin_case {
	const char *what;
	unsigned long cmd;
	const char *name, *src;
	uint64_t size;
	const char *cgroup;	/* a path, or BAD_PTR for an unreadable one */
	uint32_t flags, reserved;
	int want;
};

#define BAD_PTR ((const char *)8)

static void admin_cases(int fd, const struct admin_case *c, size_t n)
{
	struct cscm_admin a;
	size_t i;

	for (i = 0; i < n; i++, c++) {
		memset(&a, 0, sizeof(a));
		if (c->name)
			strncpy(a.name, c->name, sizeof(a.name) - 1);
		if (c->src)
			strncpy(a.src, c->src, sizeof(a.src) - 1);
		a.size = c->size;
		a.cgroup = (uintptr_t)c->cgroup;
		a.flags = c->flags;
		a.reserved = c->reserved;
		expect(c->what, ioctl(fd, c->cmd, &a), denied ? EPERM : c->want);
	}
}

static int cmd_calls(void)
{
	struct cscm_region_info info, again;
	struct cscm_range r, rv[3];
	struct cscm_ranges req;
	uint64_t used;
	char buf[16];
	int fd = open_dev();
	void *p;

	info_of(fd, &info);

	/* ioctls: pointers */
	expect("INFO NULL pointer", ioctl(fd, CSCM_IOC_INFO, NULL), EFAULT);
	expect("INFO pointer into the kernel",
	       ioctl(fd, CSCM_IOC_INFO, (void *)0xffffffffff600000UL), EFAULT);
	expect("SYNC NULL pointer", ioctl(fd, CSCM_IOC_SYNC, NULL), EFAULT);
	expect("SET_USED NULL pointer", ioctl(fd, CSCM_IOC_SET_USED, NULL), EFAULT);
	/* ioctls: numbers */
	expect("INFO with a wrong size in the number",
	       ioctl(fd, _IOR(CSCM_IOC_MAGIC, 0, uint32_t), buf), ENOTTY);
	expect("SYNC with a wrong direction", ioctl(fd, _IOR(CSCM_IOC_MAGIC, 1,
							       struct cscm_range), &r), ENOTTY);
	expect("another magic", ioctl(fd, _IOR(0xb6, 0, struct cscm_region_info),
				      &info), ENOTTY);
	expect("a block-device ioctl (BLKGETSIZE64)",
	       ioctl(fd, _IOR(0x12, 114, size_t), buf), ENOTTY);
	expect("number 15, between user and admin",
	       ioctl(fd, _IOW(CSCM_IOC_MAGIC, 15, struct cscm_admin), buf), ENOTTY);
	/* SYNC: ranges */
	r = (struct cscm_range){ .offset = info.size, .length = 1 };
	expect("SYNC one byte past the end", ioctl(fd, CSCM_IOC_SYNC, &r), EINVAL);
	r = (struct cscm_range){ .offset = 0, .length = info.size + 1 };
	expect("SYNC the region and one byte", ioctl(fd, CSCM_IOC_SYNC, &r), EINVAL);
	r = (struct cscm_range){ .offset = UINT64_MAX, .length = 2 };
	expect("SYNC offset+length wrapping", ioctl(fd, CSCM_IOC_SYNC, &r), EINVAL);
	r = (struct cscm_range){ .offset = UINT64_MAX - 4095, .length = 4096 };
	expect("SYNC at the top of the address space", ioctl(fd, CSCM_IOC_SYNC, &r),
	       EINVAL);
	r = (struct cscm_range){ .offset = info.size - 1, .length = UINT64_MAX };
	expect("SYNC last byte, huge length", ioctl(fd, CSCM_IOC_SYNC, &r), EINVAL);
	r = (struct cscm_range){ .offset = 0, .length = info.size };
	expect("SYNC the whole region (legal)", ioctl(fd, CSCM_IOC_SYNC, &r), 0);
	r = (struct cscm_range){ .offset = info.size, .length = 0 };
	expect("SYNC nothing at the end (legal)", ioctl(fd, CSCM_IOC_SYNC, &r), 0);
	r = (struct cscm_range){ .offset = 3, .length = 5 };
	expect("SYNC unaligned bytes (legal)", ioctl(fd, CSCM_IOC_SYNC, &r), 0);
	/* SYNCV: the request and every range */
	expect("SYNCV NULL pointer", ioctl(fd, CSCM_IOC_SYNCV, NULL), EFAULT);
	rv[0] = (struct cscm_range){ .offset = 0, .length = 4096 };
	rv[1] = (struct cscm_range){ .offset = info.size - 8, .length = 8 };
	rv[2] = (struct cscm_range){ .offset = info.size, .length = 1 };
	req = (struct cscm_ranges){ .ranges = (uintptr_t)rv, .nr = 0 };
	expect("SYNCV no range", ioctl(fd, CSCM_IOC_SYNCV, &req), EINVAL);
	req.nr = CSCM_SYNCV_MAX + 1;
	expect("SYNCV one range too many", ioctl(fd, CSCM_IOC_SYNCV, &req), EINVAL);
	req.nr = UINT32_MAX;
	expect("SYNCV 2^32 - 1 ranges", ioctl(fd, CSCM_IOC_SYNCV, &req), EINVAL);
	req = (struct cscm_ranges){ .ranges = (uintptr_t)rv, .nr = 1, .flags = 1 };
	expect("SYNCV unknown flag", ioctl(fd, CSCM_IOC_SYNCV, &req), EINVAL);
	req = (struct cscm_ranges){ .ranges = 0, .nr = 2 };
	expect("SYNCV NULL ranges", ioctl(fd, CSCM_IOC_SYNCV, &req), EFAULT);
	req.ranges = 0xffffffffff600000UL;
	expect("SYNCV ranges in the kernel", ioctl(fd, CSCM_IOC_SYNCV, &req), EFAULT);
	req = (struct cscm_ranges){ .ranges = (uintptr_t)rv, .nr = 3 };
	expect("SYNCV last range one byte past the end",
	       ioctl(fd, CSCM_IOC_SYNCV, &req), EINVAL);
	rv[2] = (struct cscm_range){ .offset = UINT64_MAX, .length = 2 };
	expect("SYNCV a range wrapping", ioctl(fd, CSCM_IOC_SYNCV, &req), EINVAL);
	rv[2] = (struct cscm_range){ .offset = info.size, .length = 0 };
	expect("SYNCV three ranges (legal)", ioctl(fd, CSCM_IOC_SYNCV, &req), 0);
	req.nr = 1;
	rv[0].length = 0;
	expect("SYNCV one empty range (legal)", ioctl(fd, CSCM_IOC_SYNCV, &req), 0);
	/* SET_USED */
	used = UINT64_MAX;
	expect("SET_USED all ones", ioctl(fd, CSCM_IOC_SET_USED, &used), EINVAL);
	used = info.size;
	expect("SET_USED the size (legal)", ioctl(fd, CSCM_IOC_SET_USED, &used), 0);
	used = info.used;
	expect("SET_USED back (legal)", ioctl(fd, CSCM_IOC_SET_USED, &used), 0);
	/* mmap */
	expect("mmap length 0", map_rc(fd, 0, 0, PROT_READ, MAP_SHARED), EINVAL);
	expect("mmap unaligned offset", map_rc(fd, page, 1, PROT_READ, MAP_SHARED), EINVAL);
	expect("mmap at a huge offset",
	       map_rc(fd, page, (off_t)0x7ffffffffffff000LL, PROT_READ, MAP_SHARED), EINVAL);
	expect("mmap the whole region plus one page",
	       map_rc(fd, info.size + page, 0, PROT_READ, MAP_SHARED), EINVAL);
	expect("mmap the last page (legal)",
	       map_rc(fd, page, info.size - page, PROT_READ | PROT_WRITE, MAP_SHARED), 0);
	expect("mmap read-only (legal)", map_rc(fd, page, 0, PROT_READ, MAP_SHARED), 0);
	expect("mmap private", map_rc(fd, page, 0, PROT_READ, MAP_PRIVATE), EINVAL);
	p = mmap(NULL, info.size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		expect("mmap the whole region (legal)", -1, 0);
	} else {
		void *q = mremap(p, info.size, info.size + page, 0);

		expect("mremap the map past the end in place", q == MAP_FAILED ? -1 : 0,
		       EFAULT);
		q = mremap(p, info.size, info.size + page, MREMAP_MAYMOVE);
		expect("mremap the map past the end, moving",
		       q == MAP_FAILED ? -1 : 0, EFAULT);
		if (q != MAP_FAILED)
			p = q;
		munmap(p, info.size);
	}
	/* calls the device has no use for */
	expect("read()", read(fd, buf, sizeof(buf)), EINVAL);
	expect("write()", write(fd, "x", 1), EINVAL);
	expect("fsync() (legal)", fsync(fd), 0);
	/* and nothing changed */
	info_of(fd, &again);
	expect("the region is unchanged",
	       memcmp(&info, &again, sizeof(info)) ? -1 : 0, 0);
	printf("scm-bad: calls %s\n", bad ? "FAILED" : "ok");
	return bad;
}

static int cmd_admin(void)
{
	int fd = open_dev();
	struct cscm_region_info info;
	struct cscm_admin a;
	char long_name[CSCM_NAME_MAX + 8];
	uint64_t small;

	info_of(fd, &info);
	/* what a 1 MiB create gets: whole blocks */
	small = ((1 << 20) + info.block_size - 1) / info.block_size * info.block_size;
	expect("CREATE NULL pointer", ioctl(fd, CSCM_IOC_CREATE, NULL),
	       denied ? EPERM : EFAULT);
	expect("DELETE NULL pointer", ioctl(fd, CSCM_IOC_DELETE, NULL),
	       denied ? EPERM : EFAULT);
	admin(fd, CSCM_IOC_CREATE, "", NULL, 0, "CREATE empty name", EINVAL);
	admin(fd, CSCM_IOC_CREATE, "../x", NULL, 0, "CREATE name with a slash", EINVAL);
	admin(fd, CSCM_IOC_CREATE, "a b", NULL, 0, "CREATE name with a space", EINVAL);
	memset(&a, 'y', sizeof(a));
	expect("CREATE unterminated name and source", ioctl(fd, CSCM_IOC_CREATE, &a),
	       denied ? EPERM : EINVAL);
	memset(long_name, 'z', sizeof(long_name));
	long_name[CSCM_NAME_MAX - 1] = '\0';
	admin(fd, CSCM_IOC_CREATE, info.name, NULL, 1 << 20, "CREATE an existing region",
	      EEXIST);
	admin(fd, CSCM_IOC_CREATE, "scm-bad-huge", NULL, UINT64_MAX,
	      "CREATE size all ones", EINVAL);
	admin(fd, CSCM_IOC_CREATE, "scm-bad-huge", NULL, 1ULL << 40,
	      "CREATE 1 TiB", EINVAL);
	admin(fd, CSCM_IOC_RESIZE, "scm-bad-missing", NULL, 1 << 20,
	      "RESIZE a missing region", ENOENT);
	admin(fd, CSCM_IOC_DELETE, "scm-bad-missing", NULL, 0,
	      "DELETE a missing region", ENOENT);
	admin(fd, CSCM_IOC_COPY, "scm-bad-x", "scm-bad-missing", 0,
	      "COPY from a missing region", ENOENT);
	admin(fd, CSCM_IOC_COPY, info.name, info.name, 0, "COPY a region onto itself",
	      EINVAL);
	admin(fd, CSCM_IOC_COPY, "scm-bad-x", "bad/src", 0, "COPY from a bad name", EINVAL);
	{
		static const struct admin_case cases[] = {
			{ "CREATE with flags", CSCM_IOC_CREATE, "scm-bad-f", NULL, 0, NULL, 1, 0, EINVAL },
			{ "CREATE with a cgroup", CSCM_IOC_CREATE, "scm-bad-f", NULL, 0, "/x", 0, 0, EINVAL },
			{ "CREATE with reserved set", CSCM_IOC_CREATE, "scm-bad-f", NULL, 0, NULL, 0, 1, EINVAL },
			{ "DELETE with a size", CSCM_IOC_DELETE, "scm-bad-f", NULL, 1, NULL, 0, 0, EINVAL },
			{ "RESIZE with a source", CSCM_IOC_RESIZE, "scm-bad-f", "x", 4096, NULL, 0, 0, EINVAL },
			{ "SET_FLAGS an unknown flag", CSCM_IOC_SET_FLAGS, "host", NULL, 0, NULL, 1 << 7, 0, EINVAL },
			{ "SET_FLAGS the read-only implicit flag", CSCM_IOC_SET_FLAGS, "host", NULL, 0, NULL,
			  CSCM_REGION_IMPLICIT, 0, EINVAL },
			{ "SET_FLAGS of a missing region", CSCM_IOC_SET_FLAGS, "scm-bad-missing", NULL, 0, NULL,
			  CSCM_REGION_IMAGE, 0, ENOENT },
			{ "SET_FLAGS with a size", CSCM_IOC_SET_FLAGS, "host", NULL, 1, NULL, 0, 0, EINVAL },
			{ "BIND without a cgroup", CSCM_IOC_BIND, "scm-bad-b", NULL, 0, NULL, 0, 0, EINVAL },
			{ "BIND an unreadable cgroup pointer", CSCM_IOC_BIND, "scm-bad-b", NULL, 0, BAD_PTR, 0, 0,
			  EFAULT },
			{ "BIND the root cgroup", CSCM_IOC_BIND, "scm-bad-b", NULL, 0, "/", 0, 0, EINVAL },
			{ "BIND a missing cgroup", CSCM_IOC_BIND, "scm-bad-b", NULL, 0, "/scm-bad/none", 0, 0,
			  ENOENT },
			{ "BIND the name host", CSCM_IOC_BIND, "host", NULL, 0, "/x", 0, 0, EINVAL },
			{ "BIND a path-like name", CSCM_IOC_BIND, "/x", NULL, 0, "/x", 0, 0, EINVAL },
			{ "BIND a hash-like name", CSCM_IOC_BIND, "#0123456789abcdef0123456789abcdef", NULL, 0,
			  "/x", 0, 0, EINVAL },
			{ "BIND larger than the device", CSCM_IOC_BIND, "scm-bad-b", NULL, 1ULL << 40, "/x", 0, 0,
			  EINVAL },
			{ "BIND with flags", CSCM_IOC_BIND, "scm-bad-b", NULL, 0, "/x", 1, 0, EINVAL },
			{ "UNBIND a name that is not bound", CSCM_IOC_UNBIND, "scm-bad-b", NULL, 0, NULL, 0, 0,
			  ENOENT },
			{ "UNBIND with a cgroup", CSCM_IOC_UNBIND, "scm-bad-b", NULL, 0, "/x", 0, 0, EINVAL },
			{ "COPY to a name and a cgroup", CSCM_IOC_COPY, "scm-bad-x", "host", 0, "/x", 0, 0, EINVAL },
			{ "COPY with an unknown flag", CSCM_IOC_COPY, "scm-bad-x", "host", 0, NULL, 1 << 9, 0,
			  EINVAL },
			{ "COPY image-only from a region that is no image", CSCM_IOC_COPY, "scm-bad-x", "host", 0,
			  NULL, CSCM_COPY_IMAGE_ONLY, 0, EPERM },
			{ "COPY into the root cgroup's region", CSCM_IOC_COPY, NULL, "host", 0, "/", 0, 0, EINVAL },
			{ "COPY into a missing cgroup's region", CSCM_IOC_COPY, NULL, "host", 0, "/scm-bad/none", 0,
			  0, ENOENT },
		};

		admin_cases(fd, cases, sizeof(cases) / sizeof(cases[0]));
	}
	if (!denied) {
		/* nothing the refused requests named exists now */
		admin(fd, CSCM_IOC_DELETE, "scm-bad-f", NULL, 0, "no scm-bad-f was made", ENOENT);
		admin(fd, CSCM_IOC_DELETE, "scm-bad-x", NULL, 0, "no scm-bad-x was made", ENOENT);
		admin(fd, CSCM_IOC_UNBIND, "scm-bad-b", NULL, 0, "no scm-bad-b was bound", ENOENT);
	}

	/* good ones on scratch regions */
	admin(fd, CSCM_IOC_CREATE, "scm-bad-1", NULL, 1 << 20, "CREATE scm-bad-1 (legal)", 0);
	admin(fd, CSCM_IOC_CREATE, long_name, NULL, 1 << 20,
	      "CREATE a name of CSCM_NAME_MAX-1 bytes (legal)", 0);
	admin(fd, CSCM_IOC_DELETE, long_name, NULL, 0, "DELETE it (legal)", 0);
	admin(fd, CSCM_IOC_RESIZE, "scm-bad-1", NULL, 0, "RESIZE to 0", EINVAL);
	admin(fd, CSCM_IOC_RESIZE, "scm-bad-1", NULL, UINT64_MAX, "RESIZE to all ones",
	      EINVAL);
	admin(fd, CSCM_IOC_COPY, "scm-bad-2", "scm-bad-1", 0,
	      "COPY scm-bad-1 to a new scm-bad-2 (legal)", 0);
	admin(fd, CSCM_IOC_COPY, "scm-bad-1", info.name, 0,
	      info.size > small ? "COPY a larger region into a smaller one" :
	      "COPY into a region of the same size (legal)",
	      info.size > small ? ENOSPC : 0);
	admin(fd, CSCM_IOC_DELETE, "scm-bad-1", NULL, 0, "DELETE scm-bad-1 (legal)", 0);
	admin(fd, CSCM_IOC_DELETE, "scm-bad-2", NULL, 0, "DELETE scm-bad-2 (legal)", 0);
	admin(fd, CSCM_IOC_DELETE, "scm-bad-1", NULL, 0, "DELETE it again", ENOENT);
	printf("scm-bad: admin %s\n", bad ? "FAILED" : "ok");
	return bad;
}

static int cmd_moved(const char *cgroup)
{
	struct cscm_region_info info;
	struct cscm_range r = { 0, 4096 };
	struct cscm_ranges req;
	char path[512];
	uint64_t used = 0;
	FILE *f;
	int fd = open_dev();

	info_of(fd, &info);
	printf("scm-bad: opened region %s\n", info.name);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "scm-bad: cannot move into %s: %s\n", cgroup, strerror(errno));
		return 2;
	}
	expect("moved: mmap", map_rc(fd, page, 0, PROT_READ, MAP_SHARED), EPERM);
	expect("moved: INFO", ioctl(fd, CSCM_IOC_INFO, &info), EPERM);
	expect("moved: SYNC", ioctl(fd, CSCM_IOC_SYNC, &r), EPERM);
	req = (struct cscm_ranges){ .ranges = (uintptr_t)&r, .nr = 1 };
	expect("moved: SYNCV", ioctl(fd, CSCM_IOC_SYNCV, &req), EPERM);
	expect("moved: SET_USED", ioctl(fd, CSCM_IOC_SET_USED, &used), EPERM);
	expect("moved: fsync", fsync(fd), EPERM);
	printf("scm-bad: moved %s\n", bad ? "FAILED" : "ok");
	return bad;
}

static sigjmp_buf jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

/* Touch byte @off of @p: 0 read fine (value in *@v), 1 SIGBUS. */
static int touch(volatile uint8_t *p, size_t off, uint8_t *v)
{
	if (sigsetjmp(jump, 1))
		return 1;
	*v = p[off];
	return 0;
}

static int cmd_revoked(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	int fd = open_dev(), nfd, status;
	struct cscm_region_info info;
	volatile uint8_t *p;
	uint8_t v = 0;
	pid_t pid;
	int rc;

	sigaction(SIGBUS, &sa, NULL);
	admin(fd, CSCM_IOC_CREATE, "scm-bad-rv", NULL, 1 << 20, "CREATE scm-bad-rv", 0);
	/* map it as its owner would: a child in a cgroup bound to scm-bad-rv */
	if (mkdir("/sys/fs/cgroup/scm-bad-rv", 0755) && errno != EEXIST) {
		fprintf(stderr, "scm-bad: mkdir: %s\n", strerror(errno));
		return 2;
	}
	bind(fd, "scm-bad-rv", "/scm-bad-rv", "BIND scm-bad-rv to its cgroup", 0);
	pid = fork();
	if (pid == 0) {
		FILE *f;

		f = fopen("/sys/fs/cgroup/scm-bad-rv/cgroup.procs", "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			_exit(2);
		nfd = open_dev();
		ioctl(nfd, CSCM_IOC_INFO, &info);
		if (strcmp(info.name, "scm-bad-rv"))
			_exit(3);
		p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, nfd, 0);
		if (p == MAP_FAILED)
			_exit(4);
		memset((void *)p, 0x5a, info.size);
		msync((void *)p, info.size, MS_SYNC);
		/* tell the parent, wait for the delete */
		printf("scm-bad: child mapped scm-bad-rv, %" PRIu64 " bytes\n",
		       (uint64_t)info.size);
		fflush(stdout);
		kill(getpid(), SIGSTOP);
		rc = touch(p, 0, &v);
		printf("scm-bad: child after the delete: %s\n",
		       rc ? "SIGBUS" : "read a byte");
		fflush(stdout);
		_exit(rc ? 0 : 1);
	}
	if (waitpid(pid, &status, WUNTRACED) < 0 || !WIFSTOPPED(status)) {
		expect("child mapped the region", -1, 0);
		return 1;
	}
	admin(fd, CSCM_IOC_DELETE, "scm-bad-rv", NULL, 0, "DELETE the mapped region", 0);
	/* someone else gets the same blocks at once */
	admin(fd, CSCM_IOC_CREATE, "scm-bad-rv2", NULL, 1 << 20,
	      "CREATE scm-bad-rv2 on the freed blocks", 0);
	kill(pid, SIGCONT);
	waitpid(pid, &status, 0);
	expect("the mapper of the deleted region gets SIGBUS (not the new region's bytes)",
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1, 0);
	admin(fd, CSCM_IOC_DELETE, "scm-bad-rv2", NULL, 0, "DELETE scm-bad-rv2", 0);
	admin(fd, CSCM_IOC_UNBIND, "scm-bad-rv", NULL, 0, "UNBIND scm-bad-rv", 0);
	rmdir("/sys/fs/cgroup/scm-bad-rv");
	printf("scm-bad: revoked %s\n", bad ? "FAILED" : "ok");
	return bad;
}

int main(int argc, char **argv)
{
	page = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "calls"))
		return cmd_calls();
	if (argc >= 2 && !strcmp(argv[1], "admin")) {
		denied = argc >= 3 && !strcmp(argv[2], "--denied");
		return cmd_admin();
	}
	if (argc >= 3 && !strcmp(argv[1], "moved"))
		return cmd_moved(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "revoked"))
		return cmd_revoked();
	fprintf(stderr, "usage: scm-bad calls | admin [--denied] | moved CGROUP | revoked\n");
	return 3;
}
