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
 *   scmctl copy [--image-only] [--if-missing] SRC DST|--cgroup PATH
 *   scmctl delete NAME
 *   scmctl image NAME on|off
 *   scmctl bind NAME CGROUP [SIZE]
 *   scmctl unbind NAME
 *   scmctl bindings
 *
 * list reads /proc/scm/regions and bindings /proc/scm/bindings; info asks
 * /dev/scm about the caller's own region; the others are the admin ioctls of include/uapi/linux/vssd_scm.h,
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

#define SCMCTL_DEVICE		"/dev/scm"
#define SCMCTL_REGIONS	"/proc/scm/regions"
#define SCMCTL_BINDINGS	"/proc/scm/bindings"
#define CGROUP_MOUNT		"/sys/fs/cgroup"

static const char *device = SCMCTL_DEVICE;
static bool dry_run;
static const char *copy_cgroup;
static unsigned int copy_flags;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: scmctl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Administer the persistent-memory regions of /dev/scm (one per container).\n"
"\n"
"Commands:\n"
"  list [--bytes]        the regions: name, owner, size, used, offset, flags\n"
"  info                  the caller's own region (as mmap of /dev/scm sees it)\n"
"  create NAME [SIZE]    a new region (default size: the module's\n"
"                        scm_default_size)\n"
"  resize NAME SIZE      grow or shrink a region (a region that cannot grow\n"
"                        in place moves; shrinking loses the data past the\n"
"                        new end)\n"
"  copy SRC DST          copy SRC's bytes into DST (created with SRC's size\n"
"                        when missing; must be at least as large)\n"
"  copy SRC --cgroup PATH\n"
"                        copy SRC into the region that the processes of\n"
"                        cgroup PATH get (the kernel names the target)\n"
"      --image-only      refuse unless SRC is an image region\n"
"      --if-missing      do nothing when the target region exists\n"
"  delete NAME           remove a region and its data\n"
"  image NAME on|off     mark a region as an image (a source for copies that\n"
"                        no container can map or be bound to) or unmark it\n"
"  bind NAME CGROUP [SIZE]\n"
"                        processes of CGROUP (and below) use region NAME,\n"
"                        created with SIZE on first use\n"
"  unbind NAME           remove the binding of NAME\n"
"  bindings              the bindings: name, size, cgroup\n"
"\n"
"Options:\n"
"  -d, --device PATH     the device (default " SCMCTL_DEVICE ")\n"
"  -n, --dry-run         check the arguments, print the request, do nothing\n"
"  -h, --help            this text\n"
"\n"
"NAME: 1 to %d characters of A-Z a-z 0-9 . _ -, starting with a letter or\n"
"      digit; a region the kernel named after a cgroup path ('/docker/ID',\n"
"      '#' and 32 hex digits) can be named as it is listed.\n"
"CGROUP: a cgroup v2 path from the top ('/docker/ID'), or the same under\n"
"      " CGROUP_MOUNT ".\n"
"SIZE: bytes, or with a suffix K, M, G or T (KiB, MiB, GiB, TiB); the\n"
"      kernel rounds it up to whole persistent-memory blocks.\n"
"Every command but list and info needs CAP_SYS_ADMIN outside every\n"
"container. The first use (mmap) of " SCMCTL_DEVICE " creates the caller's own\n"
"region ('host' for administrators) if it does not exist yet.\n"
"Environment: SCM_PROC_REGIONS overrides " SCMCTL_REGIONS ".\n",
		CSCM_NAME_MAX - 1);
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

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A name an administrator gives: [A-Za-z0-9][A-Za-z0-9._-]*. */
static bool admin_name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n >= CSCM_NAME_MAX || !is_alnum(name[0]))
		return false;
	for (i = 0; i < n; i++) {
		if (!is_alnum(name[i]) && !strchr("._-", name[i]))
			return false;
	}
	return true;
}

/* Any region name, also those the kernel derives from cgroup paths. */
static bool name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (name[0] == '#') {
		for (i = 1; i < n; i++) {
			if (!strchr("0123456789abcdef", name[i]))
				return false;
		}
		return n == 33;
	}
	if (name[0] == '/') {
		for (i = 1; i < n; i++) {
			if (!is_alnum(name[i]) && !strchr("._@:/-", name[i]))
				return false;
		}
		return n > 1 && n < CSCM_NAME_MAX;
	}
	return admin_name_valid(name);
}

static const char *check_name(const char *name)
{
	if (!name_valid(name))
		die_usage("invalid region name '%s': 1 to %d characters of A-Z a-z 0-9 . _ -",
			  name, CSCM_NAME_MAX - 1);
	return name;
}

/* A cgroup argument: a v2 path from the top, /sys/fs/cgroup stripped. */
static const char *check_cgroup(const char *path)
{
	size_t n = strlen(CGROUP_MOUNT);

	if (!strncmp(path, CGROUP_MOUNT, n) && (path[n] == '/' || !path[n]))
		path += n;
	if (path[0] != '/' || !path[1])
		die_usage("invalid cgroup '%s': a path below the top of the cgroup v2 hierarchy, e.g. /docker/ID",
			  path);
	return path;
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
	char name[CSCM_NAME_MAX];
	char owner[256];
	char flags[16];
	uint64_t size, used, offset;
};

static int cmd_list(bool bytes)
{
	const char *path = getenv("SCM_PROC_REGIONS");
	struct region_row *rows = NULL, *row;
	size_t n = 0, cap = 0, i, wname = 4, wowner = 5;
	char line[1024], size[32], used[32], off[32];
	unsigned int lineno = 0;
	int fields;
	FILE *f;

	if (!path || !*path)
		path = SCMCTL_REGIONS;
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
		strcpy(row->flags, "-");
		fields = sscanf(line, "%63s %255s %" SCNu64 " %" SCNu64
				" %" SCNu64 " %15s %1s", row->name, row->owner,
				&row->size, &row->used, &row->offset, row->flags,
				extra);
		if (fields != 5 && fields != 6) {
			error("%s: line %u is not 'name owner size used offset flags'",
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

	printf("%-*s  %-*s  %10s  %10s  %5s  %10s  %s\n", (int)wname, "NAME",
	       (int)wowner, "OWNER", "SIZE", "USED", "USE%", "OFFSET", "FLAGS");
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
		printf("%-*s  %-*s  %10s  %10s  %4.0f%%  %10s  %s\n", (int)wname,
		       row->name, (int)wowner, row->owner, size, used,
		       row->size ? 100.0 * (double)row->used / (double)row->size : 0.0,
		       off, row->flags);
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
	struct cscm_region_info info;
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
	if (ioctl(fd, CSCM_IOC_INFO, &info)) {
		error("%s: CSCM_IOC_INFO: %s%s", device, strerror(errno),
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
		return !strcmp(cmd, "copy") ? "no such source region (or cgroup)" :
		       !strcmp(cmd, "bind") ? "no such cgroup" :
		       !strcmp(cmd, "unbind") ? "the name is not bound" :
		       "no such region";
	case EEXIST:
		return "a region of that name exists";
	case EBUSY:
		return !strcmp(cmd, "image") ?
		       "the region is bound to a cgroup (unbind it first)" :
		       "the cgroup is bound already, or the name is bound to another live cgroup";
	case EACCES:
		return "the region is an image";
	case ENOSPC:
		return !strcmp(cmd, "copy") ?
		       "not enough free persistent memory, or the destination is smaller than the source" :
		       "not enough free persistent memory (no free run of blocks that large)";
	case EINVAL:
		return !strcmp(cmd, "copy") ?
		       "invalid request (a region cannot be copied onto itself)" :
		       !strcmp(cmd, "bind") ?
		       "invalid request (the root cgroup, or an image region)" :
		       "invalid name or size (larger than the device?)";
	case ENOTTY:
		return "not a vssd /dev/scm";
	case ENODEV:
		return "the persistent-memory device is gone";
	default:
		return strerror(err);
	}
}

/* Run admin request @a; @what describes it for messages and --dry-run. */
static int cmd_admin(const char *cmd, unsigned long req, struct cscm_admin *a,
		     const char *what)
{
	int fd, err;

	if (dry_run) {
		printf("%s %s\n", cmd, what);
		return 0;
	}
	fd = open_device();
	if (fd < 0)
		return 1;
	err = ioctl(fd, req, a) ? errno : 0;
	close(fd);
	if (err) {
		error("%s %s: %s", cmd, what, admin_reason(cmd, err));
		return 1;
	}
	return 0;
}

/* create, resize, delete, unbind: a name and maybe a size. */
static int cmd_simple(const char *cmd, unsigned long req, const char *name,
		      uint64_t size)
{
	struct cscm_admin a;
	char what[CSCM_NAME_MAX + 32];

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.size = size;
	if (size)
		snprintf(what, sizeof(what), "%s %" PRIu64, name, size);
	else
		snprintf(what, sizeof(what), "%s", name);
	return cmd_admin(cmd, req, &a, what);
}

static int cmd_copy(const char *src, const char *dst)
{
	char what[2 * CSCM_NAME_MAX + 4096];
	struct cscm_admin a;

	memset(&a, 0, sizeof(a));
	snprintf(a.src, sizeof(a.src), "%s", src);
	if (copy_cgroup) {
		a.cgroup = (uintptr_t)copy_cgroup;
		snprintf(what, sizeof(what), "%s --cgroup %s", src, copy_cgroup);
	} else {
		snprintf(a.name, sizeof(a.name), "%s", dst);
		snprintf(what, sizeof(what), "%s %s", src, dst);
	}
	a.flags = copy_flags;
	return cmd_admin("copy", CSCM_IOC_COPY, &a, what);
}

static int cmd_image(const char *name, const char *onoff)
{
	struct cscm_admin a;
	char what[CSCM_NAME_MAX + 8];

	if (strcmp(onoff, "on") && strcmp(onoff, "off"))
		die_usage("image: '%s' is not on or off", onoff);
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.flags = strcmp(onoff, "on") ? 0 : CSCM_REGION_IMAGE;
	snprintf(what, sizeof(what), "%s %s", name, onoff);
	return cmd_admin("image", CSCM_IOC_SET_FLAGS, &a, what);
}

static int cmd_bind(const char *name, const char *cgroup, uint64_t size)
{
	char what[CSCM_NAME_MAX + 4096 + 32];
	struct cscm_admin a;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.cgroup = (uintptr_t)cgroup;
	a.size = size;
	snprintf(what, sizeof(what), "%s %s", name, cgroup);
	return cmd_admin("bind", CSCM_IOC_BIND, &a, what);
}

static int cmd_bindings(void)
{
	char line[4352];
	FILE *f = fopen(SCMCTL_BINDINGS, "r");

	if (!f) {
		error("%s: %s", SCMCTL_BINDINGS, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	if (ferror(f)) {
		error("%s: %s", SCMCTL_BINDINGS, strerror(errno));
		fclose(f);
		return 1;
	}
	fclose(f);
	return 0;
}

static const char *check_admin_name(const char *name)
{
	if (!admin_name_valid(name) || !strcmp(name, "host"))
		die_usage("invalid name '%s' to bind: 1 to %d characters of A-Z a-z 0-9 . _ -, starting with a letter or digit, not 'host'",
			  name, CSCM_NAME_MAX - 1);
	return name;
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
		{ "cgroup", required_argument, NULL, 'c' },
		{ "image-only", no_argument, NULL, 'I' },
		{ "if-missing", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	bool bytes = false;
	const char *cmd;
	int c;

	/* options anywhere ("list --bytes"); "--" before a name that starts with '-' */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:nhb", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			copy_cgroup = check_cgroup(optarg);
			break;
		case 'I':
			copy_flags |= CSCM_COPY_IMAGE_ONLY;
			break;
		case 'M':
			copy_flags |= CSCM_COPY_IF_MISSING;
			break;
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
	if ((copy_cgroup || copy_flags) && strcmp(cmd, "copy"))
		die_usage("--cgroup, --image-only and --if-missing go with copy");
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
		return cmd_simple(cmd, CSCM_IOC_CREATE, check_name(argv[0]),
				  argc > 1 ? check_size(argv[1]) : 0);
	}
	if (!strcmp(cmd, "resize")) {
		need_args(argc, 2, 2, cmd);
		return cmd_simple(cmd, CSCM_IOC_RESIZE, check_name(argv[0]),
				  check_size(argv[1]));
	}
	if (!strcmp(cmd, "copy")) {
		need_args(argc, copy_cgroup ? 1 : 2, copy_cgroup ? 1 : 2, cmd);
		check_name(argv[0]);
		if (copy_cgroup)
			return cmd_copy(argv[0], NULL);
		check_name(argv[1]);
		if (!strcmp(argv[0], argv[1]))
			die_usage("copy: source and destination are the same region");
		return cmd_copy(argv[0], argv[1]);
	}
	if (!strcmp(cmd, "delete")) {
		need_args(argc, 1, 1, cmd);
		return cmd_simple(cmd, CSCM_IOC_DELETE, check_name(argv[0]), 0);
	}
	if (!strcmp(cmd, "image")) {
		need_args(argc, 2, 2, cmd);
		return cmd_image(check_name(argv[0]), argv[1]);
	}
	if (!strcmp(cmd, "bind")) {
		need_args(argc, 2, 3, cmd);
		return cmd_bind(check_admin_name(argv[0]), check_cgroup(argv[1]),
				argc > 2 ? check_size(argv[2]) : 0);
	}
	if (!strcmp(cmd, "unbind")) {
		need_args(argc, 1, 1, cmd);
		return cmd_simple(cmd, CSCM_IOC_UNBIND, check_admin_name(argv[0]), 0);
	}
	if (!strcmp(cmd, "bindings")) {
		need_args(argc, 0, 0, cmd);
		return cmd_bindings();
	}
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	die_usage("unknown command '%s'", cmd);
}
