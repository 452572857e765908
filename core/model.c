/* model.c -- building a model: its layers packed for the kernels, its
 * head, and what it costs (parameters, FLOPs, state). */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "head.h"
#include "layer.h"
#include "model_internal.h"
#include "pack.h"

/* Layer k's input width: the reading for k = 0, the layer below otherwise. */
static int layer_input(const struct tc_model_spec *spec, int k)
{
	return k == 0 ? spec->input_size : spec->hidden[k - 1];
}

/* Packs layer k from PyTorch's four tensors (model.h), G gates of H rows:
 * every gate but the GRU's candidate as one product over [x | h]. */
static int pack_layer(struct tc_layer *L, const struct tc_model_spec *spec, int k,
	const struct tc_layer_weights *w)
{
	const int in = layer_input(spec, k), hidden = spec->hidden[k];
	const struct tc_pack_source x = {w->weight_ih, in, w->bias_ih};
	const struct tc_pack_source h = {w->weight_hh, hidden, w->bias_hh};
	const struct tc_pack_source none = {0};
	L->type = spec->type[k];
	L->in = in;
	L->hidden = hidden;
	L->reset_after = spec->reset_after;
	L->relu = spec->relu[k];
	if (L->type != TC_LAYER_GRU) {
		return tc_pack(&L->gates, x, h, 0, tc_layer_gates(L->type) * hidden);
	}
	if (tc_pack(&L->gates, x, h, 0, 2 * hidden) < 0
		|| tc_pack(&L->xn, x, none, 2 * hidden, hidden) < 0) {
		return -1;
	}
	return tc_pack(&L->hn, h, none, 2 * hidden, hidden);
}

/* The bf16 panels of every layer's matrices (a GRU's three, one otherwise). */
static int pack_layers_bf16(struct tc_model *m)
{
	for (int k = 0; k < m->spec.n_layers; k++) {
		struct tc_layer *L = &m->layers[k];
		if (tc_pack_bf16(&L->gates) < 0) {
			return -1;
		}
		if (L->type == TC_LAYER_GRU && (tc_pack_bf16(&L->xn) < 0 || tc_pack_bf16(&L->hn) < 0)) {
			return -1;
		}
	}
	return 0;
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
		if (pack_layer(&m->layers[k], spec, k, &weights->layer[k]) < 0) {
			goto err_oom;
		}
	}
	if (spec->precision == TC_PRECISION_BF16 && pack_layers_bf16(m) < 0) {
		goto err_oom;
	}
	if (tc_head_build(m->head, &m->n_head, spec, weights->head,
		spec->hidden[spec->n_layers - 1]) < 0) {
		goto err_oom;
	}
	m->head_width = tc_head_max_width(m->head, m->n_head);
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
		tc_packed_free(&m->layers[k].gates);
		tc_packed_free(&m->layers[k].xn);
		tc_packed_free(&m->layers[k].hn);
	}
	tc_head_free(m->head, TC_MAX_HEAD_OPS);
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

/* Learnable parameters and multiply-add FLOPs per series-step, of the
 * layers and of the head (its linears; its affine layer norms' parameters). */
static void counts(const struct tc_model *m, uint64_t *params, uint64_t *flops)
{
	const struct tc_model_spec *s = &m->spec;
	*params = 0;
	*flops = 0;
	for (int k = 0; k < s->n_layers; k++) {
		uint64_t gh = (uint64_t)tc_layer_gates(s->type[k]) * (uint64_t)s->hidden[k];
		uint64_t rows = (uint64_t)layer_input(s, k) + (uint64_t)s->hidden[k];
		*params += gh * rows + 2 * gh;
		*flops += 2 * gh * rows;
	}
	for (int i = 0; i < m->n_head; i++) {
		const struct tc_head_op *op = &m->head[i];
		if (op->type == TC_HEAD_LINEAR) {
			*params += (uint64_t)op->out * ((uint64_t)op->in + 1);
			*flops += 2 * (uint64_t)op->out * (uint64_t)op->in;
		} else if (op->type == TC_HEAD_LAYERNORM && op->gamma) {
			*params += 2 * (uint64_t)op->in;
		}
	}
}

uint64_t tc_model_param_count(const struct tc_model *m)
{
	uint64_t params, flops;
	counts(m, &params, &flops);
	return params;
}

uint64_t tc_model_flops_per_step(const struct tc_model *m)
{
	uint64_t params, flops;
	counts(m, &params, &flops);
	return flops;
}

uint64_t tc_model_state_bytes(const struct tc_model *m)
{
	uint64_t n = 0;
	for (int k = 0; k < m->spec.n_layers; k++) {
		n += (uint64_t)tc_model_spec_state_width(&m->spec, k);
	}
	return n * sizeof(float);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

int tc_model_max_width(const struct tc_model *m)
{
	int w = 0;
	for (int i = 0; i < m->n_head; i++) {
		w = max_int(w, m->head[i].w.width);
	}
	for (int k = 0; k < m->spec.n_layers; k++) {
		const struct tc_layer *L = &m->layers[k];
		w = max_int(w, max_int(L->gates.width, max_int(L->xn.width, L->hn.width)));
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
