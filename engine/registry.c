/* registry.c -- series ids to slots: a linear-probing hash table over ids kept in an arena.
 *
 * Per series it holds a bucket (8 bytes, in a table kept at most 3/4 full),
 * a slot-table entry (4 bytes) and the id's record in the arena: a length
 * byte and the id's bytes, rounded up to 4-byte granules ("s123456": 8
 * bytes). A bucket holds the low 32 bits of
 * the id's XXH3 hash, its tag, and the slot; the home bucket is tag & mask,
 * so growing the table and deleting (by backward shift: no tombstones) need
 * no other id's hash. A tag match is confirmed against the id's bytes. The arena is
 * one array, grown by half when full (so registering an id may move every
 * id's bytes); a removed id's record goes on a free list for its size,
 * which the next id of that size takes. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "array.h"
#include "error.h"

/* The table's fullest: at 3/4, linear probing still ends within a cache
 * line or two of 8 buckets, and a table half the size of one kept half
 * full stays in cache better (docs/benchmarks.md, "Memory per series"). */
#define MAX_LOAD_NUM 3
#define MAX_LOAD_DEN 4
#define GRANULE 4                 /* bytes: the unit of an id record's size */
#define RECORD_MAX_GRANULES ((1 + TC_ID_MAX + GRANULE - 1) / GRANULE)
#define MIN_GRANULES 4096         /* the arena's first size: 16 KiB */
#define MAX_GRANULES ((uint32_t)1 << 31) /* the arena's limit: 8 GiB */
#define FREE_SLOT 0x80000000u     /* slot table: a free slot; the low bits link the next */
#define NO_SLOT 0x7fffffffu       /* the end of the free-slot list */
#define NO_RECORD UINT32_MAX      /* the end of a free-record list */

struct bucket {
	uint32_t tag;             /* low 32 bits of the id's XXH3 hash */
	uint32_t slot_plus1;      /* 0: empty */
};

struct tc_registry {
	size_t max_series;
	size_t count;             /* live series */
	size_t id_bytes;          /* the live ids' lengths, summed */
	struct bucket *buckets;
	size_t n_buckets;         /* a power of two */
	uint32_t *slot_ids;       /* [slots_cap]: the id's record (in granules), or FREE_SLOT | next */
	size_t n_slots;           /* handed out so far */
	size_t slots_cap;
	uint32_t free_slot;       /* the last slot removed, or NO_SLOT */
	uint8_t *arena;           /* [arena_cap granules]: the ids' records */
	uint32_t arena_cap;       /* granules */
	uint32_t arena_end;       /* granules handed out */
	uint32_t free_records[RECORD_MAX_GRANULES + 1]; /* by size in granules, linked */
};

struct tc_registry *tc_registry_create(size_t max_series, char *err)
{
	struct tc_registry *r = calloc(1, sizeof *r);
	if (!r) {
		goto err_oom;
	}
	r->max_series = max_series < NO_SLOT ? max_series : NO_SLOT;
	r->free_slot = NO_SLOT;
	memset(r->free_records, 0xff, sizeof r->free_records);
	r->n_buckets = 64;
	r->buckets = calloc(r->n_buckets, sizeof *r->buckets);
	if (!r->buckets) {
		goto err_oom;
	}
	return r;

err_oom:
	tc_registry_destroy(&r);
	tc_err_set(err, "out of memory for the series registry");
	return NULL;
}

void tc_registry_destroy(struct tc_registry **rp)
{
	if (!rp || !*rp) {
		return;
	}
	struct tc_registry *r = *rp;
	free(r->arena);
	free(r->slot_ids);
	free(r->buckets);
	free(r);
	*rp = NULL;
}

/* ---- the arena ---------------------------------------------------------- */

static uint8_t *record(const struct tc_registry *r, uint32_t at)
{
	return r->arena + (size_t)at * GRANULE;
}

static uint32_t record_granules(size_t len)
{
	return (uint32_t)((1 + len + GRANULE - 1) / GRANULE);
}

static void free_record(struct tc_registry *r, uint32_t at, uint32_t granules)
{
	memcpy(record(r, at), &r->free_records[granules], sizeof at);
	r->free_records[granules] = at;
}

/* A record of `granules`: a freed one of that size, or new. -1 when out of
 * memory or at the arena's limit. */
static int64_t take_record(struct tc_registry *r, uint32_t granules)
{
	uint32_t at = r->free_records[granules];
	if (at != NO_RECORD) {
		memcpy(&r->free_records[granules], record(r, at), sizeof at);
		return at;
	}
	if (r->arena_cap - r->arena_end < granules) {
		uint64_t cap = r->arena_cap ? (uint64_t)r->arena_cap + r->arena_cap / 2 : MIN_GRANULES;
		cap = cap < MAX_GRANULES ? cap : MAX_GRANULES;
		uint8_t *arena = cap - r->arena_end >= granules ? realloc(r->arena, cap * GRANULE) : NULL;
		if (!arena) {
			return -1;
		}
		r->arena = arena;
		r->arena_cap = (uint32_t)cap;
	}
	at = r->arena_end;
	r->arena_end += granules;
	return at;
}

/* ---- the table ---------------------------------------------------------- */

static uint32_t tag_of(const void *id, size_t len)
{
	return (uint32_t)XXH3_64bits(id, len);
}

static int same_id(const struct tc_registry *r, uint32_t slot, const char *id, size_t len)
{
	const uint8_t *rec = record(r, r->slot_ids[slot]);
	return rec[0] == len && memcmp(rec + 1, id, len) == 0;
}

/* Index of id's bucket, or of the empty bucket where it would go. Always
 * inlined: GCC would call it, and the call cost tc_registry_find a fifth
 * more instructions (cachegrind). */
static inline __attribute__((always_inline)) size_t probe(const struct tc_registry *r,
	uint32_t tag, const char *id, size_t len)
{
	const size_t mask = r->n_buckets - 1;
	size_t i = tag & mask;
	for (;; i = (i + 1) & mask) {
		const struct bucket *b = &r->buckets[i];
		if (!b->slot_plus1 || (b->tag == tag && same_id(r, b->slot_plus1 - 1, id, len))) {
			return i;
		}
	}
}

int64_t tc_registry_find(const struct tc_registry *r, const char *id, size_t len)
{
	if (len > TC_ID_MAX) {
		return -1;
	}
	const struct bucket *b = &r->buckets[probe(r, tag_of(id, len), id, len)];
	return (int64_t)b->slot_plus1 - 1;
}

static int rehash(struct tc_registry *r)
{
	size_t n = r->n_buckets * 2;
	struct bucket *grown = calloc(n, sizeof *grown);
	if (!grown) {
		return -1;
	}
	for (size_t i = 0; i < r->n_buckets; i++) {
		if (r->buckets[i].slot_plus1) {
			size_t j = r->buckets[i].tag & (n - 1);
			while (grown[j].slot_plus1) {
				j = (j + 1) & (n - 1);
			}
			grown[j] = r->buckets[i];
		}
	}
	free(r->buckets);
	r->buckets = grown;
	r->n_buckets = n;
	return 0;
}

/* A slot for a new series: the last one freed, or the next never used. */
static int64_t take_slot(struct tc_registry *r)
{
	if (r->free_slot != NO_SLOT) {
		uint32_t slot = r->free_slot;
		r->free_slot = r->slot_ids[slot] & ~FREE_SLOT;
		return slot;
	}
	if (r->n_slots == r->slots_cap) {
		size_t cap = r->slots_cap ? r->slots_cap + r->slots_cap / 2 : 64;
		if (tc_array_grow((void **)&r->slot_ids, cap, sizeof *r->slot_ids) < 0) {
			return -1;
		}
		r->slots_cap = cap;
	}
	return (int64_t)r->n_slots++;
}

/* Files id (not registered; tag its hash, bucket i where probe put it) in
 * slot, growing the table first when it is full enough. -1 when out of
 * memory. */
static int add(struct tc_registry *r, uint32_t slot, const char *id, size_t len, uint32_t tag,
	size_t i)
{
	if (MAX_LOAD_DEN * (r->count + 1) > MAX_LOAD_NUM * r->n_buckets) {
		if (rehash(r) < 0) {
			return -1;
		}
		i = probe(r, tag, id, len);
	}
	uint32_t granules = record_granules(len);
	int64_t at = take_record(r, granules);
	if (at < 0) {
		return -1;
	}
	uint8_t *rec = record(r, (uint32_t)at);
	rec[0] = (uint8_t)len;
	memcpy(rec + 1, id, len);
	r->slot_ids[slot] = (uint32_t)at;
	r->buckets[i] = (struct bucket){tag, slot + 1};
	r->count++;
	r->id_bytes += len;
	return 0;
}

int64_t tc_registry_insert(struct tc_registry *r, const char *id, size_t len, int *created)
{
	*created = 0;
	if (len > TC_ID_MAX) {
		return -1;
	}
	uint32_t tag = tag_of(id, len);
	size_t i = probe(r, tag, id, len);
	if (r->buckets[i].slot_plus1) {
		return (int64_t)r->buckets[i].slot_plus1 - 1;
	}
	if (r->count >= r->max_series) {
		return -1;
	}
	int64_t slot = take_slot(r);
	if (slot < 0) {
		return -1;
	}
	if (add(r, (uint32_t)slot, id, len, tag, i) < 0) {
		r->slot_ids[slot] = FREE_SLOT | r->free_slot;
		r->free_slot = (uint32_t)slot;
		return -1;
	}
	*created = 1;
	return slot;
}

int tc_registry_restore_slots(struct tc_registry *r, size_t n_slots, const uint32_t *free_order,
	size_t n_free, char *err)
{
	if (r->count || r->n_slots) {
		return tc_err_set(err, "the registry is not empty");
	}
	if (n_slots > r->max_series + n_free || n_free > n_slots) {
		return tc_err_set(err, "%zu slots with %zu free is more than the %zu series allowed",
			n_slots, n_free, r->max_series);
	}
	size_t cap = n_slots ? n_slots : 1;
	if (tc_array_grow((void **)&r->slot_ids, cap, sizeof *r->slot_ids) < 0) {
		return tc_err_set(err, "out of memory for %zu series slots", n_slots);
	}
	r->slots_cap = cap;
	r->n_slots = n_slots;
	for (size_t slot = 0; slot < n_slots; slot++) {
		r->slot_ids[slot] = FREE_SLOT | NO_SLOT; /* no id; tc_registry_place gives one */
	}
	/* Linked from the last to the first, so that the first is taken first. */
	for (size_t k = n_free; k-- > 0;) {
		if (free_order[k] >= n_slots) {
			return tc_err_set(err, "free slot %u is out of range", free_order[k]);
		}
		r->slot_ids[free_order[k]] = FREE_SLOT | r->free_slot;
		r->free_slot = free_order[k];
	}
	return 0;
}

int tc_registry_place(struct tc_registry *r, uint32_t slot, const char *id, size_t len,
	char *err)
{
	if (slot >= r->n_slots || tc_registry_id(r, slot, NULL)) {
		return tc_err_set(err, "slot %u is %s", slot, slot >= r->n_slots ? "out of range"
			: "taken already");
	}
	if (len > TC_ID_MAX) {
		return tc_err_set(err, "the id in slot %u is %zu bytes, over %d", slot, len, TC_ID_MAX);
	}
	uint32_t tag = tag_of(id, len);
	size_t i = probe(r, tag, id, len);
	if (r->buckets[i].slot_plus1) {
		return tc_err_set(err, "the id in slot %u is also in slot %u", slot,
			r->buckets[i].slot_plus1 - 1);
	}
	if (add(r, slot, id, len, tag, i) < 0) {
		return tc_err_set(err, "out of memory for the series registry");
	}
	return 0;
}

size_t tc_registry_free_order(const struct tc_registry *r, uint32_t *out)
{
	size_t n = 0;
	for (uint32_t slot = r->free_slot; slot != NO_SLOT; slot = r->slot_ids[slot] & ~FREE_SLOT) {
		out[n++] = slot;
	}
	return n;
}

void tc_registry_remove(struct tc_registry *r, uint32_t slot)
{
	size_t len;
	const char *id = tc_registry_id(r, slot, &len);
	if (!id) {
		return;
	}
	const size_t mask = r->n_buckets - 1;
	size_t i = probe(r, tag_of(id, len), id, len);
	/* Backward shift: pull later members of the probe run into the hole. */
	for (size_t j = (i + 1) & mask; r->buckets[j].slot_plus1; j = (j + 1) & mask) {
		size_t home = r->buckets[j].tag & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			r->buckets[i] = r->buckets[j];
			i = j;
		}
	}
	r->buckets[i].slot_plus1 = 0;
	free_record(r, r->slot_ids[slot], record_granules(len));
	r->slot_ids[slot] = FREE_SLOT | r->free_slot;
	r->free_slot = slot;
	r->count--;
	r->id_bytes -= len;
}

const char *tc_registry_id(const struct tc_registry *r, uint32_t slot, size_t *len)
{
	if (slot >= r->n_slots || (r->slot_ids[slot] & FREE_SLOT)) {
		return NULL;
	}
	const uint8_t *rec = record(r, r->slot_ids[slot]);
	if (len) {
		*len = rec[0];
	}
	return (const char *)rec + 1;
}

size_t tc_registry_count(const struct tc_registry *r)
{
	return r->count;
}

size_t tc_registry_id_bytes(const struct tc_registry *r)
{
	return r->id_bytes;
}

size_t tc_registry_slots(const struct tc_registry *r)
{
	return r->n_slots;
}

void tc_registry_memory(const struct tc_registry *r, size_t *table, size_t *ids)
{
	*table = r->n_buckets * sizeof *r->buckets;
	*ids = r->slots_cap * sizeof *r->slot_ids + (size_t)r->arena_cap * GRANULE;
}
