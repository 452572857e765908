/* bench_dnnl_none.c -- bench_dnnl.h for builds configured without oneDNN: every call says so. */
#include "bench_dnnl.h"

#include <stddef.h>

#include "error.h"

#define NOT_BUILT "not built in: oneDNN (libdnnl-dev) was not found when the build was configured"

const char *bench_dnnl_version(char *err)
{
	tc_err_set(err, NOT_BUILT);
	return NULL;
}

struct bench_dnnl *bench_dnnl_create(const struct bench_weights *w, size_t batch,
	int threads, char *err)
{
	(void)w;
	(void)batch;
	(void)threads;
	tc_err_set(err, NOT_BUILT);
	return NULL;
}

void bench_dnnl_destroy(struct bench_dnnl **d)
{
	(void)d;
}

void bench_dnnl_reset(struct bench_dnnl *d)
{
	(void)d;
}

int bench_dnnl_step(struct bench_dnnl *d, const float *inputs, char *err)
{
	(void)d;
	(void)inputs;
	return tc_err_set(err, NOT_BUILT);
}

const float *bench_dnnl_outputs(const struct bench_dnnl *d)
{
	(void)d;
	return NULL;
}

const float *bench_dnnl_hidden(const struct bench_dnnl *d, int layer)
{
	(void)d;
	(void)layer;
	return NULL;
}
