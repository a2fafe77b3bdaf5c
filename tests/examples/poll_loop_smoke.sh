#!/usr/bin/env bash
# Example 3 smoke test: poll() on a bus and stdin together.
set -euo pipefail
loop=$1 pub=$2
bus="smoke-poll-$$-$RANDOM"
trap 'rm -f /dev/shm/shmbus.$bus /dev/shm/shmbus-wake.$bus /dev/shm/shmbus-lock.$bus' EXIT
"$pub" -b "$bus" -n 1 -r 1000       # create the bus
mkfifo in.fifo
"$loop" "$bus" 5 <in.fifo >out.txt & l=$!
exec 3>in.fifo
echo "hello from stdin" >&3
sleep 0.3
"$pub" -b "$bus" -n 5 -r 100
wait $l
exec 3>&-
cat out.txt
grep -q "stdin: hello from stdin" out.txt
[ "$(grep -c '^bus: version' out.txt)" -eq 5 ]
