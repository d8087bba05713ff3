#!/usr/bin/env bash
# Builds hetero and runs every test: the release build (all backends whose dependencies are
# present, CUDA compiled and linked even without a GPU), then the AddressSanitizer +
# UndefinedBehaviorSanitizer and ThreadSanitizer builds over the host nodes, dispatcher and CLI,
# then the libFuzzer targets of every parser for a bounded time. Installs missing Debian
# packages first.
#   scripts/run-tests.sh                 everything (what CI runs)
#   scripts/run-tests.sh release fuzz    only the listed stages (release, asan, tsan, fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

stages=("$@")
if [ ${#stages[@]} -eq 0 ]; then stages=(fuzz asan tsan release); fi
jobs=$(nproc)

for preset in "${stages[@]}"; do
  if [ "${preset}" = fuzz ]; then
    echo "== fuzz: every parser of outside input, 20 s per target"
    bash scripts/run-fuzz.sh 20
    continue
  fi
  echo "== ${preset}: configure and build"
  cmake --preset "${preset}" >"/tmp/hetero-${preset}.configure.log" 2>&1 || {
    cat "/tmp/hetero-${preset}.configure.log"; exit 1; }
  sed -n '/hetero .* configuration/,/benchmarks:/p' "/tmp/hetero-${preset}.configure.log"
  rm -f "/tmp/hetero-${preset}.configure.log"
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "== ${preset}: tests"
  ctest --preset "${preset}" -j "${jobs}"
done
