/* ticker.c -- the tick thread's loop, model swaps, and its status snapshot. */
#include "ticker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"

#define IDLE_WAIT_MS 100   /* longest wait with nothing due, so stop is seen */
#define HISTORY 1024       /* tick durations kept for the percentiles */

struct tc_ticker {
	struct tc_tick_config tick_cfg;
	struct tc_queue *queue;
	struct tc_publisher *pub;
	struct tc_checkpointer *checkpointer;
	size_t max_series;           /* what a new engine is made with */
	uint64_t ttl_ticks;
	struct tc_scaler_config scaler;
	struct tc_interval_config interval_cfg;
	struct tc_anomaly_config anomaly_cfg;
	struct tc_emitter emitter;   /* emit(), for the engine */
	pthread_t thread;
	int started;
	atomic_int stop;

	pthread_mutex_t engine;      /* held while the engine works; guards the fields below */
	struct tc_tick *tick;
	struct tc_model *model;      /* serving */
	int64_t wall_bucket;         /* wall clock: the bucket now open */
	uint64_t intervals_skipped;  /* wall clock: boundaries passed while a tick ran */
	struct tc_log_limit skip_log;
	struct tc_log_limit memory_log;  /* readings dropped for lack of memory */
	int64_t last_reading_ms;     /* event clock: when the open bucket last got one */
	double history[HISTORY];     /* tick durations, ms, a ring */
	uint64_t n_history;
	uint64_t in_bucket[TC_TICK_BUCKETS]; /* ticks whose duration fell in bucket i alone */
	double seconds_sum;          /* every tick's duration added up, s */

	pthread_mutex_t swap_lock;   /* guards the swap request */
	pthread_cond_t swap_done;
	struct tc_model *pending;    /* offered, not yet swapped */
	int pending_reset;
	int swap_rc;                 /* result of the last swap */
	char swap_err[TC_ERR_LEN];
	uint64_t swaps_requested, swaps_answered;

	pthread_mutex_t status_lock;
	struct tc_ticker_status status;

	_Atomic int64_t last_turn_ms; /* tc_now_ms() at the last finished turn or closed tick */
};

const double tc_ticker_bucket_le[TC_TICK_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10,
};

/* Files one tick's duration in the histogram and the ring; engine lock held. */
static void note_duration(struct tc_ticker *tk, double ms)
{
	tk->history[tk->n_history++ % HISTORY] = ms;
	tk->seconds_sum += ms / 1e3;
	int i = 0;
	while (i < TC_TICK_BUCKETS && ms / 1e3 > tc_ticker_bucket_le[i]) {
		i++;
	}
	if (i < TC_TICK_BUCKETS) {
		tk->in_bucket[i]++;
	}
}

/* A sign of life for the watchdog (tc_ticker_last_turn_ms). */
static void note_progress(struct tc_ticker *tk)
{
	atomic_store(&tk->last_turn_ms, tc_now_ms());
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void publish_status(struct tc_ticker *tk);

/* Swaps a pending model in; called between ticks (none open, or one just
 * closed), engine lock held. */
static void apply_pending(struct tc_ticker *tk)
{
	pthread_mutex_lock(&tk->swap_lock);
	if (tk->pending) {
		tk->swap_rc = tc_tick_set_model(tk->tick, tk->pending, tk->pending_reset, tk->swap_err);
		if (tk->swap_rc == 0) {
			tc_model_destroy(&tk->model);
			tk->model = tk->pending;
			publish_status(tk); /* status shows the new model once the swap returns */
		} else {
			tc_model_destroy(&tk->pending);
		}
		tk->pending = NULL;
		tk->swaps_answered = tk->swaps_requested;
		pthread_cond_broadcast(&tk->swap_done);
	}
	pthread_mutex_unlock(&tk->swap_lock);
}

/* The engine's emitter: hand the tick to the publisher (which has room: the
 * turn made it before the tick could close) and note its duration. */
static int emit(void *ud, const struct tc_forecasts *f)
{
	struct tc_ticker *tk = ud;
	char err[TC_ERR_LEN];
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (tc_publisher_submit(tk->pub, f, err) < 0) {
		tc_log_error("tick: %s", err);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	double handoff = (double)(end.tv_sec - start.tv_sec) * 1e3
		+ (double)(end.tv_nsec - start.tv_nsec) / 1e6;
	note_duration(tk, f->step_ms + handoff);
	note_progress(tk); /* a turn that closes many event buckets is still going */
	/* The engine as this tick left it: nothing of the next is filed yet. */
	tc_checkpointer_tick(tk->checkpointer, tk->tick, 1);
	return 0;
}

/* Right after a tick closed: a pending model swaps in, and the engine is let
 * go while the publisher makes room for the next tick (`series` requests
 * and reloads get their turn meanwhile). Engine lock held on entry and on
 * return. */
static void between_ticks(struct tc_ticker *tk)
{
	apply_pending(tk);
	pthread_mutex_unlock(&tk->engine);
	tc_publisher_wait_room(tk->pub);
	pthread_mutex_lock(&tk->engine);
}

/* Files the readings taken, a batch at a time on the engine's threads. A
 * batch stops at each reading that closes a tick: there must be room for
 * the next tick before another reading can close one. */
static void offer_all(struct tc_ticker *tk, size_t n)
{
	char err[TC_ERR_LEN];
	struct tc_reading_batch batch;
	tc_queue_taken(tk->queue, &batch);
	const struct tc_tick_stats *stats = tc_tick_get_stats(tk->tick);
	size_t next = 0;
	while (next < n) {
		uint64_t ticks = stats->ticks;
		uint64_t no_memory = stats->rejected[TC_REJECT_OUT_OF_MEMORY];
		if (tc_tick_offer_batch(tk->tick, &batch, &next, &tk->emitter, err) < 0) {
			tc_log_error("tick: %s", err);
		}
		if (stats->rejected[TC_REJECT_OUT_OF_MEMORY] != no_memory) {
			tc_log_limited(&tk->memory_log, TC_LOG_ERROR, "tick: no memory to file readings "
				"of new series (%zu live): they are counted as out_of_memory and dropped",
				tc_registry_count(tc_tick_registry(tk->tick)));
		}
		if (stats->ticks != ticks) {
			between_ticks(tk);
		}
	}
	if (n) {
		tk->last_reading_ms = tc_now_ms();
	}
}

/* A tick that ran past more than one boundary leaves the intervals between
 * without a tick of their own: their readings were filed into the tick that
 * closes now. Counted for status, and said in the log. */
static void note_skipped(struct tc_ticker *tk, int64_t skipped)
{
	if (skipped <= 0) {
		return;
	}
	tk->intervals_skipped += (uint64_t)skipped;
	tc_log_limited(&tk->skip_log, TC_LOG_WARNING,
		"tick: %lld interval(s) of %lld ms passed while the last tick ran; their readings "
		"went into bucket %lld (combined by tick.aggregate): too little CPU for this load, "
		"or the clock jumped forward",
		(long long)skipped, (long long)tk->tick_cfg.interval_ms, (long long)tk->wall_bucket);
}

/* Closes what is due: the wall clock's tick at its boundary, an event
 * bucket idle for flush_ms. `final`: close whatever is open. */
static void close_due(struct tc_ticker *tk, int final)
{
	char err[TC_ERR_LEN];
	int rc = 0;
	if (tk->tick_cfg.clock == TC_CLOCK_WALL) {
		int64_t now_bucket = floor_div(real_ms(), tk->tick_cfg.interval_ms);
		if (now_bucket > tk->wall_bucket || final) {
			rc = tc_tick_close_wall(tk->tick, tk->wall_bucket, &tk->emitter, err);
			note_skipped(tk, now_bucket - tk->wall_bucket - 1);
			tk->wall_bucket = now_bucket;
		}
	} else if (tc_tick_has_open(tk->tick)
		&& (final || tc_now_ms() - tk->last_reading_ms >= tk->tick_cfg.flush_ms)) {
		rc = tc_tick_close(tk->tick, &tk->emitter, err);
	}
	if (rc < 0) {
		tc_log_error("tick: %s", err);
	}
	if (!tc_tick_has_open(tk->tick)) {
		apply_pending(tk);
	}
}

/* When the loop must look again: the next wall boundary, or the open
 * bucket's flush time, at most IDLE_WAIT_MS away (tc_now_ms clock). */
static int64_t next_deadline(struct tc_ticker *tk)
{
	int64_t now = tc_now_ms();
	int64_t wait = IDLE_WAIT_MS;
	if (tk->tick_cfg.clock == TC_CLOCK_WALL) {
		int64_t boundary = (tk->wall_bucket + 1) * tk->tick_cfg.interval_ms;
		int64_t until = boundary - real_ms();
		wait = until < wait ? until : wait;
	} else if (tc_tick_has_open(tk->tick)) {
		int64_t until = tk->last_reading_ms + tk->tick_cfg.flush_ms - now;
		wait = until < wait ? until : wait;
	}
	return now + (wait > 0 ? wait : 0);
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Copies the engine's figures into the snapshot; engine lock held. */
static void publish_status(struct tc_ticker *tk)
{
	static _Thread_local double sorted[HISTORY];
	size_t n = tk->n_history < HISTORY ? (size_t)tk->n_history : HISTORY;
	memcpy(sorted, tk->history, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, compare_double);
	pthread_mutex_lock(&tk->status_lock);
	struct tc_ticker_status *s = &tk->status;
	s->tick = *tc_tick_get_stats(tk->tick);
	s->series = tc_registry_count(tc_tick_registry(tk->tick));
	s->intervals_skipped = tk->intervals_skipped;
	s->last_tick_ms = tk->n_history ? tk->history[(tk->n_history - 1) % HISTORY] : 0;
	s->p50_tick_ms = n ? sorted[n / 2] : 0;
	s->p99_tick_ms = n ? sorted[n - 1 - n / 100] : 0;
	uint64_t below = 0;
	for (int i = 0; i < TC_TICK_BUCKETS; i++) {
		below += tk->in_bucket[i];
		s->tick_le[i] = below;
	}
	s->tick_count = tk->n_history;
	s->tick_seconds_sum = tk->seconds_sum;
	s->model = *tc_model_get_spec(tk->model);
	pthread_mutex_unlock(&tk->status_lock);
}

/* One loop turn. Nothing waits with the engine held: a publisher that is
 * behind holds this thread up before a tick can close, here and between
 * the ticks that offer_all closes, with the engine let go. */
static void turn(struct tc_ticker *tk, int final)
{
	size_t n = tc_queue_take(tk->queue, final ? 0 : next_deadline(tk));
	tc_publisher_wait_room(tk->pub);
	pthread_mutex_lock(&tk->engine);
	offer_all(tk, n);
	close_due(tk, final);
	tc_checkpointer_tick(tk->checkpointer, tk->tick, 0); /* one a control request asked for */
	uint64_t ticks = tc_tick_get_stats(tk->tick)->ticks;
	if (ticks != tk->status.tick.ticks || n || final) {
		publish_status(tk);
	}
	pthread_mutex_unlock(&tk->engine);
}

static void *run(void *arg)
{
	struct tc_ticker *tk = arg;
	while (!atomic_load(&tk->stop)) {
		turn(tk, 0);
		note_progress(tk);
	}
	turn(tk, 1);
	return NULL;
}

static struct tc_tick *new_engine(const struct tc_ticker *tk, char *err)
{
	struct tc_tick *t = tc_tick_create(&tk->tick_cfg, tk->model, tk->max_series, tk->ttl_ticks,
		&tk->scaler, err);
	if (t && tc_tick_set_intervals(t, &tk->interval_cfg, &tk->anomaly_cfg, err) < 0) {
		tc_tick_destroy(&t);
	}
	return t;
}

struct tc_ticker *tc_ticker_create(const struct tc_config *cfg, struct tc_model *m,
	struct tc_queue *q, struct tc_publisher *pub, struct tc_checkpointer *cp, char *err)
{
	struct tc_ticker *tk = calloc(1, sizeof *tk);
	if (!tk) {
		tc_model_destroy(&m);
		tc_err_set(err, "out of memory for the ticker");
		return NULL;
	}
	tk->tick_cfg = cfg->tick;
	tk->queue = q;
	tk->pub = pub;
	tk->checkpointer = cp;
	tk->max_series = (size_t)cfg->series.max;
	tk->ttl_ticks = (uint64_t)cfg->series.ttl_ticks;
	tk->scaler = cfg->scaler;
	tk->interval_cfg = cfg->intervals;
	tk->anomaly_cfg = cfg->anomaly;
	tk->emitter = (struct tc_emitter){emit, tk};
	tk->model = m;
	pthread_mutex_init(&tk->engine, NULL);
	pthread_mutex_init(&tk->swap_lock, NULL);
	pthread_cond_init(&tk->swap_done, NULL);
	pthread_mutex_init(&tk->status_lock, NULL);
	tk->wall_bucket = floor_div(real_ms(), cfg->tick.interval_ms);
	tk->skip_log.interval_ms = 10000;
	tk->memory_log.interval_ms = 10000;
	tk->tick = new_engine(tk, err);
	if (!tk->tick) {
		tc_ticker_destroy(&tk);
		return NULL;
	}
	publish_status(tk);
	return tk;
}

int tc_ticker_start(struct tc_ticker *tk, char *err)
{
	note_progress(tk);
	if (pthread_create(&tk->thread, NULL, run, tk) != 0) {
		return tc_err_set(err, "cannot start the tick thread");
	}
	pthread_setname_np(tk->thread, "tc-tick"); /* for top -H, gdb and the tests */
	tk->started = 1;
	return 0;
}

int64_t tc_ticker_last_turn_ms(const struct tc_ticker *tk)
{
	return atomic_load(&tk->last_turn_ms);
}

int tc_ticker_restore(struct tc_ticker *tk, char *err)
{
	int rc = tc_checkpointer_restore(tk->checkpointer, tk->tick, err);
	if (rc == 1) {
		tc_tick_destroy(&tk->tick);
		rc = (tk->tick = new_engine(tk, err)) ? 0 : -1;
	}
	if (rc == 0) {
		publish_status(tk);
	}
	return rc;
}

void tc_ticker_stop(struct tc_ticker *tk)
{
	if (tk->started) {
		atomic_store(&tk->stop, 1);
		pthread_join(tk->thread, NULL);
		tk->started = 0;
	}
}

void tc_ticker_final_checkpoint(struct tc_ticker *tk)
{
	tc_checkpointer_final(tk->checkpointer, tk->tick);
}

void tc_ticker_destroy(struct tc_ticker **tkp)
{
	if (!tkp || !*tkp) {
		return;
	}
	struct tc_ticker *tk = *tkp;
	tc_ticker_stop(tk);
	pthread_mutex_lock(&tk->swap_lock);
	pthread_cond_broadcast(&tk->swap_done); /* a swap still waiting gives up */
	pthread_mutex_unlock(&tk->swap_lock);
	tc_tick_destroy(&tk->tick);
	tc_model_destroy(&tk->model);
	tc_model_destroy(&tk->pending);
	pthread_mutex_destroy(&tk->engine);
	pthread_mutex_destroy(&tk->swap_lock);
	pthread_cond_destroy(&tk->swap_done);
	pthread_mutex_destroy(&tk->status_lock);
	free(tk);
	*tkp = NULL;
}

int tc_ticker_swap_model(struct tc_ticker *tk, struct tc_model *m, int reset_states,
	char *err)
{
	pthread_mutex_lock(&tk->swap_lock);
	tc_model_destroy(&tk->pending); /* an older offer nobody waited for */
	tk->pending = m;
	tk->pending_reset = reset_states;
	uint64_t mine = ++tk->swaps_requested;
	while (tk->swaps_answered < mine && !atomic_load(&tk->stop)) {
		pthread_cond_wait(&tk->swap_done, &tk->swap_lock);
	}
	int rc = tk->swaps_answered >= mine ? tk->swap_rc : -1;
	if (rc < 0) {
		tc_err_set(err, "%s", tk->swaps_answered >= mine ? tk->swap_err : "the daemon is stopping");
	}
	pthread_mutex_unlock(&tk->swap_lock);
	return rc;
}

void tc_ticker_get_status(struct tc_ticker *tk, struct tc_ticker_status *s)
{
	pthread_mutex_lock(&tk->status_lock);
	*s = tk->status;
	pthread_mutex_unlock(&tk->status_lock);
}

int tc_ticker_series(struct tc_ticker *tk, const char *id, size_t len,
	struct tc_series_report *out)
{
	pthread_mutex_lock(&tk->engine);
	int rc = tc_tick_series(tk->tick, id, len, &out->info);
	if (rc == 0) {
		out->has_bounds = tc_tick_series_bounds(tk->tick, &out->info, out->lower,
			out->upper) == 0;
		memcpy(out->input, out->info.last_input, (size_t)out->info.n_inputs * sizeof(float));
		memcpy(out->output, out->info.last_output, (size_t)out->info.n_outputs * sizeof(float));
		out->info.last_input = out->input;
		out->info.last_output = out->output;
		for (int k = 0; k < out->info.n_layers; k++) {
			memcpy(out->state[k], out->info.state[k],
				(size_t)out->info.state_width[k] * sizeof(float));
			out->info.state[k] = out->state[k];
		}
	}
	pthread_mutex_unlock(&tk->engine);
	return rc;
}

int tc_ticker_accuracy(struct tc_ticker *tk, struct tc_tick_accuracy *acc, char *err)
{
	pthread_mutex_lock(&tk->engine);
	int rc = tc_tick_accuracy(tk->tick, acc, err);
	pthread_mutex_unlock(&tk->engine);
	return rc;
}
