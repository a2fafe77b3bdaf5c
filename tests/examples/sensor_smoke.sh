#!/usr/bin/env bash
# Example 1 smoke test: the IMU publisher at 1 kHz and a subscriber reporting rate and latency.
set -euo pipefail
pub=$1 sub=$2
bus="smoke-imu-$$-$RANDOM"
trap 'kill $pid 2>/dev/null || true; rm -f /dev/shm/shmbus.$bus /dev/shm/shmbus-wake.$bus /dev/shm/shmbus-lock.$bus' EXIT
"$pub" -b "$bus" -n 1500 & pid=$!
out=$("$sub" -b "$bus" -n 1000 -t 30)
echo "$out"
grep -q "samples/s, latency p50" <<<"$out"
wait $pid
