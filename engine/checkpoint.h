/* checkpoint.h -- the checkpoint file: every series' state at a closed tick, self-describing.
 *
 * A checkpoint is an image in memory that is byte for byte the file
 * (docs/checkpoint.md): a header, then nine sections in a fixed order,
 * each with its length and an XXH3-64 checksum, every number little-endian.
 * This module lays the image out, seals it (checksums), writes it to disk
 * atomically, and reads and validates one; what goes into the sections is
 * the tick engine's business (tick_checkpoint.h).
 *
 *   writer: tc_checkpoint_begin (layout and the small sections), fill the
 *           arrays through tc_checkpoint_section, tc_checkpoint_save
 *   reader: tc_checkpoint_load (every check), then read the sections */
#ifndef TC_CHECKPOINT_H
#define TC_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

#define TC_CHECKPOINT_VERSION 2    /* 2 added INTV; version 1 files (8 sections) still read */

enum tc_checkpoint_section {
	TC_CKPT_MODEL,     /* "MODL": weights sha256 and the layer shapes */
	TC_CKPT_SETTINGS,  /* "SETS": tick clock and interval, scaler */
	TC_CKPT_CLOCK,     /* "CLCK": the last closed tick and the ticks closed */
	TC_CKPT_SLOTS,     /* "SLOT": slot count, the free slots in order, per-slot flags */
	TC_CKPT_IDS,       /* "IDS_": each live slot's id, in slot order */
	TC_CKPT_HIDDEN,    /* "HIDN": each layer's [slots x H_k] float32 states */
	TC_CKPT_SCALER,    /* "SCAL": EMA mean and variance [slots x I] float64, readings [slots] */
	TC_CKPT_LAST,      /* "LAST": last input [slots x I], forecast [slots x O], tick seen [slots] */
	TC_CKPT_INTERVALS, /* "INTV": horizons, floats a slot, each slot's interval block and
	                      counters; empty without model.intervals (and in version 1) */
	TC_CKPT__COUNT
};

#define TC_CKPT_INTERVALS_HEAD 8  /* INTV's horizons and floats a slot, before the blocks */

/* Per-slot flags, the SLOT section's last array. */
#define TC_CKPT_LIVE 1u     /* the slot holds a series */
#define TC_CKPT_STEPPED 2u  /* its first tick has closed */

/* What a checkpoint says of itself: all of the small sections and the
 * counts, for restoring and for `tickcast inspect`. */
struct tc_checkpoint_info {
	uint32_t version;               /* the file's format version (1 or 2) */
	char weights_sha256[65];        /* hex; "" when the model had no weights file */
	struct tc_model_spec shape;     /* input_size, reset_after, n_layers, hidden, outputs */
	enum tc_clock clock;
	int interval_ms;
	struct tc_scaler_config scaler;
	int has_closed;                 /* 0: no tick had closed */
	int64_t last_bucket;            /* the last closed tick's bucket: its start / interval_ms */
	uint64_t ticks;                 /* ticks closed (the clock of a series' last reading) */
	uint64_t slots;                 /* slots handed out, free ones included */
	uint64_t free_slots;
	uint64_t id_bytes;              /* the IDS section: a length byte and the bytes, per series */
	uint32_t interval_horizons;     /* INTV: 0 when there is no interval state */
	uint32_t interval_floats;       /* INTV: floats in a slot's block (engine/interval.h) */
	uint64_t bytes;                 /* the whole file */
	uint64_t section_bytes[TC_CKPT__COUNT]; /* each section's payload */
};

struct tc_checkpoint;

/* An empty image. NULL when out of memory; the caller's, released with
 * tc_checkpoint_destroy. */
struct tc_checkpoint *tc_checkpoint_create(void);

/* Frees *c and sets it to NULL; NULL or *c == NULL is a no-op. */
void tc_checkpoint_destroy(struct tc_checkpoint **c);

/* Makes the image hold at least `bytes` without allocating again, touching
 * every new page so that filling it later takes no page faults (the
 * daemon does this outside the engine lock). Returns 0 or -1 with err. */
int tc_checkpoint_reserve(struct tc_checkpoint *c, size_t bytes, char *err);

/* Bytes reserved. */
size_t tc_checkpoint_capacity(const struct tc_checkpoint *c);

/* Bytes a checkpoint of info's shape and counts (slots, free_slots,
 * id_bytes, scaler) takes; 0 when that overflows. */
size_t tc_checkpoint_size(const struct tc_checkpoint_info *info);

/* Lays out a checkpoint for info (copied), writing the header and the
 * MODL, SETS and CLCK sections and every section's header; the caller then
 * fills the other payloads. Grows the image when it is too small. Returns
 * 0 or -1 with err. */
int tc_checkpoint_begin(struct tc_checkpoint *c, const struct tc_checkpoint_info *info,
	char *err);

/* Section s's payload (info.section_bytes[s] bytes, 8-byte aligned). */
unsigned char *tc_checkpoint_section(struct tc_checkpoint *c, enum tc_checkpoint_section s);
const unsigned char *tc_checkpoint_section_const(const struct tc_checkpoint *c,
	enum tc_checkpoint_section s);

const struct tc_checkpoint_info *tc_checkpoint_get_info(const struct tc_checkpoint *c);

/* Seals the image (every checksum) and writes it to path atomically: a
 * temporary file in the same folder, fsync, rename over path, fsync of the
 * folder. On failure path is untouched (the previous checkpoint stays) and
 * the temporary file removed. Returns 0 or -1 with err naming the file and
 * the reason. */
int tc_checkpoint_save(struct tc_checkpoint *c, const char *path, char *err);

/* Reads path into the image and validates all of it: magic, version,
 * lengths against the file's size and the counts, every checksum, the
 * bounds of every size (the last tick's start fits ms in an int64), the
 * free slots against the flags, the ids' lengths, each id once.
 * Nothing else need be checked before restoring (but whether it fits the
 * running model and settings). Returns 0, or -1 with err naming the file
 * and what is wrong. */
int tc_checkpoint_load(struct tc_checkpoint *c, const char *path, char *err);

/* Seals the image as tc_checkpoint_save does and lends its bytes (*len of
 * them), valid until c changes: for a checkpoint that goes elsewhere than a
 * file (a cluster member's, into JetStream). */
const unsigned char *tc_checkpoint_seal(struct tc_checkpoint *c, size_t *len);

/* As tc_checkpoint_load, from len bytes in memory (copied). Returns 0, or
 * -1 with err saying what is wrong (without a file name). */
int tc_checkpoint_load_bytes(struct tc_checkpoint *c, const void *bytes, size_t len,
	char *err);

/* The section's four-letter tag. */
const char *tc_checkpoint_section_tag(enum tc_checkpoint_section s);

#endif
