/* tick_fixture.h -- a tick engine over two hand-checkable models, and a
 * recorder of what it emits; shared by test_tick.c and test_tick_daemon.c. */
#ifndef TC_TEST_TICK_FIXTURE_H
#define TC_TEST_TICK_FIXTURE_H

#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "model.h"
#include "reading.h"
#include "registry.h"
#include "tick.h"

/* Two tiny models (input 1, one GRU layer of 2 units, 1 output) whose
 * forecasts follow from the GRU equations by hand:
 *
 * - constant: every weight and bias zero but the head's bias 0.5. Then
 *   r = z = sigmoid(0) = 1/2, n = tanh(0) = 0 and h' = z h stays 0 from
 *   h0 = 0, so every forecast is W h + b = 0.5 exactly.
 *
 * - echo: W_in = (1, 0) on the input, the update gate's input bias -100,
 *   everything else zero, head weight (1, 0). Then z = sigmoid(-100) < 1e-38,
 *   so h'_0 = (1 - z) tanh(x) + z h_0 = tanh(x) to within float rounding and
 *   the forecast is tanh(x) of the tick's input x: it shows which input each
 *   series stepped with. */

#define MAX_TICKS 16
#define MAX_SERIES 8

struct emitted {
	int64_t bucket_ms;
	size_t n;
	char ids[MAX_SERIES][16];
	float out[MAX_SERIES];
};

struct recorder {
	struct emitted ticks[MAX_TICKS];
	int count;
	int fail;                    /* returned by the callback */
};

static inline int record(void *ud, const struct tc_forecasts *f)
{
	struct recorder *rec = ud;
	cr_assert_lt(rec->count, MAX_TICKS, "too many ticks emitted");
	cr_assert_leq(f->n, MAX_SERIES);
	cr_assert_eq(f->n_outputs, 1);
	struct emitted *e = &rec->ticks[rec->count++];
	e->bucket_ms = f->bucket_ms;
	e->n = f->n;
	for (size_t i = 0; i < f->n; i++) {
		size_t len = 0;
		const char *id = tc_forecasts_id(f, i, &len);
		cr_assert_not_null(id, "slot %u has no id", f->slots[i]);
		cr_assert_lt(len, sizeof e->ids[i]);
		memcpy(e->ids[i], id, len);
		e->ids[i][len] = '\0';
		e->out[i] = f->outputs[i];
	}
	return rec->fail;
}

static const float zeros[16];

static inline struct tc_model *make_model(int echo)
{
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.input_size = 1;
	spec.n_layers = 1;
	spec.hidden[0] = 2;
	spec.outputs = 1;
	/* Gate rows r0, r1, z0, z1, n0, n1 (PyTorch's order). */
	static const float echo_w_ih[6] = {0, 0, 0, 0, 1, 0};
	static const float echo_b_ih[6] = {0, 0, -100, -100, 0, 0};
	static const float echo_head_w[2] = {1, 0};
	static const float half[1] = {0.5f};
	struct tc_model_weights w = {
		.layer[0] = {
			.weight_ih = echo ? echo_w_ih : zeros,
			.weight_hh = zeros,
			.bias_ih = echo ? echo_b_ih : zeros,
			.bias_hh = zeros,
		},
		.head[0] = {echo ? echo_head_w : zeros, echo ? zeros : half},
	};
	char err[TC_ERR_LEN] = "";
	struct tc_model *m = tc_model_create(&spec, &w, err);
	cr_assert_not_null(m, "model: %s", err);
	return m;
}

struct fixture {
	struct tc_model *model;
	struct tc_tick *tick;
	struct recorder rec;
	struct tc_emitter out;
	struct tc_tick_config cfg;
	char err[TC_ERR_LEN];
};

static inline void setup(struct fixture *fx, int echo, int interval_ms, enum tc_aggregate aggregate,
	enum tc_missing missing, size_t max_series)
{
	memset(fx, 0, sizeof *fx);
	fx->model = make_model(echo);
	fx->cfg = (struct tc_tick_config){
		.clock = TC_CLOCK_EVENT,
		.interval_ms = interval_ms,
		.flush_ms = 1000,
		.aggregate = aggregate,
		.missing = missing,
	};
	fx->tick = tc_tick_create(&fx->cfg, fx->model, max_series, 0, NULL, fx->err);
	cr_assert_not_null(fx->tick, "tick: %s", fx->err);
	fx->out = (struct tc_emitter){record, &fx->rec};
}

static inline void teardown(struct fixture *fx)
{
	tc_tick_destroy(&fx->tick);
	cr_assert_null(fx->tick);
	tc_model_destroy(&fx->model);
}

static inline struct tc_reading reading(const char *id, float x, double t)
{
	struct tc_reading r;
	memset(&r, 0, sizeof r);
	r.id = id;
	r.id_len = strlen(id);
	r.n_values = 1;
	r.values[0] = x;
	r.has_time = 1;
	r.time = t;
	return r;
}

static inline void offer_ok(struct fixture *fx, const char *id, float x, double t)
{
	struct tc_reading r = reading(id, x, t);
	enum tc_reject why = TC_REJECT__COUNT;
	int rc = tc_tick_offer(fx->tick, &r, &fx->out, &why, fx->err);
	cr_assert_eq(rc, 0, "%s at %.17g: rc %d, reason %s, err %s", id, t, rc,
		tc_reject_to_string(why), fx->err);
}

static inline void offer_rejected(struct fixture *fx, const struct tc_reading *r, enum tc_reject want)
{
	enum tc_reject why = TC_REJECT__COUNT;
	int rc = tc_tick_offer(fx->tick, r, &fx->out, &why, fx->err);
	cr_assert_eq(rc, 1, "%.*s at %.17g: rc %d, expected a rejection", (int)r->id_len, r->id,
		r->time, rc);
	cr_assert_eq(why, want, "reason %s, expected %s", tc_reject_to_string(why),
		tc_reject_to_string(want));
}

static inline void close_ok(struct fixture *fx)
{
	cr_assert_eq(tc_tick_close(fx->tick, &fx->out, fx->err), 0, "close: %s", fx->err);
}

/* Tick i of the recording must be bucket_ms with ids (NULL-terminated) in
 * that order, and, when outs is given, those forecasts to within tol. */
static inline void expect_tick(const struct fixture *fx, int i, int64_t bucket_ms,
	const char *const *ids, const float *outs, float tol)
{
	cr_assert_gt(fx->rec.count, i, "only %d ticks emitted, wanted tick %d", fx->rec.count, i);
	const struct emitted *e = &fx->rec.ticks[i];
	cr_assert_eq(e->bucket_ms, bucket_ms, "tick %d: bucket %lld ms, expected %lld", i,
		(long long)e->bucket_ms, (long long)bucket_ms);
	size_t n = 0;
	while (ids[n]) {
		n++;
	}
	cr_assert_eq(e->n, n, "tick %d: %zu series, expected %zu", i, e->n, n);
	for (size_t j = 0; j < n; j++) {
		cr_assert_str_eq(e->ids[j], ids[j], "tick %d series %zu: %s, expected %s", i, j,
			e->ids[j], ids[j]);
		if (outs) {
			cr_assert_float_eq(e->out[j], outs[j], tol, "tick %d %s: forecast %.9g, expected %.9g",
				i, ids[j], (double)e->out[j], (double)outs[j]);
		}
	}
}

#define IDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define OUTS(...) ((const float[]){__VA_ARGS__})

#endif
