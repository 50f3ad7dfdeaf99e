// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-qmp: vssdctl's QMP client (qmp-tools/qmp.c) and the parser of
 * query-ssd-balloon's reply (balloon.c) against a QEMU that sends anything.
 * The input is what "QEMU" writes on the socket: a greeting, replies,
 * events, garbage. The client must fail cleanly (an error, never a crash,
 * a hang or a leak).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>
#include "balloon.h"
#include "qmp.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What vssdctl status reads of every region. */
static void use_regions(const struct balloon_list *list)
{
	uint64_t v, us;
	size_t i;

	for (i = 0; i < list->count; i++) {
		json_t *info = list->regions[i].info;

		for (enum balloon_field f = 0; f < BF_COUNT; f++)
			balloon_u64(info, f, &v);
		balloon_last_resize_us(info, &us);
		(void)balloon_status(info);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct balloon_list list;
	struct qmp_client *c;
	struct verr err = { 0 };
	json_t *ret = NULL, *ev;
	int sv[2];

	if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 0;
	/* the whole "QEMU" side is written up front, then closed */
	if (write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	/* the client owns sv[0] from here (closed on failure too) */
	c = qmp_connect_fd(sv[0], 50, &err);
	if (c) {
		if (qmp_execute(c, "query-ssd-balloon", NULL, 50, &ret, &err) ==
		    QMP_OK) {
			/* balloon_parse() owns the reply from here */
			if (balloon_parse(ret, &list, &err) == 0) {
				use_regions(&list);
				balloon_list_free(&list);
			}
		}
		while (qmp_next_event(c, 0, &ev, &err) == 1)
			json_decref(ev);
		qmp_close(c);
	}
	close(sv[1]);
	return 0;
}
