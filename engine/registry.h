/* registry.h -- series ids to state slots, and back.
 *
 * A slot is a dense index into the state store, handed out on a series'
 * first reading; removed series give their slot back for reuse, so slots
 * stay below the peak number of live series. At most `max_series` live at
 * once; an insert over the limit fails and the existing series keep working.
 * Ids are 0..TC_ID_MAX bytes, any bytes (the wire formats check them). */
#ifndef TC_REGISTRY_H
#define TC_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "series_id.h"

struct tc_registry;

/* A registry for up to max_series live series (at most 2^31 - 1). NULL and
 * err when out of memory; the result is the caller's, released with
 * tc_registry_destroy. */
struct tc_registry *tc_registry_create(size_t max_series, char *err);

/* Frees *r and sets it to NULL; NULL or *r == NULL is a no-op. */
void tc_registry_destroy(struct tc_registry **r);

/* The slot of series id (len bytes), or -1 when it is not registered. */
int64_t tc_registry_find(const struct tc_registry *r, const char *id, size_t len);

/* The slot of id, registering it when new (*created = 1). Returns -1 when
 * it is new and max_series are live, it is over TC_ID_MAX bytes,
 * or memory ran out. */
int64_t tc_registry_insert(struct tc_registry *r, const char *id, size_t len, int *created);

/* Unregisters the series in slot (a no-op for a free slot). */
void tc_registry_remove(struct tc_registry *r, uint32_t slot);

/* The id in slot and its length, or NULL for a free slot. Borrowed, not
 * NUL-terminated, valid until the next insert or the slot's removal (ids
 * are packed in one array, which registering an id may move). */
const char *tc_registry_id(const struct tc_registry *r, uint32_t slot, size_t *len);

/* The free slots (below tc_registry_slots) in the order inserts will take
 * them again, out[0] first; returns how many: slots - count. */
size_t tc_registry_free_order(const struct tc_registry *r, uint32_t *out);

/* Restoring a checkpoint: gives an empty registry n_slots slots, the free
 * ones in free_order (distinct, as tc_registry_free_order wrote them);
 * every other slot must then get its id with tc_registry_place. Returns 0,
 * or -1 with err when the registry is not empty, more than max_series
 * would be live, a free slot is out of range, or memory ran out. */
int tc_registry_restore_slots(struct tc_registry *r, size_t n_slots, const uint32_t *free_order,
	size_t n_free, char *err);

/* Registers id in slot, one that tc_registry_restore_slots left for an id
 * (not among free_order). Returns 0, or -1 with err when the slot is out of
 * range or has an id, the id is registered already or too long, or memory
 * ran out. */
int tc_registry_place(struct tc_registry *r, uint32_t slot, const char *id, size_t len,
	char *err);

/* Live series, and one past the highest slot ever handed out. */
size_t tc_registry_count(const struct tc_registry *r);
size_t tc_registry_slots(const struct tc_registry *r);

/* The live series' ids' lengths, summed. */
size_t tc_registry_id_bytes(const struct tc_registry *r);

/* Bytes held: *table the hash table's buckets, *ids the slot table and the
 * ids' own bytes. */
void tc_registry_memory(const struct tc_registry *r, size_t *table, size_t *ids);

#endif
