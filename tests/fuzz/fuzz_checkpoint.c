/* fuzz_checkpoint.c -- libFuzzer harness: the checkpoint reader (tc_checkpoint_load),
 * and restoring what it accepts into a tick engine (tc_tick_restore).
 *
 * The input is the file, through a memfd (fuzz_file.h). Each input is loaded
 * twice: as it is, and resealed -- the header's byte count and every checksum
 * that can be located rewritten -- so that mutations get past XXH3 to the
 * checks of the contents. checkpoint.h promises that a file load accepts
 * needs no other check before restoring but whether it fits the engine; so
 * an accepted one is restored into an engine built to fit it (its shape with
 * zero weights, its clock, interval and scaler) when that is small, and the
 * restored engine is written to a checkpoint again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "byte_order.h"
#include "checkpoint_internal.h"
#include "error.h"
#include "fuzz_file.h"
#include "tick_checkpoint.h"

#define ZERO_FLOATS (1u << 16)   /* the largest weight tensor built for a restore */
#define MAX_RESTORE_SLOTS 4096u  /* larger checkpoints are loaded, not restored */

static const float zero[ZERO_FLOATS];

/* Rewrites the byte count and the checksums of the header and of each
 * section whose frame lies inside the file. */
static void reseal(unsigned char *b, size_t size)
{
	if (size < HEADER_BYTES) {
		return;
	}
	tc_store_u64(b + 16, size);
	tc_store_u64(b + 24, XXH3_64bits(b, 24));
	size_t at = HEADER_BYTES;
	for (int i = 0; i < TC_CKPT__COUNT && size - at >= SECTION_HEAD; i++) {
		uint64_t payload = tc_load_u64(b + at + 8);
		uint64_t room = size - at - SECTION_HEAD;
		if (payload > room || tc_checkpoint_padded(payload) + SECTION_TAIL > room) {
			return;
		}
		size_t end = at + SECTION_HEAD + (size_t)tc_checkpoint_padded(payload);
		tc_store_u64(b + end, tc_checkpoint_section_sum(b, at, payload));
		at = end + SECTION_TAIL;
	}
}

/* Whether each weight tensor of shape s fits in `zero`. */
static int small_model(const struct tc_model_spec *s)
{
	int in = s->input_size;
	for (int k = 0; k < s->n_layers; k++) {
		int h = s->hidden[k];
		if ((uint64_t)3 * h * (uint64_t)(in > h ? in : h) > ZERO_FLOATS) {
			return 0;
		}
		in = h;
	}
	return (uint64_t)s->outputs * (uint64_t)in <= ZERO_FLOATS;
}

static void restore(const struct tc_checkpoint *c)
{
	const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
	if (info->slots > MAX_RESTORE_SLOTS || !small_model(&info->shape)) {
		return;
	}
	struct tc_model_weights w = {.head[0] = {zero, zero}};
	for (int k = 0; k < info->shape.n_layers; k++) {
		w.layer[k] = (struct tc_layer_weights){zero, zero, zero, zero};
	}
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&info->shape, &w, err);
	if (!m) {
		return;
	}
	struct tc_tick_config tc = {.clock = info->clock, .interval_ms = info->interval_ms,
		.flush_ms = info->interval_ms, .aggregate = TC_AGGREGATE_LAST,
		.missing = TC_MISSING_HOLD};
	size_t max_series = info->slots > 0 ? (size_t)info->slots : 1;
	struct tc_tick *t = tc_tick_create(&tc, m, max_series, 0, &info->scaler, err);
	int other_weights;
	struct tc_checkpoint *again = tc_checkpoint_create();
	if (t && again && tc_tick_checkpoint_fits(t, c, &other_weights, err) == 0
		&& tc_tick_restore(t, c, err) == 0 && tc_tick_checkpoint(t, again, err) < 0) {
		abort();
	}
	tc_checkpoint_destroy(&again);
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
}

static void load(struct tc_checkpoint *c, const uint8_t *data, size_t size)
{
	char err[TC_ERR_LEN];
	if (tc_checkpoint_load(c, fuzz_file_path(data, size), err) == 0) {
		restore(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	unsigned char *copy = malloc(size ? size : 1);
	if (!c || !copy) {
		abort();
	}
	load(c, data, size);
	memcpy(copy, data, size);
	reseal(copy, size);
	load(c, copy, size);
	free(copy);
	tc_checkpoint_destroy(&c);
	return 0;
}
