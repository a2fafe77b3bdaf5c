#!/usr/bin/env bash
# Example 2 smoke test: a writer publishes and exits; a late joiner reads it at once; a
# watcher sees the next changes.
set -euo pipefail
sb=$1 shmbus=${@: -1}
bus="smoke-board-$$-$RANDOM"
trap '"$shmbus" rm --force "$bus" >/dev/null 2>&1 || true' EXIT
"$sb" write "$bus" auto 1.5
out=$("$sb" read "$bus")
echo "$out"
grep -q "revision 1: mode=auto max_speed=1.50" <<<"$out"
"$sb" watch "$bus" 2 >watch.out 2>watch.err & w=$!
for _ in $(seq 300); do grep -q watching watch.err && break; sleep 0.05; done  # it is ready
"$sb" write "$bus" idle 0.5
for _ in $(seq 300); do grep -q "revision 2" watch.out && break; sleep 0.05; done  # latest-value:
"$sb" write "$bus" auto 2.0                                    # one change seen at a time
wait $w
cat watch.out
grep -q "revision 3: mode=auto max_speed=2.00" watch.out
"$sb" read nosuchbus-$$ 2>err.out && exit 1
grep -q "no such bus" err.out
