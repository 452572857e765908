#!/bin/bash
# cluster.sh -- cluster-mode throughput: how fast members on a 3-node NATS JetStream cluster
# apply a readings stream loaded beforehand, and how fast `tickcast pub --nats` loads it.
#
#   benches/cluster.sh BUILD_DIR [--series S] [--buckets B] [--runs N] [--replicas "1 3"]
#                      [--members "1 2 1/1"] [--perf]
#
# Starts a 3-node nats-server cluster on free loopback ports in a temp dir. Writes S series x
# B event buckets of text readings `<series> <value> <t>` (bucket-major, one reading per series
# and bucket) into a file once. For each replica count R and each of N runs: deletes the
# streams, creates the readings stream (16 partitions, R replicas), loads it with
# `tickcast pub --nats` (timed: the producer's rate), then for each --members entry (the
# order reversed every other run) starts M tickcastd members on one machine and times from
# their start until their status' cluster.totals.readings sum to S x B; the members are
# then stopped (SIGTERM) and the checkpoint stream deleted, so every measurement starts from
# offset 1 with no checkpoint. An entry M/T runs M members with OMP_NUM_THREADS=T (the
# default, "1 2 1/1", compares one member with its OpenMP team of 2 threads, the default on
# 2 CPUs, two members, and one member stepping on 1 thread). The script makes both streams
# itself before members start (with the settings tickcastd would give them) and waits for
# their leaders: two members starting at once on an R3 checkpoint stream just made could
# time out reading its manifest. Prints one RUN line a measurement and the medians.
#
# The members run the bundled model (config/tickcast.yaml's model section: 2 x GRU H=64, ema
# scaler, 80% intervals), tick.clock event with 1 s buckets, 16 partitions, no publish
# section (forecasts go to core NATS only, one message per series and tick, text), and
# cluster.checkpoint_every_s 3600 (no checkpoint during a measurement).
#
# --perf: afterwards one more run, R = 1 and 1 member, under `perf record -g`: its samples
# sorted into what they do (cluster_helper.py perf-split, by the innermost user-space frame,
# kernel time charged to the frame that entered the kernel), the top symbols by self time,
# and the samples by thread; then one more such run under `perf stat` counting the member's
# futex system calls (the syscalls:sys_enter_futex tracepoint: root, or a low
# perf_event_paranoid).
#
# CLUSTER_KEEP=1 keeps the temp dir (logs, configs, perf.data).
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:?usage: benches/cluster.sh BUILD_DIR [options]}
shift
series=20000
buckets=50
runs=3
replicas_list="1 3"
members_list="1 2 1/1"
partitions=16
do_perf=0
while [ $# -gt 0 ]; do
	case $1 in
	--series) series=$2; shift 2 ;;
	--buckets) buckets=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--replicas) replicas_list=$2; shift 2 ;;
	--members) members_list=$2; shift 2 ;;
	--perf) do_perf=1; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

helper="python3 $root/benches/cluster_helper.py"
work=$(mktemp -d /tmp/tickcast-cluster.XXXXXX)
# This build's binaries, so that a rebuild during the run does not change what is measured.
cp "$build/daemon/tickcastd" "$build/cli/tickcast" "$work/"
nats_pids=()
member_pids=()
cleanup() {
	for pid in "${member_pids[@]}" "${nats_pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ -z "${CLUSTER_KEEP:-}" ]; then
		rm -rf "$work"
	else
		echo "cluster.sh: kept $work" >&2
	fi
}
trap cleanup EXIT INT TERM

load1() { cut -d' ' -f1 /proc/loadavg; }
# utime + stime of the given processes, in clock ticks.
cpu_ticks() {
	local t=0 pid
	for pid in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)

# ---- the readings, once ----
readings=$((series * buckets))
awk -v s="$series" -v b="$buckets" 'BEGIN {
	t0 = 1700000000
	for (j = 0; j < b; j++) {
		for (i = 0; i < s; i++) {
			printf "s%d %.4f %.3f\n", i, 10 * sin(0.37 * i + 0.21 * j) + (i % 13), \
				t0 + j + (i % 900) / 1000
		}
	}
}' > "$work/readings.txt"

# ---- the NATS cluster ----
read -r -a port <<< "$($helper ports 9)"
urls=
for n in 0 1 2; do
	c=${port[$((3 * n))]} r=${port[$((3 * n + 1))]} h=${port[$((3 * n + 2))]}
	urls="$urls${urls:+,}nats://127.0.0.1:$c"
	mkdir -p "$work/n$n"
	{
		printf 'server_name: n%d\nlisten: "127.0.0.1:%d"\nhttp: "127.0.0.1:%d"\n' "$n" "$c" "$h"
		printf 'jetstream {\n  store_dir: "%s"\n}\n' "$work/n$n"
		printf 'cluster {\n  name: tc\n  listen: "127.0.0.1:%d"\n  routes: [\n' "$r"
		for m in 0 1 2; do
			[ "$m" = "$n" ] || printf '    "nats-route://127.0.0.1:%d"\n' "${port[$((3 * m + 1))]}"
		done
		printf '  ]\n}\n'
	} > "$work/n$n.conf"
	nats-server -c "$work/n$n.conf" > "$work/n$n.log" 2>&1 &
	nats_pids+=($!)
done
$helper healthy "${port[2]}" "${port[5]}" "${port[8]}"
url0=nats://127.0.0.1:${port[0]}
nats_yaml=$(echo "$urls" | sed 's/\([^,]*\)/"\1"/g; s/,/, /g')

# ---- member configs ----
model=$(sed -n '/^model:/,/^tick:/p' config/tickcast.yaml | sed '$d' |
	sed "s|^\(  weights: \)[^ ]*|\1$root/models/default.safetensors|")
write_config() { # $1 member, $2 members, $3 replicas
	cat > "$work/m$1.yaml" <<EOF
$model
tick: {clock: event, interval_ms: 1000, flush_ms: 60000}
series: {max: $series, ttl_ticks: 0}
control: {bind: "ipc://$work/control$1.sock"}
metrics: {listen: ""}
log: {level: info}
cluster: {nats: [$nats_yaml], partitions: $partitions, members: $2, member: $1,
  replicas: $3, checkpoint_every_s: 3600}
EOF
}

# ---- one measurement: M members over the loaded stream ----
measure() { # $1 members[/threads], $2 replicas, $3 run; the seconds in $result
	local m=${1%/*} r=$2 k eps=() load omp=
	[ "$1" = "$m" ] || omp=${1#*/}
	$helper delete "$url0" tickcast_checkpoints
	$helper create "$url0" tickcast "$partitions" "$r"
	load=$(load1)
	member_pids=()
	local nats_before start
	nats_before=$(cpu_ticks "${nats_pids[@]}")
	start=$(date +%s%N)
	for ((k = 0; k < m; k++)); do
		write_config "$k" "$m" "$r"
		${omp:+env OMP_NUM_THREADS=$omp} "$work/tickcastd" --config "$work/m$k.yaml" \
			>> "$work/m$k-R$r-M${1/\//t}.log" 2>&1 &
		member_pids+=($!)
		eps+=("ipc://$work/control$k.sock")
	done
	local out
	out=$($helper wait "$work/tickcast" "$readings" "$start" 90 "${eps[@]}")
	local member_cpu nats_cpu secs
	member_cpu=$(cpu_ticks "${member_pids[@]}")
	nats_cpu=$(( $(cpu_ticks "${nats_pids[@]}") - nats_before ))
	for pid in "${member_pids[@]}"; do
		kill -TERM "$pid"
	done
	for pid in "${member_pids[@]}"; do
		wait "$pid" || echo "cluster.sh: member $pid exited with status $?"
	done
	member_pids=()
	read -r secs queued msgs fc bad mis late <<< "$out"
	awk -v s="$secs" -v n="$readings" -v m="$1" -v r="$r" -v run="$3" -v l="$load" \
		-v q="$queued" -v msgs="$msgs" -v fc="$fc" -v bad="$bad" -v mis="$mis" \
		-v late="$late" -v mc="$member_cpu" -v nc="$nats_cpu" -v hz="$hz" 'BEGIN {
		printf "RUN R%d M%s run %d: %.2f s, %.0f readings/s, members %.2f cores, " \
			"nats-servers %.2f cores, max queued %d, messages %d, forecasts %d, " \
			"bad %d, misrouted %d, late %d, load before %s\n", r, m, run, s, n / s,
			mc / hz / s, nc / hz / s, q, msgs, fc, bad, mis, late, l
	}'
	result=$secs
}

# ---- load the stream: R replicas, fresh ----
load_stream() { # $1 replicas; the milliseconds pub took in $result
	local r=$1 t0 t1 last
	$helper delete "$url0" tickcast_readings tickcast_checkpoints
	$helper create "$url0" tickcast "$partitions" "$r"
	t0=$(date +%s%N)
	"$work/tickcast" pub --nats "$urls" < "$work/readings.txt" 2> "$work/pub.log"
	t1=$(date +%s%N)
	last=$($helper last-seq "$url0" tickcast_readings)
	awk -v t="$(( (t1 - t0) / 1000000 ))" -v n="$readings" -v r="$r" -v last="$last" 'BEGIN {
		printf "PUB R%d: %.2f s, %.0f readings/s, %d messages in the stream\n", r,
			t / 1000, n / (t / 1000), last
	}'
	result=$(( (t1 - t0) / 1000000 ))
}

echo "== cluster.sh $(git describe --always --dirty 2>/dev/null || echo unknown)," \
	"$(grep -m1 'cpu family' /proc/cpuinfo | tr -s '\t ' ' '), $(nproc) CPUs," \
	"$series series x $buckets buckets = $readings readings, $partitions partitions," \
	"$runs runs, load $(load1), $(date -u +%FT%TZ)"
declare -A secs pub_ms
for r in $replicas_list; do
	for ((run = 1; run <= runs; run++)); do
		load_stream "$r"
		pub_ms[$r]="${pub_ms[$r]:-} $result"
		order=$members_list
		if [ $((run % 2)) = 0 ]; then
			order=$(echo "$members_list" | tr ' ' '\n' | tac | tr '\n' ' ')
		fi
		for m in $order; do
			measure "$m" "$r" "$run"
			secs[$r,$m]="${secs[$r,$m]:-} $result"
		done
	done
done

echo "== medians of $runs runs ($readings readings)"
for r in $replicas_list; do
	# shellcheck disable=SC2086 # the runs' figures, one argument each
	ms=$($helper median ${pub_ms[$r]})
	awk -v ms="$ms" -v n="$readings" -v r="$r" 'BEGIN {
		printf "producer R%d: %.2f s, %.0f readings/s\n", r, ms / 1000, n / (ms / 1000) }'
	for m in $members_list; do
		# shellcheck disable=SC2086
		s=$($helper median ${secs[$r,$m]})
		eval "med_${r}_${m/\//t}=$s"
		awk -v s="$s" -v n="$readings" -v r="$r" -v m="$m" -v all="${secs[$r,$m]}" 'BEGIN {
			printf "consume R%d, members %s: %.2f s (runs:%s), %.0f readings/s\n", r, m, s,
				all, n / s }'
	done
done
# Each setup against the first, and the last replica count against the first.
ratio() { # $1 what, $2 median seconds of the base, $3 of the other
	awk -v what="$1" -v a="$2" -v b="$3" 'BEGIN {
		printf "ratio %s = %.2f x the readings/s\n", what, a / b }'
}
first_m=${members_list%% *} first_r=${replicas_list%% *} last_r=${replicas_list##* }
for r in $replicas_list; do
	for m in ${members_list#"$first_m"}; do
		ratio "R$r: members $m / members $first_m" "$(eval echo "\$med_${r}_${first_m/\//t}")" \
			"$(eval echo "\$med_${r}_${m/\//t}")"
	done
done
for m in $members_list; do
	ratio "members $m: R$last_r / R$first_r" "$(eval echo "\$med_${first_r}_${m/\//t}")" \
		"$(eval echo "\$med_${last_r}_${m/\//t}")"
done
grep -h -i -E "slow consumer|error|warning" "$work"/m*.log \
	| sed -E 's/^[0-9T:.-]+Z //; s/127\.0\.0\.1:[0-9]+/127.0.0.1:PORT/' | sort | uniq -c \
	| sort -rn | head -20 | sed 's/^/member log: /' || true
echo "nats-server logs: $(cat "$work"/n?.log | grep -c -i 'slow consumer') slow consumer lines," \
	"$(cat "$work"/n?.log | grep -c '\[ERR\]') [ERR] lines (a route refused at start is normal)"

# ---- where the time goes ----
# One member over a fresh R1 stream under `perf ARGS...`; perf starts the member
# (OMP_WAIT_POLICY set, so that it does not exec itself again to set it), so that every
# thread it makes is seen from the start. The seconds it took in $result.
under_perf() {
	load_stream 1
	$helper delete "$url0" tickcast_checkpoints
	$helper create "$url0" tickcast "$partitions" 1
	write_config 0 1 1
	local start perf_pid out
	start=$(date +%s%N)
	OMP_WAIT_POLICY=passive perf "$@" -- \
		"$work/tickcastd" --config "$work/m0.yaml" >> "$work/m0-perf.log" 2>&1 &
	perf_pid=$!
	member_pids=("$perf_pid")
	out=$($helper wait "$work/tickcast" "$readings" "$start" 90 "ipc://$work/control0.sock")
	kill -TERM "$(pgrep -P "$perf_pid")"
	wait "$perf_pid" || true
	member_pids=()
	result=${out%% *}
}

if [ "$do_perf" = 1 ]; then
	under_perf record -e cpu-clock -F 999 -g -o "$work/perf.data"
	echo "== perf: R1, 1 member, $result s under perf; samples by what they do"
	perf script -i "$work/perf.data" -F tid,ip,sym,dso 2>/dev/null | $helper perf-split
	echo "== perf: self time by symbol"
	perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none \
		2>/dev/null | grep -E '^ +[0-9]' | head -25
	echo "== perf: by thread (comm)"
	perf report -i "$work/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null \
		| grep -E '^ +[0-9]' | head -10
	# Futex system calls per reading: libgomp makes one at the end of every parallel region.
	under_perf stat -e syscalls:sys_enter_futex -x , -o "$work/futex.csv"
	awk -F, -v n="$readings" -v s="$result" '/sys_enter_futex/ {
		printf "== perf stat: %d futex system calls in %.2f s, %.2f per reading\n", $1, s,
			$1 / n }' "$work/futex.csv"
fi
