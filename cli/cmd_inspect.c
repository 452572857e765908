/* cmd_inspect.c -- `tickcast inspect`: the tensors of a safetensors file. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "safetensors.h"

static const char usage[] =
	"Usage: tickcast inspect FILE.safetensors\n"
	"\n"
	"Validates the file (header, dtypes, shapes, offsets) and lists its tensors:\n"
	"name, dtype, shape and bytes, in header order.\n"
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
	char err[TC_ERR_LEN];
	struct tc_safetensors *st = tc_safetensors_open(argv[1], err);
	if (!st) {
		fprintf(stderr, "tickcast inspect: %s\n", err);
		return 1;
	}
	size_t n = tc_safetensors_count(st);
	printf("%s: %zu tensor%s\n", argv[1], n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		print_tensor(tc_safetensors_at(st, i));
	}
	tc_safetensors_close(&st);
	return 0;
}
