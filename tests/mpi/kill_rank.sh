#!/bin/sh
# A rank killed outright (SIGKILL, at a random moment once some tiles are journaled) aborts the
# mpirun job; the same command with --resume on one rank fewer finishes it with serial's counts.
# Usage: kill_rank.sh TOOL JOURNAL MPIEXEC [MPIEXEC_FLAGS...]
set -u
tool=$1 journal=$2
shift 2
job="--preset full --width 1024 --height 768 --max-iter 3000 --tile 4096"
ranks="--backend mpi --policy dynamic --rank-backend threads --threads 1"

fail() { echo "kill_rank: $*" >&2; exit 1; }
sum_hash() { sed -n 's/.*"checksum": *{ *"hash": *"\([0-9a-f]*\)", *"sum": *\([0-9]*\).*/\2 \1/p' | head -1; }

expected=$("$tool" render --backend simd $job --json - | tr -d '\n' | sum_hash)
[ -n "$expected" ] || fail "the reference run printed no checksum"
rm -f "$journal"

"$@" -np 3 "$tool" render $ranks $job --journal "$journal" --quiet >/dev/null 2>&1 &
launcher=$!
# Once the journal holds a few tiles, and a random few milliseconds later, rank 2 is killed.
header=$(( 1 << 10 ))
for _ in $(seq 1 600); do
  [ -f "$journal" ] && [ "$(stat -c %s "$journal")" -gt $(( header + 3 * 16428 )) ] && break
  sleep 0.05
done
sleep "0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 10 ))"
victim=""
for dir in /proc/[0-9]*; do
  tr '\0' '\n' < "$dir/cmdline" 2>/dev/null | grep -qxF -- "$journal" || continue
  if tr '\0' '\n' < "$dir/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=2'; then
    victim=${dir#/proc/}
  fi
done
[ -n "$victim" ] || { kill "$launcher"; fail "rank 2 was not found (the job may have ended)"; }
kill -9 "$victim"
if wait "$launcher"; then fail "the job went on after rank 2 was killed"; fi

report=$("$@" -np 2 "$tool" render $ranks $job --resume "$journal" --json -) ||
  fail "the resume on 2 ranks failed"
rm -f "$journal"
got=$(printf '%s' "$report" | tr -d '\n' | sum_hash)
[ "$got" = "$expected" ] || fail "resumed: $got, alone: $expected"
resumed=$(printf '%s' "$report" | grep -o 'resumed [1-9][0-9]* of [0-9]* tiles' | head -1)
[ -n "$resumed" ] || fail "no tile came from the journal"
echo "kill_rank: $resumed, then computed the rest on 2 ranks: checksum $got, as uninterrupted"
