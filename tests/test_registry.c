/* test_registry.c -- series ids to dense slots: lookups, limits, removal and reuse. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "error.h"
#include "registry.h"

/* The oracle throughout is the header's contract: a new id takes the lowest
 * never-used slot unless a removed slot is free, an id maps to the same slot
 * until removed, and at most max_series are live. */

static struct tc_registry *make(size_t max_series)
{
	char err[TC_ERR_LEN] = "";
	struct tc_registry *r = tc_registry_create(max_series, err);
	cr_assert_not_null(r, "create failed: %s", err);
	return r;
}

static int64_t insert_str(struct tc_registry *r, const char *id, int *created)
{
	return tc_registry_insert(r, id, strlen(id), created);
}

static int64_t find_str(const struct tc_registry *r, const char *id)
{
	return tc_registry_find(r, id, strlen(id));
}

Test(registry, finds_nothing_in_an_empty_registry)
{
	struct tc_registry *r = make(10);
	cr_assert_eq(find_str(r, "a"), -1);
	cr_assert_eq(tc_registry_count(r), 0);
	cr_assert_eq(tc_registry_slots(r), 0);
	cr_assert_null(tc_registry_id(r, 0, NULL));
	tc_registry_destroy(&r);
}

Test(registry, hands_out_dense_slots_from_zero_in_insertion_order)
{
	struct tc_registry *r = make(10);
	const char *ids[] = {"cpu", "mem", "disk", "net"};
	for (int i = 0; i < 4; i++) {
		int created = -1;
		cr_assert_eq(insert_str(r, ids[i], &created), i, "%s", ids[i]);
		cr_assert_eq(created, 1, "%s", ids[i]);
		cr_assert_eq(tc_registry_count(r), (size_t)i + 1);
		cr_assert_eq(tc_registry_slots(r), (size_t)i + 1);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(find_str(r, ids[i]), i, "%s", ids[i]);
	}
	tc_registry_destroy(&r);
}

Test(registry, inserting_a_known_id_returns_its_slot_without_creating)
{
	struct tc_registry *r = make(10);
	int created = -1;
	cr_assert_eq(insert_str(r, "a", &created), 0);
	cr_assert_eq(insert_str(r, "b", &created), 1);
	cr_assert_eq(insert_str(r, "a", &created), 0);
	cr_assert_eq(created, 0);
	cr_assert_eq(tc_registry_count(r), 2);
	cr_assert_eq(tc_registry_slots(r), 2);
	tc_registry_destroy(&r);
}

Test(registry, tells_apart_ids_that_differ_only_in_length_or_one_byte)
{
	struct tc_registry *r = make(100);
	/* Embedded NULs are bytes like any other: the length is the id's end. */
	const char *ids[] = {"abc", "ab", "abcd", "abd", "bbc", "abC", "a", "ab\0", "ab\0\0"};
	const size_t lens[] = {3, 2, 4, 3, 3, 3, 1, 3, 4};
	const size_t n = sizeof lens / sizeof lens[0];
	for (size_t i = 0; i < n; i++) {
		int created = -1;
		cr_assert_eq(tc_registry_insert(r, ids[i], lens[i], &created), (int64_t)i,
			"id %zu", i);
		cr_assert_eq(created, 1, "id %zu was taken for an existing one", i);
	}
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(tc_registry_find(r, ids[i], lens[i]), (int64_t)i, "id %zu", i);
	}
	cr_assert_eq(tc_registry_find(r, "abcde", 5), -1);
	cr_assert_eq(tc_registry_find(r, "", 0), -1);
	tc_registry_destroy(&r);
}

Test(registry, returns_the_id_bytes_and_length_of_a_slot)
{
	struct tc_registry *r = make(10);
	int created;
	insert_str(r, "first", &created);
	tc_registry_insert(r, "x\0y", 3, &created);
	size_t len = 0;
	const char *id = tc_registry_id(r, 0, &len);
	cr_assert_not_null(id);
	cr_assert_eq(len, 5);
	cr_assert(memcmp(id, "first", 5) == 0);
	id = tc_registry_id(r, 1, &len);
	cr_assert_eq(len, 3);
	cr_assert(memcmp(id, "x\0y", 3) == 0);
	cr_assert_not_null(tc_registry_id(r, 1, NULL), "len may be NULL");
	cr_assert_null(tc_registry_id(r, 2, &len), "slot 2 was never handed out");
	tc_registry_destroy(&r);
}

Test(registry, keeps_its_own_copy_of_each_id)
{
	struct tc_registry *r = make(10);
	char buf[8] = "series";
	int created;
	cr_assert_eq(tc_registry_insert(r, buf, 6, &created), 0);
	memcpy(buf, "XXXXXX", 6);
	cr_assert_eq(find_str(r, "series"), 0);
	cr_assert_eq(find_str(r, "XXXXXX"), -1);
	tc_registry_destroy(&r);
}

Test(registry, refuses_a_new_id_over_max_series_and_keeps_the_others_working)
{
	struct tc_registry *r = make(3);
	int created;
	cr_assert_eq(insert_str(r, "a", &created), 0);
	cr_assert_eq(insert_str(r, "b", &created), 1);
	cr_assert_eq(insert_str(r, "c", &created), 2);
	created = -1;
	cr_assert_eq(insert_str(r, "d", &created), -1);
	cr_assert_eq(created, 0);
	cr_assert_eq(find_str(r, "d"), -1);
	cr_assert_eq(tc_registry_count(r), 3);
	cr_assert_eq(tc_registry_slots(r), 3);
	const char *ids[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(find_str(r, ids[i]), i);
		created = -1;
		cr_assert_eq(insert_str(r, ids[i], &created), i, "re-inserting %s", ids[i]);
		cr_assert_eq(created, 0);
	}
	tc_registry_destroy(&r);
}

Test(registry, refuses_every_id_when_max_series_is_zero)
{
	struct tc_registry *r = make(0);
	int created = -1;
	cr_assert_eq(insert_str(r, "a", &created), -1);
	cr_assert_eq(created, 0);
	cr_assert_eq(tc_registry_count(r), 0);
	tc_registry_destroy(&r);
}

Test(registry, forgets_a_removed_id_and_gives_its_slot_to_the_next_new_id)
{
	struct tc_registry *r = make(3);
	int created;
	insert_str(r, "a", &created);
	insert_str(r, "b", &created);
	insert_str(r, "c", &created);
	tc_registry_remove(r, 1);
	cr_assert_eq(find_str(r, "b"), -1);
	cr_assert_null(tc_registry_id(r, 1, NULL));
	cr_assert_eq(tc_registry_count(r), 2);
	cr_assert_eq(tc_registry_slots(r), 3, "slots counts every slot ever handed out");
	cr_assert_eq(find_str(r, "a"), 0);
	cr_assert_eq(find_str(r, "c"), 2);

	/* The limit counts live series: one place is free again. */
	created = -1;
	cr_assert_eq(insert_str(r, "d", &created), 1);
	cr_assert_eq(created, 1);
	size_t len;
	cr_assert(memcmp(tc_registry_id(r, 1, &len), "d", 1) == 0 && len == 1);
	cr_assert_eq(tc_registry_slots(r), 3);
	cr_assert_eq(insert_str(r, "b", &created), -1, "full again");

	/* A removed id comes back as a new series. */
	tc_registry_remove(r, 0);
	created = -1;
	cr_assert_eq(insert_str(r, "b", &created), 0);
	cr_assert_eq(created, 1);
	tc_registry_destroy(&r);
}

Test(registry, removing_a_free_or_unknown_slot_changes_nothing)
{
	struct tc_registry *r = make(10);
	int created;
	insert_str(r, "a", &created);
	insert_str(r, "b", &created);
	tc_registry_remove(r, 1);
	tc_registry_remove(r, 1);
	tc_registry_remove(r, 7);
	tc_registry_remove(r, UINT32_MAX);
	cr_assert_eq(tc_registry_count(r), 1);
	cr_assert_eq(find_str(r, "a"), 0);
	/* Slot 1 was freed once, so only one new id may take it. */
	cr_assert_eq(insert_str(r, "c", &created), 1);
	cr_assert_eq(insert_str(r, "d", &created), 2);
	tc_registry_destroy(&r);
}

#define MANY 200000

static void many_id(char *buf, size_t cap, const char *prefix, uint32_t i, size_t *len)
{
	*len = (size_t)snprintf(buf, cap, "%s.%u", prefix, i);
}

Test(registry, finds_200000_ids_after_every_third_is_removed)
{
	struct tc_registry *r = make(MANY);
	char id[32];
	size_t len;
	int created;
	for (uint32_t i = 0; i < MANY; i++) {
		many_id(id, sizeof id, "host", i, &len);
		cr_assert_eq(tc_registry_insert(r, id, len, &created), (int64_t)i, "%s", id);
	}
	cr_assert_eq(tc_registry_count(r), MANY);
	for (uint32_t i = 0; i < MANY; i += 3) {
		tc_registry_remove(r, i);
	}
	const size_t removed = (MANY + 2) / 3;
	cr_assert_eq(tc_registry_count(r), MANY - removed);
	for (uint32_t i = 0; i < MANY; i++) {
		many_id(id, sizeof id, "host", i, &len);
		int64_t want = i % 3 == 0 ? -1 : (int64_t)i;
		int64_t got = tc_registry_find(r, id, len);
		if (got != want) {
			cr_assert_fail("%s: slot %lld, expected %lld", id, (long long)got, (long long)want);
		}
	}

	/* New ids fill exactly the freed slots, each once, without new ones. */
	unsigned char *taken = calloc(MANY, 1);
	for (uint32_t i = 0; i < removed; i++) {
		many_id(id, sizeof id, "new", i, &len);
		int64_t slot = tc_registry_insert(r, id, len, &created);
		if (slot < 0 || slot >= MANY || slot % 3 != 0 || taken[slot] || !created) {
			cr_assert_fail("%s: slot %lld (created %d)", id, (long long)slot, created);
		}
		taken[slot] = 1;
	}
	free(taken);
	cr_assert_eq(tc_registry_slots(r), MANY);
	cr_assert_eq(tc_registry_count(r), MANY);
	cr_assert_eq(tc_registry_insert(r, "one.more", 8, &created), -1);
	for (uint32_t i = 1; i < MANY; i += 3) {
		many_id(id, sizeof id, "host", i, &len);
		if (tc_registry_find(r, id, len) != (int64_t)i) {
			cr_assert_fail("%s lost after the refill", id);
		}
	}
	tc_registry_destroy(&r);
}

/* A deterministic pseudo-random mix of inserts and removes over a small pool
 * of ids, checked after every operation against a plain array of which id
 * holds which slot. Many removes from long probe runs (and runs wrapping the
 * table's end) exercise the backward-shift deletion. */
Test(registry, agrees_with_a_plain_array_over_random_inserts_and_removes)
{
	enum { POOL = 300, OPS = 6000 };
	struct tc_registry *r = make(POOL);
	int64_t slot_of[POOL];
	for (int i = 0; i < POOL; i++) {
		slot_of[i] = -1;
	}
	uint64_t x = 0x9e3779b97f4a7c15u;
	char id[16];
	size_t len;
	for (int op = 0; op < OPS; op++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		int i = (int)((x >> 33) % POOL);
		many_id(id, sizeof id, "p", (uint32_t)i, &len);
		if (slot_of[i] >= 0 && (x >> 20) % 3 == 0) {
			tc_registry_remove(r, (uint32_t)slot_of[i]);
			slot_of[i] = -1;
		} else {
			int created;
			int64_t slot = tc_registry_insert(r, id, len, &created);
			cr_assert_geq(slot, 0, "op %d: %s refused", op, id);
			cr_assert_eq(created, slot_of[i] < 0, "op %d: %s created %d", op, id, created);
			if (slot_of[i] >= 0) {
				cr_assert_eq(slot, slot_of[i], "op %d: %s moved", op, id);
			}
			slot_of[i] = slot;
		}
		size_t live = 0;
		unsigned char seen[POOL] = {0};
		for (int j = 0; j < POOL; j++) {
			many_id(id, sizeof id, "p", (uint32_t)j, &len);
			if (tc_registry_find(r, id, len) != slot_of[j]) {
				cr_assert_fail("op %d: %s found in slot %lld, expected %lld", op, id,
					(long long)tc_registry_find(r, id, len), (long long)slot_of[j]);
			}
			if (slot_of[j] >= 0) {
				live++;
				cr_assert_lt(slot_of[j], POOL, "op %d: slot past the peak of live ids", op);
				cr_assert_eq(seen[slot_of[j]], 0, "op %d: two ids share a slot", op);
				seen[slot_of[j]] = 1;
			}
		}
		cr_assert_eq(tc_registry_count(r), live);
		cr_assert_leq(tc_registry_slots(r), POOL);
	}
	tc_registry_destroy(&r);
}

Test(registry, takes_ids_of_1_and_255_bytes_and_refuses_256)
{
	struct tc_registry *r = make(10);
	char longest[TC_ID_MAX + 1];
	for (size_t i = 0; i < sizeof longest; i++) {
		longest[i] = (char)('a' + i % 26);
	}
	int created = -1;
	cr_assert_eq(tc_registry_insert(r, "x", 1, &created), 0);
	cr_assert_eq(tc_registry_insert(r, longest, TC_ID_MAX, &created), 1);
	cr_assert_eq(created, 1);
	created = -1;
	cr_assert_eq(tc_registry_insert(r, longest, TC_ID_MAX + 1, &created), -1,
		"an id over TC_ID_MAX bytes is refused");
	cr_assert_eq(created, 0);
	cr_assert_eq(tc_registry_find(r, longest, TC_ID_MAX + 1), -1);
	cr_assert_eq(tc_registry_find(r, longest, TC_ID_MAX), 1);
	cr_assert_eq(tc_registry_find(r, longest, TC_ID_MAX - 1), -1);
	size_t len = 0;
	const char *id = tc_registry_id(r, 1, &len);
	cr_assert_eq(len, TC_ID_MAX);
	cr_assert(memcmp(id, longest, len) == 0);
	id = tc_registry_id(r, 0, &len);
	cr_assert(len == 1 && id[0] == 'x');
	cr_assert_eq(tc_registry_count(r), 2);
	tc_registry_destroy(&r);
}

/* Id i of a churn round: a length from a fixed mix of 1..255 by i % 13, its
 * first bytes (up to 4) i * 31 + round in base 256, the rest '#'. Ids of
 * one length differ within a round while fewer than 256 share it (i steps
 * by 13, so i * 31 by 403, which is odd). */
static size_t mixed_id(char *buf, uint32_t round, uint32_t i)
{
	static const size_t lengths[13] = {1, 2, 3, 4, 7, 8, 12, 31, 64, 100, 200, 254, 255};
	size_t len = lengths[i % 13];
	uint32_t v = i * 31 + round;
	memset(buf, '#', len);
	for (size_t k = 0; k < len && k < 4; k++) {
		buf[k] = (char)(v >> (8 * k));
	}
	return len;
}

/* Removing ids gives their bytes back: rounds that replace every id with a
 * new one of the same length reuse the freed space, so the registry's
 * memory stays what the first round took, and every id keeps its slot. */
Test(registry, reuses_the_space_of_removed_ids_so_churn_keeps_memory_bounded)
{
	enum { LIVE = 2000, ROUNDS = 50 };
	struct tc_registry *r = make(LIVE);
	char id[TC_ID_MAX];
	int created;
	for (uint32_t i = 0; i < LIVE; i++) {
		size_t len = mixed_id(id, 0, i);
		cr_assert_eq(tc_registry_insert(r, id, len, &created), (int64_t)i);
	}
	size_t table0, ids0;
	tc_registry_memory(r, &table0, &ids0);
	uint32_t slot_of[LIVE];
	for (uint32_t i = 0; i < LIVE; i++) {
		slot_of[i] = i;
	}
	for (uint32_t round = 1; round <= ROUNDS; round++) {
		/* Remove in an order that differs from round to round. */
		for (uint32_t k = 0; k < LIVE; k++) {
			tc_registry_remove(r, slot_of[(k * 7 + round) % LIVE]);
		}
		cr_assert_eq(tc_registry_count(r), 0);
		for (uint32_t i = 0; i < LIVE; i++) {
			size_t len = mixed_id(id, round, i);
			int64_t slot = tc_registry_insert(r, id, len, &created);
			cr_assert(slot >= 0 && slot < LIVE && created, "round %u id %u: slot %lld", round,
				i, (long long)slot);
			slot_of[i] = (uint32_t)slot;
		}
		for (uint32_t i = 0; i < LIVE; i++) {
			size_t len = mixed_id(id, round, i);
			size_t got_len;
			const char *got = tc_registry_id(r, slot_of[i], &got_len);
			if (tc_registry_find(r, id, len) != (int64_t)slot_of[i] || !got || got_len != len
				|| memcmp(got, id, len) != 0) {
				cr_assert_fail("round %u: id %u is not in its slot %u", round, i, slot_of[i]);
			}
		}
		size_t table, ids;
		tc_registry_memory(r, &table, &ids);
		cr_assert_eq(ids, ids0, "round %u: the ids take %zu bytes, the first round %zu", round,
			ids, ids0);
		cr_assert_eq(table, table0);
		cr_assert_eq(tc_registry_slots(r), LIVE);
	}
	tc_registry_destroy(&r);
}

/* A bucket keeps 32 bits of an id's hash (the low 32 of XXH3_64bits, see
 * registry.c); ids whose 32 bits agree share a home bucket at every table
 * size and must still be told apart by their bytes. */
static int tag_order(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void colliding_pair(char a[16], char b[16])
{
	enum { N = 300000 }; /* ~10 pairs expected among 32-bit hashes */
	uint64_t *keys = malloc(N * sizeof *keys);
	cr_assert_not_null(keys);
	char id[16];
	for (uint32_t i = 0; i < N; i++) {
		snprintf(id, sizeof id, "c%07u", i);
		keys[i] = (uint64_t)(uint32_t)XXH3_64bits(id, 8) << 32 | i;
	}
	qsort(keys, N, sizeof *keys, tag_order);
	for (uint32_t i = 1; i < N; i++) {
		if (keys[i] >> 32 == keys[i - 1] >> 32) {
			snprintf(a, 16, "c%07u", (uint32_t)keys[i - 1]);
			snprintf(b, 16, "c%07u", (uint32_t)keys[i]);
			free(keys);
			return;
		}
	}
	free(keys);
	cr_assert_fail("no two of %d ids share 32 bits of hash", N);
}

Test(registry, tells_apart_ids_whose_hashes_share_the_32_bits_it_keeps)
{
	char a[16], b[16];
	colliding_pair(a, b);
	cr_assert_eq((uint32_t)XXH3_64bits(a, 8), (uint32_t)XXH3_64bits(b, 8));
	cr_assert_str_neq(a, b);
	struct tc_registry *r = make(100);
	int created;
	/* Others first, so that the pair lands inside probe runs. */
	char id[16];
	for (uint32_t i = 0; i < 40; i++) {
		snprintf(id, sizeof id, "o%u", i);
		tc_registry_insert(r, id, strlen(id), &created);
	}
	cr_assert_eq(tc_registry_insert(r, a, 8, &created), 40);
	cr_assert_eq(find_str(r, b), -1, "%s must not be taken for %s", b, a);
	cr_assert_eq(tc_registry_insert(r, b, 8, &created), 41);
	cr_assert_eq(created, 1, "%s was taken for %s", b, a);
	cr_assert_eq(find_str(r, a), 40);
	cr_assert_eq(find_str(r, b), 41);
	tc_registry_remove(r, 40);
	cr_assert_eq(find_str(r, a), -1);
	cr_assert_eq(find_str(r, b), 41, "removing %s lost %s", a, b);
	cr_assert_eq(tc_registry_insert(r, a, 8, &created), 40);
	tc_registry_remove(r, 41);
	cr_assert_eq(find_str(r, a), 40, "removing %s lost %s", b, a);
	cr_assert_eq(find_str(r, b), -1);
	for (uint32_t i = 0; i < 40; i++) {
		snprintf(id, sizeof id, "o%u", i);
		cr_assert_eq(find_str(r, id), (int64_t)i);
	}
	tc_registry_destroy(&r);
}

Test(registry, memory_grows_with_the_ids_it_holds)
{
	struct tc_registry *r = make(100000);
	size_t table0, ids0, table, ids;
	tc_registry_memory(r, &table0, &ids0);
	cr_assert_gt(table0, 0);
	char id[16];
	int created;
	for (uint32_t i = 0; i < 100000; i++) {
		snprintf(id, sizeof id, "s%u", i);
		tc_registry_insert(r, id, strlen(id), &created);
	}
	tc_registry_memory(r, &table, &ids);
	/* 8-byte buckets, at most 3/4 full and at least 3/8 after doubling; per
	 * id a 4-byte slot entry and its length byte and bytes in 4-byte units
	 * (at most 8 here), both in arrays grown by half. */
	cr_assert(table >= 100000 * 8 * 4 / 3 && table <= 100000 * 8 * 8 / 3, "table %zu", table);
	cr_assert(ids >= 100000 * (4 + 7) && ids <= 100000 * (4 + 8) * 3 / 2, "ids %zu", ids);
	tc_registry_destroy(&r);
}

Test(registry, destroy_sets_the_pointer_to_null_and_accepts_null)
{
	struct tc_registry *r = make(4);
	int created;
	insert_str(r, "a", &created);
	tc_registry_destroy(&r);
	cr_assert_null(r);
	tc_registry_destroy(&r);
	tc_registry_destroy(NULL);
}
