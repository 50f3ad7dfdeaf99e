// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: a FIFO of QMP event objects.
 */
#include <stdlib.h>

#include "evqueue.h"

struct evqueue_entry {
	struct evqueue_entry *next;	/* younger event, or NULL */
	json_t *event;			/* owned reference */
};

void evqueue_init(struct evqueue *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->count = 0;
	q->dropped = 0;
}

void evqueue_push(struct evqueue *q, json_t *event)
{
	struct evqueue_entry *e;

	if (q->count == EVQUEUE_MAX) {
		json_decref(evqueue_pop(q));
		q->dropped++;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		json_decref(event);
		q->dropped++;
		return;
	}
	e->next = NULL;
	e->event = event;
	*q->tail = e;
	q->tail = &e->next;
	q->count++;
}

json_t *evqueue_pop(struct evqueue *q)
{
	struct evqueue_entry *e = q->head;
	json_t *event;

	if (!e)
		return NULL;
	q->head = e->next;
	if (!q->head)
		q->tail = &q->head;
	q->count--;
	event = e->event;
	free(e);
	return event;
}

void evqueue_clear(struct evqueue *q)
{
	json_t *event;

	while ((event = evqueue_pop(q)))
		json_decref(event);
}
