/* loadgen_producer.h -- loadgen's producer threads: readings for a range of series, once a tick.
 *
 *   struct lg_producer p = {.run = &rn, .lo = 0, .hi = 5000};
 *   pthread_create(&p.thread, NULL, lg_producer_run, &p);
 *   ...                                     // rn.first_bucket set, rounds go out
 *   atomic_store(&rn.stop, 1);
 *   pthread_join(p.thread, NULL);
 *
 * Producer thread i owns series [lo, hi), ids `s<index>`, and once per tick
 * interval sends one reading for each of them, in batches of --batch readings
 * a message, spread over the first --spread of the interval. Rounds are
 * aligned to the daemon's wall-clock buckets, so round r's readings all
 * belong to bucket first_bucket + r. */
#ifndef LOADGEN_PRODUCER_H
#define LOADGEN_PRODUCER_H

#include <pthread.h>

struct lg_run;

struct lg_producer {
	struct lg_run *run;                      /* borrowed: outlives the thread */
	pthread_t thread;
	long lo, hi;                             /* series indices [lo, hi) */
};

/* Thread entry; arg is a struct lg_producer *, the caller's, which must stay
 * put until the thread is joined. Connects its own XPUB socket to
 * run->o.ingest (and closes it), counts what it sends in run->sent, and sets
 * run->failed when it cannot connect or send. Waits for run->first_bucket,
 * sends run->rounds rounds, then stays until run->stop so that the CPU
 * report still finds it. Returns NULL. */
void *lg_producer_run(void *arg);

#endif
