/* pack.c -- PyTorch's matrices into the kernels' panels (layer.h), in
 * fp32 and, for bf16 models, as bf16 pairs of rows. */
#include "pack.h"

#include <stdlib.h>
#include <string.h>

#include "bf16.h"

int tc_pack(struct tc_packed *p, struct tc_pack_source a, struct tc_pack_source b,
	int first, int cols)
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

int tc_pack_bf16(struct tc_packed *p)
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

void tc_packed_free(struct tc_packed *p)
{
	free(p->w);
	free(p->bias);
	free(p->wbf);
	memset(p, 0, sizeof *p);
}
