/* publisher.h -- the thread that owns the forecast PUB socket.
 *
 * The tick thread hands each closed tick's forecasts over with
 * tc_publisher_submit (a copy, so the tick can go on); the publisher thread
 * formats them (text, JSON or binary: publish.format) and sends them: per
 * series, a two-frame message `<topic_prefix><series>` + body (binary: a
 * one-record batch); or, with publish.batch_bytes, two-frame messages
 * `<topic_prefix>` + bodies of about that size (text and JSON:
 * newline-separated forecasts; binary: one batch of whole records). With
 * model.intervals every forecast carries its lower and upper bounds. A
 * tick's anomaly events follow its forecasts, one message per event:
 * `<anomaly prefix><series>` + the event in publish.format (binary: a
 * one-record anomaly batch; wire/anomaly_format.h). A tick
 * is formatted in chunks of up to 16384 series and a batch message never
 * spans two chunks, so a chunk's last batch may be shorter than batch_bytes.
 * With publish.threads > 1, threads - 1 more threads help format
 * (format_pool.h) while the publisher thread alone sends: the same messages
 * with the same bytes in the same order.
 *
 * Nothing submitted is dropped by the publisher; ZeroMQ drops for a
 * subscriber that falls publish.sndhwm messages behind. At most
 * publish.queue_ticks ticks wait to be sent (and one is being sent), which
 * bounds both the memory and the time that sending what is left at exit
 * takes. The tick thread waits for room with tc_publisher_wait_room before
 * it closes a tick, without holding anything that others wait for; the
 * submit itself never waits. Ticks are copied into queue_ticks + 1 entries
 * kept from tick to tick, which grow only when a tick holds more series than
 * they did: in a steady state submitting allocates nothing. The ids come
 * from the forecasts (tc_forecasts_id), never from the engine's registry.
 */
#ifndef TC_PUBLISHER_H
#define TC_PUBLISHER_H

#include <stdint.h>

#include "config.h"
#include "curve.h"
#include "tick.h"

struct tc_publisher;

/* Creates the PUB socket in zmq context ctx (a CURVE server when curve is
 * not NULL) and binds every endpoint of cfg; anomaly events go to topics
 * `<anomaly_prefix><series>` (anomaly.topic_prefix, copied). NULL and err on
 * failure (the endpoint and zmq's reason). */
struct tc_publisher *tc_publisher_create(void *ctx, const struct tc_publish_config *cfg,
	const char *anomaly_prefix, struct tc_curve *curve, char *err);

/* Starts the publisher thread and cfg.threads - 1 formatting threads.
 * Returns 0 or -1 with err. */
int tc_publisher_start(struct tc_publisher *p, char *err);

/* Copies f and queues it for sending; never waits. The caller makes room
 * first (tc_publisher_wait_room); one thread submits. Returns 0, or -1 with
 * err when no room was made (queue_ticks ticks wait; before start that many
 * can be submitted) or out of memory: the forecasts are then not sent. */
int tc_publisher_submit(struct tc_publisher *p, const struct tc_forecasts *f, char *err);

/* Sends everything submitted, stops the threads, closes the socket (waiting
 * up to linger_ms for slow subscribers) and frees p; sets *p to NULL. */
void tc_publisher_destroy(struct tc_publisher **p, int linger_ms);

/* Forecasts sent so far, and messages (a batch message counts once). */
uint64_t tc_publisher_forecasts(const struct tc_publisher *p);
uint64_t tc_publisher_messages(const struct tc_publisher *p);

/* Anomaly events sent so far (each is also a message). */
uint64_t tc_publisher_anomalies(const struct tc_publisher *p);

/* Returns once a tick can be submitted: at once when fewer than queue_ticks
 * wait to be sent, or before start. The tick thread calls it without its
 * own locks held, so that a slow publisher holds up only ticking. */
void tc_publisher_wait_room(struct tc_publisher *p);

/* wait_room calls that had to wait for room in the queue. */
uint64_t tc_publisher_waits(const struct tc_publisher *p);

/* tc_now_ms() when the publisher thread last finished sending a tick or
 * woke up idle (it does every 100 ms with nothing to send; start counts as
 * one): the watchdog's sign that it is not stuck (watchdog.h). Lock-free. */
int64_t tc_publisher_last_turn_ms(const struct tc_publisher *p);

/* Submits that grew the buffers of the entry they filled (for tests: it
 * stays put while ticks keep their size). */
uint64_t tc_publisher_growths(const struct tc_publisher *p);

#endif
