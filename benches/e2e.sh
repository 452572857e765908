#!/bin/sh
# e2e.sh -- end-to-end load benchmark: build, start tickcastd on a fresh config, run loadgen, stop.
#
#   benches/e2e.sh [--series N] [--format text|binary] [--seconds S] [--batch-bytes B]
#                  [--forecast-format text|binary] [--publish-threads P]
#                  [--threads T] [--batch LINES] [--warmup W] [--max-load L]
#                  [--precision fp32|bf16] [--ingest-threads N]
#   benches/e2e.sh --search [--formats "text binary"] [--counts "10000 30000 ..."] [...]
#
# One measurement: a daemon with the bundled 2 x H=64 model on a 1000 ms wall
# clock, loadgen sending one reading a tick for each of N series for S
# measured ticks (default 10, about 15 s in all), the daemon stopped with
# SIGTERM, loadgen's summary printed, and one line
#   RESULT format=... forecast_format=... series=... verdict=HOLDS|FAILS ...
# --format is the readings' format; --forecast-format the daemon's
# publish.format (default text), which loadgen is told to expect;
# --publish-threads the daemon's publish.threads (default 2); --threads
# loadgen's producer threads; --warmup the ticks before the measured ones
# (default 1), in which the series are created; --precision the daemon's
# model.precision (default fp32); --ingest-threads its ingest.threads
# (default 1).
# --search runs the counts in increasing order for each format (a FAILS is
# retried once, as the host is shared) and reports the largest that HOLDS.
#
# Before each measurement it waits until the 1-minute load average is under
# --max-load (default 0.6; E2E_WAIT_S, default 900, bounds the wait) and
# prints it. The daemon uses three ports from E2E_PORT up (default 17700; the
# first free triple, 10 apart), not the defaults, so that a daemon someone
# else runs is left alone.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
series=100000
format=text
forecast_format=text
seconds=10
warmup=1
batch_bytes=0
publish_threads=2
threads=2
batch=1000
max_load=0.6
search=0
formats="text binary"
counts="10000 30000 100000 200000 300000 500000 1000000"
port_base=${E2E_PORT:-17700}
wait_s=${E2E_WAIT_S:-900}
interval_ms=1000

usage() {
	sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case $1 in
	--series) series=$2; shift 2 ;;
	--format) format=$2; shift 2 ;;
	--forecast-format) forecast_format=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--batch-bytes) batch_bytes=$2; shift 2 ;;
	--publish-threads) publish_threads=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--batch) batch=$2; shift 2 ;;
	--max-load) max_load=$2; shift 2 ;;
	--precision) precision=$2; shift 2 ;;
	--ingest-threads) ingest_threads=$2; shift 2 ;;
	--search) search=1; shift ;;
	--formats) formats=$2; shift 2 ;;
	--counts) counts=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "e2e.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done

case $forecast_format in
text|binary) ;;
*)
	echo "e2e.sh: --forecast-format: expected text or binary, got \"$forecast_format\"" >&2
	exit 2
	;;
esac

if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build daemon/tickcastd benches/loadgen >/dev/null

work=$(mktemp -d /tmp/tickcast-e2e.XXXXXX)
# The binaries of this build, so that a rebuild by someone else during a
# search does not change what is measured halfway.
cp build/daemon/tickcastd build/benches/loadgen "$work/"
revision=$(git describe --always --dirty 2>/dev/null || echo unknown)
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
. benches/e2e_lib.sh

# Waits for a quiet machine (and for another e2e.sh's loadgen to finish);
# prints the load it started at.
wait_quiet() {
	waited=0
	while pgrep -x loadgen >/dev/null \
		|| awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }'; do
		if [ "$waited" -ge "$wait_s" ]; then
			echo "e2e.sh: load average still $(load1) after ${wait_s} s; measuring anyway" >&2
			break
		fi
		sleep 5
		waited=$((waited + 5))
	done
	load1
}

# One measurement; prints loadgen's summary and a RESULT line.
measure() { # $1 series, $2 format
	n=$1
	fmt=$2
	load=$(wait_quiet)
	port=$(free_ports)
	write_config "$n"
	"$work/tickcastd" --config "$work/tickcast.yaml" 2> "$work/daemon.log" &
	daemon_pid=$!
	echo "== $n series, $fmt readings, $forecast_format forecasts, publish.batch_bytes $batch_bytes," \
		"load average before $load" \
		"($(date +%H:%M:%S), $revision, ports $port..$((port + 2)))"
	set +e
	"$work/loadgen" --ingest "tcp://127.0.0.1:$port" \
		--forecasts "tcp://127.0.0.1:$((port + 1))" --control "tcp://127.0.0.1:$((port + 2))" \
		--series "$n" --threads "$threads" --format "$fmt" --forecast-format "$forecast_format" \
		--batch "$batch" \
		--seconds "$seconds" --warmup "$warmup" --interval-ms "$interval_ms" --daemon-pid "$daemon_pid" \
		> "$work/loadgen.out"
	lg=$?
	stop_start=$(date +%s%N)
	kill -TERM "$daemon_pid" 2>/dev/null
	wait "$daemon_pid"
	dst=$?
	stop_ms=$(( ($(date +%s%N) - stop_start) / 1000000 ))
	set -e
	daemon_pid=
	cat "$work/loadgen.out"
	echo "daemon stop            $stop_ms ms from SIGTERM to exit"
	if [ "$dst" -ne 0 ]; then
		echo "daemon exited with status $dst; its log:"
		tail -20 "$work/daemon.log"
	elif [ -s "$work/daemon.log" ]; then
		echo "daemon log (warnings):"
		tail -5 "$work/daemon.log"
	fi
	verdict=$(awk '/^verdict/ { print $2 }' "$work/loadgen.out")
	if [ "$lg" -eq 2 ] || [ "$dst" -ne 0 ]; then
		verdict=ERROR
	fi
	awk -v fmt="$fmt" -v ff="$forecast_format" -v n="$n" -v bb="$batch_bytes" -v load="$load" \
		-v v="$verdict" -v stop="$stop_ms" -v pt="$publish_threads" \
		-v prec="${precision:-fp32}" -v it="${ingest_threads:-1}" '
		/^ingest rate/ { rate = $3 }
		/^tick_ms measured/ { p50 = $4; p99 = $6 }
		/^publish lag ms/ { lag = $5 "/" $7 "/" $9 "/" $11 }
		/^forecasts expected/ { expected = $3 }
		/^forecasts received/ { got = $3 }
		/^cpu daemon/ { dcpu = $3 }
		/^cpu loadgen +[0-9]/ { lcpu = $3 }
		/^cpu machine/ { others = $NF }
		END { printf "RESULT format=%s forecast_format=%s publish_threads=%s precision=%s " \
			"ingest_threads=%s series=%s " \
			"batch_bytes=%s load=%s " \
			"readings_s=%s tick_p50=%s tick_p99=%s forecasts=%s/%s lag_p50/max/first/last=%s " \
			"cpu_daemon=%s cpu_loadgen=%s cpu_others=%s stop_ms=%s verdict=%s\n", fmt, ff, pt, prec,
			it, n,
			bb, load, rate, p50, p99, got, expected, lag, dcpu, lcpu, others, stop, v }' "$work/loadgen.out" \
		| tee -a "$work/results"
	[ "$verdict" = HOLDS ]
}

if [ "$search" -eq 0 ]; then
	measure "$series" "$format"
	exit $?
fi

for fmt in $formats; do
	largest=none
	for n in $counts; do
		if measure "$n" "$fmt" \
			|| { echo "(retrying once: the host is shared)"; measure "$n" "$fmt"; }; then
			largest=$n
		else
			break
		fi
	done
	echo "LARGEST format=$fmt forecast_format=$forecast_format batch_bytes=$batch_bytes" \
		"series=$largest" | tee -a "$work/results"
done
echo
echo "== all measurements"
cat "$work/results"
