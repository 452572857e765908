/* watchdog.h -- when tickcastd may tell systemd it is alive: only while its working threads turn.
 *
 * WATCHDOG=1 from the main thread alone would prove only that the main
 * thread lives. So the main loop sends it only while the tick thread and the
 * publisher thread have each finished a loop turn recently: within
 * tc_watchdog_bound_ms of now. A healthy tick thread turns at least every
 * 100 ms when idle (its longest wait) and once per tick when busy, where a
 * turn holds a tick's step and may wait for the publisher to take the tick
 * before: about two intervals at most while the daemon keeps up. The
 * publisher thread wakes every 100 ms when it has nothing to send and turns
 * once per tick it sends. Three intervals leave a margin over that; the 1 s
 * floor keeps short intervals from counting scheduling hiccups as hangs.
 * Holding the ping back is not yet a restart: systemd acts only after
 * WatchdogSec without one, and pinging resumes as soon as the thread turns.
 *
 *     int64_t last[] = {tc_ticker_last_turn_ms(tk), tc_publisher_last_turn_ms(pub)};
 *     unsigned stuck = tc_watchdog_stuck(last, 2, tc_now_ms(), tc_watchdog_bound_ms(interval));
 *     if (!stuck) { tc_notify_watchdog(); } else { log the threads of its bits; }
 */
#ifndef TC_WATCHDOG_H
#define TC_WATCHDOG_H

#include <stdint.h>

#define TC_WATCHDOG_INTERVALS 3     /* tick intervals a thread may go without a turn */
#define TC_WATCHDOG_FLOOR_MS 1000   /* ... but never less than this */

/* How long a thread may go without a loop turn before it counts as stuck,
 * ms: max(TC_WATCHDOG_INTERVALS x interval_ms, TC_WATCHDOG_FLOOR_MS). */
int64_t tc_watchdog_bound_ms(int interval_ms);

/* Given each of n (at most 32) threads' last turn (ms, the clock of
 * now_ms), returns the stuck ones: bit i set when thread i has not turned
 * for more than bound_ms. 0: every one turned within it, so WATCHDOG=1 may
 * be sent. (One stuck thread can hold up another that waits on it, so the
 * log names them all.) */
unsigned tc_watchdog_stuck(const int64_t *last_turn_ms, int n, int64_t now_ms, int64_t bound_ms);

#endif
