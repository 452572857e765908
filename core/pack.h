/* pack.h -- (internal) PyTorch's row-major matrices into the panel layout
 * of layer.h, shared by the layers (model.c) and the head (head.c). */
#ifndef TC_PACK_H
#define TC_PACK_H

#include "layer.h"

/* One source of a packed matrix: a PyTorch [out x rows] weight and its
 * bias (NULL: none). */
struct tc_pack_source {
	const float *weight;
	int rows;
	const float *bias;
};

/* Packs `cols` outputs, from output row `first` on, of one source, or of
 * two stacked along the input (b.weight non-NULL: rows a.rows + b.rows,
 * biases summed). Returns 0, or -1 when out of memory. */
int tc_pack(struct tc_packed *p, struct tc_pack_source a, struct tc_pack_source b,
	int first, int cols);

/* Adds the bf16 copy of p's weights (layer.h), rounded to nearest even.
 * Returns 0, or -1 when out of memory. */
int tc_pack_bf16(struct tc_packed *p);

/* Frees p's arrays and zeroes it. */
void tc_packed_free(struct tc_packed *p);

#endif
