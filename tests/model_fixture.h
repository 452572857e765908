/* model_fixture.h -- loading a model from tensors written to a temporary
 * safetensors file, and checking the error it gives; shared by the model tests. */
#ifndef TC_TEST_MODEL_FIXTURE_H
#define TC_TEST_MODEL_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "model.h"
#include "st_writer.h"

/* Writes the n tensors to a new file (its name into path, 64 bytes), loads
 * it with spec and removes it; returns the model, or NULL with err. */
static inline struct tc_model *mf_load(const struct tc_model_spec *spec,
	const struct st_tensor *t, size_t n, char *path, char *err)
{
	cr_assert_eq(st_write(path, t, n), 0);
	struct tc_model *m = tc_model_load(spec, path, err);
	unlink(path);
	return m;
}

/* Loading must fail with a message that holds `want` and names the file. */
static inline void mf_expect_error(const struct tc_model_spec *spec, const struct st_tensor *t,
	size_t n, const char *want)
{
	char path[64], err[TC_ERR_LEN] = "";
	struct tc_model *m = mf_load(spec, t, n, path, err);
	cr_assert_null(m, "expected an error containing \"%s\"", want);
	cr_assert(strstr(err, want), "error \"%s\" lacks \"%s\"", err, want);
	cr_assert(strstr(err, path), "error \"%s\" does not name the file", err);
}

#endif
