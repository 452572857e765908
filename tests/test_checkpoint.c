/* test_checkpoint.c -- the tick engine's snapshot: a restored engine steps bit for bit
 * as the one that wrote it, a checkpoint of another model or settings does not fit,
 * and a failed save keeps the previous checkpoint. (Damaged files:
 * test_checkpoint_damage.c.) */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "checkpoint_fixture.h"

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

/* Buckets 8..15: h and i take slots 3 and 1, j a new slot 6; c and f stop and
 * are evicted, k then takes f's slot 5; g misses two ticks, is evicted and
 * comes back into its own slot 4. */
static const char *const AFTER[] = {"acfgh", "aghij", "ahij", "agij", "aghijk", "ahk", "aijk",
	"ghk"};

static size_t free_order(const struct tc_tick *t, uint32_t out[64])
{
	return tc_registry_free_order(tc_tick_registry(t), out);
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
	struct tc_tick *big = engine(m, &(struct settings){INTERVAL_MS, 1, 0.2, 3, 2000, 1});
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
