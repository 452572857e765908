/* notify.c -- sd_notify calls, or nothing when built without libsystemd. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>

#ifdef TC_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void notify(const char *state)
{
	sd_notify(0, state);
}

int64_t tc_notify_watchdog_ms(void)
{
	uint64_t usec = 0;
	return sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)(usec / 2000) : 0;
}

int tc_notify_supported(void)
{
	return 1;
}
#else
static void notify(const char *state)
{
	(void)state;
}

int64_t tc_notify_watchdog_ms(void)
{
	return 0;
}

int tc_notify_supported(void)
{
	return 0;
}
#endif

void tc_notify_ready(void)
{
	notify("READY=1");
}

void tc_notify_stopping(void)
{
	notify("STOPPING=1");
}

void tc_notify_watchdog(void)
{
	notify("WATCHDOG=1");
}

void tc_notify_status(const char *fmt, ...)
{
	char line[256] = "STATUS=";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + 7, sizeof line - 7, fmt, ap);
	va_end(ap);
	notify(line);
}
