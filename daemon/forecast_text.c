/* forecast_text.c -- formatting one forecast as a text line. */
#include "forecast_text.h"

#include <inttypes.h>
#include <string.h>

void tc_forecast_text_time(char *buf, size_t len, int64_t ms)
{
	const char *sign = ms < 0 ? "-" : "";
	uint64_t abs_ms = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	uint64_t frac = abs_ms % 1000;
	if (frac == 0) {
		snprintf(buf, len, "%s%" PRIu64, sign, abs_ms / 1000);
		return;
	}
	int digits = frac % 100 == 0 ? 1 : frac % 10 == 0 ? 2 : 3;
	uint64_t shown = digits == 1 ? frac / 100 : digits == 2 ? frac / 10 : frac;
	snprintf(buf, len, "%s%" PRIu64 ".%0*" PRIu64, sign, abs_ms / 1000, digits, shown);
}

int tc_forecast_text_write(FILE *out, const struct tc_forecasts *f, size_t i)
{
	size_t id_len;
	const char *id = tc_registry_id(f->registry, f->slots[i], &id_len);
	char t[32];
	tc_forecast_text_time(t, sizeof t, f->bucket_ms);
	if (fprintf(out, "%.*s %s", (int)id_len, id, t) < 0) {
		return -1;
	}
	const float *y = f->outputs + i * (size_t)f->n_outputs;
	for (int k = 0; k < f->n_outputs; k++) {
		if (fprintf(out, " %.9g", (double)y[k]) < 0) {
			return -1;
		}
	}
	return fputc('\n', out) == EOF ? -1 : 0;
}
