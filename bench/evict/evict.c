// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * evict — guest half of the eviction experiment (bench/evict).
 *
 *   evict read DEVICE [OPTIONS]
 *       Reads --count 4 KiB blocks of DEVICE with O_DIRECT, at block
 *       numbers drawn from the access distribution, and prints
 *         evict: reads=N hits=H misses=M ms=T
 *       A read that fails with EIO is a miss (the block is not plugged);
 *       any other failure ends the program with status 1.
 *
 *   evict hints DEVICE [OPTIONS] [--coldest K] [--write FILE]
 *       Draws --count block numbers from the distribution without reading
 *       them and names the K blocks this trace did not touch that lie
 *       farthest from its mean: the coldest blocks as far as this trace
 *       can tell. Prints them as ranges ("a-b c ..."), coldest first, to
 *       standard output or writes them to FILE (/proc/vssd/vssd0/hints)
 *       in one open, each write ending between two ranges.
 *
 *   Options: --seed S (generator seed, default 1), --count N (default
 *   100000), --mean M (default 20000), --sigma S (default 8192).
 *
 * The distribution is a Gaussian over block numbers, truncated to the
 * device: a draw outside [0, blocks) is drawn again, so no block at an
 * edge collects the tails. The generator (splitmix64 and Box-Muller) is
 * the same on every machine, so a seed names one trace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096

struct options {
	const char *mode;
	const char *device;
	const char *write_to;
	uint64_t seed;
	long count;
	long coldest;
	double mean;
	double sigma;
};

struct gen {
	uint64_t state;
	int have_spare;
	double spare;
	double mean, sigma;
	long blocks;
};

static void die(const char *what)
{
	fprintf(stderr, "evict: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1]: never 0, so that log() below is finite. */
static double uniform(struct gen *g)
{
	return ((splitmix64(&g->state) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* One standard normal value (Box-Muller gives two; keep the second). */
static double normal(struct gen *g)
{
	double r, t;

	if (g->have_spare) {
		g->have_spare = 0;
		return g->spare;
	}
	r = sqrt(-2.0 * log(uniform(g)));
	t = 2.0 * M_PI * uniform(g);
	g->spare = r * sin(t);
	g->have_spare = 1;
	return r * cos(t);
}

static long next_block(struct gen *g)
{
	for (;;) {
		long b = lround(g->mean + g->sigma * normal(g));

		if (b >= 0 && b < g->blocks)
			return b;
	}
}

/* Size in blocks of a block device (or, to try the program, a file). */
static long device_blocks(const char *path)
{
	uint64_t bytes;
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	if (S_ISREG(st.st_mode))
		bytes = st.st_size;
	else if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		die("BLKGETSIZE64");
	close(fd);
	return (long)(bytes / BLOCK);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int do_read(const struct options *o, struct gen *g)
{
	long i, hits = 0, misses = 0;
	double start;
	void *buf;
	int fd;

	if (posix_memalign(&buf, BLOCK, BLOCK))
		die("posix_memalign");
	fd = open(o->device, O_RDONLY | O_DIRECT);
	if (fd < 0)
		die(o->device);
	start = now_ms();
	for (i = 0; i < o->count; i++) {
		long b = next_block(g);
		ssize_t n = pread(fd, buf, BLOCK, (off_t)b * BLOCK);

		if (n == BLOCK) {
			hits++;
		} else if (n < 0 && errno == EIO) {
			misses++;
		} else {
			fprintf(stderr, "evict: read of block %ld returned %zd: %s\n",
				b, n, n < 0 ? strerror(errno) : "short read");
			return 1;
		}
	}
	printf("evict: reads=%ld hits=%ld misses=%ld ms=%.0f\n",
	       o->count, hits, misses, now_ms() - start);
	close(fd);
	free(buf);
	return 0;
}

/*
 * Appends text to the output, flushing whole ranges to fd when the buffer
 * fills: every write() holds complete ranges, as /proc/vssd/vssd0/hints
 * parses each write on its own.
 */
struct out {
	int fd;
	size_t len;
	char buf[65536];
};

static void out_flush(struct out *w)
{
	size_t done = 0;

	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);

		if (n < 0)
			die("write");
		done += n;
	}
	w->len = 0;
}

static void out_range(struct out *w, long first, long last)
{
	char item[48];
	int n;

	if (first == last)
		n = snprintf(item, sizeof(item), "%s%ld", w->len ? " " : "", first);
	else
		n = snprintf(item, sizeof(item), "%s%ld-%ld", w->len ? " " : "",
			     first, last);
	if (w->len + n + 1 > sizeof(w->buf))
		out_flush(w);
	/* A new write starts without the separating space. */
	if (w->len == 0 && item[0] == ' ')
		memmove(item, item + 1, n--);
	memcpy(w->buf + w->len, item, n);
	w->len += n;
}

/*
 * Picks up to k blocks the trace never touched, farthest from the trace's
 * mean first: walking in from both ends of the device, always on the side
 * farther from the mean. Returns how many were picked into order[].
 */
static long pick_coldest(const unsigned char *seen, long blocks, double mean,
			 long k, long *order)
{
	long lo = 0, hi = blocks - 1, n = 0;

	while (n < k && lo <= hi) {
		if (seen[lo]) {
			lo++;
		} else if (seen[hi]) {
			hi--;
		} else if (mean - lo > hi - mean) {
			order[n++] = lo++;
		} else {
			order[n++] = hi--;
		}
	}
	return n;
}

/*
 * Writes the picked blocks as ranges in the order they were picked: each
 * run of neighbours (ascending or descending) becomes one range.
 */
static void write_ranges(struct out *w, const long *order, long n)
{
	long i = 0;

	while (i < n) {
		long first = order[i], last = order[i];
		long step = (i + 1 < n && order[i + 1] == order[i] - 1) ? -1 : 1;

		while (i + 1 < n && order[i + 1] == last + step)
			last = order[++i];
		i++;
		if (first > last) {
			long t = first;

			first = last;
			last = t;
		}
		out_range(w, first, last);
	}
}

static int do_hints(const struct options *o, struct gen *g)
{
	unsigned char *seen = calloc(g->blocks, 1);
	long *order = calloc(o->coldest ? o->coldest : 1, sizeof(*order));
	static struct out w;
	double sum = 0;
	long i, n, touched = 0;

	if (!seen || !order)
		die("calloc");
	for (i = 0; i < o->count; i++) {
		long b = next_block(g);

		touched += !seen[b];
		seen[b] = 1;
		sum += b;
	}
	n = pick_coldest(seen, g->blocks, sum / o->count, o->coldest, order);
	if (n < o->coldest)
		fprintf(stderr, "evict: only %ld untouched blocks\n", n);
	w.fd = 1;
	if (o->write_to) {
		w.fd = open(o->write_to, O_WRONLY);
		if (w.fd < 0)
			die(o->write_to);
	}
	write_ranges(&w, order, n);
	if (!o->write_to && w.len + 1 < sizeof(w.buf))
		w.buf[w.len++] = '\n';
	out_flush(&w);
	if (o->write_to && close(w.fd) < 0)
		die(o->write_to);
	fprintf(stderr, "evict: %ld hints; the trace of %ld draws touched %ld blocks\n",
		n, o->count, touched);
	free(order);
	free(seen);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: evict read DEVICE [--seed S] [--count N] [--mean M] [--sigma S]\n"
		"       evict hints DEVICE [same options] [--coldest K] [--write FILE]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
	int i;

	if (argc < 3)
		usage();
	o->mode = argv[1];
	o->device = argv[2];
	for (i = 3; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--seed"))
			o->seed = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--count"))
			o->count = atol(v);
		else if (!strcmp(k, "--coldest"))
			o->coldest = atol(v);
		else if (!strcmp(k, "--mean"))
			o->mean = atof(v);
		else if (!strcmp(k, "--sigma"))
			o->sigma = atof(v);
		else if (!strcmp(k, "--write"))
			o->write_to = v;
		else
			usage();
	}
	if (i != argc || o->count <= 0 || o->sigma <= 0 || o->coldest < 0)
		usage();
}

int main(int argc, char **argv)
{
	struct options o = {
		.seed = 1, .count = 100000, .mean = 20000, .sigma = 8192,
	};
	struct gen g = { 0 };

	parse(argc, argv, &o);
	g.state = o.seed;
	g.mean = o.mean;
	g.sigma = o.sigma;
	g.blocks = device_blocks(o.device);
	if (g.blocks <= 0) {
		fprintf(stderr, "evict: %s is empty\n", o.device);
		return 1;
	}
	if (!strcmp(o.mode, "read"))
		return do_read(&o, &g);
	if (!strcmp(o.mode, "hints"))
		return do_hints(&o, &g);
	usage();
	return 2;
}
