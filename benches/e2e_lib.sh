# e2e_lib.sh -- what benches/e2e.sh and benches/soak.sh share: free ports, the load
# average, and the daemon's config. Sourced; uses the caller's $port_base, $work, $root,
# $interval_ms, $forecast_format, $batch_bytes, $publish_threads and $port (and $sndhwm,
# $log_level, $precision and $ingest_threads when set).

# The first triple of ports from $port_base on that nobody listens on.
free_ports() {
	p=$port_base
	while ss -Hltn "( sport = :$p or sport = :$((p + 1)) or sport = :$((p + 2)) )" \
		2>/dev/null | grep -q .; do
		p=$((p + 10))
	done
	echo "$p"
}

load1() {
	cut -d' ' -f1 /proc/loadavg
}

write_config() { # $1 series
	n=$1
	max=$((n * 2 > 1000 ? n * 2 : 1000))
	queue=$((n * 4 > 4194304 ? n * 4 : 4194304))
	cat > "$work/tickcast.yaml" <<EOF
model:
  weights: $root/models/sample.safetensors
  input_size: 1
  layers:
    - {type: gru, hidden: 64}
    - {type: gru, hidden: 64}
  head: {type: linear, outputs: 12}
${precision:+  precision: $precision}
tick: {clock: wall, interval_ms: $interval_ms}
ingest:
  bind: ["tcp://127.0.0.1:$port"]
  rcvhwm: 1000000
  queue_readings: $queue
  threads: ${ingest_threads:-1}
publish:
  bind: ["tcp://127.0.0.1:$((port + 1))"]
  format: $forecast_format
  sndhwm: ${sndhwm:-50000000}
  batch_bytes: $batch_bytes
  threads: $publish_threads
control:
  bind: "tcp://127.0.0.1:$((port + 2))"
series: {max: $max, ttl_ticks: 0}
log: {level: ${log_level:-warning}}
EOF
}

