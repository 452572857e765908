/* cmd_inspect.c -- `tickcast inspect`: the tensors of a safetensors file, or a checkpoint's summary. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "commands.h"
#include "error.h"
#include "safetensors.h"
#include "tick_checkpoint.h"

static const char usage[] =
	"Usage: tickcast inspect FILE\n"
	"\n"
	"A weights file (.safetensors): validates it (header, dtypes, shapes,\n"
	"offsets) and lists its tensors: name, dtype, shape and bytes, in header\n"
	"order.\n"
	"\n"
	"A checkpoint (tickcastd's checkpoint.path, or tickcast replay\n"
	"--checkpoint-out): validates all of it (every section's checksum and\n"
	"length) and prints its summary: series and slots, the model's shape and\n"
	"weights sha256, the tick settings and scaler it was written with, the\n"
	"last tick it holds, and the bytes of each section.\n"
	"\n"
	"Exit status: 0 valid, 1 invalid (the problem is printed), 2 bad usage.\n";

static void print_tensor(const struct tc_tensor *t)
{
	char shape[160];
	size_t used = (size_t)snprintf(shape, sizeof shape, "[");
	for (int d = 0; d < t->ndim && used < sizeof shape; d++) {
		used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%" PRIu64,
			d ? ", " : "", t->shape[d]);
	}
	if (used < sizeof shape) {
		snprintf(shape + used, sizeof shape - used, "]");
	}
	printf("%-32s %-5s %-16s %zu bytes\n", t->name, tc_dtype_to_string(t->dtype), shape,
		t->nbytes);
}

static int inspect_weights(const char *path)
{
	char err[TC_ERR_LEN];
	struct tc_safetensors *st = tc_safetensors_open(path, err);
	if (!st) {
		fprintf(stderr, "tickcast inspect: %s\n", err);
		return 1;
	}
	size_t n = tc_safetensors_count(st);
	printf("%s: %zu tensor%s\n", path, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		print_tensor(tc_safetensors_at(st, i));
	}
	tc_safetensors_close(&st);
	return 0;
}

static void print_checkpoint(const char *path, const struct tc_checkpoint *c)
{
	const struct tc_checkpoint_info *i = tc_checkpoint_get_info(c);
	const struct tc_model_spec *m = &i->shape;
	int has;
	double t = (double)tc_checkpoint_last_tick_ms(c, &has) / 1000.0;
	printf("%s: tickcast checkpoint, version %" PRIu32 ", %" PRIu64 " bytes\n", path,
		i->version, i->bytes);
	printf("series       %" PRIu64 " (%" PRIu64 " slots, %" PRIu64 " free)\n",
		i->slots - i->free_slots, i->slots, i->free_slots);
	printf("model        input %d, layers [", m->input_size);
	for (int k = 0; k < m->n_layers; k++) {
		printf("%s%s %d", k ? ", " : "", tc_layer_type_to_string(m->type[k]), m->hidden[k]);
	}
	printf("], outputs %d, reset_after %s\n", m->outputs, m->reset_after ? "true" : "false");
	printf("weights      sha256 %s\n", i->weights_sha256[0] ? i->weights_sha256 : "(none)");
	printf("tick         clock %s, interval_ms %d\n", tc_clock_to_string(i->clock),
		i->interval_ms);
	if (i->scaler.type == TC_SCALER_EMA) {
		printf("scaler       ema, alpha %g, warmup %d\n", i->scaler.alpha, i->scaler.warmup);
	} else {
		printf("scaler       none\n");
	}
	if (i->interval_horizons) {
		printf("intervals    %" PRIu32 " horizons\n", i->interval_horizons);
	} else {
		printf("intervals    none\n");
	}
	if (has) {
		printf("last tick    t=%.17g (bucket %" PRId64 "), %" PRIu64 " ticks closed\n", t,
			i->last_bucket, i->ticks);
	} else {
		printf("last tick    none closed\n");
	}
	printf("sections    ");
	for (int s = 0; s < TC_CKPT__COUNT; s++) {
		printf(" %s %" PRIu64, tc_checkpoint_section_tag((enum tc_checkpoint_section)s),
			i->section_bytes[s]);
	}
	printf(" (bytes)\n");
}

static int inspect_checkpoint(const char *path)
{
	char err[TC_ERR_LEN];
	struct tc_checkpoint *c = tc_checkpoint_create();
	int rc = c ? tc_checkpoint_load(c, path, err) : tc_err_set(err, "out of memory");
	if (rc == 0) {
		print_checkpoint(path, c);
	} else {
		fprintf(stderr, "tickcast inspect: %s\n", err);
	}
	tc_checkpoint_destroy(&c);
	return rc < 0 ? 1 : 0;
}

/* Whether the file starts like a checkpoint. */
static int looks_like_checkpoint(const char *path)
{
	char magic[8] = {0};
	FILE *f = fopen(path, "rb");
	if (!f) {
		return 0;
	}
	size_t got = fread(magic, 1, sizeof magic, f);
	fclose(f);
	return got == sizeof magic && memcmp(magic, "TICKCKPT", sizeof magic) == 0;
}

int tc_cmd_inspect(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "tickcast inspect: expected one file\n\n%s", usage);
		return 2;
	}
	return looks_like_checkpoint(argv[1]) ? inspect_checkpoint(argv[1])
		: inspect_weights(argv[1]);
}
