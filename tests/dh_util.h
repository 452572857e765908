/* dh_util.h -- daemon tests' clocks, growable buffers and line lists, whole-file reads. */
#ifndef TC_TEST_DH_UTIL_H
#define TC_TEST_DH_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- clocks ---- */

static inline double dh_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void dh_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* ---- buffers and files ---- */

/* A growable byte buffer for building readings. */
struct dh_buf {
	char *p;
	size_t len, cap;
};

static inline void dh_buf_add(struct dh_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1) {
			cap *= 2;
		}
		b->p = realloc(b->p, cap);
		cr_assert_not_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static inline void dh_buf_printf(struct dh_buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof line);
	dh_buf_add(b, line, (size_t)n);
}

static inline void dh_buf_free(struct dh_buf *b)
{
	free(b->p);
	*b = (struct dh_buf){0};
}

/* Reads a whole file into a malloc'ed buffer. */
static inline char *dh_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	struct dh_buf b = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		dh_buf_add(&b, chunk, n);
	}
	fclose(f);
	*len = b.len;
	return b.p;
}

/* ---- lines ---- */

struct dh_lines {
	char **v;
	size_t n, cap;
};

static inline void dh_lines_add(struct dh_lines *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		cr_assert_not_null(l->v);
	}
	char *copy = malloc(len + 1);
	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	copy[len] = '\0';
	l->v[l->n++] = copy;
}

/* Adds every non-empty line of text. */
static inline void dh_lines_split(struct dh_lines *l, const char *text, size_t len)
{
	const char *end = text + len;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		const char *stop = nl ? nl : end;
		if (stop > text) {
			dh_lines_add(l, text, (size_t)(stop - text));
		}
		text = nl ? nl + 1 : end;
	}
}

static inline void dh_lines_free(struct dh_lines *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i]);
	}
	free(l->v);
	*l = (struct dh_lines){0};
}

static inline int dh_compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void dh_lines_sort(struct dh_lines *l)
{
	if (l->n) {
		qsort(l->v, l->n, sizeof *l->v, dh_compare_strings);
	}
}

#endif
