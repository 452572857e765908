/* log.h -- the daemon's log lines on standard error.
 *
 * Under systemd (JOURNAL_STREAM set) each line carries a `<N>` priority
 * prefix that journald reads, and no timestamp (the journal has one);
 * elsewhere a line is `2026-11-27T10:00:00.123Z warning: ...`. Lines above
 * the configured level are dropped. Thread-safe: one write(2) per line. */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdint.h>

#include "config.h"

void tc_log_set_level(enum tc_log_level level);

void tc_log(enum tc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define tc_log_error(...) tc_log(TC_LOG_ERROR, __VA_ARGS__)
#define tc_log_warning(...) tc_log(TC_LOG_WARNING, __VA_ARGS__)
#define tc_log_info(...) tc_log(TC_LOG_INFO, __VA_ARGS__)
#define tc_log_debug(...) tc_log(TC_LOG_DEBUG, __VA_ARGS__)

/* A rate limit for one kind of repeated message: at most one line per
 * interval, saying how many were suppressed since the last. */
struct tc_log_limit {
	int64_t interval_ms;
	int64_t last_ms;      /* when the last line was written; 0: never */
	uint64_t suppressed;
};

/* Logs at level unless limit says it is too soon (then only counts). */
void tc_log_limited(struct tc_log_limit *limit, enum tc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Milliseconds on the monotonic clock. */
int64_t tc_now_ms(void);

#endif
