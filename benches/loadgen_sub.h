/* loadgen_sub.h -- loadgen's forecast subscriber: counts each tick's forecasts as they arrive.
 *
 *   pthread_create(&t, NULL, lg_sub_run, &rn);
 *   ...                                     // rn.received[r] fills in
 *   atomic_store(&rn.stop, 1);
 *   pthread_join(t, NULL);
 *
 * In text (publish.format text), a body's second field is the tick start and
 * a batched body is counted by its lines; a binary batch gives N and
 * bucket_ms in its header, and is checked whole by the reader
 * (wire/forecast_binary.h). A message in the other format, or a malformed
 * binary batch, counts as unreadable. */
#ifndef LOADGEN_SUB_H
#define LOADGEN_SUB_H

/* Thread entry; arg is the struct lg_run *, borrowed, which must outlive the
 * thread. Connects its own SUB socket to run->o.forecasts (and closes it),
 * bumps run->ready once connected or sets run->failed, and until run->stop
 * adds each forecast to run->received[bucket - first_bucket] (noting
 * run->last_arrival), or to run->received_other outside the rounds.
 * Returns NULL. */
void *lg_sub_run(void *arg);

#endif
