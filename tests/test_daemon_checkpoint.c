/* test_daemon_checkpoint.c -- tickcastd's checkpoints through its real sockets: a SIGTERM
 * restart loses nothing, a kill -9 loses nothing a producer re-sends after restored_t, a
 * bad checkpoint is refused or discarded, and a failing write leaves the daemon serving
 * and the previous checkpoint restorable. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "cli_run.h"
#include "daemon_harness.h"

#define SERIES 40

TestSuite(daemon_checkpoint, .init = dh_setup, .fini = dh_teardown);

/* The config: the sample model, the event clock, checkpoints to dir/state/tc.ckpt
 * (or `where`) every `every` ticks, on_bad as given. */
static void write_config(const char *where, int every, const char *on_bad)
{
	char checkpoint[512];
	snprintf(checkpoint, sizeof checkpoint, "path: \"%s\", every_ticks: %d, on_bad: %s",
		where ? where : dh_path("state/tc.ckpt"), every, on_bad);
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.checkpoint = checkpoint});
}

/* kill -9, then a new daemon of the same config. */
static void kill_and_restart(void)
{
	dh_signal(SIGKILL);
	waitpid(dh.pid, NULL, 0);
	dh.pid = 0;
	dh_start();
}

static void make_state_folder(void)
{
	cr_assert_eq(mkdir(dh_path("state"), 0755), 0);
}

/* The status's checkpoint.restored_t as a bucket number (t - DH_T0), or -1
 * for null. */
static long long restored_bucket(void)
{
	json_t *s = dh_request("status");
	json_t *t = dh_json_get(s, "checkpoint.restored_t");
	cr_assert(json_is_null(t) || json_is_number(t), "checkpoint.restored_t is missing");
	long long b = json_is_null(t) ? -1 : (long long)(json_number_value(t) - DH_T0 + 0.5);
	json_decref(s);
	return b;
}

/* Forecast lines of buckets after `after` (their t, the second field, is
 * DH_T0 + bucket). */
static void keep_after(struct dh_lines *all, long long after, struct dh_lines *out)
{
	for (size_t i = 0; i < all->n; i++) {
		double t;
		cr_assert_eq(sscanf(strchr(all->v[i], ' '), " %lf", &t), 1, "%s", all->v[i]);
		if (t - DH_T0 > (double)after + 0.5) {
			dh_lines_add(out, all->v[i], strlen(all->v[i]));
		}
	}
}

/* A new subscriber and publisher after a (re)start; the old subscriber
 * stops taking forecasts, so each run's are its own. */
static void *connect_run(void *old_sub, void **pub)
{
	if (old_sub) {
		zmq_setsockopt(old_sub, ZMQ_UNSUBSCRIBE, "", 0);
	}
	void *sub = dh_subscriber();
	*pub = dh_publisher();
	return sub;
}

static void receive_into(void *sub, size_t n, struct dh_lines *all)
{
	struct dh_received got = {0};
	dh_receive(sub, &got, n, 200, DH_RECEIVE_MS);
	for (size_t i = 0; i < got.lines.n; i++) {
		dh_lines_add(all, got.lines.v[i], strlen(got.lines.v[i]));
	}
	dh_received_free(&got);
}

Test(daemon_checkpoint, a_restart_after_sigterm_loses_nothing)
{
	dh_copy_sample("w.safetensors");
	make_state_folder();
	write_config(NULL, 1000, "refuse");
	dh_start();
	cr_assert_eq(restored_bucket(), -1, "a first start restores nothing");
	void *pub, *sub = connect_run(NULL, &pub);
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "s", SERIES, 0, 5);
	dh_stop(DH_STOP_MS); /* steps bucket 4, publishes it, then writes the checkpoint */
	struct dh_lines got = {0};
	receive_into(sub, 5 * SERIES, &got);
	dh_start();
	cr_assert_eq(restored_bucket(), 4, "the checkpoint ends with the last bucket stepped");
	dh_expect_int("series", SERIES);
	sub = connect_run(sub, &pub);
	dh_send_buckets(pub, &file, "s", SERIES, 5, 5);
	dh_stop(DH_STOP_MS);
	receive_into(sub, 5 * SERIES, &got);
	struct dh_lines want = {0};
	dh_replay(dh.config, file.p, file.len, &want);
	dh_expect_same_lines(&got, &want, "two runs with a SIGTERM between");
	dh_lines_free(&got);
	dh_lines_free(&want);
	dh_buf_free(&file);
}

/* Runs buckets 0..kill_after (the last left open), kills the daemon with
 * SIGKILL right after bucket kill_after - 1 closes, restarts it, re-sends
 * every bucket after restored_t and checks the forecasts of those buckets
 * against the uninterrupted replay. */
static void expect_kill_recovers(int every, unsigned kill_after)
{
	dh_copy_sample("w.safetensors");
	make_state_folder();
	write_config(NULL, every, "refuse");
	dh_start();
	void *pub, *sub = connect_run(NULL, &pub);
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "s", SERIES, 0, kill_after + 1);
	/* Bucket kill_after is open; kill_after - 1 has just closed, its
	 * checkpoint (when one is due) perhaps being written. */
	kill_and_restart();
	/* Which checkpoint made it depends on the writer's pace (one due while
	 * the last is written waits for a later tick); none holds the open one. */
	long long restored = restored_bucket();
	cr_assert(restored <= (long long)kill_after - 1 && (every < 100 || restored == -1),
		"every %d ticks, killed with bucket %u open: restored bucket %lld", every, kill_after,
		restored);
	sub = connect_run(sub, &pub);
	struct dh_buf resend = {0};
	for (unsigned b = (unsigned)(restored + 1); b < 10; b++) {
		dh_add_bucket(&resend, "s", 0, SERIES, b);
	}
	dh_send(pub, resend.p, resend.len);
	dh_stop(DH_STOP_MS);
	for (unsigned b = kill_after + 1; b < 10; b++) {
		dh_add_bucket(&file, "s", 0, SERIES, b);
	}
	struct dh_lines all = {0}, want = {0}, got = {0};
	dh_replay(dh.config, file.p, file.len, &all);
	keep_after(&all, restored, &want);
	receive_into(sub, want.n, &got);
	dh_expect_same_lines(&got, &want, "the forecasts after restored_t");
	dh_lines_free(&all);
	dh_lines_free(&want);
	dh_lines_free(&got);
	dh_buf_free(&file);
	dh_buf_free(&resend);
}

Test(daemon_checkpoint, a_kill_between_checkpoints_loses_nothing_resent_after_restored_t)
{
	expect_kill_recovers(3, 5);
}

Test(daemon_checkpoint, a_kill_as_a_checkpoint_is_written_loses_nothing_resent)
{
	expect_kill_recovers(1, 4);
}

Test(daemon_checkpoint, a_kill_before_any_checkpoint_restores_nothing_and_loses_nothing)
{
	expect_kill_recovers(100, 3);
}

/* ---- bad checkpoints ---- */

static void write_bad(const char *kind)
{
	make_state_folder();
	const char *path = "state/tc.ckpt";
	if (strcmp(kind, "directory") == 0) {
		cr_assert_eq(mkdir(dh_path(path), 0755), 0);
	} else if (strcmp(kind, "empty") == 0) {
		dh_write_file(path, "", 0);
	} else if (strcmp(kind, "garbage") == 0) {
		dh_write_file(path, "TICKCKPT garbage after a good magic", 35);
	} else {
		/* another model's shape: a checkpoint tickcast replay wrote for a 1x8 GRU */
		static const int hidden[] = {8};
		dh_write_gru("other.safetensors", hidden, 1, 12, 3);
		struct dh_buf yaml = {0};
		dh_buf_printf(&yaml, "model: {%s}\ntick: {clock: event}\n",
			dh_gru_yaml("other.safetensors", hidden, 1, 12, NULL));
		dh_write_file("other.yaml", yaml.p, yaml.len);
		dh_buf_free(&yaml);
		char cmd[8192];
		snprintf(cmd, sizeof cmd, "printf 'a 1 1\\n' | %s replay -q -c %s --checkpoint-out %s",
			tickcast(), dh_path("other.yaml"), dh_path(path));
		cr_assert_eq(run_sh(cmd), 0, "%s", output);
	}
}

static void expect_refused(const char *kind, const char *why)
{
	dh_copy_sample("w.safetensors");
	write_bad(kind);
	write_config(NULL, 10, "refuse");
	const char *exe = getenv("TC_TICKCASTD");
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "%s --config %s 2>&1", exe, dh.config);
	cr_assert_eq(run_sh(cmd), 1, "%s: tickcastd should exit 1:\n%s", kind, output);
	expect_output(dh_path("state/tc.ckpt"));
	expect_output(why);
	expect_output("checkpoint.on_bad: discard");
}

static void expect_discarded(const char *kind)
{
	dh_copy_sample("w.safetensors");
	write_bad(kind);
	write_config(NULL, 10, "discard");
	dh_start();
	dh_expect_int("series", 0);
	cr_assert_eq(restored_bucket(), -1);
	struct stat st;
	cr_assert_eq(stat(dh_path("state/tc.ckpt.bad"), &st), 0, "%s: not renamed aside", kind);
	cr_assert_not_null(strstr(dh_log_tail(), "tc.ckpt.bad"), "%s", dh_log_tail());
	/* It serves, and the next checkpoint is a good one. */
	void *pub, *sub = connect_run(NULL, &pub);
	(void)sub;
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "s", SERIES, 0, 2);
	json_t *r = dh_request("checkpoint");
	cr_assert(json_is_true(json_object_get(r, "ok")), "%s", json_dumps(r, 0));
	cr_assert_eq(dh_json_int(r, "series"), SERIES);
	json_decref(r);
	dh_buf_free(&file);
}

Test(daemon_checkpoint, a_checkpoint_of_another_model_shape_is_refused_or_discarded)
{
	expect_refused("shape", "another model shape");
	dh_teardown();
	dh_setup();
	expect_discarded("shape");
}

Test(daemon_checkpoint, a_damaged_checkpoint_is_refused_or_discarded)
{
	expect_refused("garbage", "checksum");
	dh_teardown();
	dh_setup();
	expect_discarded("garbage");
}

Test(daemon_checkpoint, an_empty_file_or_a_directory_is_refused_or_discarded)
{
	expect_refused("empty", "empty");
	dh_teardown();
	dh_setup();
	expect_refused("directory", "directory");
	dh_teardown();
	dh_setup();
	expect_discarded("empty");
}

/* ---- failing writes ---- */

/* A daemon with the sample model, the event clock and checkpoints into
 * dir/state (a tmpfs of tmpfs_size, when not NULL), only when asked for;
 * returns the publisher of a new run. Skips where mounting is not allowed. */
static void *start_serving(const char *tmpfs_size)
{
	dh_copy_sample("w.safetensors");
	make_state_folder();
	if (tmpfs_size) {
		char options[32];
		snprintf(options, sizeof options, "size=%s", tmpfs_size);
		/* In a mount namespace of this test's own (the daemon it starts shares
		 * it), so that no mount outlives the test. */
		if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0
			|| mount("tmpfs", dh_path("state"), "tmpfs", 0, options) != 0) {
			cr_skip("cannot mount a tmpfs here (%s): needs root in a mount namespace",
				strerror(errno));
		}
	}
	write_config(NULL, 1000, "refuse");
	dh_start();
	void *pub, *sub = connect_run(NULL, &pub);
	(void)sub;
	return pub;
}

/* Sends two buckets, asks for a checkpoint; returns the reply's "ok". */
static int checkpoint_after_buckets(void *pub, struct dh_buf *file, unsigned first)
{
	dh_send_buckets(pub, file, "s", SERIES, first, 2);
	json_t *r = dh_request("checkpoint");
	int ok = json_is_true(json_object_get(r, "ok"));
	json_decref(r);
	return ok;
}

Test(daemon_checkpoint, a_checkpoint_control_request_writes_one_now_and_status_counts_it)
{
	void *pub = start_serving(NULL);
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "s", SERIES, 0, 3);
	json_t *r = dh_request("checkpoint");
	cr_assert(json_is_true(json_object_get(r, "ok")), "%s", json_dumps(r, 0));
	cr_assert_str_eq(dh_json_str(r, "path"), dh_path("state/tc.ckpt"));
	cr_assert_eq(dh_json_int(r, "series"), SERIES);
	struct stat st;
	cr_assert_eq(stat(dh_path("state/tc.ckpt"), &st), 0);
	cr_assert_eq(dh_json_int(r, "bytes"), (long long)st.st_size);
	/* Bucket 2 is open: the checkpoint holds the ticks closed before it. */
	cr_assert_float_eq(json_number_value(json_object_get(r, "t")), DH_T0 + 1, 1e-6);
	json_decref(r);
	dh_expect_int("checkpoint.written", 1);
	dh_expect_int("checkpoint.failures", 0);
	dh_buf_free(&file);
	/* `tickcast checkpoint` sends the same request. */
	char args[4096];
	snprintf(args, sizeof args, "checkpoint -e %s", dh.control);
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("\"series\": 40");
	dh_expect_int("checkpoint.written", 2);
}

Test(daemon_checkpoint, a_folder_gone_while_serving_counts_a_failure_and_keeps_the_old_file)
{
	void *pub = start_serving(NULL);
	struct dh_buf file = {0};
	cr_assert(checkpoint_after_buckets(pub, &file, 0));
	/* The folder moves away: the temporary file cannot be created. */
	cr_assert_eq(rename(dh_path("state"), dh_path("moved")), 0);
	cr_assert(!checkpoint_after_buckets(pub, &file, 2), "a write into a missing folder succeeded");
	dh_expect_int("checkpoint.failures", 1);
	cr_assert_eq(rename(dh_path("moved"), dh_path("state")), 0);
	/* Still serving: readings are stepped and forecast. */
	dh_send_buckets(pub, &file, "s", SERIES, 4, 2);
	dh_expect_int("checkpoint.written", 1);
	kill_and_restart();
	cr_assert_eq(restored_bucket(), 0, "the first checkpoint (bucket 1 open) still restores");
	dh_buf_free(&file);
}

/* start_serving on a tmpfs, with one checkpoint written (bucket 1 open). */
static void *serve_on_tmpfs(const char *size, struct dh_buf *file)
{
	void *pub = start_serving(size);
	cr_assert(checkpoint_after_buckets(pub, file, 0));
	return pub;
}

Test(daemon_checkpoint, a_full_disk_counts_a_failure_and_the_previous_checkpoint_restores)
{
	/* 64 KiB: one checkpoint of 40 series (~25 KiB) fits, and the filler
	 * leaves less than another free. */
	struct dh_buf file = {0};
	void *pub = serve_on_tmpfs("64k", &file);
	size_t fill = 40 * 1024;
	char *zeros = calloc(1, fill);
	dh_write_file("state/filler", zeros, fill);
	free(zeros);
	cr_assert(!checkpoint_after_buckets(pub, &file, 2), "a write into a full disk succeeded");
	dh_expect_int("checkpoint.failures", 1);
	cr_assert_not_null(strstr(dh_log_tail(), "No space left on device"), "%s", dh_log_tail());
	dh_send_buckets(pub, &file, "s", SERIES, 4, 1);
	kill_and_restart();
	cr_assert_eq(restored_bucket(), 0, "the checkpoint written before the disk filled restores");
	dh_stop(DH_STOP_MS);
	umount2(dh_path("state"), MNT_DETACH);
	dh_buf_free(&file);
}

Test(daemon_checkpoint, a_read_only_folder_counts_a_failure_and_the_daemon_serves_on)
{
	struct dh_buf file = {0};
	void *pub = serve_on_tmpfs("1m", &file);
	cr_assert_eq(mount(NULL, dh_path("state"), NULL, MS_REMOUNT | MS_RDONLY, NULL), 0, "%s",
		strerror(errno));
	cr_assert(!checkpoint_after_buckets(pub, &file, 2));
	dh_expect_int("checkpoint.failures", 1);
	cr_assert_not_null(strstr(dh_log_tail(), "Read-only file system"), "%s", dh_log_tail());
	dh_send_buckets(pub, &file, "s", SERIES, 4, 1);
	dh_stop(DH_STOP_MS); /* the final checkpoint fails too; the exit is still clean */
	dh_start();
	cr_assert_eq(restored_bucket(), 0);
	dh_stop(DH_STOP_MS);
	umount2(dh_path("state"), MNT_DETACH);
	dh_buf_free(&file);
}
