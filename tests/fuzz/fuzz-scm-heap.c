// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-scm-heap: libscm opening a region whose bytes are anything (a
 * corrupt or hostile heap: torn metadata, an undo log that lies, a lock
 * word of a dead owner). scm_open() must accept it (and then keep a
 * consistent heap through allocations, a transaction and frees) or refuse
 * it with an error; never crash, read or write outside the region, or
 * loop forever. The input is the region's first bytes; the rest is zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "scm.h"

#define REGION	(64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[] = "/tmp/fuzz-scm-heap.XXXXXX";
	static int fd = -1;
	uint64_t *a, *b;

	if (fd < 0) {
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		unlink(path);
	}
	if (size > REGION)
		size = REGION;
	if (ftruncate(fd, 0) || ftruncate(fd, REGION) ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	{
		char name[64];

		snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		if (scm_open(name))
			return 0;
	}
	if (scm_check())
		abort();	/* an accepted heap must be consistent */
	a = scmalloc(128);
	b = scmalloc(1000);
	if (a && !scm_tx_begin()) {
		if (!scm_tx_add(a, 128)) {
			memset(a, 0x5a, 128);
			scm_tx_commit();
		} else {
			scm_tx_abort();
		}
	}
	scmfree(b);
	scmfree(a);
	if (scm_check())
		abort();
	scm_close();
	return 0;
}
