#!/usr/bin/env bash
# test.sh -- installs what is missing, builds, and runs the whole test suite
# twice: a release build, and a debug build under AddressSanitizer and
# UndefinedBehaviorSanitizer; then fuzzes each libFuzzer harness briefly
# (tools/fuzz.sh, TC_FUZZ_SECONDS each, 20 by default: one test case per
# harness). Ends with one line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
tc_install_missing

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
werror=false
[ "${CI:-}" = "true" ] && werror=true

passed=0
failed=0
skipped=0
status=0
run_suite() { # build-dir, meson options...
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --wipe "$dir" "$@" -Dwerror=$werror >/dev/null
  else
    meson setup "$dir" "$@" -Dwerror=$werror >/dev/null
  fi
  ninja -C "$dir" >/dev/null
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  local log="$dir/meson-logs/testlog.txt"
  passed=$((passed + $(grep '^ok ' "$log" | grep -vc '# SKIP' || true)))
  skipped=$((skipped + $(grep '^ok ' "$log" | grep -c '# SKIP' || true)))
  failed=$((failed + $(grep -c '^not ok ' "$log" || true)))
}

run_suite build-test --buildtype=release
run_suite build-sanitize --buildtype=debug -Db_sanitize=address,undefined

# tools/fuzz.sh's last line is "N passed, N failed" over the harnesses; any other
# (the harnesses did not build) counts as one failure.
fuzz_summary=$(bash tools/fuzz.sh "${TC_FUZZ_SECONDS:-20}" | tee /dev/stderr | tail -1) || status=1
if [[ $fuzz_summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1))
fi

[ "$skipped" -eq 0 ] || echo "($skipped skipped: their reasons are in the meson logs)"
echo "$passed passed, $failed failed"
exit $status
