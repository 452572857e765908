/* checkpointer.h -- the daemon's checkpoints: a snapshot copied under the engine lock, a
 * writer thread that puts it on disk, and the restore at start.
 *
 * The tick thread copies the engine into a preallocated, pre-touched image
 * (the only part that holds the engine: docs/benchmarks.md, "Checkpoints")
 * every checkpoint.every_ticks closed ticks, and when a control request
 * asks for one; the writer thread ("tc-checkpoint") seals and writes it
 * atomically while the ticks go on. A snapshot that comes due while the
 * writer is still busy waits for the next tick. A write that fails (disk
 * full, read-only folder) is logged and counted, and the previous file
 * stays. On stop, one last checkpoint is written after the last tick. */
#ifndef TC_CHECKPOINTER_H
#define TC_CHECKPOINTER_H

#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "error.h"
#include "tick.h"

struct tc_checkpointer;

/* What a written checkpoint holds; the control command's reply. */
struct tc_checkpoint_result {
	int ok;                      /* 0: it failed, err says why */
	char err[TC_ERR_LEN];
	uint64_t series;
	uint64_t bytes;
	double held_ms;              /* the copy, while the engine was held */
	double ms;                   /* copy, seal and write to disk */
	int has_t;                   /* 0: no tick had closed */
	double t;                    /* its last tick's start, in the readings' units (s) */
};

struct tc_checkpointer_status {
	int enabled;                 /* checkpoint.path is set */
	int restored;                /* started from a checkpoint */
	int restored_has_t;
	double restored_t;           /* the last tick of the checkpoint it started from */
	uint64_t written, failures;
	uint64_t skipped;            /* due while the writer was busy: taken a tick later */
	struct tc_checkpoint_result last;  /* the newest written */
};

/* A checkpointer for cfg (copied); with cfg->path "" it does nothing.
 * NULL and err when out of memory. */
struct tc_checkpointer *tc_checkpointer_create(const struct tc_checkpoint_config *cfg,
	char *err);

/* Starts the writer thread (a no-op when disabled). */
int tc_checkpointer_start(struct tc_checkpointer *cp, char *err);

/* Waits for a write in flight, stops the thread, frees *cp. */
void tc_checkpointer_destroy(struct tc_checkpointer **cp);

/* At start, before the ticks: restores checkpoint.path into tick, a new
 * engine. No file: nothing to do. A file that cannot be restored: with
 * on_bad refuse, -1 and err naming the file and what is wrong; with
 * discard, it is renamed to <path>.bad, a warning logged, and 1 returned:
 * the caller must start from a new engine, as tick may be half restored.
 * Returns 0 when restored or nothing was there. */
int tc_checkpointer_restore(struct tc_checkpointer *cp, struct tc_tick *tick, char *err);

/* Tick thread, engine lock held. After a tick closed (closed = 1, from the
 * emitter) or at a loop turn (closed = 0): takes a snapshot of tick when
 * one is due and the writer is free. */
void tc_checkpointer_tick(struct tc_checkpointer *cp, struct tc_tick *tick, int closed);

/* Control thread: asks for a checkpoint now and waits until it is written
 * or has failed (res says which). Returns 0, or -1 with err when
 * checkpoints are off or the daemon is stopping. */
int tc_checkpointer_request(struct tc_checkpointer *cp, struct tc_checkpoint_result *res,
	char *err);

/* On stop, after the tick thread has ended: writes a checkpoint of tick now
 * (a no-op when disabled), waiting for any write in flight first. */
void tc_checkpointer_final(struct tc_checkpointer *cp, struct tc_tick *tick);

/* checkpoint.path, resolved. */
const char *tc_checkpointer_path(const struct tc_checkpointer *cp);

void tc_checkpointer_get_status(struct tc_checkpointer *cp, struct tc_checkpointer_status *s);

#endif
