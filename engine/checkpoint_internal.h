/* checkpoint_internal.h -- (internal) the image and the layout, shared by checkpoint.c and checkpoint_read.c. */
#ifndef TC_CHECKPOINT_INTERNAL_H
#define TC_CHECKPOINT_INTERNAL_H

#include "checkpoint.h"

#define CKPT_MAGIC "TICKCKPT" /* 8 bytes, no NUL in the file */
#define HEADER_BYTES 32   /* magic, version, section count, file bytes, checksum */
#define SECTION_HEAD 16   /* tag, reserved, payload bytes */
#define SECTION_TAIL 8    /* the checksum */
#define MODEL_FIXED 48    /* MODL before the hidden sizes */
/* A layer's u32 in MODL: its size H_k in the low 24 bits, its type (enum
 * tc_layer_type: gru 0, so files from before other types read the same)
 * above them. */
#define TC_CKPT_LAYER_TYPE_SHIFT 24
#define SETTINGS_BYTES 24
#define CLOCK_BYTES 24
#define SLOTS_FIXED 16    /* SLOT's two counts */
#define V1_SECTIONS 8     /* version 1 had no INTV */

struct tc_checkpoint {
	unsigned char *bytes;
	size_t len;                       /* the checkpoint's bytes */
	size_t cap;                       /* bytes allocated, every page touched */
	size_t at[TC_CKPT__COUNT];        /* each section's header offset */
	struct tc_checkpoint_info info;
};

/* Each section's payload bytes from the shape and counts in info; -1 when
 * one overflows (no valid checkpoint comes near). */
int tc_checkpoint_payload_sizes(const struct tc_checkpoint_info *info,
	uint64_t out[TC_CKPT__COUNT]);

/* n rounded up to a multiple of 8. */
static inline uint64_t tc_checkpoint_padded(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* The checksum of the section at `at`: its header, payload and padding. */
uint64_t tc_checkpoint_section_sum(const unsigned char *b, size_t at, uint64_t payload);

#endif
