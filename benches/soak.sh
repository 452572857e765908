#!/bin/sh
# soak.sh -- a long run under load: memory stays bounded, nothing is lost, nothing goes wrong.
#
#   benches/soak.sh [--minutes M] [--series N] [--reload-s S]
#
# Starts tickcastd (the bundled 2 x H=64 model, 1000 ms wall clock, the
# default publish.sndhwm) and, for M minutes (default 30): loadgen sending one
# text reading a tick for each of N series (default 200,000) and counting every
# forecast; a subscriber that connects and never reads; a reload every S
# seconds (default 60) by SIGHUP; a control client asking
# for status every second. The daemon's resident memory is sampled every
# 10 s. At the end it prints the memory's range, loadgen's verdict (HOLDS:
# every reading accepted, every forecast received in time), the reloads and
# status requests that failed, and every error or warning the daemon logged,
# then one line
#   SOAK minutes=... series=... rss_mb=min..max verdict=... reload_failures=...
#        status_failures=... log_errors=...
# Uses ports from E2E_PORT (default 17700) up, as benches/e2e.sh does.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
minutes=30
series=200000
reload_s=60
port_base=${E2E_PORT:-17700}
interval_ms=1000
forecast_format=text
batch_bytes=0
publish_threads=2
sndhwm=200000
log_level=info

while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=$2; shift 2 ;;
	--series) series=$2; shift 2 ;;
	--reload-s) reload_s=$2; shift 2 ;;
	-h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build daemon/tickcastd benches/loadgen cli/tickcast >/dev/null

work=$(mktemp -d /tmp/tickcast-soak.XXXXXX)
cp build/daemon/tickcastd build/benches/loadgen build/cli/tickcast "$work/"
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
. benches/e2e_lib.sh

port=$(free_ports)
write_config "$series"
control="tcp://127.0.0.1:$((port + 2))"
"$work/tickcastd" --config "$work/tickcast.yaml" 2> "$work/daemon.log" &
daemon_pid=$!
pids="$daemon_pid"
until "$work/tickcast" status -e "$control" >/dev/null 2>&1; do
	sleep 0.2
done
echo "soak: $series series for $minutes min, a reload every $reload_s s, load average $(load1)," \
	"$(date +%H:%M:%S), $(git describe --always --dirty 2>/dev/null || echo unknown)"

# A subscriber that never reads: `tickcast sub` writing into a pipe nobody
# reads stops once the pipe is full; the daemon then holds at most
# publish.sndhwm for it.
mkfifo "$work/never"
exec 3<>"$work/never"
"$work/tickcast" sub "tcp://127.0.0.1:$((port + 1))" > "$work/never" &
pids="$pids $!"

( while :; do
	"$work/tickcast" status -e "$control" >/dev/null 2>&1 || echo x >> "$work/status.failed"
	sleep 1
done ) &
pids="$pids $!"

# SIGHUP, as systemctl reload sends: the reload thread does it (a `reload`
# on the control socket would hold that socket, and loadgen's status
# requests, until the swap).
( while sleep "$reload_s"; do
	kill -HUP "$daemon_pid" && echo sent >> "$work/reloads"
done ) &
pids="$pids $!"

( while :; do
	awk '/^VmRSS/ { print $2 }' "/proc/$daemon_pid/status" >> "$work/rss_kb" 2>/dev/null || exit 0
	sleep 10
done ) &
pids="$pids $!"

set +e
"$work/loadgen" --ingest "tcp://127.0.0.1:$port" --forecasts "tcp://127.0.0.1:$((port + 1))" \
	--control "$control" --series "$series" --seconds $((minutes * 60)) --warmup 2 \
	--interval-ms "$interval_ms" --daemon-pid "$daemon_pid" > "$work/loadgen.out"
set -e
# What the run logged (the stop then rightly says that the subscriber that
# never reads left forecasts behind).
grep -E " (error|warning): " "$work/daemon.log" > "$work/bad.log" || true
kill -TERM "$daemon_pid"
wait "$daemon_pid" || echo "soak: the daemon exited with status $?"
cat "$work/loadgen.out"

rss=$(sort -n "$work/rss_kb" | awk 'NR == 1 { lo = $1 } { hi = $1 } END {
	printf "%.0f..%.0f", lo / 1024, hi / 1024 }')
echo "resident memory, MB, every 10 s (first, then the rest):"
awk '{ printf "%.0f ", $1 / 1024 } END { print "" }' "$work/rss_kb"
reloads_sent=$(wc -l < "$work/reloads" 2>/dev/null || echo 0)
reloads_ok=$(grep -c "reload (SIGHUP): model swapped in" "$work/daemon.log" || true)
reload_failures=$((reloads_sent - reloads_ok))
status_failures=0
if [ -f "$work/status.failed" ]; then
	status_failures=$(wc -l < "$work/status.failed")
fi
echo "daemon log before SIGTERM, errors and warnings ($(wc -l < "$work/bad.log")):"
head -20 "$work/bad.log"
verdict=$(awk '/^verdict/ { print $2 }' "$work/loadgen.out")
echo "SOAK minutes=$minutes series=$series rss_mb=$rss verdict=${verdict:-ERROR}" \
	"reloads_ok=${reloads_ok:-0} reload_failures=${reload_failures:-0}" \
	"status_failures=$status_failures log_errors=$(wc -l < "$work/bad.log")"
