#!/usr/bin/env bash
# run.sh -- installs what is missing, builds tickcast (release), checks the
# bundled config and model, and replays the bundled sample readings through
# it: forecast lines on standard output, a summary on standard error.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
tc_install_missing

[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
build/daemon/tickcast check --config config/tickcast.yaml >&2
exec build/daemon/tickcast replay --config config/tickcast.yaml < models/sample-readings.txt
