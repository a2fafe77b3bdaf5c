#!/usr/bin/env bash
# Example 3 smoke test: poll() on a bus and stdin together.
set -euo pipefail
loop=$1 pub=$2 shmbus=${@: -1}
bus="smoke-poll-$$-$RANDOM"
trap '"$shmbus" rm --force "$bus" >/dev/null 2>&1 || true' EXIT
"$pub" -b "$bus" -n 1 -r 1000       # create the bus
mkfifo in.fifo
"$loop" "$bus" 5 <in.fifo >out.txt & l=$!
exec 3>in.fifo
echo "hello from stdin" >&3
# It prints stdin's line only once it has the bus open and polls: then publish.
for _ in $(seq 300); do grep -q "stdin: hello" out.txt && break; sleep 0.05; done
"$pub" -b "$bus" -n 5 -r 100
wait $l
exec 3>&-
cat out.txt
grep -q "stdin: hello from stdin" out.txt
[ "$(grep -c '^bus: version' out.txt)" -eq 5 ]
