/* model.c -- building a model: checking the spec, the tensors, and packing them. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "error.h"
#include "layer.h"
#include "model_internal.h"

void tc_model_spec_init(struct tc_model_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	spec->input_size = 1;
	spec->reset_after = 1;
	snprintf(spec->gru_prefix, sizeof spec->gru_prefix, "gru");
	snprintf(spec->head_prefix, sizeof spec->head_prefix, "fc");
}

int tc_model_spec_validate(const struct tc_model_spec *spec, char *err)
{
	if (spec->input_size < 1 || spec->input_size > TC_MAX_INPUT) {
		return tc_err_set(err, "input_size %d is out of range 1..%d",
			spec->input_size, TC_MAX_INPUT);
	}
	if (spec->n_layers < 1 || spec->n_layers > TC_MAX_LAYERS) {
		return tc_err_set(err, "%d layers is out of range 1..%d",
			spec->n_layers, TC_MAX_LAYERS);
	}
	for (int k = 0; k < spec->n_layers; k++) {
		if (spec->hidden[k] < 1 || spec->hidden[k] > TC_MAX_WIDTH) {
			return tc_err_set(err, "layer %d: hidden size %d is out of range 1..%d",
				k, spec->hidden[k], TC_MAX_WIDTH);
		}
	}
	if (spec->precision != TC_PRECISION_FP32 && spec->precision != TC_PRECISION_BF16) {
		return tc_err_set(err, "precision %d is neither fp32 nor bf16", (int)spec->precision);
	}
	if (spec->outputs < 1 || spec->outputs > TC_MAX_WIDTH) {
		return tc_err_set(err, "head: %d outputs is out of range 1..%d",
			spec->outputs, TC_MAX_WIDTH);
	}
	if (!spec->gru_prefix[0] || !spec->head_prefix[0]) {
		return tc_err_set(err, "tensor-name prefixes must not be empty");
	}
	return 0;
}

int tc_model_spec_same_shape(const struct tc_model_spec *a, const struct tc_model_spec *b)
{
	if (a->input_size != b->input_size || a->n_layers != b->n_layers
		|| a->outputs != b->outputs) {
		return 0;
	}
	for (int k = 0; k < a->n_layers; k++) {
		if (a->hidden[k] != b->hidden[k]) {
			return 0;
		}
	}
	return 1;
}

/* Layer k's input width: the reading for k = 0, the layer below otherwise. */
static int layer_input(const struct tc_model_spec *spec, int k)
{
	return k == 0 ? spec->input_size : spec->hidden[k - 1];
}

/* One source of a packed matrix: a PyTorch [out x rows] weight and its
 * bias (NULL: none), read from output row `first` on. */
struct source {
	const float *weight;
	int rows;
	const float *bias;
};

/* Packs `cols` outputs of one source, or of two stacked along the input
 * (b.weight non-NULL: rows a.rows + b.rows, biases summed). */
static int pack(struct tc_packed *p, struct source a, struct source b, int first, int cols)
{
	p->rows = a.rows + (b.weight ? b.rows : 0);
	p->cols = cols;
	p->width = (cols + TC_PANEL - 1) / TC_PANEL * TC_PANEL;
	p->w = tc_alloc_floats((size_t)p->width * p->rows);
	p->bias = tc_alloc_floats((size_t)p->width);
	if (!p->w || !p->bias) {
		return -1;
	}
	for (int j = 0; j < cols; j++) {
		float *dst = p->w + (size_t)(j / TC_PANEL) * TC_PANEL * p->rows + j % TC_PANEL;
		const float *src = a.weight + (size_t)(first + j) * a.rows;
		for (int k = 0; k < a.rows; k++) {
			dst[(size_t)k * TC_PANEL] = src[k];
		}
		if (b.weight) {
			src = b.weight + (size_t)(first + j) * b.rows;
			for (int k = 0; k < b.rows; k++) {
				dst[(size_t)(a.rows + k) * TC_PANEL] = src[k];
			}
		}
		p->bias[j] = (a.bias ? a.bias[first + j] : 0.0f) + (b.bias ? b.bias[first + j] : 0.0f);
	}
	return 0;
}

/* Adds the bf16 copy of p's weights (layer.h), rounded to nearest even. */
static int pack_bf16(struct tc_packed *p)
{
	const int rows = p->rows, rows_even = tc_packed_rows_even(p);
	p->wbf = (uint16_t *)tc_alloc_floats((size_t)p->width * rows_even / 2);
	if (!p->wbf) {
		return -1;
	}
	for (int panel = 0; panel < p->width / TC_PANEL; panel++) {
		const float *src = p->w + (size_t)panel * TC_PANEL * rows;
		uint16_t *dst = p->wbf + (size_t)panel * TC_PANEL * rows_even;
		for (int k = 0; k < rows; k++) {
			for (int j = 0; j < TC_PANEL; j++) {
				dst[(size_t)(k / 2) * 2 * TC_PANEL + 2 * j + k % 2] =
					tc_bf16_round(src[(size_t)k * TC_PANEL + j]);
			}
		}
	}
	return 0;
}

static void packed_finish(struct tc_packed *p)
{
	free(p->w);
	free(p->bias);
	free(p->wbf);
	memset(p, 0, sizeof *p);
}

static int pack_gru(struct tc_gru_layer *L, const struct tc_gru_weights *w,
	int in, int hidden, int reset_after)
{
	const struct source x = {w->weight_ih, in, w->bias_ih};
	const struct source h = {w->weight_hh, hidden, w->bias_hh};
	const struct source none = {0};
	L->in = in;
	L->hidden = hidden;
	L->reset_after = reset_after;
	if (pack(&L->rz, x, h, 0, 2 * hidden) < 0 || pack(&L->xn, x, none, 2 * hidden, hidden) < 0) {
		return -1;
	}
	return pack(&L->hn, h, none, 2 * hidden, hidden);
}

static int pack_all_bf16(struct tc_model *m)
{
	for (int k = 0; k < m->spec.n_layers; k++) {
		struct tc_gru_layer *L = &m->layers[k];
		if (pack_bf16(&L->rz) < 0 || pack_bf16(&L->xn) < 0 || pack_bf16(&L->hn) < 0) {
			return -1;
		}
	}
	return pack_bf16(&m->head.w);
}

struct tc_model *tc_model_create(const struct tc_model_spec *spec,
	const struct tc_model_weights *weights, char *err)
{
	if (tc_model_spec_validate(spec, err) < 0) {
		return NULL;
	}
	struct tc_model *m = calloc(1, sizeof *m);
	if (!m) {
		tc_err_set(err, "out of memory");
		return NULL;
	}
	m->spec = *spec;
	for (int k = 0; k < spec->n_layers; k++) {
		if (pack_gru(&m->layers[k], &weights->layer[k], layer_input(spec, k),
			spec->hidden[k], spec->reset_after) < 0) {
			goto err_oom;
		}
	}
	const struct source head = {weights->head_weight, spec->hidden[spec->n_layers - 1],
		weights->head_bias};
	if (pack(&m->head.w, head, (struct source){0}, 0, spec->outputs) < 0) {
		goto err_oom;
	}
	if (spec->precision == TC_PRECISION_BF16 && pack_all_bf16(m) < 0) {
		goto err_oom;
	}
	return m;

err_oom:
	tc_model_destroy(&m);
	tc_err_set(err, "out of memory while packing the weights");
	return NULL;
}

void tc_model_destroy(struct tc_model **mp)
{
	if (!mp || !*mp) {
		return;
	}
	struct tc_model *m = *mp;
	for (int k = 0; k < TC_MAX_LAYERS; k++) {
		packed_finish(&m->layers[k].rz);
		packed_finish(&m->layers[k].xn);
		packed_finish(&m->layers[k].hn);
	}
	packed_finish(&m->head.w);
	free(m);
	*mp = NULL;
}

const struct tc_model_spec *tc_model_get_spec(const struct tc_model *m)
{
	return &m->spec;
}

const char *tc_model_weights_sha256(const struct tc_model *m)
{
	return m->weights_sha256;
}

void tc_model_set_weights_sha256(struct tc_model *m, const char *hex)
{
	snprintf(m->weights_sha256, sizeof m->weights_sha256, "%s", hex);
}

uint64_t tc_model_param_count(const struct tc_model *m)
{
	const struct tc_model_spec *s = &m->spec;
	uint64_t n = 0;
	for (int k = 0; k < s->n_layers; k++) {
		uint64_t h = (uint64_t)s->hidden[k];
		n += 3 * h * ((uint64_t)layer_input(s, k) + h) + 6 * h;
	}
	uint64_t last = (uint64_t)s->hidden[s->n_layers - 1];
	return n + (uint64_t)s->outputs * (last + 1);
}

uint64_t tc_model_flops_per_step(const struct tc_model *m)
{
	const struct tc_model_spec *s = &m->spec;
	uint64_t f = 0;
	for (int k = 0; k < s->n_layers; k++) {
		uint64_t h = (uint64_t)s->hidden[k];
		f += 2 * 3 * h * ((uint64_t)layer_input(s, k) + h);
	}
	return f + 2 * (uint64_t)s->hidden[s->n_layers - 1] * (uint64_t)s->outputs;
}

uint64_t tc_model_state_bytes(const struct tc_model *m)
{
	uint64_t n = 0;
	for (int k = 0; k < m->spec.n_layers; k++) {
		n += (uint64_t)m->spec.hidden[k];
	}
	return n * sizeof(float);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

int tc_model_max_width(const struct tc_model *m)
{
	int w = m->head.w.width;
	for (int k = 0; k < m->spec.n_layers; k++) {
		const struct tc_gru_layer *L = &m->layers[k];
		w = max_int(w, max_int(L->rz.width, max_int(L->xn.width, L->hn.width)));
	}
	return w;
}

int tc_model_max_hidden(const struct tc_model *m)
{
	int h = 0;
	for (int k = 0; k < m->spec.n_layers; k++) {
		h = max_int(h, m->spec.hidden[k]);
	}
	return h;
}
