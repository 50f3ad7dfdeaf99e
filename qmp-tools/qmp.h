/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: a small QMP client over a unix socket.
 *
 * The protocol as QEMU speaks it (docs/interop/qmp-spec.txt): the server
 * sends a greeting {"QMP": {...}}, the client sends qmp_capabilities, then
 * both sides exchange newline-delimited JSON objects.  Every message from
 * QEMU is sorted by its top-level key:
 *
 *   "return" / "error"  the reply to the command we are waiting for, matched
 *                       by the "id" we sent (a reply with another id is late
 *                       news from a command that already timed out: dropped;
 *                       an error without id is QEMU failing to parse our
 *                       request and goes to the waiting command);
 *   "event"             appended to a FIFO queue, read with qmp_next_event().
 *
 * Only one command is in flight at a time.  Every wait takes a timeout in
 * milliseconds; nothing here blocks forever.
 */
#ifndef VSSD_QMP_H
#define VSSD_QMP_H

#include <jansson.h>

#include "util.h"

struct qmp_client;

/* Return values of qmp_execute(). */
#define QMP_OK		0	/* *ret holds the "return" value */
#define QMP_FAILED	(-1)	/* transport problem or timeout, see err */
#define QMP_ERROR_REPLY	(-2)	/* QEMU answered with an error: err->msg is
				 * its "desc", err->qmp_class its "class" */

/*
 * Connect to the unix socket @path, read the greeting and negotiate
 * capabilities, each step within @timeout_ms.  NULL on failure.
 */
struct qmp_client *qmp_connect_unix(const char *path, int timeout_ms,
				    struct verr *err);

/* The same over an already connected stream socket; takes over @fd. */
struct qmp_client *qmp_connect_fd(int fd, int timeout_ms, struct verr *err);

/*
 * Run @command with @args (a JSON object or NULL; borrowed) and wait up to
 * @timeout_ms for its reply.  On QMP_OK *ret is a new reference (never
 * NULL).  Events that arrive meanwhile are queued.
 */
int qmp_execute(struct qmp_client *c, const char *command, json_t *args,
		int timeout_ms, json_t **ret, struct verr *err);

/*
 * Next event, oldest first: 1 and a new reference in *event, 0 when none
 * arrived within @timeout_ms (0 = only look at what is already received),
 * -1 when the connection failed (err set).
 */
int qmp_next_event(struct qmp_client *c, int timeout_ms, json_t **event,
		   struct verr *err);

/*
 * Take over @reply, a {"return": ...} or {"error": {...}} object, and turn
 * it into qmp_execute()'s result: QMP_OK and *ret, or QMP_ERROR_REPLY.
 */
int qmp_reply_result(json_t *reply, json_t **ret, struct verr *err);

/* The greeting's "QMP" object (borrowed; valid until qmp_close()). */
json_t *qmp_greeting(struct qmp_client *c);

void qmp_close(struct qmp_client *c);

#endif /* VSSD_QMP_H */
