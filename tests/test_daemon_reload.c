/* test_daemon_reload.c -- tickcastd swapping models while it serves: SIGHUP,
 * the control socket's `reload` and model.watch; what a good reload keeps
 * (every series' state) and what a bad one leaves alone (the old model). */
#include <pthread.h>

#include "daemon_harness.h"
#include "forecast_format.h"
#include "reading.h"
#include "tick.h"

TestSuite(daemon_reload, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

#define SERIES 60
/* Event clock whose buckets also close after 250 ms without a reading, so
 * that a reload between buckets is swapped in at once. */
#define FLUSHING_TICK "clock: event, interval_ms: 1000, flush_ms: 250"

static long long sent;

/* Sends bucket b of series "r-0" .. "r-<SERIES-1>" as one message (and
 * appends it to file), then waits until the daemon has taken it all. */
static void send_bucket(void *pub, struct dh_buf *file, unsigned b)
{
	size_t from = file->len;
	dh_add_bucket(file, "r-", 0, SERIES, b);
	dh_send(pub, file->p + from, file->len - from);
	sent += SERIES;
	long long accepted = dh_wait_int("readings.accepted", sent, DH_WAIT_MS);
	cr_assert_eq(accepted, sent, "%lld readings accepted of %lld sent; log:\n%s", accepted, sent,
		dh_log_tail());
}

/* Waits until `ticks` buckets are stepped (the last one by flushing). */
static void wait_ticks(long long ticks)
{
	cr_assert_eq(dh_wait_int("ticks", ticks, DH_WAIT_MS), ticks);
}

/* `reload` on the control socket; the reply's ok must be `ok`. Returns the reply. */
static json_t *reload_expect(int ok)
{
	json_t *r = dh_request("reload");
	char *text = json_dumps(r, JSON_COMPACT);
	cr_assert_eq(json_is_true(json_object_get(r, "ok")), ok, "reload replied %s; log:\n%s", text,
		dh_log_tail());
	free(text);
	return r;
}

/* Receives every forecast after the daemon stopped. */
static void receive_all(void *sub, struct dh_received *got, size_t want)
{
	dh_receive(sub, got, want, 200, DH_RECEIVE_MS);
}

/* ---- the same weights, rewritten, while readings flow ---- */

struct reloader {
	json_t *reply;
};

static void *reload_main(void *arg)
{
	struct reloader *r = arg;
	const char *req = "reload";
	size_t len = 6;
	r->reply = dh_request_frames_raw(&req, &len, 1, DH_WAIT_MS);
	return NULL;
}

Test(daemon_reload, the_same_weights_rewritten_keep_every_state_and_lose_nothing)
{
	enum { BUCKETS = 12 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL,
		.tick = "clock: event, interval_ms: 1000, flush_ms: 1000"});
	dh_start();
	char sha_before[65];
	snprintf(sha_before, sizeof sha_before, "%s", dh_sha256("w.safetensors"));
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	struct reloader r = {0};
	pthread_t thread;
	int started = 0;
	for (unsigned b = 0; b < BUCKETS; b++) {
		if (b == 4) { /* the file written anew (same bytes), then SIGHUP */
			dh_copy_sample("w.safetensors");
			dh_signal(SIGHUP);
		}
		if (b == 8) { /* again, then `reload`, which returns once swapped */
			dh_copy_sample("w.safetensors");
			cr_assert_eq(pthread_create(&thread, NULL, reload_main, &r), 0);
			started = 1;
		}
		send_bucket(pub, &file, b);
		dh_sleep_ms(30);
	}
	cr_assert(started);
	pthread_join(thread, NULL);
	char *text = json_dumps(r.reply, JSON_COMPACT);
	cr_assert(json_is_true(json_object_get(r.reply, "ok")), "reload replied %s", text);
	free(text);
	json_decref(r.reply);
	dh_expect_int("reload.succeeded", 2);
	wait_ticks(BUCKETS); /* the last bucket flushed: no tick skipped */
	json_t *s = dh_request("status");
	cr_assert_eq(dh_json_int(s, "reload.failed"), 0);
	cr_assert_str_eq(dh_json_str(s, "model.sha256"), sha_before);
	cr_assert_eq(dh_json_int(s, "readings.accepted"), SERIES * BUCKETS);
	cr_assert_eq(dh_json_int(s, "readings.rejected_total"), 0);
	cr_assert_eq(dh_json_int(s, "ticks"), BUCKETS);
	json_decref(s);
	dh_stop_and_expect_replay(sub, dh.config, file.p, file.len, "forecasts across two reloads");
	dh_buf_free(&file);
}

/* ---- other weights of the same shape ---- */

struct collected {
	struct dh_lines lines;
	char *line;
};

static int collect(void *ud, const struct tc_forecasts *f)
{
	struct collected *c = ud;
	for (size_t i = 0; i < f->n; i++) {
		size_t id_len;
		const char *id = tc_forecasts_id(f, i, &id_len);
		struct tc_forecast_values v = {.y = f->outputs + i * (size_t)f->n_outputs,
			.n = f->n_outputs, .warm = 1};
		size_t len = tc_forecast_format(c->line, TC_FORMAT_TEXT, id, id_len, f->bucket_ms, &v);
		dh_lines_add(&c->lines, c->line, len);
	}
	return 0;
}

static struct tc_model *load_model(const char *config_name, struct tc_config *cfg)
{
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_load(cfg, dh_path(config_name), err), 0, "%s", err);
	struct tc_model *m = tc_model_load(&cfg->model, cfg->weights_path, err);
	cr_assert_not_null(m, "%s", err);
	return m;
}

/* What the tick engine gives for the readings text when the model of
 * config `after` replaces that of `before`, states kept, at the first
 * reading of bucket time t_swap: the daemon's reload, without the daemon. */
static void swap_oracle(const char *text, size_t len, const char *before, const char *after,
	double t_swap, struct dh_lines *out)
{
	static struct tc_config cfg_before, cfg_after;
	struct tc_model *m1 = load_model(before, &cfg_before);
	struct tc_model *m2 = load_model(after, &cfg_after);
	char err[TC_ERR_LEN];
	struct tc_tick_config tick_cfg = cfg_before.tick;
	tick_cfg.clock = TC_CLOCK_EVENT;
	struct tc_tick *t = tc_tick_create(&tick_cfg, m1, 1 << 20, 0, NULL, err);
	cr_assert_not_null(t, "%s", err);
	size_t line_max = tc_forecast_max_len(tc_model_get_spec(m1)->outputs, 0);
	struct collected c = {.line = malloc(line_max)};
	struct tc_emitter out_emitter = {collect, &c};
	int swapped = 0;
	for (const char *line = text, *end = text + len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t line_len = (size_t)((nl ? nl : end) - line);
		struct tc_reading r;
		enum tc_reject why;
		cr_assert_eq(tc_reading_parse(&r, line, line_len, 1, &why, err), 0, "%s", err);
		if (!swapped && r.time >= t_swap) {
			cr_assert_eq(tc_tick_close(t, &out_emitter, err), 0, "%s", err);
			cr_assert_eq(tc_tick_set_model(t, m2, 0, err), 0, "%s", err);
			swapped = 1;
		}
		cr_assert_eq(tc_tick_offer(t, &r, &out_emitter, &why, err), 0, "%s", err);
		line = nl ? nl + 1 : end;
	}
	cr_assert_eq(tc_tick_close(t, &out_emitter, err), 0, "%s", err);
	tc_tick_destroy(&t);
	tc_model_destroy(&m1);
	tc_model_destroy(&m2);
	free(c.line);
	*out = c.lines;
}

/* The forecast line of the same series and time as `line` in lines, or NULL. */
static const char *same_key(const struct dh_lines *lines, const char *line)
{
	const char *sp = strchr(line, ' ');
	sp = sp ? strchr(sp + 1, ' ') : NULL;
	cr_assert_not_null(sp);
	size_t key = (size_t)(sp - line) + 1;
	for (size_t i = 0; i < lines->n; i++) {
		if (strncmp(lines->v[i], line, key) == 0) {
			return lines->v[i];
		}
	}
	return NULL;
}

Test(daemon_reload, other_weights_of_the_same_shape_are_swapped_in_with_states_kept)
{
	const int hidden[] = {64, 64};
	dh_copy_sample("w.safetensors");
	dh_copy_sample("a.safetensors");
	dh_write_gru("b.safetensors", hidden, 2, 12, 42);
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = FLUSHING_TICK});
	dh_write_config_as("a.yaml", &(struct dh_config){
		.model = dh_gru_yaml("a.safetensors", hidden, 2, 12, NULL), .tick = FLUSHING_TICK});
	dh_write_config_as("b.yaml", &(struct dh_config){
		.model = dh_gru_yaml("b.safetensors", hidden, 2, 12, NULL), .tick = FLUSHING_TICK});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	for (unsigned b = 0; b < 4; b++) {
		send_bucket(pub, &file, b);
	}
	wait_ticks(4);
	size_t len;
	char *bytes = dh_read_file(dh_path("b.safetensors"), &len);
	dh_write_file("w.safetensors", bytes, len);
	free(bytes);
	json_decref(reload_expect(1));
	json_t *s = dh_request("status");
	cr_assert_str_eq(dh_json_str(s, "model.sha256"), dh_sha256("b.safetensors"));
	cr_assert_eq(dh_json_int(s, "reload.succeeded"), 1);
	cr_assert_eq(dh_json_int(s, "reload.failed"), 0);
	cr_assert_str_eq(dh_json_str(s, "reload.last.trigger"), "control");
	cr_assert(json_is_true(dh_json_get(s, "reload.last.ok")));
	cr_assert(json_is_null(dh_json_get(s, "reload.last.error")));
	json_decref(s);
	for (unsigned b = 4; b < 8; b++) {
		send_bucket(pub, &file, b);
	}
	dh_stop(DH_STOP_MS);

	struct dh_lines replay_a = {0}, swapped = {0};
	dh_replay(dh_path("a.yaml"), file.p, file.len, &replay_a);
	swap_oracle(file.p, file.len, "a.yaml", "b.yaml", DH_T0 + 4, &swapped);
	struct dh_received got = {0};
	receive_all(sub, &got, replay_a.n);
	/* Before the swap: model A, as replay has it. */
	struct dh_lines got_before = {0}, want_before = {0}, got_after = {0};
	dh_lines_select(&got_before, &got.lines, "", 0, DH_T0 + 4);
	dh_lines_select(&want_before, &replay_a, "", 0, DH_T0 + 4);
	dh_expect_same_lines(&got_before, &want_before, "forecasts before the swap");
	/* After: every forecast differs from model A's ... */
	dh_lines_select(&got_after, &got.lines, "", DH_T0 + 4, 1e300);
	cr_assert_eq(got_after.n, 4 * SERIES);
	for (size_t i = 0; i < got_after.n; i++) {
		const char *a = same_key(&replay_a, got_after.v[i]);
		cr_assert_not_null(a, "no replay line for %s", got_after.v[i]);
		cr_assert_str_neq(got_after.v[i], a, "the new weights did not change a forecast");
	}
	/* ... and is model B's stepping on from model A's states. */
	dh_expect_same_lines(&got.lines, &swapped, "forecasts with the states kept across the swap");
	dh_buf_free(&file);
	dh_lines_free(&replay_a);
	dh_lines_free(&swapped);
	dh_lines_free(&got_before);
	dh_lines_free(&want_before);
	dh_lines_free(&got_after);
	dh_received_free(&got);
}

/* ---- refused reloads ---- */

/* Checks status after a refused reload: `failed` failures, the last one's
 * error containing `why`, the old weights still serving. */
static void expect_refused(long long failed, const char *trigger, const char *why,
	const char *sha_serving)
{
	dh_expect_int("reload.failed", failed);
	json_t *s = dh_request("status");
	cr_assert_eq(dh_json_int(s, "reload.succeeded"), 0);
	cr_assert(json_is_false(dh_json_get(s, "reload.last.ok")));
	cr_assert_str_eq(dh_json_str(s, "reload.last.trigger"), trigger);
	const char *error = dh_json_str(s, "reload.last.error");
	cr_assert(strstr(error, why), "reload.last.error \"%s\" lacks \"%s\"", error, why);
	cr_assert_str_eq(dh_json_str(s, "model.sha256"), sha_serving);
	json_decref(s);
}

Test(daemon_reload, broken_weights_are_refused_and_the_old_model_keeps_serving)
{
	const int narrow[] = {32, 32};
	dh_copy_sample("w.safetensors");
	dh_copy_sample("a.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = FLUSHING_TICK});
	dh_write_config_as("a.yaml", &(struct dh_config){
		.model = "weights: a.safetensors, layers: [{type: gru, hidden: 64}, "
			"{type: gru, hidden: 64}], head: {type: linear, outputs: 12}",
		.tick = FLUSHING_TICK});
	char sha_a[65];
	snprintf(sha_a, sizeof sha_a, "%s", dh_sha256("a.safetensors"));
	const char *weights = dh_path("w.safetensors");
	char weights_path[256];
	snprintf(weights_path, sizeof weights_path, "%s", weights);
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	for (unsigned b = 0; b < 3; b++) {
		send_bucket(pub, &file, b);
	}
	wait_ticks(3);

	/* Truncated: the first 1000 bytes of the weights. */
	size_t len;
	char *bytes = dh_read_file(dh_path("a.safetensors"), &len);
	dh_write_file("w.safetensors", bytes, 1000);
	free(bytes);
	json_t *r = reload_expect(0);
	const char *error = dh_json_str(r, "error");
	cr_assert(strstr(error, weights_path), "the error \"%s\" does not name %s", error,
		weights_path);
	expect_refused(1, "control", error, sha_a);
	json_decref(r);
	for (unsigned b = 3; b < 5; b++) {
		send_bucket(pub, &file, b);
	}
	wait_ticks(5);

	/* The wrong shape: layers of 32 where the config says 64. */
	dh_write_gru("w.safetensors", narrow, 2, 12, 3);
	r = reload_expect(0);
	error = dh_json_str(r, "error");
	cr_assert(strstr(error, weights_path), "the error \"%s\" does not name %s", error,
		weights_path);
	cr_assert(strstr(error, "expected [192, 1], file has [96, 1]"),
		"the error \"%s\" does not say which tensor is wrong", error);
	expect_refused(2, "control", "expected [192, 1]", sha_a);
	json_decref(r);
	for (unsigned b = 5; b < 7; b++) {
		send_bucket(pub, &file, b);
	}
	dh_stop_and_expect_replay(sub, dh_path("a.yaml"), file.p, file.len, "forecasts of the old model");
	dh_buf_free(&file);
}

/* Whether error begins with "<path>:<line>:<col>: ". */
static int has_position(const char *error, const char *path)
{
	size_t n = strlen(path);
	int line = 0, col = 0, end = 0;
	return strncmp(error, path, n) == 0
		&& sscanf(error + n, ":%d:%d: %n", &line, &col, &end) == 2 && end > 0 && line > 0
		&& col > 0;
}

Test(daemon_reload, a_broken_config_is_refused_with_its_line_and_column)
{
	dh_copy_sample("w.safetensors");
	const struct dh_config good = {.model = DH_SAMPLE_MODEL, .tick = FLUSHING_TICK};
	dh_write_config(&good);
	dh_write_config_as("good.yaml", &good);
	char sha[65];
	snprintf(sha, sizeof sha, "%s", dh_sha256("w.safetensors"));
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	for (unsigned b = 0; b < 2; b++) {
		send_bucket(pub, &file, b);
	}
	wait_ticks(2);
	static const char broken[] = "model: {weights: w.safetensors,\n"
		"  layers: [{type: gru, hidden: 64}\n"
		"tick: {clock: event}\n";
	dh_write_file("tickcast.yaml", broken, sizeof broken - 1);
	json_t *r = reload_expect(0);
	const char *error = dh_json_str(r, "error");
	cr_assert(has_position(error, dh.config), "the error \"%s\" does not begin with %s:LINE:COL:",
		error, dh.config);
	expect_refused(1, "control", error, sha);
	json_decref(r);
	/* SIGHUP: the same refusal. */
	dh_signal(SIGHUP);
	expect_refused(2, "SIGHUP", dh.config, sha);
	json_t *s = dh_request("status");
	const char *last = dh_json_str(s, "reload.last.error");
	cr_assert(has_position(last, dh.config), "\"%s\" does not begin with %s:LINE:COL:", last,
		dh.config);
	json_decref(s);
	for (unsigned b = 2; b < 4; b++) {
		send_bucket(pub, &file, b);
	}
	dh_stop_and_expect_replay(sub, dh_path("good.yaml"), file.p, file.len, "forecasts after a refused config");
	dh_buf_free(&file);
}

/* ---- a change of layer sizes ---- */

static void expect_layers(int hidden)
{
	json_t *s = dh_request("status");
	json_t *layers = dh_json_get(s, "model.layers");
	char *text = json_dumps(layers, JSON_COMPACT);
	cr_assert(json_is_array(layers) && json_array_size(layers) == 1
		&& json_integer_value(json_array_get(layers, 0)) == hidden,
		"status model.layers is %s, expected [%d]", text, hidden);
	free(text);
	json_decref(s);
}

Test(daemon_reload, new_layer_sizes_need_reset_state_on_change_and_then_start_from_zero)
{
	const int small[] = {8}, large[] = {16};
	dh_write_gru("a.safetensors", small, 1, 4, 1);
	dh_write_gru("b.safetensors", large, 1, 4, 2);
	const struct dh_config a = {.model = dh_gru_yaml("a.safetensors", small, 1, 4, NULL),
		.tick = FLUSHING_TICK};
	dh_write_config(&a);
	dh_write_config_as("a.yaml", &a);
	char sha_a[65];
	snprintf(sha_a, sizeof sha_a, "%s", dh_sha256("a.safetensors"));
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	for (unsigned b = 0; b < 3; b++) {
		send_bucket(pub, &file, b);
	}
	wait_ticks(3);

	/* Hidden 8 -> 16 without reset_state_on_change: refused. */
	dh_write_config(&(struct dh_config){.model = dh_gru_yaml("b.safetensors", large, 1, 4, NULL),
		.tick = FLUSHING_TICK});
	json_t *r = reload_expect(0);
	const char *error = dh_json_str(r, "error");
	cr_assert(strstr(error, "reset_state_on_change"), "the error \"%s\" does not say how to "
		"allow it", error);
	json_decref(r);
	expect_refused(1, "control", "reset_state_on_change", sha_a);
	expect_layers(8);
	for (unsigned b = 3; b < 5; b++) {
		send_bucket(pub, &file, b);
	}
	wait_ticks(5);
	size_t before = file.len;

	/* With it: accepted, every state back to zero. */
	const struct dh_config b_cfg = {.model = dh_gru_yaml("b.safetensors", large, 1, 4,
		"reset_state_on_change: true"), .tick = FLUSHING_TICK};
	dh_write_config(&b_cfg);
	dh_write_config_as("b.yaml", &b_cfg);
	json_decref(reload_expect(1));
	expect_layers(16);
	json_t *s = dh_request("status");
	cr_assert_str_eq(dh_json_str(s, "model.sha256"), dh_sha256("b.safetensors"));
	cr_assert_eq(dh_json_int(s, "reload.succeeded"), 1);
	json_decref(s);
	json_t *one = dh_request("series r-0");
	cr_assert(json_is_true(json_object_get(one, "ok")));
	cr_assert(json_is_null(json_object_get(one, "last_forecast")),
		"a reset series has no forecast until it steps again");
	json_decref(one);
	for (unsigned b = 5; b < 8; b++) {
		send_bucket(pub, &file, b);
	}
	dh_stop(DH_STOP_MS);

	/* Up to the swap: model A on everything; after: model B on what came
	 * after it alone, as for brand-new series. */
	struct dh_lines want_a = {0}, want_b = {0};
	dh_replay(dh_path("a.yaml"), file.p, before, &want_a);
	dh_replay(dh_path("b.yaml"), file.p + before, file.len - before, &want_b);
	struct dh_received got = {0};
	receive_all(sub, &got, want_a.n + want_b.n);
	struct dh_lines got_a = {0}, got_b = {0};
	dh_lines_select(&got_a, &got.lines, "", 0, DH_T0 + 5);
	dh_lines_select(&got_b, &got.lines, "", DH_T0 + 5, 1e300);
	dh_expect_same_lines(&got_a, &want_a, "forecasts before the new layer sizes");
	dh_expect_same_lines(&got_b, &want_b, "forecasts after the reset");
	dh_buf_free(&file);
	dh_lines_free(&want_a);
	dh_lines_free(&want_b);
	dh_lines_free(&got_a);
	dh_lines_free(&got_b);
	dh_received_free(&got);
}

/* ---- model.watch ---- */

Test(daemon_reload, with_model_watch_replacing_the_weights_reloads_them)
{
	const int hidden[] = {64, 64};
	dh_copy_sample("w.safetensors");
	dh_write_gru("b.safetensors", hidden, 2, 12, 5);
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL ", watch: true",
		.tick = "clock: wall, interval_ms: 100"});
	dh_start();
	dh_sleep_ms(300);
	json_t *s = dh_request("status");
	cr_assert(json_is_null(dh_json_get(s, "reload.last")), "a reload nobody asked for");
	json_decref(s);
	size_t len;
	char *bytes = dh_read_file(dh_path("b.safetensors"), &len);
	dh_write_file("w.safetensors", bytes, len);
	free(bytes);
	dh_expect_int("reload.succeeded", 1);
	s = dh_request("status");
	cr_assert_str_eq(dh_json_str(s, "reload.last.trigger"), "watch");
	cr_assert_str_eq(dh_json_str(s, "model.sha256"), dh_sha256("b.safetensors"));
	cr_assert_eq(dh_json_int(s, "reload.failed"), 0);
	json_decref(s);
	dh_stop(DH_STOP_MS);
}

/* ---- a reload never holds up status ---- */

Test(daemon_reload, status_answers_at_once_while_a_reload_waits_for_the_tick_boundary)
{
	enum { INTERVAL_MS = 3000, PROBE_MS = 1500, PROMPT_MS = 500 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL,
		.tick = "clock: wall, interval_ms: 3000"});
	dh_start();
	void *pub = dh_publisher();
	/* Just after a boundary, a reading opens the tick: the swap waits ~3 s. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	dh_sleep_ms((int)(INTERVAL_MS - ms % INTERVAL_MS) + 100);
	dh_send(pub, "held.open 1", 11);
	dh_expect_int("readings.accepted", 1);
	dh_copy_sample("w.safetensors");
	dh_signal(SIGHUP);
	double start = dh_now_ms(), slowest = 0;
	while (dh_now_ms() - start < PROBE_MS) {
		double t0 = dh_now_ms();
		json_t *s = dh_request("status");
		double took = dh_now_ms() - t0;
		slowest = took > slowest ? took : slowest;
		cr_assert_not_null(json_object_get(s, "reload"));
		json_decref(s);
		dh_sleep_ms(50);
	}
	cr_assert_lt(slowest, PROMPT_MS, "status took %.0f ms during a reload", slowest);
	cr_assert_eq(dh_status_int("reload.succeeded"), 0, "the swap waits for the boundary");
	dh_expect_int("reload.succeeded", 1);
}

/* ---- weights rewritten in place while the watch reloads ---- */

/* Rewrites dir/name in place (truncated, then written in 1 MB pieces with
 * pauses), as `cp new old` does but slower, so that a reader can meet a
 * short file. */
static void rewrite_in_place(const char *name, const char *bytes, size_t len)
{
	int fd = open(dh_path(name), O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0, "%s: %s", dh_path(name), strerror(errno));
	for (size_t off = 0; off < len;) {
		size_t piece = len - off < (1u << 20) ? len - off : (1u << 20);
		cr_assert_eq(write(fd, bytes + off, piece), (ssize_t)piece);
		off += piece;
		dh_sleep_ms(5);
	}
	close(fd);
}

Test(daemon_reload, weights_rewritten_in_place_under_the_watch_never_stop_the_daemon)
{
	enum { REWRITES = 8 };
	const int hidden[] = {512, 512};
	dh_write_gru("big.safetensors", hidden, 2, 12, 7);
	dh_write_config(&(struct dh_config){.model = dh_gru_yaml("big.safetensors", hidden, 2, 12,
		"watch: true"), .tick = FLUSHING_TICK});
	dh_start();
	size_t len;
	char *bytes = dh_read_file(dh_path("big.safetensors"), &len);
	/* Rewrites alternating two sets of weights, each starting ~200 ms after
	 * the last ended: when a reload that the last one set off would read. */
	dh_write_gru("other.safetensors", hidden, 2, 12, 8);
	size_t other_len;
	char *other = dh_read_file(dh_path("other.safetensors"), &other_len);
	cr_assert_eq(other_len, len);
	for (int i = 0; i < REWRITES; i++) {
		rewrite_in_place("big.safetensors", i % 2 ? other : bytes, len);
		dh_sleep_ms(200);
		cr_assert_eq(waitpid(dh.pid, NULL, WNOHANG), 0, "the daemon died; log:\n%s",
			dh_log_tail());
	}
	/* The last file written is `other`: once it settles, it is what serves. */
	char want[65];
	snprintf(want, sizeof want, "%s", dh_sha256("big.safetensors"));
	double deadline = dh_now_ms() + DH_WAIT_MS;
	const char *sha = NULL;
	json_t *s = NULL;
	while (dh_now_ms() < deadline) {
		json_decref(s);
		s = dh_request("status");
		sha = dh_json_str(s, "model.sha256");
		if (sha && strcmp(sha, want) == 0) {
			break;
		}
		dh_sleep_ms(50);
	}
	cr_assert_str_eq(sha, want, "the settled file is not what serves; log:\n%s", dh_log_tail());
	cr_assert_geq(dh_json_int(s, "reload.succeeded"), 1);
	cr_assert_eq(dh_json_int(s, "reload.failed"), 0, "a reload read a file being written; "
		"log:\n%s", dh_log_tail());
	json_decref(s);
	free(bytes);
	free(other);
}

/* ---- what a reload cannot apply is named ---- */

Test(daemon_reload, a_reload_names_the_log_level_model_watch_and_metrics_as_needing_a_restart)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = FLUSHING_TICK});
	dh_start();
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL ", watch: true",
		.tick = FLUSHING_TICK, .metrics = "listen: \"127.0.0.1:1\""});
	size_t len;
	char *text = dh_read_file(dh.config, &len);
	struct dh_buf changed = {0};
	char *level = strstr(text, "level: info");
	cr_assert_not_null(level);
	dh_buf_add(&changed, text, (size_t)(level - text));
	dh_buf_printf(&changed, "level: debug%s", level + strlen("level: info"));
	dh_write_file("tickcast.yaml", changed.p, changed.len);
	dh_buf_free(&changed);
	free(text);
	json_decref(reload_expect(1));
	const char *log = dh_log_tail();
	cr_assert(strstr(log, "the log section changed; it takes effect on restart"), "%s", log);
	cr_assert(strstr(log, "the model.watch setting changed; it takes effect on restart"), "%s",
		log);
	cr_assert(strstr(log, "the metrics section changed; it takes effect on restart"), "%s", log);
}
