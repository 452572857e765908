/* fuzz_config.c -- libFuzzer harness: the YAML config from text (tc_config_parse).
 *
 * Any bytes must give 0 or -1 with a message in err, never a crash or a leak.
 * A config that is accepted must be within the bounds the schema promises the
 * code that uses it: the layer count and sizes of the model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tc_config cfg;
	char err[TC_ERR_LEN];
	err[0] = '\0';
	if (tc_config_parse(&cfg, "fuzz.yaml", (const char *)data, size, err) < 0) {
		if (err[0] == '\0' || memchr(err, '\0', TC_ERR_LEN) == NULL) {
			abort();
		}
		return 0;
	}
	if (cfg.model.n_layers < 0 || cfg.model.n_layers > TC_MAX_LAYERS
		|| cfg.model.input_size < 0 || cfg.model.input_size > TC_MAX_INPUT
		|| cfg.model.outputs < 0 || cfg.model.outputs > TC_MAX_WIDTH) {
		abort();
	}
	for (int k = 0; k < cfg.model.n_layers; k++) {
		if (cfg.model.hidden[k] < 1 || cfg.model.hidden[k] > TC_MAX_WIDTH) {
			abort();
		}
	}
	return 0;
}
