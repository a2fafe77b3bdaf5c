#!/usr/bin/env bash
# Example 6 smoke test: the C++ typed pose publisher and subscriber. The subscriber starts
# first and waits for the bus; it must get the last pose (earlier ones may be lost or missed).
set -euo pipefail
pub=$1 sub=$2 shmbus=$3
bus="smoke-pose-$$-$RANDOM"
trap 'kill $s 2>/dev/null || true; "$shmbus" rm --force "$bus" >/dev/null 2>&1 || true' EXIT
"$sub" -b "$bus" -n 300 -t 60 >out.txt & s=$!
"$pub" -b "$bus" -n 300 -r 1000
wait $s
cat out.txt
grep -Eq '^pose_sub: [0-9]+ poses \([0-9]+ lost\), last seq 300 at' out.txt
