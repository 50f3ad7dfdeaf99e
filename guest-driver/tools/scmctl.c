// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scmctl: administer the container regions of /dev/scm.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 *   scmctl list [--bytes]
 *   scmctl info
 *   scmctl create NAME [SIZE]
 *   scmctl resize NAME SIZE
 *   scmctl copy SRC DST
 *   scmctl delete NAME
 *
 * list reads /proc/scm/regions; info asks /dev/scm about the caller's own
 * region; the others are the admin ioctls of include/uapi/linux/vssd_scm.h,
 * which the kernel allows only with CAP_SYS_ADMIN outside every container.
 * Errors are one line "scmctl: ..." on stderr; exit status 1 on errors,
 * 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vssd_scm.h>

#define SCM_DEVICE_PATH		"/dev/scm"
#define SCM_REGIONS_PATH	"/proc/scm/regions"

static const char *device = SCM_DEVICE_PATH;
static bool dry_run;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: scmctl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Administer the persistent-memory regions of /dev/scm (one per container).\n"
"\n"
"Commands:\n"
"  list [--bytes]        the regions: name, owner, size, used, offset\n"
"  info                  the caller's own region (as mmap of /dev/scm sees it)\n"
"  create NAME [SIZE]    a new region (default size: the module's\n"
"                        scm_default_size)\n"
"  resize NAME SIZE      grow or shrink a region (a region that cannot grow\n"
"                        in place moves; shrinking loses the data past the\n"
"                        new end)\n"
"  copy SRC DST          copy SRC's bytes into DST (created with SRC's size\n"
"                        when missing; must be at least as large)\n"
"  delete NAME           remove a region and its data\n"
"\n"
"Options:\n"
"  -d, --device PATH     the device (default " SCM_DEVICE_PATH ")\n"
"  -n, --dry-run         check the arguments, print the request, do nothing\n"
"  -h, --help            this text\n"
"\n"
"NAME: 1 to %d characters of A-Z a-z 0-9 . _ -\n"
"SIZE: bytes, or with a suffix K, M, G or T (KiB, MiB, GiB, TiB); the\n"
"      kernel rounds it up to whole persistent-memory blocks.\n"
"create, resize, copy and delete need CAP_SYS_ADMIN outside every container.\n"
"Opening " SCM_DEVICE_PATH " creates the caller's own region ('host' outside\n"
"containers) if it does not exist yet.\n"
"Environment: SCM_PROC_REGIONS overrides " SCM_REGIONS_PATH ".\n",
		SCM_NAME_MAX - 1);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("scmctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (see scmctl --help)\n", stderr);
	va_end(ap);
	exit(2);
}

static void __attribute__((format(printf, 1, 2))) error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("scmctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* --- sizes and names --- */

/*
 * Parse "123", "64K", "16M", "1G", "2T" (also "16MiB", "16MB", lower
 * case): binary multiples. 0 on success.
 */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v = 0, mult = 1;
	const char *p = s, *u;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (*p) {
		char c = *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p;

		u = strchr(units, c);
		if (!u || !c)
			return -1;
		mult = 1ULL << (10 * (u - units + 1));
		p++;
		if (!strcmp(p, "iB") || !strcmp(p, "ib") || !strcmp(p, "B") ||
		    !strcmp(p, "b"))
			p += strlen(p);
		if (*p)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* "16M", "1.5G", "4096": short, exact when it can be. */
static void format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned int i;

	if (v < 1024) {
		snprintf(buf, len, "%" PRIu64, v);
		return;
	}
	for (i = 0; i < sizeof(units) - 2 && v >= (1024ULL << (10 * (i + 1)));
	     i++)
		;
	if (v % (1ULL << (10 * (i + 1))) == 0)
		snprintf(buf, len, "%" PRIu64 "%c", v >> (10 * (i + 1)),
			 units[i]);
	else
		snprintf(buf, len, "%.1f%c",
			 (double)v / (double)(1ULL << (10 * (i + 1))), units[i]);
}

static bool name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n >= SCM_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static const char *check_name(const char *name)
{
	if (!name_valid(name))
		die_usage("invalid region name '%s': 1 to %d characters of A-Z a-z 0-9 . _ -",
			  name, SCM_NAME_MAX - 1);
	return name;
}

static uint64_t check_size(const char *s)
{
	uint64_t v;

	if (parse_size(s, &v) || !v)
		die_usage("invalid size '%s': a positive number of bytes, or with K, M, G or T",
			  s);
	return v;
}

/* --- list --- */

struct region_row {
	char name[SCM_NAME_MAX];
	char owner[256];
	uint64_t size, used, offset;
};

static int cmd_list(bool bytes)
{
	const char *path = getenv("SCM_PROC_REGIONS");
	struct region_row *rows = NULL, *row;
	size_t n = 0, cap = 0, i, wname = 4, wowner = 5;
	char line[1024], size[32], used[32], off[32];
	unsigned int lineno = 0;
	FILE *f;

	if (!path || !*path)
		path = SCM_REGIONS_PATH;
	f = fopen(path, "r");
	if (!f) {
		error("%s: %s%s", path, strerror(errno),
		      errno == ENOENT ? " (is virtio_vssd loaded on a device with persistent memory?)" : "");
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char extra[2];

		lineno++;
		if (lineno == 1 && !strncmp(line, "name", 4))
			continue;
		if (line[0] == '\n')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			row = realloc(rows, cap * sizeof(*rows));
			if (!row) {
				error("out of memory");
				goto fail;
			}
			rows = row;
		}
		row = &rows[n];
		if (sscanf(line, "%63s %255s %" SCNu64 " %" SCNu64 " %" SCNu64 " %1s",
			   row->name, row->owner, &row->size, &row->used,
			   &row->offset, extra) != 5) {
			error("%s: line %u is not 'name owner size used offset'",
			      path, lineno);
			goto fail;
		}
		if (strlen(row->name) > wname)
			wname = strlen(row->name);
		if (strlen(row->owner) > wowner)
			wowner = strlen(row->owner);
		n++;
	}
	if (ferror(f)) {
		error("%s: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);

	printf("%-*s  %-*s  %10s  %10s  %5s  %10s\n", (int)wname, "NAME",
	       (int)wowner, "OWNER", "SIZE", "USED", "USE%", "OFFSET");
	for (i = 0; i < n; i++) {
		row = &rows[i];
		if (bytes) {
			snprintf(size, sizeof(size), "%" PRIu64, row->size);
			snprintf(used, sizeof(used), "%" PRIu64, row->used);
			snprintf(off, sizeof(off), "%" PRIu64, row->offset);
		} else {
			format_size(row->size, size, sizeof(size));
			format_size(row->used, used, sizeof(used));
			format_size(row->offset, off, sizeof(off));
		}
		printf("%-*s  %-*s  %10s  %10s  %4.0f%%  %10s\n", (int)wname,
		       row->name, (int)wowner, row->owner, size, used,
		       row->size ? 100.0 * (double)row->used / (double)row->size : 0.0,
		       off);
	}
	free(rows);
	return 0;
fail:
	fclose(f);
	free(rows);
	return 1;
}

/* --- the device --- */

static int open_device(void)
{
	int fd = open(device, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		error("%s: %s%s", device, strerror(errno),
		      errno == ENOENT ? " (is virtio_vssd loaded on a device with persistent memory?)" :
		      errno == EPERM || errno == EACCES ? " (opening it needs write access)" : "");
	return fd;
}

static int cmd_info(void)
{
	struct scm_region_info info;
	char size[32], used[32];
	int fd;

	if (dry_run) {
		printf("info\n");
		return 0;
	}
	fd = open_device();
	if (fd < 0)
		return 1;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, SCM_IOC_INFO, &info)) {
		error("%s: SCM_IOC_INFO: %s%s", device, strerror(errno),
		      errno == ENOTTY ? " (not a vssd /dev/scm)" : "");
		close(fd);
		return 1;
	}
	close(fd);
	info.name[sizeof(info.name) - 1] = '\0';
	format_size(info.size, size, sizeof(size));
	format_size(info.used, used, sizeof(used));
	printf("name: %s\nsize: %" PRIu64 " (%s)\nused: %" PRIu64 " (%s)\n"
	       "offset: %" PRIu64 "\nblock-size: %" PRIu64 "\n",
	       info.name, (uint64_t)info.size, size, (uint64_t)info.used, used,
	       (uint64_t)info.offset, (uint64_t)info.block_size);
	return 0;
}

/* Why an admin ioctl failed, in words. */
static const char *admin_reason(const char *cmd, int err)
{
	switch (err) {
	case EPERM:
		return "permission denied: region administration needs CAP_SYS_ADMIN outside every container";
	case ENOENT:
		return !strcmp(cmd, "copy") ? "no such source region" : "no such region";
	case EEXIST:
		return "a region of that name exists";
	case ENOSPC:
		return !strcmp(cmd, "copy") ?
		       "not enough free persistent memory, or the destination is smaller than the source" :
		       "not enough free persistent memory (no free run of blocks that large)";
	case EINVAL:
		return !strcmp(cmd, "copy") ?
		       "invalid request (a region cannot be copied onto itself)" :
		       "invalid name or size (larger than the device?)";
	case ENOTTY:
		return "not a vssd /dev/scm";
	case ENODEV:
		return "the persistent-memory device is gone";
	default:
		return strerror(err);
	}
}

static int cmd_admin(const char *cmd, unsigned long req, const char *name,
		     const char *src, uint64_t size)
{
	struct scm_admin a;
	int fd, err;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	if (src)
		snprintf(a.src, sizeof(a.src), "%s", src);
	a.size = size;
	if (dry_run) {
		if (src)
			printf("%s %s %s\n", cmd, src, name);
		else if (size)
			printf("%s %s %" PRIu64 "\n", cmd, name, size);
		else
			printf("%s %s\n", cmd, name);
		return 0;
	}
	fd = open_device();
	if (fd < 0)
		return 1;
	err = ioctl(fd, req, &a) ? errno : 0;
	close(fd);
	if (err) {
		if (src)
			error("copy %s %s: %s", src, name, admin_reason(cmd, err));
		else
			error("%s %s: %s", cmd, name, admin_reason(cmd, err));
		return 1;
	}
	return 0;
}

/* --- main --- */

static void need_args(int argc, int min, int max, const char *cmd)
{
	if (argc < min || argc > max)
		die_usage("%s: %s arguments", cmd, argc < min ? "missing" : "too many");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "bytes", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	bool bytes = false;
	const char *cmd;
	int c;

	/* options anywhere ("list --bytes"); "--" before a name that starts with '-' */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:nhb", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'b':
			bytes = true;
			break;
		default:
			die_usage("unknown option or missing value: '%s'",
				  argv[optind - 1]);
		}
	}
	if (optind >= argc)
		die_usage("no command");
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;

	if (bytes && strcmp(cmd, "list"))
		die_usage("--bytes goes with list");
	if (!strcmp(cmd, "list")) {
		need_args(argc, 0, 0, cmd);
		return cmd_list(bytes);
	}
	if (!strcmp(cmd, "info")) {
		need_args(argc, 0, 0, cmd);
		return cmd_info();
	}
	if (!strcmp(cmd, "create")) {
		need_args(argc, 1, 2, cmd);
		return cmd_admin(cmd, SCM_IOC_CREATE, check_name(argv[0]), NULL,
				 argc > 1 ? check_size(argv[1]) : 0);
	}
	if (!strcmp(cmd, "resize")) {
		need_args(argc, 2, 2, cmd);
		return cmd_admin(cmd, SCM_IOC_RESIZE, check_name(argv[0]), NULL,
				 check_size(argv[1]));
	}
	if (!strcmp(cmd, "copy")) {
		need_args(argc, 2, 2, cmd);
		check_name(argv[0]);
		check_name(argv[1]);
		if (!strcmp(argv[0], argv[1]))
			die_usage("copy: source and destination are the same region");
		return cmd_admin(cmd, SCM_IOC_COPY, argv[1], argv[0], 0);
	}
	if (!strcmp(cmd, "delete")) {
		need_args(argc, 1, 1, cmd);
		return cmd_admin(cmd, SCM_IOC_DELETE, check_name(argv[0]), NULL, 0);
	}
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	die_usage("unknown command '%s'", cmd);
}
