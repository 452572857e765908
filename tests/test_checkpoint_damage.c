/* test_checkpoint_damage.c -- every damaged or foreign checkpoint file is refused
 * with a message naming it and what is wrong, and random damage never crashes the
 * reader (what still loads restores and steps). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "checkpoint_fixture.h"
#include "cli_run.h"

TestSuite(checkpoint_damage, .init = dh_setup, .fini = dh_teardown);

static uint64_t padded(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* The offset of section i's header, walking the frames as the format says. */
static size_t section_at(const unsigned char *b, int i)
{
	size_t at = HEADER;
	for (int k = 0; k < i; k++) {
		at += 16 + padded(tc_load_u64(b + at + 8)) + 8;
	}
	return at;
}

static void reseal_header(unsigned char *b)
{
	tc_store_u64(b + 24, XXH3_64bits(b, 24));
}

static void reseal_section(unsigned char *b, int i)
{
	size_t at = section_at(b, i);
	uint64_t payload = padded(tc_load_u64(b + at + 8));
	tc_store_u64(b + at + 16 + payload, XXH3_64bits(b + at, 16 + payload));
}

static void write_bytes(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(p, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Loading path fails with a message naming it and containing want. */
static void expect_load_fails(const char *path, const char *want, const char *what)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(tc_checkpoint_load(c, path, err), -1, "%s: loaded", what);
	cr_assert_not_null(strstr(err, path), "%s: the message does not name the file: %s", what, err);
	cr_assert_not_null(strstr(err, want), "%s: the message lacks \"%s\": %s", what, want, err);
	tc_checkpoint_destroy(&c);
}

/* A valid checkpoint's bytes (the caller frees them) and its path. */
static unsigned char *valid_bytes(size_t *len, char path[256])
{
	write_valid("good.ckpt", path);
	return (unsigned char *)dh_read_file(path, len);
}

Test(checkpoint_damage, a_file_cut_at_any_section_boundary_or_inside_its_header_fails_to_load_as_truncated)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	size_t cuts[N_SECTIONS + 2];
	int n = 0;
	cuts[n++] = 20; /* inside the header */
	for (int i = 0; i < N_SECTIONS; i++) {
		cuts[n++] = section_at(b, i);
	}
	cuts[n++] = len - 8; /* the last section's checksum */
	for (int i = 0; i < n; i++) {
		write_bytes(path, b, cuts[i]);
		char what[64];
		snprintf(what, sizeof what, "cut at byte %zu of %zu", cuts[i], len);
		expect_load_fails(path, "truncated", what);
	}
	free(b);
}

Test(checkpoint_damage, a_flipped_bit_in_the_header_or_any_section_fails_to_load_on_its_checksum)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	char what[64];
	b[17] ^= 0x10; /* the header's file length */
	write_bytes(path, b, len);
	expect_load_fails(path, "header's checksum", "a bit of the header");
	b[17] ^= 0x10;
	for (int i = 0; i < N_SECTIONS; i++) {
		size_t at = section_at(b, i);
		uint64_t payload = tc_load_u64(b + at + 8);
		cr_assert_gt(payload, 0, "section %d is empty", i);
		size_t flip = at + 16 + payload / 2;
		b[flip] ^= 0x04;
		write_bytes(path, b, len);
		snprintf(what, sizeof what, "a bit of section %s", tc_checkpoint_section_tag(i));
		char want[64];
		snprintf(want, sizeof want, "section %s's checksum", tc_checkpoint_section_tag(i));
		expect_load_fails(path, want, what);
		b[flip] ^= 0x04;
	}
	free(b);
}

Test(checkpoint_damage, a_checkpoint_of_another_format_version_fails_to_load_naming_the_version)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	tc_store_u32(b + 8, 3);
	reseal_header(b);
	write_bytes(path, b, len);
	expect_load_fails(path, "version 3", "version 3");
	free(b);
}

Test(checkpoint_damage, a_version_1_file_without_interval_state_still_loads_and_restores)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	size_t v1_len = section_at(b, TC_CKPT_INTERVALS); /* version 1 ended with LAST */
	cr_assert_lt(v1_len, len, "the interval state is missing from a new checkpoint");
	tc_store_u32(b + 8, 1);
	tc_store_u32(b + 12, 8);
	tc_store_u64(b + 16, v1_len);
	reseal_header(b);
	write_bytes(path, b, v1_len);
	struct tc_checkpoint *c = load_ok(path);
	cr_assert_eq(tc_checkpoint_get_info(c)->interval_horizons, 0);
	char args[512];
	snprintf(args, sizeof args, "inspect %s", path);
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("tickcast checkpoint, version 1,");
	expect_output("intervals    none");
	struct tc_model *m = default_model();
	struct tc_tick *t = engine(m, &DEFAULTS);
	int other_weights;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_checkpoint_fits(t, c, &other_weights, err), 0, "%s", err);
	cr_assert_eq(tc_tick_restore(t, c, err), 0, "%s", err);
	struct tc_series_info info;
	cr_assert_eq(tc_tick_series(t, "a", 1, &info), 0);
	cr_assert_eq(info.accuracy.scored, 0, "a version 1 file has no interval state to restore");
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
	tc_checkpoint_destroy(&c);
	free(b);
}

Test(checkpoint_damage, interval_state_of_a_shape_no_tickcast_writes_is_refused)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	size_t at = section_at(b, TC_CKPT_INTERVALS);
	cr_assert_eq(tc_load_u32(b + at + 16), OUTPUTS, "INTV's horizons");
	char args[512];
	snprintf(args, sizeof args, "inspect %s", path);
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("tickcast checkpoint, version 2,");
	expect_output("intervals    2 horizons");
	tc_store_u32(b + at + 16, 65);
	reseal_section(b, TC_CKPT_INTERVALS);
	write_bytes(path, b, len);
	expect_load_fails(path, "section INTV: 65 horizons", "65 horizons");
	tc_store_u32(b + at + 16, OUTPUTS);
	tc_store_u32(b + at + 20, tc_load_u32(b + at + 20) + 1);
	reseal_section(b, TC_CKPT_INTERVALS);
	write_bytes(path, b, len);
	expect_load_fails(path, "section INTV", "one float too many");
	free(b);
}

Test(checkpoint_damage, an_empty_file_a_directory_and_a_missing_path_fail_to_load_saying_so)
{
	const char *empty = dh_path("empty.ckpt");
	write_bytes(empty, "", 0);
	expect_load_fails(empty, "empty", "an empty file");
	expect_load_fails(dh.dir, "directory", "a directory");
	expect_load_fails(dh_path("none.ckpt"), "No such file", "a missing file");
}

/* Rewrites section s's u64 at `offset` in its payload and reseals it. */
static void rewrite_u64(unsigned char *b, int s, size_t offset, uint64_t v)
{
	tc_store_u64(b + section_at(b, s) + 16 + offset, v);
	reseal_section(b, s);
}

Test(checkpoint_damage, a_slot_count_of_2_to_the_40_fails_to_load_at_once_on_the_limit)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	rewrite_u64(b, TC_CKPT_SLOTS, 0, (uint64_t)1 << 40);
	write_bytes(path, b, len);
	double start = dh_now_ms();
	expect_load_fails(path, "over the limit", "2^40 slots");
	cr_assert_lt(dh_now_ms() - start, 1000.0, "refusing 2^40 slots took over a second");
	free(b);
}

Test(checkpoint_damage, a_free_slot_list_that_disagrees_with_the_flags_fails_to_load)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	unsigned char *slot = b + section_at(b, TC_CKPT_SLOTS) + 16;
	cr_assert_eq(tc_load_u64(slot + 8), 2, "two free slots");
	tc_store_u32(slot + 16, 0); /* slot 0 (a, live) listed free instead of 3 */
	reseal_section(b, TC_CKPT_SLOTS);
	write_bytes(path, b, len);
	expect_load_fails(path, "free slot 0 is live", "a live slot listed free");
	tc_store_u32(slot + 16, 3);
	slot[16 + 8 + 3] |= TC_CKPT_LIVE; /* slot 3's flags say live, the list says free */
	reseal_section(b, TC_CKPT_SLOTS);
	write_bytes(path, b, len);
	expect_load_fails(path, "listed free", "a free slot flagged live");
	free(b);
}

Test(checkpoint_damage, an_id_running_past_the_ids_section_fails_to_load)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	size_t at = section_at(b, TC_CKPT_IDS);
	uint64_t bytes = tc_load_u64(b + at + 8);
	cr_assert_eq(bytes, 8, "four ids of one byte");
	b[at + 16 + 6] = 2; /* the last id: 2 bytes, one past the end */
	reseal_section(b, TC_CKPT_IDS);
	write_bytes(path, b, len);
	expect_load_fails(path, "runs past its end", "the last id too long");
	free(b);
}

Test(checkpoint_damage, a_checkpoint_naming_one_series_twice_fails_to_load)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	unsigned char *ids = b + section_at(b, TC_CKPT_IDS) + 16;
	cr_assert(ids[0] == 1 && ids[1] == 'a' && ids[3] == 'c', "ids a, c, ...");
	ids[3] = 'a';
	reseal_section(b, TC_CKPT_IDS);
	write_bytes(path, b, len);
	expect_load_fails(path, "twice", "id a in slots 0 and 2");
	free(b);
}

Test(checkpoint_damage, a_checkpoint_whose_last_tick_is_past_the_millisecond_range_fails_to_load)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	rewrite_u64(b, TC_CKPT_CLOCK, 8, (uint64_t)INT64_MAX / 10);
	write_bytes(path, b, len);
	expect_load_fails(path, "CLCK", "bucket INT64_MAX / 10 of 1000 ms");
	free(b);
}

/* ---- fitting the running engine ------------------------------------ */

/* Whether the checkpoint at path fits an engine of m and s; err filled. */
static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Recomputes every checksum whose frame still lies within len bytes, so that
 * the damage reaches the checks behind them. */
static void reseal_all(unsigned char *b, size_t len)
{
	reseal_header(b);
	if (len < HEADER) {
		return;
	}
	size_t at = HEADER;
	for (int i = 0; i < N_SECTIONS && len - at >= 16; i++) {
		uint64_t payload = tc_load_u64(b + at + 8);
		if (payload > len - at - 16 || padded(payload) + 8 > len - at - 16) {
			return;
		}
		tc_store_u64(b + at + 16 + padded(payload), XXH3_64bits(b + at, 16 + padded(payload)));
		at += 16 + padded(payload) + 8;
	}
}

/* A checkpoint that loads and fits restores, and the engine then steps. */
static void restore_and_step(struct tc_checkpoint *c, const struct tc_model *m, int iteration)
{
	struct tc_tick *t = engine(m, &DEFAULTS);
	int other_weights;
	char err[TC_ERR_LEN];
	if (tc_tick_checkpoint_fits(t, c, &other_weights, err) == 0) {
		cr_assert_eq(tc_tick_restore(t, c, err), 0, "iteration %d: loaded and fits, but: %s",
			iteration, err);
		int has;
		(void)tc_checkpoint_last_tick_ms(c, &has);
		struct dh_buf log = {0};
		struct tc_reading r = {.id = "z", .id_len = 1, .n_values = 1, .values = {1.0f},
			.has_time = 1, .time = 1e6};
		struct tc_emitter out = {log_forecasts, &log};
		enum tc_reject why;
		tc_tick_offer(t, &r, &out, &why, err);
		tc_tick_close(t, &out, err);
		dh_buf_free(&log);
	}
	tc_tick_destroy(&t);
}

Test(checkpoint_damage, random_damage_never_crashes_loading_and_what_loads_restores)
{
	char path[256];
	size_t len;
	unsigned char *good = valid_bytes(&len, path);
	unsigned char *b = malloc(len);
	struct tc_model *m = default_model();
	struct tc_checkpoint *c = tc_checkpoint_create();
	const size_t small = section_at(good, TC_CKPT_HIDDEN); /* header to the ids */
	uint32_t seed = 12345;
	int loaded = 0;
	for (int i = 0; i < 2000; i++) {
		memcpy(b, good, len);
		int flips = 1 + (int)(next_random(&seed) % 4);
		for (int k = 0; k < flips; k++) {
			size_t at = next_random(&seed) % (next_random(&seed) % 2 ? small : len);
			b[at] ^= (unsigned char)(1 + next_random(&seed) % 255);
		}
		size_t cut = next_random(&seed) % 8 == 0 ? next_random(&seed) % len : len;
		if (i % 2) {
			reseal_all(b, cut);
		}
		write_bytes(path, b, cut);
		char err[TC_ERR_LEN];
		if (tc_checkpoint_load(c, path, err) == 0) {
			loaded++;
			restore_and_step(c, m, i);
		} else {
			cr_assert_not_null(strstr(err, path), "iteration %d: %s", i, err);
		}
	}
	cr_assert_gt(loaded, 0, "no damaged file loaded: the restore path was not exercised");
	tc_checkpoint_destroy(&c);
	tc_model_destroy(&m);
	free(b);
	free(good);
}

/* A cluster member's checkpoints travel as bytes (cluster/ckpt_store.h):
 * sealing in memory gives the file's bytes, and loading bytes checks them
 * as loading the file does. */
Test(checkpoint_damage, sealed_bytes_equal_the_file_and_loading_bytes_checks_them_as_a_file)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(tc_checkpoint_load_bytes(c, b, len, err), 0, "%s", err);
	size_t sealed_len;
	const unsigned char *sealed = tc_checkpoint_seal(c, &sealed_len);
	cr_assert_eq(sealed_len, len);
	cr_assert_eq(memcmp(sealed, b, len), 0, "sealing again changed the bytes");
	cr_assert_eq(tc_checkpoint_get_info(c)->bytes, len);
	b[section_at(b, 3) + 20] ^= 0x01;
	cr_assert_eq(tc_checkpoint_load_bytes(c, b, len, err), -1);
	cr_assert_not_null(strstr(err, "section SLOT's checksum"), "%s", err);
	cr_assert_eq(tc_checkpoint_load_bytes(c, b, 100, err), -1);
	cr_assert_not_null(strstr(err, "truncated"), "%s", err);
	tc_checkpoint_destroy(&c);
	free(b);
}
