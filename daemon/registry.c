/* registry.c -- an open-addressing (linear probing) hash table from series id
 * to slot, hashed with XXH3; deletion by backward shift, so no tombstones. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "error.h"

struct bucket {
	uint64_t hash;
	uint32_t slot_plus1;     /* 0: empty */
};

struct slot_entry {
	char *id;                /* owned copy, NUL-terminated; NULL: free slot */
	size_t len;
};

struct tc_registry {
	size_t max_series;
	size_t count;            /* live series */
	struct bucket *buckets;
	size_t n_buckets;        /* a power of two, kept at most half full */
	struct slot_entry *slots;
	size_t n_slots;          /* handed out so far */
	size_t slots_cap;
	uint32_t *free_slots;    /* stack of removed slots to reuse */
	size_t n_free;
};

struct tc_registry *tc_registry_create(size_t max_series, char *err)
{
	struct tc_registry *r = calloc(1, sizeof *r);
	if (!r) {
		goto err_oom;
	}
	r->max_series = max_series < UINT32_MAX ? max_series : UINT32_MAX - 1;
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
	for (size_t i = 0; i < r->n_slots; i++) {
		free(r->slots[i].id);
	}
	free(r->slots);
	free(r->free_slots);
	free(r->buckets);
	free(r);
	*rp = NULL;
}

static int same_id(const struct tc_registry *r, const struct bucket *b, uint64_t hash,
	const char *id, size_t len)
{
	const struct slot_entry *e = &r->slots[b->slot_plus1 - 1];
	return b->hash == hash && e->len == len && memcmp(e->id, id, len) == 0;
}

/* Index of id's bucket, or of the empty bucket where it would go. */
static size_t probe(const struct tc_registry *r, uint64_t hash, const char *id, size_t len)
{
	size_t mask = r->n_buckets - 1;
	size_t i = (size_t)hash & mask;
	while (r->buckets[i].slot_plus1 && !same_id(r, &r->buckets[i], hash, id, len)) {
		i = (i + 1) & mask;
	}
	return i;
}

int64_t tc_registry_find(const struct tc_registry *r, const char *id, size_t len)
{
	uint64_t hash = XXH3_64bits(id, len);
	const struct bucket *b = &r->buckets[probe(r, hash, id, len)];
	return b->slot_plus1 ? (int64_t)b->slot_plus1 - 1 : -1;
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
			size_t j = (size_t)r->buckets[i].hash & (n - 1);
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

/* A slot for a new series: a freed one, or the next never used. */
static int64_t take_slot(struct tc_registry *r)
{
	if (r->n_free) {
		return r->free_slots[--r->n_free];
	}
	if (r->n_slots == r->slots_cap) {
		size_t cap = r->slots_cap ? r->slots_cap * 2 : 64;
		struct slot_entry *s = realloc(r->slots, cap * sizeof *s);
		uint32_t *f = s ? realloc(r->free_slots, cap * sizeof *f) : NULL;
		if (s) {
			r->slots = s;
		}
		if (!f) {
			return -1;
		}
		r->free_slots = f;
		r->slots_cap = cap;
	}
	return (int64_t)r->n_slots++;
}

int64_t tc_registry_insert(struct tc_registry *r, const char *id, size_t len, int *created)
{
	uint64_t hash = XXH3_64bits(id, len);
	size_t i = probe(r, hash, id, len);
	*created = 0;
	if (r->buckets[i].slot_plus1) {
		return (int64_t)r->buckets[i].slot_plus1 - 1;
	}
	if (r->count >= r->max_series) {
		return -1;
	}
	if (2 * (r->count + 1) > r->n_buckets) {
		if (rehash(r) < 0) {
			return -1;
		}
		i = probe(r, hash, id, len);
	}
	char *copy = malloc(len + 1);
	int64_t slot = copy ? take_slot(r) : -1;
	if (slot < 0) {
		free(copy);
		return -1;
	}
	memcpy(copy, id, len);
	copy[len] = '\0';
	r->slots[slot] = (struct slot_entry){copy, len};
	r->buckets[i] = (struct bucket){hash, (uint32_t)slot + 1};
	r->count++;
	*created = 1;
	return slot;
}

void tc_registry_remove(struct tc_registry *r, uint32_t slot)
{
	if (slot >= r->n_slots || !r->slots[slot].id) {
		return;
	}
	struct slot_entry *e = &r->slots[slot];
	size_t mask = r->n_buckets - 1;
	size_t i = probe(r, XXH3_64bits(e->id, e->len), e->id, e->len);
	/* Backward shift: pull later members of the probe run into the hole. */
	for (size_t j = (i + 1) & mask; r->buckets[j].slot_plus1; j = (j + 1) & mask) {
		size_t home = (size_t)r->buckets[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			r->buckets[i] = r->buckets[j];
			i = j;
		}
	}
	r->buckets[i].slot_plus1 = 0;
	free(e->id);
	e->id = NULL;
	e->len = 0;
	r->free_slots[r->n_free++] = slot;
	r->count--;
}

const char *tc_registry_id(const struct tc_registry *r, uint32_t slot, size_t *len)
{
	if (slot >= r->n_slots || !r->slots[slot].id) {
		return NULL;
	}
	if (len) {
		*len = r->slots[slot].len;
	}
	return r->slots[slot].id;
}

size_t tc_registry_count(const struct tc_registry *r)
{
	return r->count;
}

size_t tc_registry_slots(const struct tc_registry *r)
{
	return r->n_slots;
}
