// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: the transport interface and its QMP-socket implementation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"
#include "transport.h"

struct qmp_transport {
	struct transport base;		/* must stay first */
	struct qmp_client *client;	/* the connected monitor */
};

static int qmp_transport_execute(struct transport *t, const char *command,
				 json_t *args, int timeout_ms, json_t **ret,
				 struct verr *err)
{
	struct qmp_transport *qt = (struct qmp_transport *)t;

	return qmp_execute(qt->client, command, args, timeout_ms, ret, err);
}

static int qmp_transport_next_event(struct transport *t, int timeout_ms,
				    json_t **event, struct verr *err)
{
	struct qmp_transport *qt = (struct qmp_transport *)t;

	return qmp_next_event(qt->client, timeout_ms, event, err);
}

static void qmp_transport_close(struct transport *t)
{
	struct qmp_transport *qt = (struct qmp_transport *)t;

	qmp_close(qt->client);
	free(t->where);
	free(qt);
}

static const struct transport_ops qmp_transport_ops = {
	.execute = qmp_transport_execute,
	.next_event = qmp_transport_next_event,
	.close = qmp_transport_close,
};

struct transport *transport_open_qmp(const char *path, int timeout_ms,
				     struct verr *err)
{
	struct qmp_transport *qt = calloc(1, sizeof(*qt));

	if (!qt || asprintf(&qt->base.where, "QMP socket %s", path) < 0) {
		free(qt);
		verr_set(err, "out of memory");
		return NULL;
	}
	qt->base.ops = &qmp_transport_ops;
	qt->client = qmp_connect_unix(path, timeout_ms, err);
	if (!qt->client) {
		free(qt->base.where);
		free(qt);
		return NULL;
	}
	return &qt->base;
}

int transport_execute(struct transport *t, const char *command, json_t *args,
		      int timeout_ms, json_t **ret, struct verr *err)
{
	return t->ops->execute(t, command, args, timeout_ms, ret, err);
}

int transport_next_event(struct transport *t, int timeout_ms, json_t **event,
			 struct verr *err)
{
	return t->ops->next_event(t, timeout_ms, event, err);
}

void transport_close(struct transport *t)
{
	if (t)
		t->ops->close(t);
}
