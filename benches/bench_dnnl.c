/* bench_dnnl.c -- oneDNN's LBR-GRU (or LSTM, or tanh RNN) layers and a matmul head, stepped as tc_step steps.
 *
 * Each layer's hidden state lives in two buffers used in turn: a step reads
 * h[parity] as src_iter and writes h[!parity] as dst_layer (with T = 1 and one
 * layer, dst_layer is the new hidden state, so the optional dst_iter is not
 * asked for), and the next layer and the head read h[!parity]; an LSTM's
 * cell state alternates the same way (src_iter_c c[parity], dst_iter_c
 * c[!parity]); oneDNN takes dst_iter_c only with dst_iter, which then gets
 * a buffer of its own (a copy of dst_layer, never read). Nothing is
 * copied between steps. The scratchpad is in user mode: one buffer, sized for
 * the largest primitive and shared by all three, allocated at creation. */
#include "bench_dnnl.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl.h>
#include <dnnl_debug.h>

#include "bench_util.h"
#include "error.h"

#define ALIGN 64

struct dnnl_layer {
	dnnl_primitive_desc_t pd;
	dnnl_primitive_t prim;
	dnnl_memory_t weights_layer; /* in the primitive's layout */
	dnnl_memory_t weights_iter;
	dnnl_memory_t bias;
	dnnl_memory_t scratch;       /* view of the shared scratchpad */
	float *h[2];                 /* [batch x H] each, used in turn */
	dnnl_memory_t iter[2];       /* h[p] as src_iter, ldnc [1, 1, batch, H] */
	dnnl_memory_t out[2];        /* h[p] as dst_layer, tnc [1, batch, H] */
	float *c[2];                 /* lstm: [batch x H] each, used in turn; else NULL */
	dnnl_memory_t iter_c[2];     /* lstm: c[p], ldnc [1, 1, batch, H] */
	float *h_iter;               /* lstm: dst_iter [batch x H], written, not read */
	dnnl_memory_t dst_iter;      /* lstm: h_iter, ldnc [1, 1, batch, H] */
};

struct bench_dnnl {
	dnnl_engine_t engine;
	dnnl_stream_t stream;
	size_t batch;
	enum tc_layer_type type;     /* every layer's */
	int hidden;
	int threads;
	int parity;                  /* h[parity] of each layer holds its state */
	dnnl_memory_t input;         /* tnc [1, batch, I]; handle set by each step */
	struct dnnl_layer layer[BENCH_LAYERS];
	dnnl_primitive_desc_t head_pd;
	dnnl_primitive_t head;
	dnnl_memory_t head_weights;
	dnnl_memory_t head_bias;
	dnnl_memory_t head_scratch;
	dnnl_memory_t head_src[2];   /* the last layer's h[p], ab [batch, H] */
	dnnl_memory_t head_dst;      /* ab [batch, O], over `outputs` */
	float *outputs;
	void *scratchpad;
};

/* 0, or -1 with err naming the call that failed. */
static int check(dnnl_status_t s, const char *what, char *err)
{
	if (s == dnnl_success) {
		return 0;
	}
	return tc_err_set(err, "oneDNN: %s failed: %s", what, dnnl_status2str(s));
}

const char *bench_dnnl_version(char *err)
{
	static char text[128];
	(void)err;
	const dnnl_version_t *v = dnnl_version();
	snprintf(text, sizeof text, "oneDNN %d.%d.%d (%s runtime, ISA %s)", v->major, v->minor,
		v->patch, dnnl_runtime2str(v->cpu_runtime),
		dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
	return text;
}

static int md_init(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims,
	dnnl_format_tag_t tag, char *err)
{
	return check(dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag),
		"dnnl_memory_desc_init_by_tag", err);
}

/* A memory object in the layout pd wants for `arg`, filled from `data`
 * described by user_md (a reorder, which is a plain copy when the layouts
 * already agree). */
static int arg_memory(struct bench_dnnl *d, const_dnnl_primitive_desc_t pd, int arg,
	const dnnl_memory_desc_t *user_md, const float *data, dnnl_memory_t *out, char *err)
{
	const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
	dnnl_memory_t user = NULL;
	dnnl_primitive_desc_t rpd = NULL;
	dnnl_primitive_t reorder = NULL;
	int rc = -1;
	if (check(dnnl_memory_create(out, want, d->engine, DNNL_MEMORY_ALLOCATE),
			"dnnl_memory_create (weights)", err) < 0
		|| check(dnnl_memory_create(&user, user_md, d->engine, (void *)data),
			"dnnl_memory_create (user weights)", err) < 0
		|| check(dnnl_reorder_primitive_desc_create(&rpd, user_md, d->engine, want,
			d->engine, NULL), "dnnl_reorder_primitive_desc_create", err) < 0
		|| check(dnnl_primitive_create(&reorder, rpd), "dnnl_primitive_create (reorder)",
			err) < 0) {
		goto out;
	}
	dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, *out}};
	if (check(dnnl_primitive_execute(reorder, d->stream, 2, args), "reorder", err) < 0
		|| check(dnnl_stream_wait(d->stream), "dnnl_stream_wait", err) < 0) {
		goto out;
	}
	rc = 0;
out:
	dnnl_primitive_destroy(reorder);
	dnnl_primitive_desc_destroy(rpd);
	dnnl_memory_destroy(user);
	return rc;
}

static size_t scratch_size(const_dnnl_primitive_desc_t pd)
{
	return dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
}

/* Bias gates of oneDNN's cell: the LBR-GRU keeps n's two biases apart. */
static int bias_gates(enum tc_layer_type type)
{
	return type == TC_LAYER_GRU ? 4 : tc_layer_gates(type);
}

/* Layer k's weights in oneDNN's layouts: weights ldigo [I][G][H] and
 * [H][G][H]; bias ldgo [bias_gates][H]. The GRU's gates are u (= z), r,
 * o (= n) with four bias gates; the LSTM's are PyTorch's i, f, g (oneDNN's
 * c~), o and the RNN's its one, each with the two biases summed. */
static void convert_layer(const struct bench_weights *w, int k, float *wl, float *wi, float *bias)
{
	static const int gru_gate[3] = {1, 0, 2}; /* oneDNN gate g is PyTorch's row block */
	const size_t h = (size_t)w->hidden, in = bench_weights_input(w, k);
	const size_t G = (size_t)tc_layer_gates(w->type);
	for (size_t g = 0; g < G; g++) {
		const size_t row0 = (w->type == TC_LAYER_GRU ? (size_t)gru_gate[g] : g) * h;
		for (size_t o = 0; o < h; o++) {
			for (size_t i = 0; i < in; i++) {
				wl[(i * G + g) * h + o] = w->weight_ih[k][(row0 + o) * in + i];
			}
			for (size_t j = 0; j < h; j++) {
				wi[(j * G + g) * h + o] = w->weight_hh[k][(row0 + o) * h + j];
			}
		}
	}
	if (w->type != TC_LAYER_GRU) {
		for (size_t o = 0; o < G * h; o++) {
			bias[o] = w->bias_ih[k][o] + w->bias_hh[k][o];
		}
		return;
	}
	for (size_t o = 0; o < h; o++) {
		bias[o] = w->bias_ih[k][h + o] + w->bias_hh[k][h + o];  /* u = z */
		bias[h + o] = w->bias_ih[k][o] + w->bias_hh[k][o];      /* r */
		bias[2 * h + o] = w->bias_ih[k][2 * h + o];             /* o = n, input side */
		bias[3 * h + o] = w->bias_hh[k][2 * h + o];             /* u' = n, hidden side */
	}
}

/* The cell's forward-inference descriptor (T = 1, one layer, left to right;
 * no dst_iter but the LSTM's: dst_layer is the new h). iter_md also
 * describes the LSTM's c. */
static int layer_desc(enum tc_layer_type type, dnnl_rnn_desc_t *rd,
	const dnnl_memory_desc_t *src_md, const dnnl_memory_desc_t *iter_md,
	const dnnl_memory_desc_t *wl_any, const dnnl_memory_desc_t *wi_any,
	const dnnl_memory_desc_t *bias_md, const dnnl_memory_desc_t *dst_md, char *err)
{
	const dnnl_prop_kind_t prop = dnnl_forward_inference;
	const dnnl_rnn_direction_t dir = dnnl_unidirectional_left2right;
	switch (type) {
	case TC_LAYER_LSTM:
		return check(dnnl_lstm_forward_desc_init(rd, prop, dir, src_md, iter_md, iter_md,
			wl_any, wi_any, bias_md, dst_md, iter_md, iter_md, dnnl_rnn_flags_undef),
			"dnnl_lstm_forward_desc_init", err);
	case TC_LAYER_RNN:
		return check(dnnl_vanilla_rnn_forward_desc_init(rd, prop, dnnl_eltwise_tanh, dir,
			src_md, iter_md, wl_any, wi_any, bias_md, dst_md, NULL, dnnl_rnn_flags_undef,
			0.0f, 0.0f), "dnnl_vanilla_rnn_forward_desc_init", err);
	default:
		return check(dnnl_lbr_gru_forward_desc_init(rd, prop, dir, src_md, iter_md, wl_any,
			wi_any, bias_md, dst_md, NULL, dnnl_rnn_flags_undef),
			"dnnl_lbr_gru_forward_desc_init", err);
	}
}

/* A [batch x H] float buffer and its ldnc memory object. */
static int state_buffer(struct bench_dnnl *d, const dnnl_memory_desc_t *md, float **buf,
	dnnl_memory_t *mem, char *err)
{
	if (!(*buf = aligned_alloc(ALIGN, (d->batch * (size_t)d->hidden * sizeof(float) + ALIGN - 1)
			/ ALIGN * ALIGN))) {
		return tc_err_set(err, "out of memory for oneDNN's states (B=%zu, H=%d)", d->batch,
			d->hidden);
	}
	return check(dnnl_memory_create(mem, md, d->engine, *buf), "dnnl_memory_create (state)",
		err);
}

static int create_layer(struct bench_dnnl *d, const struct bench_weights *w, int k,
	const_dnnl_primitive_attr_t attr, char *err)
{
	struct dnnl_layer *l = &d->layer[k];
	const dnnl_dim_t b = (dnnl_dim_t)d->batch, h = d->hidden;
	const dnnl_dim_t in = (dnnl_dim_t)bench_weights_input(w, k);
	const dnnl_dim_t G = tc_layer_gates(w->type), bg = bias_gates(w->type);
	dnnl_memory_desc_t src_md, iter_md, wl_any, wi_any, bias_md, dst_md, wl_md, wi_md;
	if (md_init(&src_md, 3, (dnnl_dims_t){1, b, in}, dnnl_tnc, err) < 0
		|| md_init(&iter_md, 4, (dnnl_dims_t){1, 1, b, h}, dnnl_ldnc, err) < 0
		|| md_init(&wl_any, 5, (dnnl_dims_t){1, 1, in, G, h}, dnnl_format_tag_any, err) < 0
		|| md_init(&wi_any, 5, (dnnl_dims_t){1, 1, h, G, h}, dnnl_format_tag_any, err) < 0
		|| md_init(&wl_md, 5, (dnnl_dims_t){1, 1, in, G, h}, dnnl_ldigo, err) < 0
		|| md_init(&wi_md, 5, (dnnl_dims_t){1, 1, h, G, h}, dnnl_ldigo, err) < 0
		|| md_init(&bias_md, 4, (dnnl_dims_t){1, 1, bg, h}, dnnl_ldgo, err) < 0
		|| md_init(&dst_md, 3, (dnnl_dims_t){1, b, h}, dnnl_tnc, err) < 0) {
		return -1;
	}
	dnnl_rnn_desc_t rd;
	if (layer_desc(w->type, &rd, &src_md, &iter_md, &wl_any, &wi_any, &bias_md, &dst_md,
			err) < 0
		|| check(dnnl_primitive_desc_create(&l->pd, &rd, attr, d->engine, NULL),
			"dnnl_primitive_desc_create (rnn)", err) < 0
		|| check(dnnl_primitive_create(&l->prim, l->pd), "dnnl_primitive_create (rnn)",
			err) < 0) {
		return -1;
	}
	if (k == 0 && check(dnnl_memory_create(&d->input, &src_md, d->engine, DNNL_MEMORY_NONE),
			"dnnl_memory_create (input)", err) < 0) {
		return -1;
	}
	const size_t hs = (size_t)h, ins = (size_t)in;
	float *wl = malloc(ins * (size_t)G * hs * sizeof *wl);
	float *wi = malloc(hs * (size_t)G * hs * sizeof *wi);
	float *bias = malloc((size_t)bg * hs * sizeof *bias);
	int rc = -1;
	if (!wl || !wi || !bias) {
		tc_err_set(err, "out of memory for oneDNN's copy of layer %d's weights", k);
		goto out;
	}
	convert_layer(w, k, wl, wi, bias);
	if (arg_memory(d, l->pd, DNNL_ARG_WEIGHTS_LAYER, &wl_md, wl, &l->weights_layer, err) < 0
		|| arg_memory(d, l->pd, DNNL_ARG_WEIGHTS_ITER, &wi_md, wi, &l->weights_iter, err) < 0
		|| arg_memory(d, l->pd, DNNL_ARG_BIAS, &bias_md, bias, &l->bias, err) < 0) {
		goto out;
	}
	if (w->type == TC_LAYER_LSTM && state_buffer(d, &iter_md, &l->h_iter, &l->dst_iter, err) < 0) {
		goto out;
	}
	for (int p = 0; p < 2; p++) {
		if (state_buffer(d, &iter_md, &l->h[p], &l->iter[p], err) < 0
			|| check(dnnl_memory_create(&l->out[p], &dst_md, d->engine, l->h[p]),
				"dnnl_memory_create (dst_layer)", err) < 0
			|| (w->type == TC_LAYER_LSTM
				&& state_buffer(d, &iter_md, &l->c[p], &l->iter_c[p], err) < 0)) {
			goto out;
		}
	}
	rc = 0;
out:
	free(wl);
	free(wi);
	free(bias);
	return rc;
}

static int create_head(struct bench_dnnl *d, const struct bench_weights *w,
	const_dnnl_primitive_attr_t attr, char *err)
{
	const dnnl_dim_t b = (dnnl_dim_t)d->batch, h = d->hidden, o = BENCH_OUTPUTS;
	dnnl_memory_desc_t src_md, w_any, w_md, bias_md, dst_md;
	/* PyTorch's fc.weight [O, H] row-major is oneDNN's [H, O] in layout ba. */
	if (md_init(&src_md, 2, (dnnl_dims_t){b, h}, dnnl_ab, err) < 0
		|| md_init(&w_any, 2, (dnnl_dims_t){h, o}, dnnl_format_tag_any, err) < 0
		|| md_init(&w_md, 2, (dnnl_dims_t){h, o}, dnnl_ba, err) < 0
		|| md_init(&bias_md, 2, (dnnl_dims_t){1, o}, dnnl_ab, err) < 0
		|| md_init(&dst_md, 2, (dnnl_dims_t){b, o}, dnnl_ab, err) < 0) {
		return -1;
	}
	dnnl_matmul_desc_t md;
	if (check(dnnl_matmul_desc_init(&md, &src_md, &w_any, &bias_md, &dst_md),
			"dnnl_matmul_desc_init", err) < 0
		|| check(dnnl_primitive_desc_create(&d->head_pd, &md, attr, d->engine, NULL),
			"dnnl_primitive_desc_create (matmul)", err) < 0
		|| check(dnnl_primitive_create(&d->head, d->head_pd), "dnnl_primitive_create (matmul)",
			err) < 0
		|| arg_memory(d, d->head_pd, DNNL_ARG_WEIGHTS, &w_md, w->head_weight,
			&d->head_weights, err) < 0
		|| arg_memory(d, d->head_pd, DNNL_ARG_BIAS, &bias_md, w->head_bias, &d->head_bias,
			err) < 0) {
		return -1;
	}
	if (!(d->outputs = aligned_alloc(ALIGN, (d->batch * BENCH_OUTPUTS * sizeof(float)
			+ ALIGN - 1) / ALIGN * ALIGN))) {
		return tc_err_set(err, "out of memory for oneDNN's outputs (B=%zu)", d->batch);
	}
	const struct dnnl_layer *last = &d->layer[BENCH_LAYERS - 1];
	for (int p = 0; p < 2; p++) {
		if (check(dnnl_memory_create(&d->head_src[p], &src_md, d->engine, last->h[p]),
				"dnnl_memory_create (head src)", err) < 0) {
			return -1;
		}
	}
	return check(dnnl_memory_create(&d->head_dst, &dst_md, d->engine, d->outputs),
		"dnnl_memory_create (head dst)", err);
}

/* One buffer for every primitive's scratchpad: they never run at once. */
static int create_scratchpad(struct bench_dnnl *d, char *err)
{
	size_t size = scratch_size(d->head_pd);
	for (int k = 0; k < BENCH_LAYERS; k++) {
		size_t s = scratch_size(d->layer[k].pd);
		size = s > size ? s : size;
	}
	if (!(d->scratchpad = aligned_alloc(ALIGN, (size + ALIGN - 1) / ALIGN * ALIGN + ALIGN))) {
		return tc_err_set(err, "out of memory for oneDNN's scratchpad (%zu bytes)", size);
	}
	for (int k = 0; k < BENCH_LAYERS; k++) {
		const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(d->layer[k].pd,
			dnnl_query_scratchpad_md, 0);
		if (check(dnnl_memory_create(&d->layer[k].scratch, md, d->engine, d->scratchpad),
				"dnnl_memory_create (scratchpad)", err) < 0) {
			return -1;
		}
	}
	const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(d->head_pd,
		dnnl_query_scratchpad_md, 0);
	return check(dnnl_memory_create(&d->head_scratch, md, d->engine, d->scratchpad),
		"dnnl_memory_create (scratchpad)", err);
}

struct bench_dnnl *bench_dnnl_create(const struct bench_weights *w, size_t batch,
	int threads, char *err)
{
	struct bench_dnnl *d = calloc(1, sizeof *d);
	dnnl_primitive_attr_t attr = NULL;
	if (!d) {
		tc_err_set(err, "out of memory for oneDNN's state");
		return NULL;
	}
	d->batch = batch;
	d->type = w->type;
	d->hidden = w->hidden;
	d->threads = threads;
	/* oneDNN sizes its kernels' thread split at creation from the OpenMP default. */
	omp_set_num_threads(threads);
	if (check(dnnl_engine_create(&d->engine, dnnl_cpu, 0), "dnnl_engine_create", err) < 0
		|| check(dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags),
			"dnnl_stream_create", err) < 0
		|| check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create", err) < 0
		|| check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
			"dnnl_primitive_attr_set_scratchpad_mode", err) < 0) {
		goto err_create;
	}
	for (int k = 0; k < BENCH_LAYERS; k++) {
		if (create_layer(d, w, k, attr, err) < 0) {
			goto err_create;
		}
	}
	if (create_head(d, w, attr, err) < 0 || create_scratchpad(d, err) < 0) {
		goto err_create;
	}
	dnnl_primitive_attr_destroy(attr);
	bench_dnnl_reset(d);
	return d;

err_create:
	dnnl_primitive_attr_destroy(attr);
	bench_dnnl_destroy(&d);
	return NULL;
}

void bench_dnnl_destroy(struct bench_dnnl **dp)
{
	struct bench_dnnl *d = dp ? *dp : NULL;
	if (!d) {
		return;
	}
	dnnl_memory_destroy(d->head_dst);
	for (int p = 0; p < 2; p++) {
		dnnl_memory_destroy(d->head_src[p]);
	}
	dnnl_memory_destroy(d->head_scratch);
	dnnl_memory_destroy(d->head_bias);
	dnnl_memory_destroy(d->head_weights);
	dnnl_primitive_destroy(d->head);
	dnnl_primitive_desc_destroy(d->head_pd);
	for (int k = BENCH_LAYERS - 1; k >= 0; k--) {
		struct dnnl_layer *l = &d->layer[k];
		for (int p = 0; p < 2; p++) {
			dnnl_memory_destroy(l->out[p]);
			dnnl_memory_destroy(l->iter[p]);
			dnnl_memory_destroy(l->iter_c[p]);
			free(l->h[p]);
			free(l->c[p]);
		}
		dnnl_memory_destroy(l->dst_iter);
		free(l->h_iter);
		dnnl_memory_destroy(l->scratch);
		dnnl_memory_destroy(l->bias);
		dnnl_memory_destroy(l->weights_iter);
		dnnl_memory_destroy(l->weights_layer);
		dnnl_primitive_destroy(l->prim);
		dnnl_primitive_desc_destroy(l->pd);
	}
	dnnl_memory_destroy(d->input);
	free(d->scratchpad);
	free(d->outputs);
	dnnl_stream_destroy(d->stream);
	dnnl_engine_destroy(d->engine);
	free(d);
	*dp = NULL;
}

void bench_dnnl_reset(struct bench_dnnl *d)
{
	for (int k = 0; k < BENCH_LAYERS; k++) {
		for (int p = 0; p < 2; p++) {
			memset(d->layer[k].h[p], 0, d->batch * (size_t)d->hidden * sizeof(float));
			if (d->layer[k].c[p]) {
				memset(d->layer[k].c[p], 0, d->batch * (size_t)d->hidden * sizeof(float));
			}
		}
	}
	d->parity = 0;
}

int bench_dnnl_step(struct bench_dnnl *d, const float *inputs, char *err)
{
	const int p = d->parity, q = !p;
	omp_set_num_threads(d->threads);
	if (check(dnnl_memory_set_data_handle(d->input, (void *)inputs),
			"dnnl_memory_set_data_handle", err) < 0) {
		return -1;
	}
	for (int k = 0; k < BENCH_LAYERS; k++) {
		struct dnnl_layer *l = &d->layer[k];
		dnnl_exec_arg_t args[] = {
			{DNNL_ARG_SRC_LAYER, k == 0 ? d->input : d->layer[k - 1].out[q]},
			{DNNL_ARG_SRC_ITER, l->iter[p]},
			{DNNL_ARG_WEIGHTS_LAYER, l->weights_layer},
			{DNNL_ARG_WEIGHTS_ITER, l->weights_iter},
			{DNNL_ARG_BIAS, l->bias},
			{DNNL_ARG_DST_LAYER, l->out[q]},
			{DNNL_ARG_SCRATCHPAD, l->scratch},
			{DNNL_ARG_SRC_ITER_C, l->iter_c[p]},
			{DNNL_ARG_DST_ITER_C, l->iter_c[q]},
			{DNNL_ARG_DST_ITER, l->dst_iter},
		};
		int n_args = d->type == TC_LAYER_LSTM ? 10 : 7;
		if (check(dnnl_primitive_execute(l->prim, d->stream, n_args, args), "rnn execute",
				err) < 0) {
			return -1;
		}
	}
	dnnl_exec_arg_t args[] = {
		{DNNL_ARG_SRC, d->head_src[q]},
		{DNNL_ARG_WEIGHTS, d->head_weights},
		{DNNL_ARG_BIAS, d->head_bias},
		{DNNL_ARG_DST, d->head_dst},
		{DNNL_ARG_SCRATCHPAD, d->head_scratch},
	};
	if (check(dnnl_primitive_execute(d->head, d->stream, 5, args), "matmul execute", err) < 0
		|| check(dnnl_stream_wait(d->stream), "dnnl_stream_wait", err) < 0) {
		return -1;
	}
	d->parity = q;
	return 0;
}

const float *bench_dnnl_outputs(const struct bench_dnnl *d)
{
	return d->outputs;
}

const float *bench_dnnl_hidden(const struct bench_dnnl *d, int layer)
{
	return d->layer[layer].h[d->parity];
}
