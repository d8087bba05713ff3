#!/usr/bin/env bash
# Builds hetero and runs every test: the release build (all backends whose dependencies are
# present, CUDA compiled and linked even without a GPU), then the AddressSanitizer +
# UndefinedBehaviorSanitizer and ThreadSanitizer builds over the host nodes, dispatcher and CLI,
# then a smoke run of the benchmark binary. Installs missing Debian packages first.
#   scripts/run-tests.sh            everything (what CI runs)
#   scripts/run-tests.sh release    only the listed presets (release, asan, tsan)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then presets=(release asan tsan); fi
jobs=$(nproc)

for preset in "${presets[@]}"; do
  echo "== ${preset}: configure and build"
  cmake --preset "${preset}" >"/tmp/hetero-${preset}.configure.log" 2>&1 || {
    cat "/tmp/hetero-${preset}.configure.log"; exit 1; }
  sed -n '/hetero .* configuration/,/benchmarks:/p' "/tmp/hetero-${preset}.configure.log"
  rm -f "/tmp/hetero-${preset}.configure.log"
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "== ${preset}: tests"
  ctest --preset "${preset}" -j "${jobs}"
done
