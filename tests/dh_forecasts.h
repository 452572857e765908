/* dh_forecasts.h -- receiving forecasts in the daemon tests and comparing them to replay's. */
#ifndef TC_TEST_DH_FORECASTS_H
#define TC_TEST_DH_FORECASTS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "config.h"
#include "dh_state.h"
#include "dh_util.h"
#include "error.h"
#include "model.h"
#include "replay.h"

/* ---- forecast lines ---- */

/* The timestamp (second field) of a forecast line. */
static inline double dh_line_time(const char *line)
{
	const char *sp = strchr(line, ' ');
	cr_assert_not_null(sp, "not a forecast line: \"%s\"", line);
	return strtod(sp + 1, NULL);
}

/* Copies to dst the lines of src whose series id starts with prefix and
 * whose time is in [t_from, t_to). */
static inline void dh_lines_select(struct dh_lines *dst, const struct dh_lines *src,
	const char *prefix, double t_from, double t_to)
{
	for (size_t i = 0; i < src->n; i++) {
		double t = dh_line_time(src->v[i]);
		if (strncmp(src->v[i], prefix, strlen(prefix)) == 0 && t >= t_from && t < t_to) {
			dh_lines_add(dst, src->v[i], strlen(src->v[i]));
		}
	}
}

/* Fails unless got and want hold the same lines (in any order); sorts both. */
static inline void dh_expect_same_lines(struct dh_lines *got, struct dh_lines *want,
	const char *what)
{
	dh_lines_sort(got);
	dh_lines_sort(want);
	size_t i = 0;
	while (i < got->n && i < want->n && strcmp(got->v[i], want->v[i]) == 0) {
		i++;
	}
	cr_assert(i == got->n && i == want->n,
		"%s: %zu lines received, %zu expected; first difference (sorted) at %zu:\n"
		"  got:  %.200s\n  want: %.200s\ndaemon log:\n%s", what, got->n, want->n, i,
		i < got->n ? got->v[i] : "(none)", i < want->n ? want->v[i] : "(none)", dh_log_tail());
}

/* ---- forecasts ---- */

/* What a subscriber received: each message's topic and body, and the lines
 * of all bodies. */
struct dh_received {
	struct dh_lines topics, bodies, lines;
};

static inline void dh_received_free(struct dh_received *r)
{
	dh_lines_free(&r->topics);
	dh_lines_free(&r->bodies);
	dh_lines_free(&r->lines);
}

/* Receives two-frame messages (topic, body), handing each to keep(ud, ...),
 * until count(ud) reaches want and then nothing more comes for quiet_ms, or
 * timeout_ms pass. */
static inline void dh_receive_each(void *sub, size_t want, size_t (*count)(void *ud),
	void (*keep)(void *ud, zmq_msg_t *topic, zmq_msg_t *body), void *ud, int quiet_ms,
	int timeout_ms)
{
	double deadline = dh_now_ms() + timeout_ms;
	for (;;) {
		double now = dh_now_ms();
		if (now >= deadline) {
			break;
		}
		int wait = count(ud) >= want ? quiet_ms : (int)(deadline - now) + 1;
		zmq_pollitem_t item = {.socket = sub, .events = ZMQ_POLLIN};
		if (zmq_poll(&item, 1, wait) != 1) {
			if (count(ud) >= want) {
				break;
			}
			continue;
		}
		zmq_msg_t topic, body;
		zmq_msg_init(&topic);
		zmq_msg_init(&body);
		cr_assert_geq(zmq_msg_recv(&topic, sub, 0), 0);
		cr_assert(zmq_msg_more(&topic), "a forecast message must have a topic and a body");
		cr_assert_geq(zmq_msg_recv(&body, sub, 0), 0);
		cr_assert(!zmq_msg_more(&body), "a forecast message has more than two frames");
		keep(ud, &topic, &body);
		zmq_msg_close(&topic);
		zmq_msg_close(&body);
	}
}

static inline size_t dh_received_lines(void *ud)
{
	return ((struct dh_received *)ud)->lines.n;
}

static inline void dh_received_keep(void *ud, zmq_msg_t *topic, zmq_msg_t *body)
{
	struct dh_received *r = ud;
	dh_lines_add(&r->topics, zmq_msg_data(topic), zmq_msg_size(topic));
	dh_lines_add(&r->bodies, zmq_msg_data(body), zmq_msg_size(body));
	dh_lines_split(&r->lines, zmq_msg_data(body), zmq_msg_size(body));
}

/* Receives forecast messages into r until it holds at least want_lines
 * lines and then nothing more comes for quiet_ms, or timeout_ms pass.
 * Returns the lines held. */
static inline size_t dh_receive(void *sub, struct dh_received *r, size_t want_lines,
	int quiet_ms, int timeout_ms)
{
	dh_receive_each(sub, want_lines, dh_received_lines, dh_received_keep, r, quiet_ms,
		timeout_ms);
	return r->lines.n;
}

/* ---- the oracle ---- */

/* The forecast lines `tickcast replay --config config_path --format format`
 * prints for the readings text (the same code, in-process), and into
 * anomalies (unless NULL) the anomaly event lines it writes. */
static inline void dh_replay_as(const char *config_path, const char *text, size_t len,
	enum tc_format format, struct dh_lines *out, struct dh_lines *anomalies)
{
	struct tc_config *cfg = malloc(sizeof *cfg);
	cr_assert_not_null(cfg);
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_load(cfg, config_path, err), 0, "%s", err);
	struct tc_model *m = tc_model_load(&cfg->model, cfg->weights_path, err);
	cr_assert_not_null(m, "%s", err);
	FILE *in = fmemopen((void *)text, len, "r");
	char *printed = NULL, *events = NULL;
	size_t printed_len = 0, events_len = 0;
	FILE *o = open_memstream(&printed, &printed_len);
	FILE *ev = open_memstream(&events, &events_len);
	FILE *log = fopen("/dev/null", "w");
	cr_assert(in && o && ev && log);
	struct tc_replay_stats stats;
	struct tc_replay_output output = {format, anomalies ? ev : NULL};
	cr_assert_eq(tc_replay_run(cfg, m, in, o, log, NULL, &output, &stats, err), 0,
		"replay: %s", err);
	fclose(in);
	fclose(o);
	fclose(ev);
	fclose(log);
	dh_lines_split(out, printed, printed_len);
	if (anomalies) {
		dh_lines_split(anomalies, events, events_len);
	}
	free(printed);
	free(events);
	tc_model_destroy(&m);
	free(cfg);
}

/* The forecast lines `tickcast replay --config config_path` prints. */
static inline void dh_replay(const char *config_path, const char *text, size_t len,
	struct dh_lines *out)
{
	dh_replay_as(config_path, text, len, TC_FORMAT_TEXT, out, NULL);
}

#endif
