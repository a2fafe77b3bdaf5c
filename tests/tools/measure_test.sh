#!/usr/bin/env bash
# shmsub's measurements (issue 22 items 1-3): --delay/--hz count only records published after
# shmsub started, restart their window when the bus is replaced, and -i reports the records it
# skipped. The arithmetic itself is pinned with synthetic times in tools_unit_test.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"

# 1. The record already on the bus is no delay sample: its age is not a latency.
newbus D
"$SHMPUB" "$D" -m old
"$SHMSUB" "$D" --delay -C 3 -W 30 >"$TMP/delay" 2>"$TMP/delayerr" &
sub=$!
eventually 30 reader_asleep "$D"   # subscribed (first reader of this bus), nothing to read
"$SHMPUB" "$D" -m new -n 3
wait "$sub" || fail "--delay exit status $?: $(cat "$TMP/delayerr")"
if grep -q '^delay: .* window: 3$' "$TMP/delay"; then pass; else fail "--delay: $(cat "$TMP/delay")"; fi
# With only the old record there, one sample never arrives.
expect_rc 4 "$SHMSUB" "$D" --delay -C 1 -W 0.5; err_has "no record on bus '$D' for 0.5 seconds"
expect_rc 4 "$SHMSUB" "$D" --hz -C 1 -W 0.5

# 2. A replacement restarts the --hz window: no rate from two buses' versions, no 2^64 skipped.
newbus R
"$SHMPUB" "$R" -m old
"$SHMSUB" "$R" --hz -C 4 -i 0.1 -W 30 >"$TMP/hz" 2>"$TMP/hzerr" &
sub=$!
eventually 30 reader_asleep "$R"
"$SHMPUB" "$R" -m a -n 2                  # versions 2 and 3 of the first bus
eventually 30 grep -q 'window: 2  skipped: 0$' "$TMP/hz"
"$SHMPUB" "$R" --slots 16 -m b -n 2 2>/dev/null   # a new bus: versions 1 and 2
wait "$sub" || fail "--hz across a replacement: exit status $?: $(cat "$TMP/hzerr")"
if tail -1 "$TMP/hz" | grep -Eq '^rate: [0-9.]+ Hz .* window: 2  skipped: 0$'; then pass; else
  fail "--hz after replacement: $(cat "$TMP/hz")"; fi
if grep -Eq '[0-9]{12}' "$TMP/hz"; then fail "absurd numbers: $(cat "$TMP/hz")"; else pass; fi

# 3. -i: the records skipped during each pause are reported (JSON skipped, -v skipped=N):
# skipped is always the gap between the versions printed.
newbus I
bg "$SHMPUB" "$I" -m x -r 1000
eventually 30 latest_ge "$I" 1
# skipped must equal the gap every time; at least one pause must have skipped something (the
# writer publishes at 1 kHz: a few tries rule out a writer starved through every pause).
consistent=1 some=0
for try in 1 2 3 4 5; do
  expect_rc 0 "$SHMSUB" "$I" -i 0.3 -C 3 -F json -W 30
  jq -r '"\(.version) \(.skipped)"' "$TMP/out" >"$TMP/vs"
  awk 'NR > 1 && $2 != $1 - prev - 1 {exit 1} {prev = $1}' "$TMP/vs" || { consistent=0; break; }
  if awk 'NR > 1 && $2 > 0 {found = 1} END {exit !found}' "$TMP/vs"; then some=1; break; fi
done
if [ "$consistent" -eq 1 ] && [ "$some" -eq 1 ]; then pass; else fail "-i skipped: $(cat "$TMP/vs")"; fi
ok=0
for try in 1 2 3 4 5; do
  "$SHMSUB" "$I" -i 0.3 -C 2 -v -W 30 >"$TMP/out" 2>/dev/null
  if sed -n 2p "$TMP/out" | grep -Eq ' skipped=[1-9][0-9]*: x$'; then ok=1; break; fi
done
if [ "$ok" -eq 1 ]; then pass; else fail "-i -v: $(cat "$TMP/out")"; fi
finish
