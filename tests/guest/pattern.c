// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pattern — write and check a deterministic data pattern on a block device.
 *
 *   pattern write       DEV SEED [options]   fill with the pattern of SEED
 *   pattern verify      DEV SEED [options]   compare with the pattern of SEED
 *   pattern zero        DEV [options]        fill with zeroes
 *   pattern verify-zero DEV [options]        check that it reads as zeroes
 *   pattern read-blocks DEV [options]        read every block, list EIO ones
 *
 * Options:
 *   --bs N        I/O size in bytes (default 1M for write/verify, 4K for
 *                 read-blocks); suffixes K, M, G
 *   --offset N    start at byte N (default 0)
 *   --length N    cover N bytes (default: up to the end of the device)
 *   --allow-eio   verify, verify-zero: blocks that fail with EIO are listed
 *                 and skipped instead of failing the check
 *   --buffered    do not use O_DIRECT
 *   --dsync       write: open with O_DSYNC (each write is durable when it
 *                 returns: FUA writes on a device with a write cache)
 *   --no-fsync    write: no fsync() at the end
 *
 * The 8-byte word at byte offset o holds mix(SEED, o / 8), so any range
 * can be checked on its own, whatever the I/O size used to write it.
 *
 * Output: one summary line "pattern: CMD DEV bytes=N checksum=X ..." where
 * the checksum is over the data read or written (FNV-1a on the 64-bit
 * words). verify prints the first mismatching offset.
 *
 * Exit status: 0 good, 1 data mismatch (or EIO without --allow-eio in
 * verify), 2 I/O or other error, 3 usage. read-blocks exits 1 if any block
 * failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGNMENT 4096

struct opts {
	const char *cmd;
	const char *dev;
	uint64_t seed;
	uint64_t bs;
	uint64_t offset;
	uint64_t length;
	bool have_length;
	bool allow_eio;
	bool buffered;
	bool dsync;
	bool no_fsync;
};

/* Ranges of failed block numbers, printed as "3 7-9 12". */
struct ranges {
	uint64_t first, last;	/* the open range, if count > 0 */
	uint64_t count;		/* blocks in all ranges */
	uint64_t nr;		/* number of ranges */
	char *text;
	size_t len, cap;
};

static void ranges_flush(struct ranges *r)
{
	char item[64];
	int n;

	if (r->count == 0 || r->first == UINT64_MAX)
		return;
	if (r->first == r->last)
		n = snprintf(item, sizeof(item), "%s%" PRIu64, r->len ? " " : "", r->first);
	else
		n = snprintf(item, sizeof(item), "%s%" PRIu64 "-%" PRIu64,
			     r->len ? " " : "", r->first, r->last);
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->cap + n + 1) * 2;
		r->text = realloc(r->text, r->cap);
		if (!r->text) {
			perror("pattern: realloc");
			exit(2);
		}
	}
	memcpy(r->text + r->len, item, n + 1);
	r->len += n;
	r->nr++;
	r->first = UINT64_MAX;
}

static void ranges_add(struct ranges *r, uint64_t block)
{
	if (r->count && r->first != UINT64_MAX && block == r->last + 1) {
		r->last = block;
	} else {
		ranges_flush(r);
		r->first = r->last = block;
	}
	r->count++;
}

static const char *ranges_text(struct ranges *r)
{
	ranges_flush(r);
	return r->text ? r->text : "";
}

/* splitmix64: a cheap, well-mixed function of (seed, word index). */
static inline uint64_t pattern_word(uint64_t seed, uint64_t index)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + index + 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(uint64_t *buf, size_t len, uint64_t seed, uint64_t offset, bool zero)
{
	size_t i, n = len / 8;
	uint64_t base = offset / 8;

	if (zero) {
		memset(buf, 0, len);
		return;
	}
	for (i = 0; i < n; i++)
		buf[i] = pattern_word(seed, base + i);
}

static uint64_t checksum(uint64_t h, const uint64_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len / 8; i++) {
		h ^= buf[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		goto bad;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end == '\0')
		return v;
bad:
	fprintf(stderr, "pattern: bad number '%s'\n", s);
	exit(3);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pattern write|verify DEV SEED [--bs N] [--offset N] [--length N] [--allow-eio] [--buffered]\n"
		"                            [--dsync] [--no-fsync]\n"
		"       pattern zero|verify-zero DEV [options]\n"
		"       pattern read-blocks DEV [--bs N] [--offset N] [--length N]\n");
	exit(3);
}

static uint64_t device_size(int fd, const char *dev)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "pattern: %s: %s\n", dev, strerror(errno));
		exit(2);
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			fprintf(stderr, "pattern: %s: BLKGETSIZE64: %s\n", dev, strerror(errno));
			exit(2);
		}
		return size;
	}
	return st.st_size;
}

static int open_dev(const struct opts *o, int flags)
{
	int fd = -1;

	if (!o->buffered) {
		fd = open(o->dev, flags | O_DIRECT);
		/* Some file systems (tmpfs) refuse O_DIRECT: fall back. */
		if (fd < 0 && errno != EINVAL)
			goto fail;
	}
	if (fd < 0)
		fd = open(o->dev, flags);
	if (fd >= 0)
		return fd;
fail:
	fprintf(stderr, "pattern: %s: %s\n", o->dev, strerror(errno));
	exit(2);
}

/* pread/pwrite the whole chunk; returns 0 or the errno of the failure. */
static int do_io(int fd, bool write, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, (char *)buf + done, len - done, off + done)
				  : pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return ENOSPC;
		done += n;
	}
	return 0;
}

static void *alloc_buf(size_t len)
{
	void *p;

	if (posix_memalign(&p, ALIGNMENT, len)) {
		fprintf(stderr, "pattern: cannot allocate %zu bytes\n", len);
		exit(2);
	}
	return p;
}

/* Resolve offset/length against the device and check alignment. */
static uint64_t resolve_range(struct opts *o, uint64_t size)
{
	if (o->offset > size) {
		fprintf(stderr, "pattern: offset %" PRIu64 " beyond the end (%" PRIu64 ")\n",
			o->offset, size);
		exit(3);
	}
	if (!o->have_length)
		o->length = size - o->offset;
	if (o->length > size - o->offset) {
		fprintf(stderr, "pattern: range beyond the end (%" PRIu64 ")\n", size);
		exit(3);
	}
	if (o->offset % 512 || o->length % 512 || o->bs % 512 || o->bs == 0) {
		fprintf(stderr, "pattern: offset, length and bs must be multiples of 512\n");
		exit(3);
	}
	return o->length;
}

static int cmd_write(struct opts *o, bool zero)
{
	int fd = open_dev(o, O_WRONLY | (o->dsync ? O_DSYNC : 0));
	uint64_t len = resolve_range(o, device_size(fd, o->dev));
	uint64_t *buf = alloc_buf(o->bs);
	uint64_t h = 0xcbf29ce484222325ULL, pos;
	int err;

	for (pos = 0; pos < len; pos += o->bs) {
		size_t n = len - pos < o->bs ? len - pos : o->bs;
		uint64_t off = o->offset + pos;

		fill(buf, n, o->seed, off, zero);
		h = checksum(h, buf, n);
		err = do_io(fd, true, buf, n, off);
		if (err) {
			fprintf(stderr, "pattern: %s: write at %" PRIu64 ": %s\n",
				o->dev, off, strerror(err));
			return 2;
		}
	}
	if (!o->no_fsync && fsync(fd) < 0) {
		fprintf(stderr, "pattern: %s: fsync: %s\n", o->dev, strerror(errno));
		return 2;
	}
	close(fd);
	printf("pattern: %s %s bytes=%" PRIu64 " checksum=%016" PRIx64 "\n",
	       o->cmd, o->dev, len, h);
	return 0;
}

static int cmd_verify(struct opts *o, bool zero)
{
	int fd = open_dev(o, O_RDONLY);
	uint64_t len = resolve_range(o, device_size(fd, o->dev));
	uint64_t *buf = alloc_buf(o->bs), *want = alloc_buf(o->bs);
	uint64_t h = 0xcbf29ce484222325ULL, pos, bad_blocks = 0;
	uint64_t first_bad = UINT64_MAX;
	struct ranges eio = { .first = UINT64_MAX };
	int err;

	for (pos = 0; pos < len; pos += o->bs) {
		size_t n = len - pos < o->bs ? len - pos : o->bs;
		uint64_t off = o->offset + pos;

		err = do_io(fd, false, buf, n, off);
		if (err == EIO && o->allow_eio) {
			ranges_add(&eio, off / o->bs);
			continue;
		}
		if (err) {
			fprintf(stderr, "pattern: %s: read at %" PRIu64 ": %s\n",
				o->dev, off, strerror(err));
			return err == EIO ? 1 : 2;
		}
		h = checksum(h, buf, n);
		fill(want, n, o->seed, off, zero);
		if (memcmp(buf, want, n)) {
			size_t i;

			for (i = 0; i < n / 8 && buf[i] == want[i]; i++)
				;
			if (first_bad == UINT64_MAX) {
				first_bad = off + i * 8;
				fprintf(stderr,
					"pattern: %s: mismatch at byte %" PRIu64
					": read %016" PRIx64 ", expected %016" PRIx64 "\n",
					o->dev, first_bad, buf[i], want[i]);
			}
			bad_blocks++;
		}
	}
	close(fd);
	printf("pattern: %s %s bytes=%" PRIu64 " checksum=%016" PRIx64
	       " mismatched-blocks=%" PRIu64 " eio-blocks=%" PRIu64 "%s%s\n",
	       o->cmd, o->dev, len, h, bad_blocks, eio.count,
	       eio.count ? " eio=" : "", ranges_text(&eio));
	if (bad_blocks) {
		printf("pattern: FAILED: first mismatch at byte %" PRIu64 "\n", first_bad);
		return 1;
	}
	return 0;
}

static int cmd_read_blocks(struct opts *o)
{
	int fd = open_dev(o, O_RDONLY);
	uint64_t len = resolve_range(o, device_size(fd, o->dev));
	void *buf = alloc_buf(o->bs);
	struct ranges eio = { .first = UINT64_MAX }, other = { .first = UINT64_MAX };
	uint64_t pos, blocks = 0;
	int err;

	for (pos = 0; pos < len; pos += o->bs) {
		size_t n = len - pos < o->bs ? len - pos : o->bs;
		uint64_t off = o->offset + pos;

		blocks++;
		err = do_io(fd, false, buf, n, off);
		if (err == EIO)
			ranges_add(&eio, off / o->bs);
		else if (err)
			ranges_add(&other, off / o->bs);
	}
	close(fd);
	printf("pattern: read-blocks %s bs=%" PRIu64 " blocks=%" PRIu64 " ok=%" PRIu64
	       " eio=%" PRIu64 " other-errors=%" PRIu64 "\n",
	       o->dev, o->bs, blocks, blocks - eio.count - other.count, eio.count, other.count);
	if (eio.count)
		printf("eio-ranges: %s\n", ranges_text(&eio));
	if (other.count)
		printf("error-ranges: %s\n", ranges_text(&other));
	return eio.count || other.count ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	bool need_seed;
	int i;

	if (argc < 3)
		usage();
	o.cmd = argv[1];
	o.dev = argv[2];
	need_seed = !strcmp(o.cmd, "write") || !strcmp(o.cmd, "verify");
	i = 3;
	if (need_seed) {
		if (argc < 4)
			usage();
		o.seed = parse_size(argv[3]);
		i = 4;
	}
	o.bs = strcmp(o.cmd, "read-blocks") ? 1 << 20 : 4096;
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--allow-eio")) {
			o.allow_eio = true;
		} else if (!strcmp(a, "--buffered")) {
			o.buffered = true;
		} else if (!strcmp(a, "--dsync")) {
			o.dsync = true;
		} else if (!strcmp(a, "--no-fsync")) {
			o.no_fsync = true;
		} else if (i + 1 < argc && !strcmp(a, "--bs")) {
			o.bs = parse_size(argv[++i]);
		} else if (i + 1 < argc && !strcmp(a, "--offset")) {
			o.offset = parse_size(argv[++i]);
		} else if (i + 1 < argc && !strcmp(a, "--length")) {
			o.length = parse_size(argv[++i]);
			o.have_length = true;
		} else {
			usage();
		}
	}
	if (!strcmp(o.cmd, "write"))
		return cmd_write(&o, false);
	if (!strcmp(o.cmd, "zero"))
		return cmd_write(&o, true);
	if (!strcmp(o.cmd, "verify"))
		return cmd_verify(&o, false);
	if (!strcmp(o.cmd, "verify-zero"))
		return cmd_verify(&o, true);
	if (!strcmp(o.cmd, "read-blocks"))
		return cmd_read_blocks(&o);
	usage();
	return 3;
}
