#!/bin/sh
# scripts/gpu-check.sh --dry-run lists every stage, in order, and a total of 240 s.
set -eu
out=$(bash "$1" --dry-run)
printf '%s\n' "$out"
stages=$(printf '%s\n' "$out" | awk '$1 ~ /^(build|test|sanitize|bench)$/ { printf "%s ", $1 }')
[ "$stages" = "build test sanitize bench " ] || { echo "stages: '$stages'" >&2; exit 1; }
printf '%s\n' "$out" | grep -q '^  total  *240 s' || { echo "no 240 s total" >&2; exit 1; }
