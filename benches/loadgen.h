/* loadgen.h -- what loadgen's threads share: its options, the run's counters and the wall clock.
 *
 *   struct lg_run rn = {0};                 // main owns it, options parsed into rn.o
 *   rn.received = calloc(rounds, ...);      // and the per-round arrays
 *   pthread_create(&t, NULL, lg_sub_run, &rn);
 *   pthread_create(&p.thread, NULL, lg_producer_run, &p);   // p.run = &rn
 *   atomic_store(&rn.first_bucket, ...);    // releases the producers
 *   ...
 *   atomic_store(&rn.stop, 1);              // then join every thread before freeing
 *
 * The main thread (loadgen.c) allocates the run and its arrays, and frees them
 * only after every thread has been joined; the threads borrow it. Fields that
 * change while the threads run are atomic. */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define LG_POLL_MS 100             /* status polling period of main, socket poll of the subscriber */
#define LG_SUBSCRIBE_WAIT_MS 10000 /* how long a producer waits for the daemon's subscription */

struct lg_options {
	const char *ingest, *forecasts, *control;
	long series;
	int threads;
	int binary;              /* readings as binary batches */
	int forecast_binary;     /* forecasts expected as binary batches (publish.format) */
	int batch;               /* readings per message */
	int seconds;             /* measured rounds */
	int warmup;              /* rounds before those, not measured */
	int interval_ms;
	double spread;           /* fraction of the interval a round is spread over */
	int grace_ms;            /* after the last tick closes, how long its forecasts may take */
	int lag_limit_ms;        /* a tick's forecasts all in this long after it closed */
	int width;               /* values per reading */
	long daemon_pid;         /* 0: no daemon CPU report */
};

struct lg_run {
	struct lg_options o;
	void *ctx;                               /* the ZeroMQ context, main's */
	int rounds;                              /* warmup + seconds */
	_Atomic int64_t first_bucket;            /* 0 until main has chosen it */
	atomic_int ready;                        /* threads connected */
	atomic_int failed;
	atomic_int stop;
	atomic_uint_fast64_t sent;               /* readings */
	atomic_llong finish_ms_max;              /* latest batch, ms into its round's interval */
	atomic_uint_fast64_t *received;          /* [rounds] forecasts of each round's bucket */
	atomic_llong *last_arrival;              /* [rounds] real ms of its last forecast */
	atomic_uint_fast64_t received_other;     /* forecasts of other buckets */
	atomic_uint_fast64_t received_messages;
	atomic_uint_fast64_t received_unreadable;/* messages not in the expected format */
};

/* Wall clock, ms since the epoch: the daemon's buckets are wall-clock ones. */
static inline int64_t lg_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until lg_real_ms() reaches ms, through signals. */
static inline void lg_sleep_until_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

#endif
