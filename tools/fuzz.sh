#!/usr/bin/env bash
# fuzz.sh -- builds the libFuzzer harnesses of tests/fuzz/ with clang under
# AddressSanitizer and UndefinedBehaviorSanitizer, runs each one first on its
# committed regression inputs, then fuzzes it for SECONDS from a copy of its
# seed corpus (the repository is never written to). Prints one summary line
# per harness and ends with "N passed, N failed"; exits 1 when any harness
# crashed, leaked, hit a sanitizer report or a timeout.
#
#   tools/fuzz.sh [SECONDS] [HARNESS...]     (default 60 s each, every harness)
#
# Findings are kept under build-fuzz/artifacts/<harness>/: minimise one with
#   build-fuzz/fuzz_<harness> -minimize_crash=1 -runs=100000 <artifact>
# and, once fixed, commit it under tests/fuzz/regressions/<harness>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
out=build-fuzz
obj=$out/obj
mkdir -p "$obj"

# Every harness with its -max_len: each parser's inputs are small in practice,
# and short inputs let libFuzzer cover more per second.
declare -A max_len=(
  [reading]=512 [message]=4096 [reading_binary]=4096 [forecast_binary]=4096
  [anomaly_binary]=4096 [ckpt_manifest]=1024
  [decimal]=80 [config]=4096 [safetensors]=8192 [checkpoint]=8192 [control]=520
)
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(reading message reading_binary forecast_binary anomaly_binary
  decimal config safetensors checkpoint control ckpt_manifest)

CC=${CC:-clang}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
pkgs="yaml-0.1 jansson libxxhash nettle libzmq libnats"
cflags=(-std=c11 -D_GNU_SOURCE -DTC_VERSION=\"fuzz\" -g -O1 -fno-omit-frame-pointer -fopenmp
  $san -Icore -Iconfig -Iwire -Iengine -Icluster -Idaemon $(pkg-config --cflags $pkgs))
libs=($(pkg-config --libs $pkgs) -lpthread -lm)

# The project's sources for core/ config/ wire/ engine/ cluster/ daemon/, as meson
# builds them but with one kernel variant (plain C) and no systemd.
sources=(core/*.c config/*.c wire/*.c engine/*.c cluster/*.c)
for f in daemon/*.c; do
  [ "$f" = daemon/tickcastd.c ] || sources+=("$f")
done

newest_header=$(ls -t core/*.h config/*.h wire/*.h engine/*.h cluster/*.h daemon/*.h | head -1)
kernel_flags=(-ffp-contract=fast -fno-trapping-math -fno-math-errno)
objects=()
compile() { # source, object, extra flags...
  local src=$1 o=$2
  shift 2
  objects+=("$o")
  [ "$o" -nt "$src" ] && [ "$o" -nt "$newest_header" ] && [ "$o" -nt "$0" ] && return
  "$CC" "${cflags[@]}" -fsanitize=fuzzer-no-link "$@" -c "$src" -o "$o"
}
for src in "${sources[@]}"; do
  case $src in
    core/*_kernel.c) extra=(-DTC_KERNEL_SUFFIX=c "${kernel_flags[@]}") ;;
    core/scaler.c) extra=(-ffp-contract=off) ;;
    *) extra=() ;;
  esac
  compile "$src" "$obj/$(echo "$src" | tr / _).o" "${extra[@]}"
done
# The kernel files once more for bf16 models, as core/meson.build builds c_bf16.
for src in core/*_kernel.c; do
  compile "$src" "$obj/$(echo "$src" | tr / _)_bf16.o" -DTC_KERNEL_SUFFIX=c_bf16 \
    -DTC_KERNEL_BF16 "${kernel_flags[@]}"
done
rm -f "$out/libtc_fuzz.a"
ar rcs "$out/libtc_fuzz.a" "${objects[@]}"

for h in "${harnesses[@]}"; do
  "$CC" "${cflags[@]}" -fsanitize=fuzzer -Itests/fuzz "tests/fuzz/fuzz_$h.c" \
    "$out/libtc_fuzz.a" "${libs[@]}" -o "$out/fuzz_$h"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OMP_NUM_THREADS=1
passed=0
failed=0
for h in "${harnesses[@]}"; do
  log=$out/fuzz_$h.log
  artifacts=$out/artifacts/$h/
  mkdir -p "$artifacts"
  result=passed
  regressions=(tests/fuzz/regressions/$h/*)
  if [ -e "${regressions[0]}" ] \
    && ! "$out/fuzz_$h" -timeout=10 -rss_limit_mb=2048 "${regressions[@]}" >"$log" 2>&1; then
    result="FAILED on a regression input (see $log)"
  else
    corpus=$(mktemp -d)
    cp tests/fuzz/corpus/"$h"/* "$corpus"/ 2>/dev/null || true
    if ! "$out/fuzz_$h" -max_total_time="$seconds" -max_len="${max_len[$h]}" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" \
      >"$log" 2>&1 || grep -q 'ERROR: \|runtime error' "$log"; then
      result="FAILED (see $log and $artifacts)"
    fi
    rm -rf "$corpus"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  echo "fuzz $h: ${execs:-0} execs in ${seconds} s, coverage ${cov:-?} edges: $result"
  if [ "$result" = passed ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
