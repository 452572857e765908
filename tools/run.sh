#!/usr/bin/env bash
# run.sh -- installs what is missing, builds tickcast (release), starts the
# daemon on the bundled config and model, replays the bundled sample
# readings into it one tick a second, and prints the forecasts it publishes.
# Ctrl-C stops it all; so does the end of the sample (two minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
tc_install_missing

[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
bin=build/daemon
config=config/tickcast.yaml
samples=models/sample-readings.txt

$bin/tickcast check --config "$config" >&2
$bin/tickcastd --config "$config" &
daemon=$!
trap 'kill $sub $daemon 2>/dev/null; wait 2>/dev/null' EXIT
until $bin/tickcast status --timeout-ms 200 >/dev/null 2>&1; do
  kill -0 $daemon 2>/dev/null || { echo "tickcastd did not start" >&2; exit 1; }
  sleep 0.2
done
$bin/tickcast sub tcp://127.0.0.1:7701 &
sub=$!
sleep 0.5

echo "replaying $samples, one tick a second; forecasts below (Ctrl-C to stop)" >&2
first=$(awk 'NR == 1 {print $3}' "$samples")
last=$(awk 'END {print $3}' "$samples")
for ((t = first; t <= last; t++)); do
  awk -v t="$t" '$3 == t' "$samples" | $bin/tickcast pub tcp://127.0.0.1:7700 2>/dev/null
  sleep 1
done
$bin/tickcast status >&2
