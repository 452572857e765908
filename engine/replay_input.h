/* replay_input.h -- (internal to replay) reading lines a block at a time and parsing them on every thread.
 *
 * `tickcast replay` reads its input in blocks of 512 KB: the block is cut
 * into lines, the lines are parsed in parallel (each one alone, so the
 * result is the same on any number of threads), and the readings of those
 * that parsed are laid out as a tc_reading_batch, in line order, for
 * tc_tick_offer_batch. */
#ifndef TC_REPLAY_INPUT_H
#define TC_REPLAY_INPUT_H

#include <stdint.h>
#include <stdio.h>

#include "reading.h"
#include "tick.h"

struct tc_replay_input;

/* Input of readings of `width` values, parsed by `threads` OpenMP threads.
 * NULL when out of memory. */
struct tc_replay_input *tc_replay_input_create(int width, int threads);
void tc_replay_input_destroy(struct tc_replay_input **in);

/* Reads the next block of whole lines from f and parses them. Returns the
 * lines read (0 at the end of f), or -1 with err when reading failed or
 * memory ran out. */
long tc_replay_input_next(struct tc_replay_input *in, FILE *f, char *err);

/* The readings of the block's lines that parsed, in line order; borrowed
 * until the next block. */
const struct tc_reading_batch *tc_replay_input_batch(const struct tc_replay_input *in);

/* The index in the block of the line that holds reading `reading` of the
 * batch; the block's line count for reading == the batch's n. */
size_t tc_replay_input_line_of(const struct tc_replay_input *in, size_t reading);

/* Line i of the block (i below what tc_replay_input_next returned): 0 when
 * it is blank; 1 when it parsed (*reading its index in the batch); -1 when it
 * did not (*why, and err the message). */
int tc_replay_input_line(const struct tc_replay_input *in, size_t i, size_t *reading,
	enum tc_reject *why, char *err);

#endif
