#!/usr/bin/env bash
# examples/shell/pipeline.sh - shmbus from a shell script.
#   pipeline.sh [BUS]
# A producer turns lines into records, a consumer gets every record in order and sums them,
# a late joiner reads the latest value, and `shmbus stat` shows the bus. Uses shmpub, shmsub
# and shmbus from $PATH, or from $SHMBUS_BIN when set (e.g. bazel-bin/tools).
set -euo pipefail
bin=${SHMBUS_BIN:+$SHMBUS_BIN/}
bus=${1:-pipeline-$$}
trap '"${bin}shmbus" rm --force "$bus" >/dev/null 2>&1 || true' EXIT

# The consumer waits for the bus, then prints every record in order from the oldest the ring
# still holds (--oldest: the producer may have started first; the ring holds 256 records, so a
# burst of 100 lines from `seq` cannot lap it).
"${bin}shmsub" --wait-for-bus --all --oldest -C 100 -W 10 "$bus" >numbers.txt &
consumer=$!
seq 1 100 | "${bin}shmpub" --slots 256 --type numbers "$bus"
wait "$consumer"
echo "sum of every record: $(awk '{ s += $1 } END { print s }' numbers.txt)"

# A late joiner gets the latest value at once, with no history.
echo "latest: $("${bin}shmsub" --once "$bus")"
"${bin}shmbus" stat "$bus"
rm -f numbers.txt
