// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cache-io — a verified random read/write workload for the vssd-cache tests.
 *
 *   cache-io run DEV STATE --blocks N [--bs B] [--seconds S] [--seed X]
 *                [--hot PCT] [--hotset PCT] [--writes PCT] [--stop FILE]
 *                [--lat 1]
 *       Random I/O on blocks 0..N-1 of DEV (O_DIRECT): --hot PCT% (default
 *       90) of the accesses go to the first --hotset PCT% (default 10) of
 *       the blocks, --writes PCT%
 *       (default 30) are writes. Every read is checked against the last
 *       write of that block; STATE (created if missing) keeps each block's
 *       version across runs and is saved at the end. Runs S seconds
 *       (default 5) or until FILE exists.
 *   cache-io verify DEV STATE [--bs B] [--seed X]
 *       Read every block recorded in STATE and compare.
 *   cache-io touch DEV STATE --blocks N [--bs B] [--seed X] [--from F]
 *       Read blocks F..N-1 once each, checking them (warms a cache).
 *   cache-io seq DEV STATE --blocks N [--bs B] [--seed X] [--ack-every K]
 *                [--from F] [--to T]
 *       Write blocks F..T-1 (default 0..N-1) in order (each one version
 *       up); after every
 *       K writes (default 16) fdatasync and print "cache-io: acked A"
 *       (blocks 0..A-1 are durable). For crash tests: the last such line
 *       on the console is what must survive.
 *   cache-io check-acked DEV STATE --blocks N [--bs B] [--seed X] --acked A
 *       After a crash during seq (STATE from before it): blocks below A
 *       must hold their next version, the others the old or the next.
 *
 * Block b at version v holds 8-byte words mix(seed, b, v, i); version 0
 * is all zeroes (a fresh device). Output: one line "cache-io: CMD ...
 * reads=R writes=W errors=E", with --lat 1 also the 99th percentile and
 * the maximum of the I/O latencies (lat_p99_us=, lat_max_us=). Exit status: 0 good, 1 data errors, 2 I/O or
 * usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct io {
	const char *cmd, *dev, *state, *stop;
	uint64_t blocks, bs, seed, from, to, ack_every, acked;
	int seconds, hot, hotset, writes, lat;
	uint32_t *lats;		/* latency of each I/O, us (--lat) */
	uint64_t nlats, caplats;
	uint32_t *ver;		/* version of each block */
	void *buf, *want;
	int fd;
	uint64_t reads, nwrites, errors, ioerrors;
	uint64_t rng;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static void fill(const struct io *o, void *p, uint64_t b, uint32_t v)
{
	uint64_t *w = p, i;

	for (i = 0; i < o->bs / 8; i++)
		w[i] = v ? mix(o->seed ^ mix(b * 0x9e3779b97f4a7c15ULL + v) ^ i) : 0;
}

static uint64_t next(struct io *o)
{
	o->rng = mix(o->rng + 0x9e3779b97f4a7c15ULL);
	return o->rng;
}

static int load_state(struct io *o)
{
	FILE *f = fopen(o->state, "r");

	o->ver = calloc(o->blocks ? o->blocks : 1, sizeof(*o->ver));
	if (!o->ver)
		return -1;
	if (!f)
		return 0;
	uint64_t n = 0;

	if (fread(&n, sizeof(n), 1, f) != 1) {
		fclose(f);
		return 0;
	}
	if (!o->blocks) {
		free(o->ver);
		o->blocks = n;
		o->ver = calloc(n ? n : 1, sizeof(*o->ver));
	}
	if (n > o->blocks)
		n = o->blocks;
	if (fread(o->ver, sizeof(*o->ver), n, f) != n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int save_state(const struct io *o)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", o->state);
	f = fopen(tmp, "w");
	if (!f || fwrite(&o->blocks, sizeof(o->blocks), 1, f) != 1 ||
	    fwrite(o->ver, sizeof(*o->ver), o->blocks, f) != o->blocks ||
	    fclose(f))
		return -1;
	return rename(tmp, o->state);
}

static void check_block(struct io *o, uint64_t b)
{
	ssize_t n = pread(o->fd, o->buf, o->bs, (off_t)(b * o->bs));

	o->reads++;
	if (n != (ssize_t)o->bs) {
		o->ioerrors++;
		fprintf(stderr, "cache-io: read of block %" PRIu64 ": %s\n", b,
			n < 0 ? strerror(errno) : "short");
		return;
	}
	fill(o, o->want, b, o->ver[b]);
	if (memcmp(o->buf, o->want, o->bs)) {
		if (o->errors++ < 10)
			fprintf(stderr, "cache-io: block %" PRIu64 " differs from version %u\n",
				b, o->ver[b]);
	}
}

static void write_block(struct io *o, uint64_t b)
{
	ssize_t n;

	fill(o, o->buf, b, o->ver[b] + 1);
	n = pwrite(o->fd, o->buf, o->bs, (off_t)(b * o->bs));
	if (n != (ssize_t)o->bs) {
		o->ioerrors++;
		fprintf(stderr, "cache-io: write of block %" PRIu64 ": %s\n", b,
			n < 0 ? strerror(errno) : "short");
		return;
	}
	o->ver[b]++;	/* acknowledged: from now on it must read back */
	o->nwrites++;
}

static uint64_t pick(struct io *o)
{
	uint64_t hotn = o->blocks * o->hotset / 100 ? o->blocks * o->hotset / 100 : 1;

	if ((int)(next(o) % 100) < o->hot)
		return next(o) % hotn;
	return next(o) % o->blocks;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void note_lat(struct io *o, uint64_t us)
{
	if (o->nlats == o->caplats) {
		uint32_t *n;

		o->caplats = o->caplats ? 2 * o->caplats : 65536;
		n = realloc(o->lats, o->caplats * sizeof(*n));
		if (!n)
			return;
		o->lats = n;
	}
	o->lats[o->nlats++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void run(struct io *o)
{
	time_t end = time(NULL) + o->seconds;
	struct stat st;
	uint64_t t0 = 0;

	while (time(NULL) < end && !(o->stop && stat(o->stop, &st) == 0)) {
		uint64_t b = pick(o);

		if (o->lat)
			t0 = now_us();
		if ((int)(next(o) % 100) < o->writes)
			write_block(o, b);
		else
			check_block(o, b);
		if (o->lat)
			note_lat(o, now_us() - t0);
	}
}

/* seq: write every block in order, acknowledge after each fdatasync. */
static void seq_write(struct io *o)
{
	uint64_t b, every = o->ack_every ? o->ack_every : 16;
	uint64_t end = o->to && o->to < o->blocks ? o->to : o->blocks;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (b = o->from; b < end; b++) {
		write_block(o, b);
		if ((b + 1) % every == 0 || b + 1 == end) {
			if (fdatasync(o->fd)) {
				o->ioerrors++;
				return;
			}
			printf("cache-io: acked %" PRIu64 "\n", b + 1);
		}
	}
}

/* check-acked: block b holds version v (or v + 1 when b >= acked). */
static void check_acked(struct io *o)
{
	uint64_t b;
	bool newer;

	for (b = 0; b < o->blocks; b++) {
		if (pread(o->fd, o->buf, o->bs, (off_t)(b * o->bs)) != (ssize_t)o->bs) {
			o->ioerrors++;
			continue;
		}
		o->reads++;
		fill(o, o->want, b, o->ver[b] + 1);
		newer = !memcmp(o->buf, o->want, o->bs);
		if (newer) {
			o->ver[b]++;
			continue;
		}
		fill(o, o->want, b, o->ver[b]);
		if (b < o->acked || memcmp(o->buf, o->want, o->bs)) {
			if (o->errors++ < 10)
				fprintf(stderr, "cache-io: block %" PRIu64 " lost an acknowledged write\n", b);
		}
	}
}

static int parse(struct io *o, int argc, char **argv)
{
	int i;

	if (argc < 4)
		return -1;
	o->cmd = argv[1];
	o->dev = argv[2];
	o->state = argv[3];
	o->bs = 4096;
	o->seconds = 5;
	o->hot = 90;
	o->hotset = 10;
	o->writes = 30;
	o->seed = 1;
	for (i = 4; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--blocks"))
			o->blocks = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--bs"))
			o->bs = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--seconds"))
			o->seconds = atoi(v);
		else if (!strcmp(k, "--seed"))
			o->seed = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--hot"))
			o->hot = atoi(v);
		else if (!strcmp(k, "--hotset"))
			o->hotset = atoi(v);
		else if (!strcmp(k, "--lat"))
			o->lat = atoi(v);
		else if (!strcmp(k, "--writes"))
			o->writes = atoi(v);
		else if (!strcmp(k, "--stop"))
			o->stop = v;
		else if (!strcmp(k, "--to"))
			o->to = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--ack-every"))
			o->ack_every = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--acked"))
			o->acked = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--from"))
			o->from = strtoull(v, NULL, 0);
		else
			return -1;
	}
	if (i != argc || !o->bs || o->bs % 4096)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct io o = { 0 };
	uint64_t b;

	if (parse(&o, argc, argv)) {
		fprintf(stderr, "usage: cache-io run|verify|touch DEV STATE [options]\n");
		return 2;
	}
	o.rng = o.seed ^ (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	o.fd = open(o.dev, O_RDWR | O_DIRECT);
	if (o.fd < 0 || load_state(&o) || !o.blocks ||
	    posix_memalign(&o.buf, 4096, o.bs) || posix_memalign(&o.want, 4096, o.bs)) {
		fprintf(stderr, "cache-io: %s: cannot start: %s\n", o.dev, strerror(errno));
		return 2;
	}
	if (!strcmp(o.cmd, "run"))
		run(&o);
	else if (!strcmp(o.cmd, "verify"))
		for (b = 0; b < o.blocks; b++)
			check_block(&o, b);
	else if (!strcmp(o.cmd, "seq"))
		seq_write(&o);
	else if (!strcmp(o.cmd, "check-acked"))
		check_acked(&o);
	else if (!strcmp(o.cmd, "touch"))
		for (b = o.from; b < o.blocks; b++)
			check_block(&o, b);
	else
		return 2;
	if (fsync(o.fd) || save_state(&o)) {
		fprintf(stderr, "cache-io: cannot sync or save the state\n");
		return 2;
	}
	printf("cache-io: %s %s reads=%" PRIu64 " writes=%" PRIu64 " errors=%" PRIu64
	       " ioerrors=%" PRIu64, o.cmd, o.dev, o.reads, o.nwrites, o.errors,
	       o.ioerrors);
	if (o.lat && o.nlats) {
		qsort(o.lats, o.nlats, sizeof(*o.lats), cmp_u32);
		printf(" lat_p99_us=%u lat_max_us=%u", o.lats[o.nlats * 99 / 100],
		       o.lats[o.nlats - 1]);
	}
	putchar('\n');
	return o.errors ? 1 : o.ioerrors ? 2 : 0;
}
