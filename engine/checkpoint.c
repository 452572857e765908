/* checkpoint.c -- the checkpoint file's layout, checksums, atomic write and validating read. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "byte_order.h"
#include "error.h"
#include "checkpoint_internal.h"

static const char TAGS[TC_CKPT__COUNT][5] = {
	"MODL", "SETS", "CLCK", "SLOT", "IDS_", "HIDN", "SCAL", "LAST", "INTV",
};

const char *tc_checkpoint_section_tag(enum tc_checkpoint_section s)
{
	return TAGS[s];
}

struct tc_checkpoint *tc_checkpoint_create(void)
{
	return calloc(1, sizeof(struct tc_checkpoint));
}

void tc_checkpoint_destroy(struct tc_checkpoint **cp)
{
	if (!cp || !*cp) {
		return;
	}
	free((*cp)->bytes);
	free(*cp);
	*cp = NULL;
}

int tc_checkpoint_reserve(struct tc_checkpoint *c, size_t bytes, char *err)
{
	if (bytes <= c->cap) {
		return 0;
	}
	unsigned char *grown = realloc(c->bytes, bytes);
	if (!grown) {
		return tc_err_set(err, "out of memory for a checkpoint of %zu bytes", bytes);
	}
	memset(grown + c->cap, 0, bytes - c->cap);
	c->bytes = grown;
	c->cap = bytes;
	return 0;
}

size_t tc_checkpoint_capacity(const struct tc_checkpoint *c)
{
	return c->cap;
}

/* ---- sizes ------------------------------------------------------------ */

/* a * b + c in uint64, or UINT64_MAX when it overflows. */
static uint64_t mul_add(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t r;
	if (__builtin_mul_overflow(a, b, &r) || __builtin_add_overflow(r, c, &r)) {
		return UINT64_MAX;
	}
	return r;
}

static uint64_t hidden_total(const struct tc_model_spec *shape)
{
	uint64_t h = 0;
	for (int k = 0; k < shape->n_layers; k++) {
		h += (uint64_t)tc_model_spec_state_width(shape, k);
	}
	return h;
}

int tc_checkpoint_payload_sizes(const struct tc_checkpoint_info *info, uint64_t out[TC_CKPT__COUNT])
{
	const uint64_t s = info->slots;
	const uint64_t in = (uint64_t)info->shape.input_size;
	const uint64_t per_slot_last = 4 * in + 4 * (uint64_t)info->shape.outputs + 8;
	out[TC_CKPT_MODEL] = MODEL_FIXED + 4 * (uint64_t)info->shape.n_layers;
	out[TC_CKPT_SETTINGS] = SETTINGS_BYTES;
	out[TC_CKPT_CLOCK] = CLOCK_BYTES;
	out[TC_CKPT_SLOTS] = mul_add(4, info->free_slots, mul_add(s, 1, SLOTS_FIXED));
	out[TC_CKPT_IDS] = info->id_bytes;
	out[TC_CKPT_HIDDEN] = mul_add(s, 4 * hidden_total(&info->shape), 0);
	out[TC_CKPT_SCALER] = info->scaler.type == TC_SCALER_EMA ? mul_add(s, 16 * in + 4, 0) : 0;
	out[TC_CKPT_LAST] = mul_add(s, per_slot_last, 0);
	out[TC_CKPT_INTERVALS] = info->interval_horizons
		? mul_add(s, 4 * (uint64_t)info->interval_floats + 8, TC_CKPT_INTERVALS_HEAD) : 0;
	for (int i = 0; i < TC_CKPT__COUNT; i++) {
		if (out[i] > UINT64_MAX / 4) {
			return -1;
		}
	}
	return 0;
}

size_t tc_checkpoint_size(const struct tc_checkpoint_info *info)
{
	uint64_t sizes[TC_CKPT__COUNT];
	if (tc_checkpoint_payload_sizes(info, sizes) < 0) {
		return 0;
	}
	uint64_t total = HEADER_BYTES;
	for (int i = 0; i < TC_CKPT__COUNT; i++) {
		total += SECTION_HEAD + tc_checkpoint_padded(sizes[i]) + SECTION_TAIL;
	}
	return total <= SIZE_MAX ? (size_t)total : 0;
}

/* ---- writing ---------------------------------------------------------- */

static void put_model(unsigned char *p, const struct tc_checkpoint_info *info)
{
	for (int i = 0; i < 32; i++) {
		unsigned byte = 0;
		if (info->weights_sha256[0]) {
			sscanf(info->weights_sha256 + 2 * i, "%2x", &byte);
		}
		p[i] = (unsigned char)byte;
	}
	const struct tc_model_spec *m = &info->shape;
	tc_store_u32(p + 32, (uint32_t)m->input_size);
	tc_store_u32(p + 36, (uint32_t)m->reset_after);
	tc_store_u32(p + 40, (uint32_t)m->n_layers);
	tc_store_u32(p + 44, (uint32_t)m->outputs);
	for (int k = 0; k < m->n_layers; k++) {
		tc_store_u32(p + MODEL_FIXED + 4 * k,
			(uint32_t)m->hidden[k] | (uint32_t)m->type[k] << TC_CKPT_LAYER_TYPE_SHIFT);
	}
}

static void put_settings(unsigned char *p, const struct tc_checkpoint_info *info)
{
	tc_store_u32(p, (uint32_t)info->clock);
	tc_store_u32(p + 4, (uint32_t)info->interval_ms);
	tc_store_u32(p + 8, (uint32_t)info->scaler.type);
	tc_store_u32(p + 12, (uint32_t)info->scaler.warmup);
	tc_store_f64(p + 16, info->scaler.alpha);
}

static void put_clock(unsigned char *p, const struct tc_checkpoint_info *info)
{
	tc_store_u32(p, (uint32_t)info->has_closed);
	tc_store_u32(p + 4, 0);
	tc_store_u64(p + 8, (uint64_t)info->last_bucket);
	tc_store_u64(p + 16, info->ticks);
}

int tc_checkpoint_begin(struct tc_checkpoint *c, const struct tc_checkpoint_info *info,
	char *err)
{
	size_t total = tc_checkpoint_size(info);
	if (!total) {
		return tc_err_set(err, "a checkpoint of %" PRIu64 " slots is too large", info->slots);
	}
	if (tc_checkpoint_reserve(c, total, err) < 0) {
		return -1;
	}
	c->info = *info;
	c->info.version = TC_CHECKPOINT_VERSION;
	c->info.bytes = total;
	tc_checkpoint_payload_sizes(info, c->info.section_bytes);
	unsigned char *b = c->bytes;
	memcpy(b, CKPT_MAGIC, 8);
	tc_store_u32(b + 8, TC_CHECKPOINT_VERSION);
	tc_store_u32(b + 12, TC_CKPT__COUNT);
	tc_store_u64(b + 16, total);
	size_t at = HEADER_BYTES;
	for (int i = 0; i < TC_CKPT__COUNT; i++) {
		uint64_t payload = c->info.section_bytes[i];
		c->at[i] = at;
		memcpy(b + at, TAGS[i], 4);
		tc_store_u32(b + at + 4, 0);
		tc_store_u64(b + at + 8, payload);
		/* The padding is part of what the checksum covers: zero it. */
		memset(b + at + SECTION_HEAD + payload, 0, tc_checkpoint_padded(payload) - payload);
		at += SECTION_HEAD + tc_checkpoint_padded(payload) + SECTION_TAIL;
	}
	c->len = total;
	put_model(tc_checkpoint_section(c, TC_CKPT_MODEL), &c->info);
	put_settings(tc_checkpoint_section(c, TC_CKPT_SETTINGS), &c->info);
	put_clock(tc_checkpoint_section(c, TC_CKPT_CLOCK), &c->info);
	if (info->interval_horizons) {
		unsigned char *p = tc_checkpoint_section(c, TC_CKPT_INTERVALS);
		tc_store_u32(p, info->interval_horizons);
		tc_store_u32(p + 4, info->interval_floats);
	}
	return 0;
}

unsigned char *tc_checkpoint_section(struct tc_checkpoint *c, enum tc_checkpoint_section s)
{
	return c->bytes + c->at[s] + SECTION_HEAD;
}

const unsigned char *tc_checkpoint_section_const(const struct tc_checkpoint *c,
	enum tc_checkpoint_section s)
{
	return c->bytes + c->at[s] + SECTION_HEAD;
}

const struct tc_checkpoint_info *tc_checkpoint_get_info(const struct tc_checkpoint *c)
{
	return &c->info;
}

uint64_t tc_checkpoint_section_sum(const unsigned char *b, size_t at, uint64_t payload)
{
	return XXH3_64bits(b + at, SECTION_HEAD + tc_checkpoint_padded(payload));
}

static void seal(struct tc_checkpoint *c)
{
	tc_store_u64(c->bytes + 24, XXH3_64bits(c->bytes, 24));
	for (int i = 0; i < TC_CKPT__COUNT; i++) {
		uint64_t payload = c->info.section_bytes[i];
		size_t end = c->at[i] + SECTION_HEAD + tc_checkpoint_padded(payload);
		tc_store_u64(c->bytes + end, tc_checkpoint_section_sum(c->bytes, c->at[i], payload));
	}
}

const unsigned char *tc_checkpoint_seal(struct tc_checkpoint *c, size_t *len)
{
	seal(c);
	*len = c->len;
	return c->bytes;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync of the folder path lies in, so that the rename is on disk. */
static int sync_folder(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash) {
		snprintf(dir, sizeof dir, ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int tc_checkpoint_save(struct tc_checkpoint *c, const char *path, char *err)
{
	seal(c);
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
		return tc_err_set(err, "checkpoint path %s is too long", path);
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		return tc_err_set(err, "cannot create a temporary file next to %s: %s", path,
			strerror(errno));
	}
	const char *step = "writing";
	if (write_all(fd, c->bytes, c->len) < 0 || (step = "syncing", fsync(fd) < 0)) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		return tc_err_set(err, "%s %s: %s (%s is unchanged)", step, tmp, strerror(saved), path);
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return tc_err_set(err, "cannot put %s in place of %s: %s", tmp, path, strerror(saved));
	}
	if (sync_folder(path) < 0) {
		return tc_err_set(err, "%s is written, but syncing its folder failed: %s", path,
			strerror(errno));
	}
	return 0;
}
