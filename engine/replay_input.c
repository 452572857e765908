/* replay_input.c -- replay's input: blocks of lines, parsed in parallel into a reading batch. */
#include "replay_input.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"

/* Bytes read at a time: small enough that a block's per-line arrays stay in
 * cache (4 MB blocks ran replay a fifth slower); a longer line makes the
 * block longer. */
#define BLOCK_BYTES ((size_t)1 << 19)
#define PARSE_CHUNK 1024               /* lines a thread parses at a time */

enum line_state { LINE_BLANK, LINE_READING, LINE_BAD };

struct tc_replay_input {
	int width;
	int threads;
	char *text;                  /* the block's bytes, then a partial last line */
	size_t text_len, text_cap;
	size_t consumed;             /* bytes of text cut into lines */
	int at_end;                  /* the file has no more bytes */
	size_t n_lines, lines_cap;
	size_t *line_off;            /* [lines_cap] */
	size_t *line_len;            /* [lines_cap], without the newline */
	uint8_t *state;              /* [lines_cap]: enum line_state */
	uint8_t *why;                /* [lines_cap]: a bad line's enum tc_reject */
	size_t *reading_of;          /* [lines_cap]: a parsed line's index in the batch */
	size_t *line_of;             /* [lines_cap]: a reading's line */
	/* The batch's arrays, indexed by line while parsing, then packed. */
	size_t *id_off;
	uint8_t *id_len;
	double *time;
	float *values;               /* [lines_cap x width] */
	struct tc_reading_batch batch;
};

struct tc_replay_input *tc_replay_input_create(int width, int threads)
{
	struct tc_replay_input *in = calloc(1, sizeof *in);
	if (in) {
		in->width = width;
		in->threads = threads > 0 ? threads : 1;
	}
	return in;
}

void tc_replay_input_destroy(struct tc_replay_input **inp)
{
	if (!inp || !*inp) {
		return;
	}
	struct tc_replay_input *in = *inp;
	free(in->text);
	free(in->line_off);
	free(in->line_len);
	free(in->state);
	free(in->why);
	free(in->reading_of);
	free(in->line_of);
	free(in->id_off);
	free(in->id_len);
	free(in->time);
	free(in->values);
	free(in);
	*inp = NULL;
}

/* Makes the per-line arrays hold n lines. Returns 0 or -1. */
static int reserve_lines(struct tc_replay_input *in, size_t n)
{
	if (n <= in->lines_cap) {
		return 0;
	}
	size_t cap = n > 2 * in->lines_cap ? n : 2 * in->lines_cap;
	if (tc_array_grow((void **)&in->line_off, cap, sizeof *in->line_off) < 0
		|| tc_array_grow((void **)&in->line_len, cap, sizeof *in->line_len) < 0
		|| tc_array_grow((void **)&in->state, cap, sizeof *in->state) < 0
		|| tc_array_grow((void **)&in->why, cap, sizeof *in->why) < 0
		|| tc_array_grow((void **)&in->reading_of, cap, sizeof *in->reading_of) < 0
		|| tc_array_grow((void **)&in->line_of, cap, sizeof *in->line_of) < 0
		|| tc_array_grow((void **)&in->id_off, cap, sizeof *in->id_off) < 0
		|| tc_array_grow((void **)&in->id_len, cap, sizeof *in->id_len) < 0
		|| tc_array_grow((void **)&in->time, cap, sizeof *in->time) < 0
		|| tc_array_grow((void **)&in->values, cap, (size_t)in->width * sizeof *in->values) < 0) {
		return -1;
	}
	in->lines_cap = cap;
	return 0;
}

/* Reads more of f after the bytes not cut into lines yet. Returns 0 or -1
 * with err. */
static int read_more(struct tc_replay_input *in, FILE *f, char *err)
{
	if (in->consumed) {
		memmove(in->text, in->text + in->consumed, in->text_len - in->consumed);
		in->text_len -= in->consumed;
		in->consumed = 0;
	}
	if (in->text_cap - in->text_len < BLOCK_BYTES) {
		size_t cap = in->text_len + BLOCK_BYTES;
		if (tc_array_grow((void **)&in->text, cap, 1) < 0) {
			return tc_err_set(err, "out of memory for a line of %zu bytes", in->text_len);
		}
		in->text_cap = cap;
	}
	size_t got = fread(in->text + in->text_len, 1, BLOCK_BYTES, f);
	in->text_len += got;
	if (got < BLOCK_BYTES) {
		if (ferror(f)) {
			return tc_err_set(err, "reading the input failed: %s", strerror(errno));
		}
		in->at_end = 1;
	}
	return 0;
}

/* Cuts the text read into lines: every one ended by a newline, and at the
 * end of the file the last one whatever ends it. Returns 0 or -1 (memory). */
static int cut_lines(struct tc_replay_input *in)
{
	in->n_lines = 0;
	while (in->consumed < in->text_len) {
		const char *start = in->text + in->consumed;
		const char *nl = memchr(start, '\n', in->text_len - in->consumed);
		if (!nl && !in->at_end) {
			break;
		}
		size_t len = nl ? (size_t)(nl - start) : in->text_len - in->consumed;
		if (reserve_lines(in, in->n_lines + 1) < 0) {
			return -1;
		}
		in->line_off[in->n_lines] = in->consumed;
		in->line_len[in->n_lines++] = len;
		in->consumed += len + (nl != NULL);
	}
	return 0;
}

/* Parses line i into the arrays at index i. */
static void parse_line(struct tc_replay_input *in, size_t i)
{
	const char *line = in->text + in->line_off[i];
	size_t len = in->line_len[i];
	if (tc_reading_is_blank(line, len)) {
		in->state[i] = LINE_BLANK;
		return;
	}
	struct tc_reading r;
	enum tc_reject why;
	char err[TC_ERR_LEN];
	if (tc_reading_parse(&r, line, len, in->width, &why, err) < 0) {
		in->state[i] = LINE_BAD;
		in->why[i] = (uint8_t)why;
		return;
	}
	in->state[i] = LINE_READING;
	in->id_off[i] = (size_t)(r.id - in->text);
	in->id_len[i] = (uint8_t)r.id_len;
	in->time[i] = r.has_time ? r.time : NAN;
	memcpy(in->values + i * (size_t)in->width, r.values, (size_t)in->width * sizeof(float));
}

/* Moves the parsed lines' readings together, in line order. */
static void pack(struct tc_replay_input *in)
{
	const size_t width = (size_t)in->width;
	size_t n = 0;
	for (size_t i = 0; i < in->n_lines; i++) {
		if (in->state[i] != LINE_READING) {
			continue;
		}
		in->reading_of[i] = n;
		in->line_of[n] = i;
		if (n != i) {
			in->id_off[n] = in->id_off[i];
			in->id_len[n] = in->id_len[i];
			in->time[n] = in->time[i];
			memcpy(in->values + n * width, in->values + i * width, width * sizeof(float));
		}
		n++;
	}
	in->batch = (struct tc_reading_batch){
		.n = n, .ids = in->text, .id_off = in->id_off, .id_len = in->id_len, .time = in->time,
		.values = in->values,
	};
}

long tc_replay_input_next(struct tc_replay_input *in, FILE *f, char *err)
{
	in->n_lines = 0;
	while (in->n_lines == 0 && !(in->at_end && in->consumed == in->text_len)) {
		if (read_more(in, f, err) < 0) {
			return -1;
		}
		if (cut_lines(in) < 0) {
			return tc_err_set(err, "out of memory for %zu lines", in->n_lines);
		}
	}
	const long n = (long)in->n_lines;
#pragma omp parallel for schedule(dynamic, PARSE_CHUNK) num_threads(in->threads) \
	if (n > PARSE_CHUNK)
	for (long i = 0; i < n; i++) {
		parse_line(in, (size_t)i);
	}
	pack(in);
	return n;
}

size_t tc_replay_input_line_of(const struct tc_replay_input *in, size_t reading)
{
	return reading < in->batch.n ? in->line_of[reading] : in->n_lines;
}

const struct tc_reading_batch *tc_replay_input_batch(const struct tc_replay_input *in)
{
	return &in->batch;
}

int tc_replay_input_line(const struct tc_replay_input *in, size_t i, size_t *reading,
	enum tc_reject *why, char *err)
{
	switch ((enum line_state)in->state[i]) {
	case LINE_BLANK:
		return 0;
	case LINE_READING:
		*reading = in->reading_of[i];
		return 1;
	default: {
		/* Parsed again for its message: bad lines are few, and a message
		 * per line kept from the parallel pass would cost TC_ERR_LEN each. */
		struct tc_reading r;
		tc_reading_parse(&r, in->text + in->line_off[i], in->line_len[i], in->width, why, err);
		return -1;
	}
	}
}
