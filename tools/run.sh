#!/usr/bin/env bash
# run.sh -- installs what is missing, builds tickcast (release), and runs the
# demo, tools/demo.py: it starts tickcastd on the model of the bundled config
# (a temporary copy of config/tickcast.yaml with a 250 ms wall clock and ipc
# endpoints of its own, so it never meets a daemon already running), replays
# four real series of models/demo/ into it, one reading per series per tick,
# and redraws a table of the live forecasts at every tick (plain lines when
# standard output is not a terminal). It stops, and stops the daemon, when the
# data ends (about 80 seconds) or on Ctrl-C. Options go to tools/demo.py
# (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
tc_install_missing

[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

build/cli/tickcast check --config config/tickcast.yaml >&2
exec /usr/bin/python3 tools/demo.py --config config/tickcast.yaml "$@"
