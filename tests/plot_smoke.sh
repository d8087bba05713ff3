#!/usr/bin/env bash
# Smoke test of the scaling study and the charts: a small real `hetero scale`, `compare` and
# `render --trace`, each turned into a PNG by tools/plot.py. Exit 77 (skipped) without matplotlib.
set -euo pipefail
hetero=$1
plot=$2
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  echo "python3-matplotlib is not installed: skipping the chart smoke test"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HETERO_CACHE_DIR="$work/cache"
"$hetero" scale --preset seed --width 80 --height 60 --backend threads,serial+threads \
  --workers 1,2 --study both --repeat 2 --warmup 0 --json "$work/scale.json" --csv "$work/scale.csv"
"$hetero" scale --preset seed --width 80 --height 60 --backend threads --sweep tile --repeat 1 \
  --warmup 0 --json "$work/sweep.json" >/dev/null
"$hetero" compare --preset seed --width 80 --height 60 --repeat 1 --backend serial,threads \
  --together --json "$work/compare.json" >/dev/null
"$hetero" render --preset seed --width 80 --height 60 --backend serial,threads --trace "$work/trace.json" -q
# The kernel workloads: a scaling study of heat and a comparison of triad.
"$hetero" scale --workload heat --size 48x40 --steps 3 --backend threads --workers 1,2 \
  --repeat 1 --warmup 0 --json "$work/heat-scale.json" >/dev/null
"$hetero" compare --workload triad --size 100000 --steps 2 --backend serial,threads --repeat 1 \
  --json "$work/triad-compare.json" >/dev/null
# Each chart is a PNG of a readable size: width and height from its header (IHDR).
for chart in scale:scale scale:sweep compare:compare trace:trace scale:heat-scale \
  compare:triad-compare; do
  kind=${chart%%:*}
  name=${chart#*:}
  /usr/bin/python3 "$plot" "$kind" "$work/$name.json" -o "$work/$name.png"
  /usr/bin/python3 - "$work/$name.png" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
width, height = struct.unpack(">II", head[16:24])
assert 600 <= width <= 4000 and 300 <= height <= 3000, f"{sys.argv[1]}: {width}x{height}"
PY
done
grep -q '^strong,threads,1,' "$work/scale.csv"
# An unwritable output is one line and exit status 2, not a traceback.
status=0
/usr/bin/python3 "$plot" trace "$work/trace.json" -o /nonexistent/dir/gantt.png 2>"$work/err" || status=$?
test "$status" -eq 2
test "$(wc -l <"$work/err")" -eq 1 && grep -q "cannot write '/nonexistent/dir/gantt.png'" "$work/err"
echo "charts rendered from a real run"
