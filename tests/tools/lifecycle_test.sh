#!/usr/bin/env bash
# shmsub across writer close, death and restart, bus replacement and removal; signals end the
# tools cleanly; a closed stdout ends shmsub quietly.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"

# 1. A writer closes, another comes, one is killed, another comes: shmsub -v follows them all.
newbus B
"$SHMPUB" "$B" -m one
"$SHMSUB" "$B" -v -C 3 -W 20 >"$TMP/sub" 2>"$TMP/suberr" &
sub=$!
eventually 20 grep -q "the writer of '$B' (pid [0-9]*) closed; waiting for a new writer" "$TMP/suberr"
"$SHMPUB" "$B" -m two
eventually 20 grep -q ': two$' "$TMP/sub"
bg "$SHMPUB" "$B" -m three -r 1    # publishes 'three' at once, then once a second
killer=$!
eventually 20 grep -q ': three$' "$TMP/sub"
wait "$sub" || fail "shmsub exit status $?: $(cat "$TMP/suberr")"
if [ "$(sed 's/.*: //' "$TMP/sub")" = "$(printf 'one\ntwo\nthree')" ]; then pass; else fail "restart: $(cat "$TMP/sub")"; fi

# kill -9 of the writer: shmsub says it died and keeps waiting; the next writer resumes.
"$SHMSUB" "$B" -v --new -C 1 -W 20 >"$TMP/sub" 2>"$TMP/suberr" &
sub=$!
kill -9 "$killer"; wait "$killer" 2>/dev/null
eventually 20 grep -q "the writer of '$B' (pid $killer) died; waiting for a new writer" "$TMP/suberr"
expect_rc 0 "$SHMBUS" stat "$B"; out_has "^writer: +pid $killer, died$"
expect_rc 0 "$SHMBUS" ls; out_has "^$B +- +died "
"$SHMPUB" "$B" -m four
wait "$sub" || fail "after death: exit status $?"
if grep -q ': four$' "$TMP/sub"; then pass; else fail "after death: $(cat "$TMP/sub")"; fi

# 2. Replacement (another geometry): shmsub reopens the bus by name and reads the new one.
"$SHMSUB" "$B" --new -C 1 -W 20 >"$TMP/sub" 2>"$TMP/suberr" &
sub=$!
eventually 20 reader_asleep "$B" "$sub"   # this very subscriber, not a flag left by another
"$SHMPUB" "$B" --slots 16 -m five 2>"$TMP/puberr" || fail "replacing shmpub: exit status $?: $(cat "$TMP/puberr")"
wait "$sub" || fail "replace: exit status $?: $(cat "$TMP/suberr")"
if [ "$(cat "$TMP/sub")" = five ]; then pass; else fail "replace: got '$(cat "$TMP/sub")'"; fi
if grep -q "bus '$B' was replaced or removed; reopening it by name" "$TMP/suberr"; then pass; else fail "replace: no notice"; fi
if grep -q "waiting for bus" "$TMP/suberr"; then fail "replace: waited"; else pass; fi

# 3. Removal: shmsub waits for the bus to come back, and reads it then.
"$SHMSUB" "$B" -C 2 -W 20 >"$TMP/sub" 2>"$TMP/suberr" &
sub=$!
eventually 20 reader_asleep "$B" "$sub"
expect_rc 0 "$SHMBUS" rm "$B"
eventually 20 grep -q "waiting for bus '$B' to exist again" "$TMP/suberr"
"$SHMPUB" "$B" -m six
wait "$sub" || fail "removal: exit status $?"
if [ "$(cat "$TMP/sub")" = "$(printf 'five\nsix')" ]; then pass; else fail "removal: got '$(cat "$TMP/sub")'"; fi

# 4. Signals: shmpub and shmsub end cleanly (status 0); the bus stays unless --unlink.
for sig in INT TERM; do
  newbus S
  "$SHMPUB" "$S" -m tick -r 100 &
  pub=$!
  eventually 20 bus_exists "$S"
  "$SHMSUB" "$S" >/dev/null &
  sub=$!
  eventually 20 reader_asleep "$S" "$sub"
  kill -"$sig" "$sub" "$pub"
  wait "$pub"; rc=$?
  if [ "$rc" -eq 0 ]; then pass; else fail "shmpub SIG$sig: exit status $rc"; fi
  wait "$sub"; rc=$?
  if [ "$rc" -eq 0 ]; then pass; else fail "shmsub SIG$sig: exit status $rc"; fi
  expect_rc 0 "$SHMBUS" stat "$S"; out_has '^writer: +pid [0-9]+, closed cleanly$'
  expect_rc 0 "$SHMSUB" "$S" -1; out_is tick
done
# shmpub -l blocked on an idle stdin ends on SIGTERM; --unlink removes the bus.
newbus U
mkfifo "$TMP/fifo"
"$SHMPUB" "$U" -l --unlink <"$TMP/fifo" &
pub=$!
exec 7>"$TMP/fifo"
echo line >&7
eventually 20 "$SHMSUB" "$U" -1
kill -TERM "$pub"
wait "$pub"; rc=$?
exec 7>&-
if [ "$rc" -eq 0 ]; then pass; else fail "shmpub -l SIGTERM: exit status $rc"; fi
if bus_exists "$U"; then fail "--unlink after a signal left the bus"; else pass; fi

# 5. A closed stdout (shmsub | head -1) ends shmsub quietly with status 0.
newbus P
bg "$SHMPUB" "$P" -m data -r 200
eventually 20 bus_exists "$P"
"$SHMSUB" "$P" 2>"$TMP/err" | head -1 >/dev/null
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then pass; else fail "shmsub | head: exit status $rc"; fi
err_empty
finish
