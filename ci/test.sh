#!/usr/bin/env bash
# Builds ikestorm (and once more as Release with -Werror) and runs every default test: ctest
# (unit, privileged, fuzz-corpus replay), the unit tests again under ASan/UBSan, a short
# libFuzzer run of each fuzz target, then pytest (tests/e2e). Long scale/soak runs
# (label/marker `long`) are left out; run them with IST_LONG=1. Fails when any runner fails.
# Run as root (privileged tests use namespaces).
set -uo pipefail
cd "$(dirname "$0")/.."

# The privileged tests need root; without it they would skip and the run would pass on skips.
if [ "$(id -u)" -ne 0 ]; then
  echo "ci/test.sh: must run as root: the privileged and e2e tests create network namespaces and start charon;" >&2
  echo "            without root they would be skipped and the run would look green. Run it with sudo." >&2
  exit 1
fi

jobs=${IST_JOBS:-$(nproc)}
fuzz_seconds=${IST_FUZZ_SECONDS:-5}
status=0
step() { printf '\n== %s\n' "$*"; }

step "function lengths (none over 120 lines)"
/usr/bin/python3 ci/function_lengths.py || status=1

step "include arrows (ike/ and dataplane/ know nothing of runs, scenarios, fleets)"
/usr/bin/python3 ci/include_arrows.py || status=1

step "build (RelWithDebInfo)"
cmake --preset default >/dev/null && cmake --build --preset default -j"$jobs" || exit 1

if [ "${IST_SKIP_RELEASE:-0}" != 1 ]; then
  # Once, what a user's plain `cmake -DCMAKE_BUILD_TYPE=Release` compiles (the harness and
  # the guest agent, no tests), with -Werror: -O3 brings warnings -O2 does not (GCC 12's
  # -Wrestrict false positives), and a plain build has IST_WERROR off.
  step "build (Release, -Werror)"
  cmake --preset release >/dev/null && cmake --build --preset release -j"$jobs" || exit 1
fi

step "ctest"
label_args=(-LE long)
[ "${IST_LONG:-0}" = 1 ] && label_args=()
ctest --test-dir build --output-on-failure -j"$jobs" "${label_args[@]}" || status=1

if [ "${IST_SKIP_ASAN:-0}" != 1 ]; then
  step "unit tests under ASan/UBSan"
  cmake --preset asan >/dev/null && cmake --build --preset asan -j"$jobs" --target ist_unit_tests || exit 1
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit || status=1
fi

if [ "${IST_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz targets, ${fuzz_seconds}s each"
  cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j"$jobs" --target ist_fuzz_targets || exit 1
  for t in build-fuzz/tests/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
    if "$t" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$work" >"build-fuzz/$name.log" 2>&1; then
      echo "$name: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/$name.log" | grep -o '[0-9]*$') runs)"
    else
      echo "$name: FAILED"; tail -40 "build-fuzz/$name.log"; status=1
    fi
    rm -rf "$work"
  done
fi

step "pytest (tests/e2e)"
marker=(-m "not long")
[ "${IST_LONG:-0}" = 1 ] && marker=()
/usr/bin/python3 -m pytest tests/e2e "${marker[@]}" -q -rs --durations=25
rc=$?
[ $rc -ne 0 ] && status=1

exit $status
