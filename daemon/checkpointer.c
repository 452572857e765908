/* checkpointer.c -- snapshots under the engine lock, written by the tc-checkpoint thread. */
#include "checkpointer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "tick_checkpoint.h"

#define WRITER_NICE 19   /* the tc-checkpoint thread's nice: it yields to every other */

struct tc_checkpointer {
	struct tc_checkpoint_config cfg;
	struct tc_checkpoint *image;     /* the snapshot; the tick thread fills it, the writer writes it */
	pthread_t thread;
	int started;
	struct tc_log_limit fail_log;

	pthread_mutex_t lock;            /* guards everything below */
	pthread_cond_t wake;             /* the writer: an image is ready, the image must grow, stop */
	pthread_cond_t done;             /* requesters: a snapshot was written or failed */
	int stopping;
	int busy;                        /* the image is taken: being filled or written */
	int ready;                       /* filled: the writer may write it */
	int growing;                     /* the writer is growing the image */
	size_t want_bytes;               /* grow the image to this before the next snapshot */
	uint64_t ticks_since;            /* ticks closed since the last snapshot */
	uint64_t requested;              /* control requests so far */
	uint64_t taken;                  /* requests the snapshot in hand answers */
	uint64_t answered;               /* requests answered */
	struct tc_checkpoint_result pending; /* the snapshot in hand, as far as known */
	struct tc_checkpointer_status status;
};

static double ms_since(int64_t start_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - start_ns) / 1e6;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The last tick c holds, in the readings' units (s), into r. */
static void note_clock(const struct tc_checkpoint *c, struct tc_checkpoint_result *r)
{
	r->t = (double)tc_checkpoint_last_tick_ms(c, &r->has_t) / 1000.0;
	const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
	r->series = info->slots - info->free_slots;
	r->bytes = info->bytes;
}

/* The outcome of the snapshot in hand; lock held. */
static void finish(struct tc_checkpointer *cp, int ok, const char *err, double write_ms)
{
	struct tc_checkpoint_result *r = &cp->pending;
	r->ok = ok;
	r->ms = r->held_ms + write_ms;
	if (ok) {
		cp->status.written++;
		cp->status.last = *r;
		tc_log_debug("checkpoint: %" PRIu64 " series, %" PRIu64 " bytes to %s in %.1f ms "
			"(engine held %.1f ms)", r->series, r->bytes, cp->cfg.path, r->ms, r->held_ms);
	} else {
		snprintf(r->err, sizeof r->err, "%s", err);
		cp->status.failures++;
		tc_log_limited(&cp->fail_log, TC_LOG_ERROR, "checkpoint: %s; the daemon goes on, and "
			"the previous checkpoint stays as it was", err);
	}
	cp->busy = 0;
	cp->ready = 0;
	cp->answered = cp->taken;
	pthread_cond_broadcast(&cp->done);
}

/* Writes the ready image; lock held on entry and return, let go meanwhile. */
static void write_ready(struct tc_checkpointer *cp)
{
	pthread_mutex_unlock(&cp->lock);
	char err[TC_ERR_LEN];
	int64_t start = now_ns();
	int rc = tc_checkpoint_save(cp->image, cp->cfg.path, err);
	double ms = ms_since(start);
	pthread_mutex_lock(&cp->lock);
	finish(cp, rc == 0, err, ms);
}

/* Grows the image to want_bytes, touching its pages, outside the lock. */
static void grow(struct tc_checkpointer *cp)
{
	size_t want = cp->want_bytes;
	cp->growing = 1;
	pthread_mutex_unlock(&cp->lock);
	char err[TC_ERR_LEN];
	int rc = tc_checkpoint_reserve(cp->image, want, err);
	pthread_mutex_lock(&cp->lock);
	cp->growing = 0;
	cp->want_bytes = 0;
	pthread_cond_broadcast(&cp->done); /* tc_checkpointer_final may be waiting */
	if (rc < 0) {
		cp->status.failures++;
		tc_log_limited(&cp->fail_log, TC_LOG_ERROR, "checkpoint: %s; no checkpoint until "
			"memory allows", err);
	}
}

static void *run(void *arg)
{
	struct tc_checkpointer *cp = arg;
	/* Below the tick and publisher threads: on a machine of few cores a
	 * write (checksums, copies into the page cache) competing with a tick's
	 * step would delay it (docs/benchmarks.md, "Checkpoints"). Linux gives
	 * the calling thread its own nice; where a seccomp filter denies
	 * setpriority the write competes at the normal priority. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE) != 0) {
		tc_log_debug("checkpoint: cannot lower the writer's priority: %s", strerror(errno));
	}
	pthread_mutex_lock(&cp->lock);
	for (;;) {
		if (cp->ready) {
			write_ready(cp);
		} else if (cp->want_bytes > tc_checkpoint_capacity(cp->image)) {
			grow(cp);
		} else if (cp->stopping) {
			break;
		} else {
			pthread_cond_wait(&cp->wake, &cp->lock);
		}
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

struct tc_checkpointer *tc_checkpointer_create(const struct tc_checkpoint_config *cfg,
	char *err)
{
	struct tc_checkpointer *cp = calloc(1, sizeof *cp);
	if (!cp || !(cp->image = tc_checkpoint_create())) {
		free(cp);
		tc_err_set(err, "out of memory for checkpoints");
		return NULL;
	}
	cp->cfg = *cfg;
	cp->status.enabled = cfg->path[0] != '\0';
	cp->fail_log.interval_ms = 60000;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	pthread_cond_init(&cp->done, NULL);
	return cp;
}

int tc_checkpointer_start(struct tc_checkpointer *cp, char *err)
{
	if (!cp->status.enabled) {
		return 0;
	}
	if (pthread_create(&cp->thread, NULL, run, cp) != 0) {
		return tc_err_set(err, "cannot start the checkpoint thread");
	}
	pthread_setname_np(cp->thread, "tc-checkpoint"); /* for top -H and gdb */
	cp->started = 1;
	return 0;
}

void tc_checkpointer_destroy(struct tc_checkpointer **cpp)
{
	if (!cpp || !*cpp) {
		return;
	}
	struct tc_checkpointer *cp = *cpp;
	pthread_mutex_lock(&cp->lock);
	cp->stopping = 1;
	pthread_cond_broadcast(&cp->wake);
	pthread_cond_broadcast(&cp->done);
	pthread_mutex_unlock(&cp->lock);
	if (cp->started) {
		pthread_join(cp->thread, NULL);
	}
	tc_checkpoint_destroy(&cp->image);
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->wake);
	pthread_cond_destroy(&cp->done);
	free(cp);
	*cpp = NULL;
}

/* ---- restoring ---------------------------------------------------------- */

/* Loads and restores the file; -1 with err (naming the file) when it cannot. */
static int restore_file(struct tc_checkpointer *cp, struct tc_tick *tick, char *err)
{
	const char *path = cp->cfg.path;
	int other_weights = 0;
	if (tc_checkpoint_load(cp->image, path, err) < 0) {
		return -1;
	}
	if (tc_tick_checkpoint_fits(tick, cp->image, &other_weights, err) < 0) {
		tc_err_prefix(err, "checkpoint %s does not fit this config", path);
		return -1;
	}
	if (tc_tick_restore(tick, cp->image, err) < 0) {
		tc_err_prefix(err, "restoring checkpoint %s", path);
		return -1;
	}
	struct tc_checkpoint_result r = {0};
	note_clock(cp->image, &r);
	cp->status.restored = 1;
	cp->status.restored_has_t = r.has_t;
	cp->status.restored_t = r.t;
	tc_log_info("checkpoint: restored %" PRIu64 " series from %s; its last tick is t=%.17g%s",
		r.series, path, r.t, r.has_t ? "" : " (none had closed)");
	if (other_weights) {
		const char *saved = tc_checkpoint_get_info(cp->image)->weights_sha256;
		tc_log_warning("checkpoint: its states were made by other weights of the same shape "
			"(sha256 %s); they are restored and the weights serving now step them",
			saved[0] ? saved : "unknown");
	}
	return 0;
}

/* A temporary file a write killed midway left next to path ("<path>.XXXXXX",
 * mkstemp's six characters): removed at start, as it would fill the disk
 * after a few crashes. */
static void remove_leftovers(const char *path)
{
	char folder[sizeof ((struct tc_checkpoint_config *)0)->path];
	snprintf(folder, sizeof folder, "%s", path);
	char *slash = strrchr(folder, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash) {
		*slash = '\0';
	}
	DIR *dir = opendir(slash ? (folder[0] ? folder : "/") : ".");
	size_t len = strlen(base);
	for (struct dirent *e; dir && (e = readdir(dir));) {
		if (strlen(e->d_name) == len + 7 && strncmp(e->d_name, base, len) == 0
			&& e->d_name[len] == '.' && strspn(e->d_name + len + 1, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == 6) {
			char leftover[sizeof folder + 300];
			snprintf(leftover, sizeof leftover, "%s/%s", slash ? folder : ".", e->d_name);
			if (unlink(leftover) == 0) {
				tc_log_info("checkpoint: removed %s, left by a write that did not finish",
					leftover);
			}
		}
	}
	if (dir) {
		closedir(dir);
	}
}

int tc_checkpointer_restore(struct tc_checkpointer *cp, struct tc_tick *tick, char *err)
{
	struct stat st;
	if (!cp->status.enabled) {
		return 0;
	}
	remove_leftovers(cp->cfg.path);
	if (stat(cp->cfg.path, &st) < 0 && errno == ENOENT) {
		tc_log_info("checkpoint: none at %s yet; starting with no series", cp->cfg.path);
		return 0;
	}
	if (restore_file(cp, tick, err) == 0) {
		return 0;
	}
	if (cp->cfg.on_bad == TC_ON_BAD_REFUSE) {
		size_t len = strlen(err);
		snprintf(err + len, TC_ERR_LEN - len, ". Move the file away, or set checkpoint.on_bad: "
			"discard to start empty (the file is then renamed to %s.bad)", cp->cfg.path);
		return -1;
	}
	char aside[sizeof cp->cfg.path + 8];
	snprintf(aside, sizeof aside, "%s.bad", cp->cfg.path);
	if (rename(cp->cfg.path, aside) < 0) {
		tc_log_warning("%s; renaming it to %s failed (%s): starting with no series, and the "
			"next checkpoint replaces it", err, aside, strerror(errno));
	} else {
		tc_log_warning("%s; it is renamed to %s and the daemon starts with no series", err,
			aside);
	}
	return 1;
}

/* ---- taking snapshots --------------------------------------------------- */

/* Copies tick into the image and hands it to the writer (or, when
 * synchronous, writes it here). Lock held on entry and return. */
static void snapshot(struct tc_checkpointer *cp, struct tc_tick *tick, int synchronous)
{
	cp->busy = 1;
	cp->taken = cp->requested;
	cp->ticks_since = 0;
	pthread_mutex_unlock(&cp->lock);
	char err[TC_ERR_LEN];
	int64_t start = now_ns();
	int rc = tc_tick_checkpoint(tick, cp->image, err);
	double held = ms_since(start);
	pthread_mutex_lock(&cp->lock);
	cp->pending = (struct tc_checkpoint_result){.held_ms = held};
	if (rc < 0) {
		finish(cp, 0, err, 0);
		return;
	}
	note_clock(cp->image, &cp->pending);
	cp->ready = 1;
	if (synchronous) {
		write_ready(cp);
	} else {
		pthread_cond_signal(&cp->wake);
	}
}

void tc_checkpointer_tick(struct tc_checkpointer *cp, struct tc_tick *tick, int closed)
{
	if (!cp->status.enabled) {
		return;
	}
	pthread_mutex_lock(&cp->lock);
	cp->ticks_since += closed;
	int periodic = closed && cp->ticks_since >= (uint64_t)cp->cfg.every_ticks;
	if (periodic || cp->requested > cp->answered) {
		size_t need = tc_tick_checkpoint_size(tick);
		if (cp->busy || cp->growing) {
			cp->status.skipped += periodic;
		} else if (need > tc_checkpoint_capacity(cp->image)) {
			/* Grown by the writer, with room for growth, outside the engine lock;
			 * the snapshot is taken at the next tick. */
			cp->want_bytes = need + need / 4;
			pthread_cond_signal(&cp->wake);
		} else if (!cp->stopping) {
			snapshot(cp, tick, 0);
		}
	}
	pthread_mutex_unlock(&cp->lock);
}

int tc_checkpointer_request(struct tc_checkpointer *cp, struct tc_checkpoint_result *res,
	char *err)
{
	if (!cp->status.enabled) {
		return tc_err_set(err, "checkpoint.path is not set: checkpoints are off");
	}
	pthread_mutex_lock(&cp->lock);
	uint64_t mine = ++cp->requested;
	while (cp->answered < mine && !cp->stopping) {
		pthread_cond_wait(&cp->done, &cp->lock);
	}
	int rc = 0;
	if (cp->answered >= mine) {
		*res = cp->pending;
	} else {
		rc = tc_err_set(err, "the daemon is stopping; it writes a checkpoint on its way out");
	}
	pthread_mutex_unlock(&cp->lock);
	return rc;
}

void tc_checkpointer_final(struct tc_checkpointer *cp, struct tc_tick *tick)
{
	if (!cp->status.enabled) {
		return;
	}
	pthread_mutex_lock(&cp->lock);
	while (cp->busy || cp->growing) {
		pthread_cond_wait(&cp->done, &cp->lock);
	}
	char err[TC_ERR_LEN];
	if (tc_checkpoint_reserve(cp->image, tc_tick_checkpoint_size(tick), err) < 0) {
		cp->pending = (struct tc_checkpoint_result){0};
		finish(cp, 0, err, 0);
	} else {
		snapshot(cp, tick, 1);
	}
	if (cp->pending.ok) {
		tc_log_info("checkpoint: %" PRIu64 " series written to %s on the way out (%.1f ms)",
			cp->pending.series, cp->cfg.path, cp->pending.ms);
	}
	pthread_mutex_unlock(&cp->lock);
}

const char *tc_checkpointer_path(const struct tc_checkpointer *cp)
{
	return cp->cfg.path;
}

void tc_checkpointer_get_status(struct tc_checkpointer *cp, struct tc_checkpointer_status *s)
{
	pthread_mutex_lock(&cp->lock);
	*s = cp->status;
	pthread_mutex_unlock(&cp->lock);
}
