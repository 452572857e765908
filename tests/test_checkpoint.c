/* test_checkpoint.c -- the checkpoint file and the tick engine's snapshot: a restored
 * engine steps bit for bit as the one that wrote it, every damaged or foreign file
 * is refused with a message naming it and what is wrong, a failed save keeps the
 * previous checkpoint, and random damage never crashes the reader. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <xxhash.h>

#include "byte_order.h"
#include "checkpoint.h"
#include "daemon_harness.h"
#include "model_file.h"
#include "tick_checkpoint.h"

#define OUTPUTS 2
#define INTERVAL_MS 1000
#define TTL_TICKS 2
#define HEADER 32
#define N_SECTIONS 8

static const int hidden[] = {6, 4};

/* The mount point of a test's tmpfs (its own mount namespace), unmounted at teardown. */
static char tmpfs_dir[256];

static void teardown(void)
{
	if (tmpfs_dir[0]) {
		umount2(tmpfs_dir, MNT_DETACH);
	}
	dh_teardown();
}

TestSuite(checkpoint, .init = dh_setup, .fini = teardown);

/* ---- models and engines ------------------------------------------------ */

/* Writes dir/name (a GRU of n_layers layers, weights from seed) and loads it. */
static struct tc_model *load_gru(const char *name, const int *h, int n_layers, int reset_after,
	uint32_t seed)
{
	dh_write_gru(name, h, n_layers, OUTPUTS, seed);
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.reset_after = reset_after;
	spec.n_layers = n_layers;
	for (int k = 0; k < n_layers; k++) {
		spec.hidden[k] = h[k];
	}
	spec.outputs = OUTPUTS;
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_file_load(&spec, dh_path(name), err);
	cr_assert_not_null(m, "%s", err);
	return m;
}

static struct tc_model *default_model(void)
{
	return load_gru("w.safetensors", hidden, 2, 1, 7);
}

struct settings {
	int interval_ms;
	int ema;                     /* model.scaler ema (alpha, warmup below) or none */
	double alpha;
	int warmup;
	size_t max_series;
};

static const struct settings DEFAULTS = {INTERVAL_MS, 1, 0.2, 3, 64};

/* An event-clock engine, series freed after TTL_TICKS idle ticks, held inputs. */
static struct tc_tick *engine(const struct tc_model *m, const struct settings *s)
{
	struct tc_tick_config cfg = {.clock = TC_CLOCK_EVENT, .interval_ms = s->interval_ms,
		.flush_ms = 60000, .aggregate = TC_AGGREGATE_LAST, .missing = TC_MISSING_HOLD};
	struct tc_scaler_config scaler = {.type = s->ema ? TC_SCALER_EMA : TC_SCALER_NONE,
		.alpha = s->alpha, .warmup = s->warmup};
	char err[TC_ERR_LEN];
	struct tc_tick *t = tc_tick_create(&cfg, m, s->max_series, TTL_TICKS, &scaler, err);
	cr_assert_not_null(t, "%s", err);
	return t;
}

/* Appends each emitted tick to a dh_buf: bucket, count, and per series its
 * slot, id and outputs, as raw bytes, so two logs compare with memcmp. */
static int log_forecasts(void *ud, const struct tc_forecasts *f)
{
	struct dh_buf *b = ud;
	dh_buf_add(b, &f->bucket_ms, sizeof f->bucket_ms);
	dh_buf_add(b, &f->n, sizeof f->n);
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		const char *id = tc_forecasts_id(f, i, &len);
		dh_buf_add(b, &f->slots[i], sizeof f->slots[i]);
		dh_buf_add(b, &len, sizeof len);
		dh_buf_add(b, id, len);
		dh_buf_add(b, f->outputs + i * (size_t)f->n_outputs, (size_t)f->n_outputs * sizeof(float));
		dh_buf_add(b, f->warm ? &f->warm[i] : (const uint8_t *)"-", 1);
	}
	return 0;
}

static void offer(struct tc_tick *t, const char *id, unsigned bucket, struct dh_buf *log)
{
	/* A level of its own per series, moving with the bucket. */
	float v = (float)(id[0] - 'a') * 3.0f + (float)((bucket * 37u + (unsigned)id[0]) % 11) * 0.25f;
	struct tc_reading r = {.id = id, .id_len = strlen(id), .n_values = 1, .values = {v},
		.has_time = 1, .time = bucket * (INTERVAL_MS / 1000.0) + 0.5};
	struct tc_emitter out = {log_forecasts, log};
	enum tc_reject why;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_offer(t, &r, &out, &why, err), 0, "%s in bucket %u: %s", id, bucket, err);
}

static void close_tick(struct tc_tick *t, struct dh_buf *log)
{
	struct tc_emitter out = {log_forecasts, log};
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_close(t, &out, err), 0, "%s", err);
}

/* Each bucket's readers, as a string of series names (one letter each). */
static void feed(struct tc_tick *t, unsigned first, const char *const *plan, size_t buckets,
	struct dh_buf *log)
{
	for (size_t b = 0; b < buckets; b++) {
		for (const char *s = plan[b]; *s; s++) {
			char id[2] = {*s, '\0'};
			offer(t, id, first + (unsigned)b, log);
		}
	}
	close_tick(t, log);
}

/* Buckets 0..7: a..f take slots 0..5; b, d and e stop after bucket 2 and are
 * evicted together (slots 1, 3, 4: freed in that order, so taken again as
 * 4, 3, 1); g then takes slot 4. Leaves free slots 3 then 1. */
static const char *const BEFORE[] = {"abcdef", "abcdef", "abcdef", "acf", "acf", "acf", "acfg",
	"acg"};

/* Buckets 8..15: h and i take slots 3 and 1, j a new slot 6; c and f stop and
 * are evicted, k then takes f's slot 5; g misses two ticks, is evicted and
 * comes back into its own slot 4. */
static const char *const AFTER[] = {"acfgh", "aghij", "ahij", "agij", "aghijk", "ahk", "aijk",
	"ghk"};

static struct tc_tick *engine_before_checkpoint(const struct tc_model *m, struct dh_buf *log)
{
	struct tc_tick *t = engine(m, &DEFAULTS);
	feed(t, 0, BEFORE, sizeof BEFORE / sizeof BEFORE[0], log);
	return t;
}

static size_t free_order(const struct tc_tick *t, uint32_t out[64])
{
	return tc_registry_free_order(tc_tick_registry(t), out);
}

static void save(struct tc_tick *t, const char *path)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_checkpoint(t, c, err), 0, "%s", err);
	cr_assert_eq(tc_checkpoint_save(c, path, err), 0, "%s", err);
	tc_checkpoint_destroy(&c);
}

/* Writes the checkpoint of engine_before_checkpoint to dir/name, whose path
 * goes to path. */
static void write_valid(const char *name, char path[256])
{
	struct tc_model *m = default_model();
	struct dh_buf log = {0};
	struct tc_tick *t = engine_before_checkpoint(m, &log);
	snprintf(path, 256, "%s", dh_path(name));
	save(t, path);
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
	dh_buf_free(&log);
}

static struct tc_checkpoint *load_ok(const char *path)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_checkpoint_load(c, path, err), 0, "%s", err);
	return c;
}

Test(checkpoint, a_restored_engine_emits_bit_for_bit_what_the_original_does_and_reuses_free_slots_in_order)
{
	struct tc_model *m = default_model();
	struct dh_buf log_a = {0}, log_b = {0};
	struct tc_tick *a = engine_before_checkpoint(m, &log_a);
	uint32_t order[64];
	cr_assert_eq(free_order(a, order), 2);
	cr_assert(order[0] == 3 && order[1] == 1, "free slots %u, %u", order[0], order[1]);
	const struct tc_tick_stats at_ckpt = *tc_tick_get_stats(a);
	cr_assert_eq(at_ckpt.evicted, 3);
	const char *path = dh_path("state.ckpt");
	save(a, path);

	struct tc_checkpoint *c = load_ok(path);
	struct tc_tick *b = engine(m, &DEFAULTS);
	int other_weights = -1;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_checkpoint_fits(b, c, &other_weights, err), 0, "%s", err);
	cr_assert_eq(other_weights, 0);
	cr_assert_eq(tc_tick_restore(b, c, err), 0, "%s", err);
	tc_checkpoint_destroy(&c);
	cr_assert_eq(free_order(b, order), 2);
	cr_assert(order[0] == 3 && order[1] == 1, "restored free slots %u, %u", order[0], order[1]);
	cr_assert_eq(tc_tick_get_stats(b)->ticks, at_ckpt.ticks);
	cr_assert_eq(tc_tick_get_stats(b)->warming, at_ckpt.warming);

	size_t from = log_a.len;
	feed(a, 8, AFTER, sizeof AFTER / sizeof AFTER[0], &log_a);
	feed(b, 8, AFTER, sizeof AFTER / sizeof AFTER[0], &log_b);
	cr_assert_eq(log_b.len, log_a.len - from);
	cr_assert_eq(memcmp(log_a.p + from, log_b.p, log_b.len), 0,
		"the restored engine's forecasts differ from the original's");
	static const struct {
		const char *id;
		int64_t slot;
	} want[] = {{"h", 3}, {"i", 1}, {"j", 6}, {"k", 5}, {"g", 4}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		cr_assert_eq(tc_registry_find(tc_tick_registry(b), want[i].id, 1), want[i].slot,
			"series %s", want[i].id);
	}
	const struct tc_tick_stats *sa = tc_tick_get_stats(a), *sb = tc_tick_get_stats(b);
	cr_assert_eq(sb->ticks, sa->ticks);
	cr_assert_eq(sb->ticks, at_ckpt.ticks + 8);
	cr_assert_eq(sb->evicted, sa->evicted - at_ckpt.evicted);
	cr_assert_eq(sb->evicted, 3, "c, f and g are evicted after the checkpoint");
	cr_assert_eq(sb->warming, sa->warming);
	tc_tick_destroy(&a);
	tc_tick_destroy(&b);
	tc_model_destroy(&m);
	dh_buf_free(&log_a);
	dh_buf_free(&log_b);
}

/* ---- damaged files --------------------------------------------------- */

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

Test(checkpoint, a_file_cut_at_any_section_boundary_or_inside_its_header_fails_to_load_as_truncated)
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

Test(checkpoint, a_flipped_bit_in_the_header_or_any_section_fails_to_load_on_its_checksum)
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

Test(checkpoint, a_checkpoint_of_another_format_version_fails_to_load_naming_the_version)
{
	char path[256];
	size_t len;
	unsigned char *b = valid_bytes(&len, path);
	tc_store_u32(b + 8, 2);
	reseal_header(b);
	write_bytes(path, b, len);
	expect_load_fails(path, "version 2", "version 2");
	free(b);
}

Test(checkpoint, an_empty_file_a_directory_and_a_missing_path_fail_to_load_saying_so)
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

Test(checkpoint, a_slot_count_of_2_to_the_40_fails_to_load_at_once_on_the_limit)
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

Test(checkpoint, a_free_slot_list_that_disagrees_with_the_flags_fails_to_load)
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

Test(checkpoint, an_id_running_past_the_ids_section_fails_to_load)
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

Test(checkpoint, a_checkpoint_naming_one_series_twice_fails_to_load)
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

Test(checkpoint, a_checkpoint_whose_last_tick_is_past_the_millisecond_range_fails_to_load)
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
static int fits(const char *path, const struct tc_model *m, const struct settings *s,
	int *other_weights, char *err)
{
	struct tc_checkpoint *c = load_ok(path);
	struct tc_tick *t = engine(m, s);
	int rc = tc_tick_checkpoint_fits(t, c, other_weights, err);
	tc_tick_destroy(&t);
	tc_checkpoint_destroy(&c);
	return rc;
}

static void expect_refused(const char *path, const struct tc_model *m, const struct settings *s,
	const char *want, const char *what)
{
	char err[TC_ERR_LEN] = "";
	int other_weights = 0;
	cr_assert_eq(fits(path, m, s, &other_weights, err), -1, "%s: fits", what);
	cr_assert_not_null(strstr(err, want), "%s: the message lacks \"%s\": %s", what, want, err);
}

Test(checkpoint, a_checkpoint_of_another_model_shape_or_gru_variant_does_not_fit)
{
	char path[256];
	write_valid("good.ckpt", path);
	static const int other_hidden[] = {6, 5};
	struct tc_model *wider = load_gru("wider.safetensors", other_hidden, 2, 1, 7);
	struct tc_model *one_layer = load_gru("one.safetensors", hidden, 1, 1, 7);
	struct tc_model *reset_before = load_gru("before.safetensors", hidden, 2, 0, 7);
	expect_refused(path, wider, &DEFAULTS, "another model shape", "hidden 6, 5");
	expect_refused(path, one_layer, &DEFAULTS, "another model shape", "one layer");
	expect_refused(path, reset_before, &DEFAULTS, "another model shape", "reset_after false");
	tc_model_destroy(&wider);
	tc_model_destroy(&one_layer);
	tc_model_destroy(&reset_before);
}

Test(checkpoint, a_checkpoint_of_other_tick_or_scaler_settings_or_more_slots_than_series_max_does_not_fit)
{
	char path[256];
	write_valid("good.ckpt", path);
	struct tc_model *m = default_model();
	struct settings s = DEFAULTS;
	s.interval_ms = 500;
	expect_refused(path, m, &s, "tick.interval_ms", "interval 500 ms");
	s = DEFAULTS;
	s.ema = 0;
	expect_refused(path, m, &s, "model.scaler", "no scaler");
	s = DEFAULTS;
	s.alpha = 0.3;
	expect_refused(path, m, &s, "model.scaler", "alpha 0.3");
	s = DEFAULTS;
	s.warmup = 4;
	expect_refused(path, m, &s, "model.scaler", "warmup 4");
	s = DEFAULTS;
	s.max_series = 5; /* 4 live series in 6 slots */
	expect_refused(path, m, &s, "series.max", "series.max 5");
	tc_model_destroy(&m);
}

Test(checkpoint, a_checkpoint_of_other_weights_of_the_same_shape_fits_and_says_so)
{
	char path[256];
	write_valid("good.ckpt", path);
	struct tc_model *same = default_model();
	struct tc_model *other = load_gru("other.safetensors", hidden, 2, 1, 8);
	char err[TC_ERR_LEN];
	int other_weights = -1;
	cr_assert_eq(fits(path, other, &DEFAULTS, &other_weights, err), 0, "%s", err);
	cr_assert_eq(other_weights, 1);
	cr_assert_eq(fits(path, same, &DEFAULTS, &other_weights, err), 0, "%s", err);
	cr_assert_eq(other_weights, 0);
	tc_model_destroy(&same);
	tc_model_destroy(&other);
}

/* ---- saving ---------------------------------------------------------- */

/* Files in dir whose names start with prefix. */
static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	}
	closedir(d);
	return n;
}

/* Saving the engine t at path fails with a message containing want, and
 * path then holds the checkpoint it held before, alone. */
static void expect_save_fails(struct tc_tick *t, const char *dir, const char *name,
	const char *want)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(tc_tick_checkpoint(t, c, err), 0, "%s", err);
	cr_assert_eq(tc_checkpoint_save(c, path, err), -1, "saved at %s", path);
	cr_assert_not_null(strstr(err, path), "the message does not name %s: %s", path, err);
	cr_assert_not_null(strstr(err, want), "the message lacks \"%s\": %s", want, err);
	tc_checkpoint_destroy(&c);
	c = load_ok(path);
	cr_assert_eq(tc_checkpoint_get_info(c)->slots, 6, "the previous checkpoint changed");
	tc_checkpoint_destroy(&c);
	cr_assert_eq(count_files(dir, name), 1, "a temporary file is left next to %s", path);
}

Test(checkpoint, saving_into_a_missing_folder_fails_naming_the_path)
{
	struct tc_model *m = default_model();
	struct dh_buf log = {0};
	struct tc_tick *t = engine_before_checkpoint(m, &log);
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_checkpoint(t, c, err), 0, "%s", err);
	const char *path = dh_path("missing/state.ckpt");
	cr_assert_eq(tc_checkpoint_save(c, path, err), -1);
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);
	tc_checkpoint_destroy(&c);
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
	dh_buf_free(&log);
}

/* Mounts a tmpfs of `size` (mount options) on dir/mnt in a mount namespace of
 * this test's own; 0, or -1 when that is not allowed here. */
static int mount_tmpfs(const char *options)
{
	snprintf(tmpfs_dir, sizeof tmpfs_dir, "%s", dh_path("mnt"));
	cr_assert_eq(mkdir(tmpfs_dir, 0700), 0, "%s: %s", tmpfs_dir, strerror(errno));
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
		|| mount("tmpfs", tmpfs_dir, "tmpfs", 0, options) < 0) {
		tmpfs_dir[0] = '\0';
		return -1;
	}
	return 0;
}

Test(checkpoint, saving_where_no_temporary_file_can_be_created_keeps_the_previous_checkpoint)
{
	if (mount_tmpfs("size=1m") < 0) {
		cr_skip_test("cannot mount a tmpfs here (%s): needs CAP_SYS_ADMIN", strerror(errno));
	}
	struct tc_model *m = default_model();
	struct dh_buf log = {0};
	struct tc_tick *t = engine_before_checkpoint(m, &log);
	char path[512];
	snprintf(path, sizeof path, "%s/state.ckpt", tmpfs_dir);
	save(t, path);
	cr_assert_eq(mount(NULL, tmpfs_dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0, "%s",
		strerror(errno));
	expect_save_fails(t, tmpfs_dir, "state.ckpt", "Read-only file system");
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
	dh_buf_free(&log);
}

Test(checkpoint, saving_onto_a_full_disk_fails_with_no_space_left_and_keeps_the_previous_checkpoint)
{
	if (mount_tmpfs("size=64k") < 0) {
		cr_skip_test("cannot mount a tmpfs here (%s): needs CAP_SYS_ADMIN", strerror(errno));
	}
	struct tc_model *m = default_model();
	struct dh_buf log = {0};
	struct tc_tick *t = engine_before_checkpoint(m, &log);
	char path[512];
	snprintf(path, sizeof path, "%s/state.ckpt", tmpfs_dir);
	save(t, path);
	/* 1500 series: about 120 KB of states, more than the tmpfs holds. */
	struct tc_tick *big = engine(m, &(struct settings){INTERVAL_MS, 1, 0.2, 3, 2000});
	for (unsigned s = 0; s < 1500; s++) {
		char id[8];
		snprintf(id, sizeof id, "x%u", s);
		offer(big, id, 0, &log);
	}
	close_tick(big, &log);
	cr_assert_gt(tc_tick_checkpoint_size(big), 64 * 1024);
	expect_save_fails(big, tmpfs_dir, "state.ckpt", "No space left on device");
	tc_tick_destroy(&big);
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
	dh_buf_free(&log);
}

/* ---- random damage --------------------------------------------------- */

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

Test(checkpoint, random_damage_never_crashes_loading_and_what_loads_restores)
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
