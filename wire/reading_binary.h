/* reading_binary.h -- the binary reading batch: encoder for producers, decoder for ingest.
 *
 * The format is specified in docs/protocol.md ("Readings, binary"). In short,
 * little-endian, with no alignment anywhere:
 *
 *     header  00 'T' 'C' 'B' | u8 version (1) | u8 flags | u16 V | u32 N
 *     record  u8 L | L id bytes | V x f32 values | f64 timestamp (if flags & 1)
 *
 * Producing a batch:
 *
 *     unsigned char buf[65536];
 *     struct tc_reading_binary_writer w;
 *     tc_reading_binary_writer_init(&w, buf, sizeof buf, 1, 0);
 *     while (have_reading(&r) && tc_reading_binary_writer_add(&w, &r) == 0) {
 *     }
 *     send(buf, w.len);          // buf holds a complete batch after every add
 *
 * Consuming one:
 *
 *     struct tc_reading_binary_reader rd;
 *     if (tc_reading_binary_reader_init(&rd, data, len, n_values, err) < 0) { bad_message(err); }
 *     else for (int rc; (rc = tc_reading_binary_reader_next(&rd, &r, &why, err)) != 0;) {
 *         if (rc == 1) { accept(&r); }
 *         else if (rc == -1) { reject(why, err); }            // that record only
 *         else { reject(why, err); break; }                  // -2: the rest is lost
 *     }
 */
#ifndef TC_READING_BINARY_H
#define TC_READING_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define TC_READING_BINARY_MAGIC "\0TCB"     /* 4 bytes; the 0x00 can begin no text message */
#define TC_READING_BINARY_MAGIC_LEN 4
#define TC_READING_BINARY_VERSION 1
#define TC_READING_BINARY_FLAG_TIME 0x01    /* every record ends with an f64 timestamp */
#define TC_READING_BINARY_HEADER_LEN 12     /* bytes before the first record */

/* Whether a message body of len bytes is meant as a binary batch: its first
 * byte is 0x00 (no text line can start so). Such a body is binary even when
 * the rest of the magic is wrong; the reader then rejects it as a whole. */
int tc_reading_binary_detect(const void *data, size_t len);

/* Bytes one record of r takes: 1 + id_len + 4 * n_values (+ 8 with a time). */
size_t tc_reading_binary_record_size(const struct tc_reading *r);

/* ---- encoding ---- */

struct tc_reading_binary_writer {
	unsigned char *buf;          /* borrowed from the caller */
	size_t cap;                  /* bytes of buf */
	size_t len;                  /* bytes of the batch so far, header included */
	uint32_t count;              /* records in it (also written in the header) */
	int n_values;                /* V */
	int has_time;                /* whether records carry timestamps */
};

/* Starts an empty batch (header, N = 0) in buf, which the caller owns and
 * must keep until done with w. Returns 0, or -1 when cap is under
 * TC_READING_BINARY_HEADER_LEN or n_values is outside 1..TC_MAX_INPUT. */
int tc_reading_binary_writer_init(struct tc_reading_binary_writer *w, void *buf, size_t cap,
	int n_values, int has_time);

/* Appends r and updates N, so that buf[0..w->len) is a complete batch after
 * every call. Returns 0, or -1 with w unchanged when the record does not fit
 * in cap, or r is not what the batch carries: r->n_values != V, r->has_time
 * differs from the batch's, an id over TC_ID_MAX bytes, or N at UINT32_MAX.
 * The content is not checked: a NaN, an empty id or a control character is
 * encoded as given, and the daemon rejects that record. */
int tc_reading_binary_writer_add(struct tc_reading_binary_writer *w, const struct tc_reading *r);

/* Encodes n readings as one batch into buf (cap bytes), timestamps present
 * when r[0] has one. Returns the batch's size in bytes; when that is over cap
 * nothing is written (so cap = 0 measures). Returns 0 when the readings
 * cannot form one batch: a mix of readings with and without timestamps, or
 * any the writer refuses for a reason other than space. */
size_t tc_reading_binary_encode(void *buf, size_t cap, const struct tc_reading *r, size_t n,
	int n_values);

/* ---- decoding ---- */

struct tc_reading_binary_reader {
	const unsigned char *pos;    /* the next record */
	const unsigned char *end;    /* one past the body */
	uint32_t count;              /* N from the header: announced, never trusted */
	uint32_t index;              /* records read so far */
	int n_values;                /* V */
	int has_time;
	int done;                    /* set once next returned 0 or -2 */
};

/* Checks the header of a body of len bytes (borrowed; keep it until done)
 * against n_values expected values per reading. Returns 0, or -1 with err
 * (TC_ERR_LEN bytes) filled: the whole body is TC_REJECT_BAD_MESSAGE. */
int tc_reading_binary_reader_init(struct tc_reading_binary_reader *rd, const void *data,
	size_t len, int n_values, char *err);

/* Reads the next record into r (r->id points into the body). Returns
 *   1  r is a reading;
 *   0  the batch ended cleanly: N records and no byte after them;
 *  -1  this record is rejected (*why, err: "record 3: value 1: not finite"),
 *      the next call goes on with the record after it;
 *  -2  the rest of the body is unreadable (truncated record, bytes after
 *      the last record): *why = TC_REJECT_BAD_MESSAGE, err says where.
 *      Records returned before are valid; every later call returns 0. */
int tc_reading_binary_reader_next(struct tc_reading_binary_reader *rd, struct tc_reading *r,
	enum tc_reject *why, char *err);

#endif
