// SPDX-License-Identifier: MIT
/*
 * libscm: undo-log transactions.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The log is one heap block (its offset in the header's txlog field),
 * allocated at the first scm_tx_begin(): a 64-byte head, then entries.
 * The head's state word is the transaction number << 2 | IDLE, ACTIVE or
 * COMMITTED, one 64-bit store, never torn. Entries carry the number of
 * their transaction, a link to the previous entry (rollback walks them
 * backwards) and a check word over their fields and data, so that stale
 * entries of an earlier transaction and an entry torn by a host crash
 * end the walk. Kinds:
 *
 *   DATA   a snapshot of a range (scm_tx_add()): the bytes as they were
 *   ALLOC  a block the transaction allocates: freed on rollback
 *   FREE   a block the transaction frees: freed only at commit
 *
 * Ordering, where "durable" means written back from the CPU caches and
 * flushed by the host (CSCM_IOC_SYNC, msync on a file):
 *
 *   begin:   state = n | ACTIVE (durable with the first entry)
 *   add:     entry written, durable; only then may the caller modify the
 *            range (scm_tx_add() returns)
 *   alloc:   ALLOC entry durable, then the heap update
 *   commit:  every DATA range, every ALLOC block, the log and the heap
 *            metadata durable;
 *            then the commit point: state = n | IDLE, durable (or, with
 *            frees, n | COMMITTED, durable, the frees, durable, IDLE)
 *   abort and recovery of ACTIVE: restore every DATA range from the last
 *            entry back to the first, free every ALLOC block, make that
 *            durable, then state = n | IDLE
 *   recovery of COMMITTED: do the frees again (those done are skipped),
 *            then IDLE
 *
 * Every step of rollback and recovery may be repeated after another
 * crash with the same result. A crash before the commit point rolls the
 * transaction back whole; after it, the commit stands whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/vssd_scm.h>

#include "scm.h"
#include "scm_internal.h"

enum scm_txe_kind {
	SCM_TXE_DATA = 1,
	SCM_TXE_ALLOC,
	SCM_TXE_FREE,
};

/* One log entry; a DATA entry's bytes follow, padded to 8. */
struct scm_txentry {
	/* Transaction number << 8 | kind. */
	uint64_t tag;
	/* DATA: region offset and bytes; ALLOC, FREE: block offset, units. */
	uint64_t off;
	uint64_t len;
	/* Log offset of the previous entry of the transaction; 0: none. */
	uint64_t prev;
	/* scm_txentry_check(); written last. */
	uint64_t check;
};

#define SCM_TXLOG_HEAD		sizeof(struct scm_txlog_head)
/* The log's size: a 16th of the region, within these bounds. */
#define SCM_TXLOG_MIN		1024
#define SCM_TXLOG_MAX		(256 * 1024)

_Static_assert(sizeof(struct scm_txlog_head) == 64, "log head is one line");
_Static_assert(sizeof(struct scm_txentry) % 8 == 0, "entries 8-aligned");

static uint64_t scm_align8(uint64_t v)
{
	return (v + 7) & ~7ULL;
}

static uint64_t scm_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* Bytes of an entry in the log. */
static uint64_t scm_txentry_bytes(const struct scm_txentry *e)
{
	uint64_t data = (e->tag & 0xff) == SCM_TXE_DATA ? e->len : 0;

	return sizeof(*e) + scm_align8(data);
}

static uint64_t scm_txentry_check(const struct scm_txentry *e)
{
	const uint64_t *data = (const uint64_t *)(e + 1);
	uint64_t h = 0x2545f4914f6cdd1dULL, i, words;

	h = scm_mix(h, e->tag);
	h = scm_mix(h, e->off);
	h = scm_mix(h, e->len);
	h = scm_mix(h, e->prev);
	words = (scm_txentry_bytes(e) - sizeof(*e)) / 8;
	for (i = 0; i < words; i++)
		h = scm_mix(h, data[i]);
	return h;
}

/* The log block's offset and size (0 when there is none yet). */
uint64_t scm_tx_log_block(const struct scm_region *r, uint64_t *bytes)
{
	const struct scm_heap_header *h = scm_heap_header(r);
	const struct scm_txlog_head *head;

	*bytes = 0;
	if (!h->txlog)
		return 0;
	head = (const struct scm_txlog_head *)(r->base + h->txlog);
	*bytes = head->bytes;
	return h->txlog;
}

static struct scm_txlog_head *scm_txlog(const struct scm_region *r)
{
	uint64_t off = scm_heap_header(r)->txlog;

	return off ? (struct scm_txlog_head *)(r->base + off) : NULL;
}

static struct scm_txentry *scm_txentry_at(struct scm_txlog_head *head,
					  uint64_t pos)
{
	return (struct scm_txentry *)((unsigned char *)head + pos);
}

/* The calling thread has a transaction open. */
bool scm_tx_mine(const struct scm_region *r)
{
	return r->tx.open && pthread_equal(r->tx.thread, pthread_self());
}

/*
 * At open, before anything is written: the log's offset is sane. An
 * allocation of the log that a crash interrupted is undone by the intent
 * recovery; a head not yet written is written by scm_tx_recover().
 */
int scm_tx_validate(const struct scm_region *r)
{
	const struct scm_heap_header *h = scm_heap_header(r);
	const struct scm_txlog_head *head;

	if (!h->txlog)
		return 0;
	if (h->intent.dst == offsetof(struct scm_heap_header, txlog) &&
	    h->intent.op == SCM_INTENT_ALLOC)
		return 0;
	if (h->txlog % SCM_UNIT_BYTES || h->txlog < SCM_HEADER_BYTES ||
	    h->txlog > r->size - SCM_TXLOG_HEAD)
		goto bad;
	head = (const struct scm_txlog_head *)(r->base + h->txlog);
	if (head->magic == SCM_TXLOG_MAGIC &&
	    (head->bytes < 2 * SCM_TXLOG_HEAD ||
	     !scm_heap_data_range(r, h->txlog, head->bytes)))
		goto bad;
	return 0;
bad:
	scm_debug("heap not usable: undo log at %llu",
		  (unsigned long long)h->txlog);
	errno = EUCLEAN;
	return -1;
}

/* Write a new log head over the block at @off of @bytes, idle. */
static void scm_txlog_init(struct scm_region *r, uint64_t off, uint64_t bytes)
{
	struct scm_txlog_head *head = (struct scm_txlog_head *)(r->base + off);

	memset(head, 0, sizeof(*head));
	head->bytes = bytes;
	head->state = SCM_TX_IDLE;
	__atomic_store_n(&head->magic, SCM_TXLOG_MAGIC, __ATOMIC_RELEASE);
	scm_persist(r, head, sizeof(*head));
}

/*
 * The valid entry at @pos of transaction @gen whose previous entry is at
 * @prev, or NULL: the walk ends there.
 */
static struct scm_txentry *scm_txentry_valid(const struct scm_region *r,
					     struct scm_txlog_head *head,
					     uint64_t gen, uint64_t pos,
					     uint64_t prev)
{
	struct scm_txentry *e;
	unsigned int kind;

	if (pos + sizeof(*e) > head->bytes)
		return NULL;
	e = scm_txentry_at(head, pos);
	kind = e->tag & 0xff;
	if (e->tag >> 8 != (gen & (UINT64_MAX >> 8)) || e->prev != prev ||
	    kind < SCM_TXE_DATA || kind > SCM_TXE_FREE)
		return NULL;
	if (kind == SCM_TXE_DATA &&
	    (e->len > head->bytes - pos - sizeof(*e) || e->off > r->size ||
	     e->len > r->size - e->off))
		return NULL;
	if (e->check != scm_txentry_check(e))
		return NULL;
	return e;
}

/* Log offset of the last valid entry of transaction @gen (0: none). */
static uint64_t scm_txlog_last(const struct scm_region *r,
			       struct scm_txlog_head *head, uint64_t gen)
{
	uint64_t pos = SCM_TXLOG_HEAD, prev = 0;
	struct scm_txentry *e;

	while ((e = scm_txentry_valid(r, head, gen, pos, prev)) != NULL) {
		prev = pos;
		pos += scm_txentry_bytes(e);
	}
	return prev;
}

/* Set the log's state (write-back, not yet durable on the host). */
static void scm_txlog_state(struct scm_region *r, struct scm_txlog_head *head,
			    uint64_t gen, unsigned int state)
{
	__atomic_store_n(&head->state, gen << 2 | state, __ATOMIC_RELEASE);
	scm_persist(r, &head->state, sizeof(head->state));
}

/* Make the log head durable on the host. */
static int scm_txlog_sync_head(struct scm_region *r,
			       struct scm_txlog_head *head)
{
	return scm_host_sync(r, (unsigned char *)head - r->base,
			     sizeof(*head));
}

/*
 * Undo transaction @gen from entry @last back to the first: restore the
 * DATA ranges, free the ALLOC blocks, make that durable, then mark the
 * log idle.
 */
static int scm_tx_rollback(struct scm_region *r, struct scm_txlog_head *head,
			   uint64_t gen, uint64_t last)
{
	struct scm_txentry *e;
	uint64_t pos;

	for (pos = last; pos; pos = e->prev) {
		e = scm_txentry_at(head, pos);
		switch (e->tag & 0xff) {
		case SCM_TXE_DATA:
			memcpy(r->base + e->off, e + 1, e->len);
			scm_persist(r, r->base + e->off, e->len);
			break;
		case SCM_TXE_ALLOC:
			/* not there if the crash came before the update */
			if (scm_heap_block_at(r, e->off, e->len))
				scm_heap_free(r, r->base + e->off);
			break;
		}
		scm_hook(SCM_HOOK_TX_RESTORED);
	}
	/* the old contents must be on the host before the log says idle */
	if (scm_sync_metadata(r))
		return -1;
	scm_txlog_state(r, head, gen, SCM_TX_IDLE);
	scm_heap_changed(r);
	scm_hook(SCM_HOOK_TX_ENDED);
	return 0;
}

/* Do the deferred frees of transaction @gen (again: done ones skipped). */
static int scm_tx_do_frees(struct scm_region *r, struct scm_txlog_head *head,
			   uint64_t last)
{
	struct scm_txentry *e;
	uint64_t pos;

	for (pos = last; pos; pos = e->prev) {
		e = scm_txentry_at(head, pos);
		if ((e->tag & 0xff) == SCM_TXE_FREE &&
		    scm_heap_block_at(r, e->off, e->len))
			scm_heap_free(r, r->base + e->off);
	}
	return scm_sync_metadata(r);
}

/*
 * At open or after taking the lock over from a dead process: finish the
 * transaction it left. Also writes the head of a log whose allocation
 * completed but whose head was never written.
 */
int scm_tx_recover(struct scm_region *r)
{
	struct scm_txlog_head *head = scm_txlog(r);
	uint64_t state, gen, last;
	unsigned int x;
	uint64_t u, n;

	if (!head)
		return 0;
	if (head->magic != SCM_TXLOG_MAGIC) {
		if (scm_heap_locate(r, head, &x, &u, &n)) {
			errno = EUCLEAN;
			return -1;
		}
		scm_txlog_init(r, (unsigned char *)head - r->base,
			       n << SCM_UNIT_SHIFT);
		return 0;
	}
	state = head->state;
	gen = state >> 2;
	if ((state & 3) == SCM_TX_IDLE)
		return 0;
	last = scm_txlog_last(r, head, gen);
	if ((state & 3) == SCM_TX_COMMITTED) {
		scm_debug("finishing committed transaction %llu",
			  (unsigned long long)gen);
		if (scm_tx_do_frees(r, head, last))
			return -1;
		scm_txlog_state(r, head, gen, SCM_TX_IDLE);
		scm_heap_changed(r);
		return 0;
	}
	scm_debug("rolling back transaction %llu", (unsigned long long)gen);
	return scm_tx_rollback(r, head, gen, last);
}

/* The log, allocated (and published in the header) on first use. */
static struct scm_txlog_head *scm_txlog_get(struct scm_region *r)
{
	struct scm_heap_header *h = scm_heap_header(r);
	uint64_t bytes = r->size / 16;

	if (h->txlog)
		return scm_txlog(r);
	bytes = bytes < SCM_TXLOG_MIN ? SCM_TXLOG_MIN :
		bytes > SCM_TXLOG_MAX ? SCM_TXLOG_MAX : bytes;
	bytes &= ~(uint64_t)(SCM_UNIT_BYTES - 1);
	if (!scm_heap_alloc_into(r, &h->txlog, bytes))
		return NULL;
	scm_txlog_init(r, h->txlog, bytes);
	/* once per heap: the log and its offset on the host now */
	if (scm_sync_metadata(r))
		return NULL;
	return scm_txlog(r);
}

/* Begin a transaction for the calling thread (region lock held). */
int scm_tx_start(struct scm_region *r)
{
	struct scm_txlog_head *head;
	uint64_t gen;

	if (r->tx.open) {
		errno = EBUSY;	/* ours: scm_enter() waits for others' */
		return -1;
	}
	head = scm_txlog_get(r);
	if (!head)
		return -1;
	/* a rollback of ours whose host flush failed is still pending */
	if ((head->state & 3) != SCM_TX_IDLE && scm_tx_recover(r))
		return -1;
	gen = (head->state >> 2) + 1;
	scm_txlog_state(r, head, gen, SCM_TX_ACTIVE);
	memset(&r->tx, 0, sizeof(r->tx));
	r->tx.open = true;
	r->tx.thread = pthread_self();
	r->tx.gen = gen;
	scm_hook(SCM_HOOK_TX_BEGUN);
	return 0;
}

/* A DATA entry of this transaction already holds [off, off + len). */
static bool scm_tx_covered(struct scm_region *r, struct scm_txlog_head *head,
			   uint64_t off, uint64_t len)
{
	struct scm_txentry *e;
	uint64_t pos;

	for (pos = r->tx.last; pos; pos = e->prev) {
		e = scm_txentry_at(head, pos);
		if ((e->tag & 0xff) == SCM_TXE_DATA && off >= e->off &&
		    off + len <= e->off + e->len)
			return true;
	}
	return false;
}

/*
 * Append an entry (and make it durable): @data, when set, is its
 * snapshot of @len bytes. ENOSPC when the log is full, nothing changed.
 */
static int scm_tx_append(struct scm_region *r, unsigned int kind,
			 uint64_t off, uint64_t len, const void *data)
{
	struct scm_txlog_head *head = scm_txlog(r);
	uint64_t pos = SCM_TXLOG_HEAD + r->tx.tail, sync_from;
	uint64_t bytes = sizeof(struct scm_txentry) + (data ? scm_align8(len) : 0);
	struct scm_txentry *e;

	if (bytes > head->bytes || pos > head->bytes - bytes) {
		errno = ENOSPC;
		return -1;
	}
	e = scm_txentry_at(head, pos);
	if (data) {
		memcpy(e + 1, data, len);
		memset((unsigned char *)(e + 1) + len, 0,
		       bytes - sizeof(*e) - len);
	}
	e->off = off;
	e->len = len;
	e->prev = r->tx.last;
	e->tag = r->tx.gen << 8 | kind;
	__atomic_store_n(&e->check, scm_txentry_check(e), __ATOMIC_RELEASE);
	scm_flush_range(e, bytes);
	scm_hook(SCM_HOOK_TX_ENTRY);
	/* the first entry takes the ACTIVE state to the host with it */
	sync_from = r->tx.head_synced ? (uint64_t)((unsigned char *)e - r->base) :
					(uint64_t)((unsigned char *)head - r->base);
	if (scm_host_sync(r, sync_from,
			  (uint64_t)((unsigned char *)e - r->base) + bytes -
			  sync_from))
		return -1;
	r->tx.head_synced = true;
	r->tx.last = pos;
	r->tx.tail += bytes;
	scm_hook(SCM_HOOK_TX_ADDED);
	return 0;
}

/* Snapshot [off, off + len) of the region into the log (durable). */
int scm_tx_snapshot(struct scm_region *r, uint64_t off, uint64_t len)
{
	struct scm_txlog_head *head = scm_txlog(r);

	if (scm_tx_covered(r, head, off, len))
		return 0;
	return scm_tx_append(r, SCM_TXE_DATA, off, len, r->base + off);
}

/* Record that the transaction allocates @n units at @unit of extent @x. */
int scm_tx_log_alloc(struct scm_region *r, unsigned int x, uint64_t unit,
		     uint64_t n)
{
	const struct scm_extent *e = &scm_heap_header(r)->extents[x];

	return scm_tx_append(r, SCM_TXE_ALLOC,
			     e->data + (unit << SCM_UNIT_SHIFT), n, NULL);
}

/*
 * Record that the transaction frees the block at @off (@n units), done
 * at commit. EINVAL if it frees it already.
 */
int scm_tx_log_free(struct scm_region *r, uint64_t off, uint64_t n)
{
	struct scm_txlog_head *head = scm_txlog(r);
	struct scm_txentry *e;
	uint64_t pos;

	for (pos = r->tx.last; pos; pos = e->prev) {
		e = scm_txentry_at(head, pos);
		if ((e->tag & 0xff) == SCM_TXE_FREE && e->off == off) {
			errno = EINVAL;
			return -1;
		}
	}
	if (scm_tx_append(r, SCM_TXE_FREE, off, n, NULL))
		return -1;
	r->tx.frees++;
	return 0;
}

/* [off, off + len) overlaps the log block. */
bool scm_tx_in_log(const struct scm_region *r, uint64_t off, uint64_t len)
{
	uint64_t bytes, log = scm_tx_log_block(r, &bytes);

	return log && off < log + bytes && off + len > log;
}

/*
 * The ranges a commit makes durable: every DATA range, every block the
 * transaction allocated, the used part of the log. Returns how many
 * (*@out, malloc'd), or -1 (ENOMEM).
 */
static int scm_tx_ranges(struct scm_region *r, struct scm_txlog_head *head,
			 struct cscm_range **out)
{
	struct cscm_range *v;
	struct scm_txentry *e;
	uint64_t pos;
	int n = 0;

	v = malloc((r->tx.tail / sizeof(*e) + 1) * sizeof(*v));
	if (!v)
		return -1;
	for (pos = r->tx.last; pos; pos = e->prev) {
		uint64_t len;

		e = scm_txentry_at(head, pos);
		switch (e->tag & 0xff) {
		case SCM_TXE_DATA:
			len = e->len;
			break;
		case SCM_TXE_ALLOC:
			/* what the caller wrote into its new blocks */
			len = e->len << SCM_UNIT_SHIFT;
			break;
		default:
			continue;
		}
		scm_flush_range(r->base + e->off, len);
		v[n].offset = e->off;
		v[n++].length = len;
	}
	v[n].offset = (unsigned char *)head - r->base;
	v[n++].length = SCM_TXLOG_HEAD + r->tx.tail;
	*out = v;
	return n;
}

/* Step 1 of a commit: the data, the log and the heap metadata durable. */
static int scm_tx_sync_all(struct scm_region *r, struct scm_txlog_head *head)
{
	struct cscm_range *v;
	int n, ret;

	n = scm_tx_ranges(r, head, &v);
	if (n < 0) {
		/* no memory for the list: flush the whole region instead */
		scm_flush_range(r->base, r->size);
		return scm_host_sync(r, 0, r->size);
	}
	ret = scm_host_syncv(r, v, n);
	free(v);
	if (ret)
		return -1;
	return scm_sync_metadata(r);
}

static void scm_tx_close(struct scm_region *r)
{
	memset(&r->tx, 0, sizeof(r->tx));
}

/* Commit the calling thread's transaction (region lock held). */
int scm_tx_finish(struct scm_region *r)
{
	struct scm_txlog_head *head = scm_txlog(r);
	uint64_t gen = r->tx.gen;
	int saved;

	if (scm_tx_sync_all(r, head)) {
		saved = errno;
		scm_tx_rollback(r, head, gen, r->tx.last);
		scm_tx_close(r);
		errno = saved;
		return -1;
	}
	scm_hook(SCM_HOOK_TX_SYNCED);
	if (r->tx.frees) {
		scm_txlog_state(r, head, gen, SCM_TX_COMMITTED);
		if (scm_txlog_sync_head(r, head))
			goto failed;
		scm_hook(SCM_HOOK_TX_COMMITTED);
		if (scm_tx_do_frees(r, head, r->tx.last))
			goto failed;
		scm_hook(SCM_HOOK_TX_FREED);
		/* a host crash that loses this idle state repeats the frees */
		scm_txlog_state(r, head, gen, SCM_TX_IDLE);
	} else {
		scm_txlog_state(r, head, gen, SCM_TX_IDLE);
		if (scm_txlog_sync_head(r, head))
			goto failed;
		scm_hook(SCM_HOOK_TX_COMMITTED);
	}
	scm_heap_changed(r);
	scm_tx_close(r);
	scm_hook(SCM_HOOK_TX_ENDED);
	return 0;
failed:
	/* committed in memory, not known to be on the host */
	saved = errno;
	scm_heap_changed(r);
	scm_tx_close(r);
	errno = saved;
	return -1;
}

/* Roll the calling thread's transaction back (region lock held). */
int scm_tx_cancel(struct scm_region *r)
{
	int ret = scm_tx_rollback(r, scm_txlog(r), r->tx.gen, r->tx.last);

	scm_tx_close(r);
	return ret;
}
