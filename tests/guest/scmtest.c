// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scmtest — exercise /dev/scm from a test (static, runs in containers).
 *
 *   scmtest info                  print the caller's region: name size used
 *   scmtest write SEED [LEN]      fill the first LEN bytes (default: all)
 *                                 with the pattern of SEED, then msync
 *   scmtest verify SEED [LEN]     check them; exit 1 on a mismatch
 *   scmtest verify-at SEED OFF LEN   the same for bytes [OFF, OFF + LEN)
 *   scmtest checksum [LEN]        print an FNV-1a checksum of the bytes
 *   scmtest zero [LEN [OFF]]      check that LEN bytes (default: all) from
 *                                 byte OFF read as zeroes
 *   scmtest refusals              every refusal /dev/scm owes a caller:
 *                                 mmap past the end, a bad offset, a
 *                                 private map, bad ioctl arguments, admin
 *                                 ioctls when not allowed
 *   scmtest sigbus OFF            touch byte OFF in a child; exit 0 when
 *                                 the child died of SIGBUS
 *   scmtest hold SEED SECONDS     map, write the pattern, sleep, verify
 *                                 (a container "running" across a resize)
 *   scmtest foreign CGROUP-DIR    open and use /dev/scm, move into another
 *                                 cgroup, then expect EPERM from mmap,
 *                                 fsync and every region ioctl
 *   scmtest hammer SECONDS        map, then drop and touch a page in a loop
 *                                 (MADV_DONTNEED: every touch faults) until
 *                                 SIGBUS; exit 1 if none came in SECONDS
 *   scmtest afterlife [--admin] FILE
 *                                 open, use and map, wait until FILE exists
 *                                 (the device is gone), then expect ENODEV
 *                                 from every call and SIGBUS from a touch
 *   scmtest cps SECONDS           consistency points: store to a page and
 *                                 CSCM_IOC_SYNC it, as often as possible;
 *                                 prints "cps N" (points per second)
 *   scmtest sync-fails OFF ERRNO  CSCM_IOC_SYNC of the page at OFF, and a
 *                                 CSCM_IOC_SYNCV of it with page 0, fail
 *                                 with ERRNO (e.g. EIO on a taken block)
 *   scmtest open-fails ERRNO      open of /dev/scm fails with ERRNO
 *   scmtest use-fails ERRNO       open works, the first use fails so
 *                                 (CSCM_IOC_INFO and mmap)
 *
 * The 8-byte word i holds mix(SEED, i), so any prefix can be verified.
 * Output: one line per command, "scmtest: CMD ...". Exit status: 0 good,
 * 1 the check failed, 2 an error, 3 usage.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../../include/uapi/linux/vssd_scm.h"

static const char *dev_path = "/dev/scm";

static uint64_t mix(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (i + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int open_dev(void)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "scmtest: open %s: %s\n", dev_path, strerror(errno));
		exit(2);
	}
	return fd;
}

static void get_info(int fd, struct cscm_region_info *info)
{
	if (ioctl(fd, CSCM_IOC_INFO, info) < 0) {
		fprintf(stderr, "scmtest: CSCM_IOC_INFO: %s\n", strerror(errno));
		exit(2);
	}
}

/* Map @len bytes (0: the whole region) of the caller's region. */
static uint64_t *map_region(int fd, size_t *len)
{
	struct cscm_region_info info;
	void *p;

	get_info(fd, &info);
	if (!*len || *len > info.size)
		*len = info.size;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "scmtest: mmap %zu: %s\n", *len, strerror(errno));
		exit(2);
	}
	return p;
}

static size_t parse_len(int argc, char **argv, int i)
{
	return i < argc ? strtoull(argv[i], NULL, 0) : 0;
}

static int cmd_info(void)
{
	struct cscm_region_info info;
	int fd = open_dev();

	get_info(fd, &info);
	printf("scmtest: info name=%s size=%" PRIu64 " used=%" PRIu64
	       " offset=%" PRIu64 "\n", info.name, (uint64_t)info.size,
	       (uint64_t)info.used, (uint64_t)info.offset);
	return 0;
}

static int cmd_write(uint64_t seed, size_t len)
{
	int fd = open_dev();
	uint64_t *w = map_region(fd, &len);
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = mix(seed, i);
	if (msync(w, len, MS_SYNC) < 0) {
		fprintf(stderr, "scmtest: msync: %s\n", strerror(errno));
		return 2;
	}
	printf("scmtest: write seed=%" PRIu64 " bytes=%zu\n", seed, len);
	return 0;
}

/* Bytes [@off, @off + @len) hold the pattern of @seed (at their place). */
static int cmd_verify_at(uint64_t seed, size_t off, size_t len)
{
	int fd = open_dev();
	size_t map = 0, i;
	uint64_t *w = map_region(fd, &map);

	if (off > map || len > map - off || off % 8) {
		fprintf(stderr, "scmtest: range %zu+%zu outside %zu bytes\n", off, len, map);
		return 2;
	}
	for (i = off / 8; i < (off + len) / 8; i++) {
		if (w[i] != mix(seed, i)) {
			printf("scmtest: verify-at seed=%" PRIu64
			       " MISMATCH at byte %zu\n", seed, i * 8);
			return 1;
		}
	}
	printf("scmtest: verify-at seed=%" PRIu64 " %zu+%zu ok\n", seed, off, len);
	return 0;
}

static int cmd_verify(uint64_t seed, size_t len)
{
	int fd = open_dev();
	uint64_t *w = map_region(fd, &len);
	size_t i;

	for (i = 0; i < len / 8; i++) {
		if (w[i] != mix(seed, i)) {
			printf("scmtest: verify seed=%" PRIu64
			       " MISMATCH at byte %zu\n", seed, i * 8);
			return 1;
		}
	}
	printf("scmtest: verify seed=%" PRIu64 " bytes=%zu ok\n", seed, len);
	return 0;
}

static int cmd_checksum(size_t len, size_t off, int want_zero)
{
	int fd = open_dev();
	size_t end = len ? off + len : 0;
	uint64_t *w = map_region(fd, &end);
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, nonzero = 0;

	if (off > end) {
		fprintf(stderr, "scmtest: offset %zu past the region's end\n", off);
		return 2;
	}
	len = end - off;
	for (i = off / 8; i < end / 8; i++) {
		h = (h ^ w[i]) * 0x100000001b3ULL;
		nonzero += w[i] != 0;
	}
	if (want_zero) {
		printf("scmtest: zero bytes=%zu nonzero-words=%zu\n", len, nonzero);
		return nonzero ? 1 : 0;
	}
	printf("scmtest: checksum bytes=%zu fnv=%016" PRIx64 "\n", len, h);
	return 0;
}

/* One refusal: @ok is whether it was refused with @want_errno. */
static int expect(const char *what, int rc, int want_errno)
{
	int ok = rc < 0 && errno == want_errno;

	printf("scmtest: refusal %s: %s (errno %d, want %d)\n", what,
	       ok ? "ok" : "WRONG", rc < 0 ? errno : 0, want_errno);
	return ok ? 0 : 1;
}

static int map_rc(int fd, size_t len, off_t off, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	if (p == MAP_FAILED)
		return -1;
	munmap(p, len);
	return 0;
}

static int cmd_refusals(int expect_admin_denied)
{
	struct cscm_region_info info;
	struct cscm_range range;
	struct cscm_admin adm;
	uint64_t used;
	int fd = open_dev(), bad = 0;
	long page = sysconf(_SC_PAGESIZE);

	get_info(fd, &info);
	bad |= expect("mmap one page past the end",
		      map_rc(fd, info.size + page, 0, MAP_SHARED), EINVAL);
	bad |= expect("mmap at an offset past the end",
		      map_rc(fd, page, info.size, MAP_SHARED), EINVAL);
	bad |= expect("mmap straddling the end",
		      map_rc(fd, 2 * page, info.size - page, MAP_SHARED), EINVAL);
	bad |= expect("private mmap", map_rc(fd, page, 0, MAP_PRIVATE), EINVAL);

	range = (struct cscm_range){ .offset = info.size, .length = 1 };
	bad |= expect("sync past the end", ioctl(fd, CSCM_IOC_SYNC, &range), EINVAL);
	range = (struct cscm_range){ .offset = 8, .length = UINT64_MAX };
	bad |= expect("sync length overflow", ioctl(fd, CSCM_IOC_SYNC, &range),
		      EINVAL);
	bad |= expect("sync bad pointer", ioctl(fd, CSCM_IOC_SYNC, (void *)8), EFAULT);
	used = info.size + 1;
	bad |= expect("set-used above the size", ioctl(fd, CSCM_IOC_SET_USED, &used),
		      EINVAL);
	bad |= expect("unknown ioctl", ioctl(fd, _IO(CSCM_IOC_MAGIC, 99)), ENOTTY);

	memset(&adm, 0, sizeof(adm));
	if (expect_admin_denied) {
		strcpy(adm.name, "intruder");
		adm.size = 1 << 20;
		bad |= expect("admin create", ioctl(fd, CSCM_IOC_CREATE, &adm), EPERM);
		strcpy(adm.name, info.name);
		strcpy(adm.src, "host");
		bad |= expect("admin copy from another region",
			      ioctl(fd, CSCM_IOC_COPY, &adm), EPERM);
		bad |= expect("admin delete", ioctl(fd, CSCM_IOC_DELETE, &adm), EPERM);
	} else {
		strcpy(adm.name, "bad/name");
		bad |= expect("admin create, bad name",
			      ioctl(fd, CSCM_IOC_CREATE, &adm), EINVAL);
		memset(adm.name, 'x', sizeof(adm.name));
		bad |= expect("admin create, unterminated name",
			      ioctl(fd, CSCM_IOC_CREATE, &adm), EINVAL);
		strcpy(adm.name, "no-such-region");
		bad |= expect("admin delete of a missing region",
			      ioctl(fd, CSCM_IOC_DELETE, &adm), ENOENT);
		strcpy(adm.src, "no-such-region");
		strcpy(adm.name, "x");
		bad |= expect("admin copy from a missing region",
			      ioctl(fd, CSCM_IOC_COPY, &adm), ENOENT);
	}
	printf("scmtest: refusals %s\n", bad ? "FAILED" : "ok");
	return bad;
}

static int cmd_sigbus(size_t off)
{
	int fd = open_dev(), status;
	size_t len = 0;
	volatile uint8_t *p = (volatile uint8_t *)map_region(fd, &len);
	pid_t pid;

	if (off >= len) {
		fprintf(stderr, "scmtest: offset %zu beyond %zu\n", off, len);
		return 2;
	}
	pid = fork();
	if (pid == 0) {
		p[off] = p[off] + 1;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) {
		printf("scmtest: sigbus at %zu: SIGBUS\n", off);
		return 0;
	}
	printf("scmtest: sigbus at %zu: no SIGBUS (status %#x)\n", off, status);
	return 1;
}

static int cmd_hold(uint64_t seed, unsigned int seconds)
{
	int fd = open_dev();
	size_t len = 0, i;
	uint64_t *w = map_region(fd, &len);

	for (i = 0; i < len / 8; i++)
		w[i] = mix(seed, i);
	msync(w, len, MS_SYNC);
	printf("scmtest: hold seed=%" PRIu64 " mapped %zu bytes\n", seed, len);
	fflush(stdout);
	sleep(seconds);
	for (i = 0; i < len / 8; i++) {
		if (w[i] != mix(seed, i)) {
			printf("scmtest: hold MISMATCH at byte %zu\n", i * 8);
			return 1;
		}
	}
	printf("scmtest: hold seed=%" PRIu64 " intact\n", seed);
	return 0;
}

/* Move the calling process into cgroup directory @dir. */
static int join_cgroup(const char *dir)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%d\n", (int)getpid()) > 0;
	return fclose(f) || !ok ? -1 : 0;
}

static int cmd_foreign(const char *dir)
{
	struct cscm_region_info info;
	struct cscm_range range = { .offset = 0, .length = 4096 };
	int fd = open_dev(), bad = 0;
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	get_info(fd, &info);
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "scmtest: mmap in the own cgroup: %s\n", strerror(errno));
		return 2;
	}
	if (join_cgroup(dir)) {
		fprintf(stderr, "scmtest: cannot join %s: %s\n", dir, strerror(errno));
		return 2;
	}
	bad |= expect("foreign: mmap", map_rc(fd, page, 0, MAP_SHARED), EPERM);
	bad |= expect("foreign: info", ioctl(fd, CSCM_IOC_INFO, &info), EPERM);
	bad |= expect("foreign: sync", ioctl(fd, CSCM_IOC_SYNC, &range), EPERM);
	bad |= expect("foreign: fsync", fsync(fd), EPERM);
	printf("scmtest: foreign %s %s\n", dir, bad ? "FAILED" : "ok");
	return bad;
}

static int cmd_sync_fails(uint64_t off, int want)
{
	long page = sysconf(_SC_PAGESIZE);
	struct cscm_range r[2] = {
		{ .offset = 0, .length = page },
		{ .offset = off, .length = page },
	};
	struct cscm_ranges v = { .ranges = (uintptr_t)r, .nr = 2 };
	int fd = open_dev(), bad = 0;

	bad |= expect("sync of the page", ioctl(fd, CSCM_IOC_SYNC, &r[1]), want);
	bad |= expect("syncv of page 0 and the page", ioctl(fd, CSCM_IOC_SYNCV, &v), want);
	printf("scmtest: sync-fails %" PRIu64 " %s\n", off, bad ? "FAILED" : "ok");
	return bad;
}

static int cmd_open_fails(int want)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		printf("scmtest: open-fails: open succeeded (want %s)\n", strerror(want));
		return 1;
	}
	printf("scmtest: open-fails: %s (want %s)\n", strerror(errno), strerror(want));
	return errno != want;
}

static int cmd_use_fails(int want)
{
	struct cscm_region_info info;
	int fd = open_dev(), bad = 0;

	bad |= expect("use: info", ioctl(fd, CSCM_IOC_INFO, &info), want);
	bad |= expect("use: mmap", map_rc(fd, sysconf(_SC_PAGESIZE), 0, MAP_SHARED),
		      want);
	printf("scmtest: use-fails %s\n", bad ? "FAILED" : "ok");
	return bad;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_cps(unsigned int seconds)
{
	int fd = open_dev();
	long page = sysconf(_SC_PAGESIZE);
	size_t len = page;
	volatile uint64_t *w = map_region(fd, &len);
	struct cscm_range range = { .offset = 0, .length = page };
	double start = now_s(), t;
	unsigned long n = 0;

	do {
		w[n % (page / 8)] = n;
		if (ioctl(fd, CSCM_IOC_SYNC, &range)) {
			fprintf(stderr, "scmtest: CSCM_IOC_SYNC: %s\n", strerror(errno));
			return 2;
		}
		n++;
		t = now_s() - start;
	} while (t < seconds);
	printf("scmtest: cps %.1f (%lu points in %.2f s)\n", n / t, n, t);
	return 0;
}

static sigjmp_buf hammer_jmp;

static void hammer_sigbus(int sig)
{
	(void)sig;
	siglongjmp(hammer_jmp, 1);
}

static int cmd_hammer(unsigned int seconds)
{
	int fd = open_dev();
	long page = sysconf(_SC_PAGESIZE);
	size_t len = 0;
	volatile uint64_t *w = map_region(fd, &len);
	volatile unsigned long rounds = 0;
	time_t end = time(NULL) + seconds;

	signal(SIGBUS, hammer_sigbus);
	if (sigsetjmp(hammer_jmp, 1)) {
		printf("scmtest: hammer: SIGBUS after %lu rounds\n", rounds);
		return 0;
	}
	printf("scmtest: hammer: running\n");
	fflush(stdout);
	while (time(NULL) < end) {
		madvise((void *)w, page, MADV_DONTNEED);
		w[rounds % (page / 8)] = rounds;
		rounds++;
	}
	printf("scmtest: hammer: no SIGBUS in %u s (%lu rounds)\n", seconds, rounds);
	return 1;
}

static int cmd_afterlife(int admin, const char *gone)
{
	struct cscm_range range = { .offset = 0, .length = 4096 };
	struct cscm_region_info info;
	struct cscm_admin adm;
	int fd = open_dev(), bad = 0, status;
	long page = sysconf(_SC_PAGESIZE);
	volatile uint8_t *p = NULL;
	size_t len = page;
	pid_t pid;

	if (!admin) {
		p = (volatile uint8_t *)map_region(fd, &len);
		p[0] = 1;
	}
	printf("scmtest: afterlife: ready\n");
	fflush(stdout);
	while (access(gone, F_OK))
		usleep(100000);
	memset(&adm, 0, sizeof(adm));
	strcpy(adm.name, "late");
	adm.size = 1 << 20;
	if (admin) {
		bad |= expect("gone: admin create", ioctl(fd, CSCM_IOC_CREATE, &adm), ENODEV);
		bad |= expect("gone: admin delete", ioctl(fd, CSCM_IOC_DELETE, &adm), ENODEV);
		adm.size = 0;
		adm.cgroup = (uintptr_t)"/late";
		bad |= expect("gone: admin bind", ioctl(fd, CSCM_IOC_BIND, &adm), ENODEV);
	} else {
		bad |= expect("gone: info", ioctl(fd, CSCM_IOC_INFO, &info), ENODEV);
		bad |= expect("gone: sync", ioctl(fd, CSCM_IOC_SYNC, &range), ENODEV);
		bad |= expect("gone: fsync", fsync(fd), ENODEV);
		bad |= expect("gone: mmap", map_rc(fd, page, 0, MAP_SHARED), ENODEV);
		pid = fork();
		if (pid == 0) {
			p[0] = 2;
			_exit(0);
		}
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGBUS) {
			printf("scmtest: gone: touch of the old mapping: no SIGBUS (status %#x)\n",
			       status);
			bad = 1;
		}
	}
	printf("scmtest: afterlife %s\n", bad ? "FAILED" : "ok");
	return bad;
}

static void usage(void)
{
	fprintf(stderr, "usage: scmtest info | write SEED [LEN] | verify SEED [LEN] | verify-at SEED OFF LEN | "
		"checksum [LEN] | zero [LEN [OFF]] | refusals [--admin] | sigbus OFF | "
		"hold SEED SECONDS | cps SECONDS | hammer SECONDS | afterlife [--admin] FILE | foreign CGROUP-DIR | sync-fails OFF ERRNO | open-fails ERRNO | "
		"use-fails ERRNO\n");
	exit(3);
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (getenv("SCM_DEVICE"))
		dev_path = getenv("SCM_DEVICE");
	if (argc < 2)
		usage();
	cmd = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "info"))
		return cmd_info();
	if (!strcmp(cmd, "write") && argc >= 3)
		return cmd_write(strtoull(argv[2], NULL, 0), parse_len(argc, argv, 3));
	if (!strcmp(cmd, "verify-at") && argc >= 5)
		return cmd_verify_at(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0),
				     strtoull(argv[4], NULL, 0));
	if (!strcmp(cmd, "verify") && argc >= 3)
		return cmd_verify(strtoull(argv[2], NULL, 0), parse_len(argc, argv, 3));
	if (!strcmp(cmd, "checksum"))
		return cmd_checksum(parse_len(argc, argv, 2), 0, 0);
	if (!strcmp(cmd, "zero"))
		return cmd_checksum(parse_len(argc, argv, 2),
				    parse_len(argc, argv, 3), 1);
	if (!strcmp(cmd, "refusals"))
		return cmd_refusals(!(argc >= 3 && !strcmp(argv[2], "--admin")));
	if (!strcmp(cmd, "sigbus") && argc >= 3)
		return cmd_sigbus(strtoull(argv[2], NULL, 0));
	if (!strcmp(cmd, "hold") && argc >= 4)
		return cmd_hold(strtoull(argv[2], NULL, 0), atoi(argv[3]));
	if (!strcmp(cmd, "cps") && argc >= 3)
		return cmd_cps(atoi(argv[2]));
	if (!strcmp(cmd, "hammer") && argc >= 3)
		return cmd_hammer(atoi(argv[2]));
	if (!strcmp(cmd, "afterlife") && argc >= 3)
		return cmd_afterlife(!strcmp(argv[2], "--admin"), argv[argc - 1]);
	if (!strcmp(cmd, "foreign") && argc >= 3)
		return cmd_foreign(argv[2]);
	if (!strcmp(cmd, "sync-fails") && argc >= 4)
		return cmd_sync_fails(strtoull(argv[2], NULL, 0), atoi(argv[3]));
	if (!strcmp(cmd, "open-fails") && argc >= 3)
		return cmd_open_fails(atoi(argv[2]));
	if (!strcmp(cmd, "use-fails") && argc >= 3)
		return cmd_use_fails(atoi(argv[2]));
	usage();
	return 3;
}
