// SPDX-License-Identifier: MIT
/*
 * libscm: the persistent heap (layout and update protocol in
 * scm_internal.h).
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * Every function here runs with scm_mutex and the region lock held, and
 * the region mapped.
 * Allocation is first fit over the unit maps, starting at a per-extent
 * hint below which no unit is free; the maps are scanned a word (32
 * units) at a time. Nothing but the hints and counters is kept outside
 * the region, so a heap reopened after a crash needs no rebuild beyond
 * one pass over the maps. Another process that has the region open may
 * change the heap between two of our calls: every update bumps the lock
 * line's change count, and the next holder that sees it moved refreshes
 * its hints and counts from the maps (scm_heap_refresh()).
 */
#include <errno.h>
#include <string.h>

#include "scm_internal.h"

/* Bit 0 of every unit's 2-bit state. */
#define SCM_EVEN		0x5555555555555555ULL
#define SCM_NONE		UINT64_MAX

_Static_assert(sizeof(struct scm_extent) == 64, "scm_extent is one line");
_Static_assert(sizeof(struct scm_intent) == 64, "scm_intent is one line");
_Static_assert(offsetof(struct scm_heap_header, intent) == 64,
	       "intent at 64");
_Static_assert(offsetof(struct scm_heap_header, extents) == 128,
	       "extents at 128");
_Static_assert(offsetof(struct scm_heap_header, lock) == 1152,
	       "lock line at 1152");
_Static_assert(sizeof(struct scm_lock_line) == 64, "lock line is one line");
_Static_assert(sizeof(struct scm_heap_header) <= SCM_HEADER_BYTES,
	       "header fits its page");

#ifdef SCM_TESTING
void (*scm_test_hook)(enum scm_hook_point point);
#endif

struct scm_heap_header *scm_heap_header(const struct scm_region *r)
{
	return (struct scm_heap_header *)r->base;
}

/* A store the compiler keeps whole and in program order. */
static inline void scm_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline uint64_t scm_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline uint64_t scm_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void scm_heap_dirty(struct scm_region *r, uint64_t off, uint64_t len)
{
	if (r->dirty_lo >= r->dirty_hi) {
		r->dirty_lo = off;
		r->dirty_hi = off + len;
		return;
	}
	if (off < r->dirty_lo)
		r->dirty_lo = off;
	if (off + len > r->dirty_hi)
		r->dirty_hi = off + len;
}

/* Write metadata back from the caches and note it for the host flush. */
void scm_persist(struct scm_region *r, const void *p, size_t len)
{
	scm_flush_range(p, len);
	scm_heap_dirty(r, (const unsigned char *)p - r->base, len);
}

/* Bytes of a unit map for @units units (whole cache lines). */
static uint64_t scm_map_bytes(uint64_t units)
{
	return scm_align_up((units + SCM_UNITS_PER_WORD - 1) /
			    SCM_UNITS_PER_WORD * 8, SCM_UNIT_BYTES);
}

/*
 * The largest extent whose map starts at @off and whose data ends by
 * @end: sets *@data and returns its unit count (0 when nothing fits).
 */
static uint64_t scm_extent_geometry(uint64_t off, uint64_t end, uint64_t *data)
{
	uint64_t units = end > off ? (end - off) >> SCM_UNIT_SHIFT : 0;
	uint64_t d;

	for (;;) {
		d = scm_align_up(off + scm_map_bytes(units), SCM_UNIT_BYTES);
		if (d + (units << SCM_UNIT_SHIFT) <= end)
			break;
		/* the map only shrinks with the units: this ends at once */
		units = d < end ? (end - d) >> SCM_UNIT_SHIFT : 0;
	}
	*data = d;
	return units;
}

static inline uint64_t *scm_map(const struct scm_region *r,
				const struct scm_extent *e)
{
	return (uint64_t *)(r->base + e->map);
}

static inline unsigned int scm_unit_state(const uint64_t *map, uint64_t u)
{
	return (map[u / SCM_UNITS_PER_WORD] >>
		(2 * (u % SCM_UNITS_PER_WORD))) & 3;
}

/* What scm_map_next() looks for. */
enum scm_want {
	SCM_WANT_FREE,
	SCM_WANT_USED,
	SCM_WANT_NOT_BODY,
};

/* One bit (the even one) per unit of @w that is what @want asks for. */
static inline uint64_t scm_match(uint64_t w, enum scm_want want)
{
	switch (want) {
	case SCM_WANT_FREE:
		return ~(w | (w >> 1)) & SCM_EVEN;
	case SCM_WANT_USED:
		return (w | (w >> 1)) & SCM_EVEN;
	default:
		return ~(w & ~(w >> 1)) & SCM_EVEN;
	}
}

/* The first unit in [u, limit) that is what @want asks for, or limit. */
static uint64_t scm_map_next(const uint64_t *map, uint64_t u, uint64_t limit,
			     enum scm_want want)
{
	while (u < limit) {
		uint64_t w = u / SCM_UNITS_PER_WORD;
		uint64_t bits = scm_match(map[w], want) &
				(~0ULL << (2 * (u % SCM_UNITS_PER_WORD)));

		if (bits) {
			u = w * SCM_UNITS_PER_WORD + __builtin_ctzll(bits) / 2;
			return u < limit ? u : limit;
		}
		u = (w + 1) * SCM_UNITS_PER_WORD;
	}
	return limit;
}

/* First fit: the first run of @n free units at or after @from, or NONE. */
static uint64_t scm_find_run(const uint64_t *map, uint64_t from,
			     uint64_t units, uint64_t n)
{
	uint64_t u = from, end;

	for (;;) {
		u = scm_map_next(map, u, units, SCM_WANT_FREE);
		if (u >= units || units - u < n)
			return SCM_NONE;
		end = scm_map_next(map, u, u + n, SCM_WANT_USED);
		if (end == u + n)
			return u;
		u = end;
	}
}

/* Units of the block whose HEAD is @u. */
static uint64_t scm_block_units(const uint64_t *map, uint64_t u, uint64_t units)
{
	return scm_map_next(map, u + 1, units, SCM_WANT_NOT_BODY) - u;
}

/*
 * Rewrite the map of [@unit, @unit + @n) of extent @e: one block (HEAD,
 * then BODY) or free. Words are stored whole, lowest (the HEAD) first.
 */
static void scm_map_write(struct scm_region *r, struct scm_extent *e,
			  uint64_t unit, uint64_t n, bool alloc)
{
	uint64_t *map = scm_map(r, e);
	uint64_t end = unit + n;
	uint64_t first = unit / SCM_UNITS_PER_WORD;
	uint64_t last = (end - 1) / SCM_UNITS_PER_WORD;
	uint64_t w;

	for (w = first; w <= last; w++) {
		uint64_t base = w * SCM_UNITS_PER_WORD;
		uint64_t lo = unit > base ? unit : base;
		uint64_t hi = scm_min(end, base + SCM_UNITS_PER_WORD);
		unsigned int shift = 2 * (lo - base);
		uint64_t count = hi - lo;
		uint64_t mask = (count == SCM_UNITS_PER_WORD ? ~0ULL :
				 (1ULL << (2 * count)) - 1) << shift;
		uint64_t val = 0;

		if (alloc) {
			val = SCM_EVEN & mask;
			if (lo == unit)
				val |= SCM_UNIT_HEAD << shift;
		}
		scm_store(&map[w], (map[w] & ~mask) | val);
		scm_hook(SCM_HOOK_MAP_WORD);
	}
	scm_persist(r, &map[first], (last - first + 1) * sizeof(*map));
}

/*
 * The intent's check word. The destination fields count only when set, so
 * that an intent written by version 1 (without them) still checks.
 */
static uint64_t scm_intent_check(const struct scm_intent *in)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	const uint64_t v[] = { in->op, in->extent, in->unit, in->units,
			       in->used_before, in->dst, in->dst_old };
	unsigned int i, n = in->dst ? 7 : 5;

	/* splitmix64's finaliser over each field */
	for (i = 0; i < n; i++) {
		h ^= v[i];
		h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
		h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
		h ^= h >> 31;
	}
	return h;
}

static bool scm_intent_valid(const struct scm_intent *in)
{
	return (in->op == SCM_INTENT_ALLOC || in->op == SCM_INTENT_FREE) &&
	       in->check == scm_intent_check(in);
}

/* The heap changed: tell the other processes, keep our own view. */
void scm_heap_changed(struct scm_region *r)
{
	struct scm_lock_line *l = &scm_heap_header(r)->lock;
	uint64_t c = __atomic_load_n(&l->changes, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(&l->changes, c, __ATOMIC_RELEASE);
	r->changes_seen = c;
}

/*
 * One heap update: record the intent, rewrite the block's map, update
 * the extent's count, clear the intent (see scm_internal.h). @dst, when
 * not NULL, is the destination word: it receives the block's offset
 * (allocation) or 0 (free) as part of the update.
 */
static void scm_update(struct scm_region *r, unsigned int x, uint64_t unit,
		       uint64_t n, bool alloc, uint64_t *dst)
{
	struct scm_heap_header *h = scm_heap_header(r);
	struct scm_intent *in = &h->intent;
	struct scm_extent *e = &h->extents[x];
	uint64_t off = e->data + (unit << SCM_UNIT_SHIFT);

	in->extent = x;
	in->unit = unit;
	in->units = n;
	in->used_before = e->used;
	in->dst = dst ? (uint64_t)((unsigned char *)dst - r->base) : 0;
	in->dst_old = dst ? *dst : 0;
	scm_store(&in->op, alloc ? SCM_INTENT_ALLOC : SCM_INTENT_FREE);
	scm_store(&in->check, scm_intent_check(in));
	scm_persist(r, in, sizeof(*in));
	scm_heap_changed(r);
	scm_hook(SCM_HOOK_INTENT);

	/* a free clears the reference first: a crash never leaves it dangling */
	if (dst && !alloc) {
		scm_store(dst, 0);
		scm_persist(r, dst, sizeof(*dst));
	}
	scm_map_write(r, e, unit, n, alloc);
	scm_store(&e->used, alloc ? e->used + n : e->used - n);
	scm_persist(r, &e->used, sizeof(e->used));
	scm_hook(SCM_HOOK_MAP);
	if (dst && alloc) {
		scm_store(dst, off);
		scm_persist(r, dst, sizeof(*dst));
	}
	scm_hook(SCM_HOOK_DST);

	scm_store(&in->op, SCM_INTENT_NONE);
	scm_persist(r, in, sizeof(*in));
	scm_hook(SCM_HOOK_DONE);

	if (alloc) {
		r->used_units += n;
		if (r->hint[x] == unit)
			r->hint[x] = unit + n;
	} else {
		r->used_units -= n;
		if (unit < r->hint[x])
			r->hint[x] = unit;
	}
}

/* Extent @e lies inside this process's mapping of the region. */
static bool scm_extent_mapped(const struct scm_region *r,
			      const struct scm_extent *e)
{
	return e->data <= r->size &&
	       e->units <= (r->size - e->data) >> SCM_UNIT_SHIFT;
}

/*
 * Where a block of @size bytes would go: its extent, first unit and
 * units. Changes nothing. -1 with errno EINVAL (size 0) or ENOMEM.
 */
int scm_heap_find(struct scm_region *r, size_t size, unsigned int *xp,
		  uint64_t *up, uint64_t *np)
{
	struct scm_heap_header *h = scm_heap_header(r);
	uint64_t n, u;
	unsigned int x;

	if (!size) {
		errno = EINVAL;
		return -1;
	}
	if (size > r->size) {
		errno = ENOMEM;
		return -1;
	}
	n = ((uint64_t)size + SCM_UNIT_BYTES - 1) >> SCM_UNIT_SHIFT;
	for (x = 0; x < h->nr_extents; x++) {
		struct scm_extent *e = &h->extents[x];
		const uint64_t *map = scm_map(r, e);

		/* another process may have grown the region past our mapping */
		if (!scm_extent_mapped(r, e))
			continue;
		/* the first free unit is a hint as good as any, and better */
		r->hint[x] = scm_map_next(map, r->hint[x], e->units,
					  SCM_WANT_FREE);
		u = scm_find_run(map, r->hint[x], e->units, n);
		if (u == SCM_NONE)
			continue;
		*xp = x;
		*up = u;
		*np = n;
		return 0;
	}
	errno = ENOMEM;
	return -1;
}

/* Allocate what scm_heap_find() found, publishing it in @dst if set. */
void *scm_heap_commit_alloc(struct scm_region *r, unsigned int x,
			    uint64_t unit, uint64_t n, uint64_t *dst)
{
	struct scm_extent *e = &scm_heap_header(r)->extents[x];

	scm_update(r, x, unit, n, true, dst);
	return r->base + e->data + (unit << SCM_UNIT_SHIFT);
}

void *scm_heap_alloc(struct scm_region *r, size_t size)
{
	unsigned int x;
	uint64_t u, n;

	if (scm_heap_find(r, size, &x, &u, &n))
		return NULL;
	return scm_heap_commit_alloc(r, x, u, n, NULL);
}

void *scm_heap_alloc_into(struct scm_region *r, uint64_t *dst, size_t size)
{
	unsigned int x;
	uint64_t u, n;

	if (scm_heap_find(r, size, &x, &u, &n))
		return NULL;
	return scm_heap_commit_alloc(r, x, u, n, dst);
}

/*
 * [@off, @off + @len) lies inside the data of one extent (where blocks
 * are, not the metadata).
 */
bool scm_heap_data_range(const struct scm_region *r, uint64_t off,
			 uint64_t len)
{
	const struct scm_heap_header *h = scm_heap_header(r);
	unsigned int x;

	for (x = 0; x < h->nr_extents; x++) {
		const struct scm_extent *e = &h->extents[x];
		uint64_t end = e->data + (e->units << SCM_UNIT_SHIFT);

		if (!scm_extent_mapped(r, e))
			continue;
		if (off >= e->data && off < end && len <= end - off)
			return true;
	}
	return false;
}

/* Extent and HEAD unit of the block at @ptr; -1 (EINVAL) if none. */
static int scm_locate(const struct scm_region *r, const void *ptr,
		      unsigned int *xp, uint64_t *up)
{
	const struct scm_heap_header *h = scm_heap_header(r);
	const unsigned char *p = ptr;
	uint64_t off;
	unsigned int x;

	if (p < r->base || p >= r->base + r->size)
		goto bad;
	off = p - r->base;
	for (x = 0; x < h->nr_extents; x++) {
		const struct scm_extent *e = &h->extents[x];
		uint64_t u;

		if (!scm_extent_mapped(r, e) || off < e->data ||
		    off >= e->data + (e->units << SCM_UNIT_SHIFT))
			continue;
		if ((off - e->data) & (SCM_UNIT_BYTES - 1))
			goto bad;
		u = (off - e->data) >> SCM_UNIT_SHIFT;
		if (scm_unit_state(scm_map(r, e), u) != SCM_UNIT_HEAD)
			goto bad;
		*xp = x;
		*up = u;
		return 0;
	}
bad:
	errno = EINVAL;
	return -1;
}

/* As scm_locate(), with the block's units in *@np. */
int scm_heap_locate(const struct scm_region *r, const void *ptr,
		    unsigned int *xp, uint64_t *up, uint64_t *np)
{
	const struct scm_extent *e;

	if (scm_locate(r, ptr, xp, up))
		return -1;
	e = &scm_heap_header(r)->extents[*xp];
	*np = scm_block_units(scm_map(r, e), *up, e->units);
	return 0;
}

/* The block at @off has exactly @units units (rollback of a tx's alloc). */
bool scm_heap_block_at(struct scm_region *r, uint64_t off, uint64_t units)
{
	unsigned int x;
	uint64_t u, n;

	if (off >= r->size)
		return false;
	if (scm_heap_locate(r, r->base + off, &x, &u, &n))
		return false;
	return n == units;
}

static int scm_free_block(struct scm_region *r, void *ptr, uint64_t *dst)
{
	struct scm_heap_header *h = scm_heap_header(r);
	struct scm_extent *e;
	uint64_t u, n, off;
	unsigned int x;

	if (scm_heap_locate(r, ptr, &x, &u, &n))
		return -1;
	e = &h->extents[x];
	off = e->data + (u << SCM_UNIT_SHIFT);
	/* the root first: a crash then leaks the block, never dangles */
	if (h->root >= off && h->root < off + (n << SCM_UNIT_SHIFT)) {
		scm_store(&h->root, 0);
		scm_persist(r, &h->root, sizeof(h->root));
	}
	scm_update(r, x, u, n, false, dst);
	return 0;
}

int scm_heap_free(struct scm_region *r, void *ptr)
{
	return scm_free_block(r, ptr, NULL);
}

/* Free the block whose offset *@dst holds and clear *@dst, atomically. */
int scm_heap_free_from(struct scm_region *r, uint64_t *dst)
{
	if (*dst >= r->size) {
		errno = EINVAL;
		return -1;
	}
	return scm_free_block(r, r->base + *dst, dst);
}

size_t scm_heap_block_size(struct scm_region *r, const void *ptr)
{
	const struct scm_extent *e;
	unsigned int x;
	uint64_t u;

	if (scm_locate(r, ptr, &x, &u))
		return 0;
	e = &scm_heap_header(r)->extents[x];
	return scm_block_units(scm_map(r, e), u, e->units) << SCM_UNIT_SHIFT;
}

uint64_t scm_heap_used(const struct scm_region *r)
{
	return r->meta_bytes + (r->used_units << SCM_UNIT_SHIFT);
}

/* --- opening: format, validation, recovery, resizing --- */

static bool scm_all_zero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void scm_zero(struct scm_region *r, uint64_t off, uint64_t len)
{
	memset(r->base + off, 0, len);
	scm_persist(r, r->base + off, len);
}

/* A fresh heap over the whole region, made durable on the host. */
static int scm_heap_format(struct scm_region *r)
{
	struct scm_heap_header *h = scm_heap_header(r);
	struct scm_extent *e = &h->extents[0];
	uint64_t data, units;

	uint64_t lock = offsetof(struct scm_heap_header, lock);
	uint64_t after_lock = lock + sizeof(h->lock);

	scm_store(&h->magic, SCM_HEAP_FORMATTING);
	scm_persist(r, h, sizeof(h->magic));
	/* all but the lock line, which we hold */
	scm_zero(r, sizeof(h->magic), lock - sizeof(h->magic));
	scm_zero(r, after_lock, SCM_HEADER_BYTES - after_lock);

	units = scm_extent_geometry(SCM_HEADER_BYTES, r->size, &data);
	h->version = SCM_HEAP_VERSION;
	h->header_bytes = SCM_HEADER_BYTES;
	h->unit_bytes = SCM_UNIT_BYTES;
	h->max_extents = SCM_MAX_EXTENTS;
	e->map = SCM_HEADER_BYTES;
	e->data = data;
	e->units = units;
	e->capacity = units;
	e->used = 0;
	scm_zero(r, e->map, data - e->map);
	h->nr_extents = 1;
	scm_persist(r, h, SCM_HEADER_BYTES);

	scm_store(&h->magic, SCM_HEAP_MAGIC);
	scm_persist(r, h, sizeof(h->magic));
	scm_debug("formatted %s: %llu units of %u bytes", r->name,
		  (unsigned long long)units, SCM_UNIT_BYTES);
	if (scm_host_sync(r, r->dirty_lo, r->dirty_hi - r->dirty_lo))
		return -1;
	r->dirty_lo = r->dirty_hi = 0;
	return 0;
}

static int scm_corrupt(const char *why, unsigned long long a)
{
	scm_debug("heap not usable: %s (%llu)", why, a);
	errno = EUCLEAN;
	return -1;
}

/* Header fields and extent geometry, without reading any map. */
static int scm_validate_header(const struct scm_region *r)
{
	const struct scm_heap_header *h = scm_heap_header(r);
	uint64_t prev_end = SCM_HEADER_BYTES;
	unsigned int x;

	if (h->version < SCM_HEAP_VERSION_MIN ||
	    h->version > SCM_HEAP_VERSION) {
		scm_debug("heap version %u, libscm knows %u to %u", h->version,
			  SCM_HEAP_VERSION_MIN, SCM_HEAP_VERSION);
		errno = ENOTSUP;
		return -1;
	}
	if (h->header_bytes != SCM_HEADER_BYTES ||
	    h->unit_bytes != SCM_UNIT_BYTES ||
	    h->max_extents != SCM_MAX_EXTENTS)
		return scm_corrupt("header geometry", h->header_bytes);
	if (!h->nr_extents || h->nr_extents > SCM_MAX_EXTENTS)
		return scm_corrupt("extent count", h->nr_extents);
	for (x = 0; x < h->nr_extents; x++) {
		const struct scm_extent *e = &h->extents[x];

		if (e->map < prev_end || e->map % SCM_UNIT_BYTES ||
		    e->capacity > (UINT64_MAX >> (SCM_UNIT_SHIFT + 1)) ||
		    e->data < e->map + scm_map_bytes(e->capacity) ||
		    e->data % SCM_UNIT_BYTES || e->units > e->capacity ||
		    e->used > e->units || !e->capacity)
			return scm_corrupt("extent", x);
		prev_end = e->data + (e->capacity << SCM_UNIT_SHIFT);
	}
	return 0;
}

/* Extent @e's map lies inside the region. */
static bool scm_map_readable(const struct scm_region *r,
			     const struct scm_extent *e)
{
	return e->map + scm_map_bytes(e->capacity) <= r->size;
}

/* Units extent @x holds once a valid intent is recovered. */
static uint64_t scm_used_after_recovery(const struct scm_heap_header *h,
					unsigned int x)
{
	const struct scm_intent *in = &h->intent;

	if (!scm_intent_valid(in) || in->extent != x)
		return h->extents[x].used;
	return in->used_before - (in->op == SCM_INTENT_FREE ? in->units : 0);
}

/*
 * Read-only pass: the maps hold no invalid state, and the extents fit
 * the region or only free units (counting those of a valid intent as
 * free) lie beyond its end.
 */
static int scm_validate_maps(const struct scm_region *r)
{
	const struct scm_heap_header *h = scm_heap_header(r);
	const struct scm_intent *in = &h->intent;
	bool intent = scm_intent_valid(in);
	unsigned int x;

	if (intent && (in->extent >= h->nr_extents ||
		       in->units > h->extents[in->extent].units ||
		       in->unit > h->extents[in->extent].units - in->units ||
		       !in->units))
		return scm_corrupt("intent", in->extent);

	for (x = 0; x < h->nr_extents; x++) {
		const struct scm_extent *e = &h->extents[x];
		const uint64_t *map = scm_map(r, e);
		uint64_t w, u, fit;

		if (!scm_map_readable(r, e)) {
			/* wholly cut off: fine if nothing was allocated */
			if (scm_used_after_recovery(h, x))
				return scm_corrupt("allocated blocks beyond the region's end",
						   x);
			continue;
		}
		for (w = 0; w < (e->capacity + 31) / 32; w++)
			if (map[w] & ~(map[w] << 1) & (SCM_EVEN << 1))
				return scm_corrupt("invalid unit state in extent", x);
		fit = e->data >= r->size ? 0 :
		      scm_min(e->units, (r->size - e->data) >> SCM_UNIT_SHIFT);
		for (u = fit; u < e->units; u++) {
			u = scm_map_next(map, u, e->units, SCM_WANT_USED);
			if (u >= e->units)
				break;
			if (intent && in->extent == x && u >= in->unit &&
			    u < in->unit + in->units)
				continue;
			return scm_corrupt("allocated blocks beyond the region's end",
					   x);
		}
	}
	return 0;
}

/* Clear the units of an update a crash interrupted. */
static void scm_recover_intent(struct scm_region *r)
{
	struct scm_heap_header *h = scm_heap_header(r);
	struct scm_intent *in = &h->intent;
	struct scm_extent *e;

	if (!scm_intent_valid(in)) {
		if (in->op != SCM_INTENT_NONE) {
			scm_store(&in->op, SCM_INTENT_NONE);
			scm_persist(r, in, sizeof(*in));
		}
		return;
	}
	e = &h->extents[in->extent];
	scm_debug("completing an interrupted %s of %llu units at unit %llu",
		  in->op == SCM_INTENT_ALLOC ? "allocation (undo)" : "free",
		  (unsigned long long)in->units, (unsigned long long)in->unit);
	/* the destination: back to what it was, or cleared with the free */
	if (in->dst && in->dst <= r->size - sizeof(uint64_t) &&
	    !(in->dst % sizeof(uint64_t))) {
		uint64_t *dst = (uint64_t *)(r->base + in->dst);

		scm_store(dst, in->op == SCM_INTENT_ALLOC ? in->dst_old : 0);
		scm_persist(r, dst, sizeof(*dst));
	}
	if (scm_map_readable(r, e))
		scm_map_write(r, e, in->unit, in->units, false);
	scm_store(&e->used, scm_used_after_recovery(h, in->extent));
	scm_persist(r, &e->used, sizeof(e->used));
	scm_store(&in->op, SCM_INTENT_NONE);
	scm_persist(r, in, sizeof(*in));
	scm_heap_changed(r);
}

/* Follow the region's size: drop or cut extents past its end, then grow. */
static void scm_fit_region(struct scm_region *r)
{
	struct scm_heap_header *h = scm_heap_header(r);
	struct scm_extent *e;
	uint64_t data, units, off;

	/* shrink (scm_validate_maps() made sure the part cut off is free) */
	for (;;) {
		e = &h->extents[h->nr_extents - 1];
		if (e->data + (e->units << SCM_UNIT_SHIFT) <= r->size &&
		    scm_map_readable(r, e))
			break;
		units = e->data < r->size && scm_map_readable(r, e) ?
			(r->size - e->data) >> SCM_UNIT_SHIFT : 0;
		if (!units && h->nr_extents > 1) {
			scm_store(&h->nr_extents, h->nr_extents - 1);
			scm_persist(r, &h->nr_extents, sizeof(h->nr_extents));
			scm_debug("region shrank: extent %llu dropped",
				  (unsigned long long)h->nr_extents);
			continue;
		}
		scm_store(&e->units, scm_min(units, e->units));
		scm_persist(r, &e->units, sizeof(e->units));
		scm_debug("region shrank: last extent now %llu units",
			  (unsigned long long)e->units);
		break;
	}

	/* grow the last extent up to its map's capacity */
	e = &h->extents[h->nr_extents - 1];
	if (e->units < e->capacity && e->data < r->size) {
		units = scm_min(e->capacity, (r->size - e->data) >> SCM_UNIT_SHIFT);
		if (units > e->units) {
			scm_store(&e->units, units);
			scm_persist(r, &e->units, sizeof(e->units));
		}
	}
	/* then a new extent after it */
	off = e->data + (e->capacity << SCM_UNIT_SHIFT);
	if (h->nr_extents >= SCM_MAX_EXTENTS || off >= r->size ||
	    r->size - off < SCM_MIN_EXTENT)
		return;
	units = scm_extent_geometry(off, r->size, &data);
	e = &h->extents[h->nr_extents];
	memset(e, 0, sizeof(*e));
	e->map = off;
	e->data = data;
	e->units = units;
	e->capacity = units;
	scm_persist(r, e, sizeof(*e));
	scm_zero(r, off, data - off);
	scm_store(&h->nr_extents, h->nr_extents + 1);
	scm_persist(r, &h->nr_extents, sizeof(h->nr_extents));
	scm_debug("region grew: extent %llu of %llu units",
		  (unsigned long long)h->nr_extents - 1,
		  (unsigned long long)units);
}

/*
 * Free BODY units that follow no block (a torn host writeback can leave
 * them), recount every extent, set the hints and the counters.
 */
static void scm_scan(struct scm_region *r)
{
	struct scm_heap_header *h = scm_heap_header(r);
	unsigned int x;

	r->used_units = 0;
	r->meta_bytes = 0;
	for (x = 0; x < h->nr_extents; x++) {
		struct scm_extent *e = &h->extents[x];
		uint64_t *map = scm_map(r, e);
		uint64_t u = 0, used = 0, n;

		while ((u = scm_map_next(map, u, e->units, SCM_WANT_USED)) <
		       e->units) {
			n = scm_block_units(map, u, e->units);
			if (scm_unit_state(map, u) != SCM_UNIT_HEAD) {
				scm_debug("freeing %llu orphan units at %llu",
					  (unsigned long long)n,
					  (unsigned long long)u);
				scm_map_write(r, e, u, n, false);
			} else {
				used += n;
			}
			u += n;
		}
		if (e->used != used) {
			scm_store(&e->used, used);
			scm_persist(r, &e->used, sizeof(e->used));
		}
		r->used_units += used;
		r->hint[x] = scm_map_next(map, 0, e->units, SCM_WANT_FREE);
		r->meta_bytes += e->data - e->map;
	}
	r->meta_bytes += SCM_HEADER_BYTES;
}

/*
 * The region holds no heap yet: its header is all zero but for the lock
 * line (which a process waiting to format it may have written).
 */
bool scm_heap_looks_new(const struct scm_region *r)
{
	size_t lock = offsetof(struct scm_heap_header, lock);
	size_t after = lock + sizeof(struct scm_lock_line);

	return scm_all_zero(r->base, lock) &&
	       scm_all_zero(r->base + after, SCM_HEADER_BYTES - after);
}

/*
 * Before taking the lock, which writes to the header: the region holds a
 * heap, a format under way, or nothing. Foreign data is left untouched.
 */
bool scm_heap_magic_ok(const struct scm_region *r)
{
	uint64_t magic = scm_heap_header(r)->magic;

	return magic == SCM_HEAP_MAGIC || magic == SCM_HEAP_FORMATTING ||
	       (!magic && scm_heap_looks_new(r));
}

/* Counts and hints from the extents, after another process changed them. */
void scm_heap_refresh(struct scm_region *r)
{
	struct scm_heap_header *h = scm_heap_header(r);
	unsigned int x;

	r->used_units = 0;
	r->meta_bytes = SCM_HEADER_BYTES;
	for (x = 0; x < h->nr_extents && x < SCM_MAX_EXTENTS; x++) {
		r->used_units += h->extents[x].used;
		r->meta_bytes += h->extents[x].data - h->extents[x].map;
		r->hint[x] = 0;
	}
	r->changes_seen = __atomic_load_n(&h->lock.changes, __ATOMIC_ACQUIRE);
}

/*
 * Repair what a process that died holding the lock left: its update
 * (intent) and its transaction (undo log), then recount.
 */
void scm_heap_recover(struct scm_region *r)
{
	scm_recover_intent(r);
	if (scm_tx_recover(r))
		scm_debug("rolling back a transaction: %s", strerror(errno));
	scm_scan(r);
	scm_heap_changed(r);
}

int scm_heap_open(struct scm_region *r)
{
	struct scm_heap_header *h = scm_heap_header(r);

	r->dirty_lo = r->dirty_hi = 0;
	if (r->size < SCM_MIN_REGION) {
		scm_debug("%s: %zu bytes, libscm needs %u", r->name, r->size,
			  SCM_MIN_REGION);
		errno = EINVAL;
		return -1;
	}
	switch (h->magic) {
	case SCM_HEAP_MAGIC:
		break;
	case 0:
		if (!scm_heap_looks_new(r))
			return scm_corrupt("not a libscm heap", 0);
		/* fall through */
	case SCM_HEAP_FORMATTING:
		if (scm_heap_format(r))
			return -1;
		break;
	default:
		return scm_corrupt("not a libscm heap", h->magic);
	}
	if (scm_validate_header(r))
		return -1;
	if (!scm_map_readable(r, &h->extents[0])) {
		/* shrunk below the first map: only an empty heap starts again */
		unsigned int x;

		for (x = 0; x < h->nr_extents; x++)
			if (scm_used_after_recovery(h, x))
				return scm_corrupt("allocated blocks beyond the region's end",
						   x);
		scm_debug("region shrank below an empty heap: formatting");
		if (scm_heap_format(r))
			return -1;
	}
	if (scm_validate_maps(r) || scm_tx_validate(r))
		return -1;
	if (h->root >= r->size)
		return scm_corrupt("root outside the region", h->root);
	/* from here on the heap is ours to repair */
	if (h->version < SCM_HEAP_VERSION) {
		/* its reserved fields are zero: the version 2 defaults */
		__atomic_store_n(&h->version, SCM_HEAP_VERSION, __ATOMIC_RELEASE);
		scm_persist(r, &h->version, sizeof(h->version));
	}
	scm_recover_intent(r);
	scm_fit_region(r);
	scm_scan(r);
	if (scm_tx_recover(r))
		return -1;
	/*
	 * What open accepts, scm_check() accepts: a heap that the checks
	 * above let through but that is still inconsistent (found by
	 * tests/fuzz/fuzz-scm-heap) is refused, not handed to the caller.
	 */
	if (scm_heap_check(r))
		return -1;
	scm_heap_changed(r);
	return 0;
}

/* --- checking --- */

int scm_heap_check(struct scm_region *r)
{
	const struct scm_heap_header *h = scm_heap_header(r);
	uint64_t total = 0, prev_end = SCM_HEADER_BYTES;
	unsigned int x;

	if (h->magic != SCM_HEAP_MAGIC)
		return scm_corrupt("magic", h->magic);
	if (scm_validate_header(r))
		return -1;
	if (h->intent.op != SCM_INTENT_NONE)
		return scm_corrupt("intent left set", h->intent.op);
	if (h->root >= r->size)
		return scm_corrupt("root outside the region", h->root);
	for (x = 0; x < h->nr_extents; x++) {
		const struct scm_extent *e = &h->extents[x];
		const uint64_t *map = scm_map(r, e);
		uint64_t u, used = 0;
		unsigned int prev = SCM_UNIT_FREE;

		if (e->map < prev_end || !scm_map_readable(r, e) ||
		    e->data + (e->units << SCM_UNIT_SHIFT) > r->size)
			return scm_corrupt("extent outside the region", x);
		prev_end = e->data + (e->capacity << SCM_UNIT_SHIFT);
		for (u = 0; u < e->capacity; u++) {
			unsigned int s = scm_unit_state(map, u);

			if (s == SCM_UNIT_BAD)
				return scm_corrupt("invalid unit state at", u);
			if (s == SCM_UNIT_BODY && prev == SCM_UNIT_FREE)
				return scm_corrupt("orphan unit at", u);
			if (s != SCM_UNIT_FREE && u >= e->units)
				return scm_corrupt("unit in use past the extent's end",
						   u);
			used += s != SCM_UNIT_FREE;
			if (s == SCM_UNIT_FREE && u < r->hint[x])
				return scm_corrupt("free unit below the hint", u);
			prev = s;
		}
		if (used != e->used)
			return scm_corrupt("extent usage count", e->used);
		total += used;
	}
	if (total != r->used_units)
		return scm_corrupt("usage count", r->used_units);
	return 0;
}
