// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: messages, sizes, names, small file and device helpers.
 *
 * Copyright (c) 2026 The vssd authors.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "vssd-cache.h"

bool vc_daemon;

static void vc_vmsg(int prio, const char *fmt, va_list ap)
{
	if (vc_daemon) {
		vsyslog(prio, fmt, ap);
		return;
	}
	fputs("vssd-cache: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* An error: one line on stderr ("vssd-cache: ..."), or syslog in the agent. */
void vc_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vc_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
}

/* What the agent did (syslog); quiet in the command-line tool. */
void vc_log(const char *fmt, ...)
{
	va_list ap;

	if (!vc_daemon && !getenv("VSSD_CACHE_VERBOSE"))
		return;
	va_start(ap, fmt);
	vc_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

/* "65536", "64K", "1M", "1G" (binary multiples, optional "iB"): 0 or -1. */
int vc_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v = 0, mult = 1;
	const char *p = s, *u;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		u = strchr(units, toupper((unsigned char)*p));
		if (!u)
			return -1;
		mult = 1ULL << (10 * (u - units + 1));
		p++;
		if (!strcasecmp(p, "iB") || !strcasecmp(p, "B"))
			p += strlen(p);
		if (*p)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* A cache name: 1-64 of A-Z a-z 0-9 _ . + -, not starting with - or . */
bool vc_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > VC_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.+-", name[i]))
			return false;
	return true;
}

/* Read a small text file into buf (NUL-terminated): bytes read or -1. */
int vc_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got < size - 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return (int)got;
}

/* Write text to a /proc or /sys file in one write(): 0 or -1 (errno). */
int vc_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), saved;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Create or replace a small file with text: 0 or -1. */
int vc_write_file_new(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r;

	if (fd < 0)
		return -1;
	r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return r;
}

/* Size in bytes and device number of a block device: 0, or -1 with errno. */
int vc_blockdev_size(const char *path, uint64_t *bytes, unsigned int *maj,
		     unsigned int *min)
{
	struct stat st;
	int fd, r;

	if (stat(path, &st))
		return -1;
	if (!S_ISBLK(st.st_mode)) {
		errno = ENOTBLK;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = ioctl(fd, BLKGETSIZE64, bytes);
	close(fd);
	if (maj)
		*maj = major(st.st_rdev);
	if (min)
		*min = minor(st.st_rdev);
	return r ? -1 : 0;
}

/*
 * 0 if nobody holds the block device (an exclusive open succeeds: not
 * mounted, not in a device-mapper table), -1 with errno (EBUSY) if not.
 */
int vc_blockdev_unused(const char *path)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * Run a program (argv[0] a path) with stdout to out_path (or /dev/null)
 * and stderr kept: its exit status, or -1.
 */
int vc_run(char *const argv[], const char *out_path)
{
	pid_t pid;
	int status, fd;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* dies with its caller */
		fd = open(out_path ? out_path : "/dev/null",
			  O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
