/* log.c -- leveled, journald-aware, rate-limitable log lines. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int max_level = TC_LOG_INFO;

/* syslog priorities journald understands as a `<N>` line prefix. */
static const int priority[] = {
	[TC_LOG_ERROR] = 3, [TC_LOG_WARNING] = 4, [TC_LOG_INFO] = 6, [TC_LOG_DEBUG] = 7,
};

void tc_log_set_level(enum tc_log_level level)
{
	atomic_store(&max_level, (int)level);
}

int64_t tc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void vlog(enum tc_log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	int used;
	if (getenv("JOURNAL_STREAM")) {
		used = snprintf(line, sizeof line, "<%d>", priority[level]);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		char when[32];
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		used = snprintf(line, sizeof line, "%s.%03ldZ %s: ", when, ts.tv_nsec / 1000000,
			tc_log_level_to_string(level));
	}
	int start = used;
	used += vsnprintf(line + used, sizeof line - (size_t)used - 1, fmt, ap);
	if (used > (int)sizeof line - 2) {
		used = (int)sizeof line - 2;
	}
	/* Messages quote bytes from the network: no control character may
	 * reach a terminal or break the line. */
	for (int i = start; i < used; i++) {
		unsigned char c = (unsigned char)line[i];
		line[i] = c < 0x20 || c == 0x7f ? '?' : line[i];
	}
	line[used++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, line, (size_t)used);
	(void)ignored;
}

void tc_log(enum tc_log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load(&max_level)) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void tc_log_limited(struct tc_log_limit *limit, enum tc_log_level level, const char *fmt, ...)
{
	int64_t now = tc_now_ms();
	if (limit->last_ms && now - limit->last_ms < limit->interval_ms) {
		limit->suppressed++;
		return;
	}
	if ((int)level > atomic_load(&max_level)) {
		return;
	}
	char text[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (limit->suppressed) {
		tc_log(level, "%s (and %llu more like it since the last such line)", text,
			(unsigned long long)limit->suppressed);
	} else {
		tc_log(level, "%s", text);
	}
	limit->last_ms = now;
	limit->suppressed = 0;
}
