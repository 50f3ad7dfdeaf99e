/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vssdctl: a FIFO of QMP event objects, kept in arrival order.
 */
#ifndef VSSD_EVQUEUE_H
#define VSSD_EVQUEUE_H

#include <stddef.h>
#include <jansson.h>

/* Events kept unread; when full the oldest is dropped. */
#define EVQUEUE_MAX 4096

struct evqueue_entry;

struct evqueue {
	struct evqueue_entry *head;	/* oldest event, or NULL */
	struct evqueue_entry **tail;	/* where the next event is linked */
	size_t count;			/* events queued */
	unsigned long dropped;		/* events lost to EVQUEUE_MAX */
};

void evqueue_init(struct evqueue *q);
/* Takes over the reference to @event. */
void evqueue_push(struct evqueue *q, json_t *event);
/* Oldest event (the caller owns the reference) or NULL. */
json_t *evqueue_pop(struct evqueue *q);
void evqueue_clear(struct evqueue *q);

#endif /* VSSD_EVQUEUE_H */
