#!/usr/bin/env bash
# Example 2 smoke test: a writer publishes and exits; a late joiner reads it at once; a
# watcher sees the next changes.
set -euo pipefail
sb=$1
bus="smoke-board-$$-$RANDOM"
trap 'rm -f /dev/shm/shmbus.$bus /dev/shm/shmbus-wake.$bus /dev/shm/shmbus-lock.$bus' EXIT
"$sb" write "$bus" auto 1.5
out=$("$sb" read "$bus")
echo "$out"
grep -q "revision 1: mode=auto max_speed=1.50" <<<"$out"
"$sb" watch "$bus" 2 >watch.out & w=$!
sleep 0.3
"$sb" write "$bus" idle 0.5
sleep 0.3
"$sb" write "$bus" auto 2.0
wait $w
cat watch.out
grep -q "revision 3: mode=auto max_speed=2.00" watch.out
"$sb" read nosuchbus-$$ 2>err.out && exit 1
grep -q "no such bus" err.out
