/* queue.h -- readings handed from the ingest threads to the tick thread.
 *
 * Double buffered: ingest appends to one buffer while the tick thread works
 * through the other, so ingest never waits for a step. The tick thread takes
 * the filled buffer (a swap under the lock) whenever it wants the readings
 * that arrived; order is the order of the pushes. Only when `max_readings`
 * are waiting does ingest block, leaving further messages in ZeroMQ's queue:
 * readings are held back, never dropped. */
#ifndef TC_QUEUE_H
#define TC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "reading.h"
#include "tick.h"

struct tc_queue;

/* A queue for readings of `width` values, at most max_readings and
 * max_bytes (their ids, values and times) waiting; a reading alone is taken
 * whatever its size. NULL and err when out of memory. */
struct tc_queue *tc_queue_create(int width, size_t max_readings, size_t max_bytes, char *err);
void tc_queue_destroy(struct tc_queue **q);

enum { TC_QUEUE_CLOSED = -1, TC_QUEUE_NO_MEMORY = -2 };

/* Ingest side: a parsing thread's readings of one message, gathered without
 * a lock and handed over together. */
struct tc_queue_local;
struct tc_queue_local *tc_queue_local_create(int width);   /* NULL: out of memory */
void tc_queue_local_destroy(struct tc_queue_local **l);

/* Appends r (copied) to l. Returns 0 or TC_QUEUE_NO_MEMORY. */
int tc_queue_local_add(struct tc_queue_local *l, const struct tc_reading *r);
size_t tc_queue_local_count(const struct tc_queue_local *l);

/* Appends l's readings to the queue, in their order, and empties l. Blocks
 * while they would take the waiting readings past max_readings or
 * max_bytes, until the tick thread takes or tc_queue_close. Returns 0, or
 * TC_QUEUE_CLOSED or TC_QUEUE_NO_MEMORY (none of them is then queued). */
int tc_queue_push(struct tc_queue *q, struct tc_queue_local *l);

/* Tick side: waits until a reading is waiting, deadline_ms (tc_now_ms
 * clock) passes or the queue is closed, then takes everything waiting.
 * Returns the number of readings taken; read them with tc_queue_taken until
 * the next take. */
size_t tc_queue_take(struct tc_queue *q, int64_t deadline_ms);

/* The readings of the last take, borrowed until the next take (times NAN
 * where a reading had none). */
void tc_queue_taken(const struct tc_queue *q, struct tc_reading_batch *b);

/* Wakes both sides for good: pushes fail, takes stop waiting. */
void tc_queue_close(struct tc_queue *q);

#endif
