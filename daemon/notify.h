/* notify.h -- telling systemd how the daemon is doing (Type=notify).
 *
 * READY=1 once the sockets are bound and the threads run, STATUS= lines
 * with series and tick figures, WATCHDOG=1 at half of WatchdogSec (the
 * main loop sends it only while the working threads turn: watchdog.h), and
 * STOPPING=1 on the way out. Built without libsystemd, or run outside
 * systemd, every call does nothing. */
#ifndef TC_NOTIFY_H
#define TC_NOTIFY_H

#include <stdint.h>

void tc_notify_ready(void);
void tc_notify_stopping(void);
void tc_notify_watchdog(void);
void tc_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* How often to send WATCHDOG=1 (half the watchdog timeout), ms; 0: never. */
int64_t tc_notify_watchdog_ms(void);

/* Nonzero when built with libsystemd. */
int tc_notify_supported(void);

#endif
