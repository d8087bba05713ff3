#!/usr/bin/env bash
# Builds hetero's libFuzzer targets (tests/fuzz) with clang++-14 into build/fuzz, replays every
# recorded regression input, then fuzzes each target for SECONDS_PER_TARGET seconds on a copy of
# its seed corpus. Exits non-zero when any input crashes a target, printing the input's path.
#
# Usage: scripts/run-fuzz.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "run-fuzz: SECONDS_PER_TARGET must be a positive whole number, got '$seconds'" >&2
  exit 2
fi
if ! command -v clang++-14 >/dev/null 2>&1; then
  echo "run-fuzz: clang++-14 not found; install clang-14 and libclang-rt-14-dev (scripts/install-deps.sh)" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_dir="$root/tests/fuzz"
build_dir="$root/build/fuzz"
run_dir="$build_dir/run"

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
echo "run-fuzz: configuring $source_dir into $build_dir"
cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
echo "run-fuzz: building (-j2)"
cmake --build "$build_dir" -j2 >"$build_dir/build.log" 2>&1 || {
  tail -n 30 "$build_dir/build.log" >&2
  echo "run-fuzz: the build failed; the full log is $build_dir/build.log" >&2
  exit 1
}

mapfile -t targets <"$build_dir/targets.txt"
limits=(-timeout=5 -rss_limit_mb=2048)
failed=()

# Prints what a failed run said about the failure: the broken contract or sanitizer report lines.
print_failure() {
  grep -E "contract broken|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|terminate called|what\(\)" \
    "$1" | head -n 5 | sed 's/^/    /' >&2 || true
}

for name in "${targets[@]}"; do
  binary="$build_dir/fuzz_$name"
  work="$run_dir/$name"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  # Per-target extras: a dictionary (dicts/<name>.dict) and flags (options/<name>.options).
  extra=()
  if [ -f "$source_dir/dicts/$name.dict" ]; then extra+=(-dict="$source_dir/dicts/$name.dict"); fi
  if [ -f "$source_dir/options/$name.options" ]; then
    while read -r flag; do
      case "$flag" in '' | '#'*) ;; *) extra+=("$flag") ;; esac
    done <"$source_dir/options/$name.options"
  fi

  # Regression inputs: each recorded crash must stay fixed.
  replayed=0
  regression_failed=0
  for input in "$source_dir/regressions/$name"/*; do
    [ -f "$input" ] || continue
    replayed=$((replayed + 1))
    if ! "$binary" "${limits[@]}" "$input" >"$work/regression.log" 2>&1; then
      echo "run-fuzz: $name: regression input fails: $input" >&2
      print_failure "$work/regression.log"
      regression_failed=1
    fi
  done

  # Fuzzing, on a copy of the seed corpus (new inputs land in the copy).
  cp -R "$source_dir/corpus/$name/." "$work/corpus/"
  status=0
  "$binary" "${limits[@]}" "${extra[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)"
  printf 'run-fuzz: %-13s %10s executions in %ss, %d regression inputs replayed\n' \
    "$name" "${executions:-?}" "$seconds" "$replayed"
  if [ "$status" -ne 0 ]; then
    crash="$(sed -n 's/.*Test unit written to //p' "$work/fuzz.log" | tail -n 1)"
    echo "run-fuzz: $name: crashed (exit $status) on input ${crash:-(not written)}; log: $work/fuzz.log" >&2
    print_failure "$work/fuzz.log"
    failed+=("$name")
  elif [ "$regression_failed" -ne 0 ]; then
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "run-fuzz: FAILED: ${failed[*]} (record a new crash under tests/fuzz/regressions/<target>/)" >&2
  exit 1
fi
echo "run-fuzz: all ${#targets[@]} targets passed"
