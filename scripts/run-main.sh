#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset, renders the seed preset
# (the PyCon 2013 tutorial's grid) on every available backend, writes seed.png and prints the
# comparison table. Extra arguments go to `hetero compare` (e.g. --preset full --width 2048).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
build/release/host/hetero devices
echo
if [ $# -eq 0 ]; then set -- --preset seed --repeat 5 --out seed.png; fi
build/release/host/hetero compare "$@"
