#!/usr/bin/env bash
# deps.sh -- installs the Debian 12 packages tickcast builds and tests with,
# only those that are missing. Sourced by tools/run.sh and tools/test.sh.
set -euo pipefail

TC_PACKAGES=(
  gcc libc6-dev meson ninja-build pkg-config
  libyaml-dev libjansson-dev libxxhash-dev libzmq3-dev libsystemd-dev nettle-dev
  libcriterion-dev python3 python3-zmq libmicrohttpd-dev prometheus
  clang libclang-rt-14-dev libomp-dev
  nats-server libnats-dev
)

tc_install_missing() {
  local missing=()
  for p in "${TC_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "tickcast: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
