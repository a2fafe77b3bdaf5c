#!/usr/bin/env bash
# seq 1000 | shmpub -l B  with  shmsub --all -C 1000 B: all 1000, in order, whether shmsub
# starts before the bus exists (--wait-for-bus) or after the publisher finished (--oldest).
# shmpub never waits for readers, so the ring holds the whole burst (--slots 1024).
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
seq 1000 >"$TMP/want"

# 1. The subscriber first: it waits for the bus, then reads it from its oldest record.
for round in 1 2 3; do
  newbus B
  "$SHMSUB" "$B" --all -C 1000 --wait-for-bus -W 20 >"$TMP/got" 2>"$TMP/suberr" &
  sub=$!
  # shmpub starts once shmsub waits for the bus. (Started right away, the bus could exist
  # before shmsub looks; shmsub then still reads all of it when the bus is younger than itself,
  # but which process runs first is up to the scheduler, so the test does not rely on it.)
  eventually 20 waits_for_bus "$sub"
  seq 1000 | "$SHMPUB" "$B" -l --slots 1024 || fail "shmpub failed"
  wait "$sub" || fail "shmsub exit status $? (round $round): $(cat "$TMP/suberr")"
  if cmp -s "$TMP/want" "$TMP/got"; then pass; else fail "round $round: not 1..1000 in order"; fi
  if [ -s "$TMP/suberr" ]; then fail "stderr: $(cat "$TMP/suberr")"; else pass; fi
done

# 2. The subscriber after the publisher ended: --oldest reads the ring from its start.
newbus A
seq 1000 | "$SHMPUB" "$A" -l --slots 1024
expect_rc 0 "$SHMSUB" "$A" --all --oldest -C 1000 -W 20
if cmp -s "$TMP/want" "$TMP/out"; then pass; else fail "--oldest: not 1..1000 in order"; fi
# Without --oldest a late --all subscriber starts at the latest record.
expect_rc 0 "$SHMSUB" "$A" --all -C 1; out_is 1000

# 3. A paced publisher with the default ring (8 slots): shmsub keeps up unless the scheduler
# stalls it for more than 6 records; whatever happens, printed + lost = all, in order.
# (-W 8: shmsub's clock runs from its own start, and a loaded machine can take seconds to
# start shmpub.)
newbus P
"$SHMSUB" "$P" --all --wait-for-bus -W 8 >"$TMP/got" 2>"$TMP/suberr" &
sub=$!
eventually 20 waits_for_bus "$sub"
seq 200 | "$SHMPUB" "$P" -l -r 500 || fail "paced shmpub failed"
wait "$sub"
lost=$(awk '/^shmsub: lost / {n += $3} END {print n + 0}' "$TMP/suberr")
if sort -nc "$TMP/got" && [ "$(tail -1 "$TMP/got")" = 200 ] &&
   [ $((lost + $(wc -l <"$TMP/got"))) -eq 200 ]; then pass; else fail "paced: order or count"; fi
echo "paced publisher, default ring: $lost of 200 lost"

# 4. A subscriber lapped by a burst reports 'lost N' on stderr, and never repeats or reorders.
newbus X
"$SHMSUB" "$X" --all --wait-for-bus -W 8 >"$TMP/got" 2>"$TMP/suberr" &
sub=$!
eventually 20 waits_for_bus "$sub"
seq 200000 | "$SHMPUB" "$X" -l --slots 4
wait "$sub"
rc=$?
if [ "$rc" -eq 4 ]; then pass; else fail "lapped subscriber should time out with 4, got $rc"; fi
if grep -q '^shmsub: lost [0-9]* (versions [0-9]*-[0-9]*)' "$TMP/suberr"; then pass; else fail "no 'lost' report"; fi
if sort -nc "$TMP/got" && [ "$(tail -1 "$TMP/got")" = 200000 ]; then pass; else fail "lapped order"; fi
lost=$(awk '/^shmsub: lost / {n += $3} END {print n + 0}' "$TMP/suberr")
printed=$(wc -l <"$TMP/got")
if [ $((lost + printed)) -eq 200000 ]; then pass; else
  fail "printed $printed + lost $lost != 200000; first printed $(head -1 "$TMP/got"); $(head -3 "$TMP/suberr")"
fi

# 5. Exactly which records a stopped subscriber loses: it read v1, sleeps, is stopped while
# v2..v11 go through a 4-slot ring, and resumes. --all: v9 (the oldest safe one) with 7 lost;
# the default (latest value): v11 with 9 skipped.
newbus K
"$SHMPUB" "$K" -m first --slots 4
"$SHMSUB" "$K" --all -C 2 -F json -W 20 >"$TMP/all" 2>"$TMP/allerr" &
suball=$!
"$SHMSUB" "$K" -v -C 2 -W 20 >"$TMP/latest" 2>"$TMP/latesterr" &
sublatest=$!
eventually 20 reader_asleep "$K" "$suball"
eventually 20 reader_asleep "$K" "$sublatest"
eventually 20 grep -q first "$TMP/all"
eventually 20 grep -q first "$TMP/latest"
kill -STOP "$suball" "$sublatest"
seq 2 11 | "$SHMPUB" "$K" -l
kill -CONT "$suball" "$sublatest"
wait "$suball" || fail "stopped --all subscriber: exit status $?"
wait "$sublatest" || fail "stopped subscriber: exit status $?"
if sed -n 2p "$TMP/all" | grep -q '"version":9,.*"skipped":7,.*"payload":"9"'; then pass; else fail "--all after stop: $(cat "$TMP/all")"; fi
if grep -q '^shmsub: lost 7 (versions 2-8)' "$TMP/allerr"; then pass; else fail "--all lost report: $(cat "$TMP/allerr")"; fi
if sed -n 2p "$TMP/latest" | grep -q '^v=11 .* skipped=9: 11$'; then pass; else fail "latest after stop: $(cat "$TMP/latest")"; fi
if grep -v -e "the writer of '$K' (pid [0-9]*) closed; waiting for a new writer" -e "bus '$K': type '-', 4 slots of 64 KiB, latest version 1$" "$TMP/latesterr"; then
  fail "latest mode reported more than the writer closing"; else pass; fi
finish
