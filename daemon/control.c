/* control.c -- answering status, reload and series requests. */
#include "control.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "error.h"
#include "log.h"
#include "series_id.h"
#include "utf8.h"

#define POLL_MS 100
#define REQUEST_MAX 512  /* bytes: "series " and an id, with room to spare */

struct tc_control {
	struct tc_control_deps deps;
	void *socket;
	pthread_t thread;
	int started;
	atomic_int stop;
};

/* A JSON string of len bytes of s, which may be any bytes (a series id, a
 * path in an error): bytes that are not UTF-8 become U+FFFD (utf8.h), so the
 * reply is always valid JSON. NULL only when out of memory. */
static json_t *json_text(const char *s, size_t len)
{
	if (tc_utf8_valid(s, len)) {
		return json_stringn(s, len);
	}
	char *fixed = malloc(3 * len);
	json_t *j = fixed ? json_stringn(fixed, tc_utf8_replace_invalid(fixed, s, len)) : NULL;
	free(fixed);
	return j;
}

static json_t *json_cstr(const char *s)
{
	return json_text(s, strlen(s));
}

/* The id's bytes as hex, for a reply whose "series" had bytes replaced. */
static json_t *hex_of(const char *s, size_t len)
{
	char hex[2 * TC_ID_MAX + 1];
	for (size_t i = 0; i < len && i < TC_ID_MAX; i++) {
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
	}
	return json_stringn(hex, 2 * (len < TC_ID_MAX ? len : TC_ID_MAX));
}

static json_t *float_array(const float *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(a, json_real((double)v[i]));
	}
	return a;
}

static json_t *model_json(const struct tc_ticker_status *t, const struct tc_reload_status *r)
{
	json_t *layers = json_array(), *types = json_array();
	for (int k = 0; k < t->model.n_layers; k++) {
		json_array_append_new(layers, json_integer(t->model.hidden[k]));
		json_array_append_new(types, json_string(tc_layer_type_to_string(t->model.type[k])));
	}
	return json_pack("{s:i, s:o, s:o, s:i, s:b, s:o, s:s}", "input_size", t->model.input_size,
		"layers", layers, "layer_types", types, "outputs", t->model.outputs,
		"reset_after", t->model.reset_after,
		"weights", json_cstr(r->config.weights_path), "sha256", r->sha256);
}

static json_t *reload_json(const struct tc_reload_status *r)
{
	json_t *last = json_null();
	if (r->attempted) {
		char when[40];
		time_t secs = (time_t)(r->when_unix_ms / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		last = json_pack("{s:s, s:s, s:b, s:o}", "time", when, "trigger", r->trigger,
			"ok", r->ok, "error", r->ok ? json_null() : json_cstr(r->error));
	}
	return json_pack("{s:o, s:I, s:I}", "last", last, "succeeded", (json_int_t)r->ok_count,
		"failed", (json_int_t)r->failed_count);
}

static json_t *error_json(const char *text)
{
	return json_pack("{s:b, s:o}", "ok", 0, "error", json_cstr(text));
}

/* A tick's start in seconds, as forecasts give it: an integer when whole
 * (a JSON real would be cut to the reply's 9 significant digits). */
static json_t *t_or_null(int has, double t)
{
	if (!has) {
		return json_null();
	}
	return t == (double)(json_int_t)t ? json_integer((json_int_t)t) : json_real(t);
}

static json_t *checkpoint_json(struct tc_checkpointer *cp)
{
	struct tc_checkpointer_status c;
	tc_checkpointer_get_status(cp, &c);
	if (!c.enabled) {
		return json_null();
	}
	const struct tc_checkpoint_result *last = &c.last;
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o}",
		"restored_t", t_or_null(c.restored_has_t, c.restored_t),
		"last_t", t_or_null(c.written && last->has_t, last->t),
		"written", (json_int_t)c.written, "failures", (json_int_t)c.failures,
		"skipped", (json_int_t)c.skipped,
		"last_ms", c.written ? json_real(last->ms) : json_null(),
		"last_held_ms", c.written ? json_real(last->held_ms) : json_null(),
		"bytes", c.written ? json_integer((json_int_t)last->bytes) : json_null());
}

/* `checkpoint`: one written now; the reply says what it holds. */
static json_t *checkpoint_now(const struct tc_control_deps *d)
{
	struct tc_checkpoint_result r;
	char err[TC_ERR_LEN];
	if (tc_checkpointer_request(d->checkpointer, &r, err) < 0) {
		return error_json(err);
	}
	if (!r.ok) {
		return error_json(r.err);
	}
	return json_pack("{s:b, s:o, s:I, s:I, s:f, s:f, s:o}", "ok", 1,
		"path", json_cstr(tc_checkpointer_path(d->checkpointer)),
		"series", (json_int_t)r.series, "bytes", (json_int_t)r.bytes, "ms", r.ms,
		"held_ms", r.held_ms, "t", t_or_null(r.has_t, r.t));
}

/* A float, or null when it is not a finite number (nothing known yet). */
static json_t *json_finite(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* Floats as numbers, and those not finite (bounds not known yet) as null. */
static json_t *finite_array(const float *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(a, json_finite((double)v[i]));
	}
	return a;
}

/* Live accuracy and coverage over every series (model.intervals): null when off. */
static json_t *accuracy_summary_json(const struct tc_control_deps *d)
{
	struct tc_tick_accuracy *a = malloc(sizeof *a);
	char err[TC_ERR_LEN];
	if (!a || tc_ticker_accuracy(d->ticker, a, err) < 0 || !a->horizons) {
		free(a);
		return json_null();
	}
	json_t *by_horizon = json_array();
	for (int h = 0; h < a->horizons; h++) {
		json_array_append_new(by_horizon, a->tally.scored[h]
			? json_real((double)a->tally.covered[h] / (double)a->tally.scored[h]) : json_null());
	}
	json_t *j = json_pack("{s:f, s:I, s:{s:o, s:o}, s:o, s:o, s:I, s:I}", "level", a->level,
		"series", (json_int_t)a->series, "live_mase", "median", json_finite(a->mase_median),
		"p90", json_finite(a->mase_p90), "coverage", a->scored
		? json_real((double)a->covered / (double)a->scored) : json_null(),
		"coverage_by_horizon", by_horizon, "scored", (json_int_t)a->scored,
		"anomalies", (json_int_t)a->anomalies);
	free(a);
	return j;
}

static json_t *status_json(const struct tc_control_deps *d)
{
	struct tc_ticker_status t;
	struct tc_ingest_counts in;
	struct tc_reload_status *r = malloc(sizeof *r);
	if (!r) {
		return NULL;
	}
	tc_ticker_get_status(d->ticker, &t);
	tc_ingest_get_counts(d->ingest, &in);
	tc_reloader_get_status(d->reloader, r);
	json_t *rejected = json_object();
	uint64_t total = 0;
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		uint64_t n = in.rejected[i] + t.tick.rejected[i];
		total += n;
		json_object_set_new(rejected, tc_reject_to_string((enum tc_reject)i),
			json_integer((json_int_t)n));
	}
	json_t *s = json_pack("{s:b, s:s, s:f, s:I, s:I, s:I, s:I}", "ok", 1, "version", TC_VERSION,
		"uptime_s", (double)(tc_now_ms() - d->started_ms) / 1000.0,
		"series", (json_int_t)t.series, "series_evicted", (json_int_t)t.tick.evicted,
		"series_warming", (json_int_t)t.tick.warming, "ticks", (json_int_t)t.tick.ticks);
	json_object_set_new(s, "readings", json_pack("{s:I, s:I, s:I, s:o, s:I}",
		"messages", (json_int_t)in.messages, "accepted", (json_int_t)t.tick.accepted,
		"rejected_total", (json_int_t)total, "rejected", rejected,
		"unstepped_step_failed", (json_int_t)t.tick.unstepped_step_failed));
	json_object_set_new(s, "tick_ms", json_pack("{s:f, s:f, s:f}", "last", t.last_tick_ms,
		"p50", t.p50_tick_ms, "p99", t.p99_tick_ms));
	json_object_set_new(s, "intervals_skipped", json_integer((json_int_t)t.intervals_skipped));
	json_object_set_new(s, "published", json_pack("{s:I, s:I, s:I, s:I}",
		"forecasts", (json_int_t)tc_publisher_forecasts(d->publisher),
		"messages", (json_int_t)tc_publisher_messages(d->publisher),
		"queue_waits", (json_int_t)tc_publisher_waits(d->publisher),
		"anomalies", (json_int_t)tc_publisher_anomalies(d->publisher)));
	json_object_set_new(s, "model", model_json(&t, r));
	json_object_set_new(s, "accuracy", accuracy_summary_json(d));
	json_object_set_new(s, "reload", reload_json(r));
	json_object_set_new(s, "checkpoint", checkpoint_json(d->checkpointer));
	json_object_set_new(s, "security", json_pack("{s:b, s:I}", "curve", d->curve != NULL,
		"refused", (json_int_t)tc_curve_refused(d->curve)));
	free(r);
	return s;
}

/* A series' live accuracy: null without model.intervals. */
static json_t *accuracy_json(const struct tc_series_info *i)
{
	if (!i->has_accuracy) {
		return json_null();
	}
	const struct tc_interval_accuracy *a = &i->accuracy;
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "scored", (json_int_t)a->scored,
		"mae", json_finite(a->mae), "naive_mae", json_finite(a->naive_mae),
		"mase", json_finite(a->mase), "coverage", json_finite(a->coverage));
}

/* Each layer's state: its type, h, and an lstm's cell state c. */
static json_t *state_json(const struct tc_series_info *i)
{
	json_t *layers = json_array();
	for (int k = 0; k < i->n_layers; k++) {
		int lstm = i->type[k] == TC_LAYER_LSTM;
		int hidden = lstm ? i->state_width[k] / 2 : i->state_width[k];
		json_t *layer = json_pack("{s:s, s:o}", "type", tc_layer_type_to_string(i->type[k]),
			"h", float_array(i->state[k], hidden));
		if (lstm) {
			json_object_set_new(layer, "c", float_array(i->state[k] + hidden, hidden));
		}
		json_array_append_new(layers, layer);
	}
	return layers;
}

static json_t *series_json(const struct tc_control_deps *d, const char *id, size_t len)
{
	struct tc_series_report *rep = malloc(sizeof *rep);
	if (!rep) {
		return NULL;
	}
	json_t *j;
	if (tc_ticker_series(d->ticker, id, len, rep) < 0) {
		j = json_pack("{s:b, s:s#}", "ok", 0, "error", "no such series", 14);
	} else {
		const struct tc_series_info *i = &rep->info;
		j = json_pack("{s:b, s:o, s:I, s:o, s:o, s:o}", "ok", 1, "series", json_text(id, len),
			"age_ticks", (json_int_t)i->age_ticks,
			"last_input", i->stepped ? float_array(i->last_input, i->n_inputs) : json_null(),
			"last_forecast", i->stepped ? float_array(i->last_output, i->n_outputs) : json_null(),
			"state", state_json(i));
		if (j) {
			json_object_set_new(j, "last_lower", rep->has_bounds
				? finite_array(rep->lower, i->n_outputs) : json_null());
			json_object_set_new(j, "last_upper", rep->has_bounds
				? finite_array(rep->upper, i->n_outputs) : json_null());
			json_object_set_new(j, "accuracy", accuracy_json(i));
		}
		if (j && !tc_utf8_valid(id, len)) {
			json_object_set_new(j, "series_hex", hex_of(id, len));
		}
	}
	free(rep);
	return j;
}


/* A cluster member's answers: status and series from its partitions; the
 * model cannot be reloaded, and checkpoints go to JetStream on their own. */
static json_t *cluster_answer(const struct tc_control_deps *d, const char *request, size_t len)
{
	if (len == 6 && memcmp(request, "status", 6) == 0) {
		json_t *s = json_pack("{s:b, s:s, s:f, s:s}", "ok", 1, "version", TC_VERSION,
			"uptime_s", (double)(tc_now_ms() - d->started_ms) / 1000.0, "mode", "cluster");
		json_object_set_new(s, "cluster", tc_cluster_node_status_json(d->cluster));
		json_object_set_new(s, "security", json_pack("{s:b, s:I}", "curve", d->curve != NULL,
			"refused", (json_int_t)tc_curve_refused(d->curve)));
		return s;
	}
	if (len > 7 && memcmp(request, "series ", 7) == 0) {
		return tc_cluster_node_series_json(d->cluster, request + 7, len - 7);
	}
	if ((len == 6 && memcmp(request, "reload", 6) == 0)
		|| (len == 10 && memcmp(request, "checkpoint", 10) == 0)) {
		return error_json("not in cluster mode: members reload by restarting, and write "
			"each partition's checkpoint to JetStream every cluster.checkpoint_every_s");
	}
	return error_json("unknown request; expected status or series <id>");
}

char *tc_control_answer(const struct tc_control_deps *d, const char *request, size_t len)
{
	json_t *reply;
	char err[TC_ERR_LEN];
	if (d->cluster) {
		reply = cluster_answer(d, request, len);
	} else if (len == 6 && memcmp(request, "status", 6) == 0) {
		reply = status_json(d);
	} else if (len == 6 && memcmp(request, "reload", 6) == 0) {
		reply = tc_reloader_run(d->reloader, "control", err) == 0
			? json_pack("{s:b}", "ok", 1) : error_json(err);
	} else if (len == 10 && memcmp(request, "checkpoint", 10) == 0) {
		reply = checkpoint_now(d);
	} else if (len > 7 && memcmp(request, "series ", 7) == 0) {
		reply = series_json(d, request + 7, len - 7);
	} else {
		reply = error_json("unknown request; expected status, reload, checkpoint or "
			"series <id>");
	}
	char *text = reply ? json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(reply);
	return text ? text : strdup("{\"ok\":false,\"error\":\"out of memory\"}");
}

static void answer_one(struct tc_control *c)
{
	zmq_msg_t req;
	zmq_msg_init(&req);
	if (zmq_msg_recv(&req, c->socket, 0) < 0) {
		zmq_msg_close(&req);
		return;
	}
	int more = zmq_msg_more(&req);
	size_t len = zmq_msg_size(&req);
	char *text = more || len > REQUEST_MAX
		? strdup("{\"ok\":false,\"error\":\"a request is one frame of at most 512 bytes\"}")
		: tc_control_answer(&c->deps, zmq_msg_data(&req), len);
	zmq_msg_close(&req);
	while (more) { /* a REP must take the whole request before it replies */
		zmq_msg_t part;
		zmq_msg_init(&part);
		more = zmq_msg_recv(&part, c->socket, 0) >= 0 && zmq_msg_more(&part);
		zmq_msg_close(&part);
	}
	zmq_send(c->socket, text, strlen(text), 0);
	free(text);
}

static void *run(void *arg)
{
	struct tc_control *c = arg;
	zmq_pollitem_t item = {.socket = c->socket, .events = ZMQ_POLLIN};
	while (!atomic_load(&c->stop)) {
		if (zmq_poll(&item, 1, POLL_MS) > 0 && (item.revents & ZMQ_POLLIN)) {
			answer_one(c);
		}
	}
	return NULL;
}

struct tc_control *tc_control_create(void *ctx, const char *endpoint,
	const struct tc_control_deps *deps, char *err)
{
	struct tc_control *c = calloc(1, sizeof *c);
	if (!c) {
		tc_err_set(err, "out of memory for the control socket");
		return NULL;
	}
	c->deps = *deps;
	c->socket = zmq_socket(ctx, ZMQ_REP);
	if (!c->socket) {
		tc_err_set(err, "cannot create the control socket: %s", zmq_strerror(zmq_errno()));
		tc_control_destroy(&c);
		return NULL;
	}
	if (tc_curve_apply(deps->curve, c->socket, "control", err) < 0) {
		tc_control_destroy(&c);
		return NULL;
	}
	if (zmq_bind(c->socket, endpoint) != 0) {
		tc_err_set(err, "control.bind: cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
		tc_control_destroy(&c);
		return NULL;
	}
	return c;
}

int tc_control_start(struct tc_control *c, char *err)
{
	if (pthread_create(&c->thread, NULL, run, c) != 0) {
		return tc_err_set(err, "cannot start the control thread");
	}
	pthread_setname_np(c->thread, "tc-control"); /* for top -H and gdb */
	c->started = 1;
	return 0;
}

void tc_control_destroy(struct tc_control **cp)
{
	if (!cp || !*cp) {
		return;
	}
	struct tc_control *c = *cp;
	if (c->started) {
		atomic_store(&c->stop, 1);
		pthread_join(c->thread, NULL);
	}
	if (c->socket) {
		int linger = 0;
		zmq_setsockopt(c->socket, ZMQ_LINGER, &linger, sizeof linger);
		zmq_close(c->socket);
	}
	free(c);
	*cp = NULL;
}
