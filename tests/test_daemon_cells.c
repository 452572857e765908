/* test_daemon_cells.c -- tickcastd serving LSTM and RNN layers: the forecasts
 * it publishes are what `tickcast replay` prints for the same readings, and
 * `series <id>` shows each layer's state, an LSTM's cell state with it. */
#include <math.h>

#include "daemon_harness.h"

TestSuite(daemon_cells, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

enum { SERIES = 20, BUCKETS = 6 };

static const int hidden[] = {9, 6};

/* Starts tickcastd on a two-layer model of `type`, sends BUCKETS buckets,
 * and checks every forecast against replay. */
static void serve(const char *type, const char *extra)
{
	dh_write_cells("w.safetensors", type, hidden, 2, 4, 11);
	dh_write_config(&(struct dh_config){
		.model = dh_cells_yaml("w.safetensors", type, hidden, 2, 4, extra),
		.tick = DH_EVENT_TICK});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "m", SERIES, 0, BUCKETS);
	dh_expect_int("ticks", BUCKETS - 1);
	json_t *s = dh_request("series m3");
	json_t *state = dh_json_get(s, "state");
	cr_assert_eq(json_array_size(state), 2, "a state per layer");
	for (size_t k = 0; k < 2; k++) {
		json_t *layer = json_array_get(state, k);
		json_t *h = json_object_get(layer, "h"), *c = json_object_get(layer, "c");
		cr_assert_str_eq(json_string_value(json_object_get(layer, "type")), type);
		cr_assert_eq(json_array_size(h), (size_t)hidden[k]);
		double norm = 0;
		for (size_t j = 0; j < json_array_size(h); j++) {
			norm += fabs(json_number_value(json_array_get(h, j)));
		}
		cr_assert_gt(norm, 0, "layer %zu's h has stepped", k);
		if (strcmp(type, "lstm") != 0) {
			cr_assert_null(c, "only an lstm has a cell state");
			continue;
		}
		cr_assert_eq(json_array_size(c), (size_t)hidden[k]);
		/* h = o * tanh(c) with the output gate o in (0, 1). */
		for (size_t j = 0; j < json_array_size(c); j++) {
			double hj = json_number_value(json_array_get(h, j));
			double cj = json_number_value(json_array_get(c, j));
			cr_assert_leq(fabs(hj), fabs(tanh(cj)) + 1e-6, "layer %zu unit %zu: h %g, c %g",
				k, j, hj, cj);
		}
	}
	json_decref(s);
	dh_stop_and_expect_replay(sub, dh.config, file.p, file.len, type);
	dh_buf_free(&file);
}

Test(daemon_cells, an_lstm_model_serves_what_replay_prints_and_shows_its_cell_state)
{
	serve("lstm", NULL);
}

Test(daemon_cells, an_rnn_model_serves_what_replay_prints)
{
	serve("rnn", NULL);
}
