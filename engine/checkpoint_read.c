/* checkpoint_read.c -- reading a checkpoint file and checking every byte before anything uses it.
 *
 * The order of the checks is the order a damaged file fails them in: the
 * header (magic, checksum, version, length), each section's frame (tag,
 * length within the file, checksum), then what the sections say (sizes in
 * bounds, lengths that agree with the counts, free slots that agree with
 * the flags, ids that end where their section ends). A file that passes
 * can be restored without another check. */
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
#include "interval.h"
#include "checkpoint_internal.h"
#include "error.h"
#include "registry.h"
#include "series_id.h"

#define MAX_SLOTS 0x7ffffffeu /* the registry's bound on slots */

static int check_header(const unsigned char *b, size_t size, char *err)
{
	if (size == 0) {
		return tc_err_set(err, "the file is empty");
	}
	if (memcmp(b, CKPT_MAGIC, size < 8 ? size : 8) != 0) {
		return tc_err_set(err, "not a tickcast checkpoint (it does not start with \"%s\")",
			CKPT_MAGIC);
	}
	if (size < HEADER_BYTES) {
		return tc_err_set(err, "the file has %zu bytes, under the %d of the header: it is "
			"truncated", size, HEADER_BYTES);
	}
	if (tc_load_u64(b + 24) != XXH3_64bits(b, 24)) {
		return tc_err_set(err, "the header's checksum does not match: the file is damaged");
	}
	uint32_t version = tc_load_u32(b + 8);
	if (version < 1 || version > TC_CHECKPOINT_VERSION) {
		return tc_err_set(err, "checkpoint format version %" PRIu32 "; this tickcast reads "
			"versions 1 to %d", version, TC_CHECKPOINT_VERSION);
	}
	uint32_t want = version == 1 ? V1_SECTIONS : TC_CKPT__COUNT;
	if (tc_load_u32(b + 12) != want) {
		return tc_err_set(err, "%" PRIu32 " sections; version %" PRIu32 " has %" PRIu32,
			tc_load_u32(b + 12), version, want);
	}
	uint64_t claimed = tc_load_u64(b + 16);
	if (claimed != size) {
		return tc_err_set(err, "the header says %" PRIu64 " bytes but the file has %zu: it is %s",
			claimed, size, claimed > size ? "truncated" : "longer than written");
	}
	return 0;
}

/* Checks each section's frame; fills c->at and the payload sizes. */
static int check_frames(struct tc_checkpoint *c, size_t size, char *err)
{
	const unsigned char *b = c->bytes;
	size_t at = HEADER_BYTES;
	const int sections = (int)tc_load_u32(b + 12); /* checked by check_header */
	for (int i = 0; i < sections; i++) {
		const char *tag = tc_checkpoint_section_tag((enum tc_checkpoint_section)i);
		if (size - at < SECTION_HEAD) {
			return tc_err_set(err, "section %s is cut off at byte %zu", tag, size);
		}
		if (memcmp(b + at, tag, 4) != 0) {
			return tc_err_set(err, "byte %zu: section %d should be %s, found \"%.4s\"", at,
				i + 1, tag, (const char *)b + at);
		}
		uint64_t payload = tc_load_u64(b + at + 8);
		uint64_t room = size - at - SECTION_HEAD;
		if (payload > room || tc_checkpoint_padded(payload) + SECTION_TAIL > room) {
			return tc_err_set(err, "section %s claims %" PRIu64 " bytes; only %" PRIu64
				" remain in the file", tag, payload, room);
		}
		size_t end = at + SECTION_HEAD + (size_t)tc_checkpoint_padded(payload);
		if (tc_load_u64(b + end) != tc_checkpoint_section_sum(b, at, payload)) {
			return tc_err_set(err, "section %s's checksum does not match: the file is damaged",
				tag);
		}
		c->at[i] = at;
		c->info.section_bytes[i] = payload;
		at = end + SECTION_TAIL;
	}
	if (at != size) {
		return tc_err_set(err, "%zu bytes follow the last section", size - at);
	}
	return 0;
}

static void hex_of(const unsigned char *digest, char hex[65])
{
	int zero = 1;
	for (int i = 0; i < 32; i++) {
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
		zero &= digest[i] == 0;
	}
	if (zero) {
		hex[0] = '\0';
	}
}

/* INTV's horizons and floats a slot, when it is not empty: a block must be
 * what engine/interval.h lays out for that many horizons. */
static int read_interval_shape(struct tc_checkpoint *c, char *err)
{
	struct tc_checkpoint_info *info = &c->info;
	if (info->section_bytes[TC_CKPT_INTERVALS] == 0) {
		return 0;
	}
	if (info->section_bytes[TC_CKPT_INTERVALS] < TC_CKPT_INTERVALS_HEAD) {
		return tc_err_set(err, "section INTV is %" PRIu64 " bytes, under %d",
			info->section_bytes[TC_CKPT_INTERVALS], TC_CKPT_INTERVALS_HEAD);
	}
	const unsigned char *p = tc_checkpoint_section_const(c, TC_CKPT_INTERVALS);
	uint32_t k = tc_load_u32(p), floats = tc_load_u32(p + 4);
	if (k < 1 || k > TC_INTERVAL_MAX_HORIZONS || floats != tc_interval_floats_for((int)k)) {
		return tc_err_set(err, "section INTV: %" PRIu32 " horizons of %" PRIu32 " floats a "
			"series: not an interval state this tickcast writes", k, floats);
	}
	info->interval_horizons = k;
	info->interval_floats = floats;
	return 0;
}

/* MODL, SETS, CLCK and SLOT's counts into c->info, each in its bounds. */
static int read_small_sections(struct tc_checkpoint *c, char *err)
{
	struct tc_checkpoint_info *info = &c->info;
	const uint64_t *bytes = info->section_bytes;
	const unsigned char *p = tc_checkpoint_section_const(c, TC_CKPT_MODEL);
	if (bytes[TC_CKPT_MODEL] < MODEL_FIXED) {
		return tc_err_set(err, "section MODL is %" PRIu64 " bytes, under %d",
			bytes[TC_CKPT_MODEL], MODEL_FIXED);
	}
	hex_of(p, info->weights_sha256);
	struct tc_model_spec *m = &info->shape;
	tc_model_spec_init(m);
	uint32_t layers = tc_load_u32(p + 40), reset_after = tc_load_u32(p + 36);
	if (layers < 1 || layers > TC_MAX_LAYERS || reset_after > 1
		|| bytes[TC_CKPT_MODEL] != MODEL_FIXED + 4 * (uint64_t)layers) {
		return tc_err_set(err, "section MODL: %" PRIu32 " layers, reset_after %" PRIu32
			", in %" PRIu64 " bytes, do not agree", layers, reset_after, bytes[TC_CKPT_MODEL]);
	}
	m->n_layers = (int)layers;
	m->reset_after = (int)reset_after;
	m->input_size = (int)(tc_load_u32(p + 32) & 0x7fffffff);
	m->outputs = (int)(tc_load_u32(p + 44) & 0x7fffffff);
	for (int k = 0; k < m->n_layers; k++) {
		uint32_t layer = tc_load_u32(p + MODEL_FIXED + 4 * k);
		m->hidden[k] = (int)(layer & ((1u << TC_CKPT_LAYER_TYPE_SHIFT) - 1));
		m->type[k] = (enum tc_layer_type)(layer >> TC_CKPT_LAYER_TYPE_SHIFT);
	}
	if (tc_model_spec_validate(m, err) < 0) {
		tc_err_prefix(err, "section MODL");
		return -1;
	}
	if (bytes[TC_CKPT_SETTINGS] != SETTINGS_BYTES || bytes[TC_CKPT_CLOCK] != CLOCK_BYTES
		|| bytes[TC_CKPT_SLOTS] < SLOTS_FIXED) {
		return tc_err_set(err, "section SETS, CLCK or SLOT has the wrong length");
	}
	p = tc_checkpoint_section_const(c, TC_CKPT_SETTINGS);
	uint32_t clock = tc_load_u32(p), interval = tc_load_u32(p + 4), scaler = tc_load_u32(p + 8);
	info->scaler.warmup = (int)(tc_load_u32(p + 12) & 0x7fffffff);
	info->scaler.alpha = tc_load_f64(p + 16);
	if (clock > TC_CLOCK_EVENT || interval < 1 || interval > INT32_MAX || scaler > TC_SCALER_EMA
		|| (scaler == TC_SCALER_EMA && !(info->scaler.alpha > 0 && info->scaler.alpha <= 1))) {
		return tc_err_set(err, "section SETS: clock %" PRIu32 ", interval %" PRIu32
			" ms, scaler %" PRIu32 " (alpha %g): out of range", clock, interval, scaler,
			info->scaler.alpha);
	}
	info->clock = (enum tc_clock)clock;
	info->interval_ms = (int)interval;
	info->scaler.type = (enum tc_scaler_type)scaler;
	p = tc_checkpoint_section_const(c, TC_CKPT_CLOCK);
	uint32_t has_closed = tc_load_u32(p);
	if (has_closed > 1) {
		return tc_err_set(err, "section CLCK: has_closed is %" PRIu32, has_closed);
	}
	info->has_closed = (int)has_closed;
	info->last_bucket = (int64_t)tc_load_u64(p + 8);
	info->ticks = tc_load_u64(p + 16);
	/* Its start in ms (tc_checkpoint_last_tick_ms) must be an int64. */
	if (info->last_bucket > INT64_MAX / interval || info->last_bucket < INT64_MIN / interval) {
		return tc_err_set(err, "section CLCK: the last tick, bucket %" PRId64 " of %" PRIu32
			" ms, is past the range of times", info->last_bucket, interval);
	}
	p = tc_checkpoint_section_const(c, TC_CKPT_SLOTS);
	info->slots = tc_load_u64(p);
	info->free_slots = tc_load_u64(p + 8);
	info->id_bytes = bytes[TC_CKPT_IDS];
	if (info->slots > MAX_SLOTS || info->free_slots > info->slots) {
		return tc_err_set(err, "section SLOT: %" PRIu64 " slots, %" PRIu64 " of them free: "
			"over the limit of %u slots, or more free than there are", info->slots,
			info->free_slots, MAX_SLOTS);
	}
	return read_interval_shape(c, err);
}

/* Every section's length agrees with the counts. */
static int check_lengths(const struct tc_checkpoint_info *info, char *err)
{
	uint64_t want[TC_CKPT__COUNT];
	if (tc_checkpoint_payload_sizes(info, want) < 0) {
		return tc_err_set(err, "%" PRIu64 " slots of this shape overflow", info->slots);
	}
	for (int i = 0; i < TC_CKPT__COUNT; i++) {
		if (want[i] != info->section_bytes[i]) {
			return tc_err_set(err, "section %s is %" PRIu64 " bytes; %" PRIu64 " slots of this "
				"shape need %" PRIu64, tc_checkpoint_section_tag((enum tc_checkpoint_section)i),
				info->section_bytes[i], info->slots, want[i]);
		}
	}
	return 0;
}

/* The free slots are exactly the slots without a series, each once. */
static int check_free_slots(const struct tc_checkpoint *c, char *err)
{
	const struct tc_checkpoint_info *info = &c->info;
	const unsigned char *p = tc_checkpoint_section_const(c, TC_CKPT_SLOTS);
	const unsigned char *flags = p + SLOTS_FIXED + 4 * info->free_slots;
	uint64_t without = 0;
	for (uint64_t s = 0; s < info->slots; s++) {
		if (flags[s] & ~(TC_CKPT_LIVE | TC_CKPT_STEPPED)) {
			return tc_err_set(err, "section SLOT: slot %" PRIu64 " has unknown flags 0x%02x", s,
				flags[s]);
		}
		without += !(flags[s] & TC_CKPT_LIVE);
	}
	if (without != info->free_slots) {
		return tc_err_set(err, "section SLOT: %" PRIu64 " slots have no series but %" PRIu64
			" are listed free", without, info->free_slots);
	}
	unsigned char *seen = calloc(info->slots / 8 + 1, 1);
	if (!seen) {
		return tc_err_set(err, "out of memory checking %" PRIu64 " slots", info->slots);
	}
	int rc = 0;
	for (uint64_t k = 0; k < info->free_slots && rc == 0; k++) {
		uint32_t s = tc_load_u32(p + SLOTS_FIXED + 4 * k);
		if (s >= info->slots || (flags[s] & TC_CKPT_LIVE) || (seen[s / 8] & (1u << (s % 8)))) {
			rc = tc_err_set(err, "section SLOT: free slot %" PRIu32 " is %s", s,
				s >= info->slots ? "out of range" : (flags[s] & TC_CKPT_LIVE) ? "live"
				: "listed twice");
		} else {
			seen[s / 8] |= (unsigned char)(1u << (s % 8));
		}
	}
	free(seen);
	return rc;
}

/* Each of the live ids once: they are put in a scratch registry, as
 * restoring will. */
static int check_ids_distinct(const unsigned char *p, uint64_t live, char *err)
{
	struct tc_registry *r = tc_registry_create(live, err);
	if (!r) {
		return -1;
	}
	int rc = 0;
	for (uint64_t i = 0; i < live && rc == 0; i++, p += 1 + p[0]) {
		int created;
		int64_t first = tc_registry_insert(r, (const char *)p + 1, p[0], &created);
		if (first < 0) {
			rc = tc_err_set(err, "out of memory checking %" PRIu64 " ids", live);
		} else if (!created) {
			rc = tc_err_set(err, "section IDS_: ids %" PRId64 " and %" PRIu64 " are the "
				"same: a series is listed twice", first + 1, i + 1);
		}
	}
	tc_registry_destroy(&r);
	return rc;
}

/* The ids: one per live slot, each at most TC_ID_MAX bytes, filling the
 * section exactly, none twice. */
static int check_ids(const struct tc_checkpoint *c, char *err)
{
	const struct tc_checkpoint_info *info = &c->info;
	const unsigned char *p = tc_checkpoint_section_const(c, TC_CKPT_IDS);
	uint64_t at = 0, live = info->slots - info->free_slots;
	for (uint64_t i = 0; i < live; i++) {
		if (at >= info->id_bytes || info->id_bytes - at - 1 < p[at]) {
			return tc_err_set(err, "section IDS_: id %" PRIu64 " of %" PRIu64 " runs past "
				"its end", i + 1, live);
		}
		at += 1 + (uint64_t)p[at];
	}
	if (at != info->id_bytes) {
		return tc_err_set(err, "section IDS_: %" PRIu64 " bytes follow the last id",
			info->id_bytes - at);
	}
	return check_ids_distinct(p, live, err);
}

static int validate(struct tc_checkpoint *c, size_t size, char *err)
{
	memset(&c->info, 0, sizeof c->info);
	c->len = size;
	c->info.bytes = size;
	c->info.version = size >= 12 ? tc_load_u32(c->bytes + 8) : 0;
	if (check_header(c->bytes, size, err) < 0 || check_frames(c, size, err) < 0
		|| read_small_sections(c, err) < 0 || check_lengths(&c->info, err) < 0
		|| check_free_slots(c, err) < 0 || check_ids(c, err) < 0) {
		return -1;
	}
	return 0;
}

static int read_all(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			errno = r == 0 ? EIO : errno;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int tc_checkpoint_load(struct tc_checkpoint *c, const char *path, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return tc_err_set(err, "cannot open checkpoint %s: %s", path, strerror(errno));
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = tc_err_set(err, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = tc_err_set(err, "%s", S_ISDIR(st.st_mode) ? "it is a directory"
			: "it is not a regular file");
	} else if (tc_checkpoint_reserve(c, (size_t)st.st_size, err) < 0) {
		rc = -1;
	} else if (read_all(fd, c->bytes, (size_t)st.st_size) < 0) {
		rc = tc_err_set(err, "reading it failed: %s", strerror(errno));
	} else {
		rc = validate(c, (size_t)st.st_size, err);
	}
	close(fd);
	if (rc < 0) {
		c->len = 0;
		tc_err_prefix(err, "checkpoint %s", path);
	}
	return rc;
}

int tc_checkpoint_load_bytes(struct tc_checkpoint *c, const void *bytes, size_t len, char *err)
{
	if (tc_checkpoint_reserve(c, len, err) < 0) {
		return -1;
	}
	memcpy(c->bytes, bytes, len);
	if (validate(c, len, err) < 0) {
		c->len = 0;
		return -1;
	}
	return 0;
}
