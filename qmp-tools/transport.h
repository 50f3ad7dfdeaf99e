/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: the way commands reach QEMU's monitor, either a QMP socket of
 * our own (transport_qmp.c) or libvirt's monitor passthrough (libvirt.c).
 * Commands use only this interface and never learn which one it is.
 */
#ifndef VSSD_TRANSPORT_H
#define VSSD_TRANSPORT_H

#include <stdbool.h>
#include <jansson.h>

#include "util.h"

struct transport;

struct transport_ops {
	/* As qmp_execute(): QMP_OK, QMP_FAILED or QMP_ERROR_REPLY. */
	int (*execute)(struct transport *t, const char *command, json_t *args,
		       int timeout_ms, json_t **ret, struct verr *err);
	/*
	 * As qmp_next_event(): 1 and an {"event", "data", "timestamp"}
	 * object, 0 on timeout or interrupt, -1 on a dead connection.
	 */
	int (*next_event)(struct transport *t, int timeout_ms, json_t **event,
			  struct verr *err);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;	/* the implementation */
	char *where;				/* "QMP socket PATH" or
						 * "domain NAME", for messages */
};

struct transport *transport_open_qmp(const char *path, int timeout_ms,
				     struct verr *err);

/*
 * Open libvirt's connection @uri (NULL: libvirt's default, which honours
 * LIBVIRT_DEFAULT_URI) and the running domain @name.  With @events, QEMU
 * monitor events are collected from the moment it returns.
 */
struct transport *transport_open_libvirt(const char *uri, const char *name,
					 bool events, int timeout_ms,
					 struct verr *err);

int transport_execute(struct transport *t, const char *command, json_t *args,
		      int timeout_ms, json_t **ret, struct verr *err);
int transport_next_event(struct transport *t, int timeout_ms, json_t **event,
			 struct verr *err);
void transport_close(struct transport *t);

#endif /* VSSD_TRANSPORT_H */
